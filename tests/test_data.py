"""The MNIST loader: genuine data from a local file, and clear errors for every kind of bad file."""

import os
import subprocess
import sys

import numpy as np
import pytest

from mnist_kit.data import EXPECTED_ARRAYS, MnistDataError, load_mnist


def test_local_file_is_keras_mnist(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert [(a.shape, a.dtype) for a in (x_train, y_train, x_test, y_test)] == [
        ((60000, 28, 28), np.uint8), ((60000,), np.uint8), ((10000, 28, 28), np.uint8), ((10000,), np.uint8)]
    # Facts of genuine MNIST (../shared/data/README.md).
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.mean() / 255 == pytest.approx(0.1306604762738429, abs=1e-9)


def test_environment_variable_names_the_file(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(mnist_path))
    (_, y_train), _ = load_mnist()
    assert len(y_train) == 60000


def test_student_package_exposes_the_loader(stubs, reference):
    assert stubs.data.load_mnist is load_mnist and reference.data.load_mnist is load_mnist


@pytest.fixture
def valid_arrays():
    """Small stand-ins with MNIST's exact layout, built fresh for each damaging test."""
    return {key: np.zeros(shape, np.uint8) for key, shape in EXPECTED_ARRAYS.items()}


def write(path, arrays):
    np.savez(path, **arrays)
    return path


def assert_clear_error(path, *fragments):
    with pytest.raises(MnistDataError) as raised:
        load_mnist(path)
    message = str(raised.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert "MNIST を読み込めません" in message  # both languages
    return raised.value


def test_valid_layout_loads(tmp_path, valid_arrays):
    (x_train, _), (_, y_test) = load_mnist(write(tmp_path / "ok.npz", valid_arrays))
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)


def test_missing_file(tmp_path):
    assert_clear_error(tmp_path / "nowhere.npz", "no such file", "MNIST_NPZ")


def test_directory(tmp_path):
    assert_clear_error(tmp_path, "not a regular file")


def test_truncated_file(tmp_path, mnist_path):
    truncated = tmp_path / "truncated.npz"
    data = mnist_path.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    assert_clear_error(truncated, "truncated or damaged")


def test_corrupted_member(tmp_path, valid_arrays):
    path = write(tmp_path / "corrupt.npz", valid_arrays)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"x_test.npy") + 200   # inside that member's data, not the zip directory
    raw[start:start + 64] = b"\xff" * 64
    path.write_bytes(bytes(raw))
    error = assert_clear_error(path)
    assert "x_test" in str(error) or "damaged" in str(error)


def test_not_an_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("<html>a captive portal page, not data</html>")
    assert_clear_error(path, "truncated or damaged")


def test_missing_key(tmp_path, valid_arrays):
    del valid_arrays["y_test"]
    assert_clear_error(write(tmp_path / "keys.npz", valid_arrays), "missing key(s) ['y_test']")


def test_partial_data(tmp_path, valid_arrays):
    valid_arrays["x_train"] = valid_arrays["x_train"][:1000]
    assert_clear_error(write(tmp_path / "partial.npz", valid_arrays), "x_train has shape (1000, 28, 28)",
                       "expected (60000, 28, 28)")


def test_wrong_dtype(tmp_path, valid_arrays):
    valid_arrays["x_test"] = valid_arrays["x_test"].astype(np.float32)
    assert_clear_error(write(tmp_path / "dtype.npz", valid_arrays), "x_test has dtype float32, expected uint8")


def test_label_out_of_range(tmp_path, valid_arrays):
    valid_arrays["y_train"][123] = 10
    assert_clear_error(write(tmp_path / "labels.npz", valid_arrays), "y_train holds label 10", "0..9")


def test_pickled_objects_are_refused(tmp_path, valid_arrays):
    valid_arrays["x_train"] = np.array([object()] * 3, dtype=object)
    assert_clear_error(write(tmp_path / "pickle.npz", valid_arrays), "truncated or damaged")


@pytest.mark.command
def test_without_a_file_it_uses_keras_download(tmp_path):
    """No MNIST_NPZ, no cache: Keras's real download is tried; offline that is a clear error."""
    env = {k: v for k, v in os.environ.items() if k != "MNIST_NPZ"}
    env["KERAS_HOME"] = str(tmp_path)  # an empty cache, so Keras must download
    code = ("from mnist_kit.data import load_mnist, MnistDataError\n"
            "try:\n    (x, y), _ = load_mnist(); print('DOWNLOADED', x.shape)\n"
            "except MnistDataError as e:\n    print('ERROR', e)\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    if "DOWNLOADED" in result.stdout:
        assert "(60000, 28, 28)" in result.stdout
        pytest.skip("this machine is online: Keras's download worked")
    assert "ERROR" in result.stdout, result.stderr[-2000:]
    assert "the download failed" in result.stdout and "MNIST_NPZ" in result.stdout
    assert "Traceback" not in result.stdout

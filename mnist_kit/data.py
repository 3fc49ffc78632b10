"""Loading MNIST: Keras's own loader online, a local Keras-format ``mnist.npz`` offline.

Handout 000 §2 loads the data with ``tf.keras.datasets.mnist.load_data()``. That downloads the
file, which fails on machines without internet. This loader keeps that path for people who are
online and accepts a local copy of the same file for people who are not::

    load_mnist()                       # $MNIST_NPZ if set, else Keras's download (cached)
    load_mnist("~/data/mnist.npz")     # a local Keras-format file

Whatever the source, the result is Keras's: ``(x_train, y_train), (x_test, y_test)`` as uint8
arrays of shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,). A local file is checked
completely before anything is returned, so a wrong or damaged file is an error that names the
path and the problem, never a silently partial dataset.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from mnist_kit.i18n import bilingual

ENV_VAR = "MNIST_NPZ"
NUM_CLASSES = 10

# The layout of Keras's mnist.npz (keras.datasets.mnist.load_data reads these four keys).
EXPECTED_ARRAYS = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}


class MnistDataError(RuntimeError):
    """MNIST could not be loaded; the message says from where and why, in Japanese and English."""

    def __init__(self, source: str, ja: str, en: str):
        self.source = source
        self.problem_en = en
        super().__init__(bilingual(f"MNIST を読み込めません ({source}): {ja}",
                                   f"cannot load MNIST from {source}: {en}"))


def load_mnist(path: str | os.PathLike | None = None):
    """Return ``(x_train, y_train), (x_test, y_test)`` exactly as ``keras.datasets.mnist.load_data()``.

    Parameters
    ----------
    path : str or path-like, optional
        A local Keras-format ``mnist.npz``. When omitted, the environment variable ``MNIST_NPZ``
        names the file; when that is unset too, Keras downloads (or reuses its cached) copy.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 arrays of shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,); pixels
        0..255, labels 0..9.

    Raises
    ------
    MnistDataError
        The file is missing, unreadable, truncated, or has wrong keys, shapes, dtypes or labels;
        or, with no file named, the download failed.
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    if path is None:
        return _load_with_keras()
    return load_npz(path)


def load_npz(path: str | os.PathLike):
    """Read and fully check a local Keras-format ``mnist.npz`` (see :func:`load_mnist`)."""
    file = Path(path).expanduser()
    source = str(file)
    if not file.exists():
        raise MnistDataError(
            source,
            f"ファイルがありません。パスを確認するか、環境変数 {ENV_VAR} で mnist.npz の場所を指定してください。",
            f"no such file. Check the path, or point the environment variable {ENV_VAR} at an mnist.npz.",
        )
    if not file.is_file():
        raise MnistDataError(source, "ファイルではありません (ディレクトリ等)。", "not a regular file.")

    arrays = _read_npz(file, source)
    _check_layout(arrays, source)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _read_npz(file: Path, source: str) -> dict[str, np.ndarray]:
    # Every array is read now, inside the try: np.load is lazy, and a damaged member would
    # otherwise fail later, far from the file's name.
    try:
        with np.load(file, allow_pickle=False) as npz:
            missing = [key for key in EXPECTED_ARRAYS if key not in npz.files]
            if missing:
                raise MnistDataError(
                    source,
                    f"キー {missing} がありません (ある: {sorted(npz.files)})。Keras 形式の mnist.npz が必要です。",
                    f"missing key(s) {missing} (found {sorted(npz.files)}); a Keras-format mnist.npz is expected.",
                )
            return {key: npz[key] for key in EXPECTED_ARRAYS}
    except MnistDataError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        raise MnistDataError(
            source,
            f"npz として読めません。ファイルが途中で切れているか壊れています ({type(error).__name__}: {error})。",
            f"not a readable npz; the file is truncated or damaged ({type(error).__name__}: {error}).",
        ) from error


def _check_layout(arrays: dict[str, np.ndarray], source: str) -> None:
    for key, shape in EXPECTED_ARRAYS.items():
        array = arrays[key]
        if array.dtype != np.uint8:
            raise MnistDataError(
                source,
                f"{key} の dtype が {array.dtype} です (期待: uint8)。",
                f"{key} has dtype {array.dtype}, expected uint8.",
            )
        if array.shape != shape:
            raise MnistDataError(
                source,
                f"{key} の形が {array.shape} です (期待: {shape})。データが欠けているかもしれません。",
                f"{key} has shape {array.shape}, expected {shape}; the data may be incomplete.",
            )
    for key in ("y_train", "y_test"):
        high = int(arrays[key].max())
        if high >= NUM_CLASSES:
            raise MnistDataError(
                source,
                f"{key} に範囲外のラベル {high} があります (期待: 0..{NUM_CLASSES - 1})。",
                f"{key} holds label {high}, outside 0..{NUM_CLASSES - 1}.",
            )


def _load_with_keras():
    # Imported here: TensorFlow takes seconds to import and the offline path never needs it.
    import keras

    try:
        return keras.datasets.mnist.load_data()
    except Exception as error:  # Keras wraps network failures in plain Exception.
        raise MnistDataError(
            "keras.datasets.mnist (download)",
            f"ダウンロードに失敗しました ({error})。オフラインなら、mnist.npz のパスを load_mnist(path) に渡すか、"
            f"環境変数 {ENV_VAR} に設定してください。",
            f"the download failed ({error}). Offline, pass the path of an mnist.npz to load_mnist(path) "
            f"or set the environment variable {ENV_VAR}.",
        ) from error

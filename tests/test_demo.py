"""The main job before grading exists: `mnist-demo` reproduces handout model D."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


def run_demo(*arguments):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "mnist_course.demo", "--lang", "en", *arguments],
                          capture_output=True, text=True, env=env, timeout=600, cwd=REPO)


@pytest.mark.slow
def test_reference_reproduces_handout_accuracy(mnist_path):
    result = run_demo("--data", str(mnist_path))
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", result.stdout).group(1))
    # The handout reports 0.9744 and seed 0 gives 0.9745 here; the band allows for other
    # machines (thread counts change the bits) without letting a broken run through.
    assert 0.970 <= accuracy <= 0.980
    assert "handout: 0.9744" in result.stdout


@pytest.mark.command
def test_stubs_give_a_friendly_message(mnist_path):
    result = run_demo("--data", str(mnist_path), "--package", str(REPO))
    assert result.returncode == 1
    assert "not implemented yet" in result.stderr and "build_mlp" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.command
def test_missing_data_is_a_clear_message(tmp_path):
    result = run_demo("--data", str(tmp_path / "missing.npz"))
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr

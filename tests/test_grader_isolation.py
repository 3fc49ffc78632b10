"""A broken function costs only its own checks: hangs, exits, crashes, memory bombs, import errors."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from autograder.grade import grade
from autograder.sandbox import Limits
from tests.conftest import REPO

FAST = Limits(probe_seconds=8.0, startup_seconds=60.0)
# Subjects whose checks need no training: a quick but complete picture of a submission.
SUBJECTS = ["normalize", "one_hot", "labels_from_scores", "choose_loss"]


def submission(tmp_path: Path, module: str, replacement: str, function: str) -> Path:
    """The reference with ``function`` in ``module`` replaced by ``replacement`` (appended last wins)."""
    target = tmp_path / "submission"
    shutil.copytree(REPO / "solutions" / "mnist_tasks", target / "mnist_tasks")
    path = target / "mnist_tasks" / f"{module}.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + replacement, encoding="utf-8")
    return target


def scores(report):
    return {result.name: result for result in report.results}


def assert_only_subject_lost(report, subject, fragment):
    lost = [r for r in report.results if r.score < r.max_score]
    assert lost, "the broken function lost nothing"
    assert {r.subject for r in lost} == {subject}, [(r.name, r.message.en) for r in lost]
    assert all(fragment in r.message.en for r in lost), [r.message.en for r in lost]
    kept = [r for r in report.results if r.subject != subject]
    assert kept and all(r.score == r.max_score for r in kept)


@pytest.mark.parametrize("name, body, fragment", [
    ("endless loop", "    while True:\n        pass\n", "did not finish within 8 s"),
    ("sleep", "    import time\n    time.sleep(3600)\n", "did not finish within 8 s"),
    ("sys.exit", "    import sys\n    sys.exit(0)\n", "raised SystemExit"),
    ("os._exit", "    import os\n    os._exit(3)\n", "the process ended while running it (exit code 3)"),
    ("segfault", "    import ctypes\n    ctypes.string_at(0)\n", "signal SIGSEGV"),
    ("memory bomb", "    blocks = []\n    while True:\n        blocks.append(bytearray(1 << 28))\n", "MemoryError"),
    ("kill own group", "    import os, signal\n    os.killpg(0, signal.SIGKILL)\n", "signal SIGKILL"),
])
def test_a_failing_function_costs_only_its_own_checks(tmp_path, name, body, fragment):
    broken = submission(tmp_path, "preprocessing", "def one_hot(labels, num_classes=10):\n" + body, "one_hot")
    started = time.monotonic()
    report = grade(broken, only=SUBJECTS, limits=FAST)
    assert_only_subject_lost(report, "one_hot", fragment)
    assert time.monotonic() - started < 90


def test_a_lingering_child_process_is_killed(tmp_path):
    marker = tmp_path / "still-alive"
    body = ("    import subprocess, sys\n"
            f"    subprocess.Popen([sys.executable, '-c', 'import time, pathlib; time.sleep(6); pathlib.Path({str(marker)!r}).touch()'])\n"
            "    while True:\n        pass\n")
    broken = submission(tmp_path, "preprocessing", "def one_hot(labels, num_classes=10):\n" + body, "one_hot")
    report = grade(broken, only=["one_hot"], limits=Limits(probe_seconds=2.0))
    assert all(r.score == 0 for r in report.results)
    time.sleep(7)
    assert not marker.exists(), "a process started by student code outlived its worker"


def test_syntax_error_costs_only_that_module(tmp_path):
    broken = submission(tmp_path, "training", "def choose_loss(one_hot_labels, from_logits)\n    return None\n", "choose_loss")
    report = grade(broken, only=SUBJECTS, limits=FAST)
    assert_only_subject_lost(report, "choose_loss", "SyntaxError")


def test_exception_at_import_costs_only_that_module(tmp_path):
    broken = submission(tmp_path, "training", "raise RuntimeError('broken at import')\n", "")
    report = grade(broken, only=SUBJECTS, limits=FAST)
    assert_only_subject_lost(report, "choose_loss", "broken at import")


def test_missing_function(tmp_path):
    broken = submission(tmp_path, "preprocessing", "del labels_from_scores\n", "")
    report = grade(broken, only=SUBJECTS, limits=FAST)
    assert_only_subject_lost(report, "labels_from_scores", "missing")


def test_wrong_return_type(tmp_path):
    broken = submission(tmp_path, "preprocessing", "def one_hot(labels, num_classes=10):\n    return [[0.0] * num_classes]\n", "")
    report = grade(broken, only=SUBJECTS, limits=FAST)
    assert_only_subject_lost(report, "one_hot", "returned a builtins.list, expected a numpy.ndarray")


def test_missing_package(tmp_path):
    report = grade(tmp_path, only=["one_hot"])
    assert all(r.score == 0 and "no mnist_tasks/" in r.message.en for r in report.results)


def test_shadowing_numpy_beside_the_package_changes_nothing(tmp_path):
    target = submission(tmp_path, "preprocessing", "", "")
    (target / "numpy.py").write_text("raise ImportError('shadowed numpy')\n")
    (target / "keras.py").write_text("raise ImportError('shadowed keras')\n")
    report = grade(target, only=SUBJECTS, limits=FAST)
    assert all(r.score == r.max_score for r in report.results), [r.message.en for r in report.results if r.score < r.max_score]

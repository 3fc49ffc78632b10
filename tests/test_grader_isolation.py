"""A broken function costs only its own checks: hangs, exits, crashes, memory bombs, import errors."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from autograder.grade import grade
from autograder.sandbox.limits import Limits
from tests.conftest import REPO
from tests.submissions import TEST_SECRET, make_submission

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
    assert_bilingual(report)


@pytest.mark.parametrize("name, body, fragment", [
    ("endless loop", "    while True:\n        pass\n", "did not finish within 8 s"),
    # Waiting out the 8 s limit once more, as the endless loop does: the full suite's.
    pytest.param("sleep", "    import time\n    time.sleep(3600)\n", "did not finish within 8 s", marks=pytest.mark.slow),
    ("sys.exit", "    import sys\n    sys.exit(0)\n", "raised SystemExit"),
    ("os._exit", "    import os\n    os._exit(3)\n", "the process ended while running it (exit code 3)"),
    ("segfault", "    import ctypes\n    ctypes.string_at(0)\n", "signal SIGSEGV"),
    # Filling 4 GiB in every one_hot probe: ~16 s, the full suite's.
    pytest.param("memory bomb", "    blocks = []\n    while True:\n        blocks.append(bytearray(1 << 28))\n",
                 "MemoryError", marks=pytest.mark.slow),
    ("kill own group", "    import os, signal\n    os.killpg(0, signal.SIGKILL)\n", "signal SIGKILL"),
])
def test_a_failing_function_costs_only_its_own_checks(tmp_path, name, body, fragment, fork_server):
    broken = submission(tmp_path, "preprocessing", "def one_hot(labels, num_classes=10):\n" + body, "one_hot")
    started = time.monotonic()
    report = grade(broken, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "one_hot", fragment)
    assert time.monotonic() - started < 90


def test_a_lingering_child_process_is_killed(tmp_path, fork_server):
    marker = tmp_path / "still-alive"
    body = ("    import subprocess, sys\n"
            f"    subprocess.Popen([sys.executable, '-c', 'import time, pathlib; time.sleep(6); pathlib.Path({str(marker)!r}).touch()'])\n"
            "    while True:\n        pass\n")
    broken = submission(tmp_path, "preprocessing", "def one_hot(labels, num_classes=10):\n" + body, "one_hot")
    report = grade(broken, only=["one_hot"], limits=Limits(probe_seconds=2.0), workers=fork_server, secret=TEST_SECRET)
    assert all(r.score == 0 for r in report.results)
    time.sleep(7)
    assert not marker.exists(), "a process started by student code outlived its worker"


def test_a_worker_that_has_reported_every_probe_is_killed_not_left_to_exit(tmp_path):
    # Nothing a worker does after its last report counts, and a Python with TensorFlow loaded takes
    # ~0.9 s to tear itself down: the grader kills it rather than wait. Here the student's atexit
    # handler stands for a slow exit: 3 s, then a marker (a worker started from scratch, unboxed, so
    # that the marker is reachable). Waited for, the handler would write it.
    marker = tmp_path / "atexit-ran"
    patched = submission(tmp_path, "preprocessing", "import atexit as _atexit\nimport pathlib as _pathlib\n"
                         "import time as _time\n"
                         f"_atexit.register(lambda: (_time.sleep(3), _pathlib.Path({str(marker)!r}).touch()))\n",
                         "one_hot")
    report = grade(patched, only=SUBJECTS, limits=FAST, secret=TEST_SECRET, sandbox="none")
    assert report.score == report.max_score, [(r.name, r.message.en) for r in report.results if r.score < r.max_score]
    time.sleep(4)
    assert not marker.exists(), "the grader waited for the worker's own exit after its last report"


def test_syntax_error_costs_only_that_module(tmp_path, fork_server):
    broken = submission(tmp_path, "training", "def choose_loss(one_hot_labels, from_logits)\n    return None\n", "choose_loss")
    report = grade(broken, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "choose_loss", "mnist_tasks/training.py could not be imported: SyntaxError (training.py:")


def test_exception_at_import_costs_only_that_module(tmp_path, fork_server):
    broken = submission(tmp_path, "training", "raise RuntimeError('broken at import')\n", "")
    report = grade(broken, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "choose_loss", "mnist_tasks/training.py could not be imported: RuntimeError")
    assert_only_subject_lost(report, "choose_loss", "broken at import")


def test_missing_function(tmp_path, fork_server):
    broken = submission(tmp_path, "preprocessing", "del labels_from_scores\n", "")
    report = grade(broken, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "labels_from_scores",
                             "the function labels_from_scores is missing from mnist_tasks/preprocessing.py")


def test_wrong_return_type(tmp_path, fork_server):
    # It keeps one_hot's one promise about errors (a ValueError out of range): every check it loses
    # is lost to the list it returns.
    broken = submission(tmp_path, "preprocessing", "def one_hot(labels, num_classes=10):\n"
                        "    if labels.min() < 0 or labels.max() >= num_classes:\n        raise ValueError(labels)\n"
                        "    return [[0.0] * num_classes]\n", "")
    report = grade(broken, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "one_hot", "returned a builtins.list, expected a numpy.ndarray")


def test_missing_package(tmp_path, fork_server):
    report = grade(tmp_path, only=["one_hot"], workers=fork_server, secret=TEST_SECRET)
    assert all(r.score == 0 and "no mnist_tasks/" in r.message.en for r in report.results)


def test_shadowing_numpy_beside_the_package_changes_nothing(tmp_path, fork_server):
    target = submission(tmp_path, "preprocessing", "", "")
    (target / "numpy.py").write_text("raise ImportError('shadowed numpy')\n")
    (target / "keras.py").write_text("raise ImportError('shadowed keras')\n")
    report = grade(target, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert all(r.score == r.max_score for r in report.results), [r.message.en for r in report.results if r.score < r.max_score]


# --- broken files: each message is bilingual and says what was expected ---------------------------------

def assert_bilingual(report):
    for result in report.results:
        if result.score < result.max_score:
            ja, en = result.message.ja, result.message.en
            assert ja != en and any(ord(character) > 0x3000 for character in ja), (result.name, ja)


def test_a_file_that_is_not_utf8_costs_only_its_module(tmp_path, fork_server):
    target = submission(tmp_path, "preprocessing", "", "")
    path = target / "mnist_tasks" / "preprocessing.py"
    path.write_bytes(path.read_text(encoding="utf-8").encode("shift_jis", errors="replace"))
    report = grade(target, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    lost = {r.subject for r in report.results if r.score < r.max_score}
    assert lost == {"normalize", "one_hot", "labels_from_scores"}, lost
    assert all("mnist_tasks/preprocessing.py is not UTF-8 text" in r.message.en and "UTF-8 ではありません" in r.message.ja
               for r in report.results if r.subject in lost)
    assert_bilingual(report)


def test_an_oversized_file_is_refused_before_any_worker_imports_it(tmp_path, fork_server):
    # Over the 1 MB cap (autograder.sources.MAX_SOURCE_BYTES) with a comment; it would import fine.
    target = submission(tmp_path, "training", "# " + "x" * (1 << 20) + "\n", "")
    report = grade(target, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "choose_loss", "mnist_tasks/training.py is too large")
    assert all("大きすぎます" in r.message.ja for r in report.results if r.subject == "choose_loss")
    assert_bilingual(report)


def test_a_broken_init_costs_every_module(tmp_path, fork_server):
    target = submission(tmp_path, "preprocessing", "", "")
    (target / "mnist_tasks" / "__init__.py").write_bytes(b"# \x93quoted\x94\n")
    report = grade(target, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert all(r.score == 0 and "mnist_tasks/__init__.py is not UTF-8" in r.message.en for r in report.results)


def test_a_missing_module_says_which_file_is_missing(tmp_path, fork_server):
    target = submission(tmp_path, "preprocessing", "", "")
    (target / "mnist_tasks" / "training.py").unlink()
    report = grade(target, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "choose_loss", "mnist_tasks/training.py is missing")
    assert_bilingual(report)


def test_a_name_that_is_not_a_function(tmp_path, fork_server):
    report = grade(submission(tmp_path, "preprocessing", "labels_from_scores = 3\n", ""), only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "labels_from_scores",
                             "labels_from_scores in mnist_tasks/preprocessing.py is a builtins.int, not a function")


@pytest.mark.slow   # ~10 s: it spends the CPU limit
@pytest.mark.parametrize("sandbox", ["none", "bwrap"])
def test_cpu_time_and_file_size_are_limited_and_each_grading_works_in_its_own_directory(tmp_path, fork_server,
                                                                                      sandbox):
    seen = tmp_path / "cwd.txt"
    replacement = f'''
def normalize(images):
    import os, pathlib
    try:
        pathlib.Path({str(seen)!r}).write_text(os.getcwd())   # unboxed only: the box sees no tmp_path
    except OSError:
        pass
    with open("huge", "wb") as stream:     # a sparse file just over RLIMIT_FSIZE: no data written
        stream.seek(300 << 20)
        stream.write(b"x")
    return images / 255


def one_hot(labels, num_classes=10):
    while True:                            # only the CPU limit can end it: the wall limit is longer
        pass
'''
    # 6 s of CPU: a forked worker's start-up (its warm-up, ~0.5 s) and some looping; the wall limit
    # is out of reach.
    limits = Limits(probe_seconds=120.0, startup_seconds=90.0, cpu_seconds=6)
    report = grade(submission(tmp_path, "preprocessing", replacement, ""), only=["normalize", "one_hot", "choose_loss"],
                   limits=limits, workers=fork_server, secret=TEST_SECRET, sandbox=sandbox)
    lost = {r.subject: r.message.en for r in report.results if r.score < r.max_score}
    assert set(lost) == {"normalize", "one_hot"}, lost
    assert "File too large" in lost["normalize"]
    assert "signal SIGXCPU" in lost["one_hot"] or "signal SIGKILL" in lost["one_hot"], lost["one_hot"]
    assert seen.exists() == (sandbox == "none")
    if sandbox == "bwrap":
        return
    workdir = Path(seen.read_text())
    assert workdir.name.startswith("mnist-grade-") and not workdir.exists(), workdir


@pytest.mark.slow   # fresh workers, boxed and not, restarted after each crash: ~25 s
def test_fork_server_workers_grade_exactly_as_workers_started_from_scratch(tmp_path, fork_server):
    # The isolation and adversarial tests run in forked workers, mnist-grade in new processes: the
    # two must be indistinguishable to the grader, down to how a worker that crashed ended.
    broken = submission(tmp_path, "preprocessing", "def one_hot(labels, num_classes=10):\n"
                        "    import ctypes\n    ctypes.string_at(0)\n\n\n"
                        "def normalize(images):\n    import os\n    os._exit(3)\n", "one_hot")
    spawned = fork_server.spawned
    # Unboxed here: the boxed fork server's forked workers are compared with fresh boxes in
    # tests/test_forkbox.py.
    forked = grade(broken, only=SUBJECTS, limits=FAST, workers=fork_server, secret=TEST_SECRET, sandbox="none")
    fresh = grade(broken, only=SUBJECTS, limits=FAST, secret=TEST_SECRET, sandbox="none")
    boxed = grade(broken, only=SUBJECTS, limits=FAST, secret=TEST_SECRET, sandbox="bwrap")
    assert [(r.name, r.score, r.message.en) for r in boxed.results] == \
        [(r.name, r.score, r.message.en) for r in fresh.results]
    assert [(r.name, r.score, r.message.en) for r in forked.results] == \
        [(r.name, r.score, r.message.en) for r in fresh.results]
    lost = {r.subject: r.message.en for r in forked.results if r.score < r.max_score}
    assert set(lost) == {"normalize", "one_hot"} and "signal SIGSEGV" in lost["one_hot"], lost
    assert "exit code 3" in lost["normalize"], lost
    # A new fork for each worker the grading needed (one per crash, one to finish): never reused.
    assert fork_server.spawned - spawned == 3


def test_a_submission_that_kills_the_fork_server_costs_nothing_else(tmp_path):
    from autograder.sandbox.workers import ForkServer

    server = ForkServer()
    try:
        killer = submission(tmp_path, "preprocessing", f"def normalize(images):\n    import os, signal\n"
                            f"    os.kill({server.process.pid}, signal.SIGKILL)\n    return images / 255\n", "normalize")
        # Unboxed: in its box the killer cannot even see the server (tests/test_sandbox_escapes.py).
        grade(killer, only=["normalize"], limits=FAST, workers=server, secret=TEST_SECRET, sandbox="none")
        assert server.process.poll() is not None   # it did die
        report = grade(REPO / "solutions", only=SUBJECTS, limits=FAST, workers=server, secret=TEST_SECRET,
                       sandbox="none")
        assert report.score == report.max_score     # later gradings start their workers from scratch
    finally:
        server.close()


def test_a_plot_that_raised_halfway_leaves_nothing_in_the_next_one(tmp_path, fork_server):
    """Each plot starts on a blank pyplot figure, even after a call that raised halfway through drawing
    on the current one: plot_predictions' mistake costs plot_first_layer_weights nothing."""
    broken = make_submission(tmp_path, {"plots": '''
import matplotlib.pyplot as plt


def plot_predictions(images, predicted, true, count=50, columns=5):
    shown = min(count, len(images))
    for i in range(shown):
        plt.subplot((shown + columns - 1) // columns, columns, i + 1)
        plt.title(str(predicted[i]) if predicted[i] == true[i] else f"{predicted[i]}({true[i]})",
                  backgroundcolor=None if predicted[i] == true[i] else "red")
        plt.imshow(images[i], cmap="gray")   # flattened (N, 784) images: raises, its title drawn
        plt.axis("off")
    return plt.gcf()


def plot_first_layer_weights(model, columns=4):
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense or dense[0].get_weights()[0].shape[0] != 784:
        raise ValueError("no first Dense layer over the 784 pixels")
    kernel = dense[0].get_weights()[0]
    for unit in range(kernel.shape[1]):
        plt.subplot(-(-kernel.shape[1] // columns), columns, unit + 1)
        plt.imshow(kernel[:, unit].reshape(28, 28), cmap="gray")
        plt.axis("off")
    return plt.gcf()
'''})
    report = grade(broken, only=["plot_predictions", "plot_first_layer_weights"], limits=FAST, workers=fork_server, secret=TEST_SECRET)
    assert_only_subject_lost(report, "plot_predictions", "passes the images flattened, shape (N, 784)")

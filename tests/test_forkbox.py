"""The boxed fork server (``autograder.sandbox.forkbox``): one box, one student after another, and each
student's worker as isolated from the others' as a fresh box would make it.

What a student leaves behind (a detached daemon, files in /tmp and /dev/shm, System V shared
memory, a file beside their grading) is gone before the next student's worker starts; the server
the workers are forked from cannot be written into; a student who kills it costs the next student
nothing; crashes read as they do in a fresh box; and ``mnist-grade``, lent a server by its caller
(``mnist-course autograde``), forks its worker there, and a grader killed at its time limit leaves
nothing for the next. The escape attempts of ``tests/test_sandbox_escapes.py`` run through a
server too.
"""

from __future__ import annotations

import pytest

from autograder.sandbox import jail
from autograder.grade import grade
from autograder.sandbox.limits import Limits
from tests.submissions import REFERENCE, TEST_SECRET, make_submission

pytestmark = pytest.mark.skipif(not jail.available(), reason=f"no sandbox here: {jail.unavailable_reason()}")

FAST = Limits(probe_seconds=8.0, startup_seconds=60.0)

LEFTOVERS = '''
def _leftovers():
    """What this worker finds that it did not make: another process in the box, a student's file."""
    import ctypes
    import os
    import time

    found = []
    for _ in range(3):   # a live daemon would write its heartbeat again within 20 ms
        for folder in ("/tmp", "/dev/shm", os.path.dirname(os.getcwd())):
            found += [os.path.join(folder, name) for name in os.listdir(folder) if name.startswith("left-")]
        time.sleep(0.1)
    mine = {1, os.getpid(), os.getppid()}   # the box's init, this worker, the server (or setpriv's exec)
    found += [f"process {pid}" for pid in os.listdir("/proc") if pid.isdigit() and int(pid) not in mine]
    if ctypes.CDLL(None).shmget(4242, 0, 0) != -1:
        found.append("System V shared memory 4242")
    return sorted(set(found))
'''

LEAVE = '''
_LEFT = []


def _leave():
    """A daemon (double fork, setsid) that beats every 20 ms, and files wherever the box may write."""
    import ctypes
    import os
    import time

    if _LEFT:
        return
    _LEFT.append(True)
    os.makedirs("/tmp/left-folder/inner")
    open("/tmp/left-folder/inner/file", "w").write("x")
    os.chmod("/tmp/left-folder/inner", 0)
    os.chmod("/tmp/left-folder", 0)
    open("/dev/shm/left-file", "w").write("x")
    try:
        open(os.path.join(os.path.dirname(os.getcwd()), "left-beside"), "w").write("x")
    except OSError:
        pass   # the gradings' folder is the grader's (as root)
    ctypes.CDLL(None).shmget(4242, 4096, 0o1000 | 0o600)   # IPC_CREAT
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                try:
                    open("/tmp/left-heartbeat", "w").write(str(time.time()))
                except OSError:
                    pass
                time.sleep(0.02)
        os._exit(0)
    os.waitpid(child, 0)   # the double fork's middle process, reaped as a daemon's starter does
    deadline = time.time() + 5
    while not os.path.exists("/tmp/left-heartbeat") and time.time() < deadline:
        time.sleep(0.01)
'''


def _normalize(before: str) -> str:
    return f'''
def normalize(images):
{before}
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)
'''


def _lost(report) -> dict[str, str]:
    return {r.name: r.message.en for r in report.results if r.score < r.max_score}


@pytest.fixture
def server():
    from autograder.sandbox.forkbox import BoxedForkServer

    server = BoxedForkServer()
    yield server
    server.close()


def test_what_a_student_leaves_behind_is_gone_before_the_next_student_arrives(tmp_path, server):
    leaver = make_submission(tmp_path, {"preprocessing": LEAVE + _normalize("    _leave()")}, name="leaver")
    looker = make_submission(tmp_path, {"preprocessing": LEFTOVERS + _normalize(
        "    if _leftovers():\n        raise RuntimeError(f'left behind: {_leftovers()}')")}, name="looker")
    # The look is sharp: in the leaver's own worker it finds the daemon and every file.
    both = make_submission(tmp_path, {"preprocessing": LEAVE + LEFTOVERS + _normalize(
        "    _leave()\n    if _leftovers():\n        raise RuntimeError(f'left behind: {_leftovers()}')")}, name="both")
    seen = grade(both, only=["normalize"], limits=FAST, workers=server, secret=TEST_SECRET)
    message = " ".join(_lost(seen).values())
    for left in ("/tmp/left-heartbeat", "/tmp/left-folder", "/dev/shm/left-file", "System V shared memory 4242",
                 "process "):
        assert left in message, message

    for submission, name in ((leaver, "leaver"), (looker, "looker")):
        spawned = server.spawned
        report = grade(submission, only=["normalize"], limits=FAST, workers=server, secret=TEST_SECRET)
        assert report.score == report.max_score, (name, _lost(report))
        assert server.spawned == spawned + 1, f"{name}'s worker was not forked by the server"


def test_a_worker_cannot_write_into_the_server_it_was_forked_from(tmp_path, server):
    attempt = '''
def _write_into(pid):
    """Whether this worker may write into process pid's memory (/proc/PID/mem, ptrace), through
    libc: Python's own open() of /proc/PID/mem the guard already stops as tampering."""
    import ctypes
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.open(f"/proc/{pid}/mem".encode(), os.O_RDWR)
    if fd >= 0:
        os.close(fd)
        return True
    if libc.ptrace(16, pid, None, None) == 0:   # PTRACE_ATTACH
        libc.ptrace(17, pid, None, None)        # PTRACE_DETACH
        return True
    return False
'''
    into_server = make_submission(tmp_path, {"preprocessing": attempt + _normalize(
        "    import os\n    if _write_into(os.getppid()):\n        raise RuntimeError('wrote into the server')")},
        name="into-server")
    report = grade(into_server, only=["normalize"], limits=FAST, workers=server, secret=TEST_SECRET)
    assert report.score == report.max_score, _lost(report)
    # The attempt is sharp: into a process of its own that made itself dumpable it gets through. The
    # child is reaped after its kill: a zombie still counts as a process the submission left running.
    into_own = make_submission(tmp_path, {"preprocessing": attempt + _normalize(
        "    import ctypes, os, signal, time\n    child = os.fork()\n    if child == 0:\n"
        "        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)   # PR_SET_DUMPABLE: forked ones inherit 0\n"
        "        time.sleep(60)\n    time.sleep(0.2)\n"
        "    try:\n        through = _write_into(child)\n    finally:\n        os.kill(child, signal.SIGKILL)\n        os.waitpid(child, 0)\n"
        "    if through:\n        raise RuntimeError('wrote into its own child')")}, name="into-own")
    report = grade(into_own, only=["normalize"], limits=FAST, workers=server, secret=TEST_SECRET)
    assert "wrote into its own child" in " ".join(_lost(report).values()), _lost(report)


@pytest.mark.slow   # a server killed and another started: a TensorFlow start more, ~15 s
def test_a_student_can_neither_stop_nor_kill_the_server_and_one_that_dies_costs_the_next_nothing(tmp_path, server):
    import os
    import signal
    import threading

    # The server is the box's init: from inside the box no signal without a handler reaches it.
    signaller = make_submission(tmp_path, {"preprocessing": _normalize(
        "    import ctypes, os, signal, time\n"
        "    for number in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM, signal.SIGKILL):\n"
        "        os.kill(os.getppid(), number)\n"
        "    time.sleep(0.2)\n"
        "    fd = ctypes.CDLL(None).open(f'/proc/{os.getppid()}/stat'.encode(), 0)\n"
        "    if os.read(fd, 4096).split()[2] != b'S':\n"
        "        raise RuntimeError('the server was stopped or killed')")}, name="signaller")
    report = grade(signaller, only=["normalize", "one_hot"], limits=FAST, workers=server, secret=TEST_SECRET)
    assert report.score == report.max_score, _lost(report)
    assert server.alive()
    # One that dies all the same (here it is killed from outside, mid-check) costs the student whose
    # check was running that check, and the next student nothing: fresh boxes from there on.
    sleeper = make_submission(tmp_path, {"preprocessing": _normalize("    import time\n    time.sleep(3)")},
                              name="sleeper")
    threading.Timer(1.5, os.kill, (server.server_pid, signal.SIGKILL)).start()
    report = grade(sleeper, only=["normalize", "one_hot"], limits=FAST, workers=server, secret=TEST_SECRET)
    lost = {r.subject for r in report.results if r.score < r.max_score}
    assert lost == {"normalize"} and "signal SIGKILL" in " ".join(_lost(report).values()), _lost(report)
    assert not server.alive()
    spawned = server.spawned
    report = grade(REFERENCE.parent, only=["normalize", "one_hot"], limits=FAST, workers=server, secret=TEST_SECRET)
    assert report.score == report.max_score, _lost(report)
    assert server.spawned == spawned   # fresh boxes from here on


@pytest.mark.slow   # fresh boxes to compare with, one per crash: ~15 s
def test_a_crash_in_a_forked_worker_reads_as_in_a_fresh_box(tmp_path, server):
    broken = make_submission(tmp_path, {"preprocessing": '''
def normalize(images):
    import os
    os._exit(3)


def one_hot(labels, num_classes=10):
    import ctypes
    ctypes.string_at(0)
'''})
    subjects = ["normalize", "one_hot", "labels_from_scores"]
    fresh = grade(broken, only=subjects, limits=FAST, secret=TEST_SECRET)
    spawned = server.spawned
    forked = grade(broken, only=subjects, limits=FAST, workers=server, secret=TEST_SECRET)
    assert server.spawned == spawned + 3   # one worker per crash, one to finish
    assert [(r.name, r.score, r.message.en) for r in forked.results] == \
        [(r.name, r.score, r.message.en) for r in fresh.results]
    lost = {r.subject: r.message.en for r in forked.results if r.score < r.max_score}
    assert "exit code 3" in lost["normalize"] and "signal SIGSEGV" in lost["one_hot"], lost


@pytest.mark.slow   # three mnist-grade processes, one killed: ~20 s
def test_mnist_grade_lent_a_server_forks_there_and_a_killed_grader_leaves_nothing(tmp_path, server):
    from autograder.nbgrader.cells import GraderTimeout, run_grader

    # Its parent's command line, read through libc: the guard stops Python's open() of /proc/PID.
    parent = make_submission(tmp_path, {"preprocessing": _normalize(
        "    import ctypes, os\n    fd = ctypes.CDLL(None).open(f'/proc/{os.getppid()}/cmdline'.encode(), 0)\n"
        "    raise RuntimeError(os.read(fd, 4096).replace(bytes(1), b' ').decode())")}, name="parent")
    results = run_grader(parent, ["normalize"], secret=None, language="en", fork_server=server, training_memo=False)
    said = " ".join(test["output"] for test in results["tests"])
    assert "autograder.worker --fork-server" in said and "--boxed" in said, said

    stuck = make_submission(tmp_path, {"preprocessing": LEAVE + _normalize(
        "    _leave()\n    import time\n    time.sleep(3600)")}, name="stuck")
    with pytest.raises(GraderTimeout):
        run_grader(stuck, ["normalize"], secret=None, language="en", fork_server=server, training_memo=False,
                   timeout=15)
    looker = make_submission(tmp_path, {"preprocessing": LEFTOVERS + _normalize(
        "    if _leftovers():\n        raise RuntimeError(f'left behind: {_leftovers()}')")}, name="looker")
    results = run_grader(looker, ["normalize"], secret=None, language="en", fork_server=server, training_memo=False)
    assert results["score"] == results["max_score"], [t["output"] for t in results["tests"]]
    assert server.alive()   # swept when the next grader attached, not ended


@pytest.mark.slow   # every task in a fresh box to compare with: ~25 s
def test_a_forked_worker_grades_as_a_fresh_box_does(tmp_path, server, training_memo):
    """Same verdicts, messages included, for the reference and for a mutant with a wrong dtype and
    a wrong padding, every check but the trainings' (one variant's, recalled from the memo)."""
    from tests.submissions import make_mutant

    mutant = make_mutant(tmp_path, [("preprocessing", "np.asarray(images, dtype=np.float32)",
                                     "np.asarray(images, dtype=np.float64)"),
                                    ("models", 'keras.layers.Conv2D(64, (3, 3), padding="same"',
                                     'keras.layers.Conv2D(64, (3, 3), padding="valid"')])
    subjects = ["normalize", "flatten", "add_channel_axis", "one_hot", "labels_from_scores", "choose_loss",
                "early_stopping", "compile_model", "plot_history", "plot_predictions", "plot_first_layer_weights",
                "build_mlp", "build_cnn", "variant A"]
    for submission in (REFERENCE.parent, mutant):
        fresh = grade(submission, only=subjects, secret=TEST_SECRET, memo=training_memo)
        forked = grade(submission, only=subjects, secret=TEST_SECRET, memo=training_memo, workers=server)
        assert [(r.name, r.score, r.message.en) for r in forked.results] == \
            [(r.name, r.score, r.message.en) for r in fresh.results]
    assert forked.score < forked.max_score   # the mutant is caught, alike

"""The warm grader (``autograder.warm``): a self-check through this user's warm grader says exactly
what a fresh box says, reads the student's files afresh, serves one user only, one check at a time,
restarts when the grader's identity changes, goes away when idle or turned off, and stays out of
reach of the student code it grades."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder.grade import grade
from autograder.warm import client
from autograder.warm.daemon import SOCKET
from tests.submissions import make_mutant, make_submission

ONLY = ["normalize", "one_hot", "plot_history"]


@pytest.fixture
def warm(monkeypatch):
    """This test's own warm grader folder (under an XDG_RUNTIME_DIR of its own, short enough for a
    socket's path); the grader stopped after."""
    runtime = Path(tempfile.mkdtemp(prefix="warm-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("MNIST_NO_FORK_SERVER", raising=False)
    monkeypatch.delenv("MNIST_WARM_IDLE_SECONDS", raising=False)
    where = client.folder()
    assert where is not None and where.parent == runtime
    yield where
    client.stop(where)
    shutil.rmtree(runtime, ignore_errors=True)


def _said(report) -> list[tuple]:
    return [(r.name, r.score, r.max_score, r.message, r.diagnosis, r.exhibit) for r in report.results]


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow   # fresh boxes to compare with, a crash restarting them: ~25 s
def test_the_warm_grader_says_what_a_fresh_box_says(tmp_path, warm):
    crashing = make_submission(tmp_path, {"preprocessing": '''
def normalize(images):
    import os
    os._exit(3)
'''}, name="crashing")
    submissions = {
        "reference": make_submission(tmp_path, {}, name="reference"),
        "mutant": make_mutant(tmp_path, [("preprocessing", "np.float32(255.0)", "np.float32(256.0)")], name="mutant"),
        "crashing": crashing,
    }
    for name, submission in submissions.items():
        fresh = grade(submission, only=ONLY)
        warmed = client.grade(submission, only=ONLY)
        assert warmed is not None, f"{name}: the warm grader did not answer"
        assert warmed.sandbox == fresh.sandbox == "bwrap"
        assert _said(warmed) == _said(fresh), name
        assert warmed.figures == fresh.figures, name
        assert warmed.incidents == fresh.incidents, name
    assert warmed.score < warmed.max_score and fresh.score < fresh.max_score   # the crash costs points


def test_a_saved_file_is_what_is_graded(tmp_path, warm):
    submission = make_submission(tmp_path, {})
    assert client.grade(submission, only=["one_hot"]).score == client.grade(submission, only=["one_hot"]).max_score
    module = submission / "mnist_tasks" / "preprocessing.py"
    module.write_text(module.read_text(encoding="utf-8").replace("] = 1.0", "] = 2.0", 1), encoding="utf-8")
    report = client.grade(submission, only=["one_hot"])
    assert report.score < report.max_score


def test_one_grader_per_user_and_two_notebooks_take_turns(tmp_path, warm):
    submission = make_submission(tmp_path, {})
    reports, errors = [], []

    def check():
        try:
            reports.append(client.grade(submission, only=["normalize", "one_hot"]))
        except Exception as error:   # noqa: BLE001 (reported below)
            errors.append(error)

    # Two notebooks of one student, checking at once, before any warm grader runs: one starts it.
    notebooks = [threading.Thread(target=check) for _ in range(2)]
    for notebook in notebooks:
        notebook.start()
    for notebook in notebooks:
        notebook.join()
    assert not errors and len(reports) == 2 and None not in reports
    assert _said(reports[0]) == _said(reports[1])
    assert reports[0].score == reports[0].max_score
    graders = {pid for pid in _processes() if f"autograder.warm.daemon\0{warm}\0" in _command(pid)}
    # One grader: a fork it graded in may still be on its way out (it answers, then exits).
    assert len({pid for pid in graders if _parent(pid) not in graders}) == 1, graders
    # The folder and the socket are this user's alone.
    assert os.stat(warm).st_mode & 0o777 == 0o700
    assert os.stat(warm / SOCKET).st_mode & 0o077 == 0


def test_a_folder_someone_else_could_reach_is_never_used(tmp_path, monkeypatch):
    """A runtime folder of loose mode, a name in the shared temporary folder someone else took first:
    each is passed over for the next place; with none left, no warm grader (cold checks)."""
    name = f"mnist-tasks-warm-{os.getuid()}"
    runtime, shared, cache = tmp_path / "runtime", tmp_path / "tmp", tmp_path / "cache"
    runtime.mkdir(mode=0o700)
    shared.mkdir()
    os.chmod(shared, 0o1777)
    for taken in (runtime / name, shared / name):
        taken.mkdir()
        os.chmod(taken, 0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr("tempfile.tempdir", str(shared))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    assert client.folder() == cache / "mnist-tasks" / "warm"
    assert os.stat(client.folder()).st_mode & 0o777 == 0o700
    os.chmod(cache / "mnist-tasks" / "warm", 0o755)
    assert client.folder() is None
    assert client.grade(make_submission(tmp_path, {}), only=["one_hot"]) is None


@pytest.mark.slow   # three graders started, one waited out idle: ~13 s
def test_off_idle_and_identity(tmp_path, warm, monkeypatch):
    submission = make_submission(tmp_path, {})
    monkeypatch.setenv("MNIST_NO_FORK_SERVER", "1")
    assert client.grade(submission, only=["one_hot"]) is None and client.grader_pid(warm) is None
    monkeypatch.delenv("MNIST_NO_FORK_SERVER")
    monkeypatch.setenv("MNIST_WARM_IDLE_SECONDS", "0")
    assert client.grade(submission, only=["one_hot"]) is None and client.grader_pid(warm) is None

    # MNIST elsewhere (the same file through a link): another identity, another grader.
    monkeypatch.setenv("MNIST_WARM_IDLE_SECONDS", "3")
    assert client.grade(submission, only=["one_hot"]) is not None
    first = client.grader_pid(warm)
    link = tmp_path / "mnist.npz"
    link.symlink_to(os.environ["MNIST_NPZ"])
    monkeypatch.setenv("MNIST_NPZ", str(link))
    assert client.grade(submission, only=["one_hot"]).score > 0
    second = client.grader_pid(warm)
    assert second is not None and second != first and _gone(first)
    everything = _tree(second)
    assert len(everything) >= 2, "no boxed fork server under the warm grader"
    # Idle for its 3 seconds: it ends, and its box with it.
    assert _gone(second, 15.0) and all(_gone(pid) for pid in everything)
    assert not (warm / SOCKET).exists()


def test_student_code_cannot_reach_the_warm_grader(tmp_path, warm):
    """A student who has read this code knows where the socket is: from the box it is not there."""
    reaching = _reaching_for(warm, tmp_path)
    report = client.grade(reaching, only=["normalize"])
    assert report.score == report.max_score, [r.message.en for r in report.results if r.score < r.max_score]


def test_without_a_box_the_warm_grader_says_it_ran_unboxed(tmp_path, warm, monkeypatch):
    """As on Colab: no bwrap on PATH. The warm grader forks unboxed workers and says so."""
    monkeypatch.setenv("PATH", str(Path(os.sys.executable).parent))
    report = client.grade(make_submission(tmp_path, {}), only=["one_hot"])
    assert report is not None and report.score == report.max_score
    assert report.sandbox == "none" and report.sandbox_missing


def _reaching_for(folder: Path, tmp_path: Path) -> Path:
    """The reference, but its ``normalize`` first tries the warm grader's socket in ``folder`` and
    looks for the folder: it loses its points if either is there to be found."""
    return make_submission(tmp_path, {"preprocessing": f'''
def normalize(images):
    import os, socket
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect({str(folder / SOCKET)!r})
        raise RuntimeError("reached the warm grader")
    except OSError:
        pass
    if os.path.exists({str(folder)!r}):
        raise RuntimeError("sees the warm grader's folder")
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)
'''})


def _processes() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _tree(pid: int) -> set[int]:
    parents = {child: _parent(child) for child in _processes()}
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        grew, tree = bool(more), tree | more
    return tree


def test_the_identity_follows_the_kits_code_the_environment_and_mnist(tmp_path, monkeypatch):
    """What ``identity`` covers, each changed once: a grader started before any of these changes is
    told to end by the next check (test_off_idle_and_identity sees that happen for MNIST)."""
    from autograder.warm import messages

    kit = tmp_path / "kit"
    (kit / "autograder").mkdir(parents=True)
    (kit / "autograder" / "grade.py").write_text("X = 1\n")
    mnist = tmp_path / "mnist.npz"
    mnist.write_bytes(b"one")
    monkeypatch.setattr(messages, "KIT", kit)
    environ = {"MNIST_NPZ": str(mnist)}
    before = messages.identity(environ)
    assert messages.identity(environ) == before   # nothing changed: the same grader answers
    (kit / "autograder" / "grade.py").write_text("X = 2\n")
    code = messages.identity(environ)
    assert code != before
    mnist.write_bytes(b"another")
    data = messages.identity(environ)
    assert data != code
    assert messages.identity({**environ, "MNIST_SANDBOX": "none"}) != data
    monkeypatch.setattr("shutil.which", lambda name: None)   # bwrap gone (as on Colab)
    assert messages.identity(environ) != data


@pytest.mark.slow   # the hub's recipe for two accounts made here (its venv from the hub's tests): ~20 s
@pytest.mark.xdist_group("hub")   # that venv in /opt: one user at a time
def test_as_a_students_own_account_the_warm_grader_is_theirs_alone(tmp_path, mnist_path):
    """On the hub each student checks as their own account, unprivileged: their warm grader runs as
    them, in a box their code cannot leave for its socket; root gets no answer from it (the peer's
    uid is checked), another student cannot even reach its folder."""
    import json
    import socket
    import subprocess

    from autograder.warm.daemon import peer
    from tests.hub import Hub, make_account, remove_account, require_hub_parts

    require_hub_parts()
    student, other = make_account("mnistwarmstudent"), make_account("mnistwarmother")
    try:
        Hub(18500 + os.getpid() % 500).set_up(student, [other], mnist_path)
        uid = int(subprocess.run(["id", "-u", student.name], capture_output=True, text=True, check=True).stdout)
        where = Path(tempfile.gettempdir()) / f"mnist-tasks-warm-{uid}"
        reaching = _reaching_for(where, tmp_path)
        work = student.home / "ps1"
        shutil.copytree(reaching, work)
        subprocess.run(["chown", "-R", f"{student.name}:", str(work)], check=True)
        ask = ("import json, sys\nfrom autograder.warm import client\n"
               "r = client.grade(sys.argv[1], only=['normalize'])\n"
               "print(json.dumps(None if r is None else [r.sandbox, r.score, r.max_score,"
               " [x.message.en for x in r.results if x.score < x.max_score]]))")
        done = student.run("python", "-c", ask, str(work))
        assert done.returncode == 0, done.stderr[-3000:]
        verdict = json.loads(done.stdout.splitlines()[-1])
        log = (where / "grader.log").read_text(errors="replace")[-3000:] if (where / "grader.log").exists() else "no log"
        assert verdict is not None, f"the student's warm grader did not answer; its log: {log}"
        assert verdict[0] == "bwrap" and verdict[1] == verdict[2], verdict
        assert os.stat(where).st_uid == uid and os.stat(where).st_mode & 0o777 == 0o700

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(where / SOCKET))   # root may open it; the grader answers nobody but its user
            grader = peer(connection)[0]
            connection.settimeout(30)
            try:
                connection.sendall(b'{"kind": "stop"}\n')
                answered = connection.makefile("rb").readline()
            except ConnectionError:   # closed unread: a reset, or a broken pipe if it closed before the send
                answered = b""
            assert answered == b"", answered
        assert f"Uid:\t{uid}\t" in Path(f"/proc/{grader}/status").read_text()
        assert Path(f"/proc/{grader}").exists(), "root's stop was obeyed"
        reach = other.run("python", "-c", "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])",
                          str(where / SOCKET))
        assert reach.returncode != 0 and "PermissionError" in reach.stderr, reach.stderr
    finally:
        remove_account(student.name)
        remove_account(other.name)


def test_a_malformed_request_costs_the_grader_nothing(tmp_path, warm):
    import json
    import socket

    from autograder.warm.messages import identity

    submission = make_submission(tmp_path, {})
    assert client.grade(submission, only=["one_hot"]) is not None
    grader = client.grader_pid(warm)
    answers = []
    for line in (b"[]\n", b"not json\n", json.dumps({"kind": "grade", "identity": identity()}).encode() + b"\n"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(warm / SOCKET))
            connection.settimeout(60)
            connection.sendall(line)
            answers.append(connection.makefile("rb").readline())
    assert answers[:2] == [b"", b""] and json.loads(answers[2])["status"] == "refused"
    assert client.grader_pid(warm) == grader
    report = client.grade(submission, only=["one_hot"])
    assert report.score == report.max_score

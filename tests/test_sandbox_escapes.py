"""Escape attempts against the box student code runs in (``autograder.sandbox.jail``), as a student would
write them, in a course laid out as nbgrader lays it out.

Each attempt is a submission whose ``preprocessing.py`` tries one thing at import time and again
when ``normalize`` is called, and answers with zeros if it succeeded. Graded in the box, every
attempt must fail: ``normalize`` keeps its full marks, and what the attempt would have changed
outside (a file, a listener, a sentinel process) is checked from outside as well. Graded with
``--sandbox none``, the same submission must lose those marks wherever the attempt is harmless to
try unboxed: so each test would fail if the box let the attempt through.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autograder.sandbox import jail
from autograder.grade import grade
from tests.submissions import REFERENCE, REPO, STUBS, TEST_SECRET, course_with_secret, make_submission

pytestmark = pytest.mark.skipif(not jail.available(), reason=f"no sandbox here: {jail.unavailable_reason()}")

ATTEMPT = '''
def _attempt():
    try:
{body}
    except BaseException:
        return False


ESCAPED_AT_IMPORT = _attempt()


def normalize(images):
    if ESCAPED_AT_IMPORT or _attempt():
        return np.zeros(np.shape(images), np.float32)
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)
'''


HOME_FILE = Path.home() / f".mnist-escape-test-{os.getpid()}"


@pytest.fixture
def course(tmp_path):
    """A course: the secret, a gradebook, bob's submission (the reference) beside alice's."""
    root = course_with_secret(tmp_path / "course")
    (root / "gradebook.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)
    bob = root / "submitted" / "bob" / "ps1"
    bob.mkdir(parents=True)
    import shutil

    shutil.copytree(REFERENCE, bob / "mnist_tasks")
    entry = root / ".mnist-grade-cache" / "training-memo" / "ab" / ("ab" + "0" * 62 + ".json")
    entry.parent.mkdir(parents=True)
    entry.write_text('{"kind": "training", "value": {"accuracy": 0.9}}')   # the training memo (autograder.training.memo)
    HOME_FILE.write_text("the grader's own")
    yield root
    HOME_FILE.unlink(missing_ok=True)


def _attempting(tmp_path, body: str) -> Path:
    indented = "\n".join("        " + line for line in body.strip("\n").splitlines())
    return make_submission(tmp_path, {"preprocessing": ATTEMPT.format(body=indented)},
                           name=f"alice-{len(list(tmp_path.glob('alice-*')))}")


@pytest.fixture(params=["class box", pytest.param("fresh box", marks=pytest.mark.slow)])
def box(request) -> str:
    """Where an attempt runs: in a worker forked by the boxed fork server that ``mnist-course
    autograde`` grades a class with (``autograder.sandbox.forkbox``), after the attempts before it,
    in the same box; and in a fresh box of its own, as ``mnist-grade`` grades one submission. Both
    must stop it alike. A fresh box costs a TensorFlow start per attempt: the full suite's."""
    return request.param


@pytest.fixture(scope="session", autouse=True)   # (not "module": that would keep the module on one xdist worker)
def fork_servers():
    """This module's own servers (the session's serve hostile submissions that may end them): the
    class box's, and an unboxed one for the unboxed controls. A control needs no fresh worker (it
    shows the attempt works where nothing stops it): a worker forked by an unboxed fork server runs
    as unboxed as a fresh one, without a TensorFlow import of its own. Each is started by the first
    attempt that needs it."""
    yield
    for server in _SERVERS.values():
        server.close()
    _SERVERS.clear()


_SERVERS: dict = {}


def _server(sandbox: str):
    if sandbox not in _SERVERS:
        from autograder.sandbox.forkbox import BoxedForkServer
        from autograder.sandbox.workers import ForkServer

        _SERVERS[sandbox] = BoxedForkServer() if sandbox == "bwrap" else ForkServer()
    return _SERVERS[sandbox]


def _normalize_points(submission: Path, where: str) -> tuple[float, float]:
    """``normalize``'s points graded in ``where``: a ``box`` (above), or "none" for the unboxed control."""
    sandbox = "none" if where == "none" else "bwrap"
    if where == "fresh box":
        report = grade(submission, only=["normalize"], sandbox=sandbox)
    else:
        server = _server(sandbox)
        spawned = server.spawned
        report = grade(submission, only=["normalize"], sandbox=sandbox, workers=server)
        assert server.spawned > spawned, "the fork server forked no worker for this grading"
    assert report.sandbox == sandbox
    return report.score, report.max_score


def _reads(path: Path) -> str:
    return f"open({str(path)!r}, 'rb').read(1)\nreturn True"


def _read_attempts(course: Path) -> dict[str, str]:
    return {
        "a classmate's submission": _reads(course / "submitted/bob/ps1/mnist_tasks/preprocessing.py"),
        "solutions/": _reads(REPO / "solutions/mnist_tasks/preprocessing.py"),
        "the course secret": _reads(course / ".mnist-hidden-secret"),
        "$HOME": _reads(HOME_FILE),
        "the gradebook (writing)": f"open({str(course / 'gradebook.db')!r}, 'ab').write(b'x')\nreturn True",
        "the training memo (writing)": "import glob\n" + "\n".join([
            f"for path in glob.glob({str(course / '.mnist-grade-cache' / 'training-memo' / '*' / '*.json')!r}):",
            "    open(path, 'w').write('{\"kind\": \"training\", \"value\": {\"accuracy\": 1.0}}')",
            "    return True", "return False"]),
    }


@pytest.mark.parametrize("what", ["a classmate's submission", "solutions/", "the course secret", "$HOME",
                                  "the gradebook (writing)", "the training memo (writing)"])
def test_what_only_the_grader_may_touch_is_out_of_reach(tmp_path, course, what, box):
    submission = _attempting(tmp_path, _read_attempts(course)[what])
    before = (course / "gradebook.db").read_bytes()
    score, total = _normalize_points(submission, box)
    assert score == total, f"{what}: reachable from the box"
    assert (course / "gradebook.db").read_bytes() == before
    assert _normalize_points(submission, "none")[0] < total, f"{what}: the attempt does not work even unboxed"
    (course / "gradebook.db").write_bytes(before)


def test_etc_shadow_is_not_readable(tmp_path, box):
    submission = _attempting(tmp_path, _reads(Path("/etc/shadow")))
    score, total = _normalize_points(submission, box)
    assert score == total
    if os.geteuid() == 0:   # only root can read it unboxed
        assert _normalize_points(submission, "none")[0] < total


def test_answering_with_a_classmates_code_found_on_disk_earns_the_stubs_points(tmp_path, course, box):
    """The stubs, whose preprocessing.py finds bob's file and runs it in its own namespace."""
    import shutil

    alice = tmp_path / "alice"
    shutil.copytree(STUBS / "mnist_tasks", alice / "mnist_tasks", ignore=shutil.ignore_patterns("__pycache__"))
    module = alice / "mnist_tasks" / "preprocessing.py"
    module.write_text(module.read_text(encoding="utf-8") + f'''

import os as _os
for _root, _dirs, _files in _os.walk({str(course)!r}):
    if _root.endswith("mnist_tasks") and "preprocessing.py" in _files and "alice" not in _root:
        try:
            exec(open(_os.path.join(_root, "preprocessing.py")).read(), globals())
        except OSError:
            pass
''', encoding="utf-8")
    assert _normalize_points(alice, box)[0] == 0.0
    # Unboxed the copy earns points (not all of them: the grader reads the exec of a source it cannot see)
    assert _normalize_points(alice, "none")[0] > 0


def test_writing_outside_the_tmpfs_fails(tmp_path, box):
    outside = tmp_path / "outside"
    outside.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    planted = site / "zz-mnist-escape-test.pth"
    targets = {"a folder of the grader's": outside / "planted", "site-packages": planted,
               "beside the submission": tmp_path / "alice-0" / "planted"}
    body = "\n".join(f"open({str(path)!r}, 'w').write('# planted')" for path in targets.values())
    # Every target at once, each in its own try: the submission answers wrong if any one worked.
    body = "worked = False\n" + "\n".join(
        f"try:\n    open({str(path)!r}, 'w').write('# planted')\n    worked = True\nexcept OSError:\n    pass"
        for path in targets.values()) + "\nreturn worked"
    submission = _attempting(tmp_path, body)
    try:
        score, total = _normalize_points(submission, box)
        assert score == total
        assert not [name for name, path in targets.items() if path.exists()]
        assert _normalize_points(submission, "none")[0] < total
    finally:
        if planted.exists():   # (a read-only site-packages refuses even an unlink of nothing)
            planted.unlink()


def test_a_symlink_out_of_the_writable_folder_leads_nowhere(tmp_path, course, box):
    gradebook = course / "gradebook.db"
    before = gradebook.read_bytes()
    submission = _attempting(tmp_path, f"""
import os
os.symlink({str(gradebook)!r}, 'link-out')
open('link-out', 'ab').write(b'x')
return True""")
    score, total = _normalize_points(submission, box)
    assert score == total
    assert gradebook.read_bytes() == before


def test_no_network_not_even_to_a_listener_on_loopback(tmp_path, box):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    heard = []

    def listen():
        listener.settimeout(60)
        try:
            while True:
                connection, _ = listener.accept()
                heard.append(connection.recv(100))
                connection.close()
        except OSError:
            pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    submission = _attempting(tmp_path, f"""
import socket
socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'secret')
return True""")
    try:
        score, total = _normalize_points(submission, box)
        assert score == total and heard == []
        assert _normalize_points(submission, "none")[0] < total and heard
    finally:
        listener.close()


def test_other_processes_cannot_be_signalled(tmp_path, box):
    sentinel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        submission = _attempting(tmp_path, f"""
import os, signal
os.kill({sentinel.pid}, signal.SIGCONT)
return True""")   # SIGCONT: unboxed, the control run must not end the sentinel either
        score, total = _normalize_points(submission, box)
        assert score == total and sentinel.poll() is None
        assert _normalize_points(submission, "none")[0] < total
        assert sentinel.poll() is None
    finally:
        sentinel.kill()
        sentinel.wait()


@pytest.mark.slow   # ~10 s a bomb, in either box: the full suite's
def test_a_fork_bomb_meets_the_process_limit(tmp_path, box):
    """Children that sleep, as many as it can make: in the box it meets RLIMIT_NPROC (its own user
    namespace's count) long before 2,000, and the grading goes on. Once per worker, at import (the
    calls then answer as it did): each bomb forks a process that imported TensorFlow some 500
    times, ~10 s, and the same limit holds for every call in that process."""
    submission = _attempting(tmp_path, """
import os, time
if '_BOMBED' in globals():
    return _BOMBED
children = []
try:
    for _ in range(2000):
        pid = os.fork()
        if pid == 0:
            time.sleep(20)
            os._exit(0)
        children.append(pid)
finally:
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    globals()['_BOMBED'] = len(children) >= 2000
return len(children) >= 2000""")
    started = time.monotonic()
    score, total = _normalize_points(submission, box)
    assert score == total
    assert time.monotonic() - started < 120


def test_filling_the_tmpfs_stops_at_its_size(tmp_path, box):
    submission = _attempting(tmp_path, f"""
import os
block = b'x' * (1 << 20)
written = 0
for part in range(4):
    with open(f'/tmp/fill-{{part}}', 'wb') as out:
        for _ in range(200):
            out.write(block)
            written += len(block)
for part in range(4):
    os.unlink(f'/tmp/fill-{{part}}')
return written > {jail.TMPFS_BYTES}""")
    score, total = _normalize_points(submission, box)
    assert score == total


def test_a_read_only_bind_cannot_be_remounted_writable(tmp_path, box):
    venv = sys.prefix
    submission = _attempting(tmp_path, f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096
if libc.mount(None, {venv!r}.encode(), None, MS_REMOUNT | MS_BIND, None) != 0:
    return False
open({os.path.join(venv, 'planted')!r}, 'w').write('x')
return True""")
    score, total = _normalize_points(submission, box)
    assert score == total
    assert not Path(venv, "planted").exists()


def test_grading_for_a_course_refuses_where_bwrap_is_missing(tmp_path, monkeypatch):
    """No bwrap on PATH: a course's grading (with its secret) stops with one bilingual message that
    says why and what to do; a student's own self-check runs unboxed and says so in one line."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    course = course_with_secret(tmp_path / "course")
    done = subprocess.run([sys.executable, "-m", "autograder.cli", str(REPO / "solutions"), "--only", "one_hot",
                           "--course", str(course), "--lang", "en"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    assert "cannot make the sandbox grading needs (bubblewrap): bwrap" in done.stderr
    assert "apt-get install bubblewrap" in done.stderr and "--sandbox none" in done.stderr
    assert "Traceback" not in done.stderr
    student = subprocess.run([sys.executable, "-m", "autograder.cli", str(REPO / "solutions"), "--only", "one_hot",
                              "--public-only", "--lang", "en"], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=300)
    assert student.returncode == 0, student.stderr[-2000:]
    assert "(ran without a sandbox: bwrap" in student.stdout
    explicit = subprocess.run([sys.executable, "-m", "autograder.cli", str(REPO / "solutions"), "--only", "one_hot",
                               "--course", str(course), "--sandbox", "none", "--json", str(tmp_path / "r.json")],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert explicit.returncode == 0, explicit.stderr[-2000:]
    import json

    assert json.loads((tmp_path / "r.json").read_text())["extra_data"]["sandbox"] == "none"


def test_the_box_runs_student_code_as_nobody_of_the_grader(tmp_path, monkeypatch, box):
    """Inside: not the grader's uid when the grader is root, no other process, a cleared environment,
    and a /tmp (HOME) and /dev/shm it can write. (No capabilities: the remount test above.)"""
    submission = _attempting(tmp_path, f"""
import os
for folder in ('/tmp', os.environ['HOME'], '/dev/shm'):
    try:   # what it may write, it must be able to: a failure here answers wrong
        with open(os.path.join(folder, 'mine'), 'wb') as out:
            out.write(b'x' * (8 << 20))
        os.unlink(os.path.join(folder, 'mine'))
    except OSError:
        return True
if len([name for name in os.listdir('/proc') if name.isdigit()]) > 3:
    return True
if {os.geteuid() == 0} and os.getuid() == 0:
    return True
return 'MNIST_GRADERS_OWN' in os.environ or any(key.startswith('PYTEST') for key in os.environ)""")
    monkeypatch.setenv("MNIST_GRADERS_OWN", "a variable of the grader's environment")
    score, total = _normalize_points(submission, box)
    assert score == total


@pytest.mark.slow   # every attempt above once more, or tests/test_forkbox.py, in a pytest of its own: 2-4 min each
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user (CI runs as root)")
@pytest.mark.parametrize("module", ["test_sandbox_escapes.py", "test_forkbox.py"])   # (two: a worker each)
def test_every_attempt_fails_when_the_grader_itself_is_an_unprivileged_user(tmp_path, module):
    """This module again, as a uid that is not root and has no capabilities: the grader's boxes are
    then bwrap's unprivileged kind (a user namespace of their own), and every attempt above must
    fail in them too, its unboxed control still succeeding. And the boxed fork server's tests
    (tests/test_forkbox.py): there a worker has the grader's own uid, and may write beside its
    grading, which the server's owner removes.

    How it becomes that user: the grader's own box (``autograder.sandbox.jail``) around pytest, with the
    checkout read-only and the host's /proc (a nested bwrap may mount a new /proc only where the
    one it sees is the whole of it; the grader reads its workers' /proc entries by their pids)."""
    workdir = tmp_path / "unprivileged"
    workdir.mkdir()
    box = jail.Box.for_grading(REPO, workdir)
    outer = jail.command(box, ["/usr/bin/env", f"PYTHONPATH={REPO}", "PYTHONDONTWRITEBYTECODE=1", sys.executable,
                               "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--rootdir", str(REPO),
                               "--basetemp", str(workdir / "pytest"), str(Path(__file__).resolve().parent / module),
                               "-k", "not unprivileged_user"])
    outer.remove("--unshare-pid")
    proc = outer.index("--proc")
    outer[proc:proc + 2] = ["--bind", "/proc", "/proc"]
    done = subprocess.run(outer, capture_output=True, text=True, env={}, timeout=900)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # Every attempt ran (no skip: a box of the unprivileged kind could be made), and each failed.
    assert "passed" in summary and "skipped" not in summary and "failed" not in summary, done.stdout[-3000:]


KERNEL_ATTEMPTS = '''
import os
def _attempt(what, action):
    try:
        action()
        print(f"ATTEMPT {{what}}: reached")
    except Exception:
        print(f"ATTEMPT {{what}}: blocked")
_attempt("the course secret", lambda: open({secret!r}).read())
_attempt("a classmate's submission", lambda: open({classmate!r}).read())
_attempt("the gradebook (writing)", lambda: open({gradebook!r}, "r+b").close())
_attempt("solutions/", lambda: open({solutions!r}).read())
import mnist_tasks
print("PACKAGE", os.path.dirname(mnist_tasks.__file__) == os.path.join(os.getcwd(), "mnist_tasks"))
'''


@pytest.mark.slow   # two nbgrader autogrades that run ps1's notebook in a kernel: ~1 min
def test_the_kernel_that_autograde_runs_the_notebook_in_is_in_the_box_too(tmp_path, monkeypatch):
    """MNIST_COURSE_EXECUTE=1: nbgrader's Execute runs the student's notebook, whose cells are the
    student's code. A cell added to the notebook tries the course's files: in the box (BoxedExecute)
    it reaches none of them, the notebook's own cells still run, and the grade cells still score;
    with MNIST_SANDBOX=none the same cell reaches them."""
    import json

    from mnist_course import assignments, course as kit_course

    monkeypatch.setenv("MNIST_COURSE_EXECUTE", "1")
    copy = kit_course.CourseCopy(tmp_path / "course")
    copy.release("ps1")
    bob = copy.submit("bob", "ps1", package=REFERENCE)
    cell = KERNEL_ATTEMPTS.format(secret=str(copy.root / ".mnist-hidden-secret"),
                                  classmate=str(bob / "mnist_tasks" / "preprocessing.py"),
                                  gradebook=str(copy.root / "gradebook.db"),
                                  solutions=str(REPO / "solutions" / "mnist_tasks" / "preprocessing.py"))

    def add_cell(notebook):
        notebook["cells"].append({"cell_type": "code", "metadata": {}, "source": cell, "outputs": [],
                                  "execution_count": None})

    def autograded(student: str) -> tuple[str, list[dict]]:
        copy.submit(student, "ps1", package=REFERENCE, edit_notebook=add_cell)
        copy.autograde("ps1", student=student)
        path = copy.root / "autograded" / student / "ps1" / f"{assignments.BY_ID['ps1'].notebook}.ipynb"
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        added = next(c for c in cells if "ATTEMPT" in "".join(c["source"]))
        return "".join("".join(o.get("text", "")) for o in added["outputs"]), cells

    text, cells = autograded("alice")
    assert text.count(": blocked") == 4 and "reached" not in text, text
    assert "PACKAGE True" in text, text             # its own copy of its own folder, as its working directory
    ran = [c for c in cells if c["outputs"] and not c["metadata"].get("nbgrader", {}).get("grade")]
    assert len(ran) > 3 and not any(o["output_type"] == "error" or o.get("name") == "stderr"
                                    for c in ran for o in c["outputs"]), ran   # nothing missing in the box
    assert all("サンドボックス (bubblewrap)" in "".join(c["outputs"][0]["data"]["text/plain"]) for c in cells
               if c["metadata"].get("nbgrader", {}).get("grade"))   # the grade cells scored, boxed
    monkeypatch.setenv("MNIST_SANDBOX", "none")
    text, _ = autograded("carol")
    assert "the course secret: reached" in text and "a classmate's submission: reached" in text, text


@pytest.mark.parametrize("how", ["bytes", "files"])
def test_filling_the_work_directory_stops_at_its_limit(tmp_path, how, box):
    """The work directory is on the grader's disk (the box's /tmp and /dev/shm are tmpfs of their
    own size): what a worker adds there is measured while it runs, and past the limit the worker is
    killed, its extra files removed, and only the probe that wrote them loses its points."""
    from autograder.sandbox.limits import Limits

    limits = Limits(workdir_bytes=64 << 20, workdir_entries=500)
    write = ("block = b'x' * (1 << 20)\nfor part in range(100):\n    open(f'fill-{part}', 'wb').write(block * 2)"
             if how == "bytes" else "for part in range(2000):\n    open(f'fill-{part}', 'wb').close()")
    source = f'''
def normalize(images):
    import os, time
{textwrap.indent(write, "    ")}
    time.sleep(2)
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)
'''
    submission = make_submission(tmp_path, {"preprocessing": source})
    report = grade(submission, only=["normalize", "flatten"], limits=limits, sandbox="bwrap",
                   workers=_server("bwrap") if box == "class box" else None)
    lost = [r for r in report.results if r.score < r.max_score]
    assert lost and all(r.subject == "normalize" for r in lost), [(r.name, r.message.en) for r in lost]
    said = "wrote more than 64 MB to its work directory" if how == "bytes" else "more than 500 files"
    assert any(said in r.message.en for r in lost), [r.message.en for r in lost]
    assert all(r.score == r.max_score for r in report.results if r.subject == "flatten")


def test_the_meta_tests_kept_worker_is_boxed_and_kept(tmp_path):
    """WarmWorkers (the grader's own meta-tests) keep one boxed worker between gradings: started by
    a thread of its own, since bwrap's --die-with-parent would end it with the grading's thread."""
    from autograder.sandbox.workers import WarmWorkers

    workers = WarmWorkers()
    try:
        for _ in range(2):
            report = grade(REFERENCE.parent, only=["normalize"], workers=workers, secret=TEST_SECRET)
            assert report.sandbox == "bwrap" and report.score == report.max_score
            assert workers.kept_in_box()
        assert workers.starts == 1
    finally:
        workers.close()

"""``mnist-course autograde``: a class graded in parallel on Dask, into nbgrader's own gradebook.

Real parts throughout: nbgrader courses in temporary directories, Dask's local cluster and real
``dask scheduler`` / ``dask worker`` processes on localhost, a PostgreSQL server started here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from mnist_course import assignments, classgrade, course
from tests.roundtrip import wrong_package

pytestmark = pytest.mark.slow   # each test builds a course and grades several students for real


def build(root: Path, students: dict[str, Path | None], assignment: str = "ps1") -> course.CourseCopy:
    """A course where each student hands in ``assignment`` with the given package (None: the stubs)."""
    copy = course.CourseCopy(root)
    copy.release(assignment)
    for student, package in students.items():
        copy.submit(student, assignment, package=package)
    return copy


def gradebook_rows(root: Path, db_url: str | None = None) -> list[tuple]:
    """Every grade and comment of every submission, as nbgrader's gradebook holds them."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(db_url or f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for assignment in gradebook.assignments:
            for submission in gradebook.assignment_submissions(assignment.name):
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        rows.append((submission.student_id, assignment.name, notebook.name, grade.name,
                                     grade.score, grade.auto_score, grade.manual_score, grade.needs_manual_grade))
                    for comment in notebook.comments:
                        rows.append((submission.student_id, notebook.name, comment.name, comment.auto_comment,
                                     comment.manual_comment))
    return sorted(rows, key=repr)


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    return wrong_package(tmp_path_factory.mktemp("wrong"))


def test_parallel_autograde_records_what_sequential_nbgrader_autograde_records(tmp_path, wrong):
    students = {"ref": assignments.REFERENCE, "stub": None, "wrong": wrong}
    sequential = build(tmp_path / "sequential", students)
    sequential.autograde("ps1")                                   # plain `nbgrader autograde ps1`
    parallel = build(tmp_path / "parallel", students)
    outcomes = classgrade.autograde(parallel.root, ["ps1"], workers=2, progress=False)
    assert sorted(o.submission.student for o in outcomes if o.status == "graded") == ["ref", "stub", "wrong"]
    rows = gradebook_rows(parallel.root)
    assert rows and rows == gradebook_rows(sequential.root)
    scores = {o.submission.student: o.score for o in outcomes}
    assert scores["ref"] == 10 and scores["stub"] == 0 and 0 < scores["wrong"] < 10
    # The rest of nbgrader works on the result as on its own: feedback and export.
    parallel.feedback("ps1")
    assert (parallel.root / "feedback" / "wrong" / "ps1").is_dir()
    exported = {row["student_id"]: float(row["score"]) for row in parallel.export()}
    assert exported == {"ref": 10.0, "stub": 0.0, "wrong": scores["wrong"]}


def test_an_interrupted_run_skips_what_it_recorded_and_regrades_what_changed(tmp_path, wrong, capsys):
    copy = build(tmp_path / "course", {"ref": assignments.REFERENCE, "wrong": wrong})
    first = classgrade.autograde(copy.root, ["ps1"], workers=1, progress=True)
    assert {o.status for o in first} == {"graded"}
    shown = capsys.readouterr()   # the progress bar (stderr) and a line per student
    assert "2/2" in shown.err and "attention=" in shown.err, shown.err[-500:]
    assert "ps1 ref: 10/10" in shown.out + shown.err
    before = gradebook_rows(copy.root)
    again = classgrade.autograde(copy.root, ["ps1"], workers=1, progress=False)
    assert {o.status for o in again} == {"skipped"} and gradebook_rows(copy.root) == before
    copy.submit("wrong", "ps1", package=assignments.REFERENCE)       # the student fixed it and handed in again
    third = classgrade.autograde(copy.root, ["ps1"], workers=1, progress=False)
    assert {o.submission.student: o.status for o in third} == {"ref": "skipped", "wrong": "graded"}
    assert next(o.score for o in third if o.submission.student == "wrong") == 10


def test_a_killed_run_leaves_a_whole_gradebook_and_resumes(tmp_path, wrong):
    copy = build(tmp_path / "course", {"a": assignments.REFERENCE, "b": wrong, "c": None})
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    # This run says its gradings are isolated already (--sandbox none); the resumed run boxes them.
    command = [sys.executable, "-m", "mnist_course", "autograde", "ps1", "--workers", "1", "--no-progress",
               "--course", str(copy.root), "--sandbox", "none"]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    for line in run.stdout:                                        # the first student is recorded...
        if ": 10/10" in line or ": 0/10" in line or "/10" in line:
            break
    os.killpg(run.pid, signal.SIGKILL)                             # ...then the run dies
    run.wait()
    recorded = {row[0] for row in gradebook_rows(copy.root)}
    assert recorded and recorded < {"a", "b", "c"}
    outcomes = classgrade.autograde(copy.root, ["ps1"], workers=1, progress=False)
    assert {o.submission.student for o in outcomes if o.status == "skipped"} == recorded
    for student in ("a", "b", "c"):   # the feedback-to-be says where each one's code ran
        graded = "".join(path.read_text(encoding="utf-8")
                         for path in (copy.root / "autograded" / student / "ps1").glob("*.ipynb"))
        mode = "サンドボックスなしで実行しました" if student in recorded else "サンドボックス (bubblewrap) の中で実行しました"
        assert mode in graded, student
    reference = build(tmp_path / "reference", {"a": assignments.REFERENCE, "b": wrong, "c": None})
    reference.autograde("ps1")
    assert gradebook_rows(copy.root) == gradebook_rows(reference.root)


def test_autograde_in_english_grades_each_student_once_and_records_english_feedback(tmp_path):
    """--lang en used to grade every student twice: the recording stage, in the course's Japanese,
    missed the results cached in English and graded again. One grading now serves either language."""
    copy = build(tmp_path / "course", {"ref": assignments.REFERENCE, "stub": None})
    cache_dir = copy.root / classgrade.CACHE

    def gradings() -> dict[str, bytes]:   # autograder.training.cache stores one file per grading
        return {p.name: p.read_bytes() for p in cache_dir.glob("*.json") if p.name != classgrade.LEDGER}

    def feedback(student: str) -> str:
        return "".join(p.read_text(encoding="utf-8") for p in (copy.root / "autograded" / student / "ps1").glob("*.ipynb"))

    outcomes = classgrade.autograde(copy.root, ["ps1"], workers=1, language="en", progress=False)
    assert {o.submission.student: (o.status, o.score) for o in outcomes} == {"ref": ("graded", 10), "stub": ("graded", 0)}
    graded = gradings()
    assert len(graded) == 2                                        # one grading per student, not two
    for student in ("ref", "stub"):                                # --lang en: the recorded feedback is English
        assert "→ this cell" in feedback(student) and "→ この問題" not in feedback(student), student
    # Without --lang, the course's language (Japanese): recorded again from the same gradings.
    again = classgrade.autograde(copy.root, ["ps1"], workers=1, progress=False)
    assert {o.submission.student: (o.status, o.score) for o in again} == {"ref": ("graded", 10), "stub": ("graded", 0)}
    assert gradings() == graded                                    # nothing graded again, nothing rewritten
    for student in ("ref", "stub"):
        assert "→ この問題" in feedback(student) and "→ this cell" not in feedback(student), student
    assert {o.status for o in classgrade.autograde(copy.root, ["ps1"], workers=1, progress=False)} == {"skipped"}


def test_a_submission_that_crashes_or_exits_at_import_gets_partial_credit_and_attention(tmp_path):
    package = tmp_path / "exits"
    shutil.copytree(assignments.REFERENCE, package)
    training = package / "training.py"
    training.write_text("import sys\nsys.exit(1)\n" + training.read_text(encoding="utf-8"), encoding="utf-8")
    crashing = tmp_path / "crashes"
    shutil.copytree(assignments.REFERENCE, crashing)
    plots = crashing / "plots.py"
    plots.write_text(plots.read_text(encoding="utf-8") + "\n\ndef plot_history(history):\n    import os\n"
                     "    os._exit(3)\n", encoding="utf-8")
    copy = build(tmp_path / "course", {"exits": package, "crashes": crashing}, assignment="ps3")
    outcomes = {o.submission.student: o for o in classgrade.autograde(copy.root, ["ps3"], workers=2, progress=False)}
    exits, crashes = outcomes["exits"], outcomes["crashes"]
    # training.py cannot even be imported: early_stopping scores nothing, the model and plots still do.
    assert 0 < exits.score < exits.max_score and any("import_error: training" in a for a in exits.attention)
    assert 0 < crashes.score < crashes.max_score and any("crashed: plots.plot_history" in a for a in crashes.attention)
    assert classgrade.summary(list(outcomes.values()), "en")[0].startswith("needs attention: ")


# --- a real Dask cluster: a scheduler and two workers, one killed mid-grading ------------------------------

@pytest.fixture
def dask_cluster(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    dask = Path(sys.executable).parent / "dask"
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--dashboard-address", ":0", "--scheduler-file", str(scheduler_file)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = {}
    for name in ("w1", "w2"):
        worker = subprocess.Popen([str(dask), "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                                   "--nworkers", "1", "--name", name, "--no-nanny", "--dashboard-address", ":0"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        processes.append(worker)
        workers[name] = worker
    from distributed import Client

    with Client(scheduler_file=str(scheduler_file)) as client:
        client.wait_for_workers(2, timeout=120)
        address = client.scheduler.address
    try:
        yield address, workers
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def test_a_real_scheduler_and_two_workers_grade_three_students_and_survive_a_killed_worker(tmp_path, wrong,
                                                                                          dask_cluster):
    address, workers = dask_cluster
    copy = build(tmp_path / "course", {"ref": assignments.REFERENCE, "stub": None, "wrong": wrong})
    from distributed import Client

    killed = []

    def kill_a_busy_worker():
        with Client(address) as watcher:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                for worker_address, tasks in watcher.processing().items():
                    if tasks:
                        name = watcher.scheduler_info()["workers"][worker_address]["name"]
                        os.killpg(workers[name].pid, signal.SIGKILL)
                        killed.append((name, tasks))
                        return
                time.sleep(0.05)

    watcher = threading.Thread(target=kill_a_busy_worker)
    watcher.start()
    outcomes = classgrade.autograde(copy.root, ["ps1"], scheduler=address, progress=False)
    watcher.join()
    assert killed, "no worker was ever busy"
    # Its task ran again on the other worker: every student graded exactly once, right scores.
    assert sorted(o.submission.student for o in outcomes) == ["ref", "stub", "wrong"]
    scores = {o.submission.student: o.score for o in outcomes}
    assert scores["ref"] == 10 and scores["stub"] == 0 and 0 < scores["wrong"] < 10
    submissions = [row[0] for row in gradebook_rows(copy.root) if len(row) == 8 and row[3] == "ps1_one_hot"]
    assert sorted(submissions) == ["ref", "stub", "wrong"]


# --- a PostgreSQL gradebook --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres(tmp_path):
    """A real PostgreSQL server on localhost, started here (Debian's postgresql package)."""
    bindir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None) if Path("/usr/lib/postgresql").is_dir() else None
    if bindir is None or not (bindir / "initdb").exists():
        message = "PostgreSQL's server is not installed (apt-get install postgresql; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Outside pytest's private tmp dirs: the server may run as another user, who must reach it.
    base = Path(tempfile.mkdtemp(prefix="mnist-postgres-"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir()
    as_user = []
    if os.geteuid() == 0:   # PostgreSQL refuses to run as root: run it as its own user
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    server = subprocess.Popen([*as_user, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data),
                               "-c", "listen_addresses=127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"postgresql://grader@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(url).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def test_the_same_run_against_a_postgresql_gradebook(tmp_path, wrong, postgres):
    copy = build(tmp_path / "course", {"ref": assignments.REFERENCE, "wrong": wrong})
    copy.nbgrader("generate_assignment", "ps1", "--force", f"--CourseDirectory.db_url={postgres}")
    outcomes = classgrade.autograde(copy.root, ["ps1"], workers=2, db_url=postgres, progress=False)
    assert {o.submission.student: o.score for o in outcomes}["ref"] == 10
    rows = gradebook_rows(copy.root, postgres)
    assert {row[0] for row in rows} == {"ref", "wrong"}
    assert not (copy.root / "gradebook.db").exists() or not gradebook_rows(copy.root)

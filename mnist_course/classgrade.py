"""``mnist-course autograde``: grade a whole class in parallel on Dask, into nbgrader's own gradebook.

    mnist-course autograde ps2                      # every submitted student, a local Dask cluster
    mnist-course autograde ps1 ps2 --student alice --workers 4
    mnist-course autograde --all --scheduler tcp://scheduler:8786     # an existing Dask cluster

Two stages, so that grading runs in parallel while the gradebook has one writer:

1. **Grading, in parallel.** For each submission, the files the grader will see (the student's
   ``mnist_tasks/*.py`` with the provided ones restored from ``source/``, as nbgrader restores
   them) travel to a Dask worker as bytes, are graded there by the isolated grader
   (``autograder.nbgrader.cells.run_grader``: a new process, its sandboxed workers, its own thread
   settings, as calibrated), and the results come back. No shared file system is needed.
2. **Recording, one at a time.** This process stores each result in the course's results cache
   (``autograder.training.cache``, keyed by the files' content) and runs ``nbgrader autograde ASSIGNMENT
   --student ID``: nbgrader's own autograde, whose ``IsolatedGrades`` finds the result in the cache
   instead of grading again, writes the gradebook, the autograded notebook and everything feedback,
   formgrader and export read. Only this process writes to the gradebook (SQLite or PostgreSQL).

Each student is graded once, whatever the language: results hold every message in both and are
cached without a language. The language is the recorded feedback's only: ``--lang``, passed to the
recording stage as ``IsolatedGrades.language``, else the course's ``c.IsolatedGrades.language``.

Nothing is lost: a Dask worker that dies mid-grading has its task rerun elsewhere (Dask's own
retry); a submission that hangs or crashes the grader still gets what the grader could score, and
is listed as needing attention with the reason; a run that is interrupted and started again skips
every submission already recorded with the same content and language (``.mnist-grade-cache/ledger.json``)
and grades the changed ones (a new language only: recorded again from the cache).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from autograder.training.cache import COURSE_CACHE
from mnist_kit.i18n import Text, current_language
from mnist_kit.runtime import path_with_this_python

CACHE = COURSE_CACHE
LEDGER = "ledger.json"


@dataclass(frozen=True)
class Submission:
    assignment: str
    student: str
    files: dict[str, bytes]      # mnist_tasks/*.py as the grader will see them
    items: tuple[str, ...]       # the tasks of the notebook's grade cells
    key: str                     # autograder.training.cache key of grading these files for these items (any language)


@dataclass
class Outcome:
    """What became of one submission in this run."""
    submission: Submission
    status: str                  # "graded", "skipped" (unchanged since recorded), "failed"
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    attention: list[str] = field(default_factory=list)   # reasons an instructor should look


# --- what there is to grade ---------------------------------------------------------------------------

def course_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def notebook_items(root: Path, assignment: str) -> tuple[str, ...]:
    """The tasks of every grade cell of the assignment's source notebooks, as IsolatedGrades reads them."""
    import nbformat
    from nbgrader import utils

    from autograder.nbgrader.cells import requested

    items: list[str] = []
    for path in sorted((root / "source" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and utils.is_grade(cell):
                request = requested(cell.source)
                items += list(request.items) if request else []
    return tuple(dict.fromkeys(items))


def feedback_language(root: Path, language: str | None) -> str:
    """The language of the recorded feedback: ``language`` (``--lang``) if given, else the course's
    ``c.IsolatedGrades.language`` (what ``nbgrader autograde`` writes in), else the grade cells' default."""
    from autograder.nbgrader.cells import NOTEBOOK_LANGUAGE

    return language or course_config(root).IsolatedGrades.get("language") or NOTEBOOK_LANGUAGE


def submissions(root: Path, assignment: str, students: list[str] | None, secret) -> list[Submission]:
    """The submitted students of ``assignment`` (nbgrader's submitted/STUDENT/ASSIGNMENT layout)."""
    from autograder.training import cache

    config = course_config(root)
    kept = set(config.Autograde.get("exclude_overwriting", {}).get(assignment, []))
    provided = {path.name: path.read_bytes() for path in sorted((root / "source" / assignment / "mnist_tasks").glob("*.py"))
                if f"mnist_tasks/{path.name}" not in kept}
    items = notebook_items(root, assignment)
    found = []
    for folder in sorted((root / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        if students and student not in students:
            continue
        files = {**cache.package_files(folder), **provided}   # nbgrader restores the provided files
        found.append(Submission(assignment, student, files, items, cache.key_of(files, items, secret)))
    return found


# --- stage 1: grading, on a Dask worker ------------------------------------------------------------------

def grade_files(files: dict[str, bytes], items: tuple[str, ...], language: str, secret,
                sandbox: str | None = None, training_memo: str | None | bool = True) -> dict:
    """Run on a Dask worker: grade ``files`` as a ``mnist_tasks`` package, hidden checks from the
    course's ``secret`` included; Gradescope's results dict, or ``{"grader_failure": why}`` when
    grading hung past its limit. ``sandbox``: ``mnist-grade --sandbox`` (None: the worker's
    ``$MNIST_SANDBOX``, else bwrap). ``training_memo``: the course's memo folder (shared by every
    worker on this machine), False for none."""
    from autograder.sandbox.forkbox import process_server
    from autograder.nbgrader.cells import GraderTimeout, run_grader

    with tempfile.TemporaryDirectory(prefix="mnist-class-") as temporary:
        package = Path(temporary) / "mnist_tasks"
        package.mkdir()
        for name, data in files.items():
            (package / name).write_bytes(data)
        try:
            return run_grader(Path(temporary), list(items), secret=secret, language=language, sandbox=sandbox,
                              training_memo=training_memo, fork_server=process_server(sandbox))
        except GraderTimeout as error:
            return {"grader_failure": str(error)}


# --- stage 2: recording, here ----------------------------------------------------------------------------

class Recording(TypedDict):
    """What the ledger knows of one student's recorded grades."""
    key: str          # the autograder.training.cache key of the content they were graded from
    language: str     # of the recorded feedback


class Ledger:
    """Which content each student's recorded grades come from, and in which language their feedback
    was written: ``{assignment: {student: Recording}}``."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def recorded(self, submission: Submission, language: str) -> bool:
        return self.entries.get(submission.assignment, {}).get(submission.student) == \
            Recording(key=submission.key, language=language)

    def record(self, submission: Submission, language: str) -> None:
        self.entries.setdefault(submission.assignment, {})[submission.student] = \
            Recording(key=submission.key, language=language)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".partial")
        temporary.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.path)


class Recorder:
    """nbgrader's own autograde, through its Python API (``NbGraderAPI.autograde``: what formgrader
    calls), in this process: nbgrader is imported once, not once per student and assignment.
    ``IsolatedGrades`` takes each result from the cache the grading stage filled, writes in ``language``."""

    def __init__(self, root: Path, db_url: str | None, language: str):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        os.environ["PATH"] = path_with_this_python(os.environ.get("PATH"))
        config = course_config(root)
        config.CourseDirectory.root = str(root)
        config.IsolatedGrades.cache_dir = str(root / CACHE)   # not relative to this process's cwd
        config.IsolatedGrades.language = language
        if db_url:
            config.CourseDirectory.db_url = db_url
        self.api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def __call__(self, submission: Submission) -> dict:
        """nbgrader's answer: ``success``, and ``error``/``log`` when it failed."""
        import warnings

        with warnings.catch_warnings():
            # nbgrader 0.9.6's gradebook warns about its own session use on every new submission.
            warnings.filterwarnings("ignore", message=".*not in session.*")
            return self.api.autograde(submission.assignment, submission.student, force=True)


def recorded_score(root: Path, submission: Submission, db_url: str | None) -> tuple[float, float] | None:
    from nbgrader.api import Gradebook, MissingEntry

    url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    try:
        with Gradebook(url) as gradebook:
            found = gradebook.find_submission(submission.assignment, submission.student)
            return found.score, found.max_score
    except MissingEntry:
        return None


def attention(results: dict | None) -> list[str]:
    """Why a result needs an instructor's eye: the grader hung, or a probe hung, crashed, tampered..."""
    if results is None:
        return ["no results"]
    if "grader_failure" in results:
        return [results["grader_failure"]]
    incidents = results.get("extra_data", {}).get("incidents", [])
    return sorted({f"{incident['status']}: {incident['module']}.{incident['task']}" for incident in incidents})


# --- the run -----------------------------------------------------------------------------------------------

def client_for(workers: int | None, scheduler: str | None):
    """A Dask client: the cluster at ``scheduler``, or a local one with ``workers`` processes.

    Each grading is one process with its own sandboxed workers and TensorFlow pinned to the two
    threads it was calibrated with (mnist_kit.runtime): a Dask worker runs one grading at a time
    (one thread), and a local cluster has one worker per two cores by default.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    workers = workers or max(1, (os.cpu_count() or 2) // 2)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    return Client(cluster)


def autograde(root: Path, assignments: list[str], *, students: list[str] | None = None, workers: int | None = None,
              scheduler: str | None = None, language: str | None = None, db_url: str | None = None,
              progress: bool = True, log=print, sandbox: str | None = None,
              training_memo: bool = True) -> list[Outcome]:
    """Grade every submitted student of ``assignments`` (see the module's docstring). ``language``:
    the recorded feedback's (None: the course's, ``feedback_language``); what is graded and cached
    is the same in both. ``sandbox``: ``mnist-grade --sandbox`` for every grading (None: each Dask
    worker's ``$MNIST_SANDBOX``, else bwrap)."""
    from distributed import as_completed
    from tqdm import tqdm

    from autograder.training import cache
    from autograder import secret as course_secret

    root = Path(root).resolve()
    secret = course_secret.for_course(root)   # before anything starts: MissingSecret says what to do
    cache_dir = root / CACHE
    ledger = Ledger(cache_dir / LEDGER)
    from autograder.training import memo

    memo_folder = str(memo.for_course(root).folder) if training_memo else False
    language = feedback_language(root, language)
    todo = [s for assignment in assignments for s in submissions(root, assignment, students, secret)]
    outcomes = [Outcome(s, "skipped") for s in todo if ledger.recorded(s, language)
                and (root / "autograded" / s.student / s.assignment).is_dir()]
    skipped = {id(o.submission) for o in outcomes}
    pending = [s for s in todo if id(s) not in skipped]
    for outcome in outcomes:
        log(f"{outcome.submission.assignment} {outcome.submission.student}: unchanged since recorded, skipped")
    if not pending:
        return outcomes

    started = time.perf_counter()
    bar = tqdm(total=len(pending), unit="student", disable=not progress, dynamic_ncols=True)
    failures = 0
    client = None
    try:
        cached = [(s, cache.load(cache_dir, s.key)) for s in pending]   # each cache file read once
        to_grade = [s for s, results in cached if results is None]
        ready = [(s, results) for s, results in cached if results is not None]
        futures = {}
        record = Recorder(root, db_url, language)
        if to_grade:
            client = client_for(workers, scheduler)
            for s in to_grade:
                future = client.submit(grade_files, s.files, s.items, language, secret, sandbox, memo_folder,
                                       pure=False,
                                       key=f"grade-{s.assignment}-{s.student}-{s.key[:16]}")
                futures[future] = s
        completed = as_completed(list(futures)) if futures else []

        def arrivals():
            # Results already in the cache first (an earlier, interrupted run graded them), then
            # each grading as it finishes, in whatever order the workers finish them.
            yield from ready
            for future in completed:
                s = futures[future]
                try:
                    yield s, future.result()
                except Exception as error:   # the grading task itself failed (not the student's doing)
                    yield s, {"task_error": f"{type(error).__name__}: {error}"}

        for s, results in arrivals():
            began = time.perf_counter()
            outcome = Outcome(s, "graded")
            if results is not None and "task_error" not in results:
                cache.store(cache_dir, s.key, results)   # this process is the only writer
            elif results is not None:
                outcome.attention.append(results["task_error"])
            recorded = record(s)
            if not recorded.get("success"):
                outcome.status = "failed"
                outcome.attention.append("nbgrader autograde failed: "
                                         + (recorded.get("error") or recorded.get("log") or "").strip()[-500:])
            else:
                ledger.record(s, language)
                outcome.attention += attention(cache.load(cache_dir, s.key))
                scores = recorded_score(root, s, db_url)
                if scores:
                    outcome.score, outcome.max_score = scores
            outcome.seconds = (results or {}).get("execution_time", 0.0) + (time.perf_counter() - began)
            failures += bool(outcome.attention) or outcome.status == "failed"
            outcomes.append(outcome)
            bar.update(1)
            bar.set_postfix(attention=failures)
            score = f"{outcome.score:g}/{outcome.max_score:g}" if outcome.score is not None else "—"
            note = f"  ⚠ {'; '.join(outcome.attention)}" if outcome.attention else ""
            (bar.write if progress else log)(f"{s.assignment} {s.student}: {score}{note}")
    finally:
        bar.close()
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None and not scheduler:
                cluster.close()
    log(f"{len(pending)} graded in {time.perf_counter() - started:.0f} s, {len(outcomes) - len(pending)} skipped")
    return outcomes


SUMMARY = Text("要確認: {student} ({assignment}) — {reasons}", "needs attention: {student} ({assignment}) — {reasons}")
ALL_CLEAR = Text("要確認の学生はいません。", "no student needs attention.")


def summary(outcomes: list[Outcome], language: str) -> list[str]:
    lines = [SUMMARY.get(language).format(student=o.submission.student, assignment=o.submission.assignment,
                                          reasons="; ".join(o.attention) or o.status)
             for o in outcomes if o.attention or o.status == "failed"]
    return lines or [ALL_CLEAR.get(language)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="*", help="assignment ids (default with --all: every one in source/)")
    parser.add_argument("--all", action="store_true", help="every assignment of the course")
    parser.add_argument("--student", action="append", help="only this student (repeatable)")
    parser.add_argument("--workers", type=int, help="local Dask workers (default: one per two cores)")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--course", type=Path, default=Path("."), help="the nbgrader course directory (default: here)")
    parser.add_argument("--db", help="nbgrader's db_url, e.g. postgresql://user@host/gradebook (default: the course's)")
    parser.add_argument("--lang", choices=("ja", "en"),
                        help="language of this run's recorded feedback (the grade cells' verdicts) and summary "
                             "(default: the course's c.IsolatedGrades.language, ja in the kit's course, for the "
                             "feedback; the locale for the summary). One grading per student serves both languages")
    parser.add_argument("--sandbox", choices=("bwrap", "none"),
                        help="where student code runs (default: $MNIST_SANDBOX, else bwrap); none only where each "
                             "grading is isolated already")
    parser.add_argument("--no-training-memo", action="store_true",
                        help="train every model again instead of recalling the course's training memo")
    parser.add_argument("--no-progress", action="store_true", help="one log line per student, no progress bar")


def run(args: argparse.Namespace) -> int:
    root = args.course.resolve()
    if not (root / "nbgrader_config.py").is_file():
        print(Text(f"{root} は nbgrader のコースではありません (nbgrader_config.py がありません)。",
                   f"{root} is not an nbgrader course (no nbgrader_config.py).").both(), file=sys.stderr)
        return 2
    assignments = args.assignments or ([p.name for p in sorted((root / "source").iterdir()) if p.is_dir()]
                                       if args.all else [])
    if not assignments:
        print(Text("課題を指定してください (例: ps1、または --all)。", "name an assignment (e.g. ps1, or --all).").both(),
              file=sys.stderr)
        return 2
    from autograder.secret import MissingSecret

    try:
        outcomes = autograde(root, assignments, students=args.student, workers=args.workers, scheduler=args.scheduler,
                             language=args.lang, db_url=args.db, progress=not args.no_progress,
                             sandbox=args.sandbox, training_memo=not args.no_training_memo)
    except MissingSecret as error:
        print(error.text.both(), file=sys.stderr)
        return 2
    for line in summary(outcomes, current_language(args.lang)):
        print(line)
    return 1 if any(o.status == "failed" for o in outcomes) else 0

"""Gathering: a graded nbgrader course read into the report's rows.

In: nbgrader's ``CourseDirectory`` (``course_directory``), its gradebook (read, never written),
each submission's autograded notebooks (the grade cells' ``CellResults``, nbclient's cell timings)
and, for notebooks autograded before the cells carried the grader's incidents, the course's results
cache (``autograder.training.cache``). Out: a ``ClassReport`` (``gather``), each assignment's statistics from
``stats``; bad input is a ``ReportError``. nbgrader, nbformat and sqlalchemy load when first used.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.nbgrader.cells import CELL_RESULTS_MIME, CellResults
from mnist_kit.i18n import Text
from .rows import AssignmentReport, CheckResult, ClassReport, Problem, ReportError, Status, StudentResult
from .stats import common_mistakes, summarize_checks


def course_directory(course: Path, db_url: str | None = None):
    """nbgrader's ``CourseDirectory`` of ``course``, configured by its ``nbgrader_config.py`` if any."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    course = Path(course)
    if not course.is_dir():
        raise ReportError(Text(f"コースのディレクトリがありません: {course}",
                               f"no such course directory: {course}"))
    config = Config()
    if (course / "nbgrader_config.py").is_file():
        try:
            config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
        except Exception as error:
            raise ReportError(Text(f"{course / 'nbgrader_config.py'} を読めません: {error}",
                                   f"cannot read {course / 'nbgrader_config.py'}: {error}")) from None
    coursedir = CourseDirectory(config=config, root=str(course.resolve()))
    if db_url:
        coursedir.db_url = db_url
    return coursedir


def open_gradebook(db_url: str, course_id: str):
    """The gradebook at ``db_url``; an error instead of the empty one nbgrader would create."""
    from nbgrader.api import Gradebook
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:") \
            and not Path(url.database).is_file():
        raise ReportError(Text(
            f"成績データベースがありません: {url.database} (nbgrader autograde の後に、コースのディレクトリで"
            f"実行するか --course / --db を指定してください)",
            f"no gradebook at {url.database} (run this after nbgrader autograde, in the course directory,"
            f" or give --course / --db)"))
    try:
        return Gradebook(db_url, course_id)
    except Exception as error:
        raise ReportError(Text(f"成績データベースを開けません: {db_url}: {error}",
                               f"cannot open the gradebook {db_url}: {error}")) from None


def cell_results(cell) -> CellResults | None:
    """The grader's data in a grade cell's outputs, if the isolated grader wrote it."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "execute_result" and CELL_RESULTS_MIME in output.get("data", {}):
            return output["data"][CELL_RESULTS_MIME]
    return None


def check_result(test: dict) -> CheckResult:
    # The check's words: "message" (text, beside results.json's HTML "output"); a notebook autograded
    # before the feedback had HTML has them as "output".
    words = test.get("message") or test.get("output") or ""
    return CheckResult(name=test["name"], title=test.get("title") or test["name"], subject=test.get("subject", ""),
                       score=float(test["score"]), max_score=float(test["max_score"]), output=words.strip())


def timeout_error(config) -> str:
    """The error name nbgrader's ``Execute`` gives a cell that ran out of time, as ``config`` sets it."""
    from nbgrader.preprocessors import Execute

    configured = config.get("Execute", {}).get("error_on_timeout")
    return (configured or Execute.class_traits()["error_on_timeout"].default())["ename"]


def kernel_seconds(notebook) -> float | None:
    """How long the notebook ran in the kernel: first cell's start to last cell's reply (nbclient's timings)."""
    starts, ends = [], []
    for cell in notebook.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            starts.append(datetime.fromisoformat(timing["iopub.execute_input"]))
            ends.append(datetime.fromisoformat(timing["shell.execute_reply"]))
    return (max(ends) - min(starts)).total_seconds() if starts else None


@dataclass
class NotebookReading:
    """What one autograded notebook says: the grader's checks, problems and times."""
    items: list[str] = field(default_factory=list)     # what its grade cells asked the grader for, in order
    incidents: list[dict] | None = None                # the grader's, as the grade cells carry them
    checks: list[CheckResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    grader_seconds: float | None = None
    kernel_seconds: float | None = None


def read_autograded(path: Path, notebook_id: str, timeout: str = "CellTimeoutError") -> NotebookReading:
    """Read the grade cells' ``CellResults`` and the cells' timings of one autograded notebook
    (``timeout``: the error name of a cell that ran out of time in the kernel)."""
    import nbformat

    reading = NotebookReading()
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:
        reading.problems.append(Problem("crashed", Text(f"{notebook_id}: 採点済みのノートブックを読めません: {error}",
                                                        f"{notebook_id}: the autograded notebook is unreadable: {error}")))
        return reading
    timed_out = 0
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        timed_out += any(o.get("output_type") == "error" and o.get("ename") == timeout for o in cell.get("outputs", []))
        meta = cell.get("metadata", {}).get("nbgrader", {})
        results = cell_results(cell) if meta.get("grade") else None
        if results is None:
            continue
        grade_id = meta.get("grade_id", "?")
        reading.items += [item for item in results.get("items", []) if item not in reading.items]
        if "incidents" in results and reading.incidents is None:   # one grader run per notebook
            reading.incidents = list(results["incidents"])
        if results.get("seconds") is not None and reading.grader_seconds is None:
            reading.grader_seconds = float(results["seconds"])   # one grader run per notebook, in every cell
        if results.get("failure"):
            failure = Problem("timed_out", Text(f"{notebook_id}: 採点器が時間切れ: {results['failure']}",
                                                f"{notebook_id}: the grader timed out: {results['failure']}"))
            if failure not in reading.problems:   # one grader run per notebook: every cell says it
                reading.problems.append(failure)
        elif not results.get("tests"):
            reading.problems.append(Problem("ungraded", Text(f"{grade_id}: 採点するチェックがありません",
                                                             f"{grade_id}: no checks to grade")))
        reading.checks += [check_result(test) for test in results.get("tests", [])]
    if timed_out:
        reading.problems.append(Problem("timed_out", Text(f"{notebook_id}: {timed_out} 個のセルがカーネルで時間切れ",
                                                          f"{notebook_id}: {timed_out} cell(s) timed out in the kernel")))
    reading.kernel_seconds = kernel_seconds(notebook)
    return reading


# What a probe's outcome says about the submission, when the grader lists it as an incident
# (autograder.protocol.ATTENTION_STATUSES): the student's status, and the words for it.
INCIDENTS: dict[str, tuple[Status, Text]] = {
    "timeout": ("timed_out", Text("時間切れ", "timed out")),
    "crashed": ("crashed", Text("プロセスが異常終了", "crashed its process")),
    "tampered": ("flagged", Text("改ざんを検出", "tampering detected")),
    "unreadable": ("flagged", Text("読めないファイル", "unreadable file")),
    "import_error": ("flagged", Text("import できないモジュール", "module could not be imported")),
}


def grader_results(coursedir, directory: Path, items: list[str]) -> dict | None:
    """The isolated grader's whole results (results.json) for ``directory`` graded for ``items``, as
    the course's results cache (``autograder.training.cache``) keeps them by content; None when it does not
    hold them (the cache is off, or the grader changed since)."""
    from autograder.training import cache
    from autograder import secret as course_secret
    from autograder.nbgrader.preprocessors import IsolatedGrades

    grades = IsolatedGrades(config=coursedir.config)   # the course's cache, as autograde had it
    if not grades.cache_dir or not items:
        return None
    secret = course_secret.optional_for_course(Path(coursedir.root))   # the one autograde graded with
    return cache.load(Path(coursedir.root, grades.cache_dir),
                      cache.cache_key(directory, items, secret))


def grader_incidents(coursedir, directory: Path, items: list[str]) -> list[dict]:
    """The probes that hung, crashed, tampered or could not be used (``extra_data.incidents``, which
    the grade cells do not carry); [] when the results are not in the cache."""
    return (grader_results(coursedir, directory, items) or {}).get("extra_data", {}).get("incidents", [])


def incident_problems(incidents: list[dict]) -> list[Problem]:
    """One problem per kind of incident, naming the tasks: ``時間切れ: training.early_stopping``."""
    tasks: dict[str, list[str]] = defaultdict(list)
    for incident in incidents:
        task = f"{incident.get('module', '?')}.{incident.get('task', '?')}"
        if incident.get("status") in INCIDENTS and task not in tasks[incident["status"]]:
            tasks[incident["status"]].append(task)
    return [Problem(INCIDENTS[kind][0], Text(f"採点器: {INCIDENTS[kind][1].ja}: {', '.join(names)}",
                                             f"grader: {INCIDENTS[kind][1].en}: {', '.join(names)}"))
            for kind, names in tasks.items()]


def read_submitted_notebook(coursedir, student_id: str, assignment_id: str, notebook) -> NotebookReading:
    """One notebook of a submission (a gradebook ``SubmittedNotebook``): its autograded file, or why
    there is none, and the grade cells the gradebook says still need a person."""
    def path(directory: str) -> Path:
        return Path(coursedir.format_path(directory, student_id, assignment_id), f"{notebook.name}.ipynb")

    if not path(coursedir.autograded_directory).is_file():
        # nbgrader removes the autograded copy of a submission it failed to convert.
        return NotebookReading(problems=[Problem("crashed", Text(
            f"{notebook.name}: 自動採点が失敗しました (採点器が動かない、カーネルの異常終了など。nbgrader autograde のログを確認)",
            f"{notebook.name}: autograde failed (the grader could not run, the kernel died…: see nbgrader autograde's log)")
            if path(coursedir.submitted_directory).is_file() else Text(
            f"提出物に {notebook.name}.ipynb がありません", f"the submission has no {notebook.name}.ipynb"))])
    reading = read_autograded(path(coursedir.autograded_directory), notebook.name, timeout_error(coursedir.config))
    incidents = reading.incidents if reading.incidents is not None else \
        grader_incidents(coursedir, path(coursedir.autograded_directory).parent, reading.items)   # older cells
    reading.problems += incident_problems(incidents)
    manual = ", ".join(grade.name for grade in notebook.grades if grade.needs_manual_grade)
    if manual:
        reading.problems.append(Problem("ungraded", Text(f"{manual}: 自動採点の点数がありません (手動採点が必要)",
                                                         f"{manual}: no automatic score (needs manual grading)")))
    return reading


def student_result(coursedir, gradebook, assignment, student_id: str) -> StudentResult:
    """One student's row for ``assignment`` (a gradebook ``Assignment``), from the gradebook and the files."""
    from nbgrader.api import MissingEntry

    base = dict(assignment=assignment.name, student=student_id, max_score=float(assignment.max_score))
    try:
        submission = gradebook.find_submission(assignment.name, student_id)
    except MissingEntry:
        # nbgrader adds a submission to the gradebook when it autogrades it, not when it collects it.
        if Path(coursedir.format_path(coursedir.submitted_directory, student_id, assignment.name)).is_dir():
            return StudentResult(**base, score=None, problems=(Problem("not_autograded", Text(
                "submitted/ にありますが、まだ自動採点されていません (nbgrader autograde)",
                "in submitted/ but not autograded yet (nbgrader autograde)")),))
        return StudentResult(**base, score=None, problems=(Problem("not_submitted", Text(
            "提出がありません", "no submission")),))

    readings = [read_submitted_notebook(coursedir, student_id, assignment.name, notebook)
                for notebook in submission.notebooks]
    grader = [r.grader_seconds for r in readings if r.grader_seconds is not None]
    kernel = [r.kernel_seconds for r in readings if r.kernel_seconds is not None]
    return StudentResult(**base, score=float(submission.score),
                         checks=tuple(check for r in readings for check in r.checks),
                         problems=tuple(problem for r in readings for problem in r.problems),
                         grader_seconds=sum(grader) if grader else None, kernel_seconds=sum(kernel) if kernel else None)


def assignment_title(assignment_id: str) -> str:
    from mnist_course.assignments import BY_ID

    return BY_ID[assignment_id].title if assignment_id in BY_ID else ""


def gather(coursedir, assignments: list[str] | None = None) -> ClassReport:
    """Everything the report shows, from ``coursedir``'s gradebook and autograded notebooks.

    ``assignments``: their ids (default: every assignment of the gradebook, in its order).
    """
    with open_gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        known = {a.name: a for a in gradebook.assignments}
        unknown = [a for a in assignments or [] if a not in known]
        if unknown or not known:
            raise ReportError(Text(
                f"成績データベースにない課題: {', '.join(unknown)} (あるのは {', '.join(known) or 'なし'})",
                f"not in the gradebook: {', '.join(unknown)} (it has {', '.join(known) or 'none'})") if unknown
                else Text("成績データベースに課題がありません (nbgrader generate_assignment と autograde の後に実行してください)",
                          "the gradebook has no assignments (run this after nbgrader generate_assignment and autograde)"))
        students = sorted(student.id for student in gradebook.students)
        reports = []
        for assignment in (known[a] for a in assignments or known):
            rows = tuple(student_result(coursedir, gradebook, assignment, student) for student in students)
            reports.append(AssignmentReport(assignment.name, assignment_title(assignment.name),
                                            float(assignment.max_score), rows, summarize_checks(rows),
                                            common_mistakes(rows)))
    return ClassReport(Path(coursedir.root), coursedir.course_id, tuple(reports))

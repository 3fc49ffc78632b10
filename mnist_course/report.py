"""The class report: how the class did on each assignment, as one HTML page and one CSV.

    mnist-course report [ps1 ps3 …] [--course DIR] [--db URL] [--out DIR] [--lang ja|en]

In: an nbgrader course after ``nbgrader autograde`` — its gradebook (``gradebook.db``, or the
course's ``nbgrader_config.py``'s ``CourseDirectory.db_url``, or ``--db``) and its autograded
notebooks, whose grade cells carry the isolated grader's results as data
(``autograder.notebook.CELL_RESULTS_MIME``, typed by ``CellResults``). Nothing is read from the
text a person reads, and nothing is written to the gradebook.

Out, in ``--out`` (default ``<course>/reports/``):

- ``class_report.html``: one page, Japanese first with English beside, for each assignment: the
  score distribution, each check's failure rate with the class's most common failure messages
  (numbers aside, so "patience=1 (≠ 0)" and "patience=4 (≠ 3)" are one mistake), the students who
  need attention and the grading time per student. Figures are matplotlib's (Agg), embedded as
  base64 PNG, so the page is one file to mail or upload.
- ``class_report.csv``: one row per assignment and student — every student of the gradebook, so
  that a spreadsheet sorted by ``status`` is the list of whom to follow up. UTF-8 with a BOM
  (Excel then reads the Japanese right). Its header::

    assignment,student,status,score,max_score,checks,checks_failed,grader_seconds,kernel_seconds,failed_checks,detail

  ``status``: ``graded``; or, needing attention, the most serious of ``not_submitted`` (no
  submission), ``not_autograded`` (in ``submitted/`` but not in the gradebook yet), ``crashed``
  (autograde left no autograded notebook, or a function crashed the grader's worker),
  ``timed_out`` (the grader, one of its probes, or a cell in the kernel ran out of time),
  ``flagged`` (the grader saw tampering, an unreadable file or a module that does not import),
  ``ungraded`` (grade cells without an automatic score). ``score`` is the gradebook's, before any
  late penalty (empty without a submission); ``checks`` / ``checks_failed`` count the grader's
  checks and those that lost points; ``grader_seconds`` is the isolated grader's time,
  ``kernel_seconds`` the notebook's run in the kernel (nbclient's cell timings; empty when
  autograde runs no kernel, the course's default); ``failed_checks`` the grader's (English) names
  of the failed checks, one a line; ``detail`` why the student needs attention, in Japanese /
  English, one reason a line.

The grader's incidents (a probe that hung, crashed, tampered…) come with the grade cells' data
(``CellResults.incidents``); for notebooks autograded before the cells carried them, from the
results the course keeps by content (``autograder.cache``), found again from the autograded files.
"""

from __future__ import annotations

import base64
import csv
import functools
import html
import io
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Literal

from autograder.notebook import CELL_RESULTS_MIME, CellResults
from autograder.render import width
from mnist_kit.i18n import Text

HTML_NAME = "class_report.html"
CSV_NAME = "class_report.csv"
CSV_FIELDS = ("assignment", "student", "status", "score", "max_score", "checks", "checks_failed",
              "grader_seconds", "kernel_seconds", "failed_checks", "detail")

Status = Literal["not_submitted", "not_autograded", "crashed", "timed_out", "flagged", "ungraded", "graded"]
# Most serious first: a student's row shows the most serious of their problems.
STATUSES: dict[str, Text] = {
    "not_submitted": Text("未提出", "not submitted"),
    "not_autograded": Text("未採点", "not autograded"),
    "crashed": Text("自動採点が失敗", "autograde failed"),
    "timed_out": Text("時間切れ", "timed out"),
    "flagged": Text("採点器が警告", "flagged by the grader"),
    "ungraded": Text("採点できないセル", "ungraded cells"),
    "graded": Text("採点済み", "graded"),
}
# How many of a check's failure messages the page shows.
MISTAKES_SHOWN = 3


class ReportError(RuntimeError):
    """Bad input (no course, no gradebook, unknown assignment): said in both languages, no traceback."""

    def __init__(self, text: Text):
        super().__init__(text.both())
        self.text = text


def both(text: Text) -> str:
    """Japanese, then English, on one line: the page's and the CSV's way of saying things."""
    return text.ja if text.ja == text.en else f"{text.ja} / {text.en}"


# --- the gathered rows --------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckResult:
    """One of the grader's checks for one student (a test of ``CellResults.tests``)."""
    name: str          # the grader's English name: the check's identity across students
    title: str         # the name in the language the course graded in
    subject: str
    score: float
    max_score: float
    output: str        # the grader's message (the language the course graded in)

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass(frozen=True)
class Problem:
    """Why a student needs attention: the kind (a status) and what happened, in both languages."""
    status: Status
    text: Text


@dataclass(frozen=True)
class StudentResult:
    """One student's result on one assignment."""
    assignment: str
    student: str
    score: float | None                 # the gradebook's (raw) score; None without a submission
    max_score: float
    checks: tuple[CheckResult, ...] = ()
    problems: tuple[Problem, ...] = ()  # why the student needs attention
    grader_seconds: float | None = None
    kernel_seconds: float | None = None

    @property
    def status(self) -> Status:
        order = list(STATUSES)
        return min((p.status for p in self.problems), key=order.index, default="graded")

    @property
    def scored(self) -> bool:
        """Autograde ran to the end, so the score is the grader's (a timed-out cell's 0 included)."""
        return self.status not in ("not_submitted", "not_autograded", "crashed")

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.passed)


@dataclass(frozen=True)
class CheckSummary:
    """One check across the class: who was graded on it and who lost points on it."""
    name: str
    title: str
    subject: str
    graded: tuple[str, ...]
    failed: tuple[str, ...]

    @property
    def rate(self) -> float:
        return len(self.failed) / len(self.graded) if self.graded else 0.0

    def label(self, language: str) -> str:
        return self.title if language == "ja" else self.name


@dataclass(frozen=True)
class Mistake:
    """One of the class's mistakes on a task: a failure message (numbers aside), who got it, on which checks."""
    subject: str
    message: str                   # as the grader wrote it, the most frequent wording
    students: tuple[str, ...]
    checks: tuple[str, ...]        # the checks' names, in the grader's order


@dataclass(frozen=True)
class AssignmentReport:
    id: str
    title: str
    max_score: float
    students: tuple[StudentResult, ...]
    checks: tuple[CheckSummary, ...]
    mistakes: tuple[Mistake, ...]  # task by task (the grader's order), most students first

    @property
    def scores(self) -> list[float]:
        return [s.score for s in self.students if s.scored and s.score is not None]

    @property
    def attention(self) -> list[StudentResult]:
        return [s for s in self.students if s.status != "graded"]


@dataclass(frozen=True)
class ClassReport:
    course: Path
    course_id: str
    assignments: tuple[AssignmentReport, ...]
    generated: datetime = field(default_factory=lambda: datetime.now().astimezone())


# --- gathering ----------------------------------------------------------------------------------

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
    return CheckResult(name=test["name"], title=test.get("title") or test["name"], subject=test.get("subject", ""),
                       score=float(test["score"]), max_score=float(test["max_score"]),
                       output=(test.get("output") or "").strip())


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
    the course's results cache (``autograder.cache``) keeps them by content; None when it does not
    hold them (the cache is off, or the grader changed since)."""
    from autograder import cache
    from autograder import secret as course_secret
    from autograder.nbgrader_plugin import IsolatedGrades

    grades = IsolatedGrades(config=coursedir.config)   # the course's language and cache, as autograde had them
    if not grades.cache_dir or not items:
        return None
    secret = course_secret.optional_for_course(Path(coursedir.root))   # the one autograde graded with
    return cache.load(Path(coursedir.root, grades.cache_dir),
                      cache.cache_key(directory, items, grades.language, secret))


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


# Numbers that are values (not part of a name such as float32 or uint8): masked when failure
# messages are grouped, so that one mistake made with different inputs counts as one.
_VALUE = re.compile(r"(?<![A-Za-z0-9_.])[-+]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")


def mistake_key(message: str) -> str:
    return " ".join(_VALUE.sub("#", message).split())


def summarize_checks(students: Iterable[StudentResult]) -> tuple[CheckSummary, ...]:
    """Each check, in the grader's order: who was graded on it, who lost points on it."""
    graded: dict[str, list[tuple[str, CheckResult]]] = defaultdict(list)
    for student in students:
        for check in student.checks:
            graded[check.name].append((student.student, check))
    return tuple(CheckSummary(name, results[0][1].title, results[0][1].subject,
                              tuple(s for s, _ in results), tuple(s for s, check in results if not check.passed))
                 for name, results in graded.items())


def common_mistakes(students: Iterable[StudentResult]) -> tuple[Mistake, ...]:
    """The failure messages of each task (numbers aside), with who got them on which checks.

    A task's checks often fail for one reason (a float64 array fails every one_hot check): one
    mistake, counted once per student, listing its checks.
    """
    groups: dict[tuple[str, str], list[tuple[str, CheckResult]]] = defaultdict(list)
    for student in students:
        for check in student.failed:
            groups[(check.subject, mistake_key(check.output))].append((student.student, check))
    subjects = list(dict.fromkeys(subject for subject, _ in groups))
    mistakes = [Mistake(subject, Counter(check.output for _, check in members).most_common(1)[0][0],
                        tuple(dict.fromkeys(student for student, _ in members)),
                        tuple(dict.fromkeys(check.name for _, check in members)))
                for (subject, _), members in groups.items()]
    return tuple(sorted(mistakes, key=lambda m: (subjects.index(m.subject), -len(m.students), m.message)))


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


# --- figures ------------------------------------------------------------------------------------

# Fonts with Japanese, in order of preference; matplotlib falls back to them glyph by glyph.
JAPANESE_FONTS = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "Hiragino Sans", "Yu Gothic", "Noto Sans JP",
                  "TakaoGothic", "VL Gothic")


@functools.cache
def japanese_font() -> str | None:
    """A font with Japanese that matplotlib knows, or None (then figures speak English only).

    matplotlib caches its font list when it first runs: fonts installed after that (fonts-noto-cjk
    on a grading server) are added here from the system's font folders.
    """
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if not {f.name for f in manager.ttflist} & set(JAPANESE_FONTS):
        known = {f.fname for f in manager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    manager.addfont(path)
                except Exception:   # a font file matplotlib cannot read is not ours to fix
                    pass
    names = {f.name for f in manager.ttflist}
    return next((name for name in JAPANESE_FONTS if name in names), None)


def figure_text(text: Text) -> str:
    """A figure's words: Japanese / English when a Japanese font is there, else English."""
    return both(text) if japanese_font() else text.en


def figure_label(text: str, columns: int = 46) -> str:
    """``text`` cut to ``columns`` display columns (Japanese characters take two), with an ellipsis."""
    if width(text) <= columns:
        return text
    out = ""
    for char in text:
        if width(out + char) > columns - 1:
            break
        out += char
    return out + "…"


def _style() -> dict:
    font = japanese_font()
    return {"font.family": ["DejaVu Sans", font] if font else ["DejaVu Sans"], "font.size": 9,
            "axes.spines.top": False, "axes.spines.right": False}


def png(draw, size: tuple[float, float]) -> bytes:
    """``draw(figure)`` on a new Agg figure of ``size`` inches; the PNG's bytes."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_style()):
        figure = Figure(figsize=size, dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        draw(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def score_histogram(report: AssignmentReport) -> bytes:
    """How many students got each total score: a bar per point (per tenth of the maximum above 20),
    centred on it, so that a score counts to its nearest."""
    import numpy as np

    step = 1.0 if report.max_score <= 20 else report.max_score / 10
    centres = np.arange(0, report.max_score + step / 2, step)
    edges = np.append(centres - step / 2, centres[-1] + step / 2)

    def draw(figure):
        axes = figure.subplots()
        counts, _, bars = axes.hist(np.clip(report.scores, 0, report.max_score), bins=edges, color="#4878a8",
                                    edgecolor="white", rwidth=0.9)
        axes.bar_label(bars, labels=[f"{c:g}" if c else "" for c in counts])
        axes.set_xticks(centres, [f"{c:g}" for c in centres])
        axes.set_ylim(0, max([*counts, 1]) * 1.15)
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_xlabel(figure_text(Text("合計点" + ("" if step == 1 else f" ({step:g} 点刻み)"),
                                         "total score" + ("" if step == 1 else f" (to the nearest {step:g})"))))
        axes.set_ylabel(figure_text(Text("人数", "students")))
    return png(draw, (6.4, 2.6))


def failure_rates(report: AssignmentReport, language: str) -> bytes:
    """Each check's failure rate, one horizontal bar a check, in the grader's order (top to bottom)."""
    checks = report.checks

    def draw(figure):
        axes = figure.subplots()
        positions = range(len(checks))
        rates = [100 * check.rate for check in checks]
        bars = axes.barh(positions, rates, color=["#c0504d" if rate else "#9bbb59" for rate in rates], height=0.7)
        axes.bar_label(bars, labels=[f"{len(c.failed)}/{len(c.graded)}" for c in checks], padding=3, fontsize=8)
        axes.set_yticks(list(positions), [figure_label(c.label(language) if japanese_font() else c.name)
                                          for c in checks], fontsize=8)
        axes.invert_yaxis()
        axes.set_xlim(0, 110)
        axes.set_xticks([0, 25, 50, 75, 100])
        axes.set_xlabel(figure_text(Text("失敗した学生の割合 (%)", "students who failed (%)")))
    return png(draw, (8.0, 0.8 + 0.24 * max(len(checks), 1)))


def grading_times(report: AssignmentReport) -> bytes:
    """Each graded student's time: the isolated grader's, after the notebook's run in the kernel when
    autograde ran one (``MNIST_COURSE_EXECUTE=1``; by default it runs none)."""
    timed = [s for s in report.students if s.grader_seconds is not None or s.kernel_seconds is not None]

    def draw(figure):
        axes = figure.subplots()
        positions = range(len(timed))
        kernel = [s.kernel_seconds or 0.0 for s in timed]
        grader = [s.grader_seconds or 0.0 for s in timed]
        if any(kernel):
            axes.barh(positions, kernel, color="#8eb4e3",
                      label=figure_text(Text("ノートブックの実行", "notebook in the kernel")))
        bars = axes.barh(positions, grader, left=kernel, color="#1f4e79",
                         label=figure_text(Text("採点器", "isolated grader")))
        axes.bar_label(bars, labels=[f"{k + g:.1f} s" for k, g in zip(kernel, grader)], padding=3, fontsize=8)
        axes.set_yticks(list(positions), [s.student for s in timed])
        axes.invert_yaxis()
        axes.set_xlim(0, max([k + g for k, g in zip(kernel, grader)] + [1.0]) * 1.15)
        axes.set_xlabel(figure_text(Text("秒", "seconds")))
        figure.legend(loc="outside upper center", ncols=2, fontsize=8, frameon=False)
    return png(draw, (6.4, 1.2 + 0.28 * max(len(timed), 1)))


# --- the page -----------------------------------------------------------------------------------

CSS = """
body { font-family: "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif; margin: 0 auto;
       max-width: 980px; padding: 1em 1.5em 3em; color: #222; line-height: 1.5; }
h1 { font-size: 1.6em; border-bottom: 3px solid #1f4e79; padding-bottom: .2em; }
h2 { font-size: 1.3em; margin-top: 2.2em; border-bottom: 1px solid #aaa; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; vertical-align: top; text-align: left; }
th { background: #eef2f7; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
img { max-width: 100%; height: auto; display: block; margin: .5em 0; }
.meta, .english { color: #666; font-size: .85em; }
.status-graded { color: #2e7d32; }
.status-other { color: #b71c1c; font-weight: bold; }
.message { white-space: pre-wrap; font-family: "Noto Sans Mono CJK JP", monospace; font-size: .85em; margin: 0; }
details ul { margin: .2em 0; padding-left: 1.2em; font-size: .85em; }
summary { cursor: pointer; color: #1f4e79; }
"""


def esc(value) -> str:
    return html.escape(str(value))


def number(value: float | None, digits: int = 1) -> str:
    """``value`` rounded to ``digits`` decimals, without trailing zeros; '' for None."""
    return "" if value is None else f"{round(value, digits):g}"


def counted(count: int, unit: str, noun: str) -> Text:
    """``3 人 / 3 students``: a count with its Japanese counter and its English noun."""
    return Text(f"{count} {unit}", f"{count} {noun}{'' if count == 1 else 's'}")


def image(data: bytes, alt: Text) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" alt="{esc(both(alt))}">'


def status_cell(student: StudentResult) -> str:
    kind = "graded" if student.status == "graded" else "other"
    return f'<td class="status-{kind}">{esc(both(STATUSES[student.status]))}</td>'


def summary_table(report: ClassReport) -> str:
    rows = []
    for a in report.assignments:
        scores = a.scores
        rows.append("<tr>" + "".join([
            f'<td><a href="#{esc(a.id)}">{esc(a.id)}</a></td>',
            f'<td class="number">{len(a.students)}</td>',
            f'<td class="number">{sum(s.status != "not_submitted" for s in a.students)}</td>',
            f'<td class="number">{len(scores)}</td>',
            f'<td class="number">{number(statistics.mean(scores)) if scores else ""}</td>',
            f'<td class="number">{number(statistics.median(scores)) if scores else ""}</td>',
            f'<td class="number">{number(a.max_score)}</td>',
            f'<td class="number">{len(a.attention)}</td>']) + "</tr>")
    head = "".join(f"<th>{esc(both(t))}</th>" for t in (
        Text("課題", "assignment"), Text("受験者", "students"), Text("提出", "submitted"), Text("採点", "graded"),
        Text("平均点", "mean"), Text("中央値", "median"), Text("満点", "out of"), Text("要注意", "need attention")))
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def attention_section(a: AssignmentReport) -> str:
    title = f"<h3>{esc(both(Text('要注意の学生', 'students who need attention')))}</h3>"
    if not a.attention:
        return title + f"<p>{esc(both(Text('いません。', 'none.')))}</p>"
    rows = "".join(f"<tr><td>{esc(s.student)}</td>{status_cell(s)}"
                   f"<td>{'<br>'.join(esc(both(p.text)) for p in s.problems)}</td></tr>" for s in a.attention)
    head = "".join(f"<th>{esc(both(t))}</th>" for t in (Text("学生", "student"), Text("状態", "status"),
                                                          Text("理由", "why")))
    return f"{title}<table><tr>{head}</tr>{rows}</table>"


def check_name_cell(check: CheckSummary, language: str) -> str:
    english = (f'<div class="english">{esc(check.name)}</div>'
               if language == "ja" and check.title != check.name else "")
    return f"<td>{esc(check.label(language))}{english}</td>"


def checks_section(a: AssignmentReport, language: str) -> str:
    """The failure rate of every check: a chart, and the same as a table for those who want numbers."""
    title = f"<h3>{esc(both(Text('チェックごとの失敗率', 'failure rate per check')))}</h3>"
    if not a.checks:
        return title + f"<p>{esc(both(Text('採点器の結果がありません。', 'no results from the grader.')))}</p>"
    figure = image(failure_rates(a, language), Text("チェックごとの失敗率", "failure rate per check"))
    rows = "".join(f"<tr>{check_name_cell(check, language)}<td class=\"number\">{len(check.failed)} / "
                   f"{len(check.graded)}</td><td class=\"number\">{100 * check.rate:.0f}%</td></tr>" for check in a.checks)
    head = "".join(f"<th>{esc(both(t))}</th>" for t in (Text("チェック", "check"), Text("失敗 / 採点", "failed / graded"),
                                                          Text("失敗率", "failure rate")))
    return (f"{title}{figure}<details><summary>{esc(both(Text('表で見る', 'as a table')))}</summary>"
            f"<table><tr>{head}</tr>{rows}</table></details>")


def mistakes_section(a: AssignmentReport, language: str) -> str:
    """The class's common mistakes, task by task: the grader's message, who got it, on which checks."""
    title = f"<h3>{esc(both(Text('よくある間違い (採点器のメッセージ)', 'common mistakes (the grader’s messages)')))}</h3>"
    if not a.mistakes:
        return title + f"<p>{esc(both(Text('ありません。', 'none.')))}</p>"
    labels = {check.name: check.label(language) for check in a.checks}
    rows = []
    for subject in dict.fromkeys(m.subject for m in a.mistakes):
        mistakes = [m for m in a.mistakes if m.subject == subject]
        shown = mistakes[:MISTAKES_SHOWN]
        more = (f'<div class="meta">{esc(both(Text(f"ほか {len(mistakes) - len(shown)} 件", f"{len(mistakes) - len(shown)} more")))}</div>'
                if len(mistakes) > len(shown) else "")
        for index, m in enumerate(shown):
            task = (f'<td rowspan="{len(shown)}"><code>{esc(subject)}</code>{more}</td>' if index == 0 else "")
            checks = "".join(f"<li>{esc(labels.get(name, name))}</li>" for name in m.checks)
            rows.append(
                f'<tr>{task}<td><pre class="message">{esc(m.message)}</pre></td>'
                f'<td class="number">{esc(both(counted(len(m.students), "人", "student")))}'
                f'<div class="meta">{esc(", ".join(m.students))}</div></td>'
                f"<td><details><summary>{esc(both(counted(len(m.checks), '個', 'check')))}</summary>"
                f"<ul>{checks}</ul></details></td></tr>")
    head = "".join(f"<th>{esc(both(t))}</th>" for t in (Text("課題の関数", "task"), Text("メッセージ", "message"),
                                                          Text("学生", "students"), Text("チェック", "checks")))
    note = esc(both(Text("数値だけが違うメッセージは同じ間違いとして数えます。",
                         "Messages that differ only in their numbers count as one mistake.")))
    return f'{title}<table><tr>{head}</tr>{"".join(rows)}</table><p class="meta">{note}</p>'


def students_section(a: AssignmentReport) -> str:
    title = f"<h3>{esc(both(Text('学生ごとの点数と採点時間', 'score and grading time per student')))}</h3>"
    figure = (image(grading_times(a), Text("学生ごとの採点時間", "grading time per student"))
              if any(s.grader_seconds is not None or s.kernel_seconds is not None for s in a.students) else "")
    kernel = any(s.kernel_seconds is not None for s in a.students)   # autograde ran the notebooks
    columns = [Text("学生", "student"), Text("状態", "status"),
               Text(f"点数 (/{a.max_score:g})", f"score (/{a.max_score:g})"), Text("失敗したチェック", "checks failed"),
               *([Text("ノートブック実行 (秒)", "notebook run (s)")] if kernel else []), Text("採点器 (秒)", "grader (s)")]
    rows = "".join(
        f"<tr><td>{esc(s.student)}</td>{status_cell(s)}"
        f'<td class="number">{number(s.score, 2)}</td><td class="number">{len(s.failed)} / {len(s.checks)}</td>'
        + (f'<td class="number">{number(s.kernel_seconds)}</td>' if kernel else "")
        + f'<td class="number">{number(s.grader_seconds)}</td></tr>'
        for s in a.students)
    head = "".join(f"<th>{esc(both(t))}</th>" for t in columns)
    return f"{title}{figure}<table><tr>{head}</tr>{rows}</table>"


def assignment_section(a: AssignmentReport, language: str) -> str:
    scores = a.scores
    stats = both(Text(
        f"受験者 {len(a.students)} 人、採点 {len(scores)} 人、満点 {sum(s >= a.max_score for s in scores)} 人",
        f"{len(a.students)} students, {len(scores)} graded, {sum(s >= a.max_score for s in scores)} with full marks"))
    histogram = (image(score_histogram(a), Text("点数の分布", "score distribution")) if scores
                 else f"<p>{esc(both(Text('採点された提出がありません。', 'no graded submissions.')))}</p>")
    return (f'<section id="{esc(a.id)}"><h2>{esc(a.id)}{" — " + esc(a.title) if a.title else ""}</h2>'
            f'<p>{esc(stats)}</p>'
            f"<h3>{esc(both(Text('点数の分布', 'score distribution')))}</h3>{histogram}"
            f"{attention_section(a)}{checks_section(a, language)}{mistakes_section(a, language)}"
            f"{students_section(a)}</section>")


def render_html(report: ClassReport, language: str) -> str:
    """The whole page (``language``: that of the check names; the page's own words are in both)."""
    title = both(Text("クラスレポート", "class report"))
    generated = report.generated.strftime("%Y-%m-%d %H:%M %Z")
    course = Text(f"コース {report.course_id}、", f"course {report.course_id}, ") if report.course_id else Text("", "")
    meta = both(course + Text(f"{report.course} の成績データベースと採点済みノートブックから、{generated} 作成",
                              f"from the gradebook and the autograded notebooks in {report.course}, made {generated}"))
    note = both(Text("点数は成績データベースのもの (遅延減点の前)。失敗率 = そのチェックで点を失った学生 / そのチェックで採点された学生。",
                     "Scores are the gradebook's, before late penalties. Failure rate = students who lost points on"
                     " the check / students graded on it."))
    body = "".join(assignment_section(a, language) for a in report.assignments)
    return (f'<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)} — {esc(report.course_id)}</title><style>{CSS}</style></head>"
            f"<body><h1>{esc(title)}</h1><p class=\"meta\">{esc(meta)}</p>{summary_table(report)}"
            f'<p class="meta">{esc(note)}</p>{body}</body></html>\n')


def csv_rows(report: ClassReport) -> list[dict[str, str]]:
    """The CSV's rows (``CSV_FIELDS``), one per assignment and student."""
    return [{
        "assignment": s.assignment, "student": s.student, "status": s.status,
        "score": "" if s.score is None else f"{s.score:g}", "max_score": f"{s.max_score:g}",
        "checks": str(len(s.checks)), "checks_failed": str(len(s.failed)),
        "grader_seconds": "" if s.grader_seconds is None else f"{s.grader_seconds:.2f}",
        "kernel_seconds": "" if s.kernel_seconds is None else f"{s.kernel_seconds:.2f}",
        "failed_checks": "\n".join(check.name for check in s.failed),
        "detail": "\n".join(both(p.text) for p in s.problems),
    } for a in report.assignments for s in a.students]


def write(report: ClassReport, out: Path, language: str) -> tuple[Path, Path]:
    """Write ``class_report.html`` and ``class_report.csv`` into ``out``; their paths."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        page, table = out / HTML_NAME, out / CSV_NAME
        page.write_text(render_html(report, language), encoding="utf-8")
        with table.open("w", newline="", encoding="utf-8-sig") as stream:
            writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(csv_rows(report))
    except OSError as error:
        raise ReportError(Text(f"レポートを書けません: {error}", f"cannot write the report: {error}")) from None
    return page, table


# --- the command (mnist-course report) ----------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: every assignment of the gradebook)")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="the nbgrader course directory (default: the current directory)")
    parser.add_argument("--db", help="the gradebook's URL (default: the course's nbgrader_config.py, else"
                                     " sqlite:///<course>/gradebook.db)")
    parser.add_argument("--out", type=Path, help="where to write class_report.html and .csv (default: <course>/reports)")
    parser.add_argument("--lang", choices=("ja", "en"),
                        help="language of the check names on the page (default: from the locale)")


def command(args) -> int:
    """``mnist-course report``: gather, write, print the two paths; a bad input is one message, exit 2."""
    import sys

    from mnist_kit.i18n import current_language

    try:
        coursedir = course_directory(args.course, args.db)
        report = gather(coursedir, args.assignments)
        paths = write(report, args.out or Path(coursedir.root) / "reports", current_language(args.lang))
    except ReportError as error:
        print(error.text.both(), file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0

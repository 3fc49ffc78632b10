"""What the class report holds: the rows that gathering fills in and the statistics, figures and page read.

In: the words, as ``mnist_kit.i18n.Text``. Out: the statuses (most serious first), ``ReportError``
(bad input, in both languages), ``both`` (a ``Text`` on one line), and frozen dataclasses from one
check of one student (``CheckResult``) up to the whole class (``ClassReport``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from mnist_kit.i18n import Text

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


class ReportError(RuntimeError):
    """Bad input (no course, no gradebook, unknown assignment): said in both languages, no traceback."""

    def __init__(self, text: Text):
        super().__init__(text.both())
        self.text = text


def both(text: Text) -> str:
    """Japanese, then English, on one line: the page's and the CSV's way of saying things."""
    return text.ja if text.ja == text.en else f"{text.ja} / {text.en}"


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

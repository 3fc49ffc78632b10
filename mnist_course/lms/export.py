"""What both LMS exporters share: :class:`LMSExporter` and the grades it reads.

In: nbgrader's gradebook and the ``nbgrader export`` selection (assignments, students). Out: a
:class:`GradeTable` of scores as nbgrader's own CSV exporter computes them, and the text of each
cell; each LMS's module (``moodle``, ``canvas``) subclasses :class:`LMSExporter` to write its CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Dict, Unicode

from .roster import format_points

__all__ = ["LMSExporter", "GradeTable", "grade_table"]


@dataclass
class GradeTable:
    """The grades to export: nbgrader's assignments (columns) × students (rows)."""

    assignments: list[str]
    max_scores: dict[str, float]
    students: list[str]
    names: dict[str, tuple[str, str]]  # student → (first, last)
    emails: dict[str, str]
    scores: dict[tuple[str, str], float]  # (student, assignment) → score; absent = no submission


def grade_table(gradebook: Gradebook, assignments: list[str], students: list[str]) -> GradeTable:
    """Read the gradebook as nbgrader's own CSV exporter does: score = max(0, raw − late penalty)."""
    chosen_assignments = [a for a in gradebook.assignments if not assignments or a.name in assignments]
    chosen_students = [s for s in gradebook.students if not students or s.id in students]
    table = GradeTable(
        assignments=[a.name for a in chosen_assignments],
        max_scores={a.name: float(a.max_score) for a in chosen_assignments},
        students=[s.id for s in chosen_students],
        names={s.id: (s.first_name or "", s.last_name or "") for s in chosen_students},
        emails={s.id: s.email or "" for s in chosen_students},
        scores={},
    )
    for assignment in chosen_assignments:
        for student in chosen_students:
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                continue
            table.scores[(student.id, assignment.name)] = max(
                0.0, float(submission.score) - float(submission.late_submission_penalty))
    return table


class LMSExporter(ExportPlugin):
    """Base of the LMS exporters: selection, scores and the CSV file."""

    default_to = "grades.csv"

    missing_as_zero = Bool(
        False,
        help="Write 0 for an assignment a student did not submit (nbgrader's own CSV does);"
             " by default the cell stays empty, which the LMS reads as 'no grade'.",
    ).tag(config=True)

    columns = Dict(
        key_trait=Unicode(), value_trait=Unicode(),
        help="LMS column title per nbgrader assignment, e.g. {'ps1': 'PS1 前処理'};"
             " by default the assignment's own name.",
    ).tag(config=True)

    def destination(self) -> str:
        return self.to or self.default_to

    def cell(self, table: GradeTable, student: str, assignment: str) -> str:
        """The score as text, exactly as held by the gradebook; '' (or 0) without a submission."""
        score = table.scores.get((student, assignment))
        if score is None:
            return "0" if self.missing_as_zero else ""
        return format_points(score)

    def selection(self, gradebook: Gradebook) -> GradeTable:
        return grade_table(gradebook, [str(a) for a in self.assignment], [str(s) for s in self.student])

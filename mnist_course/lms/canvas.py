"""Canvas: import "Download Submissions", export a CSV for Canvas's gradebook import.

File names (Canvas's ``lib/content_zipper.rb``; docs/lms.md cites it)::

    <sortable name, lower case, letters only>[_LATE]_<user id>_<attachment id>_<file name>

with ``anon_<anonymous id>`` in place of name and user id under anonymous grading. Canvas
renames a re-uploaded file ``name-1.ext``; the attachment id grows with every upload, so of two
files for the same place the larger id is the later upload. The download carries no submission
time, only the ``LATE`` marker.

The roster is Canvas's gradebook export (Grades → Export): its "ID" column is the user id of
the file names, and "SIS User ID" / "SIS Login ID" are matched against nbgrader's student list.
"""

from __future__ import annotations

import csv
import re

from nbgrader.api import Gradebook
from traitlets import Dict, Int, List, Unicode, default

from mnist_kit.i18n import bilingual
from .collect import LMSCollector, LMSName, _Candidate
from .export import LMSExporter
from .roster import Roster, RosterError, StudentList, format_points, read_table

__all__ = ["CanvasCollector", "CanvasExporter"]

# content_zipper.rb: [users_name, ("LATE" if late), user_id].compact.join("_"), then every
# non-word character removed, then "_<attachment id>_<display name>". Names lose "_<digits>_".
_NAME = re.compile(r"^(?P<name>.*?)_(?:(?P<late>(?i:late))_)?(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)$",
                   re.DOTALL)
_ANONYMOUS = re.compile(r"^(?:(?P<late>(?i:late))_)?anon_(?P<anon>[0-9A-Za-z]+)_(?P<attachment>\d+)_(?P<file>.+)$",
                        re.DOTALL)
_RENAMED = re.compile(r"^(?P<stem>.+)-\d+(?P<ext>\.[^./]+)$")
# gradebook_exporter.rb writes assignment columns as "<title> (<id>)".
_TITLE_WITH_ID = re.compile(r"^(?P<title>.*)\s\((?P<id>\d+)\)$")
STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Canvas's own export writes the row label with four leading spaces; the importer looks for
# "Points Possible" anywhere in the first cell.
POINTS_POSSIBLE = "    Points Possible"


class CanvasCollector(LMSCollector):
    """``nbgrader zip_collect --collector=mnist_course.lms.canvas.CanvasCollector``."""

    lms = "Canvas"

    @default("roster_id_columns")
    def _default_id_columns(self):
        return ["ID"]

    @default("roster_key_columns")
    def _default_key_columns(self):
        return ["SIS User ID", "SIS Login ID"]

    def parse_name(self, component: str) -> LMSName | None:
        match = _ANONYMOUS.match(component)
        if match:
            return LMSName(lms_id="anon_" + match["anon"], filename=match["file"],
                           late=bool(match["late"]), order=int(match["attachment"]), anonymous=True)
        match = _NAME.match(component)
        if not match:
            return None
        return LMSName(lms_id=match["user"], filename=match["file"], late=bool(match["late"]),
                       order=int(match["attachment"]))

    def normalise_filename(self, filename: str, released: set[str]) -> str:
        """``ps1_preprocessing-1.ipynb`` is Canvas's name for a re-uploaded ``ps1_preprocessing.ipynb``."""
        head, _, base = filename.rpartition("/")
        match = _RENAMED.match(base)
        if not match or any(path.rsplit("/", 1)[-1] == base for path in released):
            return filename
        original = match["stem"] + match["ext"]
        if any(path.rsplit("/", 1)[-1] == original for path in released):
            return f"{head}/{original}" if head else original
        return filename

    def note_candidate(self, student_id: str, candidate: _Candidate) -> None:
        if candidate.name.late:
            # Canvas's zip has no submission time, so nbgrader has nothing to compare with the
            # due date; Canvas's own late policy is where this mark counts.
            self.log.warning(bilingual(
                f"Canvas は学生 {student_id} の提出を遅延 (LATE) としています: {candidate.display}。"
                "ダウンロードに提出日時がないため nbgrader の遅延減点は適用されません。"
                "Canvas の遅延ポリシーを使ってください。",
                f"Canvas marks student {student_id}'s submission LATE: {candidate.display}. The"
                " download has no submission time, so nbgrader applies no late penalty; use"
                " Canvas's late policy.",
            ))


class CanvasExporter(LMSExporter):
    """``nbgrader export --exporter=mnist_course.lms.canvas.CanvasExporter``: Canvas's gradebook CSV.

    With ``roster`` (Canvas's gradebook export), rows carry Canvas's own Student, ID, SIS User
    ID, SIS Login ID and Section, and an assignment column whose title is the nbgrader
    assignment's name (or its ``columns`` entry) gets Canvas's "title (id)" heading. Without it,
    rows are keyed by SIS User ID = nbgrader student id and SIS Login ID = e-mail address, and
    Canvas's importer finds students by those.
    """

    default_to = "canvas_grades.csv"

    roster = Unicode(
        "", help="Canvas's gradebook export CSV (Grades → Export), to copy its student and assignment ids.",
    ).tag(config=True)

    assignment_ids = Dict(
        key_trait=Unicode(), value_trait=Int(),
        help="Canvas assignment id per nbgrader assignment, e.g. {'ps1': 4242}, when no roster gives it.",
    ).tag(config=True)

    roster_key_columns = List(
        Unicode(), ["SIS User ID", "SIS Login ID"],
        help="Roster columns matched, in order, against nbgrader's student e-mails and ids.",
    ).tag(config=True)

    def export(self, gradebook: Gradebook) -> None:
        table = self.selection(gradebook)
        titles = {a: self.columns.get(a, a) for a in table.assignments}
        headings = {a: (f"{titles[a]} ({self.assignment_ids[a]})" if a in self.assignment_ids else titles[a])
                    for a in table.assignments}
        rows: list[list[str]] = []
        if self.roster:
            rows = self._rows_from_roster(gradebook, table, titles, headings)
        else:
            for student in table.students:
                first, last = table.names[student]
                name = ", ".join(p for p in (last, first) if p) or student
                rows.append([name, "", student, table.emails[student], ""]
                            + [self.cell(table, student, a) for a in table.assignments])
        dest = self.destination()
        self.log.info("Exporting Canvas grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(STUDENT_COLUMNS + [headings[a] for a in table.assignments])
            writer.writerow([POINTS_POSSIBLE, "", "", "", ""]
                            + [format_points(table.max_scores[a]) for a in table.assignments])
            writer.writerows(rows)

    def _rows_from_roster(self, gradebook: Gradebook, table, titles, headings) -> list[list[str]]:
        try:
            canvas = read_table(self.roster)
        except RosterError as exc:
            self.parent.fail(str(exc))
        students = StudentList.from_gradebook(self.parent.coursedir.db_url, self.parent.coursedir.course_id)
        try:
            roster = Roster(canvas, ["ID"], self.roster_key_columns, students)
        except RosterError as exc:
            self.parent.fail(str(exc))

        # Canvas's own headings carry the assignment ids; match them by title.
        points_row = next((r for r in canvas.rows if "Points Possible" in r.get(canvas.header[0], "")), {})
        for heading in canvas.header:
            match = _TITLE_WITH_ID.match(heading)
            if not match:
                continue
            for assignment in table.assignments:
                if titles[assignment] == match["title"] and assignment not in self.assignment_ids:
                    headings[assignment] = heading
                    listed = points_row.get(heading, "")
                    try:
                        different = listed and float(listed.replace(",", ".")) != table.max_scores[assignment]
                    except ValueError:
                        different = False
                    if different:
                        self.log.warning(bilingual(
                            f"{heading}: Canvas の配点 {listed} と nbgrader の満点"
                            f" {format_points(table.max_scores[assignment])} が違います。"
                            "取り込むと Canvas の配点が変わります。",
                            f"{heading}: Canvas's points possible {listed} differ from nbgrader's"
                            f" maximum {format_points(table.max_scores[assignment])}; importing"
                            " changes them in Canvas.",
                        ))

        rows, exported = [], set()
        for canvas_id, row in roster.rows.items():
            match = roster.match(canvas_id)
            student = match.student_id
            if student is None or student not in table.students:
                self.log.warning(bilingual(
                    f"Canvas の学生 {row.get('Student', '')} (ID {canvas_id}) は nbgrader の学生名簿にないので書き出しません",
                    f"Canvas student {row.get('Student', '')} (ID {canvas_id}) is not in nbgrader's"
                    " student list; not exported",
                ))
                continue
            exported.add(student)
            cells = []
            for assignment in table.assignments:
                value = self.cell(table, student, assignment)
                if (student, assignment) not in table.scores and not self.missing_as_zero:
                    # No submission in nbgrader: repeat Canvas's current grade, so importing
                    # leaves it as it is instead of clearing a grade given in Canvas.
                    value = row.get(headings[assignment], "")
                cells.append(value)
            rows.append([row.get(c, "") for c in STUDENT_COLUMNS] + cells)
        for student in table.students:
            if student not in exported:
                self.log.warning(bilingual(
                    f"学生 {student} は Canvas の名簿 {self.roster} にないので書き出しません",
                    f"student {student} is not in the Canvas roster {self.roster}; not exported",
                ))
        return rows

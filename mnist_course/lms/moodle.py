"""Moodle: import "Download all submissions", export a CSV for Moodle's grade import.

File names (Moodle's ``mod/assign/locallib.php``, ``download_submissions``; docs/lms.md cites it):

- one folder per student (the default since Moodle 3.1)::

      Full Name_<participant>_assignsubmission_file_/<path in the student's files>

- all files in one folder (the "Download submissions in folders" option off)::

      Full Name_<participant>_assignsubmission_file_<file name>

``<participant>`` is the assignment's participant number (``assign_user_mapping``), not the
Moodle user id; underscores in the name become spaces, so ``_<digits>_assignsubmission_`` is
unambiguous. The grading worksheet (Assignment → Submissions → "Download grading worksheet")
maps it to the student: column "Identifier" holds "Participant <number>", beside "Email address"
and "Last modified (submission)". That worksheet is this collector's roster.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.api import Gradebook
from traitlets import List, Unicode, default, validate, TraitError

from mnist_kit.i18n import bilingual
from .collect import LMSCollector, LMSName
from .export import LMSExporter

__all__ = ["MoodleCollector", "MoodleExporter", "parse_moodle_time"]

# Moodle replaces "_" in the name with " " before adding "_<participant>", so the first
# "_<digits>_assignsubmission_" is the id; the plugin part is "file" for uploaded files.
_NAME = re.compile(r"^(?P<name>.*?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_(?P<rest>.*)$",
                   re.DOTALL)

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_MONTHS.update({name[:3]: number for name, number in list(_MONTHS.items())})

# English userdate, '%A, %d %B %Y, %I:%M %p' (lang/en/langconfig.php strftimedaydatetime).
_EN_TIME = re.compile(r"(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]+)\s+(?P<y>\d{4}),?\s+(?P<H>\d{1,2}):(?P<M>\d{2})"
                      r"(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?")
# Japanese userdate, e.g. "2024年 05月 01日(水曜日) 17:05"; 午前/午後 when a 12-hour format is used.
_JA_TIME = re.compile(r"(?P<y>\d{4})\s*年\s*(?P<mo>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日.*?"
                      r"(?P<ampm>午前|午後)?\s*(?P<H>\d{1,2})\s*[:時]\s*(?P<M>\d{1,2})")
_ISO_TIME = re.compile(r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?")


def parse_moodle_time(text: str, zone: ZoneInfo) -> datetime | None:
    """Read a time as Moodle prints it for a person (``userdate``) in ``zone``; None if none.

    Moodle writes the worksheet's times in the downloading user's language and time zone, with
    no offset, so the zone must be given. ``-`` means "never".
    """
    text = text.strip()
    if not text or text == "-":
        return None
    match = _EN_TIME.search(text)
    if match and match["mon"].lower() in _MONTHS:
        hour = int(match["H"])
        ampm = (match["ampm"] or "").lower().replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        return datetime(int(match["y"]), _MONTHS[match["mon"].lower()], int(match["d"]), hour,
                        int(match["M"]), int(match["S"] or 0), tzinfo=zone)
    match = _JA_TIME.search(text)
    if match:
        hour = int(match["H"])
        if match["ampm"] == "午後" and hour < 12:
            hour += 12
        elif match["ampm"] == "午前" and hour == 12:
            hour = 0
        return datetime(int(match["y"]), int(match["mo"]), int(match["d"]), hour, int(match["M"]), tzinfo=zone)
    match = _ISO_TIME.search(text)
    if match:
        return datetime(int(match["y"]), int(match["mo"]), int(match["d"]), int(match["H"]),
                        int(match["M"]), int(match["S"] or 0), tzinfo=zone)
    raise ValueError(text)


class MoodleCollector(LMSCollector):
    """``nbgrader zip_collect --collector=mnist_course.lms.moodle.MoodleCollector``.

    Roster: Moodle's grading worksheet of the same assignment (the participant numbers differ
    between assignments). Students are matched by the worksheet's "Email address" (or another
    column listed in ``roster_key_columns``) against nbgrader's student list; the submission time
    comes from "Last modified (submission)", read in ``timezone``.
    """

    lms = "Moodle"

    timezone = Unicode(
        "UTC",
        help="Time zone of the Moodle user who downloaded the grading worksheet (its times have"
             " no offset), e.g. 'Asia/Tokyo'.",
    ).tag(config=True)

    time_columns = List(
        Unicode(), ["Last modified (submission)", "最終更新日時 (提出)"],
        help="Candidate names of the worksheet's submission-time column.",
    ).tag(config=True)

    @default("roster_id_columns")
    def _default_id_columns(self):
        # "Identifier" in English; the Japanese language pack calls the same column "ID".
        return ["Identifier", "ID", "識別子"]

    @default("roster_key_columns")
    def _default_key_columns(self):
        return ["Email address", "メールアドレス"]

    @validate("timezone")
    def _check_timezone(self, proposal):
        try:
            ZoneInfo(proposal["value"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise TraitError(bilingual(
                f"タイムゾーン名が分かりません: {proposal['value']!r} (例: Asia/Tokyo)",
                f"unknown time zone: {proposal['value']!r} (e.g. Asia/Tokyo)",
            )) from exc
        return proposal["value"]

    def parse_name(self, component: str) -> LMSName | None:
        match = _NAME.match(component)
        if not match or match["plugin"] != "file":
            # Online text and other submission plugins are not files of the assignment.
            return None
        return LMSName(lms_id=match["participant"], filename=match["rest"])

    def timestamp(self, name: LMSName, row: dict[str, str] | None, where: str) -> datetime | None:
        if not row:
            return None
        column = next((c for c in self.time_columns if c in row), None)
        if column is None:
            return None
        try:
            return parse_moodle_time(row[column], ZoneInfo(self.timezone))
        except ValueError:
            self.log.warning(bilingual(
                f"提出日時 {row[column]!r} ({column}) が読めないので、{where} は提出日時なしで取り込みます"
                " (遅延の判定はされません)",
                f"cannot read the submission time {row[column]!r} ({column}); {where} is imported"
                " without a timestamp (no late check)",
            ))
            return None


class MoodleExporter(LMSExporter):
    """``nbgrader export --exporter=mnist_course.lms.moodle.MoodleExporter``: Moodle's CSV grade import.

    One row per student, one column per assignment. Moodle's import asks which column
    identifies the user ("Map from") and which user field it is ("Map to"): "Email address" →
    Email address, or "ID number" → ID number when Moodle's ID numbers are nbgrader's student
    ids. Scores are points: give the Moodle grade item the same maximum as the assignment here.
    """

    default_to = "moodle_grades.csv"

    def export(self, gradebook: Gradebook) -> None:
        table = self.selection(gradebook)
        header = ["First name", "Last name", "ID number", "Email address"]
        header += [self.columns.get(a, a) for a in table.assignments]
        dest = self.destination()
        self.log.info("Exporting Moodle grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            for student in table.students:
                first, last = table.names[student]
                if not table.emails[student]:
                    self.log.warning(bilingual(
                        f"学生 {student} にメールアドレスがありません。Moodle では ID number で対応付けてください",
                        f"student {student} has no e-mail address: map by ID number in Moodle",
                    ))
                writer.writerow([first, last, student, table.emails[student]]
                                + [self.cell(table, student, a) for a in table.assignments])

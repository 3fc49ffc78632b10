"""Who is who between an LMS and nbgrader: the LMS's roster CSV and nbgrader's student list.

An LMS names downloaded files by its own ids (Moodle's per-assignment participant number,
Canvas's user id), which nbgrader knows nothing about. The LMS's own CSV export maps those ids to
something nbgrader does know: an e-mail address or an institution id. nbgrader's student list
(``nbgrader db student import``) then gives the nbgrader student id. Nothing is guessed from
names: a student who cannot be matched exactly is reported and left out.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from nbgrader.api import Gradebook

from mnist_kit.i18n import bilingual

# Excel on Japanese Windows saves CSV as Shift_JIS (cp932); LMSs write UTF-8, often with a BOM.
ENCODINGS = ("utf-8-sig", "cp932")


class RosterError(Exception):
    """A roster that cannot be used at all; the message names the file and says why (JA/EN)."""


@dataclass
class Table:
    """A CSV file read as a header and rows of strings keyed by that header."""

    path: Path
    header: list[str]
    rows: list[dict[str, str]]

    def column(self, candidates: Sequence[str]) -> str | None:
        """The first of ``candidates`` that is a column here (ignoring case and outer spaces)."""
        wanted = {c.strip().lower(): c for c in self.header}
        for name in candidates:
            found = wanted.get(name.strip().lower())
            if found is not None:
                return found
        return None


def read_table(path: str | Path) -> Table:
    """Read a CSV export of an LMS: UTF-8 (with or without BOM) or cp932; comma, semicolon or tab.

    Raises :class:`RosterError` naming the file when it is missing, unreadable or has no header.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RosterError(bilingual(
            f"名簿 CSV を読めません: {path} ({exc.strerror or exc})",
            f"cannot read the roster CSV: {path} ({exc.strerror or exc})",
        )) from exc
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterError(bilingual(
            f"名簿 CSV の文字コードが UTF-8 でも Shift_JIS でもありません: {path}",
            f"the roster CSV is neither UTF-8 nor Shift_JIS: {path}",
        ))
    first_line = text.split("\n", 1)[0]
    # Moodle writes commas, Canvas commas or (in some locales) semicolons; a spreadsheet may use tabs.
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines = [line for line in reader if any(cell.strip() for cell in line)]
    if not lines:
        raise RosterError(bilingual(
            f"名簿 CSV が空です: {path}",
            f"the roster CSV is empty: {path}",
        ))
    header = [cell.strip() for cell in lines[0]]
    rows = [{name: (line[i].strip() if i < len(line) else "") for i, name in enumerate(header)}
            for line in lines[1:]]
    return Table(path, header, rows)


@dataclass
class StudentList:
    """nbgrader's students, looked up by e-mail address (case-insensitive) or by student id."""

    by_email: dict[str, list[str]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    emails: dict[str, str] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_gradebook(cls, db_url: str, course_id: str = "") -> "StudentList":
        """Read the student list of the nbgrader gradebook at ``db_url``."""
        found = cls()
        with Gradebook(db_url, course_id) as gradebook:
            for student in gradebook.students:
                found.ids.add(student.id)
                found.names[student.id] = (student.first_name or "", student.last_name or "")
                if student.email:
                    found.emails[student.id] = student.email
                    found.by_email.setdefault(student.email.strip().lower(), []).append(student.id)
        return found

    def match(self, value: str) -> str | None:
        """The nbgrader student whose e-mail or id is ``value``; None if none or ambiguous.

        E-mail first: an LMS login that happens to equal some student id must not win over the
        student whose address it is.
        """
        value = value.strip()
        if not value:
            return None
        owners = self.by_email.get(value.lower(), [])
        if len(owners) == 1:
            return owners[0]
        if len(owners) > 1:
            return None
        return value if value in self.ids else None


@dataclass
class Match:
    """The result of looking up one LMS id: the nbgrader student, or why there is none."""

    student_id: str | None
    row: dict[str, str] | None
    keys_tried: list[str]


class Roster:
    """An LMS's CSV export read as: LMS id → row → nbgrader student.

    ``id_columns`` are candidate names of the column holding the id that appears in the LMS's
    file names; ``key_columns`` candidate names of columns (tried in order) whose values are
    matched against nbgrader's student list by e-mail or id.
    """

    def __init__(self, table: Table, id_columns: Sequence[str], key_columns: Sequence[str],
                 students: StudentList, id_pattern: str = r"(\d+)\s*$"):
        self.table = table
        self.students = students
        self.id_column = table.column(id_columns)
        if self.id_column is None:
            raise RosterError(bilingual(
                f"名簿 CSV {table.path} に LMS の ID 列 ({' / '.join(id_columns)}) がありません"
                f" (列: {', '.join(table.header)})",
                f"the roster CSV {table.path} has no LMS id column ({' / '.join(id_columns)});"
                f" its columns are: {', '.join(table.header)}",
            ))
        self.key_columns = [c for c in (table.column([k]) for k in key_columns) if c]
        if not self.key_columns:
            raise RosterError(bilingual(
                f"名簿 CSV {table.path} に照合用の列 ({' / '.join(key_columns)}) がありません"
                f" (列: {', '.join(table.header)})",
                f"the roster CSV {table.path} has none of the columns used to match students"
                f" ({' / '.join(key_columns)}); its columns are: {', '.join(table.header)}",
            ))
        pattern = re.compile(id_pattern)
        self.rows: dict[str, dict[str, str]] = {}
        for row in table.rows:
            found = pattern.search(row.get(self.id_column, ""))
            if found:
                self.rows[found.group(1)] = row

    def match(self, lms_id: str) -> Match:
        """Find the nbgrader student of ``lms_id``: its roster row, then the first key that matches."""
        row = self.rows.get(lms_id)
        if row is None:
            return Match(None, None, [])
        tried = []
        for column in self.key_columns:
            value = row.get(column, "")
            if value:
                tried.append(f"{column}={value}")
                student = self.students.match(value)
                if student is not None:
                    return Match(student, row, tried)
        return Match(None, row, tried)


def format_points(value: float) -> str:
    """Points exactly as the gradebook holds them: no rounding, no binary noise added.

    ``repr`` of a float is the shortest decimal that reads back as the same float, so an LMS
    reading this text gets nbgrader's number bit for bit; whole numbers lose their ``.0``.
    """
    if not math.isfinite(value):
        raise ValueError(f"not a finite score: {value!r}")
    if value == int(value):
        return str(int(value))
    return repr(float(value))


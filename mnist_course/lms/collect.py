"""What both LMS collectors share: :class:`LMSCollector`, the plan for a whole download.

In: the files the extractor left in ``extracted/``, the LMS's roster CSV, nbgrader's student list
and released version. Out: nbgrader's collect record (student id, file id, timestamp) per file,
or None for a file not imported. Each LMS's module (``moodle``, ``canvas``) subclasses
:class:`LMSCollector` and reads its own file names into an :class:`LMSName`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from traitlets import List, Unicode

from mnist_kit.i18n import bilingual
# Junk the extractor leaves out of zips can still arrive as loose files in the download.
from .extract import _JUNK_PARTS
from .roster import Roster, RosterError, StudentList, read_table

__all__ = ["LMSCollector", "LMSName"]


@dataclass
class LMSName:
    """What an LMS's file name says: whose file it is and what the student called it."""

    lms_id: str
    filename: str
    late: bool = False
    order: int | None = None  # larger = uploaded later (Canvas's attachment id)
    anonymous: bool = False


@dataclass
class _Candidate:
    path: str
    display: str
    name: LMSName
    inner: str
    file_id: str
    exact: bool


class LMSCollector(FileNameCollectorPlugin):
    """Base of the LMS collectors: the plan for a whole download, decided once, file by file.

    nbgrader calls :meth:`collect` for each extracted file. The first call looks at all of
    them, so that a student is imported whole or not at all, duplicates are resolved before
    nbgrader sees them (it stops the run on a duplicate without timestamps), and a student
    already in ``submitted/`` is left alone (nbgrader would stop the run there too).
    """

    valid_ext = List(
        [".ipynb", ".py"],
        help="Extensions of the files collected: the notebooks and the student's mnist_tasks/*.py.",
    ).tag(config=True)

    roster = Unicode(
        "{downloaded}/{assignment_id}/roster.csv",
        help="The LMS's roster CSV, relative to the course directory; {downloaded} and"
             " {assignment_id} are filled in as in ZipCollectApp.collect_directory_structure.",
    ).tag(config=True)

    roster_id_columns = List(Unicode(), help="Candidate names of the roster's LMS-id column.").tag(config=True)

    roster_key_columns = List(
        Unicode(),
        help="Candidate names of roster columns matched, in order, against the e-mail addresses"
             " and ids of nbgrader's student list.",
    ).tag(config=True)

    lms = "LMS"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._decisions: dict[str, dict | None] | None = None

    # --- what each LMS provides -------------------------------------------------------------
    def parse_name(self, component: str) -> LMSName | None:
        """Read one path component named the LMS's way; None if it is not."""
        raise NotImplementedError

    def timestamp(self, name: LMSName, row: dict[str, str] | None, where: str) -> datetime | None:
        """When the LMS says the student submitted (aware datetime), if it says so at all."""
        return None

    def normalise_filename(self, filename: str, released: set[str]) -> str:
        """Undo the LMS's renaming of a file the student uploaded (hook for Canvas's ``-1``)."""
        return filename

    def note_candidate(self, student_id: str, candidate: _Candidate) -> None:
        """Hook: report what the LMS says about a file that will be imported."""

    # --- nbgrader's entry point ---------------------------------------------------------------
    def collect(self, submitted_file: str) -> dict | None:
        """Return nbgrader's collect record for ``submitted_file``, or None to skip it."""
        if self._decisions is None:
            self._decisions = self._plan()
        return self._decisions.get(os.path.abspath(submitted_file))

    # --- the plan -----------------------------------------------------------------------------
    def _app_paths(self) -> tuple[str, str, str]:
        app = self.parent
        coursedir = app.coursedir
        assignment = coursedir.assignment_id
        extracted = os.path.join(coursedir.root, app.collect_directory_structure).format(
            downloaded=app.downloaded_directory, assignment_id=assignment,
            collect_step=app.extracted_directory)
        roster = os.path.join(coursedir.root, self.roster.format(
            downloaded=app.downloaded_directory, assignment_id=assignment))
        released = coursedir.format_path(coursedir.release_directory, ".", assignment)
        return extracted, roster, released

    def _plan(self) -> dict[str, dict | None]:
        app = self.parent
        coursedir = app.coursedir
        assignment = coursedir.assignment_id
        extracted, roster_path, released_dir = self._app_paths()

        released = set()
        for root, _, names in os.walk(released_dir):
            for name in names:
                released.add(os.path.relpath(os.path.join(root, name), released_dir).replace(os.sep, "/"))
        if not released:
            self.log.warning(bilingual(
                f"配布版 {released_dir} がありません。先に nbgrader generate_assignment {assignment}"
                " を実行してください (ファイルの置き場所を決めるのに使います)。",
                f"no released version in {released_dir}: run nbgrader generate_assignment {assignment}"
                " first (it tells where each file belongs).",
            ))

        students = StudentList.from_gradebook(coursedir.db_url, coursedir.course_id)
        if not students.ids:
            app.fail(bilingual(
                "nbgrader の学生名簿が空です。先に `nbgrader db student import students.csv`"
                " (列: id,first_name,last_name,email) で登録してください。",
                "nbgrader's student list is empty: add the students first with"
                " `nbgrader db student import students.csv` (columns id,first_name,last_name,email).",
            ))
        try:
            roster = Roster(read_table(roster_path), self.roster_id_columns, self.roster_key_columns, students)
        except RosterError as exc:
            app.fail(str(exc))

        by_student: dict[str, list[_Candidate]] = {}
        lms_ids: dict[str, set[str]] = {}
        rows: dict[str, dict[str, str]] = {}
        refused: set[str] = set()
        damaged = set(getattr(app.extractor_plugin_inst, "damaged", ()))
        for path in sorted(set(self._files(extracted)) | damaged):
            display = os.path.relpath(path, extracted)
            if os.path.splitext(path)[1] not in self.valid_ext:
                # Online-text pages, PDFs and the like are not files of this assignment.
                self.log.debug("Not a submission file type, skipped: %s", display)
                continue
            parts = display.replace(os.sep, "/").split("/")
            name, inner = self._find_name(parts, roster.rows)
            if name is None:
                self.log.warning(bilingual(
                    f"{self.lms} の提出ファイル名の形ではないので取り込みません: {display}",
                    f"not named the way {self.lms} names submissions, skipped: {display}",
                ))
                continue
            if name.anonymous:
                self.log.warning(bilingual(
                    f"匿名採点の提出物は学生を特定できないので取り込みません: {display}"
                    f" ({self.lms} で匿名表示を解除してからダウンロードしてください)",
                    f"an anonymously graded submission cannot be matched to a student, skipped:"
                    f" {display} (reveal identities in {self.lms}, then download again)",
                ))
                continue
            match = roster.match(name.lms_id)
            if match.student_id is None:
                if match.row is None:
                    why_ja = f"名簿 {roster_path} に ID {name.lms_id} がありません"
                    why_en = f"LMS id {name.lms_id} is not in the roster {roster_path}"
                else:
                    tried = ", ".join(match.keys_tried) or "-"
                    why_ja = (f"ID {name.lms_id} の名簿の値 ({tried}) が nbgrader の学生名簿の"
                              "メールアドレスにも学生 ID にも一致しません")
                    why_en = (f"the roster's values for LMS id {name.lms_id} ({tried}) match no e-mail"
                              " address or id in nbgrader's student list")
                self.log.error(bilingual(
                    f"学生が分からないので取り込みません: {display} ({why_ja})。他の学生は取り込みます。",
                    f"unknown student, not imported: {display} ({why_en}); the other students are"
                    " still imported.",
                ))
                continue
            student = match.student_id
            rows[student] = match.row
            lms_ids.setdefault(student, set()).add(name.lms_id)
            filename = self.normalise_filename(inner, released)
            file_id, exact = self._place(filename, released)
            candidate = _Candidate(path, display, name, inner, file_id, exact)
            problem = (("zip の中でデータが壊れています", "its data is damaged in the zip")
                       if path in damaged else self._unreadable(path))
            if problem:
                refused.add(student)
                self.log.error(bilingual(
                    f"ファイルが読めないので学生 {student} の提出物は取り込みません: {display} ({problem[0]})。"
                    "直したファイルを用意して、もう一度 zip_collect してください。",
                    f"unreadable file, so student {student}'s submission is not imported: {display}"
                    f" ({problem[1]}). Fix the file and run zip_collect again.",
                ))
            by_student.setdefault(student, []).append(candidate)

        decisions: dict[str, dict | None] = {}
        for student, candidates in sorted(by_student.items()):
            if student in refused:
                continue
            if len(lms_ids[student]) > 1:
                self.log.error(bilingual(
                    f"複数の LMS ID ({', '.join(sorted(lms_ids[student]))}) が学生 {student} に"
                    " 対応するので取り込みません。名簿を確認してください。",
                    f"several LMS ids ({', '.join(sorted(lms_ids[student]))}) match student"
                    f" {student}, not imported: check the roster.",
                ))
                continue
            chosen = self._resolve_duplicates(student, candidates)
            if chosen is None:
                continue
            when = None
            for candidate in chosen:
                stamp = self.timestamp(candidate.name, rows[student], candidate.display)
                if stamp is not None and (when is None or stamp > when):
                    when = stamp
            if not self._may_write(student, assignment, when):
                continue
            for candidate in chosen:
                self.note_candidate(student, candidate)
                record = {"student_id": student, "file_id": candidate.file_id}
                if when is not None:
                    # ISO 8601 without spaces: nbgrader's parse_utc reads a space-separated
                    # third field as a time zone name or a number of seconds, not as an offset.
                    record["timestamp"] = when.astimezone(timezone.utc).isoformat()
                decisions[os.path.abspath(candidate.path)] = record
        return decisions

    @staticmethod
    def _files(extracted: str) -> list[str]:
        found = []
        for root, dirs, names in os.walk(extracted):
            dirs[:] = [d for d in dirs if d not in _JUNK_PARTS]
            for name in names:
                if name not in _JUNK_PARTS and not name.startswith("._"):
                    found.append(os.path.join(root, name))
        return sorted(found)

    def _find_name(self, parts: list[str], known: dict) -> tuple[LMSName | None, str]:
        """The path component named the LMS's way, and the file's path below it.

        A file downloaded as it was uploaded carries the name in its own component; a student's
        file in Moodle's folder-per-student download, or in a zip the student uploaded, is below
        a folder named that way (the folder's own file part is the zip's name, not a path).
        A component can look LMS-named by chance (a course name with numbers, a student's own
        file), so one whose id is in the roster wins over the first that merely parses.
        """
        found = []
        for i, part in enumerate(parts):
            name = self.parse_name(part)
            if name is None:
                continue
            below = [name.filename] if i == len(parts) - 1 else parts[i + 1:]
            found.append((name, "/".join(p for p in below if p)))
        for name, inner in found:
            if name.lms_id in known:
                return name, inner
        return found[0] if found else (None, "")

    @staticmethod
    def _place(filename: str, released: set[str]) -> tuple[str, bool]:
        """Where a submitted file goes in the assignment: the released file it stands for.

        LMSs flatten folders (``models.py`` for ``mnist_tasks/models.py``) and students zip
        extra folders around their work (``ps1/mnist_tasks/models.py``); the released file whose
        path is the longest common tail of both decides. Unknown files keep their own path.
        """
        parts = [p for p in filename.split("/") if p not in ("", ".")]
        if "/".join(parts) in released:
            return "/".join(parts), True
        best, best_len, tied = None, 0, False
        for path in released:
            rparts = path.split("/")
            common = 0
            while (common < len(parts) and common < len(rparts)
                   and parts[-1 - common] == rparts[-1 - common]):
                common += 1
            # Tails must cover the whole of one side: "x/models.py" is not "mnist_tasks/models.py".
            if common and common in (len(parts), len(rparts)):
                if common > best_len:
                    best, best_len, tied = path, common, False
                elif common == best_len:
                    tied = True
        if best is not None and not tied:
            return best, False
        return "/".join(parts) or filename, False

    @staticmethod
    def _unreadable(path: str) -> tuple[str, str] | None:
        """Why the file cannot be used, (JA, EN), or None when it reads fine."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return f"読み込みエラー: {reason}", f"read error: {reason}"
        if path.endswith(".ipynb"):
            try:
                notebook = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                return f"ノートブック (JSON) として読めません: {exc}", f"not a notebook (invalid JSON): {exc}"
            if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
                return "ノートブックの形式ではありません (cells がない)", "not in notebook format (no cells)"
        elif path.endswith(".py"):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"UTF-8 のテキストではありません: {exc}", f"not UTF-8 text: {exc}"
        return None

    def _resolve_duplicates(self, student: str, candidates: list[_Candidate]) -> list[_Candidate] | None:
        """One file per place: the later upload wins; a tie that nothing can break skips the student."""
        by_place: dict[str, list[_Candidate]] = {}
        for candidate in candidates:
            by_place.setdefault(candidate.file_id, []).append(candidate)
        chosen = []
        for place, group in sorted(by_place.items()):
            if len(group) == 1:
                chosen.append(group[0])
                continue
            exact = [c for c in group if c.exact]
            if len(exact) == 1:
                winner = exact[0]
            elif all(c.name.order is not None for c in group) and len({c.name.order for c in group}) == len(group):
                winner = max(group, key=lambda c: c.name.order)
            else:
                files = ", ".join(c.display for c in group)
                self.log.error(bilingual(
                    f"学生 {student} の {place} にあたるファイルが複数あり、どれが新しいか分からないので"
                    f" この学生は取り込みません: {files}",
                    f"student {student} has several files for {place} and nothing tells which is"
                    f" newer, so this student is not imported: {files}",
                ))
                return None
            for loser in group:
                if loser is not winner:
                    self.log.warning(bilingual(
                        f"学生 {student} の {place}: 新しい {winner.display} を取り込み、古い {loser.display} は使いません",
                        f"student {student}, {place}: importing the newer {winner.display}, not the older {loser.display}",
                    ))
            chosen.append(winner)
        return chosen

    def _may_write(self, student: str, assignment: str, when: datetime | None) -> bool:
        """Never overwrite a collected submission, except by a newer one under ``--force``.

        That is nbgrader's rule for repeated attempts (the newest wins) with its own switch for
        replacing files; without a newer timestamp to compare, what is there stays.
        """
        coursedir = self.parent.coursedir
        dest = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        if not (os.path.isdir(dest) and os.listdir(dest)):
            return True
        collected = None
        stamp_file = os.path.join(dest, "timestamp.txt")
        if os.path.isfile(stamp_file):
            try:
                collected = parse_utc(Path(stamp_file).read_text().strip())
            except (OSError, ValueError, OverflowError):
                collected = None
        newer = (when is not None and collected is not None
                 and when.astimezone(timezone.utc).replace(tzinfo=None) > collected)
        if newer and self.parent.force:
            self.log.warning(bilingual(
                f"学生 {student} の新しい提出 ({when.isoformat()}) で回収済みのもの ({collected}) を置き換えます",
                f"student {student}: the newer submission ({when.isoformat()}) replaces the collected one ({collected})",
            ))
            return True
        hint_ja = "新しい提出です。置き換えるには --force を付けてください。" if newer else ""
        hint_en = " The LMS has a newer one: add --force to replace it." if newer else ""
        self.log.warning(bilingual(
            f"学生 {student} は回収済み ({dest}) なので上書きしません。{hint_ja}",
            f"student {student} is already collected ({dest}); not overwritten.{hint_en}",
        ))
        return False

"""The class report: how the class did on each assignment, as one HTML page and one CSV.

    mnist-course report [ps1 ps3 …] [--course DIR] [--db URL] [--out DIR] [--lang ja|en]

In: an nbgrader course after ``nbgrader autograde`` — its gradebook (``gradebook.db``, or the
course's ``nbgrader_config.py``'s ``CourseDirectory.db_url``, or ``--db``) and its autograded
notebooks, whose grade cells carry the isolated grader's results as data
(``autograder.nbgrader.cells.CELL_RESULTS_MIME``, typed by ``CellResults``). Nothing is read from the
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
results the course keeps by content (``autograder.training.cache``), found again from the autograded files.

What is where (each module imports only those above it in this list):

- ``rows``: the statuses, ``ReportError``, and the rows from one check of one student up to the
  ``ClassReport``;
- ``stats``: each check's failure rate and the class's common mistakes, from the students' rows;
- ``gathering``: the gradebook, the autograded notebooks and the grader's results cache read into a
  ``ClassReport`` (``course_directory``, ``gather``, ``grader_results``);
- ``figures``: the matplotlib figures, as PNG bytes;
- ``page``: the HTML page and the CSV's rows, as text;
- here: the file names, ``write`` and the command (``add_arguments``, ``command``), and the names
  the course and the tests use, re-exported so that ``mnist_course.report.gather`` and the like
  keep working.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mnist_kit.i18n import Text
from .gathering import course_directory, gather, grader_results
from .page import csv_rows, render_html
from .rows import (STATUSES, AssignmentReport, CheckResult, CheckSummary, ClassReport, Mistake, Problem,
                   ReportError, Status, StudentResult)
from .stats import mistake_key

__all__ = ["HTML_NAME", "CSV_NAME", "CSV_FIELDS", "STATUSES", "Status", "ReportError", "CheckResult", "Problem",
           "StudentResult", "CheckSummary", "Mistake", "AssignmentReport", "ClassReport", "course_directory",
           "gather", "grader_results", "mistake_key", "render_html", "csv_rows", "write", "add_arguments", "command"]

HTML_NAME = "class_report.html"
CSV_NAME = "class_report.csv"
CSV_FIELDS = ("assignment", "student", "status", "score", "max_score", "checks", "checks_failed",
              "grader_seconds", "kernel_seconds", "failed_checks", "detail")


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

"""Presenting a grading report: the checks' lines for people (``autograder.feedback.render``), Gradescope's
results.json for machines."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from autograder.feedback.page import fragment
from autograder.feedback import render
from autograder.grade import Report
from mnist_kit.i18n import IN_EVERY_LANGUAGE, Text, in_every_language

def verdict(result, language: str) -> render.Verdict:
    """One result as people read it in ``language`` (under Japanese, with its English name)."""
    return render.Verdict(result.title.get(language), result.score, result.max_score, result.message.get(language),
                          english=result.title.en if language == "ja" else None, subject=result.subject,
                          diagnosis=result.diagnosis.get(language) if result.diagnosis else None,
                          exhibit=result.exhibit)


def verdicts(report: Report, language: str) -> list[render.Verdict]:
    return [verdict(result, language) for result in report.results]


def total(report: Report) -> Text:
    return render.says("total", score=report.score, max_score=report.max_score, seconds=report.seconds)


def total_line(report: Report, language: str) -> str:
    return total(report).get(language)


def table(report: Report, language: str) -> str:
    """Every check (``autograder.feedback.render``), then the total."""
    return "\n".join([*render.block(verdicts(report, language), language), total_line(report, language)])


def gradescope(report: Report, language: str) -> dict:
    """Gradescope's autograder results format (score, max_score, tests[] with visibility).

    The words people read ("output", each test's "title" and "output") are in ``language``, as
    Gradescope shows them, and in every language under ``IN_EVERY_LANGUAGE`` (``mnist_kit.i18n``):
    the same grading presents in either (``in_language``), wherever it was graded or cached."""
    return {
        "score": round(report.score, 4),
        "max_score": report.max_score,
        "execution_time": round(report.seconds, 2),
        "output": total_line(report, language),
        IN_EVERY_LANGUAGE: in_every_language(output=total(report)),
        # Gradescope keeps extra_data unread; the benchmark reads the grader's own timings from it.
        "extra_data": {"timings_seconds": {key: round(value, 2) for key, value in report.timings.items()},
                       # for the class-scale autograde: who needs an instructor's attention, and why
                       "incidents": report.incidents,
                       # which course secret chose the hidden inputs (its fingerprint), None: public only
                       "hidden_inputs": report.secret,
                       # where the student code ran: "bwrap" (autograder.sandbox.jail) or "none"
                       "sandbox": report.sandbox,
                       # why a self-check ran unboxed (no box could be made here: Colab), else None
                       "sandbox_missing": report.sandbox_missing,
                       # per variant trained: "trained" now or "recalled" from the memo, by which run, when
                       "trainings": report.trainings},
        # The student's figures the exhibits show (autograder.feedback.pictures), by probe: ours, for the
        # grade cells' and pytest's HTML (autograder.feedback.page); each test's "output" has its own.
        "figures": report.figures,
        "tests": [
            # "subject" (the contract function or "variant X") is ours: Gradescope keeps extra fields.
            # "title" too: the name in the report's language (under Japanese "name" stays English, the id).
            # "output" is HTML (Gradescope's output_format): the check with its figure, table or chart;
            # "message" and "diagnosis", ours, are its words as text (autograder.feedback.render).
            {"name": result.name, "title": result.title.get(language), "subject": result.subject,
             "score": result.score, "max_score": result.max_score,
             "output": fragment([verdict(result, language)], report.figures, language, styled=False,
                                         with_figures=first),
             "output_format": "html",
             "message": result.message.get(language),
             "diagnosis": result.diagnosis.get(language) if result.diagnosis else None,
             "exhibit": result.exhibit,
             IN_EVERY_LANGUAGE: in_every_language(title=result.title, message=result.message,
                                                  **({"diagnosis": result.diagnosis} if result.diagnosis else {})),
             "visibility": "after_published" if result.hidden else "visible"}
            for result, first in zip(report.results, _first_showings(report))
        ],
    }


def _first_showings(report: Report) -> list[bool]:
    """For each result, whether its own HTML shows its task's figures: the first result on each figure."""
    shown, each = set(), []
    for result in report.results:
        probe = result.exhibit["probe"] if result.exhibit and result.exhibit["kind"] == "figure" else None
        each.append(probe is not None and probe not in shown and (probe in report.figures or result.score < result.max_score))
        shown.add(probe)
    return each


def write_json(report: Report, path: Path, language: str) -> None:
    path = Path(path)
    text = json.dumps(gradescope(report, language), ensure_ascii=False, indent=2)
    # A new file of our own (mkstemp: O_EXCL, never a link someone placed), renamed over the path:
    # never a half-written results file, and never written through a link planted at the path.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

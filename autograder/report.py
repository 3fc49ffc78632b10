"""Presenting a grading report: a per-check table for people, Gradescope's results.json for machines."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from autograder.grade import Report

HEADINGS = {"ja": ("課題", "点", "メッセージ"), "en": ("task", "points", "message")}
SUMMARY = {
    "ja": "合計 {score:g} / {max_score:g} 点 ({seconds:.1f} 秒)",
    "en": "total {score:g} / {max_score:g} points ({seconds:.1f} s)",
}


def table(report: Report, language: str) -> str:
    task, points, message = HEADINGS[language]
    width = min(max(len(result.name) for result in report.results), 90) if report.results else 10
    lines = [f"{task:<{width}}  {points:>9}  {message}", "-" * (width + 40)]
    for result in report.results:
        text = result.message.get(language)
        first, *rest = text.splitlines() or [""]
        mark = "✓" if result.score == result.max_score else "✗"
        name = result.name if len(result.name) <= width else result.name[: width - 1] + "…"
        lines.append(f"{name:<{width}}  {mark} {result.score:g}/{result.max_score:g}".ljust(width + 12) + f" {first}")
        lines.extend(" " * (width + 13) + line for line in rest)
    lines.append(SUMMARY[language].format(score=report.score, max_score=report.max_score, seconds=report.seconds))
    return "\n".join(lines)


def gradescope(report: Report, language: str) -> dict:
    """Gradescope's autograder results format (score, max_score, tests[] with visibility)."""
    return {
        "score": round(report.score, 4),
        "max_score": report.max_score,
        "execution_time": round(report.seconds, 2),
        "output": SUMMARY[language].format(score=report.score, max_score=report.max_score, seconds=report.seconds),
        # Gradescope keeps extra_data unread; the benchmark reads the grader's own timings from it.
        "extra_data": {"timings_seconds": {key: round(value, 2) for key, value in report.timings.items()}},
        "tests": [
            {"name": result.name, "score": result.score, "max_score": result.max_score,
             "output": result.message.get(language),
             "visibility": "after_published" if result.hidden else "visible"}
            for result in report.results
        ],
    }


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

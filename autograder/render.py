"""How a verdict looks wherever a person reads it: ``mnist-grade``'s table, ``pytest autograder/``,
a notebook's grade cell (and so nbgrader's feedback page). One renderer, one catalogue of the
words around the checks' own messages, one default language (``mnist_kit.i18n.DEFAULT_LANGUAGE``).

A check renders as one line, ``✓ 1/1  name``, its points first, where the eye lands. A check
that lost points adds its reason under the name, indented, each line of it on its own line, so
that the reason (what is wrong and what was expected) is never past the right edge of the box.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Iterable

from mnist_kit.i18n import Text

PASSED, FAILED = "✓", "✗"
REASON_INDENT = 6
WRAP = 96      # columns of a reason line: a notebook output box shows about 100


@dataclass(frozen=True)
class Verdict:
    """One check's result as people read it, whatever the source (a Report, results.json)."""
    name: str
    score: float
    max_score: float
    message: str

    @property
    def passed(self) -> bool:
        return self.score == self.max_score


# The words around the checks' own messages. Check names and reasons come from the checks.
CATALOGUE = {
    "total": Text("合計 {score:g} / {max_score:g} 点 ({seconds:.1f} 秒)", "total {score:g} / {max_score:g} points ({seconds:.1f} s)"),
    "cell_total": Text("チェック {score:g} / {possible:g} 点 → この問題 {earned:g} / {points:g} 点",
                       "checks {score:g} / {possible:g} → this cell {earned:g} / {points:g} points"),
    "public_only": Text("(公開チェックのみ。提出後の採点では非公開チェックも実行されます)",
                        "(public checks only; grading after submission adds the hidden checks)"),
    "could_not_grade": Text("採点できませんでした: {reason}", "could not grade: {reason}"),
    "nothing_to_grade": Text("採点するチェックがありません", "no checks to grade"),
    "pytest_score": Text("採点: {score:g} / {total:g} 点", "score: {score:g} / {total:g} points"),
    "pytest_public_passed": Text(" — 公開チェックはすべて合格です", " — public checks passed"),
    "pytest_all_passed": Text(" — すべてのチェックに合格しました", " — all checks passed"),
    "pytest_hidden": Text(" (採点時にはさらに {hidden} 件の非公開チェックがあります)", " ({hidden} hidden checks run at grading)"),
    "autograding": Text("自動採点中: この問題の点数は、カーネルの外の隔離された採点器が書き込みます。",
                        "autograding: the isolated grader, outside this kernel, writes this cell's score."),
}


def say(key: str, language: str, **values) -> str:
    """A catalogue entry in ``language``, filled in."""
    return CATALOGUE[key].get(language).format(**values)


def check_lines(verdict: Verdict) -> list[str]:
    """``✓ 1/1  name`` (and `` — message`` when a passed check says more than OK); a failed
    check's reason follows on its own indented, wrapped lines."""
    mark = PASSED if verdict.passed else FAILED
    head = f"{mark} {verdict.score:g}/{verdict.max_score:g}  {verdict.name}"
    message = (verdict.message or "").strip()
    if verdict.passed:
        return [head + (f" — {message}" if message and message != "OK" else "")]
    lines = [head]
    indent = " " * REASON_INDENT
    for paragraph in message.splitlines():
        if paragraph.startswith(" ") or "|" in paragraph:   # tables keep their columns
            lines.append(indent + paragraph)
            continue
        lines.extend(textwrap.wrap(paragraph, WRAP, initial_indent=indent, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False) or [indent])
    return lines


def block(verdicts: Iterable[Verdict]) -> list[str]:
    """Every check's lines, in order."""
    return [line for verdict in verdicts for line in check_lines(verdict)]

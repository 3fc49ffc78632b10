"""How a verdict looks wherever a person reads it: ``mnist-grade``'s table, ``pytest autograder/``,
a notebook's grade cell (and so nbgrader's feedback page). One renderer, one catalogue of the
words around the checks' own messages, one default language (``mnist_kit.i18n.DEFAULT_LANGUAGE``).

A check renders as one line, ``✓ 1/1  name``, its points first, where the eye lands. A check
that lost points adds its reason under the name, indented, each line of it on its own line, so
that the reason (what is wrong and what was expected) is never past the right edge of the box.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from mnist_kit.i18n import Text

PASSED, FAILED = "✓", "✗"
REASON_INDENT = 7   # under the name, past "✗ 0/1  "
# Columns of a line, indent included: nbgrader's feedback page and a notebook's output box show
# about 100 monospaced columns at their usual width; a terminal 80 or more.
LINE = 88
WRAP = LINE - REASON_INDENT


@dataclass(frozen=True)
class Verdict:
    """One check's result as people read it, whatever the source (a Report, results.json)."""
    name: str                  # in the reader's language
    score: float
    max_score: float
    message: str
    english: str | None = None   # under Japanese: the English name, shown beside a failed check

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
    "no_secret": Text("(非公開チェックは実行していません: コースの秘密がありません。--course DIR / `mnist-course secret`)",
                      "(hidden checks not run: no course secret; see --course DIR and `mnist-course secret`)"),
    "no_sandbox": Text("(サンドボックスなしで実行しました: {reason}。自分のコードの確認には問題ありません)",
                       "(ran without a sandbox: {reason}; fine for checking your own code)"),
    "sandbox_bwrap": Text("(提出コードはサンドボックス (bubblewrap) の中で実行しました)",
                          "(the submission's code ran in a bubblewrap sandbox)"),
    "sandbox_none": Text("(提出コードはサンドボックスなしで実行しました: --sandbox none)",
                         "(the submission's code ran without a sandbox: --sandbox none)"),
    "pytest_hidden": Text(" (採点時にはさらに {hidden} 件の非公開チェックがあります)", " ({hidden} hidden checks run at grading)"),
    "autograding": Text("自動採点中: この問題の点数は、カーネルの外の隔離された採点器が書き込みます。",
                        "autograding: the isolated grader, outside this kernel, writes this cell's score."),
}


def say(key: str, language: str, **values) -> str:
    """A catalogue entry in ``language``, filled in."""
    return CATALOGUE[key].get(language).format(**values)


def says(key: str, **values) -> Text:
    """A catalogue entry in both languages, filled in."""
    entry = CATALOGUE[key]
    return Text(entry.ja.format(**values), entry.en.format(**values))


def width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


# A run of narrow characters without spaces (a word, a number, a shape), one wide character, or spaces.
_TOKENS = re.compile(r"[^\s\u1100-\uffef]+|[\u1100-\uffef]|\s+")


# Never at the start of a line (Japanese line breaking, kinsoku): closing brackets and punctuation.
_NO_LINE_START = set("）)」』】〕］]、。，．,.：:；;！!？?ー・")


def wrap(text: str, indent: str, limit: int = WRAP) -> list[str]:
    """``text`` in lines of at most ``limit`` columns after ``indent``, broken at spaces or between
    Japanese characters (which need no spaces), never inside an English word or a number."""
    lines, line = [], ""
    for token in _TOKENS.findall(text):
        if line and not token.isspace() and width(line) + width(token) > limit and token not in _NO_LINE_START:
            lines.append(line.rstrip())
            line = ""
        if not (token.isspace() and not line):
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return [indent + line for line in lines]


def check_lines(verdict: Verdict) -> list[str]:
    """``✓ 1/1  name`` (and `` — message`` when a passed check says more than OK, on the next line
    if it does not fit); a failed check adds, on their own indented, wrapped lines, its English
    name (under Japanese) and the reason: what is wrong, with what was expected beside what was found."""
    mark = PASSED if verdict.passed else FAILED
    points = f"{mark} {verdict.score:g}/{verdict.max_score:g}  "
    message = (verdict.message or "").strip()
    indent = " " * REASON_INDENT
    lines = wrap(verdict.name, " " * len(points), LINE - len(points))   # a long name wraps under itself
    lines[0] = points + lines[0].lstrip()
    if verdict.passed:
        if not message or message == "OK":
            return lines
        if len(lines) == 1 and width(lines[0] + f" — {message}") <= LINE:
            return [lines[0] + f" — {message}"]
        return lines + wrap(message, indent)   # e.g. an accuracy beside its handout figure
    if verdict.english and verdict.english != verdict.name:
        lines += wrap(f"({verdict.english})", indent)
    for paragraph in message.splitlines():
        if paragraph.startswith(" ") or "|" in paragraph:   # tables keep their columns
            lines.append(indent + paragraph)
        else:
            lines += wrap(paragraph, indent)
    return lines


def block(verdicts: Iterable[Verdict]) -> list[str]:
    """Every check's lines, in order."""
    return [line for verdict in verdicts for line in check_lines(verdict)]

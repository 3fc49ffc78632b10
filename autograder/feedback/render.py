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
from dataclasses import dataclass, replace
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
    subject: str | None = None   # its task (a contract function, "variant X"): checks group by it
    diagnosis: str | None = None   # the mistake behind it, said once per task (``tasks``)
    exhibit: dict | None = None    # what the HTML feedback shows beside it (autograder.exhibits)

    @property
    def passed(self) -> bool:
        return self.score == self.max_score


@dataclass(frozen=True)
class Task:
    """One task's checks as the feedback presents them: its mistakes first, each said once."""
    subject: str | None
    diagnoses: list[str]       # the checks' diagnoses, then reasons two or more failed checks share
    verdicts: list[Verdict]    # those shared reasons taken out of each (``as_above`` where nothing is left)


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
    "diagnosis": Text("原因: {text}", "the mistake: {text}"),
    "as_above": Text("(上の「原因」のとおり)", "(see the mistake above)"),
    "pytest_feedback_page": Text("図と表つきの結果: {path}", "results with figures and tables: {path}"),
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
        if is_table_line(paragraph):   # tables keep their columns
            lines.append(indent + paragraph)
        else:
            lines += wrap(paragraph, indent)
    return lines


def tasks(verdicts: Iterable[Verdict], language: str) -> list[Task]:
    """The checks grouped by task, in the order tasks first appear. A task's diagnoses are those of
    its failed checks, then every line of reason that two or more of them share word for word (a
    stub's NotImplementedError, a crash): a student reads each mistake once, above the checks,
    and under each check only the facts that are its own."""
    grouped: dict[str | None, list[Verdict]] = {}
    for index, verdict in enumerate(verdicts):
        grouped.setdefault(verdict.subject if verdict.subject is not None else f"\0{index}", []).append(verdict)
    result = []
    for subject, members in grouped.items():
        failed = [v for v in members if not v.passed]
        diagnoses = list(dict.fromkeys(v.diagnosis.strip() for v in failed if v.diagnosis and v.diagnosis.strip()))
        counts: dict[str, int] = {}
        for verdict in failed:
            for line in dict.fromkeys(_reason_lines(verdict.message)):
                counts[line] = counts.get(line, 0) + 1
        shared = [line for line, count in counts.items() if count > 1 and line not in diagnoses]
        diagnoses += shared
        kept = []
        for verdict in members:
            if not verdict.passed and shared:
                lines = [line for line in (verdict.message or "").splitlines() if line.strip() not in shared]
                message = "\n".join(lines).strip() or say("as_above", language)
                verdict = replace(verdict, message=message)
            kept.append(verdict)
        result.append(Task(None if subject.startswith("\0") else subject, diagnoses, kept))
    return result


def is_table_line(line: str) -> bool:
    """A line of a reason's table (architecture.diff_table's rows): kept whole, never prose."""
    return line.startswith(" ") or "|" in line


def _reason_lines(message: str) -> list[str]:
    """A reason's lines that could be a diagnosis: prose, not a table's rows."""
    return [line.strip() for line in (message or "").splitlines() if line.strip() and not is_table_line(line)]


def diagnosis_lines(text: str, language: str) -> list[str]:
    return wrap(say("diagnosis", language, text=text), "", LINE)


def block(verdicts: Iterable[Verdict], language: str = "en") -> list[str]:
    """Every task's diagnoses, then its checks' lines, in order."""
    lines = []
    for task in tasks(verdicts, language):
        for text in task.diagnoses:
            lines += diagnosis_lines(text, language)
        lines += [line for verdict in task.verdicts for line in check_lines(verdict)]
    return lines

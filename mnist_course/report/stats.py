"""The class's statistics on one assignment, from its students' rows.

In: ``StudentResult`` rows. Out: each check's graded and failed students (``summarize_checks`` →
``CheckSummary``) and the common mistakes, failure messages grouped with their numbers masked
(``mistake_key``, ``common_mistakes`` → ``Mistake``). No files, no nbgrader.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Iterable

from .rows import CheckResult, CheckSummary, Mistake, StudentResult

# Numbers that are values (not part of a name such as float32 or uint8): masked when failure
# messages are grouped, so that one mistake made with different inputs counts as one.
_VALUE = re.compile(r"(?<![A-Za-z0-9_.])[-+]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")


def mistake_key(message: str) -> str:
    return " ".join(_VALUE.sub("#", message).split())


def summarize_checks(students: Iterable[StudentResult]) -> tuple[CheckSummary, ...]:
    """Each check, in the grader's order: who was graded on it, who lost points on it."""
    graded: dict[str, list[tuple[str, CheckResult]]] = defaultdict(list)
    for student in students:
        for check in student.checks:
            graded[check.name].append((student.student, check))
    return tuple(CheckSummary(name, results[0][1].title, results[0][1].subject,
                              tuple(s for s, _ in results), tuple(s for s, check in results if not check.passed))
                 for name, results in graded.items())


def common_mistakes(students: Iterable[StudentResult]) -> tuple[Mistake, ...]:
    """The failure messages of each task (numbers aside), with who got them on which checks.

    A task's checks often fail for one reason (a float64 array fails every one_hot check): one
    mistake, counted once per student, listing its checks.
    """
    groups: dict[tuple[str, str], list[tuple[str, CheckResult]]] = defaultdict(list)
    for student in students:
        for check in student.failed:
            groups[(check.subject, mistake_key(check.output))].append((student.student, check))
    subjects = list(dict.fromkeys(subject for subject, _ in groups))
    mistakes = [Mistake(subject, Counter(check.output for _, check in members).most_common(1)[0][0],
                        tuple(dict.fromkeys(student for student, _ in members)),
                        tuple(dict.fromkeys(check.name for _, check in members)))
                for (subject, _), members in groups.items()]
    return tuple(sorted(mistakes, key=lambda m: (subjects.index(m.subject), -len(m.students), m.message)))

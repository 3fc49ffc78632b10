"""Which figures the feedback will show, guessed where the figure still is: the worker draws a
figure (``describe.picture``) only when a public plot check on it fails, as the grader will conclude
from the same description (``autograder.checks.plots``), and of a figure of many panels only the
rows of the panels at fault. Drawing all 50 panels under a constrained layout takes half a second;
a figure every check passes is never shown.

A hint and nothing more: the grader decides every score from the outcome itself. Student code in
this process can change what this module concludes, and so only which of its own figures are drawn.
"""

from __future__ import annotations

import functools
from pathlib import Path


@functools.lru_cache(maxsize=1)
def _checks_by_probe() -> dict[str, list]:
    from autograder.checks import plots

    checks: dict[str, list] = {}
    for check in plots.checks():
        if len(check.probes) == 1:   # a drawing's own checks; the ValueError promise needs three probes
            checks.setdefault(check.probes[0]["id"], []).append(check)
    return checks


def warm_up() -> None:
    """Build the checks before the guard records the worker (and before any student code runs)."""
    _checks_by_probe()


def faults(probe_id: str, described: dict, workdir: str) -> list[int] | None:
    """What the plot checks on ``probe_id`` find at fault in this figure's description (kind
    "figure"): None when every one passes, else the panels they name ([]: the figure as a whole)."""
    from autograder.core import Evidence

    evidence = Evidence({probe_id: {"status": "ok", **described}}, Path(workdir))
    panels: set[int] = set()
    failed = False
    for check in _checks_by_probe().get(probe_id, []):
        try:
            verdict = check.evaluate(evidence)
        except Exception:   # what the grader would make of it is for the grader to say: draw all of it
            return []
        if verdict.fraction < 1:
            failed = True
            marked = verdict.exhibit.get("marked") if isinstance(verdict.exhibit, dict) else None
            if not marked:
                return []
            panels.update(marked)
    return sorted(panels) if failed else None

"""Proof that a change to the grader's insides changes no grade: the recorded results of the
reference, the stubs, every mutant and every correct alternative.

``tests/golden/results.json`` holds, per graded submission (keyed by the test that grades it),
every check's name, score, maximum and message in both languages, as the grader gave them before
the restructure of the grader into ``autograder.protocol``/``worker/``/``retraining`` (recorded
from 17d82b2). The meta-tests that grade those submissions compare their report with it.

The hidden checks' inputs come from the tests' course secret (``tests.submissions.TEST_SECRET``):
the recording holds what a course with that secret would get.

A change that is meant to change a grade or a message: rerun those tests with
``MNIST_UPDATE_GOLDEN=1`` and review the diff of results.json like any other change.

A change that only adds checks: rerun them with ``MNIST_UPDATE_GOLDEN=new-checks``, on any machine.
Each recorded submission gets the rows of the new checks, where the report puts them, and every
recorded row must come out as recorded (else it fails, as without the variable); a submission not
recorded yet (a new mutant) is recorded whole, unless it holds an accuracy check (their messages
belong to the recording's machine).

Accuracies are float results: their messages are compared only on the machine kind and library
versions that recorded them (``ENVIRONMENT``; the rule of ``test_the_grader_trains_exactly_as_calibrated``);
elsewhere an accuracy check's score is compared and its message is not.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "results.json"


ENVIRONMENT = "__recorded_on__"   # the key holding the machine and library versions of the recording


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    """This machine and these libraries, as benchmarks/calibrate.py describes them."""
    spec = importlib.util.spec_from_file_location("calibrate", REPO / "benchmarks" / "calibrate.py")
    calibrate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(calibrate)
    return {"machine": calibrate.machine(), **calibrate.versions()}


def _rows(report) -> list[dict]:
    # A diagnosis (autograder.core.Verdict.diagnosis: the mistake, said once per task) is recorded
    # beside the message, only where a check gives one.
    return [{"name": r.name, "score": r.score, "max_score": r.max_score, "ja": r.message.ja, "en": r.message.en,
             **({"diagnosis_ja": r.diagnosis.ja, "diagnosis_en": r.diagnosis.en} if r.diagnosis else {})}
            for r in report.results]


def _comparable(rows: list[dict], exact_accuracies: bool) -> list[dict]:
    if exact_accuracies:
        return rows
    return [{key: value for key, value in row.items() if key in ("name", "score", "max_score")}
            if "test accuracy" in row["name"] else row for row in rows]


def assert_unchanged(report, key: str) -> None:
    """``report`` gives exactly the recorded results for ``key`` (or records them, when updating)."""
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    rows = _rows(report)
    if os.environ.get("MNIST_UPDATE_GOLDEN") == "1":
        if recorded.get(ENVIRONMENT, environment()) != environment():
            raise AssertionError("results.json was recorded on another machine or with other libraries: "
                                 "record all of it again here (delete it first), not one entry")
        recorded[ENVIRONMENT] = environment()
        recorded[key] = rows
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(recorded, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return
    exact = recorded.get(ENVIRONMENT) == environment()
    if os.environ.get("MNIST_UPDATE_GOLDEN") == "new-checks":
        _record_new_checks(recorded, key, rows, exact)
        return
    assert key in recorded, f"no recorded results for {key!r}: record them with MNIST_UPDATE_GOLDEN=1"
    expected, actual = _comparable(recorded[key], exact), _comparable(rows, exact)
    changed = [(before, after) for before, after in zip(expected, actual) if before != after]
    assert len(expected) == len(actual) and not changed, (
        f"{key}: the grader's results changed ({len(expected)} recorded checks, {len(actual)} now):\n"
        + "\n".join(f"  before: {before}\n  after:  {after}" for before, after in changed[:5]))


def _record_new_checks(recorded: dict, key: str, rows: list[dict], exact: bool) -> None:
    """``MNIST_UPDATE_GOLDEN=new-checks``: add the rows of checks the recording does not have yet."""
    if key in recorded:
        known = {row["name"] for row in recorded[key]}
        old = [row for row in rows if row["name"] in known]
        expected, actual = _comparable(recorded[key], exact), _comparable(old, exact)
        assert expected == actual, f"{key}: a recorded check's result changed; this mode only adds checks"
        # The recorded rows stay as recorded (an accuracy's message is the recording machine's).
        by_name = {row["name"]: row for row in recorded[key]}
        rows = [by_name.get(row["name"], row) for row in rows]
    else:
        assert exact or not any("test accuracy" in row["name"] for row in rows), \
            f"{key}: a new submission with accuracy checks is recorded only where results.json was"
    recorded[key] = rows
    GOLDEN.write_text(json.dumps(recorded, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")

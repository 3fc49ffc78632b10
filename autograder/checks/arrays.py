"""Checks of functions that return arrays, made from seeded inputs: the probe that calls the function
on them, the verdict that compares its answer (with hints for the mistakes students make), and
the twin that confirms a public check on the same inputs in an order drawn from the course's
secret, so that answers hard-coded for the published inputs earn nothing. Used by the
preprocessing checks (``autograder.checks.preprocessing``).
"""

from __future__ import annotations

import numpy as np

from autograder.core import Check, Evidence, Text, Verdict, compare_arrays
from autograder.secret import CourseSecret


def array_probe(probe_id, task, arrays, **extra):
    args = [{"npy": f"{probe_id}.{name}.npy"} for name in arrays]
    return {"id": probe_id, "module": "preprocessing", "task": task, "kind": "array", "args": args,
            "arrays": {f"{probe_id}.{name}.npy": array for name, array in arrays.items()}, **extra}


HIDDEN = Text("（非公開の入力）", " (hidden inputs)")


def array_check(name: Text, task, probe, expected, hidden=False, points=1.0, unchanged=True, mistakes=(), twin=None,
                 secret: CourseSecret | None = None, **compare):
    """``mistakes``: (wrong answer, hint) pairs; a result equal to a wrong answer gets its hint as
    the verdict's diagnosis.

    With the course's ``secret``, a public check also carries a ``twin`` (the same inputs with the
    rows in an order the secret decides, by default) that runs with the hidden checks: it must pass
    too, so that answers hard-coded for the published inputs earn nothing at grading.
    """
    if twin is None and not hidden and secret is not None:
        twin = reordered(probe, expected, secret)

    def evaluate(evidence: Evidence) -> Verdict:
        verdict = array_verdict(evidence, probe, expected, unchanged, mistakes, compare)
        if verdict.fraction < 1 or twin is None or twin[0]["id"] not in evidence.results:
            return verdict
        confirmed = array_verdict(evidence, twin[0], twin[1], unchanged, (), compare)
        return verdict if confirmed.fraction == 1 else Verdict(0.0, HARD_CODED + confirmed.message)
    name = name + HIDDEN if hidden else name
    return Check(f"{task}: {name.en}", task, points, [probe], evaluate, hidden=hidden,
                 confirmations=[twin[0]] if twin else [], title_ja=f"{task}: {name.ja}")


def array_verdict(evidence, probe, expected, unchanged, mistakes, compare) -> Verdict:
    problem = evidence.failure(probe["id"], "numpy.ndarray")
    if problem:
        return problem
    actual = evidence.array(probe["id"])
    verdict = compare_arrays(actual, expected, **compare)
    if verdict.fraction < 1:
        for wrong, hint in mistakes:
            if compare_arrays(actual, wrong, **compare).fraction == 1:
                # The mistake, named once per task however many checks it fails (autograder.feedback.render).
                return Verdict(verdict.fraction, verdict.message, diagnosis=hint)
        return verdict
    if unchanged and evidence.result(probe["id"]).get("inputs_changed"):
        return Verdict.failed("入力配列が書き換えられています。新しい配列を返してください。",
                              "the input array was modified; return a new array instead.")
    return verdict


HARD_CODED = Text("公開された入力では正しいのに、同じ入力の行を並べ替えただけで違う答えになります "
                  "(公開入力の答えを埋め込んでいませんか?): ",
                  "right on the published inputs, but not on the same inputs with the rows in another order "
                  "(answers hard-coded for the published inputs?): ")


def twin_of(probe, arrays: dict, expected) -> tuple[dict, np.ndarray]:
    """A probe like ``probe`` on other ``arrays`` (same names), expecting ``expected``."""
    twin_id = f"{probe['id']}.twin"
    names = [spec["npy"].removeprefix(f"{probe['id']}.").removesuffix(".npy") for spec in probe["args"]]
    twin = dict(probe, id=twin_id, args=[{"npy": f"{twin_id}.{name}.npy"} for name in names],
                arrays={f"{twin_id}.{name}.npy": arrays[name] for name in names})
    return twin, expected


def reordered(probe, expected, secret: CourseSecret):
    """The twin of a row-wise task: no row where it was, in the secret's order; None for one row."""
    arrays = {name.removeprefix(f"{probe['id']}.").removesuffix(".npy"): array
              for name, array in probe["arrays"].items()}
    if any(len(array) < 2 for array in arrays.values()):
        return None
    order = derangement(secret.rng(f"{probe['id']}.twin"), len(expected))
    return twin_of(probe, {name: array[order] for name, array in arrays.items()}, expected[order])


def derangement(rng, count: int) -> np.ndarray:
    """A permutation of ``count`` (≥ 2) positions that moves every one."""
    while True:
        order = rng.permutation(count)
        if (order != np.arange(count)).all():
            return order


def random_images(rng, count, dtype=np.uint8):
    return rng.integers(0, 256, size=(count, 28, 28)).astype(dtype)

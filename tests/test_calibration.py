"""The grading thresholds agree with the recorded calibration (benchmarks/calibration.json).

No training here: the file records what ``benchmarks/calibrate.py`` measured for the reference
models under the grader's own training. These tests fail when a variant's budget changes without a
new calibration, when a threshold sits closer to the reference's worst seed than its margin, or
when a variant was never calibrated.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from mnist_kit import variants

CALIBRATION = Path(__file__).resolve().parent.parent / "benchmarks" / "calibration.json"
MIN_SEEDS = 5
MIN_MARGIN = 0.005
TRAIN_IMAGES = 60_000


@pytest.fixture(scope="module")
def calibration() -> dict:
    assert CALIBRATION.is_file(), f"{CALIBRATION} is missing: run benchmarks/calibrate.py"
    return json.loads(CALIBRATION.read_text())


def test_every_variant_is_calibrated(calibration):
    recorded = set(calibration["variants"])
    table = {variant.id for variant in variants.VARIANTS}
    assert table - recorded == set(), f"never calibrated: {sorted(table - recorded)}"
    assert recorded - table == set(), f"calibrated but not in the table: {sorted(recorded - table)}"


def test_calibration_names_its_environment(calibration):
    for key in ("tensorflow", "keras", "updated"):
        assert calibration.get(key), key


@pytest.mark.parametrize("variant", variants.VARIANTS, ids=lambda v: v.id)
def test_budget_matches_calibration(calibration, variant):
    record = calibration["variants"][variant.id]
    assert variant.budget is not None
    assert record["budget"] == dataclasses.asdict(variant.budget), \
        f"{variant.id}: the budget changed since calibration; rerun benchmarks/calibrate.py --variants {variant.id}"


@pytest.mark.parametrize("variant", variants.VARIANTS, ids=lambda v: v.id)
def test_threshold_sits_a_margin_below_the_worst_seed(calibration, variant):
    record = calibration["variants"][variant.id]
    accuracies = list(record["accuracies"].values())
    assert len(accuracies) >= MIN_SEEDS, f"{variant.id}: only {len(accuracies)} seed(s) calibrated"
    assert record["min"] == min(accuracies) and record["max"] == max(accuracies)
    assert variant.margin >= MIN_MARGIN
    assert 0 < variant.threshold <= record["min"] - variant.margin + 1e-9
    # The table states what the calibration derived, not a looser figure chosen by hand.
    assert (variant.threshold, variant.margin) == (record["threshold"], record["margin"])


# Budgets given in steps; the others train whole epochs, where Keras takes every batch of the data.
STEPPED = [variant for variant in variants.VARIANTS if variant.budget.steps_per_epoch is not None]


def test_some_budgets_are_given_in_steps():
    assert STEPPED and len(STEPPED) < len(variants.VARIANTS)


@pytest.mark.parametrize("variant", STEPPED, ids=lambda v: v.id)
def test_budget_trains_the_steps_it_names(variant):
    # Keras never crosses a pass over the data inside an epoch given in steps: epochs x steps
    # beyond one pass would silently train fewer steps than the budget says.
    budget = variant.budget
    batches_per_pass = math.ceil(TRAIN_IMAGES * (1 - variant.validation_split) / budget.batch_size)
    assert budget.epochs * budget.steps_per_epoch <= batches_per_pass
    # Keras runs whole executions: a step count the execution size does not divide would train more.
    from autograder.training.retraining import steps_per_execution

    assert budget.steps_per_epoch % steps_per_execution(budget) == 0


@pytest.mark.parametrize("variant", variants.VARIANTS, ids=lambda v: v.id)
def test_scoring_uses_at_least_half_the_test_set(variant):
    assert variant.budget.test_stride in (1, 2)

"""autograder.training.retraining's pure parts: vetting early-stopping settings, and steps per execution."""

from __future__ import annotations

import math

import pytest

from autograder.training.retraining import STEPS_PER_EXECUTION, early_stopping_trial, steps_per_execution, usable_settings
from mnist_kit.variants import VARIANTS, Budget

# keras.callbacks.EarlyStopping()'s settings as the worker reads them.
DEFAULTS = {"monitor": "val_loss", "min_delta": 0, "patience": 0, "mode": "auto", "baseline": None,
            "restore_best_weights": False, "start_from_epoch": 0}


def test_usable_settings_become_a_hashable_tuple_in_a_fixed_order():
    chosen = usable_settings({**DEFAULTS, "patience": 3, "min_delta": 0.01, "extra": "ignored"})
    assert chosen == (("monitor", "val_loss"), ("min_delta", 0.01), ("patience", 3), ("mode", "auto"),
                      ("baseline", None), ("restore_best_weights", False), ("start_from_epoch", 0))
    hash(chosen)   # try_early_stopping is an lru_cache: a list among the values would raise here


@pytest.mark.parametrize("key, value", [
    ("baseline", 0.5), ("baseline", 1), ("patience", 1000), ("start_from_epoch", 1000), ("monitor", "m" * 100),
    ("min_delta", -0.5), ("restore_best_weights", True),
])
def test_settings_inside_the_ranges_are_usable(key, value):
    assert dict(usable_settings({**DEFAULTS, key: value}))[key] == value


@pytest.mark.parametrize("key, value", [
    ("patience", True),              # a bool is an int to isinstance, not to the grader
    ("patience", 2.0),
    ("patience", "3"),
    ("patience", -1),
    ("patience", 1001),
    ("start_from_epoch", 10 ** 9),
    ("min_delta", math.nan),
    ("min_delta", math.inf),
    ("baseline", -math.inf),
    ("baseline", "0.5"),
    ("restore_best_weights", 1),
    ("mode", None),
    ("monitor", 3),
    ("monitor", None),
    ("min_delta", None),
])
def test_a_setting_of_the_wrong_type_or_range_is_named(key, value):
    assert usable_settings({**DEFAULTS, key: value}) == f"{key}={value!r}"


def test_a_missing_setting_is_named():
    settings = dict(DEFAULTS)
    del settings["mode"]
    assert usable_settings(settings) == "mode=None"


def test_a_long_monitor_is_named_without_repeating_it():
    assert usable_settings({**DEFAULTS, "monitor": "m" * 101}) == "monitor=…"


@pytest.mark.parametrize("result", [
    {"status": "error", "is_early_stopping": True, "settings": DEFAULTS},
    {"status": "ok", "is_early_stopping": False, "settings": DEFAULTS},
    {"status": "ok", "is_early_stopping": True, "settings": "patience=0"},
])
def test_no_trial_without_an_early_stopping_callback(result):
    assert early_stopping_trial(result) is None


def test_unusable_settings_are_not_tried():
    # The settings fail vetting before any Keras import, so this stays TensorFlow-free.
    trial = early_stopping_trial({"status": "ok", "is_early_stopping": True, "settings": {**DEFAULTS, "patience": -2}})
    assert trial.unusable == "patience=-2" and trial.run is None and trial.error is None


@pytest.mark.parametrize("steps, expected", [(None, STEPS_PER_EXECUTION), (200, 50), (100, 50), (60, 30),
                                             (50, 50), (49, 49), (7, 7), (53, 1), (1, 1)])
def test_steps_per_execution_is_the_largest_divisor_up_to_the_cap(steps, expected):
    assert steps_per_execution(Budget(batch_size=32, steps_per_epoch=steps)) == expected


def test_no_budget_runs_the_cap():
    assert steps_per_execution(None) == STEPS_PER_EXECUTION


@pytest.mark.parametrize("variant", VARIANTS, ids=[variant.id for variant in VARIANTS])
def test_every_variants_budget_trains_exactly_its_steps(variant):
    # Keras runs whole executions: a step count it does not divide would train more steps.
    per_call = steps_per_execution(variant.budget)
    assert 1 <= per_call <= STEPS_PER_EXECUTION
    steps = variant.budget.steps_per_epoch
    assert steps is None or steps % per_call == 0

"""autograder.protocol: the names that tie probes and checks to variants, and what crosses to the worker."""

from __future__ import annotations

from typing import get_args

import pytest

from autograder.protocol import (SANDBOX_STATUSES, STATUSES, Status, outcome, subject_of_item,
                                 variant_of_probe, variant_of_subject, variant_probe_id, variant_subject, wire)
from mnist_kit.variants import VARIANTS

VARIANT_IDS = [variant.id for variant in VARIANTS]


@pytest.mark.parametrize("variant_id", VARIANT_IDS)
def test_a_variants_subject_and_probe_id_lead_back_to_it(variant_id):
    assert variant_of_subject(variant_subject(variant_id)) == variant_id
    assert variant_of_probe(variant_probe_id(variant_id)) == variant_id
    assert subject_of_item(variant_id) == variant_subject(variant_id)
    assert subject_of_item(f"  {variant_id}\n") == variant_subject(variant_id)


@pytest.mark.parametrize("variant_id", VARIANT_IDS)
def test_a_subject_is_not_a_probe_id_nor_the_other_way_round(variant_id):
    assert variant_of_probe(variant_subject(variant_id)) is None
    assert variant_of_subject(variant_probe_id(variant_id)) is None


def test_the_variant_names_are_distinct():
    assert len({variant_subject(v) for v in VARIANT_IDS}) == len({variant_probe_id(v) for v in VARIANT_IDS}) \
        == len(VARIANT_IDS)


@pytest.mark.parametrize("name", ["one_hot", "build_mlp", "fit_model", "variant", "Variant D"])
def test_a_contract_function_is_no_variant(name):
    assert variant_of_subject(name) is None
    assert variant_of_probe(name) is None
    assert subject_of_item(name) == name


def test_an_unknown_variant_id_names_itself_not_a_variant():
    # Anything that is not a variant id is taken for a contract function's name.
    assert subject_of_item("Z") == "Z"


def test_wire_sends_the_probe_without_the_graders_keys():
    probe = {"id": "one_hot", "module": "preprocessing", "task": "one_hot", "kind": "array",
             "args": [{"npy": "labels.npy"}], "track_to_categorical": True,
             "arrays": {"labels.npy": [1, 2, 3]}, "then": "read_model"}
    sent = wire(probe)
    assert sent == {key: value for key, value in probe.items() if key not in ("arrays", "then")}
    assert "arrays" in probe and "then" in probe      # the planned probe itself is left as it was


def test_the_status_set_is_the_status_literal():
    assert STATUSES == frozenset(get_args(Status))
    assert len(get_args(Status)) == len(STATUSES) == 10
    assert SANDBOX_STATUSES < STATUSES


def test_an_outcome_built_on_the_trusted_side_must_have_a_known_status():
    assert outcome("timeout", seconds=30.0) == {"status": "timeout", "seconds": 30.0}
    with pytest.raises(AssertionError):
        outcome("exploded")

"""The reference models: exact parameter counts for every handout variant, and the CNN's layers."""

import keras
import numpy as np
import pytest

from mnist_kit import variants


@pytest.mark.parametrize("variant", variants.VARIANTS, ids=lambda v: v.id)
def test_parameter_count_of_every_variant(reference, variant):
    model = getattr(reference.models, variant.builder)(**variant.build_kwargs)
    assert model.count_params() == variant.params
    assert model.output_shape == (None, 10)


def test_contract_table_counts():
    # The counts the course quotes (exercise contract, issue #2), independent of the table's rows.
    assert sorted({v.params for v in variants.VARIANTS}) == [12_730, 50_890, 101_770, 109_386, 665_738]


def layer_summary(model):
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        rows.append((type(layer).__name__, config.get("units") or config.get("filters"),
                     config.get("activation"), config.get("rate"), config.get("padding")))
    return rows


def test_mlp_layers_with_dropout(reference):
    model = reference.models.build_mlp((128, 64), "sigmoid", dropout=0.2, output_activation="softmax")
    assert layer_summary(model) == [
        ("Flatten", None, None, None, None),
        ("Dense", 128, "sigmoid", None, None),
        ("Dropout", None, None, 0.2, None),
        ("Dense", 64, "sigmoid", None, None),
        ("Dropout", None, None, 0.2, None),
        ("Dense", 10, "softmax", None, None),
    ]


def test_mlp_without_dropout_has_no_dropout_layer(reference):
    model = reference.models.build_mlp()
    assert [type(layer).__name__ for layer in model.layers] == ["Flatten", "Dense", "Dense"]
    assert model.layers[-1].get_config()["activation"] == "linear"  # None means logits


@pytest.mark.parametrize("input_shape", [(28, 28), (28, 28, 1), (784,)])
def test_mlp_accepts_each_input_shape(reference, input_shape):
    model = reference.models.build_mlp((16,), input_shape=input_shape)
    batch = np.zeros((3, *input_shape), np.float32)
    assert model.predict(batch, verbose=0).shape == (3, 10)


def test_cnn_matches_handout_003_summary(reference):
    model = reference.models.build_cnn()
    assert layer_summary(model) == [
        ("Conv2D", 64, "relu", None, "same"),
        ("MaxPooling2D", None, None, None, "valid"),
        ("Conv2D", 128, "relu", None, "valid"),
        ("MaxPooling2D", None, None, None, "valid"),
        ("Dropout", None, None, 0.5, None),
        ("Flatten", None, None, None, None),
        ("Dense", 128, "relu", None, None),
        ("Dropout", None, None, 0.25, None),
        ("Dense", 10, "softmax", None, None),
    ]
    # Per-layer counts from the handout's model.summary()
    assert [layer.count_params() for layer in model.layers] == [640, 0, 73_856, 0, 0, 0, 589_952, 0, 1_290]
    assert model.get_layer(index=5).output.shape == (None, 4608)


def test_models_are_uncompiled(reference):
    assert not reference.models.build_mlp().compiled
    assert not reference.models.build_cnn().compiled
    assert isinstance(reference.models.build_cnn(), keras.Model)

"""autograder.training.architecture: reading a model's JSON as plain data, without Keras."""

from __future__ import annotations

import copy
import json

import pytest

from autograder.training import architecture
from autograder.training.architecture import (ArchitectureError, UnsafeModel, canonical_activation, canonical_json,
                                     check_architecture, diff_table, expected_input_shape, expected_rows,
                                     layer_rows, read_model)
from autograder.feedback.render import width
from mnist_kit.variants import BY_ID, VARIANTS
from tests.unit import keras_json as kj

VARIANT_IDS = [variant.id for variant in VARIANTS]


def _without_names(value):
    if isinstance(value, dict):
        return {key: _without_names(item) for key, item in value.items() if key != "name"}
    if isinstance(value, list):
        return [_without_names(item) for item in value]
    return value


def test_the_hand_written_json_matches_what_keras_printed():
    # Every other test here feeds the builders' JSON to the grader; this ties them to Keras's own.
    built = kj.sequential((28, 28), kj.flatten(), kj.dense(64, "sigmoid"), kj.dense(10))
    assert _without_names(built) == _without_names(kj.VARIANT_A)


# --- canonical activations ----------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling, name", [
    (None, "linear"),
    ("relu", "relu"),
    ("softmax_v2", "softmax"),          # tf.nn.softmax's function name
    ({"class_name": "function", "config": "relu"}, "relu"),
    ({"module": "keras.activations", "class_name": "function", "config": "sigmoid", "registered_name": "function"},
     "sigmoid"),
    ({"class_name": "ReLU", "config": {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}}, "relu"),
    ({"class_name": "Softmax", "config": {"axis": -1}}, "softmax"),
])
def test_equivalent_activation_spellings_read_as_one_keras_name(spelling, name):
    assert canonical_activation(spelling) == name


def test_an_unknown_activation_name_is_kept_so_the_table_can_show_it():
    assert canonical_activation("swish") == "swish"


@pytest.mark.parametrize("spelling", [
    {"class_name": "ReLU", "config": {"max_value": 6.0}},          # relu6 is not relu
    {"class_name": "ReLU", "config": {"negative_slope": 0.1}},     # leaky relu
    {"class_name": "ReLU", "config": {"threshold": 0.5}},
    {"class_name": "function", "config": "my_activation"},
    {"class_name": "Lambda", "config": {"function": "x"}},
    42,
    ["relu"],
])
def test_activations_that_are_not_a_plain_builtin_are_refused(spelling):
    with pytest.raises(ArchitectureError, match="unsupported activation"):
        canonical_activation(spelling)


def test_an_activation_object_without_settings_is_refused_as_an_architecture_error():
    with pytest.raises(ArchitectureError):
        canonical_activation({"class_name": "ReLU", "config": None})


def test_canonical_json_spells_every_activation_as_a_plain_name():
    model = kj.sequential((28, 28), kj.flatten(), kj.dense(64, {"class_name": "function", "config": "relu"}),
                          kj.activation({"class_name": "function", "config": "softmax_v2"}), kj.dense(10, None))
    layers = json.loads(canonical_json(kj.to_json(model)))["config"]["layers"]
    assert [layer["config"].get("activation") for layer in layers] == [None, None, "relu", "softmax", "linear"]


@pytest.mark.parametrize("text", ["not json", "[]", '{"config": {}}', '{"config": null}'])
def test_canonical_json_refuses_what_is_not_a_keras_model(text):
    with pytest.raises(ArchitectureError):
        canonical_json(text)


# --- layer rows ---------------------------------------------------------------------------------------------

RELU_64 = [{"layer": "Flatten"}, {"layer": "Dense", "units": 64, "activation": "relu"}]


@pytest.mark.parametrize("layers", [
    [kj.dense(64, "relu")],
    [kj.dense(64, {"class_name": "function", "config": "relu"})],
    [kj.dense(64, {"module": "keras.activations", "class_name": "function", "config": "relu",
                   "registered_name": "function"})],
    [kj.dense(64), kj.activation("relu")],
    [kj.dense(64), kj.activation({"class_name": "function", "config": "relu"})],
    [kj.dense(64), kj.relu()],
    [kj.dense(64, None), kj.relu()],
], ids=["string", "function-object", "keras-activations", "Activation-layer", "Activation-of-function",
        "ReLU-layer", "None-then-ReLU"])
def test_every_spelling_of_a_relu_dense_reads_as_the_same_row(layers):
    assert layer_rows(kj.to_json(kj.sequential((28, 28), kj.flatten(), *layers))) == RELU_64


def test_an_activation_layer_after_a_nonlinear_dense_stays_a_row_of_its_own():
    rows = layer_rows(kj.to_json(kj.sequential((28, 28), kj.flatten(), kj.dense(64, "sigmoid"),
                                               kj.activation("relu"))))
    assert rows[1:] == [{"layer": "Dense", "units": 64, "activation": "sigmoid"},
                        {"layer": "Activation", "activation": "relu"}]


def test_an_activation_layer_with_nothing_to_fold_into_stays_a_row_of_its_own():
    rows = layer_rows(kj.to_json(kj.sequential((28, 28), kj.flatten(), kj.softmax())))
    assert rows == [{"layer": "Flatten"}, {"layer": "Activation", "activation": "softmax"}]


def test_a_relu_layer_after_a_linear_convolution_folds_into_it():
    rows = layer_rows(kj.to_json(kj.sequential((28, 28, 1), kj.conv2d(8, kernel=3, strides=1), kj.relu())))
    assert rows == [{"layer": "Conv2D", "filters": 8, "kernel": (3, 3), "padding": "valid", "strides": (1, 1),
                     "activation": "relu"}]


@pytest.mark.parametrize("settings", [{"max_value": 6.0}, {"negative_slope": 0.1}, {"threshold": 0.5}])
def test_a_relu_layer_with_a_cap_or_slope_does_not_read_as_plain_relu(settings):
    rows = layer_rows(kj.to_json(kj.sequential((28, 28), kj.flatten(), kj.dense(64), kj.relu(**settings))))
    assert rows != RELU_64


def test_pooling_without_strides_strides_by_its_pool_and_dropout_rates_are_rounded():
    rows = layer_rows(kj.to_json(kj.sequential((28, 28, 1), kj.max_pooling(pool=(3, 3), strides=None),
                                               kj.max_pooling(pool=(2, 2), strides=(1, 1), padding="same"),
                                               kj.dropout(0.1 + 0.2))))
    assert rows == [{"layer": "MaxPooling2D", "pool": (3, 3), "strides": (3, 3), "padding": "valid"},
                    {"layer": "MaxPooling2D", "pool": (2, 2), "strides": (1, 1), "padding": "same"},
                    {"layer": "Dropout", "rate": 0.3}]


def test_a_layer_kind_the_rows_do_not_describe_still_shows_by_its_class_name():
    rows = layer_rows(kj.to_json(kj.sequential((28, 28), kj.layer("Reshape", target_shape=[784]),
                                               kj.layer("Lambda", function="x"))))
    assert rows == [{"layer": "Reshape"}, {"layer": "Lambda"}]


def _with_layers(*extra) -> str:
    model = kj.sequential((28, 28), kj.flatten())
    model["config"]["layers"] += list(extra)
    return kj.to_json(model)


@pytest.mark.parametrize("text", [
    '{"config": {"layers": 3}}',
    _with_layers("Dense"),
    _with_layers({"class_name": "Dense", "config": None}),
], ids=["layers-not-a-list", "layer-not-an-object", "config-null"])
def test_malformed_layer_lists_are_an_architecture_error(text):
    with pytest.raises(ArchitectureError):
        layer_rows(text)


# --- expected rows: the contract against the reference --------------------------------------------------------

@pytest.mark.parametrize("variant_id", VARIANT_IDS)
def test_the_reference_model_of_every_variant_reads_as_its_expected_rows(variant_id):
    variant = BY_ID[variant_id]
    reading = read_model(kj.to_json(kj.reference_model(variant)))
    assert reading.layer_rows() == (expected_rows(variant), expected_input_shape(variant))


@pytest.mark.parametrize("variant_id", VARIANT_IDS)
def test_every_variant_expects_ten_outputs_after_a_flatten(variant_id):
    rows = expected_rows(BY_ID[variant_id])
    assert {"layer": "Flatten"} in rows
    assert rows[-1]["layer"] == "Dense" and rows[-1]["units"] == 10


def test_the_expected_rows_follow_the_variant_table():
    assert expected_rows(BY_ID["E"])[1:] == [{"layer": "Dense", "units": 128, "activation": "relu"},
                                             {"layer": "Dense", "units": 64, "activation": "relu"},
                                             {"layer": "Dense", "units": 10, "activation": "linear"}]
    assert {"layer": "Dropout", "rate": 0.4} in expected_rows(BY_ID["D-drop40"])
    assert expected_rows(BY_ID["F16"])[-1]["activation"] == "softmax"
    assert expected_input_shape(BY_ID["F16"]) == (784,)
    assert expected_input_shape(BY_ID["CNN"]) == (28, 28, 1)


# --- the diff table -------------------------------------------------------------------------------------------

def _body(lines):
    """The table's rows without its header, as (mark, expected, actual)."""
    return [(line[1], line[3:].split(" | ")[0].rstrip(), line.split(" | ")[1]) for line in lines[1:]]


def test_identical_rows_give_a_table_with_no_wrong_row():
    rows = expected_rows(BY_ID["E"])
    lines, wrong = diff_table(rows, copy.deepcopy(rows))
    assert wrong == 0
    assert len(lines) == 1 + len(rows)
    assert all(mark == " " for mark, _, _ in _body(lines))


def test_a_changed_layer_is_one_marked_row_side_by_side():
    expected = expected_rows(BY_ID["B"])
    actual = copy.deepcopy(expected)
    actual[1]["activation"] = "sigmoid"
    lines, wrong = diff_table(expected, actual)
    assert wrong == 1
    assert _body(lines)[1] == ("✗", "Dense(units=64, activation=relu)", "Dense(units=64, activation=sigmoid)")
    assert [mark for mark, _, _ in _body(lines)] == [" ", "✗", " "]


def test_a_missing_layer_shows_as_one_row_against_a_dash():
    expected = expected_rows(BY_ID["E"])
    actual = [row for row in expected if row.get("units") != 64]
    lines, wrong = diff_table(expected, actual)
    assert wrong == 1
    assert ("✗", "Dense(units=64, activation=relu)", "—") in _body(lines)
    assert len(lines) == 1 + len(expected)


def test_an_extra_layer_shows_as_one_row_against_a_dash():
    expected = expected_rows(BY_ID["D"])
    actual = [*expected[:2], {"layer": "Dropout", "rate": 0.5}, *expected[2:]]
    lines, wrong = diff_table(expected, actual)
    assert wrong == 1
    assert _body(lines)[2] == ("✗", "—", "Dropout(rate=0.5)")


def test_an_empty_model_marks_every_expected_row():
    expected = expected_rows(BY_ID["CNN"])
    lines, wrong = diff_table(expected, [])
    assert wrong == len(expected)
    assert all(actual == "—" for _, _, actual in _body(lines))


def test_the_columns_of_the_table_line_up():
    expected = expected_rows(BY_ID["CNN"])
    actual = [{"layer": "Flatten"}, {"layer": "Dense", "units": 10, "activation": "softmax"}]
    lines, _ = diff_table(expected, actual)
    # Columns as a terminal or a monospace page shows them: the header's "期待" is two code points, four columns.
    assert len({width(line[:line.index(" | ")]) for line in lines}) == 1, lines


# --- vetting ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant_id", VARIANT_IDS)
def test_the_reference_model_of_every_variant_passes_vetting(variant_id):
    model = kj.reference_model(BY_ID[variant_id])
    vetted = check_architecture(kj.to_json(model))
    assert vetted["config"]["layers"] == model["config"]["layers"]


def test_the_json_keras_printed_passes_vetting_without_its_compile_settings():
    vetted = check_architecture(kj.to_json(kj.VARIANT_A))
    assert "compile_config" not in vetted
    assert vetted["config"] == kj.VARIANT_A["config"]


def test_a_functional_model_passes_vetting():
    assert check_architecture(kj.to_json(kj.functional_mlp()))["class_name"] == "Functional"


@pytest.mark.parametrize("setting", [
    {"kernel_initializer": kj.initializer("Constant", value=0.5)},
    {"kernel_initializer": kj.initializer("VarianceScaling", scale=2.0, mode="fan_in",
                                          distribution="truncated_normal", seed=None)},
    {"kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
                            "registered_name": None}},
    {"kernel_constraint": {"module": "keras.constraints", "class_name": "MaxNorm",
                           "config": {"max_value": 2.0, "axis": 0}, "registered_name": None}},
])
def test_builtin_settings_with_scalar_values_pass_vetting(setting):
    model = kj.sequential((28, 28), kj.flatten(), kj.dense(10, **setting))
    vetted = check_architecture(kj.to_json(model))
    assert vetted["config"]["layers"][-1]["config"] == model["config"]["layers"][-1]["config"]


def _model_with(change):
    model = copy.deepcopy(kj.VARIANT_A)
    change(model)
    return model


def _dense_config(model):
    return model["config"]["layers"][2]["config"]


SMUGGLED_WEIGHTS = kj.initializer("Constant", value=[[0.1] * 10] * 64)

UNSAFE = {
    "lambda layer": (lambda m: m["config"]["layers"].append(kj.layer("Lambda", function={"code": "..."})),
                     "'Lambda'"),
    "custom layer": (lambda m: m["config"]["layers"].append(
        {"module": None, "class_name": "MyDense", "config": {}, "registered_name": "Custom>MyDense"}), "'MyDense'"),
    "builtin name from another module": (lambda m: m["config"]["layers"][2].update(module="mnist_tasks.layers"),
                                         "'mnist_tasks.layers'"),
    "registered layer": (lambda m: m["config"]["layers"][2].update(registered_name="Custom>Dense"),
                         "registered as 'Custom>Dense'"),
    "model class": (lambda m: m.update(class_name="MyModel"), "model class 'MyModel'"),
    "model module": (lambda m: m.update(module="mnist_tasks.models"), "'mnist_tasks.models'"),
    "registered model": (lambda m: m.update(registered_name="Custom>Sequential"), "Custom>Sequential"),
    "initializer from another module": (
        lambda m: _dense_config(m).update(kernel_initializer={"module": "mnist_tasks.init",
                                                              "class_name": "GlorotUniform", "config": {}}),
        "'mnist_tasks.init'"),
    "unknown initializer": (lambda m: _dense_config(m).update(kernel_initializer=kj.initializer("Pretrained")),
                            "'Pretrained'"),
    "registered initializer": (
        lambda m: _dense_config(m).update(kernel_initializer={**kj.initializer("Zeros"), "registered_name": "X>Zeros"}),
        "registered as 'X>Zeros'"),
    "weights in a Constant": (lambda m: _dense_config(m).update(kernel_initializer=SMUGGLED_WEIGHTS),
                              "holds a list"),
    "object inside an initializer setting": (
        lambda m: _dense_config(m).update(kernel_initializer=kj.initializer("Constant", value={"v": 1})),
        "holds an object"),
    "initializer without settings": (
        lambda m: _dense_config(m).update(kernel_initializer={**kj.initializer("Zeros"), "config": None}),
        "has no settings"),
    "long list in a layer": (lambda m: _dense_config(m).update(extra=list(range(65))), "a list of 65 items"),
    "deep nesting": (lambda m: _dense_config(m).update(extra=json.loads("[" * 20 + "]" * 20)),
                     "nested too deeply"),
    "object named in the model's settings": (
        lambda m: m["config"].update(dtype={"module": "builtins", "class_name": "eval", "config": {}}), "'eval'"),
    "object named in the build settings": (
        lambda m: m.update(build_config={"input_shape": {"module": "os", "class_name": "system"}}), "'system'"),
    "tensor link from a module": (
        lambda m: _dense_config(m).update(extra={"class_name": "__keras_tensor__", "module": "x"}),
        "'__keras_tensor__'"),
    "no layer list": (lambda m: m["config"].pop("layers"), "no layer list"),
    "too many layers": (lambda m: m["config"]["layers"].extend([kj.dense(10)] * 64), "no layer list"),
    "layer that is not an object": (lambda m: m["config"]["layers"].append("Dense"), "None"),
}


@pytest.mark.parametrize("case", UNSAFE, ids=list(UNSAFE))
def test_vetting_refuses_what_the_handouts_never_build(case):
    change, says = UNSAFE[case]
    with pytest.raises(UnsafeModel) as refused:
        check_architecture(kj.to_json(_model_with(change)))
    assert says in str(refused.value)


@pytest.mark.parametrize("text, says", [
    ("x" * (architecture.MAX_MODEL_JSON + 1), "over 200,000 characters"),
    ("{", "not JSON"),
    ("[" * 100_001 + "]" * 100_001, "over"),
    ("[" * 50_000 + "]" * 50_000, "not JSON"),     # too deep for the parser: RecursionError
    ("[]", "model class 'list'"),
    (None, "over"),
])
def test_vetting_refuses_text_that_is_not_a_small_model_json(text, says):
    with pytest.raises(UnsafeModel, match=says):
        check_architecture(text)


def test_a_model_json_over_the_size_limit_is_refused_even_if_it_is_a_valid_model():
    model = copy.deepcopy(kj.VARIANT_A)
    model["config"]["name"] = "m" * architecture.MAX_MODEL_JSON
    with pytest.raises(UnsafeModel, match="over"):
        check_architecture(kj.to_json(model))


# --- read_model: the once-per-model reading ---------------------------------------------------------------------

def test_reading_a_reference_model_gives_rows_shape_and_canonical_vetted_json():
    model = kj.reference_model(BY_ID["B"])
    model["config"]["layers"][2]["config"]["activation"] = {"class_name": "function", "config": "relu"}
    reading = read_model(kj.to_json(model))
    assert reading.rows == expected_rows(BY_ID["B"]) and reading.rows_error is None
    assert reading.input_shape == (28, 28)
    assert reading.unsafe is None
    assert json.loads(reading.vetted_json)["config"]["layers"][2]["config"]["activation"] == "relu"


def test_an_unsafe_model_still_has_rows_for_the_table_but_no_vetted_json():
    model = kj.reference_model(BY_ID["B"])
    model["config"]["layers"].insert(2, kj.layer("Lambda", function="x"))
    reading = read_model(kj.to_json(model))
    assert {"layer": "Lambda"} in reading.rows
    assert reading.vetted_json is None
    assert isinstance(reading.unsafe, UnsafeModel)


def test_an_unreadable_model_keeps_why_for_the_layer_check():
    reading = read_model('{"class_name": "Sequential"}')
    assert reading.rows is None and reading.vetted_json is None
    assert isinstance(reading.rows_error, ArchitectureError) and reading.unsafe is not None
    with pytest.raises(ArchitectureError):
        reading.layer_rows()


def test_an_older_batch_input_shape_is_read_as_the_input_shape():
    model = kj.reference_model(BY_ID["A"])
    model["config"]["layers"][0]["config"] = {"batch_input_shape": [None, 784], "name": "input"}
    assert read_model(kj.to_json(model)).input_shape == (784,)


"""Reading a model's architecture JSON as plain data: canonical form, layer rows, expected rows, diffs.

The worker sends ``model.to_json()``; everything here is JSON handling in the grader's process, so
no student object is ever deserialised to inspect a model. Equivalent spellings of the same model
compare equal: ``activation="relu"``, ``keras.activations.relu``, ``tf.nn.relu`` and a separate
``Activation("relu")`` / ``ReLU()`` layer after a linear Dense all read as a Dense with relu.
"""

from __future__ import annotations

import difflib
import json

from mnist_kit.variants import Variant

# Function names TensorFlow and Keras give the handouts' activations.
ACTIVATION_NAMES = {"relu": "relu", "sigmoid": "sigmoid", "softmax": "softmax", "softmax_v2": "softmax",
                    "tanh": "tanh", "linear": "linear", "elu": "elu", "selu": "selu", "gelu": "gelu"}
# Layers that are nothing but an activation.
ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax"}


class ArchitectureError(ValueError):
    """Not a model the grader can read."""


def canonical_activation(value):
    """A string name for an activation as Keras serialises it, or raise ArchitectureError."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return ACTIVATION_NAMES.get(value, value)
    if isinstance(value, dict):
        if value.get("class_name") == "function" and value.get("config") in ACTIVATION_NAMES:
            return ACTIVATION_NAMES[value["config"]]
        if value.get("class_name") in ACTIVATION_LAYERS:
            config = value.get("config", {})
            if config.get("max_value") is None and not config.get("negative_slope") and not config.get("threshold"):
                return ACTIVATION_LAYERS[value["class_name"]]
    raise ArchitectureError(f"unsupported activation {json.dumps(value)[:120]}")


def canonical_json(model_json: str) -> str:
    """The same architecture with every activation spelled as a plain Keras name."""
    try:
        config = json.loads(model_json)
        layers = config["config"]["layers"]
    except (TypeError, ValueError, KeyError) as error:
        raise ArchitectureError(f"not a Keras model JSON: {error}") from error
    for layer in layers:
        layer_config = layer.get("config", {}) if isinstance(layer, dict) else {}
        if "activation" in layer_config:
            layer_config["activation"] = canonical_activation(layer_config["activation"])
    return json.dumps(config)


def input_shape(model_json: str):
    for layer in json.loads(model_json)["config"]["layers"]:
        if layer.get("class_name") == "InputLayer":
            shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
            return tuple(shape[1:]) if shape else None
    return None


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def layer_rows(model_json: str) -> list[dict]:
    """The model's layers after its input, as comparable dicts, activations folded into Dense/Conv2D."""
    rows: list[dict] = []
    for layer in json.loads(canonical_json(model_json))["config"]["layers"]:
        kind, config = layer.get("class_name"), layer.get("config", {})
        if kind == "InputLayer":
            continue
        if kind == "Dense":
            row = {"layer": "Dense", "units": config.get("units"), "activation": config.get("activation")}
        elif kind == "Conv2D":
            row = {"layer": "Conv2D", "filters": config.get("filters"), "kernel": _pair(config.get("kernel_size")),
                   "padding": config.get("padding"), "strides": _pair(config.get("strides", 1)),
                   "activation": config.get("activation")}
        elif kind == "MaxPooling2D":
            pool = _pair(config.get("pool_size"))
            strides = config.get("strides")
            row = {"layer": "MaxPooling2D", "pool": pool, "strides": _pair(strides) if strides else pool,
                   "padding": config.get("padding")}
        elif kind == "Dropout":
            row = {"layer": "Dropout", "rate": round(float(config.get("rate", 0)), 6)}
        elif kind in ("Activation", *ACTIVATION_LAYERS):
            name = config.get("activation") if kind == "Activation" else ACTIVATION_LAYERS[kind]
            previous = rows[-1] if rows else None
            if previous and previous.get("activation") == "linear" and previous["layer"] in ("Dense", "Conv2D"):
                previous["activation"] = name  # Dense + Activation is a Dense with that activation
                continue
            row = {"layer": "Activation", "activation": name}
        else:
            row = {"layer": kind}
        rows.append(row)
    return rows


def expected_rows(variant: Variant) -> list[dict]:
    """What the exercise contract says the variant's builder must produce."""
    if variant.builder == "build_cnn":
        return [
            {"layer": "Conv2D", "filters": 64, "kernel": (3, 3), "padding": "same", "strides": (1, 1), "activation": "relu"},
            {"layer": "MaxPooling2D", "pool": (2, 2), "strides": (2, 2), "padding": "valid"},
            {"layer": "Conv2D", "filters": 128, "kernel": (3, 3), "padding": "valid", "strides": (1, 1), "activation": "relu"},
            {"layer": "MaxPooling2D", "pool": (2, 2), "strides": (2, 2), "padding": "valid"},
            {"layer": "Dropout", "rate": 0.5},
            {"layer": "Flatten"},
            {"layer": "Dense", "units": 128, "activation": "relu"},
            {"layer": "Dropout", "rate": 0.25},
            {"layer": "Dense", "units": 10, "activation": "softmax"},
        ]
    kwargs = variant.build_kwargs
    rows = [{"layer": "Flatten"}]
    for units in kwargs.get("hidden_units", (128,)):
        rows.append({"layer": "Dense", "units": units, "activation": kwargs.get("activation", "relu")})
        if kwargs.get("dropout", 0.0) > 0:
            rows.append({"layer": "Dropout", "rate": kwargs["dropout"]})
    rows.append({"layer": "Dense", "units": 10, "activation": kwargs.get("output_activation") or "linear"})
    return rows


def expected_input_shape(variant: Variant) -> tuple:
    return tuple(variant.build_kwargs.get("input_shape", (28, 28, 1) if variant.builder == "build_cnn" else (28, 28)))


def describe_row(row: dict | None) -> str:
    if row is None:
        return "—"
    details = ", ".join(f"{key}={value}" for key, value in row.items() if key != "layer")
    return f"{row['layer']}({details})"


def _aligned(expected: list[dict], actual: list[dict]) -> list[tuple[dict | None, dict | None]]:
    """Pairs of rows, lined up so that a missing or extra layer shows as one row against '—'."""
    matcher = difflib.SequenceMatcher(a=[describe_row(row) for row in expected],
                                      b=[describe_row(row) for row in actual], autojunk=False)
    pairs = []
    for _, left_start, left_end, right_start, right_end in matcher.get_opcodes():
        lefts, rights = expected[left_start:left_end], actual[right_start:right_end]
        for index in range(max(len(lefts), len(rights))):
            pairs.append((lefts[index] if index < len(lefts) else None,
                          rights[index] if index < len(rights) else None))
    return pairs


def diff_table(expected: list[dict], actual: list[dict]) -> tuple[list[str], int]:
    """Side-by-side lines 'expected | actual' with '✗' on differing rows, and the count of them."""
    width = max([len(describe_row(row)) for row in expected] + [8])
    lines = [f"   {'expected / 期待':<{width}} | actual / 実際"]
    wrong = 0
    for left, right in _aligned(expected, actual):
        mark = " " if left == right else "✗"
        wrong += left != right
        lines.append(f" {mark} {describe_row(left):<{width}} | {describe_row(right)}")
    return lines, wrong

"""Reading a model's architecture JSON as plain data: canonical form, layer rows, expected rows, diffs.

The worker sends ``model.to_json()``; everything here is JSON handling in the grader's process, so
no student object is ever deserialised to inspect a model. Equivalent spellings of the same model
compare equal: ``activation="relu"``, ``keras.activations.relu``, ``tf.nn.relu`` and a separate
``Activation("relu")`` / ``ReLU()`` layer after a linear Dense all read as a Dense with relu.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from autograder.feedback import render
from autograder.exhibits import LayerRow, LayerTable
from mnist_kit.variants import Variant

# Function names TensorFlow and Keras give the handouts' activations.
ACTIVATION_NAMES = {"relu": "relu", "sigmoid": "sigmoid", "softmax": "softmax", "softmax_v2": "softmax",
                    "tanh": "tanh", "linear": "linear", "elu": "elu", "selu": "selu", "gelu": "gelu"}
# Layers that are nothing but an activation.
ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax"}


class ArchitectureError(ValueError):
    """Not a model the grader can read."""


# Built-in layers a handout model may contain. Anything else (custom or Lambda layers, whose
# deserialisation could run code) is refused before Keras sees the JSON.
ALLOWED_LAYERS = {
    "InputLayer", "Flatten", "Dense", "Dropout", "Conv2D", "MaxPooling2D", "Activation", "Softmax",
    "ReLU", "Reshape",
}
ALLOWED_MODELS = {"Sequential", "Functional", "Model"}
MODEL_MODULES = {None, "keras", "keras.models", "keras.src.models.functional", "keras.src.models.sequential",
                 "keras.src.models.model"}
# The only objects a layer's config may name: dtype policies and the built-in initializers,
# regularizers and constraints, each with scalar settings only. A list inside one (e.g. a Constant
# initializer holding trained weights) would let a model arrive pre-trained.
NESTED_OBJECTS = {
    "keras": {"DTypePolicy", "FloatDTypePolicy"},
    "keras.initializers": {"Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
                           "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
                           "TruncatedNormal", "VarianceScaling", "Zeros"},
    "keras.regularizers": {"L1", "L2", "L1L2", "OrthogonalRegularizer"},
    "keras.constraints": {"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"},
}
KERAS_TENSOR = "__keras_tensor__"   # a functional model's links between layers
MAX_MODEL_JSON = 200_000            # characters; the handouts' largest model (the CNN) has ~6,000
MAX_LIST = 64                       # items in any list (layers, shapes); weights would need thousands
MAX_DEPTH = 12


class UnsafeModel(ArchitectureError):
    """The architecture JSON names something the grader will not deserialise."""


def check_architecture(model_json: str) -> dict:
    """Parse and vet a model's JSON; return it as the grader will rebuild it (no compile settings:
    those come from the variant table). Raises UnsafeModel."""
    if not isinstance(model_json, str) or len(model_json) > MAX_MODEL_JSON:
        raise UnsafeModel(f"the model's JSON is over {MAX_MODEL_JSON:,} characters")
    try:
        config = json.loads(model_json)
    except (TypeError, ValueError, RecursionError) as error:
        raise UnsafeModel(f"not JSON: {error}") from error
    if not isinstance(config, dict) or config.get("class_name") not in ALLOWED_MODELS:
        raise UnsafeModel(f"model class {config.get('class_name') if isinstance(config, dict) else type(config).__name__!r}")
    if config.get("module") not in MODEL_MODULES or config.get("registered_name") not in (None, "Functional",
                                                                                          config["class_name"]):
        raise UnsafeModel(f"model class {config['class_name']!r} from {config.get('module')!r} "
                          f"(registered as {config.get('registered_name')!r})")
    body = config.get("config")
    layers = body.get("layers") if isinstance(body, dict) else None
    if not isinstance(layers, list) or len(layers) > MAX_LIST:
        raise UnsafeModel("no layer list")
    for layer in layers:
        name = layer.get("class_name") if isinstance(layer, dict) else None
        module = layer.get("module") if isinstance(layer, dict) else None
        if name not in ALLOWED_LAYERS or module not in (None, "keras.layers"):
            raise UnsafeModel(f"layer {name!r} (module {module!r}) is not a built-in layer the handouts use")
        if layer.get("registered_name") not in (None, name):
            raise UnsafeModel(f"layer {name!r} is registered as {layer['registered_name']!r}")
        _vet({key: value for key, value in layer.items() if key not in ("class_name", "module", "registered_name")},
             f"layer {name!r}", 0)
    _vet({key: value for key, value in body.items() if key != "layers"}, "the model", 0)
    for key in ("build_config",):
        _vet(config.get(key), "the model", 0)
    return {key: value for key, value in config.items() if key in ("module", "class_name", "config",
                                                                   "registered_name", "build_config")}


def _vet(value, where: str, depth: int, scalars_only: bool = False) -> None:
    """Every object named inside a layer is allowed; lists stay short; nothing nests deeply."""
    if depth > MAX_DEPTH:
        raise UnsafeModel(f"{where}: nested too deeply")
    if isinstance(value, list):
        if scalars_only:
            raise UnsafeModel(f"{where}: holds a list (weights cannot come with the model)")
        if len(value) > MAX_LIST:
            raise UnsafeModel(f"{where}: a list of {len(value)} items")
        for item in value:
            _vet(item, where, depth + 1)
    elif isinstance(value, dict):
        if scalars_only:
            raise UnsafeModel(f"{where}: holds an object in a setting")
        if "class_name" in value:
            name, module = value.get("class_name"), value.get("module")
            nested = module in NESTED_OBJECTS and name in NESTED_OBJECTS[module]
            if not (nested or (name == KERAS_TENSOR and module is None)):
                raise UnsafeModel(f"{where}: names {name!r} from {module!r}, not a built-in the handouts use")
            if value.get("registered_name") not in (None, name):
                raise UnsafeModel(f"{where}: {name!r} is registered as {value['registered_name']!r}")
            inner = value.get("config")
            if nested and module != "keras":
                if not isinstance(inner, dict):
                    raise UnsafeModel(f"{where}: {name!r} has no settings")
                for setting in inner.values():
                    _vet(setting, f"{where}: {name}", depth + 1, scalars_only=True)
                return
        for item in value.values():
            _vet(item, where, depth + 1)



def _plain_activation_layer(config) -> bool:
    """A ReLU (or Softmax) with no cap, slope or threshold: exactly the activation it is named for."""
    return isinstance(config, dict) and config.get("max_value") is None and not config.get("negative_slope") \
        and not config.get("threshold")


def canonical_activation(value):
    """A string name for an activation as Keras serialises it, or raise ArchitectureError."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return ACTIVATION_NAMES.get(value, value)
    if isinstance(value, dict):
        if value.get("class_name") == "function" and value.get("config") in ACTIVATION_NAMES:
            return ACTIVATION_NAMES[value["config"]]
        if value.get("class_name") in ACTIVATION_LAYERS and _plain_activation_layer(value.get("config")):
            return ACTIVATION_LAYERS[value["class_name"]]
    raise ArchitectureError(f"unsupported activation {json.dumps(value)[:120]}")


def canonical_json(model_json: str) -> str:
    """The same architecture with every activation spelled as a plain Keras name."""
    try:
        config = json.loads(model_json)
        layers = config["config"]["layers"]
    except (TypeError, ValueError, KeyError, RecursionError) as error:
        raise ArchitectureError(f"not a Keras model JSON: {error}") from error
    if not isinstance(layers, list):
        raise ArchitectureError(f"not a Keras model JSON: its layers are a {type(layers).__name__}, not a list")
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("config", {}), dict):
            raise ArchitectureError(f"not a Keras model JSON: a layer reads {json.dumps(layer)[:120]}")
        layer_config = layer.get("config", {})
        if "activation" in layer_config:
            layer_config["activation"] = canonical_activation(layer_config["activation"])
    return json.dumps(config)


def training_form(vetted_json: str) -> str:
    """The vetted architecture as the grader's training sees it: the model's and every layer's name
    replaced by its position (``layer0``, ``layer1``...), the references between layers with them.
    Keras trains by the layers' order and settings, not their names, so two students' models that
    differ only in names (``dense_3`` or ``hidden``) share one training (autograder.training.memo)."""
    config = json.loads(vetted_json)
    body = config.get("config", {})
    layers = body.get("layers", [])
    names = {}
    for index, layer in enumerate(layers):
        for name in (layer.get("name"), layer.get("config", {}).get("name")):
            if isinstance(name, str):
                names.setdefault(name, f"layer{index}")
    for layer in layers:
        if isinstance(layer.get("name"), str):
            layer["name"] = names[layer["name"]]
        if isinstance(layer.get("config", {}).get("name"), str):
            layer["config"]["name"] = names[layer["config"]["name"]]
        _rename_references(layer.get("inbound_nodes"), names)
    for field in ("input_layers", "output_layers"):
        _rename_references(body.get(field), names, bare=True)
    if "name" in body:
        body["name"] = "model"
    return json.dumps(config, sort_keys=True)


def _rename_references(value, names: dict, bare: bool = False) -> None:
    """Rename the layer in every ``keras_history`` (and, ``bare``, every [name, node, tensor] list)."""
    if isinstance(value, dict):
        history = value.get("keras_history")
        if isinstance(history, list) and history and isinstance(history[0], str):
            history[0] = names.get(history[0], history[0])
        for item in value.values():
            _rename_references(item, names)
    elif isinstance(value, list):
        if bare and len(value) == 3 and isinstance(value[0], str) and all(isinstance(v, int) for v in value[1:]):
            value[0] = names.get(value[0], value[0])
        for item in value:
            _rename_references(item, names, bare)


def input_shape(model_json: str):
    for layer in json.loads(model_json)["config"]["layers"]:
        if layer.get("class_name") == "InputLayer":
            shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
            return tuple(shape[1:]) if shape else None
    return None


# Settings the contract's layers leave at Keras's defaults, by layer class. A layer that changes one
# (a regularizer, a constraint, no bias, a dilation, channels first, a noise shape) is another layer
# than the contract's, even where its units and activation agree: the row shows the setting and
# the layer table marks it. Initializers and seeds are left out: they choose where training starts,
# which the contract leaves open (the accuracy checks see a start that cannot learn).
WEIGHTED = {"use_bias": True, "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None, "lora_rank": None}
DEFAULT_SETTINGS = {
    "Dense": WEIGHTED,
    "Conv2D": {**WEIGHTED, "dilation_rate": (1, 1), "groups": 1, "data_format": "channels_last"},
    "MaxPooling2D": {"data_format": "channels_last"},
    "Flatten": {"data_format": "channels_last"},
    "Dropout": {"noise_shape": None},
}


def _changed_settings(kind: str, config: dict) -> dict:
    """The layer's settings of DEFAULT_SETTINGS that differ from Keras's defaults, shown briefly."""
    changed = {}
    for key, default in DEFAULT_SETTINGS.get(kind, {}).items():
        value = config.get(key, default)
        if key == "data_format" and value is None:
            value = default   # None: keras.config.image_data_format(), channels_last unless changed
        if key == "dilation_rate":
            value = _pair(value)
        if isinstance(value, list):
            value = tuple(value)
        if value != default:
            changed[key] = value.get("class_name", "?") if isinstance(value, dict) else value
    return changed


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
        elif kind == "Activation" or (kind in ACTIVATION_LAYERS and _plain_activation_layer(config)):
            name = config.get("activation") if kind == "Activation" else ACTIVATION_LAYERS[kind]
            previous = rows[-1] if rows else None
            if previous and previous.get("activation") == "linear" and previous["layer"] in ("Dense", "Conv2D"):
                previous["activation"] = name  # Dense + Activation is a Dense with that activation
                continue
            row = {"layer": "Activation", "activation": name}
        else:
            row = {"layer": kind}
        row.update(_changed_settings(kind, config))
        rows.append(row)
    return rows


def expected_rows(variant: Variant) -> list[dict]:
    """What the exercise contract says the variant's builder must produce."""
    return contract_rows(variant.builder, variant.build_kwargs)


def expected_input_shape(variant: Variant) -> tuple:
    return contract_input_shape(variant.builder, variant.build_kwargs)


def contract_rows(builder: str, kwargs: dict) -> list[dict]:
    """The layers the exercise contract says ``builder(**kwargs)`` must produce (any arguments, not
    only a variant's): ``build_mlp``'s Flatten, per hidden width a Dense with ``activation`` and a
    Dropout when ``dropout > 0``, then Dense(10, ``output_activation`` or linear); ``build_cnn``'s
    fixed stack, whatever its ``input_shape``."""
    if builder == "build_cnn":
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
    rows = [{"layer": "Flatten"}]
    for units in kwargs.get("hidden_units", (128,)):
        rows.append({"layer": "Dense", "units": units, "activation": kwargs.get("activation", "relu")})
        if kwargs.get("dropout", 0.0) > 0:
            rows.append({"layer": "Dropout", "rate": kwargs["dropout"]})
    rows.append({"layer": "Dense", "units": 10, "activation": kwargs.get("output_activation") or "linear"})
    return rows


def contract_input_shape(builder: str, kwargs: dict) -> tuple:
    return tuple(kwargs.get("input_shape", (28, 28, 1) if builder == "build_cnn" else (28, 28)))


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
    header = "expected / 期待"   # padded by display width (期待 takes 4 columns), so its '|' lines up with the rows'
    lines = [f"   {header}{' ' * (width - render.width(header))} | actual / 実際"]
    wrong = 0
    for left, right in _aligned(expected, actual):
        mark = " " if left == right else "✗"
        wrong += left != right
        lines.append(f" {mark} {describe_row(left):<{width}} | {describe_row(right)}")
    return lines, wrong


def layer_table(expected: list[dict], actual: list[dict]) -> LayerTable:
    """The rows of ``diff_table`` as data, for the feedback's HTML table."""
    rows = [LayerRow(expected=describe_row(left) if left is not None else None,
                     actual=describe_row(right) if right is not None else None, differs=left != right)
            for left, right in _aligned(expected, actual)]
    return LayerTable(kind="layers", rows=rows)


@dataclass(frozen=True)
class ModelReading:
    """A builder's model JSON, read and vetted once by the grader; every variant check reuses it.

    ``rows``/``input_shape`` are for the layer table (read even from a model the grader would not
    rebuild, so that a wrong layer shows in the table); ``vetted_json`` is the canonical JSON that
    passed ``check_architecture``, the only form the grader ever rebuilds.
    """
    rows: list[dict] | None
    input_shape: tuple | None
    rows_error: Exception | None      # why the layers could not be read
    vetted_json: str | None
    unsafe: Exception | None          # why the grader will not rebuild it

    def layer_rows(self) -> tuple[list[dict], tuple | None]:
        """The rows and input shape; raises what reading them raised."""
        if self.rows_error is not None:
            raise self.rows_error
        return self.rows, self.input_shape


def read_model(model_json: str) -> ModelReading:
    """Read the layers and vet the architecture of one model JSON, without deserialising it."""
    try:
        rows, shape, rows_error = layer_rows(model_json), input_shape(model_json), None
    except Exception as error:   # kept for the layer check, which says what it could not read
        rows, shape, rows_error = None, None, error
    try:
        canonical = canonical_json(model_json)
        check_architecture(canonical)
        vetted, unsafe = canonical, None
    except Exception as error:
        vetted, unsafe = None, error
    return ModelReading(rows, shape, rows_error, vetted, unsafe)

"""The grader's own training: rebuild a student's model from its JSON, train it briefly, score it.

Only this module's code touches the model here: the architecture came from the student's
``build_*`` function as plain JSON, every layer class is checked against an allowlist of built-in
Keras layers before anything is deserialised, and the compile settings, seed and budget come from
the variant table (``mnist_kit.variants``), never from the student.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np

from mnist_kit.runtime import deterministic, quiet_tensorflow
from mnist_kit.variants import Budget, Variant

GRADING_SEED = 0
# Training steps per call into TensorFlow, at most. Bit-identical weights to steps_per_execution=1
# (keras-cpu-facts.md) and 2-3x faster for small batches; see steps_per_execution() for budgets
# whose steps per epoch it does not divide.
STEPS_PER_EXECUTION = 50
# Test images per forward pass when scoring (the CNN's first activation is 200 MB at 1,000 images).
EVAL_BATCH_SIZE = 1000

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


class UnsafeModel(ValueError):
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


def rebuild(model_json: str):
    """A fresh keras.Model from vetted architecture JSON (weights are new: the grader trains it)."""
    vetted = check_architecture(model_json)
    quiet_tensorflow()
    import keras

    return keras.models.model_from_json(json.dumps(vetted))


def _shaped(variant: Variant, scaled: np.ndarray) -> np.ndarray:
    """float32 images (N, 28, 28) shaped as the variant's model takes them."""
    if variant.input_rank == 2:
        return scaled.reshape(len(scaled), 784)
    if variant.input_rank == 4:
        return scaled[..., np.newaxis]
    return scaled


def labels_for(variant: Variant, labels: np.ndarray) -> np.ndarray:
    return np.eye(10, dtype=np.float32)[labels] if variant.one_hot_labels else labels


def steps_per_execution(budget: Budget | None) -> int:
    """Training steps per call into TensorFlow for a budget: at most STEPS_PER_EXECUTION.

    Keras always runs whole executions, so ``steps_per_epoch`` must be a multiple of it (with
    steps_per_epoch=60 and 50 steps per execution Keras trains 100 steps). A budget with a step
    count gets its largest divisor up to STEPS_PER_EXECUTION; a full epoch (``None``) ends where
    the data does, whatever the count.
    """
    steps = budget.steps_per_epoch if budget is not None else None
    if steps is None:
        return STEPS_PER_EXECUTION
    return max(d for d in range(1, STEPS_PER_EXECUTION + 1) if steps % d == 0)


def compile_for(variant: Variant, model) -> None:
    """Compile per the variant: its optimizer (Keras defaults) and loss, no metrics.

    The grader scores the trained model itself (``_test_accuracy``), so training carries no
    metrics: they cost trace and step time and do not change the weights (checked bit for bit).
    """
    import keras

    loss_class = keras.losses.CategoricalCrossentropy if variant.one_hot_labels \
        else keras.losses.SparseCategoricalCrossentropy
    model.compile(optimizer=variant.optimizer, loss=loss_class(from_logits=not variant.output_is_softmax),
                  steps_per_execution=steps_per_execution(variant.budget))


@dataclass
class Outcome:
    accuracy: float
    epochs_run: int
    seconds: float


# Eleven trainings in one process convert MNIST once, not eleven times: the float32 [0, 1] copy of
# each uint8 array the grader is given, keyed by the array's identity (the grader loads MNIST once
# and never writes to it). Training images are kept as one TensorFlow tensor, since Keras would
# copy NumPy input into a new tensor at every fit (~0.1-0.2 s for 60,000 images); a tensor it
# takes as it is, with the same batches and the same bits (checked). Test images stay NumPy.
_CACHE_SIZE = 4
_SCALED: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_TENSORS: dict[int, tuple[np.ndarray, object]] = {}


def _scaled(images: np.ndarray) -> np.ndarray:
    cached = _SCALED.get(id(images))
    if cached is None or cached[0] is not images:
        if len(_SCALED) >= _CACHE_SIZE:
            _SCALED.clear()
        scaled = images.astype(np.float32) / np.float32(255.0)
        scaled.flags.writeable = False
        cached = _SCALED[id(images)] = (images, scaled)
    return cached[1]


def _training_inputs(variant: Variant, images: np.ndarray):
    """The training images scaled and shaped for the variant, as a (cached) TensorFlow tensor."""
    import tensorflow as tf

    cached = _TENSORS.get(id(images))
    if cached is None or cached[0] is not images:
        if len(_TENSORS) >= _CACHE_SIZE:
            _TENSORS.clear()
        cached = _TENSORS[id(images)] = (images, tf.constant(images.astype(np.float32) / np.float32(255.0)))
    tensor = cached[1]
    if variant.input_rank == 2:
        return tf.reshape(tensor, (len(images), 784))
    if variant.input_rank == 4:
        return tf.expand_dims(tensor, -1)
    return tensor


def _test_accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose highest-scoring class is the label (Keras's "accuracy").

    One traced forward pass (``training=False``: dropout off), EVAL_BATCH_SIZE images at a time;
    much cheaper than ``model.evaluate``, whose test function and metrics take longer to trace
    than the MLPs take to score 10,000 images.
    """
    import tensorflow as tf

    forward = tf.function(lambda batch: model(batch, training=False))
    hits = 0
    for start in range(0, len(images), EVAL_BATCH_SIZE):
        scores = np.asarray(forward(images[start:start + EVAL_BATCH_SIZE]))
        wanted = labels[start:start + EVAL_BATCH_SIZE]
        if scores.shape != (len(wanted), 10):
            raise ValueError(f"the model's output has shape {scores.shape[1:]}, not (10,)")
        hits += int(np.count_nonzero(np.argmax(scores, axis=-1) == wanted))
    return hits / len(images)


def train_and_score(variant: Variant, model_json: str, mnist, seed: int = GRADING_SEED) -> Outcome:
    """Train the architecture on the variant's budget with a fixed seed; return its test accuracy.

    The test accuracy is over all 10,000 test images, or every ``budget.test_stride``-th of them
    (the CNN: the 5,000 even-indexed ones).
    """
    (x_train, y_train), (x_test, y_test) = mnist
    deterministic(seed)
    started = time.perf_counter()
    model = rebuild(model_json)
    compile_for(variant, model)
    budget = variant.budget
    callbacks = []
    if variant.early_stopping is not None:
        import keras

        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True,
                                                       **variant.early_stopping))
    history = model.fit(_training_inputs(variant, x_train), labels_for(variant, y_train),
                        batch_size=budget.batch_size, epochs=budget.epochs,
                        steps_per_epoch=budget.steps_per_epoch, validation_split=variant.validation_split,
                        shuffle=True, callbacks=callbacks, verbose=0)
    stride = budget.test_stride
    accuracy = _test_accuracy(model, _shaped(variant, _scaled(x_test))[::stride], np.asarray(y_test)[::stride])
    return Outcome(float(accuracy), len(history.history["loss"]), time.perf_counter() - started)

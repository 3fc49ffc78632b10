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
from mnist_kit.variants import Variant

GRADING_SEED = 0
# Bit-identical weights to steps_per_execution=1 (keras-cpu-facts.md), 2-3x faster for small batches.
STEPS_PER_EXECUTION = 50

# Built-in layers a handout model may contain. Anything else (custom or Lambda layers, whose
# deserialisation could run code) is refused before Keras sees the JSON.
ALLOWED_LAYERS = {
    "InputLayer", "Flatten", "Dense", "Dropout", "Conv2D", "MaxPooling2D", "Activation", "Softmax",
    "ReLU", "Reshape",
}
ALLOWED_MODELS = {"Sequential", "Functional", "Model"}


class UnsafeModel(ValueError):
    """The architecture JSON names something the grader will not deserialise."""


def check_architecture(model_json: str) -> dict:
    """Parse and vet a model's JSON; return the parsed dict. Raises UnsafeModel."""
    try:
        config = json.loads(model_json)
    except (TypeError, ValueError) as error:
        raise UnsafeModel(f"not JSON: {error}") from error
    if not isinstance(config, dict) or config.get("class_name") not in ALLOWED_MODELS:
        raise UnsafeModel(f"model class {config.get('class_name') if isinstance(config, dict) else type(config).__name__!r}")
    layers = config.get("config", {}).get("layers")
    if not isinstance(layers, list):
        raise UnsafeModel("no layer list")
    for layer in layers:
        name = layer.get("class_name") if isinstance(layer, dict) else None
        module = layer.get("module") if isinstance(layer, dict) else None
        if name not in ALLOWED_LAYERS or module not in (None, "keras.layers"):
            raise UnsafeModel(f"layer {name!r} (module {module!r}) is not a built-in layer the handouts use")
        if "registered_name" in layer and layer["registered_name"] not in (None, name):
            raise UnsafeModel(f"layer {name!r} is registered as {layer['registered_name']!r}")
    return config


def rebuild(model_json: str):
    """A fresh keras.Model from vetted architecture JSON (weights are new: the grader trains it)."""
    check_architecture(model_json)
    quiet_tensorflow()
    import keras

    return keras.models.model_from_json(model_json)


def inputs_for(variant: Variant, images: np.ndarray) -> np.ndarray:
    """MNIST uint8 (N, 28, 28) → float32 in [0, 1] shaped as the variant's model takes it."""
    scaled = images.astype(np.float32) / np.float32(255.0)
    if variant.input_rank == 2:
        return scaled.reshape(len(images), 784)
    if variant.input_rank == 4:
        return scaled[..., np.newaxis]
    return scaled


def labels_for(variant: Variant, labels: np.ndarray) -> np.ndarray:
    return np.eye(10, dtype=np.float32)[labels] if variant.one_hot_labels else labels


def compile_for(variant: Variant, model) -> None:
    import keras

    loss_class = keras.losses.CategoricalCrossentropy if variant.one_hot_labels \
        else keras.losses.SparseCategoricalCrossentropy
    model.compile(optimizer=variant.optimizer, loss=loss_class(from_logits=not variant.output_is_softmax),
                  metrics=["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)


@dataclass
class Outcome:
    accuracy: float
    epochs_run: int
    seconds: float


def train_and_score(variant: Variant, model_json: str, mnist, seed: int = GRADING_SEED) -> Outcome:
    """Train the architecture on the variant's budget with a fixed seed; test accuracy on 10,000 images."""
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
    history = model.fit(inputs_for(variant, x_train), labels_for(variant, y_train),
                        batch_size=budget.batch_size, epochs=budget.epochs,
                        steps_per_epoch=budget.steps_per_epoch, validation_split=variant.validation_split,
                        shuffle=True, callbacks=callbacks, verbose=0)
    _, accuracy = model.evaluate(inputs_for(variant, x_test), labels_for(variant, y_test),
                                 batch_size=1000, verbose=0)
    return Outcome(float(accuracy), len(history.history["loss"]), time.perf_counter() - started)

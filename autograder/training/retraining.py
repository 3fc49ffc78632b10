"""The grader's own training (not the student's ``mnist_tasks.training``): rebuild a student's model
from its vetted JSON, train it briefly, score it; and try a student's early-stopping settings.

Only this module's code touches the model here: the architecture came from the student's
``build_*`` function as plain JSON, vetted by ``autograder.training.architecture`` (an allowlist of built-in
Keras layers) before anything is deserialised, and the compile settings, seed and budget come from
the variant table (``mnist_kit.variants``), never from the student.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from autograder.training import architecture
from autograder.training.findings import EarlyStoppingTrial, ModelEvidence, TrainingResult
from autograder.training.memo import RUN, Memo, arrays_digest, mnist_fingerprint, source_of
from autograder.protocol import Outcome
from mnist_kit.i18n import Text
from mnist_kit.runtime import deterministic, import_tensorflow_quietly
from mnist_kit.variants import Budget, Variant

GRADING_SEED = 0
# Training steps per call into TensorFlow, at most. Bit-identical weights to steps_per_execution=1
# (keras-cpu-facts.md) and 2-3x faster for small batches; see steps_per_execution() for budgets
# whose steps per epoch it does not divide.
STEPS_PER_EXECUTION = 50
# Test images per forward pass when scoring (the CNN's first activation is 200 MB at 1,000 images).
EVAL_BATCH_SIZE = 1000

def rebuild(model_json: str):
    """A fresh keras.Model from vetted architecture JSON (weights are new: the grader trains it)."""
    vetted = architecture.check_architecture(model_json)
    # Started here if no one started it yet (a warm grading starts it only for what it does not
    # recall): its threads are pinned before its first operation, as every training needs.
    import_tensorflow_quietly()
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


def train_and_score(variant: Variant, model_json: str, mnist, seed: int = GRADING_SEED):
    """Train the architecture on the variant's budget with a fixed seed; return its test accuracy.

    The test accuracy is over all 10,000 test images, or every ``budget.test_stride``-th of them
    (the CNN: the 5,000 even-indexed ones). Returns (Outcome, the trained model).
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
    return TrainingResult(float(accuracy), len(history.history["loss"]), time.perf_counter() - started), model


# --- early stopping ------------------------------------------------------------------------------------

# EarlyStopping's settings as the worker reads them off the returned callback, with the types
# and ranges the grader accepts before building its own EarlyStopping from them.
SETTINGS = {"monitor": (str,), "min_delta": (int, float), "patience": (int,), "mode": (str,),
            "baseline": (int, float, type(None)), "restore_best_weights": (bool,), "start_from_epoch": (int,)}


def usable_settings(settings: dict) -> tuple | str:
    """The settings as a hashable tuple for EarlyStopping(**...), or why they cannot be tried."""
    chosen = []
    for key, types in SETTINGS.items():
        value = settings.get(key)
        if type(value) not in types:
            return f"{key}={value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key}={value!r}"
        if key in ("patience", "start_from_epoch") and not 0 <= value <= 1000:
            return f"{key}={value!r}"
        if key == "monitor" and len(value) > 100:
            return "monitor=…"
        chosen.append((key, value))
    return tuple(chosen)


@functools.lru_cache(maxsize=32)
def try_early_stopping(settings: tuple) -> dict:
    """Train with a keras EarlyStopping built here from ``settings``; the validation loss worsens
    after epoch 1 (see tests/test_training_reference). Runs in the grader's process, on its own
    callback: nothing the student's code did in the worker can change what happens here."""
    import_tensorflow_quietly()   # threads pinned before its first operation
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    callback = keras.callbacks.EarlyStopping(verbose=0, **dict(settings))
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.layers[0].set_weights([np.zeros((1, 1), np.float32)])
    x = np.ones((8, 1), np.float32)
    history = model.fit(x, x, validation_data=(x, np.zeros_like(x)), epochs=10, verbose=0, callbacks=[callback])
    val_loss = [float(v) for v in history.history.get("val_loss", [])]
    final = float(model.evaluate(x, np.zeros_like(x), verbose=0))
    return {"epochs_run": len(history.history.get("loss", [])), "val_loss": val_loss, "final_val_loss": final}


def early_stopping_trial(outcome: Outcome, memo: Memo | None = None) -> EarlyStoppingTrial | None:
    """Try the early-stopping settings a worker read off the student's callback (or recall the
    trial of the same settings); None when the outcome holds no EarlyStopping (the check says why
    from the outcome itself)."""
    if outcome.get("status") != "ok" or not outcome.get("is_early_stopping") \
            or not isinstance(outcome.get("settings"), dict):
        return None
    settings = usable_settings(outcome["settings"])
    if isinstance(settings, str):
        return EarlyStoppingTrial(unusable=settings)
    key = memo.early_stopping_key(settings) if memo is not None else None
    entry = memo.recall(key) if memo is not None else None
    if entry is not None:
        return EarlyStoppingTrial(**entry["value"])
    try:
        trial = EarlyStoppingTrial(run=try_early_stopping(settings))
    except Exception as error:  # Keras refusing the settings, e.g. a monitor it cannot direct
        trial = EarlyStoppingTrial(error=f"{type(error).__name__}: {str(error)[:300]}")
    if memo is not None:
        memo.store(key, "early_stopping", {"run": trial.run, "error": trial.error})
    return trial


# --- the builders' models --------------------------------------------------------------------------------

@dataclass
class TrainingContext:
    """One grading's own training: the memo (None: train everything), MNIST (loaded at the first
    training that is not recalled), and where each variant's training came from."""
    memo: Memo | None = None
    given_mnist: object = None            # arrays a caller loaded already (the tests, benchmarks)
    sources: dict = field(default_factory=dict)   # variant id → memo.TrainingSource
    _loaded: object = None

    def mnist(self):
        if self.given_mnist is not None:
            return self.given_mnist
        if self._loaded is None:
            from mnist_kit.data import load_mnist

            self._loaded = load_mnist()
        return self._loaded

    def fingerprint(self) -> str:
        if self.given_mnist is not None:
            return arrays_fingerprint(self.given_mnist)
        return mnist_fingerprint(os.environ.get("MNIST_NPZ"))


_FINGERPRINTS: dict[int, tuple[object, str]] = {}


def arrays_fingerprint(mnist) -> str:
    """The digest of MNIST arrays a caller passed, once per set of arrays (kept by identity)."""
    cached = _FINGERPRINTS.get(id(mnist))
    if cached is None or cached[0] is not mnist:
        cached = _FINGERPRINTS[id(mnist)] = (mnist, arrays_digest(mnist))
    return cached[1]


def model_evidence(variant: Variant, outcome: Outcome, train: bool, context: TrainingContext,
                   timings: dict) -> ModelEvidence | None:
    """Read, vet, count and (``train``) train the model a builder probe returned; None when the
    probe returned no model (the checks say why from the outcome). Trainings and counts the memo
    holds are recalled."""
    if outcome.get("status") != "ok" or outcome.get("type") != "keras.Model":
        return None
    reading = architecture.read_model(outcome["json"])
    evidence = ModelEvidence(reading)
    if reading.vetted_json is None:
        return evidence   # the grader will not rebuild it: every check but the layer table says so
    if train:
        started = time.perf_counter()
        try:
            evidence.training, evidence.parameters = _training(variant, reading.vetted_json, context)
        finally:
            timings[f"train {variant.id}"] = time.perf_counter() - started
    if evidence.parameters is None:
        evidence.parameters = _parameters(reading.vetted_json, context.memo)
    return evidence


def _training(variant: Variant, vetted_json: str, context: TrainingContext):
    """(TrainingResult or why it failed, the parameter count or None): recalled, or trained now."""
    shape = architecture.input_shape(vetted_json)
    if shape != architecture.expected_input_shape(variant):
        return Text(f"入力の形 {shape} では MNIST ({architecture.expected_input_shape(variant)}) で学習できません。",
                    f"input shape {shape} cannot take MNIST as {architecture.expected_input_shape(variant)}."), None
    memo = context.memo
    if memo is None:
        result, model = _train(variant, vetted_json, context.mnist())
        if isinstance(result, TrainingResult):
            context.sources[variant.id] = {"source": "trained", "run": RUN["id"], "at": RUN["started"], "key": ""}
        return result, model.count_params() if model is not None else None
    key = memo.training_key(variant, vetted_json, context.fingerprint())
    entry, trained = memo.recall(key), False
    if entry is None:
        with memo.claimed(key):
            entry = memo.recall(key)   # another grading may have trained it while this one waited
            if entry is None:
                result, model = _train(variant, vetted_json, context.mnist())
                if not isinstance(result, TrainingResult):
                    return result, None   # a training that fails is not kept: it fails fast again
                entry = memo.store(key, "training", {"accuracy": result.accuracy, "epochs_run": result.epochs_run,
                                                     "seconds": result.seconds, "parameters": model.count_params()})
                trained = entry["run"] == RUN["id"]
    value = entry["value"]
    context.sources[variant.id] = source_of(entry, key, trained)
    return TrainingResult(float(value["accuracy"]), int(value["epochs_run"]), float(value["seconds"])), \
        value.get("parameters")


def _parameters(vetted_json: str, memo: Memo | None) -> int | Text:
    """The rebuilt model's parameter count, recalled where the memo has it (counting imports TensorFlow)."""
    if memo is None:
        return _count_parameters(vetted_json)
    key = memo.parameters_key(vetted_json)
    entry = memo.recall(key)
    if entry is not None:
        return int(entry["value"]["count"])
    count = _count_parameters(vetted_json)
    if isinstance(count, int):
        memo.store(key, "parameters", {"count": count})
    return count


def _count_parameters(vetted_json: str) -> int | Text:
    try:
        return rebuild(vetted_json).count_params()
    except architecture.ArchitectureError as error:
        return Text(f"モデルを再構築できません: {error}", f"cannot rebuild the model: {error}")
    except Exception as error:  # Keras's own deserialisation errors
        return Text(f"モデルを再構築できません: {type(error).__name__}: {error}",
                    f"cannot rebuild the model: {type(error).__name__}: {error}")


def _train(variant: Variant, vetted_json: str, mnist):
    """(the training's Outcome or why it failed, the trained model or None); the input shape was
    checked by ``_training``, before any memo key or MNIST."""
    try:
        return train_and_score(variant, vetted_json, mnist)
    except architecture.ArchitectureError as error:
        return Text(f"このモデルは学習できません: {error}", f"the grader will not train this model: {error}"), None
    except Exception as error:  # shapes that do not fit MNIST, and the like
        return Text(f"学習に失敗しました: {type(error).__name__}: {str(error)[:300]}",
                    f"training failed: {type(error).__name__}: {str(error)[:300]}"), None

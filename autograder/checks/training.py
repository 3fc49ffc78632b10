"""Checks of mnist_tasks.training: choose_loss and early_stopping (compile_model is checked per variant)."""

from __future__ import annotations

import functools
import math

from autograder.core import Check, Evidence, Text, Verdict

LOSS_CLASSES = {True: "CategoricalCrossentropy", False: "SparseCategoricalCrossentropy"}
LOSS_NAMES = {True: "categorical_crossentropy", False: "sparse_categorical_crossentropy"}


def describe_expected_loss(one_hot_labels: bool, from_logits: bool) -> str:
    return f"{LOSS_CLASSES[one_hot_labels]}(from_logits={from_logits})"


def loss_problem(loss: dict, one_hot_labels: bool, from_logits: bool) -> Text | None:
    """None when ``loss`` (as the worker described it) is the matching cross-entropy."""
    expected = describe_expected_loss(one_hot_labels, from_logits)
    kind = loss.get("kind")
    if kind == "instance":
        actual = f"{loss['class']}(from_logits={loss.get('from_logits')})"
        if loss["class"] == LOSS_CLASSES[one_hot_labels] and loss.get("from_logits") is from_logits:
            return None
    elif kind in ("string", "function"):
        # A name means from_logits=False; equivalent exactly when no logits are involved.
        actual = repr(loss["name"]) if kind == "string" else f"keras.losses.{loss['name']}"
        if loss["name"] == LOSS_NAMES[one_hot_labels] and not from_logits:
            return None
        if loss["name"] == LOSS_NAMES[one_hot_labels]:
            return Text(f"損失が {actual} ですが、出力はロジットなので from_logits=True が必要です (期待: {expected})。",
                        f"the loss is {actual}, but the outputs are logits and need from_logits=True (expected {expected}).")
    else:
        actual = loss.get("type") or kind
    if not actual.startswith(LOSS_CLASSES[one_hot_labels]):
        hint_ja, hint_en = "one-hot ラベルなら Categorical、整数ラベルなら Sparse です。", \
            "one-hot labels take Categorical, integer labels Sparse."
    elif from_logits:
        hint_ja, hint_en = "出力に softmax がなければ from_logits=True です。", "outputs without softmax are logits: from_logits=True."
    else:
        hint_ja, hint_en = "出力が softmax で終わるなら確率なので from_logits=False です。", \
            "outputs that end in softmax are probabilities: from_logits=False."
    return Text(f"損失が {actual} です (期待: {expected})。{hint_ja}", f"the loss is {actual}, expected {expected}. {hint_en}")


def _choose_loss_check(one_hot_labels: bool) -> Check:
    probes = [{"id": f"choose_loss.{one_hot_labels}.{from_logits}", "module": "training", "task": "choose_loss",
               "kind": "loss", "args": [{"value": one_hot_labels}, {"value": from_logits}]}
              for from_logits in (True, False)]

    def evaluate(evidence: Evidence) -> Verdict:
        problems = []
        for probe, from_logits in zip(probes, (True, False)):
            failure = evidence.failure(probe["id"])
            if failure:
                return failure
            problem = loss_problem(evidence.result(probe["id"]), one_hot_labels, from_logits)
            if problem:
                problems.append(Text(f"from_logits={from_logits}: ", f"from_logits={from_logits}: ") + problem)
        if not problems:
            return Verdict.passed()
        message = problems[0] if len(problems) == 1 else problems[0] + Text(" / ", " / ") + problems[1]
        return Verdict(1.0 - len(problems) / 2, message)

    labels = "one-hot labels (categorical)" if one_hot_labels else "integer labels (sparse)"
    return Check(f"choose_loss: {labels}, logits and softmax", "choose_loss", 1.0, probes, evaluate)


def _early_stopping_config(name, kwargs, expected) -> Check:
    probe = {"id": f"early_stopping.{name}", "module": "training", "task": "early_stopping", "kind": "callback",
             "kwargs": {key: {"value": value} for key, value in kwargs.items()}}

    def evaluate(evidence: Evidence) -> Verdict:
        failure = _callback_failure(evidence, probe["id"])
        if failure:
            return failure
        settings = evidence.result(probe["id"])["settings"]
        wrong = [f"{key}={settings.get(key)!r} (≠ {value!r})" for key, value in expected.items()
                 if settings.get(key) != value]
        if wrong:
            return Verdict.failed("設定が違います: " + ", ".join(wrong), "wrong settings: " + ", ".join(wrong))
        return Verdict.passed()

    call = "early_stopping(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
    return Check(f"early_stopping: {call} is configured as asked", "early_stopping", 1.0, [probe], evaluate)


def _callback_failure(evidence: Evidence, probe_id: str) -> Verdict | None:
    failure = evidence.failure(probe_id)
    if failure:
        return failure
    result = evidence.result(probe_id)
    if not result.get("is_early_stopping") or not isinstance(result.get("settings"), dict):
        return Verdict.failed(f"{result.get('type')} が返されました (期待: keras.callbacks.EarlyStopping)。",
                              f"returned a {result.get('type')}, expected a keras.callbacks.EarlyStopping.")
    return None


# EarlyStopping's settings as the worker reads them off the returned callback, with the types
# and ranges the grader accepts before building its own EarlyStopping from them.
SETTINGS = {"monitor": (str,), "min_delta": (int, float), "patience": (int,), "mode": (str,),
            "baseline": (int, float, type(None)), "restore_best_weights": (bool,), "start_from_epoch": (int,)}


def _usable_settings(settings: dict) -> tuple | str:
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


def _early_stopping_run() -> Check:
    probe = {"id": "early_stopping.run", "module": "training", "task": "early_stopping", "kind": "callback"}

    def evaluate(evidence: Evidence) -> Verdict:
        failure = _callback_failure(evidence, probe["id"])
        if failure:
            return Verdict(0.0, failure.message + Text(" 学習で試せません。", " It cannot be tried in training."))
        settings = _usable_settings(evidence.result(probe["id"])["settings"])
        if isinstance(settings, str):
            return Verdict.failed(f"この設定では学習で試せません: {settings}", f"these settings cannot be tried in training: {settings}")
        try:
            run = try_early_stopping(settings)
        except Exception as error:  # Keras refusing the settings, e.g. a monitor it cannot direct
            return Verdict.failed(f"学習で試すと失敗しました: {type(error).__name__}: {str(error)[:300]}",
                                  f"trying it in training failed: {type(error).__name__}: {str(error)[:300]}")
        # Validation loss rises from epoch 2 on: patience 0 stops after epoch 2 and restores epoch 1.
        if run["epochs_run"] != 2:
            return Verdict.failed(
                f"検証損失が悪化した後も学習が続きました ({run['epochs_run']} エポック、期待: 2)。",
                f"training went on after the validation loss got worse ({run['epochs_run']} epochs, expected 2).")
        if not abs(run["final_val_loss"] - run["val_loss"][0]) <= 1e-6 * max(1.0, run["val_loss"][0]):
            return Verdict.failed("最良のエポックの重みに戻っていません (restore_best_weights)。",
                                  "the weights of the best epoch were not restored (restore_best_weights).")
        return Verdict.passed()

    return Check("early_stopping: really stops training and restores the best weights", "early_stopping", 1.0,
                 [probe], evaluate)


def checks() -> list[Check]:
    return [
        _choose_loss_check(False),
        _choose_loss_check(True),
        _early_stopping_config("defaults", {}, {"monitor": "val_loss", "patience": 0, "restore_best_weights": True}),
        _early_stopping_config("arguments", {"patience": 3, "monitor": "val_accuracy", "restore_best_weights": False},
                               {"monitor": "val_accuracy", "patience": 3, "restore_best_weights": False}),
        _early_stopping_run(),
    ]

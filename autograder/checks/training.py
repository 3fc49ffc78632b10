"""Checks of mnist_tasks.training: choose_loss and early_stopping (compile_model is checked per variant)."""

from __future__ import annotations

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
            changes = loss.get("changes")
            if not isinstance(changes, dict) or not changes:
                return None
            settings = ", ".join(f"{key}={value!r}" for key, value in changes.items())
            return Text(f"損失 {actual} の設定 {settings} が Keras の既定値と違います (期待: {expected}、ほかは既定値)。",
                        f"the loss {actual} has settings {settings} that differ from Keras's defaults "
                        f"(expected {expected}, the rest at their defaults).")
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
    labels_ja = "one-hot ラベル (categorical)" if one_hot_labels else "整数ラベル (sparse)"
    return Check(f"choose_loss: {labels}, logits and softmax", "choose_loss", 1.0, probes, evaluate,
                 title_ja=f"choose_loss: {labels_ja}、ロジットと softmax")


# EarlyStopping's other settings as Keras leaves them, and the direction each monitored value improves in.
KERAS_DEFAULTS = {"min_delta": 0, "baseline": None, "start_from_epoch": 0}
DIRECTIONS = {"val_loss": "min", "val_accuracy": "max"}


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
        # "exactly these three settings (mode chosen by Keras from monitor)": the rest are Keras's.
        others = [f"{key}={settings.get(key)!r} (≠ {value!r})" for key, value in KERAS_DEFAULTS.items()
                  if key in settings and settings.get(key) != value]
        direction = DIRECTIONS[expected["monitor"]]
        if settings.get("mode") not in ("auto", direction):
            others.append(f"mode={settings.get('mode')!r} (≠ 'auto' / {direction!r})")
        if others:
            return Verdict.failed("3 つの設定以外は Keras の既定のままにしてください (mode は monitor から Keras が"
                                  "決めます): " + ", ".join(others),
                                  "leave every setting but the three at Keras's default (Keras chooses mode from "
                                  "monitor): " + ", ".join(others))
        return Verdict.passed()

    call = "early_stopping(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
    return Check(f"early_stopping: {call} is configured as asked", "early_stopping", 1.0, [probe], evaluate,
                 title_ja=f"early_stopping: {call} が指定どおりに設定される")


def _callback_failure(evidence: Evidence, probe_id: str) -> Verdict | None:
    failure = evidence.failure(probe_id)
    if failure:
        return failure
    result = evidence.result(probe_id)
    if not result.get("is_early_stopping") or not isinstance(result.get("settings"), dict):
        return Verdict.failed(f"{result.get('type')} が返されました (期待: keras.callbacks.EarlyStopping)。",
                              f"returned a {result.get('type')}, expected a keras.callbacks.EarlyStopping.")
    return None


def _early_stopping_run() -> Check:
    # The grader tries the returned settings in its own training, as the outcome arrives
    # (``then``: see autograder.grade); this check only reads that trial.
    probe = {"id": "early_stopping.run", "module": "training", "task": "early_stopping", "kind": "callback",
             "then": "try_early_stopping"}

    def evaluate(evidence: Evidence) -> Verdict:
        failure = _callback_failure(evidence, probe["id"])
        if failure:
            return Verdict(0.0, failure.message + Text(" 学習で試せません。", " It cannot be tried in training."))
        trial = evidence.trials.get(probe["id"])
        if trial is None:
            return Verdict.failed("学習で試されませんでした。", "it was not tried in training.")
        if trial.unusable is not None:
            return Verdict.failed(f"この設定では学習で試せません: {trial.unusable}",
                                  f"these settings cannot be tried in training: {trial.unusable}")
        if trial.error is not None:   # Keras refusing the settings, e.g. a monitor it cannot direct
            return Verdict.failed(f"学習で試すと失敗しました: {trial.error}", f"trying it in training failed: {trial.error}")
        run = trial.run
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
                 [probe], evaluate, title_ja="early_stopping: 実際に学習を止め、最良の重みに戻す")


def checks() -> list[Check]:
    return [
        _choose_loss_check(False),
        _choose_loss_check(True),
        _early_stopping_config("defaults", {}, {"monitor": "val_loss", "patience": 0, "restore_best_weights": True}),
        _early_stopping_config("arguments", {"patience": 3, "monitor": "val_accuracy", "restore_best_weights": False},
                               {"monitor": "val_accuracy", "patience": 3, "restore_best_weights": False}),
        _early_stopping_run(),
    ]

"""Checks of compile_model on models the grader builds: every label/output combination.

The variant checks call compile_model on the student's own models (sparse + logits, sparse +
softmax, one-hot + softmax). These add the remaining combination, one-hot labels with logits,
and outputs that end in a separate Softmax or Activation("softmax") layer.
"""

from __future__ import annotations

from autograder.checks.training import loss_problem
from autograder.core import Check, Evidence, Text, Verdict, failure_verdict

DEFAULT_LEARNING_RATES = {"adam": 0.001, "sgd": 0.01}


def compile_problems(compiled: dict, optimizer: str, one_hot_labels: bool, from_logits: bool,
                     learning_rate: float | None = None) -> list[Text]:
    """What is wrong with a compiled model, as the worker described it; empty when nothing is.
    ``learning_rate``: the one an optimizer object was given; None: Keras's default for ``optimizer``."""
    failure = failure_verdict(compiled) if compiled.get("status", "ok") != "ok" else None
    if failure:
        return [failure.message]
    problems = []
    if not compiled["returned_same"]:
        problems.append(Text("compile_model は受け取ったモデルを返す必要があります", "compile_model must return the model it was given"))
    if not compiled["compiled"]:
        return problems + [Text("モデルがコンパイルされていません", "the model is not compiled")]
    loss = loss_problem(compiled["loss"], one_hot_labels, from_logits)
    if loss:
        problems.append(loss)
    actual = compiled.get("optimizer")
    if (actual or "").lower() != optimizer:
        problems.append(Text(f"最適化手法が {actual} です (期待: {optimizer})", f"optimizer {actual}, expected {optimizer}"))
    elif learning_rate is not None and not abs((compiled.get("learning_rate") or 0) - learning_rate) <= 1e-6:
        problems.append(Text(f"学習率が {compiled.get('learning_rate')} です (渡した最適化手法のもの {learning_rate} のはず)。"
                             "渡された最適化手法のオブジェクトをそのまま使ってください",
                             f"learning rate {compiled.get('learning_rate')}, expected {learning_rate}, the one of the "
                             "optimizer object passed: use that object as it is"))
    elif learning_rate is None and compiled.get("learning_rate") is not None and \
            not abs(compiled["learning_rate"] - DEFAULT_LEARNING_RATES[optimizer]) <= 1e-9:   # NaN is wrong too
        problems.append(Text(f"学習率が {compiled['learning_rate']} です (Keras の既定値 {DEFAULT_LEARNING_RATES[optimizer]} のはず)",
                             f"learning rate {compiled['learning_rate']}, expected Keras's default {DEFAULT_LEARNING_RATES[optimizer]}"))
    changes = compiled.get("optimizer_changes")
    if isinstance(changes, dict) and changes:
        settings = ", ".join(f"{key}={value!r}" for key, value in changes.items())
        given = "渡されたオブジェクト" if learning_rate is not None else "Keras の既定値"
        given_en = "those of the optimizer object passed" if learning_rate is not None else "Keras's defaults"
        problems.append(Text(f"最適化手法の設定 {settings} が{given}と違います",
                             f"optimizer settings {settings} differ from {given_en}"))
    metrics = metrics_problem(compiled)
    if metrics:
        problems.append(metrics)
    return problems


# What the worker's METRIC_SCORES score against its labels: three rows of four right.
METRIC_ACCURACY = 0.75


def metrics_problem(compiled: dict) -> Text | None:
    """None when the compiled metrics are exactly metrics=["accuracy"] as Keras resolves it: one metric,
    named "accuracy" (so History's keys are "accuracy" and "val_accuracy", what plot_history reads),
    measuring the accuracy for these labels. Another spelling that Keras resolves the same passes."""
    results = compiled.get("metric_results")
    expected = Text('(期待: metrics=["accuracy"]、History のキーは "accuracy" と "val_accuracy")',
                    '(expected metrics=["accuracy"], History keys "accuracy" and "val_accuracy")')
    if not isinstance(results, dict):
        error = compiled.get("metrics_error")
        return Text(f"評価指標が、このラベルと 10 クラスの予測で {error} を起こしました。ラベルに合わない指標です ",
                    f"the metrics raised {error} on these labels and 10-class predictions: a metric that does not "
                    "fit the labels ") + expected
    names = list(results)
    if not names:
        return Text('metrics=["accuracy"] がありません', 'metrics=["accuracy"] is missing')
    if names != ["accuracy"]:
        shown = shown_en = ", ".join(repr(name) for name in names)
        return Text(f"評価指標の名前が {shown} です。History のキーもこの名前になり、plot_history が読む "
                    f"\"accuracy\" がありません ", f"the metrics are named {shown_en}: History's keys take these names, "
                    'and the "accuracy" that plot_history reads is not among them ') + expected
    value = results["accuracy"]
    if not isinstance(value, float) or not abs(value - METRIC_ACCURACY) <= 1e-6:
        return Text(f"\"accuracy\" という名前の評価指標が、正解率 {METRIC_ACCURACY} の予測で {value} を示します。"
                    "ラベルに合った正解率ではありません ",
                    f'the metric named "accuracy" reports {value} for predictions whose accuracy is {METRIC_ACCURACY}: '
                    "not the accuracy that fits these labels ") + expected
    return None


def join(problems: list[Text]) -> Text:
    message = problems[0]
    for problem in problems[1:]:
        message = message + Text("。", "; ") + problem
    return message


CASES = [  # (ending of the model, optimizer, one-hot labels, expected from_logits)
    ("logits", "adam", True, True),
    ("softmax_layer", "sgd", False, False),
    ("activation_softmax", "adam", True, False),
]
# No sigmoid-output case: the contract's rule (no softmax → logits) would call it logits, but a
# student who reads sigmoid outputs as probabilities is not wrong about the handouts; not graded.
ENDINGS = {"logits": "Dense(10) (logits)", "softmax_layer": "Dense(10) + Softmax()",
           "activation_softmax": "Dense(10) + Activation('softmax')"}


def _case(ending, optimizer, one_hot_labels, from_logits) -> Check:
    probe = {"id": f"compile_model.{ending}", "module": "training", "task": "compile_model", "kind": "compiled",
             "args": [{"small_model": ending}],
             "kwargs": {"optimizer": {"value": optimizer}, "one_hot_labels": {"value": one_hot_labels}}}

    def evaluate(evidence: Evidence) -> Verdict:
        failure = evidence.failure(probe["id"])
        if failure:
            return failure
        problems = compile_problems(evidence.result(probe["id"])["compile"], optimizer, one_hot_labels, from_logits)
        return Verdict(0.0, join(problems)) if problems else Verdict.passed()

    labels = "one-hot" if one_hot_labels else "integer"
    labels_ja = "one-hot" if one_hot_labels else "整数"
    return Check(f"compile_model: {ENDINGS[ending]} output, {labels} labels, {optimizer} → from_logits={from_logits}",
                 "compile_model", 1.0, [probe], evaluate,
                 title_ja=f"compile_model: 出力 {ENDINGS[ending]}、{labels_ja}ラベル、{optimizer} → from_logits={from_logits}")


# The docstring's "str or keras.optimizers.Optimizer": an object, with a learning rate of its own.
OPTIMIZER_OBJECT = {"name": "SGD", "learning_rate": 0.05}


def _optimizer_object() -> Check:
    probe = {"id": "compile_model.optimizer_object", "module": "training", "task": "compile_model", "kind": "compiled",
             "args": [{"small_model": "logits"}],
             "kwargs": {"optimizer": {"keras_optimizer": OPTIMIZER_OBJECT}, "one_hot_labels": {"value": False}}}
    call = f"keras.optimizers.SGD(learning_rate={OPTIMIZER_OBJECT['learning_rate']})"

    def evaluate(evidence: Evidence) -> Verdict:
        failure = evidence.failure(probe["id"])
        if failure:
            return Verdict(0.0, Text(f"optimizer={call} で: ", f"with optimizer={call}: ") + failure.message)
        problems = compile_problems(evidence.result(probe["id"])["compile"], "sgd", False, True,
                                    learning_rate=OPTIMIZER_OBJECT["learning_rate"])
        return Verdict(0.0, join(problems)) if problems else Verdict.passed()

    return Check(f"compile_model: optimizer={call}, an object, is used as given", "compile_model", 1.0, [probe],
                 evaluate, title_ja=f"compile_model: optimizer={call} (オブジェクト) をそのまま使う")


def checks() -> list[Check]:
    return [*(_case(*case) for case in CASES), _optimizer_object()]

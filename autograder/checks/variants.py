"""Checks of every handout variant: layers, parameters, compile settings, and accuracy after training.

The worker calls the student's builder with the variant's arguments and their ``compile_model``
on the result; the grader reads the architecture JSON, rebuilds it itself, and — for accuracy —
trains it with the budget and seed of the variant table (``autograder.training.retraining``).
"""

from __future__ import annotations

from autograder.training import architecture
from autograder.checks.compiling import compile_problems, join
from autograder.core import Check, Evidence, Verdict
from autograder.exhibits import AccuracyChart
from autograder.training.findings import ModelEvidence
from autograder.protocol import PlannedProbe, variant_probe_id, variant_subject
from mnist_kit.i18n import Text
from mnist_kit.variants import VARIANTS, Variant

MODEL = "keras.Model"


def model_probe(probe_id: str, builder: str, build_kwargs: dict, **extra) -> PlannedProbe:
    """A probe that calls ``builder(**build_kwargs)`` and reports the model's architecture JSON."""
    kwargs = {}
    for key, value in build_kwargs.items():
        kwargs[key] = {"value": list(value), "tuple": True} if isinstance(value, tuple) else {"value": value}
    return {"id": probe_id, "module": "models", "task": builder, "kind": "model", "kwargs": kwargs, **extra}


def build_probe(variant: Variant) -> PlannedProbe:
    # ``then``: the grader reads, vets, counts and (for accuracy checks) trains the model as soon as
    # this outcome arrives, while the worker goes on (autograder.grade).
    return model_probe(variant_probe_id(variant.id), variant.builder, variant.build_kwargs,
                       compile={"optimizer": variant.optimizer, "one_hot_labels": variant.one_hot_labels},
                       then="read_model")


def model_failure(evidence: Evidence, variant: Variant, vet: bool = True) -> Verdict | None:
    """Why the builder's result cannot be checked, or None. ``vet``: a model the grader would not
    rebuild (a custom or Lambda layer, settings carrying weights...) earns none of its checks."""
    failure = evidence.failure(variant_probe_id(variant.id), MODEL)
    if failure:
        return Verdict(0.0, Text(f"{variant.builder}: ", f"{variant.builder}: ") + failure.message)
    if vet:
        problem = unsafe_problem(_model(evidence, variant))
        if problem:
            return Verdict(0.0, problem)
    return None


def _model(evidence: Evidence, variant: Variant) -> ModelEvidence:
    return evidence.models[variant.id]


def unsafe_problem(model: ModelEvidence) -> Text | None:
    """Why the grader will not rebuild this model, or None."""
    return unsafe_reading(model.reading)


def unsafe_reading(reading: architecture.ModelReading) -> Text | None:
    """Why the grader will not rebuild the model read as ``reading``, or None."""
    error = reading.unsafe
    if error is None:
        return None
    if not isinstance(error, architecture.ArchitectureError):
        raise error
    return Text(f"採点器はこのモデルを使いません: {error}", f"the grader will not use this model: {error}")


def call_text(variant: Variant) -> str:
    return call_of(variant.builder, variant.build_kwargs)


def call_of(builder: str, build_kwargs: dict) -> str:
    arguments = ", ".join(f"{key}={value!r}" for key, value in build_kwargs.items())
    return f"{builder}({arguments})"


def _layers(variant: Variant):
    def evaluate(evidence: Evidence) -> Verdict:
        failure = model_failure(evidence, variant, vet=False)   # a wrong layer shows in the table below
        if failure:
            return failure
        return layers_verdict(_model(evidence, variant).reading, call_text(variant),
                              architecture.expected_rows(variant), architecture.expected_input_shape(variant))
    return Check(f"variant {variant.id}: layers of {call_text(variant)}", variant_subject(variant.id), 1.0,
                 [build_probe(variant)], evaluate, title_ja=f"variant {variant.id}: {call_text(variant)} の層")


def layers_verdict(reading: architecture.ModelReading, call: str, expected_rows: list[dict], expected_shape: tuple,
                   where: str = "") -> Verdict:
    """A builder's model against the contract's layers and input shape: the layer table expected
    beside actual, then the shape, then whether the grader would rebuild it. ``where`` leads the
    messages that do not name the call themselves."""
    try:
        actual, shape = reading.layer_rows()
    except architecture.ArchitectureError as error:
        return Verdict.failed(f"{where}モデルを読めません: {error}", f"{where}cannot read the model: {error}")
    lines, wrong = architecture.diff_table(expected_rows, actual)
    if wrong:
        table = "\n".join(lines)
        return Verdict(0.0, Text(f"{call} の層が {wrong} か所違います:\n{table}",
                                 f"{call} differs from the contract in {wrong} layer(s):\n{table}"),
                       exhibit=architecture.layer_table(expected_rows, actual))
    if shape != expected_shape:
        return Verdict.failed(f"{where}入力の形が {shape} です (期待: {expected_shape})。",
                              f"{where}input shape {shape}, expected {expected_shape}.")
    problem = unsafe_reading(reading)   # layers that look right in the table but are not built-ins
    return Verdict(0.0, problem) if problem else Verdict.passed()


def _parameters(variant: Variant):
    def evaluate(evidence: Evidence) -> Verdict:
        failure = model_failure(evidence, variant)
        if failure:
            return failure
        count = _model(evidence, variant).parameters
        if isinstance(count, Text):
            return Verdict(0.0, count)
        if count != variant.params:
            return Verdict.failed(f"パラメータ数が {count:,} です (期待: {variant.params:,})。",
                                  f"{count:,} parameters, expected {variant.params:,}.")
        return Verdict.passed(Text(f"{count:,} パラメータ", f"{count:,} parameters"))
    return Check(f"variant {variant.id}: exactly {variant.params:,} parameters", variant_subject(variant.id), 1.0,
                 [build_probe(variant)], evaluate, title_ja=f"variant {variant.id}: パラメータ数がちょうど {variant.params:,}")


def _compile(variant: Variant):
    from_logits = not variant.output_is_softmax

    def evaluate(evidence: Evidence) -> Verdict:
        failure = model_failure(evidence, variant)
        if failure:
            return failure
        result = evidence.result(variant_probe_id(variant.id))
        if result.get("compiled"):
            return Verdict.failed(f"{variant.builder} はコンパイル前のモデルを返す必要があります。",
                                  f"{variant.builder} must return an uncompiled model.")
        compiled = result.get("compile")
        if not isinstance(compiled, dict):
            return Verdict.failed("compile_model を試せませんでした。", "compile_model could not be tried.")
        problems = compile_problems(compiled, variant.optimizer, variant.one_hot_labels, from_logits)
        return Verdict(0.0, join(problems)) if problems else Verdict.passed()

    return Check(f"variant {variant.id}: compile_model(optimizer={variant.optimizer!r}, "
                 f"one_hot_labels={variant.one_hot_labels}) sets the loss and optimizer", variant_subject(variant.id), 1.0,
                 [build_probe(variant)], evaluate,
                 title_ja=f"variant {variant.id}: compile_model(optimizer={variant.optimizer!r}, "
                          f"one_hot_labels={variant.one_hot_labels}) が損失と最適化手法を設定する")


def _accuracy(variant: Variant):
    def evaluate(evidence: Evidence) -> Verdict:
        failure = model_failure(evidence, variant)
        if failure:
            return failure
        outcome = _model(evidence, variant).training
        if isinstance(outcome, Text):
            return Verdict(0.0, outcome)
        if outcome is None:
            return Verdict.failed("学習されませんでした。", "the model was not trained.")
        budget = variant.budget
        text = (f"{outcome.accuracy:.4f} (threshold {variant.threshold:.3f}; handout "
                f"{variant.handout_accuracy if variant.handout_accuracy is not None else '—'}; {outcome.epochs_run} epoch(s), "
                f"batch {budget.batch_size})")
        text_ja = (f"テスト精度 {outcome.accuracy:.4f} (基準 {variant.threshold:.3f}、ハンドアウト "
                   f"{variant.handout_accuracy if variant.handout_accuracy is not None else '—'}、{outcome.epochs_run} エポック、"
                   f"バッチ {budget.batch_size})")
        chart = AccuracyChart(kind="accuracy", accuracy=outcome.accuracy, threshold=variant.threshold,
                              handout=variant.handout_accuracy)
        if outcome.accuracy < variant.threshold:
            return Verdict(0.0, Text(text_ja + " — 基準に届きません。", "test accuracy " + text + " — below the threshold."),
                           exhibit=chart)
        return Verdict(1.0, Text(text_ja, "test accuracy " + text), exhibit=chart)

    return Check(f"variant {variant.id}: test accuracy after the grader's brief training ≥ {variant.threshold:.3f}",
                 variant_subject(variant.id), 2.0, [build_probe(variant)], evaluate, needs_training=True,
                 title_ja=f"variant {variant.id}: 採点器の短い学習の後のテスト精度 ≥ {variant.threshold:.3f}")


def checks() -> list[Check]:
    result = []
    for variant in VARIANTS:
        result += [_layers(variant), _parameters(variant), _compile(variant), _accuracy(variant)]
    return result

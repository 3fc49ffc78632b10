"""Checks of mnist_tasks.plots: the structure of each returned Figure (contract table 4)."""

from __future__ import annotations

import numpy as np

from dataclasses import replace

from autograder.core import Check, Evidence, Text, Verdict, raises_value_error
from autograder.exhibits import figure_exhibit

FIGURE = "matplotlib.figure.Figure"
RED = "#ff0000"
SEED = 4242

WITH_VALIDATION = {"loss": [0.62, 0.31, 0.24, 0.2], "accuracy": [0.83, 0.91, 0.93, 0.94],
                   "val_loss": [0.35, 0.27, 0.25, 0.26], "val_accuracy": [0.9, 0.92, 0.93, 0.925]}
WITHOUT_VALIDATION = {"loss": [0.5, 0.3, 0.25], "accuracy": [0.85, 0.9, 0.92]}


def _figure_probe(probe_id, task, args=(), kwargs=None, arrays=None, picture=True):
    # Every input here is public: the worker sends the figure's picture for the feedback, when a
    # check on it fails (autograder.worker.hints).
    return {"id": probe_id, "module": "plots", "task": task, "kind": "figure", "args": list(args),
            "kwargs": kwargs or {}, "arrays": arrays or {}, "picture": picture}


def at(verdict: Verdict, *panels: int) -> Verdict:
    """``verdict``, its fault marked on the student's figure: these panels, or (none given) the whole figure."""
    return replace(verdict, exhibit=figure_exhibit("", list(panels)))


def _drawing_check(name: str, probe: dict, evaluate, title_ja: str | None = None) -> Check:
    """A check of the figure ``probe`` draws: its verdict shows that figure beside the reference's,
    the fault framed (``at``; the whole figure when the check names no panel)."""
    def shown(evidence: Evidence) -> Verdict:
        verdict = evaluate(evidence)
        marked = verdict.exhibit["marked"] if verdict.exhibit and verdict.exhibit["kind"] == "figure" else []
        return replace(verdict, exhibit=figure_exhibit(probe["id"], None if verdict.fraction == 1 else marked))
    return Check(name, probe["task"], 1.0, [probe], shown, title_ja=title_ja)


def _figure(evidence: Evidence, probe_id, hint: Text | None = None):
    """(failure, None) or (None, the figure's description); ``hint`` says what the probe passed when it raised."""
    failure = evidence.failure(probe_id, FIGURE)
    if failure and hint is not None and evidence.result(probe_id).get("status") == "error":
        failure = Verdict(0.0, failure.message + hint)
    return (failure, None) if failure else (None, evidence.result(probe_id))


def line_of(axes, values) -> dict | None:
    """The panel's line drawing exactly ``values`` (whatever its x), or None."""
    return next((line for line in axes["lines"] if len(line["y"]) == len(values) and np.allclose(line["y"], values)),
                None)


def has_series(axes, values) -> bool:
    return line_of(axes, values) is not None


def _not_gray(image, what: Text) -> Verdict | None:
    """None when ``image`` is drawn in gray levels, as the docstrings ask: every color the worker sampled
    along its colormap has R == G == B, and not all are the same gray. Which gray colormap, reversed
    or not, with vmin/vmax or without, is the student's choice."""
    colors = image.get("cmap_colors")
    name = image.get("cmap")
    advice = Text('cmap="gray" などの灰色のカラーマップで描いてください ("binary"、"Greys"、"gray_r" も灰色です)。',
                  ' Draw it with a gray colormap such as cmap="gray" ("binary", "Greys" and "gray_r" are gray too).')
    if not isinstance(colors, list) or not colors:
        return Verdict(0.0, Text(f"{what.ja}のカラーマップ {name!r} は matplotlib のカラーマップのクラス "
                                 "(LinearSegmentedColormap、ListedColormap) ではないため、色を確かめられません。",
                                 f"{what.en} is drawn with the colormap {name!r}, which is not of matplotlib's colormap "
                                 "classes (LinearSegmentedColormap, ListedColormap): its colors cannot be checked.")
                       + advice)
    gray = all(isinstance(color, list) and len(color) == 4 and color[0] == color[1] == color[2] for color in colors)
    if not gray or len({color[0] for color in colors}) < 2:
        return Verdict(0.0, Text(f"{what.ja}はカラーマップ {name!r} で描かれていて、灰色の濃淡ではありません。",
                                 f"{what.en} is drawn with the colormap {name!r}, not in gray levels.") + advice)
    return None


PANELS = (("loss", "左", "left"), ("accuracy", "右", "right"))


def _unnamed_lines(axes, index) -> list[str]:
    """Which of the panel's train and validation lines the legend does not name, each by a label of
    its own. Any words do ("train", "training loss", "訓練"): the docstring names the lines, and a
    reader needs the two told apart; the words are the student's."""
    if index >= len(PANELS):
        return []
    metric = PANELS[index][0]
    legend = axes.get("legend") or []
    labels = {}
    for role, values in (("train", WITH_VALIDATION[metric]), ("validation", WITH_VALIDATION[f"val_{metric}"])):
        line = line_of(axes, values)
        labels[role] = line["label"] if line else None
    unnamed = [role for role, label in labels.items()
               if not label or label.startswith("_") or label not in legend]
    if not unnamed and labels["train"] == labels["validation"]:
        unnamed = ["validation"]
    return unnamed


def _history_checks():
    with_val = _figure_probe("plot_history.validation", "plot_history", [{"keras_history": WITH_VALIDATION}])
    # The contract takes a History or its .history dict: this probe passes the plain dict.
    without = _figure_probe("plot_history.train_only", "plot_history", [{"history": WITHOUT_VALIDATION}])

    def panels(evidence):
        failure, figure = _figure(evidence, with_val["id"])
        if failure:
            return failure
        axes = figure["axes"]
        if len(axes) != 2:
            return Verdict.failed(f"パネルが {len(axes)} 枚です (期待: 損失と精度の 2 枚)。",
                                  f"{len(axes)} panels, expected 2 (loss and accuracy).")
        for metric in ("loss", "accuracy"):
            train, validation = WITH_VALIDATION[metric], WITH_VALIDATION[f"val_{metric}"]
            if not any(has_series(a, train) and has_series(a, validation) for a in axes):
                return Verdict.failed(f"{metric} と val_{metric} の線が同じパネルにありません。",
                                      f"no panel shows both the {metric} and val_{metric} lines.")
        # The docstring's order: left loss, right accuracy (Figure.get_axes lists them as added).
        for index, (metric, side, side_en) in enumerate(PANELS):
            if not has_series(axes[index], WITH_VALIDATION[metric]):
                return at(Verdict.failed(f"{side}のパネルが {metric} ではありません (期待: 左が loss、右が accuracy)。",
                                         f"the {side_en} panel does not show {metric} (expected loss on the left, "
                                         "accuracy on the right)."), index)
        return Verdict.passed()

    def labels(evidence):
        failure, figure = _figure(evidence, with_val["id"])
        if failure:
            return failure
        for index, axes in enumerate(figure["axes"]):
            if "epoch" not in axes["xlabel"].lower() and "エポック" not in axes["xlabel"]:
                return at(Verdict.failed(f"パネル {index + 1} の x 軸ラベルが {axes['xlabel']!r} です (期待: 'epoch')。",
                                         f"panel {index + 1} has x label {axes['xlabel']!r}, expected 'epoch'."), index)
            if not axes["ylabel"]:
                return at(Verdict.failed(f"パネル {index + 1} に y 軸ラベルがありません。",
                                         f"panel {index + 1} has no y label."), index)
            if not axes["legend"] or len(axes["legend"]) < 2:
                return at(Verdict.failed(f"パネル {index + 1} に train と validation の凡例がありません。",
                                         f"panel {index + 1} lacks a legend naming train and validation."), index)
            unnamed = _unnamed_lines(axes, index)
            if unnamed:
                return at(Verdict.failed(f"パネル {index + 1} の凡例が {' と '.join(unnamed)} の線を、ほかと違う名前で示していません "
                                      f"(凡例: {axes['legend']})。線ごとに label= を付けて legend() を呼んでください。",
                                      f"panel {index + 1}'s legend does not name its {' and '.join(unnamed)} line apart "
                                      f"from the other (legend: {axes['legend']}): give each line a label= of its own "
                                      "and call legend()."), index)
        return Verdict.passed()

    def train_only(evidence):
        failure, figure = _figure(evidence, without["id"], Text(
            " (この検査は履歴を dict (history.history) で渡します。History と dict の両方を受け付けてください。)",
            " (this check passes the history as a plain dict, history.history: accept it as well as a History.)"))
        if failure:
            return failure
        counts = [len(axes["lines"]) for axes in figure["axes"]]
        if len(counts) != 2 or counts != [1, 1]:
            wrong = [index for index, count in enumerate(counts) if count != 1] if len(counts) == 2 else []
            return at(Verdict.failed(f"検証データなしの履歴で、パネルごとの線の数が {counts} です (期待: [1, 1])。",
                                     f"with no validation data, the panels hold {counts} lines, expected [1, 1]."), *wrong)
        return Verdict.passed()

    return [
        _drawing_check("plot_history: two panels, loss and accuracy, train and validation lines", with_val, panels,
                       title_ja="plot_history: 損失と精度の 2 パネル、訓練と検証の線"),
        _drawing_check("plot_history: 'epoch' x labels, y labels and legends", with_val, labels,
                       title_ja="plot_history: x 軸ラベル 'epoch'、y 軸ラベルと凡例"),
        _drawing_check("plot_history: no validation line without validation data (a dict, not a History)", without,
                       train_only, title_ja="plot_history: 検証データがなければ検証の線はない (History でなく dict)"),
    ]


def _predictions_checks():
    rng = np.random.default_rng(SEED)
    images = rng.random((60, 28, 28), dtype=np.float32)
    true = rng.integers(0, 10, size=60)
    predicted = true.copy()
    mistakes = sorted(int(i) for i in rng.choice(50, size=6, replace=False))
    predicted[mistakes] = (true[mistakes] + rng.integers(1, 10, size=6)) % 10
    # The contract takes (N, 28, 28), (N, 784) or (N, 28, 28, 1) images: the small probe passes (N, 784).
    arrays = {"pp.images.npy": images, "pp.flat_images.npy": images.reshape(len(images), 784),
              "pp.predicted.npy": predicted, "pp.true.npy": true}
    args = [{"npy": "pp.images.npy"}, {"npy": "pp.predicted.npy"}, {"npy": "pp.true.npy"}]
    default = _figure_probe("plot_predictions.default", "plot_predictions", args, arrays=arrays)
    small = _figure_probe("plot_predictions.small", "plot_predictions", [{"npy": "pp.flat_images.npy"}, *args[1:]],
                          {"count": {"value": 12}, "columns": {"value": 4}}, arrays)
    # Fewer images than count, with a channel axis: the docstring's "fewer if there are fewer images".
    arrays["pp.channel_images.npy"] = images[:FEW, ..., np.newaxis]
    few = _figure_probe("plot_predictions.few", "plot_predictions",
                        [{"npy": "pp.channel_images.npy"}, *args[1:]], {"count": {"value": 10}}, arrays)
    flat_hint = Text(" (この検査は画像を平坦化した (N, 784) の形で渡します。28×28 に戻して描いてください。)",
                     " (this check passes the images flattened, shape (N, 784): reshape each to 28×28 to draw it.)")

    def grid(probe, count, shape, hint=None):
        def evaluate(evidence):
            failure, figure = _figure(evidence, probe["id"], hint)
            if failure:
                return failure
            axes = figure["axes"]
            if len(axes) != count:
                return Verdict.failed(f"画像が {len(axes)} 枚です (期待: {count})。", f"{len(axes)} images, expected {count}.")
            if axes[0]["grid"] != list(shape):
                return Verdict.failed(f"配置が {axes[0]['grid']} です (期待: {list(shape)} 行×列)。",
                                      f"grid {axes[0]['grid']}, expected {list(shape)} (rows, columns).")
            for index, panel in enumerate(axes[:count]):
                shown = panel["images"]
                if len(shown) != 1 or shown[0]["shape"] != [28, 28]:
                    return at(Verdict.failed(f"{index} 番目のパネルが 28×28 のグレースケール画像ではありません。",
                                             f"panel {index} is not one 28×28 grayscale image."), index)
                colored = _not_gray(shown[0], Text(f"{index} 番目のパネル", f"panel {index}"))
                if colored:
                    return at(colored, index)
                if not np.allclose(shown[0]["data"], images[index], atol=1e-5):
                    return at(Verdict.failed(f"{index} 番目のパネルの画像が images[{index}] ではありません。",
                                             f"panel {index} does not show images[{index}]."), index)
            return Verdict.passed()
        return evaluate

    def titles(evidence):
        failure, figure = _figure(evidence, default["id"])
        if failure:
            return failure
        for index, panel in enumerate(figure["axes"][:50]):
            wrong = index in mistakes
            expected = f"{predicted[index]}({true[index]})" if wrong else f"{predicted[index]}"
            if panel["title"] != expected:
                return at(Verdict.failed(f"{index} 番目のタイトルが {panel['title']!r} です (期待: {expected!r})。",
                                         f"panel {index} is titled {panel['title']!r}, expected {expected!r}."), index)
            if (panel["title_background"] == RED) != wrong:
                state_ja, state_en = ("誤りなのに赤背景がありません", "a mistake without a red background") if wrong else \
                    ("正解なのに赤背景です", "a correct prediction on a red background")
                return at(Verdict.failed(f"{index} 番目: {state_ja}。", f"panel {index}: {state_en}."), index)
        return Verdict.passed()

    return [
        _drawing_check("plot_predictions: the first 50 images in 10 rows × 5 columns, grayscale 28×28", default,
                       grid(default, 50, (10, 5)),
                       title_ja="plot_predictions: 最初の 50 枚を 10 行 × 5 列に、28×28 のグレースケールで"),
        _drawing_check("plot_predictions: titled with the prediction, mistakes 'pred(true)' on red", default, titles,
                       title_ja="plot_predictions: タイトルは予測、誤りは赤背景に 'pred(true)'"),
        _drawing_check("plot_predictions: flattened (N, 784) images, count=12, columns=4 → 3 × 4", small,
                       grid(small, 12, (3, 4), flat_hint),
                       title_ja="plot_predictions: 平坦化した (N, 784) の画像、count=12、columns=4 → 3 × 4"),
        _drawing_check(f"plot_predictions: {FEW} images (N, 28, 28, 1), count=10 → {FEW} panels in 2 rows × 5 columns",
                       few, grid(few, FEW, (2, 5), FEW_HINT),
                       title_ja=f"plot_predictions: (N, 28, 28, 1) の画像 {FEW} 枚、count=10 → {FEW} 枚を 2 行 × 5 列に"),
    ]


FEW = 7
FEW_HINT = Text(f" (この検査は count=10 に対して画像を {FEW} 枚、(N, 28, 28, 1) の形で渡します。画像が count より少なければ"
                "その枚数だけ描き、各画像は 28×28 にして描いてください。)",
                f" (this check passes {FEW} images for count=10, shape (N, 28, 28, 1): draw as many as there are, "
                "each reshaped to 28×28.)")


MODEL_HINT = Text(" (検査のモデル: Input(28, 28) → Flatten → Dense(16, sigmoid) → Dense(10)。"
                  "最初の Dense 層の重み (784, 16) を描きます。)",
                  " (the model checked: Input(28, 28) → Flatten → Dense(16, sigmoid) → Dense(10); draw the weights "
                  "(784, 16) of its first Dense layer.)")


ODD_UNITS = 10
ODD_HINT = Text(f" (検査のモデル: Input(28, 28) → Flatten → Dense({ODD_UNITS}, sigmoid) → Dense(10)。)",
                f" (the model checked: Input(28, 28) → Flatten → Dense({ODD_UNITS}, sigmoid) → Dense(10).)")


def _weights_checks():
    kernel = np.random.default_rng(SEED + 1).normal(size=(784, 16)).astype(np.float32)
    arrays = {"weights.kernel.npy": kernel}
    spec = {"dense_model": {"input_shape": [28, 28], "units": 16, "kernel": "weights.kernel.npy"}}
    default = _figure_probe("plot_first_layer_weights.default", "plot_first_layer_weights", [spec], arrays=arrays)
    wide = _figure_probe("plot_first_layer_weights.wide", "plot_first_layer_weights", [spec],
                         {"columns": {"value": 8}}, arrays)

    # 10 units in 4 columns leave two places of the 3 × 4 grid empty: "one Axes per unit", none spare.
    odd_kernel = np.random.default_rng(SEED + 3).normal(size=(784, ODD_UNITS)).astype(np.float32)
    odd = _figure_probe("plot_first_layer_weights.odd", "plot_first_layer_weights",
                        [{"dense_model": {"input_shape": [28, 28], "units": ODD_UNITS, "kernel": "weights.odd.npy"}}],
                        arrays={"weights.odd.npy": odd_kernel})

    def images(probe, shape, kernel=kernel, hint=MODEL_HINT):
        units = kernel.shape[1]

        def evaluate(evidence):
            failure, figure = _figure(evidence, probe["id"], hint)
            if failure:
                return failure
            axes = figure["axes"]
            if len(axes) != units:
                spare = Text("空いた場所の Axes は残さず取り除いてください (ax.remove() か、add_subplot をユニットの数だけ)。",
                             " Remove the grid's spare Axes (ax.remove(), or add_subplot once per unit).") \
                    if len(axes) > units else Text("", "")
                return Verdict(0.0, Text(f"画像が {len(axes)} 枚です (期待: ユニット数 {units})。",
                                         f"{len(axes)} images, expected {units} (one per unit).") + spare)
            if axes[0]["grid"] != list(shape):
                return Verdict.failed(f"配置が {axes[0]['grid']} です (期待: {list(shape)})。",
                                      f"grid {axes[0]['grid']}, expected {list(shape)}.")
            for unit, panel in enumerate(axes):
                shown = panel["images"]
                if len(shown) != 1 or shown[0]["shape"] != [28, 28]:
                    return at(Verdict.failed(f"ユニット {unit} が 28×28 のグレースケール画像ではありません。",
                                             f"unit {unit} is not drawn as one 28×28 grayscale image."), unit)
                colored = _not_gray(shown[0], Text(f"ユニット {unit} ", f"unit {unit}"))
                if colored:
                    return at(colored, unit)
                if not np.allclose(shown[0]["data"], kernel[:, unit].reshape(28, 28), atol=1e-5):
                    return at(Verdict.failed(f"ユニット {unit} の画像が重み kernel[:, {unit}] ではありません (行順 28×28)。",
                                             f"unit {unit} does not show kernel[:, {unit}] reshaped row by row to 28×28."),
                              unit)
            return Verdict.passed()
        return evaluate

    return [
        _drawing_check("plot_first_layer_weights: each of 16 units as its 28×28 weights, 4 columns", default,
                       images(default, (4, 4)), title_ja="plot_first_layer_weights: 16 ユニットそれぞれの重みを 28×28 で、4 列に"),
        _drawing_check("plot_first_layer_weights: columns=8 → 2 × 8", wide, images(wide, (2, 8))),
        _drawing_check(f"plot_first_layer_weights: {ODD_UNITS} units, columns=4 → {ODD_UNITS} Axes in 3 × 4, no spare ones",
                       odd, images(odd, (3, 4), odd_kernel, ODD_HINT),
                       title_ja=f"plot_first_layer_weights: {ODD_UNITS} ユニット、columns=4 → 3 × 4 に {ODD_UNITS} 個の Axes、"
                                "余りなし"),
        _undrawable_models_check(default),
    ]


def _undrawable_models_check(default) -> Check:
    """The docstring's promise: a model with no Dense layer, or whose first Dense layer does not take
    the 784 pixels, raises ValueError; the drawable model of ``default`` (the same probe) must not."""
    kernel = np.random.default_rng(SEED + 2).normal(size=(100, 16)).astype(np.float32)
    narrow = _figure_probe("plot_first_layer_weights.narrow", "plot_first_layer_weights",
                           [{"dense_model": {"input_shape": [10, 10], "units": 16, "kernel": "weights.narrow.npy"}}],
                           arrays={"weights.narrow.npy": kernel}, picture=False)   # they raise: no figure
    no_dense = _figure_probe("plot_first_layer_weights.no_dense", "plot_first_layer_weights",
                             [{"no_dense_model": [28, 28, 1]}], picture=False)
    cases = [(no_dense["id"], Text("Dense 層のないモデル (Input(28, 28, 1) → Conv2D(4, 3×3) → Flatten)",
                                   "a model with no Dense layer (Input(28, 28, 1) → Conv2D(4, 3×3) → Flatten)"), None),
             (narrow["id"], Text("最初の Dense 層の入力が 100 個のモデル (Input(10, 10) → Flatten → Dense(16) → Dense(10))",
                                 "a model whose first Dense layer takes 100 inputs (Input(10, 10) → Flatten → Dense(16) "
                                 "→ Dense(10))"), None)]
    valid = (default["id"], Text("描けるモデル (最初の Dense 層が 784 個の入力を取る)",
                                 "a model it can draw (its first Dense layer takes the 784 pixels)"))
    rule = Text("Dense 層がないとき、または最初の Dense 層の入力が 784 個でないときにだけ ValueError を送出してください。",
                "raise ValueError when the model has no Dense layer or its first one does not take 784 inputs, "
                "and only then.")

    def evaluate(evidence: Evidence) -> Verdict:
        return raises_value_error(evidence, valid, cases, rule)
    return Check("plot_first_layer_weights: a model with no Dense layer, or a first Dense layer not taking 784 inputs, "
                 "raises ValueError", "plot_first_layer_weights", 1.0, [default, no_dense, narrow], evaluate,
                 title_ja="plot_first_layer_weights: Dense 層がない、または最初の Dense 層の入力が 784 個でないモデルは "
                          "ValueError")


def checks() -> list[Check]:
    return [*_history_checks(), *_predictions_checks(), *_weights_checks()]

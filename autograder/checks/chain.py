"""The notebook's chain: compile_model, early_stopping and plot_history checked together, as the
handouts use them (002 In[17]-In[19]): a mismatch between the student's own functions (metrics
that name History's keys otherwise than plot_history reads them, a callback that does not run as
its settings say) costs a point here even where each function alone looks right.

Inside the box (``autograder.worker.chain``), on a slice of MNIST: the grader's 784-16-10 logits
model, compiled by ``compile_model(model, "adam")``, fitted for up to ``EPOCHS`` epochs with
``validation_split`` and ``callbacks=[early_stopping()]``, then ``plot_history(history)``. The
validation rows are labelled one digit off, so the validation loss rises from the first epoch on
and ``early_stopping()`` (patience 0) ends the fit after its second epoch. Its cost:
``benchmarks/chain_time.py`` (0.73 s a grading on the 2-core machine, README).
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.checks.plots import PANELS, has_series
from autograder.core import Check, Evidence, Text, Verdict, failure_verdict

TRAIN_ROWS, VALIDATION_ROWS = 384, 128
EPOCHS, BATCH_SIZE = 3, 64
STOPPED_AFTER = 2   # patience 0: the first epoch is the best, the second is worse
KEYS = ["accuracy", "loss", "val_accuracy", "val_loss"]
PROBE_ID = "chain.compile_fit_plot"


@functools.lru_cache(maxsize=1)
def mnist_slice() -> tuple[np.ndarray, np.ndarray]:
    """The first training images (normalized, flattened) and their labels, the last ``VALIDATION_ROWS``
    labelled one digit off. Loaded only when the chain is graded, and once per process. Without
    MNIST (a self-check offline, before the data is at hand), digits of a kind any model learns at
    once: each label lights a band of pixels of its own; the validation loss rises just the same."""
    from mnist_kit.data import MnistDataError, load_mnist

    rows = TRAIN_ROWS + VALIDATION_ROWS
    try:
        (images, labels), _ = load_mnist()
        x = (images[:rows].reshape(rows, 784) / np.float32(255)).astype(np.float32)
        y = labels[:rows].astype(np.int64)
    except MnistDataError:
        rng = np.random.default_rng(TRAIN_ROWS)
        y = rng.integers(0, 10, rows)
        x = rng.random((rows, 784), dtype=np.float32) * np.float32(0.5)
        for row, label in enumerate(y):
            x[row, label * 78:(label + 1) * 78] += np.float32(0.5)
    y[TRAIN_ROWS:] = (y[TRAIN_ROWS:] + 1) % 10
    return x, y


def _images() -> np.ndarray:
    return mnist_slice()[0]


def _labels() -> np.ndarray:
    return mnist_slice()[1]


PROBE = {"id": PROBE_ID, "module": "training", "task": "compile_model", "kind": "chain",
         "args": [{"npy": "chain.images.npy"}, {"npy": "chain.labels.npy"}],
         "chain": {"epochs": EPOCHS, "batch_size": BATCH_SIZE,
                   "validation_split": VALIDATION_ROWS / (TRAIN_ROWS + VALIDATION_ROWS)},
         # Callables: the grader loads MNIST only when this probe is sent (autograder.grade._probes_of).
         "arrays": {"chain.images.npy": _images, "chain.labels.npy": _labels}}

STEPS = {"compile_model": Text("compile_model(model, optimizer='adam') が", "compile_model(model, optimizer='adam')"),
         "early_stopping": Text("early_stopping() が", "early_stopping()"),
         "fit": Text("model.fit(..., validation_split=0.25, callbacks=[early_stopping()]) が",
                     "model.fit(..., validation_split=0.25, callbacks=[early_stopping()])"),
         "plot_history": Text("plot_history(history) が", "plot_history(history)")}


def evaluate(evidence: Evidence) -> Verdict:
    outcome = evidence.result(PROBE_ID)
    history = outcome.get("history") if isinstance(outcome.get("history"), dict) else None
    keys = Text(f" (History のキー: {sorted(history)})", f" (History's keys: {sorted(history)})") if history else Text("", "")
    failure = failure_verdict(outcome)
    if failure:
        step = STEPS.get(outcome.get("step"))
        if step is None:
            return failure
        return Verdict(0.0, Text(f"ノートブックの流れで {step.ja}失敗しました: ", f"in the notebook's chain, {step.en} failed: ")
                       + failure.message + keys)
    if history is None or sorted(history) != KEYS:
        return Verdict.failed(f"compile_model でコンパイルしたモデルの History のキーが {sorted(history or {})} です "
                              f"(期待: {KEYS})。plot_history はこのキーを読みます。",
                              f"the History of a model compiled by compile_model has keys {sorted(history or {})}, "
                              f"expected {KEYS}: plot_history reads these.")
    epochs = len(history["loss"])
    if epochs != STOPPED_AFTER:
        return Verdict.failed(f"fit に渡した early_stopping() が、検証損失が悪化した後も学習を止めませんでした "
                              f"({epochs} エポック、期待: {STOPPED_AFTER})。",
                              f"the early_stopping() callback passed to fit did not stop training after the validation "
                              f"loss got worse ({epochs} epochs, expected {STOPPED_AFTER}).")
    figure = outcome.get("figure") or {}
    axes = figure.get("axes") if isinstance(figure.get("axes"), list) else []
    if len(axes) != len(PANELS):
        return Verdict.failed(f"この History の plot_history のパネルが {len(axes)} 枚です (期待: 2)。",
                              f"plot_history of this History drew {len(axes)} panels, expected 2.")
    for panel, (metric, side, side_en) in zip(axes, PANELS):
        for key in (metric, f"val_{metric}"):
            if not has_series(panel, history[key]):
                return Verdict.failed(f"plot_history の{side}のパネルに、この History の {key} の線がありません"
                                      f" ({epochs} エポック分)。",
                                      f"plot_history's {side_en} panel has no line of this History's {key} "
                                      f"({epochs} epochs).")
    return Verdict.passed()


def checks() -> list[Check]:
    return [Check("plot_history: the History of fit with compile_model and early_stopping() (the notebook's chain)",
                  "plot_history", 1.0, [PROBE], evaluate,
                  title_ja="plot_history: compile_model と early_stopping() で fit した History を描く (ノートブックの流れ)")]

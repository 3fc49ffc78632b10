"""The notebook's chain, run on the student's own functions together (``autograder.checks.chain``):
``compile_model`` on a small model, a short ``fit`` with the student's ``early_stopping`` callback
and ``validation_split``, then ``plot_history`` on the History that fit returned.

Each function is also checked on its own; only here does one function meet what another made
(the History keys ``compile_model``'s metrics name, a callback Keras itself runs).
"""

from __future__ import annotations

import importlib

import keras
import numpy as np

from autograder.worker import arguments, describe

SEED = 2002


def run(probe, workdir, send, error_outcome, import_error_outcome):
    """Returns (outcome, None, []), as ``loop.run_probe`` does; the two ``*_outcome`` are its
    describers of an exception (passed in: the loop imports this module)."""
    def _step(name, call):
        """(value, None), or (None, the outcome naming the step that raised)."""
        try:
            return call(), None
        except BaseException as error:  # SystemExit and KeyboardInterrupt from student code too
            return None, dict(error_outcome(error), step=name)

    modules = {}
    for name in ("training", "plots"):
        try:
            modules[name] = importlib.import_module(f"mnist_tasks.{name}")
        except BaseException as error:
            return import_error_outcome(error, name), None, []
    images, labels = (arguments.load_argument(spec, workdir) for spec in probe["args"])
    options = probe["chain"]
    send({"calling": probe["id"]})
    # The same model, the same initial weights and the same batches every grading: a deterministic verdict.
    keras.utils.set_random_seed(SEED)
    model = arguments.small_model("logits")
    training, plots = modules["training"], modules["plots"]
    _, failed = _step("compile_model", lambda: training.compile_model(model, optimizer="adam", one_hot_labels=False))
    if failed:
        return failed, None, []
    callback, failed = _step("early_stopping", training.early_stopping)
    if failed:
        return failed, None, []
    # Eagerly: tracing the train and test functions costs more than these few small steps, and
    # changes nothing the chain checks (the History's keys and values, when the callback stops).
    model.run_eagerly = True
    # Keras's own fit, through the class: the student's callback runs as it would in their notebook.
    history, failed = _step("fit", lambda: keras.Model.fit(
        model, images, labels, epochs=options["epochs"], batch_size=options["batch_size"],
        validation_split=options["validation_split"], shuffle=False, callbacks=[callback], verbose=0))
    if failed:
        return failed, None, []
    logs, failed = _step("fit", lambda: {describe.text(key): [float(value) for value in values]
                                         for key, values in history.history.items()})
    if failed:
        return failed, None, []
    describe.close_pyplot_figures()
    figure, failed = _step("plot_history", lambda: plots.plot_history(history))
    if failed:
        return dict(failed, history=logs), None, []
    return {"status": "ok", "history": logs, "figure": describe.figure(figure)}, None, []

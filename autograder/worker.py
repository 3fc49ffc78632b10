"""The child process that runs student code. It reports plain data and decides nothing.

Started by ``autograder.sandbox`` as ``python -I -m autograder.worker REQUEST_FD RESULT_FD``. The
request (JSON) names the directory holding the student's ``mnist_tasks`` and a list of probes; for
each probe the worker calls one student function and writes one JSON line to the result pipe:
arrays go to ``.npy`` files in the probe's work directory (the parent reads them with
``allow_pickle=False``), models as their Keras architecture JSON, figures as a description.
Anything the student function raises becomes ``{"status": "error", ...}`` for that probe alone.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback

# The libraries come first, before the submission's directory joins sys.path: a student's
# keras.py or numpy.py beside mnist_tasks/ must not shadow them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["MPLBACKEND"] = "Agg"
import numpy as np  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
import matplotlib.colors as mcolors  # noqa: E402
from mnist_kit.runtime import import_tensorflow_quietly  # noqa: E402

# Keras too, before the student's directory is on sys.path; quietly, so that a worker's log
# holds what the student's code printed.
import_tensorflow_quietly()
import keras  # noqa: E402,F401

MAX_TRACE = 1200


class ProbeFailure(Exception):
    """The student's function returned something the probe cannot describe."""


def _call(probe, function, args, kwargs):
    tracked = probe.get("track_to_categorical")
    calls = {"to_categorical": 0}
    if tracked:
        import keras

        originals = _wrap_to_categorical(keras, calls)
    try:
        return function(*args, **kwargs), calls["to_categorical"]
    finally:
        if tracked:
            _restore(originals)


def _wrap_to_categorical(keras, calls):
    """Count calls of keras.utils.to_categorical wherever a student may reach it."""
    import keras.src.utils.numerical_utils as numerical

    places = [(keras.utils, "to_categorical"), (numerical, "to_categorical")]
    try:
        import tensorflow as tf

        places.append((tf.keras.utils, "to_categorical"))
    except Exception:
        pass
    originals = []
    for owner, name in places:
        original = getattr(owner, name, None)
        if original is None:
            continue

        def counting(*args, _original=original, **kwargs):
            calls["to_categorical"] += 1
            return _original(*args, **kwargs)

        originals.append((owner, name, original))
        setattr(owner, name, counting)
    return originals


def _restore(originals):
    for owner, name, original in originals:
        setattr(owner, name, original)


def _load_argument(spec, workdir):
    if "npy" in spec:
        return np.load(os.path.join(workdir, spec["npy"]), allow_pickle=False)
    if "value" in spec:
        value = spec["value"]
        return tuple(value) if spec.get("tuple") else value
    if "history" in spec:
        return spec["history"]
    if "keras_history" in spec:
        import keras

        history = keras.callbacks.History()
        history.history = {key: list(values) for key, values in spec["keras_history"].items()}
        history.epoch = list(range(len(spec["keras_history"]["loss"])))
        return history
    if "dense_model" in spec:
        return _trusted_dense_model(spec["dense_model"], workdir)
    if "small_model" in spec:
        return _small_model(spec["small_model"])
    if "keras_model" in spec:
        import keras

        return keras.models.model_from_json(spec["keras_model"])
    raise ValueError(f"unknown argument spec {sorted(spec)}")


def _small_model(ending):
    """A 784-16-10 model whose output ends as ``ending`` says, for compile_model's checks."""
    import keras

    last = {
        "logits": [keras.layers.Dense(10)],
        "softmax": [keras.layers.Dense(10, activation="softmax")],
        "softmax_layer": [keras.layers.Dense(10), keras.layers.Softmax()],
        "activation_softmax": [keras.layers.Dense(10), keras.layers.Activation("softmax")],
    }[ending]
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(16, activation="relu"), *last])


def _trusted_dense_model(spec, workdir):
    """A model with known first-layer weights, for plot_first_layer_weights."""
    import keras

    layers = [keras.Input(shape=tuple(spec["input_shape"]))]
    if len(spec["input_shape"]) > 1:
        layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(spec["units"], activation="sigmoid"), keras.layers.Dense(10)]
    model = keras.Sequential(layers)
    kernel = np.load(os.path.join(workdir, spec["kernel"]), allow_pickle=False)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][0]
    dense.set_weights([kernel, np.zeros(spec["units"], np.float32)])
    return model


def _describe_array(value, probe, workdir, arrays_in):
    if not isinstance(value, np.ndarray):
        return {"type": type(value).__module__ + "." + type(value).__qualname__}
    if value.dtype.hasobject:
        return {"type": "numpy.ndarray", "dtype": str(value.dtype), "object_dtype": True}
    name = f"{probe['id']}.result.npy"
    # A plain ndarray copy: a subclass (with its own __eq__ and friends) stays in the child.
    np.save(os.path.join(workdir, name), np.array(value, subok=False), allow_pickle=False)
    changed = [key for key, (before, after) in arrays_in.items() if not np.array_equal(before, after)]
    return {"type": "numpy.ndarray", "npy": name, "inputs_changed": changed}


def _describe_loss(loss):
    import keras

    if isinstance(loss, str):
        return {"kind": "string", "name": loss}
    if isinstance(loss, keras.losses.Loss):
        config = loss.get_config()
        return {"kind": "instance", "class": type(loss).__name__, "module": type(loss).__module__,
                "from_logits": config.get("from_logits"), "reduction": config.get("reduction")}
    if callable(loss):
        return {"kind": "function", "name": getattr(loss, "__name__", repr(loss))}
    return {"kind": "other", "type": type(loss).__qualname__}


def _describe_model(model, probe):
    import keras

    if not isinstance(model, keras.Model):
        return {"type": type(model).__module__ + "." + type(model).__qualname__}
    # Only the architecture leaves the worker: weights (even ones trained inside the builder)
    # are discarded, since the grader rebuilds and trains the model itself.
    described = {"type": "keras.Model", "json": model.to_json(), "compiled": bool(model.compiled)}
    compile_options = probe.get("compile")
    if compile_options is not None:
        module = importlib.import_module("mnist_tasks.training")
        returned = module.compile_model(model, **compile_options)
        described["compile"] = _describe_compiled(model, returned)
    return described


def _describe_compiled(model, returned):
    return {
        "returned_same": returned is model,
        "compiled": bool(getattr(model, "compiled", False)),
        "loss": _describe_loss(getattr(model, "loss", None)),
        "optimizer": type(model.optimizer).__name__ if getattr(model, "optimizer", None) is not None else None,
        "learning_rate": _learning_rate(model),
        "metrics": _metric_names(model),
    }


def _learning_rate(model):
    try:
        return float(np.asarray(model.optimizer.learning_rate))
    except Exception:
        return None


def _metric_names(model):
    try:
        config = model.get_compile_config() or {}
    except Exception:
        return None
    metrics = config.get("metrics")
    return json.loads(json.dumps(metrics, default=str)) if metrics is not None else None


def _describe_callback(callback):
    import keras

    described = {"type": type(callback).__module__ + "." + type(callback).__qualname__,
                 "is_early_stopping": isinstance(callback, keras.callbacks.EarlyStopping)}
    for attribute in ("monitor", "patience", "restore_best_weights", "min_delta", "baseline",
                      "start_from_epoch"):
        value = getattr(callback, attribute, None)
        described[attribute] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
    return described


def _run_early_stopping(callback):
    """Real training whose validation loss worsens after epoch 1 (see tests/test_training_reference)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.layers[0].set_weights([np.zeros((1, 1), np.float32)])
    x = np.ones((8, 1), np.float32)
    history = model.fit(x, x, validation_data=(x, np.zeros_like(x)), epochs=10, verbose=0, callbacks=[callback])
    val_loss = [float(v) for v in history.history.get("val_loss", [])]
    final = float(model.evaluate(x, np.zeros_like(x), verbose=0))
    return {"epochs_run": len(history.history.get("loss", [])), "val_loss": val_loss, "final_val_loss": final}


def _describe_figure(figure):
    if not isinstance(figure, Figure):
        return {"type": type(figure).__module__ + "." + type(figure).__qualname__}
    axes_list = []
    for axes in figure.axes:
        title = axes.title
        patch = title.get_bbox_patch()
        background = mcolors.to_hex(patch.get_facecolor()) if patch is not None else None
        legend = axes.get_legend()
        spec = axes.get_subplotspec()
        axes_list.append({
            "title": title.get_text() or axes.get_title(loc="left") or axes.get_title(loc="right"),
            "title_background": background,
            "xlabel": axes.get_xlabel(), "ylabel": axes.get_ylabel(),
            "lines": [{"label": line.get_label(),
                       "x": np.asarray(line.get_xdata(), dtype=float).tolist(),
                       "y": np.asarray(line.get_ydata(), dtype=float).tolist()} for line in axes.get_lines()],
            "legend": [text.get_text() for text in legend.get_texts()] if legend is not None else None,
            "images": [{"shape": list(np.asarray(image.get_array()).shape),
                        "cmap": image.get_cmap().name,
                        "data": np.asarray(image.get_array(), dtype=float).round(6).tolist()
                        if np.asarray(image.get_array()).size <= 28 * 28 else None}
                       for image in axes.get_images()],
            "axis_on": bool(axes.axison),
            "grid": list(spec.get_gridspec().get_geometry()) if spec is not None else None,
        })
    _close_pyplot_figures()
    return {"type": "matplotlib.figure.Figure", "axes": axes_list}


def _close_pyplot_figures():
    """Free figures a plot made through pyplot, so later probes do not accumulate them."""
    import matplotlib.pyplot as plt

    plt.close("all")


def run_probe(probe, workdir):
    module = importlib.import_module(f"mnist_tasks.{probe['module']}")
    function = getattr(module, probe["task"], None)
    if function is None:
        return {"status": "missing"}
    args = [_load_argument(spec, workdir) for spec in probe.get("args", [])]
    kwargs = {key: _load_argument(spec, workdir) for key, spec in probe.get("kwargs", {}).items()}
    arrays_in = {str(index): (arg.copy(), arg) for index, arg in enumerate(args) if isinstance(arg, np.ndarray)}
    value, to_categorical_calls = _call(probe, function, args, kwargs)
    kind = probe["kind"]
    if kind == "array":
        result = _describe_array(value, probe, workdir, arrays_in)
    elif kind == "model":
        result = _describe_model(value, probe)
    elif kind == "compiled":
        # compile_model on a model the grader built: the result is that model, compiled.
        result = {"type": "keras.Model", "compile": _describe_compiled(args[0], value)}
    elif kind == "loss":
        result = _describe_loss(value)
    elif kind == "callback":
        result = _describe_callback(value)
        if probe.get("run") and result["is_early_stopping"]:
            result["run"] = _run_early_stopping(value)
    elif kind == "figure":
        result = _describe_figure(value)
    else:
        raise ValueError(f"unknown probe kind {kind!r}")
    result["status"] = "ok"
    result["to_categorical_calls"] = to_categorical_calls
    return result


def _error(error):
    frames = traceback.extract_tb(error.__traceback__)
    student = [f for f in frames if "mnist_tasks" in f.filename]
    where = f"{os.path.basename(student[-1].filename)}:{student[-1].lineno}" if student else None
    return {"status": "not_implemented" if isinstance(error, NotImplementedError) else "error",
            "error_type": type(error).__name__, "message": str(error)[:MAX_TRACE], "where": where}


def main(request_fd: int, result_fd: int) -> None:
    with os.fdopen(request_fd, "r", encoding="utf-8") as stream:
        request = json.load(stream)
    results = os.fdopen(result_fd, "w", encoding="utf-8", buffering=1)
    workdir = request["workdir"]
    sys.path.insert(0, request["package_parent"])
    sys.dont_write_bytecode = True
    os.chdir(workdir)
    for probe in request["probes"]:
        results.write(json.dumps({"start": probe["id"]}) + "\n")
        try:
            outcome = run_probe(probe, workdir)
        except BaseException as error:  # SystemExit and KeyboardInterrupt from student code too
            outcome = _error(error)
        try:
            line = json.dumps({"done": probe["id"], **outcome})
        except (TypeError, ValueError) as error:
            line = json.dumps({"done": probe["id"], "status": "error", "error_type": "UnreportableResult",
                               "message": str(error)[:MAX_TRACE]})
        results.write(line + "\n")
    results.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

"""The child process that runs student code. It reports plain data and decides nothing.

Started by ``autograder.sandbox`` as ``python -I -m autograder.worker REQUEST_FD RESULT_FD``. The
request (JSON) names the directory holding the student's ``mnist_tasks``, a list of probes, the
modules set aside (``blocked``) and a secret token; for each probe the worker calls one student
function and writes JSON lines to the result pipe, each carrying the token: ``start``, ``calling``
(the module imported), ``done`` with the outcome. Arrays go to ``.npy`` files in the work directory
(the parent reads them with ``allow_pickle=False``), models as their Keras architecture JSON,
figures as a description. Anything the student function raises becomes ``{"status": "error", ...}``
for that probe alone.

Student code shares this process with the describers, so it could change them. Defences here, in
layers (docs/threat-model.md): the parent decides from data it can check itself wherever it can
(model JSON is vetted and retrained, early stopping is re-run from its settings); describers read
built-in classes only and call their methods through the class; a ``Guard`` records the identity
of everything the reports depend on before any student code runs and lists what changed after
each probe, which turns the probe into ``tampered`` and ends this worker; lines without the token
are ignored by the parent and taken as tampering.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import json
import os
import re
import signal
import sys
import traceback
import types

# The libraries come first, before the submission's directory joins sys.path: a student's
# keras.py or numpy.py beside mnist_tasks/ must not shadow them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["MPLBACKEND"] = "Agg"
import numpy as np  # noqa: E402
import numpy.lib.format  # noqa: E402,F401  (np.save writes through it: watched by the guard)
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.axes  # noqa: E402
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.gridspec  # noqa: E402
import matplotlib.image  # noqa: E402
import matplotlib.legend  # noqa: E402
import matplotlib.lines  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mnist_kit.runtime import import_tensorflow_quietly  # noqa: E402

# Keras too, before the student's directory is on sys.path; quietly, so that a worker's log
# holds what the student's code printed.
import_tensorflow_quietly()
import keras  # noqa: E402
import keras.src.utils.numerical_utils as numerical_utils  # noqa: E402
from keras.src.models.functional import Functional  # noqa: E402

MAX_TRACE = 1200
MAX_TEXT = 300            # longest string copied from a student's object into a report
MAX_POINTS = 10_000       # longest line series described; the checks plot a handful of points
MAX_AXES = 500            # plot_predictions draws 50
MAX_RESULT_BYTES = 64 << 20   # largest array reported; the largest expected answer is ~200 KB
# Exactly these classes are models: a user subclass (or any object claiming to be a Model) could
# report whatever architecture it likes through overridden methods.
MODEL_CLASSES = (keras.Sequential, keras.Model, Functional)
EARLY_STOPPING_SETTINGS = ("monitor", "min_delta", "patience", "mode", "baseline", "restore_best_weights",
                           "start_from_epoch")
PLAIN_TYPES = (str, int, float, bool, type(None))


# --- reading student objects defensively -------------------------------------------------------------

def _text(value, limit: int = MAX_TEXT) -> str:
    """``str(value)`` cut short; an object whose ``__str__`` raises or lies about its type is a placeholder."""
    try:
        text = value if type(value) is str else str(value)
        if not isinstance(text, str):
            return "<not a string>"
        return str.__str__(text)[:limit]
    except BaseException:  # a student's __str__ may raise anything, SystemExit included
        return "<unprintable>"


def _type_name(value) -> str:
    """``module.Qualname`` of the value's real class (``type()`` cannot be faked, ``__class__`` can)."""
    cls = type(value)
    try:
        return _text(f"{_text(type.__getattribute__(cls, '__module__'))}.{_text(type.__getattribute__(cls, '__qualname__'))}")
    except BaseException:
        return "<unknown type>"


def _plain(value):
    """A JSON scalar of exactly a built-in type, else the value's type name (never its own repr)."""
    if type(value) in PLAIN_TYPES:
        return value[:MAX_TEXT] if type(value) is str else value
    return {"not_plain": _type_name(value)}


def _builtin_name(value, namespace) -> str:
    """The class name when the value is an instance of exactly ``namespace.<name>``, else its full type name."""
    cls = type(value)
    name = type.__getattribute__(cls, "__name__")
    return name if getattr(namespace, name, None) is cls else _type_name(value)


# --- arguments ------------------------------------------------------------------------------------------

def _load_argument(spec, workdir):
    if "npy" in spec:
        return np.load(os.path.join(workdir, spec["npy"]), allow_pickle=False)
    if "value" in spec:
        value = spec["value"]
        return tuple(value) if spec.get("tuple") else value
    if "history" in spec:
        return spec["history"]
    if "keras_history" in spec:
        history = keras.callbacks.History()
        history.history = {key: list(values) for key, values in spec["keras_history"].items()}
        history.epoch = list(range(len(spec["keras_history"]["loss"])))
        return history
    if "dense_model" in spec:
        return _trusted_dense_model(spec["dense_model"], workdir)
    if "small_model" in spec:
        return _small_model(spec["small_model"])
    raise ValueError(f"unknown argument spec {sorted(spec)}")


def _small_model(ending):
    """A 784-16-10 model whose output ends as ``ending`` says, for compile_model's checks."""
    last = {
        "logits": [keras.layers.Dense(10)],
        "softmax": [keras.layers.Dense(10, activation="softmax")],
        "softmax_layer": [keras.layers.Dense(10), keras.layers.Softmax()],
        "activation_softmax": [keras.layers.Dense(10), keras.layers.Activation("softmax")],
    }[ending]
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(16, activation="relu"), *last])


def _trusted_dense_model(spec, workdir):
    """A model with known first-layer weights, for plot_first_layer_weights."""
    layers = [keras.Input(shape=tuple(spec["input_shape"]))]
    if len(spec["input_shape"]) > 1:
        layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(spec["units"], activation="sigmoid"), keras.layers.Dense(10)]
    model = keras.Sequential(layers)
    kernel = np.load(os.path.join(workdir, spec["kernel"]), allow_pickle=False)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][0]
    dense.set_weights([kernel, np.zeros(spec["units"], np.float32)])
    return model


# --- calling --------------------------------------------------------------------------------------------

def _counted_codes():
    """Code objects of keras' to_categorical, wherever a student may reach it (one function in Keras 3)."""
    functions = [numerical_utils.to_categorical, keras.utils.to_categorical]
    try:
        import tensorflow as tf

        functions.append(tf.keras.utils.to_categorical)
    except Exception:
        pass
    return {function.__code__ for function in functions if hasattr(function, "__code__")}


TO_CATEGORICAL_CODES = frozenset(_counted_codes())


def _call(function, args, kwargs, count: bool):
    """Call the student's function: (value, calls of to_categorical, whether the counter stayed on).

    The counter is a profile hook matching to_categorical's code object, so it counts a call made
    through any alias (``from keras.utils import to_categorical`` binds the function before any
    attribute could be wrapped). Turning the hook off is reported, not trusted.
    """
    if not count:
        return function(*args, **kwargs), 0, True
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event == "call" and frame.f_code in TO_CATEGORICAL_CODES:
            calls += 1

    sys.setprofile(profile)
    try:
        value = function(*args, **kwargs)
    finally:
        intact = sys.getprofile() is profile
        sys.setprofile(None)
    return value, calls, intact


# --- describing -----------------------------------------------------------------------------------------

def _describe_array(value, probe, workdir, arrays_in):
    if not issubclass(type(value), np.ndarray):
        return {"type": _type_name(value)}
    # A plain ndarray copy of the data: a subclass (with its own __eq__, dtype and friends) stays here.
    plain = np.array(value, subok=False)
    if plain.dtype.hasobject:
        return {"type": "numpy.ndarray", "dtype": str(plain.dtype), "object_dtype": True}
    if plain.nbytes > MAX_RESULT_BYTES:
        return {"status": "too_large", "bytes": int(plain.nbytes), "shape": [int(n) for n in plain.shape]}
    name = f"{probe['id']}.result.npy"
    np.save(os.path.join(workdir, name), plain, allow_pickle=False)
    changed = [key for key, (before, after) in arrays_in.items()
               if not np.array_equal(before, np.ndarray.view(after, np.ndarray))]
    return {"type": "numpy.ndarray", "npy": name, "inputs_changed": changed}


def _describe_loss(loss):
    if type(loss) is str:  # a str subclass could compare equal to anything
        return {"kind": "string", "name": loss[:MAX_TEXT]}
    cls = type(loss)
    if issubclass(cls, keras.losses.Loss):
        name = _builtin_name(loss, keras.losses)
        if name != type.__getattribute__(cls, "__name__"):
            return {"kind": "instance", "class": name, "from_logits": None}
        # The class's get_config, not the instance's: an instance attribute could stand in for it.
        config = cls.get_config(loss)
        return {"kind": "instance", "class": name, "from_logits": _plain(config.get("from_logits")),
                "reduction": _plain(config.get("reduction"))}
    if isinstance(loss, types.FunctionType):
        name = _text(loss.__name__)
        builtin = getattr(keras.losses, name, None) is loss
        return {"kind": "function", "name": name if builtin else f"{_text(loss.__module__)}.{name}"}
    if callable(loss):
        return {"kind": "function", "name": _type_name(loss)}
    return {"kind": "other", "type": _type_name(loss)}


def _describe_model(model):
    if type(model) not in MODEL_CLASSES:
        return {"type": _type_name(model)}
    # Only the architecture leaves the worker: weights (even ones trained inside the builder)
    # are discarded, since the grader rebuilds and trains the model itself.
    return {"type": "keras.Model", "json": type(model).to_json(model), "compiled": bool(model.compiled)}


def _describe_compiled(model, returned):
    optimizer = getattr(model, "optimizer", None)
    return {
        "status": "ok",
        "returned_same": returned is model,
        "compiled": bool(getattr(model, "compiled", False)),
        "loss": _describe_loss(getattr(model, "loss", None)),
        "optimizer": _builtin_name(optimizer, keras.optimizers) if optimizer is not None else None,
        "learning_rate": _learning_rate(optimizer),
        "metrics": _metric_names(model),
    }


def _learning_rate(optimizer):
    try:
        return float(np.asarray(optimizer.learning_rate))
    except BaseException:
        return None


def _metric_names(model):
    try:
        config = model.get_compile_config() or {}
        metrics = config.get("metrics")
        return _text(json.dumps(metrics, default=_text), 2000) if metrics is not None else None
    except BaseException:
        return None


def _describe_callback(callback):
    if type(callback) is not keras.callbacks.EarlyStopping:
        return {"type": _type_name(callback), "is_early_stopping": False}
    # The instance's own attributes, as EarlyStopping.__init__ stored them; the parent rebuilds an
    # EarlyStopping from them and tries it in training itself.
    state = vars(callback)
    return {"type": "keras.callbacks.EarlyStopping", "is_early_stopping": True,
            "settings": {key: _plain(state.get(key)) for key in EARLY_STOPPING_SETTINGS}}


def _floats(values) -> list:
    data = np.asarray(values, dtype=float).ravel()
    return data.tolist() if data.size <= MAX_POINTS else []


def _describe_axes(axes):
    Axes = matplotlib.axes.Axes
    title = Axes.get_title(axes) or Axes.get_title(axes, loc="left") or Axes.get_title(axes, loc="right")
    patch = matplotlib.text.Text.get_bbox_patch(axes.title)
    legend = Axes.get_legend(axes)
    spec = Axes.get_subplotspec(axes)
    grid = None
    if spec is not None:
        geometry = matplotlib.gridspec.GridSpecBase.get_geometry(matplotlib.gridspec.SubplotSpec.get_gridspec(spec))
        grid = [int(n) for n in geometry]
    images = []
    for image in Axes.get_images(axes)[:MAX_AXES]:
        data = np.asarray(matplotlib.image.AxesImage.get_array(image))
        images.append({"shape": list(data.shape), "cmap": _text(matplotlib.image.AxesImage.get_cmap(image).name),
                       "data": np.asarray(data, dtype=float).round(6).tolist() if data.size <= 28 * 28 else None})
    Line2D = matplotlib.lines.Line2D
    return {
        "title": _text(title),
        "title_background": mcolors.to_hex(matplotlib.patches.Patch.get_facecolor(patch)) if patch is not None else None,
        "xlabel": _text(Axes.get_xlabel(axes)), "ylabel": _text(Axes.get_ylabel(axes)),
        "lines": [{"label": _text(Line2D.get_label(line)), "x": _floats(Line2D.get_xdata(line)),
                   "y": _floats(Line2D.get_ydata(line))} for line in Axes.get_lines(axes)[:MAX_AXES]],
        "legend": [_text(matplotlib.text.Text.get_text(text)) for text in matplotlib.legend.Legend.get_texts(legend)]
        if legend is not None else None,
        "images": images,
        "axis_on": bool(axes.axison),
        "grid": grid,
    }


def _describe_figure(figure):
    if not issubclass(type(figure), Figure):
        return {"type": _type_name(figure)}
    axes_list = [_describe_axes(axes) for axes in Figure.get_axes(figure)[:MAX_AXES]]
    _close_pyplot_figures()
    return {"type": "matplotlib.figure.Figure", "axes": axes_list}


def _close_pyplot_figures():
    """Free figures a plot made through pyplot, so later probes do not accumulate them."""
    plt.close("all")


# --- the guard --------------------------------------------------------------------------------------------

def _functions_inside(value):
    """The Python functions whose code and defaults decide what ``value`` does; those attributes
    can be reassigned in place, the function staying the same object."""
    kind = type(value)
    if kind is types.FunctionType:
        return [value]
    if kind is staticmethod or kind is classmethod:
        return _functions_inside(value.__func__)
    if kind is property:
        return [f for part in (value.fget, value.fset, value.fdel) for f in _functions_inside(part)]
    return []


def _behavioural(value) -> bool:
    return callable(value) or isinstance(value, (property, staticmethod, classmethod, types.ModuleType))


class Guard:
    """What the worker's reports depend on, as it was before any student code ran.

    Records the identity (and code) of: this module's globals; the callables of the modules and
    classes the describers and the reporting use (json, os, builtins, NumPy, Keras, matplotlib);
    and watches, through an audit hook, for opening the grader's /proc entries, this process's
    memory or the result pipe. ``changes()`` lists what differs now, plus the Python threads, child
    processes, signal handlers and timers that student code left behind. It is one layer of
    several: code that patches the guard itself, or works below Python (ctypes), can hide from it
    (docs/threat-model.md).
    """

    def __init__(self, modules, classes, result_fd: int):
        self._entries = []
        self._functions = []
        for module in modules:
            everything = module is sys.modules[__name__]
            self._record(f"{module.__name__}.", vars(module), everything)
        self._classes = []
        for cls in classes:
            self._record(f"{cls.__module__}.{cls.__qualname__}.", vars(cls), False)
            # A method added to a subclass shadows the inherited one the describers rely on.
            self._classes.append((f"{cls.__module__}.{cls.__qualname__}.", vars(cls), frozenset(vars(cls))))
        self._record("sys.", vars(sys), False,
                     names=("setprofile", "getprofile", "settrace", "gettrace", "_current_frames", "addaudithook"))
        self._alerts: list[str] = []
        self._threads: set[int] = set()
        # A handler or timer set now would fire during a later probe, in some other function's name.
        self._handlers = {number: signal.getsignal(number) for number in signal.valid_signals()}
        self._forbidden = re.compile(
            rf"^(/proc/{os.getppid()}(/.*)?"
            rf"|/proc/(self|thread-self|{os.getpid()})(/task/\d+)?/(mem|fd/{result_fd})"
            rf"|/dev/fd/{result_fd})$")
        sys.addaudithook(self._audit)

    def _record(self, prefix, mapping, everything, names=None):
        for name in (names if names is not None else list(mapping)):
            if name not in mapping:
                continue
            value = mapping[name]
            if everything or _behavioural(value):
                self._entries.append((prefix + name, mapping, name, value))
                self._functions += [(prefix + name, f, f.__code__, f.__defaults__, f.__kwdefaults__)
                                    for f in _functions_inside(value)]

    def _audit(self, event, args):
        if event != "open" or not args or not isinstance(args[0], (str, bytes)):
            return
        path = os.fsdecode(args[0])
        candidates = {os.path.normpath(os.path.join(os.getcwd(), path))}
        try:
            candidates.add(os.path.realpath(path))
        except Exception:
            pass
        for candidate in candidates:
            if self._forbidden.match(candidate):
                self._alerts.append(f"opened {candidate}")
                raise PermissionError(f"the grader's sandbox does not allow opening {candidate}")

    def begin(self) -> None:
        """Before a probe: which Python threads exist already."""
        self._threads = set(sys._current_frames())

    def changes(self) -> list[str]:
        found = []
        for label, mapping, name, value in self._entries:
            if mapping.get(name, mapping) is not value:
                found.append(f"{label} replaced or deleted")
        for label, mapping, names in self._classes:
            found += [f"{label}{name} added" for name in set(mapping) - names if _behavioural(mapping[name])]
        for label, function, code, defaults, kwdefaults in self._functions:
            if function.__code__ is not code or function.__defaults__ is not defaults \
                    or function.__kwdefaults__ is not kwdefaults:
                found.append(f"{label} changed in place")
        found += self._alerts
        self._alerts = []
        if set(sys._current_frames()) - self._threads:
            found.append("a thread started by the submission is still running")
        for number, handler in self._handlers.items():
            if signal.getsignal(number) is not handler:
                found.append(f"signal handler for {_signal_name(number)} changed")
        for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            if signal.getitimer(timer) != (0.0, 0.0):
                signal.setitimer(timer, 0)
                found.append("a timer (signal.alarm / setitimer) was left running")
        found += _stop_children()
        return found


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:   # real-time signals have no name of their own
        return f"signal {number}"


def _stop_children() -> list[str]:
    """Kill the processes the student's code started and left running; name them."""
    while True:  # reap the ones that ended by themselves
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    left = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return left
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as stream:
                left += [int(pid) for pid in stream.read().split()]
        except (OSError, ValueError):
            continue
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError, PermissionError):
            pass
    return [f"a process started by the submission was still running (pid {pid})" for pid in left]


def _watched():
    """The modules and classes the guard watches (see Guard)."""
    import json.decoder
    import json.encoder

    from keras.src.saving import serialization_lib

    modules = [sys.modules[__name__], builtins, json, json.encoder, json.decoder, os, os.path, importlib, traceback,
               np, numpy.lib.format, keras, keras.layers, keras.losses, keras.optimizers, keras.callbacks,
               keras.models, keras.utils, keras.activations, numerical_utils, serialization_lib, matplotlib,
               mcolors, plt, matplotlib.figure, matplotlib.axes, matplotlib.text, matplotlib.lines, matplotlib.image,
               matplotlib.legend, matplotlib.gridspec, matplotlib.patches]
    roots = [Guard, keras.Model, keras.Sequential, Functional, keras.callbacks.EarlyStopping, keras.callbacks.History,
             keras.losses.Loss, keras.losses.SparseCategoricalCrossentropy, keras.losses.CategoricalCrossentropy,
             keras.optimizers.Adam, keras.optimizers.SGD, keras.layers.Dense, Figure, matplotlib.axes.Axes,
             matplotlib.lines.Line2D, matplotlib.image.AxesImage, matplotlib.text.Text, matplotlib.legend.Legend,
             matplotlib.gridspec.SubplotSpec, matplotlib.gridspec.GridSpec, matplotlib.patches.FancyBboxPatch,
             mcolors.Colormap]
    classes = []
    for root in roots:
        for cls in root.__mro__:
            if cls is not object and cls not in classes:
                classes.append(cls)
    return modules, classes


def _warm_up(workdir):
    """Use each describer once on trusted objects, so that lazy set-up inside NumPy, Keras and
    matplotlib happens now, before the guard records them, and never looks like tampering."""
    figure = Figure()
    axes = figure.add_subplot(1, 1, 1)
    axes.plot([1, 2], [0.5, 0.25], label="train")
    axes.imshow(np.zeros((2, 2)), cmap="gray")
    axes.set_title("0", backgroundcolor="red")
    axes.legend()
    axes.axis("off")
    _describe_figure(figure)
    plt.figure()
    _close_pyplot_figures()
    for ending in ("softmax", "logits"):
        model = _small_model(ending)
        _describe_model(model)
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
        _describe_compiled(model, model)
    inputs = keras.Input((2,))
    _describe_model(keras.Model(inputs, keras.layers.Dense(1)(inputs)))
    _describe_loss(keras.losses.CategoricalCrossentropy(from_logits=True))
    _describe_loss(keras.losses.categorical_crossentropy)
    _describe_callback(keras.callbacks.EarlyStopping())
    warm = np.zeros(2, np.float32)
    _describe_array(warm, {"id": "warm-up"}, workdir, {"0": (warm.copy(), warm)})
    os.unlink(os.path.join(workdir, "warm-up.result.npy"))


# --- running a probe ----------------------------------------------------------------------------------

class _SetAside(importlib.abc.MetaPathFinder):
    """Refuses to import the modules the parent set aside (unreadable, or tampering earlier)."""

    def __init__(self, blocked: dict):
        self.blocked = {f"mnist_tasks.{module}" for module in blocked}

    def find_spec(self, fullname, path, target=None):
        if fullname in self.blocked:
            raise ImportError(f"{fullname} は採点から外されています / {fullname} was set aside by the grader")
        return None


def _where(error) -> str | None:
    if isinstance(error, SyntaxError) and error.filename and "mnist_tasks" in str(error.filename):
        return f"{os.path.basename(error.filename)}:{error.lineno}"
    try:
        frames = traceback.extract_tb(error.__traceback__)
    except BaseException:
        return None
    student = [f for f in frames if "mnist_tasks" in f.filename]
    return f"{os.path.basename(student[-1].filename)}:{student[-1].lineno}" if student else None


def _error(error):
    kind = type(error)
    return {"status": "not_implemented" if issubclass(kind, NotImplementedError) else "error",
            "error_type": _text(type.__getattribute__(kind, "__name__")), "message": _text(error, MAX_TRACE),
            "where": _where(error)}


def _import_error(error, module):
    outcome = dict(_error(error), status="import_error", module=module)
    if issubclass(type(error), ModuleNotFoundError):
        outcome["missing_module"] = _plain(getattr(error, "name", None))
    return outcome


COUNTER_OFF = "the to_categorical call counter was switched off"


def run_probe(probe, workdir, send):
    """Call the probe's student function and describe what it returned.

    Returns (outcome, the returned value, problems the call itself revealed); the caller checks the
    guard, whatever happened here.
    """
    module_name = probe["module"]
    try:
        module = importlib.import_module(f"mnist_tasks.{module_name}")
    except BaseException as error:
        return _import_error(error, module_name), None, []
    send({"calling": probe["id"]})
    function = getattr(module, probe["task"], None)
    if function is None:
        return {"status": "missing", "module": module_name, "task": probe["task"]}, None, []
    if not callable(function):
        return {"status": "missing", "module": module_name, "task": probe["task"],
                "not_callable": _type_name(function)}, None, []
    args = [_load_argument(spec, workdir) for spec in probe.get("args", [])]
    kwargs = {key: _load_argument(spec, workdir) for key, spec in probe.get("kwargs", {}).items()}
    arrays_in = {str(index): (arg.copy(), arg) for index, arg in enumerate(args) if isinstance(arg, np.ndarray)}
    value, calls, intact = _call(function, args, kwargs, bool(probe.get("track_to_categorical")))
    kind = probe["kind"]
    if kind == "array":
        result = _describe_array(value, probe, workdir, arrays_in)
    elif kind == "model":
        result = _describe_model(value)
    elif kind == "compiled":
        # compile_model on a model the grader built: the result is that model, compiled.
        result = {"type": "keras.Model", "compile": _describe_compiled(args[0], value)}
    elif kind == "loss":
        result = _describe_loss(value)
    elif kind == "callback":
        result = _describe_callback(value)
    elif kind == "figure":
        result = _describe_figure(value)
    else:
        raise ValueError(f"unknown probe kind {kind!r}")
    result.setdefault("status", "ok")
    result["to_categorical_calls"] = calls
    return result, value, [] if intact else [COUNTER_OFF]


def _compile_step(model, options, guard, blocked):
    """compile_model on the student's own model: its outcome stands apart from the builder's, so a
    broken or tampering compile_model costs the compile check, not the model's layers or accuracy."""
    if "training" in blocked:
        return dict(blocked["training"], repeated=True)
    guard.begin()
    try:
        training = importlib.import_module("mnist_tasks.training")
    except BaseException as error:
        outcome = _import_error(error, "training")
    else:
        try:
            outcome = _describe_compiled(model, training.compile_model(model, **options))
        except BaseException as error:
            outcome = _error(error)
    changes = guard.changes()
    return {"status": "tampered", "changes": changes} if changes else outcome


def _run_guarded(probe, workdir, guard, blocked, send):
    """A probe's outcome, ``tampered`` (and naming the module to set aside) if the guard saw anything."""
    guard.begin()
    value, problems = None, []
    try:
        outcome, value, problems = run_probe(probe, workdir, send)
    except BaseException as error:  # SystemExit and KeyboardInterrupt from student code too
        outcome = _error(error)
    changes = guard.changes() + problems
    if changes:
        return {"status": "tampered", "changes": changes, "tainted": probe["module"]}
    if probe["kind"] == "model" and probe.get("compile") is not None and outcome.get("type") == "keras.Model":
        outcome["compile"] = _compile_step(value, probe["compile"], guard, blocked)
        if outcome["compile"].get("status") == "tampered":
            outcome["tainted"] = "training"
    return outcome


def _sender(fd: int, token: str):
    """Writes one JSON line per message, with the token the parent checks; the token lives only here."""
    def send(message: dict) -> None:
        data = (json.dumps({**message, "token": token}) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    return send


def main(request_fd: int, result_fd: int) -> None:
    with os.fdopen(request_fd, "r", encoding="utf-8") as stream:
        request = json.load(stream)
    send = _sender(result_fd, request.pop("token"))
    del sys.argv[1:]  # the pipe numbers; student code has no business with them
    os.set_inheritable(result_fd, False)
    # Past RLIMIT_FSIZE a write fails with an error rather than killing the worker with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    workdir = request["workdir"]
    os.chdir(workdir)
    blocked = request.get("blocked", {})
    _warm_up(workdir)
    modules, classes = _watched()
    guard = Guard(modules, classes, result_fd)
    sys.path.insert(0, request["package_parent"])
    sys.meta_path.insert(0, _SetAside(blocked))
    sys.dont_write_bytecode = True
    for probe in request["probes"]:
        send({"start": probe["id"]})
        outcome = _run_guarded(probe, workdir, guard, blocked, send)
        try:
            send({"done": probe["id"], **outcome})
        except (TypeError, ValueError, RecursionError) as error:
            send({"done": probe["id"], "status": "error", "error_type": "UnreportableResult",
                  "message": _text(error, MAX_TRACE), "tainted": outcome.get("tainted")})
        if outcome.get("tainted"):
            # Whatever the student's code changed stays changed: this process describes nothing more.
            os._exit(0)
    os.close(result_fd)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

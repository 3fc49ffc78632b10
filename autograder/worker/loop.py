"""The worker's request, its probe loop and its result lines (messages: ``autograder.protocol``)."""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import json
import os
import signal
import sys
import traceback

import numpy as np
import numpy.lib.format  # noqa: F401  (np.save writes through it: watched by the guard)
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mnist_kit.runtime import import_tensorflow_quietly  # noqa: E402

# matplotlib's settings before any student code: the next submission graded by a warm worker starts
# from them again (plt.gray(), for one, makes gray every later image's default colormap).
MATPLOTLIB_SETTINGS = {key: value for key, value in matplotlib.rcParams.items() if key != "backend"}

# Keras too, before the student's directory is on sys.path; quietly, so that a worker's log
# holds what the student's code printed. Its runtime starts in main(): a fork server imports this
# module once and forks workers, which must not inherit TensorFlow's threads.
import_tensorflow_quietly(start=False)
import keras  # noqa: E402
import keras.src.utils.numerical_utils as numerical_utils  # noqa: E402

from autograder.protocol import Request  # noqa: E402
from autograder.worker import arguments, chain, describe, guard as guarding, hints  # noqa: E402
from autograder.worker.guard import Guard  # noqa: E402
from autograder.worker.reading import plain, text, type_name  # noqa: E402

MAX_TRACE = 1200


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


def warm_up(workdir):
    """Use each describer once on trusted objects, so that lazy set-up inside NumPy, Keras and
    matplotlib happens now, before the guard records them, and never looks like tampering."""
    warm_up_drawing(workdir)
    for ending in ("softmax", "logits"):
        model = arguments.small_model(ending)
        describe.model(model)
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
        describe.compiled(model, model)
    inputs = keras.Input((2,))
    describe.model(keras.Model(inputs, keras.layers.Dense(1)(inputs)))
    describe.loss(keras.losses.CategoricalCrossentropy(from_logits=True))
    describe.loss(keras.losses.categorical_crossentropy)
    describe.callback(keras.callbacks.EarlyStopping())
    warm = np.zeros(2, np.float32)
    describe.array(warm, {"id": "warm-up"}, workdir, {"0": (warm.copy(), warm)})
    os.unlink(os.path.join(workdir, "warm-up.result.npy"))


def warm_up_drawing(workdir):
    """The describers of figures once (matplotlib's and Agg's lazy set-up, its fonts): part of every
    worker's ``warm_up``, and done by the fork servers before they fork too (it starts no TensorFlow
    runtime), so that a forked worker's own warm-up finds the fonts loaded (~0.05 s of ~0.25 s)."""
    figure = Figure()
    axes = figure.add_subplot(1, 1, 1)
    axes.plot([1, 2], [0.5, 0.25], label="train")
    axes.imshow(np.zeros((2, 2)), cmap="gray")                  # a LinearSegmentedColormap
    figure.add_subplot(1, 2, 2).imshow(np.zeros((2, 2)))        # viridis: a ListedColormap
    axes.set_title("0", backgroundcolor="red")
    axes.legend()
    axes.axis("off")
    # Drawn too (Agg, its fonts): the pictures of figures for the feedback (autograder.feedback.pictures).
    describe.figure(figure, (workdir, "warm-up.picture.npy"))
    os.unlink(os.path.join(workdir, "warm-up.picture.npy"))
    hints.warm_up()
    plt.figure()
    describe.close_pyplot_figures()


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


# Python's own exception classes, taken before any student code runs; a tuple, which nothing can change.
BUILTIN_ERRORS = tuple((value, name) for name, value in vars(builtins).items()
                       if isinstance(value, type) and issubclass(value, BaseException) and value.__name__ == name)


def _builtin_errors(kind) -> list[str]:
    """Python's own exception classes that ``kind`` derives from, read from its real MRO: a check
    that asks for a ValueError accepts a subclass of it, and no class of the student's own merely
    named "ValueError"."""
    try:
        mro = vars(type)["__mro__"].__get__(kind, type(kind))
        return [name for cls in mro for builtin, name in BUILTIN_ERRORS if cls is builtin]
    except BaseException:
        return []


def _error(error):
    kind = type(error)
    return {"status": "not_implemented" if issubclass(kind, NotImplementedError) else "error",
            "error_type": text(type.__getattribute__(kind, "__name__")), "message": text(error, MAX_TRACE),
            "where": _where(error), "error_builtins": _builtin_errors(kind)}


def _import_error(error, module):
    outcome = dict(_error(error), status="import_error", module=module)
    if issubclass(type(error), ModuleNotFoundError):
        outcome["missing_module"] = plain(getattr(error, "name", None))
    return outcome


COUNTER_OFF = "the to_categorical call counter was switched off"


def run_probe(probe, workdir, send):
    """Call the probe's student function and describe what it returned.

    Returns (outcome, the returned value, problems the call itself revealed); the caller checks the
    guard, whatever happened here.
    """
    if probe["kind"] == "chain":
        return chain.run(probe, workdir, send, _error, _import_error)
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
                "not_callable": type_name(function)}, None, []
    args = [arguments.load_argument(spec, workdir) for spec in probe.get("args", [])]
    kwargs = {key: arguments.load_argument(spec, workdir) for key, spec in probe.get("kwargs", {}).items()}
    arrays_in = {str(index): (arg.copy(), arg) for index, arg in enumerate(args) if isinstance(arg, np.ndarray)}
    if probe["kind"] == "figure":
        # A plot drawn with pyplot's current figure (plt.subplot, plt.imshow) must start on a blank
        # one, even when an earlier call raised before its figure could be described and closed.
        describe.close_pyplot_figures()
    value, calls, intact = _call(function, args, kwargs, bool(probe.get("track_to_categorical")))
    kind = probe["kind"]
    if kind == "array":
        result = describe.array(value, probe, workdir, arrays_in)
    elif kind == "model":
        result = describe.model(value)
    elif kind == "compiled":
        # compile_model on a model the grader built: the result is that model, compiled.
        result = {"type": "keras.Model", "compile": describe.compiled(args[0], value, kwargs.get("one_hot_labels", False),
                                                                       kwargs.get("optimizer"))}
    elif kind == "loss":
        result = describe.loss(value)
    elif kind == "callback":
        result = describe.callback(value)
    elif kind == "figure":
        result = describe.figure(value, (workdir, f"{probe['id']}.picture.npy") if probe.get("picture") else None,
                                 lambda described: hints.faults(probe["id"], described, workdir))
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
            outcome = describe.compiled(model, training.compile_model(model, **options),
                                        options.get("one_hot_labels", False))
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


def _read_request(stream) -> Request | None:
    """The next request (one JSON line), or None once the parent has closed the request pipe."""
    line = stream.readline()
    return json.loads(line) if line.strip() else None


def _switch_package(package_parent: str, previous: str | None) -> None:
    """Make ``package_parent``'s ``mnist_tasks`` the one student imports find.

    A worker kept warm between gradings (``autograder.sandbox.workers.WarmWorkers``) forgets the previous
    submission's modules and matplotlib settings here; a fresh worker only adds the directory to sys.path.
    """
    for name in [name for name in sys.modules if name == "mnist_tasks" or name.startswith("mnist_tasks.")]:
        del sys.modules[name]
    matplotlib.rcParams.update(MATPLOTLIB_SETTINGS)
    if previous is not None and previous in sys.path:
        sys.path.remove(previous)
    sys.path.insert(0, package_parent)
    importlib.invalidate_caches()


def _serve(request: Request, guard: Guard, set_aside: _SetAside, result_fd: int) -> None:
    """Run one request's probes, one ``start`` / ``calling`` / ``done`` conversation each."""
    send = _sender(result_fd, request["token"])
    workdir = request["workdir"]
    os.chdir(workdir)
    blocked = request.get("blocked", {})
    set_aside.blocked = {f"mnist_tasks.{module}" for module in blocked}
    for probe in request["probes"]:
        send({"start": probe["id"]})
        outcome = _run_guarded(probe, workdir, guard, blocked, send)
        try:
            send({"done": probe["id"], **outcome})
        except (TypeError, ValueError, RecursionError) as error:
            send({"done": probe["id"], "status": "error", "error_type": "UnreportableResult",
                  "message": text(error, MAX_TRACE), "tainted": outcome.get("tainted")})
        if outcome.get("tainted"):
            # Whatever the student's code changed stays changed: this process describes nothing more.
            os._exit(0)


def main(request_fd: int, result_fd: int) -> None:
    """Serve requests until the parent closes the request pipe (after one, unless kept warm)."""
    requests = os.fdopen(request_fd, "r", encoding="utf-8")
    del sys.argv[1:]  # the pipe numbers; student code has no business with them
    os.set_inheritable(request_fd, False)
    os.set_inheritable(result_fd, False)
    # Past RLIMIT_FSIZE a write fails with an error rather than killing the worker with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    import_tensorflow_quietly()
    request = _read_request(requests)
    if request is None:
        return
    os.chdir(request["workdir"])
    warm_up(request["workdir"])
    modules, classes = guarding.watched()
    guard = Guard(modules, classes, result_fd)
    set_aside = _SetAside({})
    sys.meta_path.insert(0, set_aside)
    sys.dont_write_bytecode = True
    package_parent = None
    while request is not None:
        if request.get("last", True):
            # Before any student code runs: it cannot read what comes next, nor write to the pipe.
            requests.close()
        _switch_package(request["package_parent"], package_parent)
        package_parent = request["package_parent"]
        _serve(request, guard, set_aside, result_fd)
        request = None if requests.closed else _read_request(requests)
    os.close(result_fd)

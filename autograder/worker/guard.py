"""The guard: what the worker's reports rely on, recorded before student code runs, compared after each probe."""

from __future__ import annotations

import builtins
import importlib
import os
import re
import signal
import sys
import traceback
import types

import keras
import keras.src.utils.numerical_utils as numerical_utils
import matplotlib
import matplotlib.axes
import matplotlib.colors as mcolors
import matplotlib.figure
import matplotlib.gridspec
import matplotlib.image
import matplotlib.legend
import matplotlib.lines
import matplotlib.patches
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import numpy.lib.format
from keras.src.models.functional import Functional
from matplotlib.figure import Figure

from autograder.sandbox import processes


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


def _is_own(module) -> bool:
    """The worker's own modules, every global of which the guard records."""
    return module.__name__ in ("__main__", __package__) or module.__name__.startswith(f"{__package__}.")


def _behavioural(value) -> bool:
    return callable(value) or isinstance(value, (property, staticmethod, classmethod, types.ModuleType))


class Guard:
    """What the worker's reports depend on, as it was before any student code ran.

    Records the identity (and code) of: every global of the worker's own modules; the callables of the modules and
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
            everything = _is_own(module)
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
    left = processes.child_pids()
    for pid in left:
        processes.kill_and_wait(pid)
    return [f"a process started by the submission was still running (pid {pid})" for pid in left]


def watched():
    """The modules and classes the guard watches (see Guard)."""
    import json.decoder
    import json.encoder

    from keras.src.saving import serialization_lib

    own = [module for name, module in sorted(sys.modules.items())
           if module is not None and _is_own(module)]
    modules = [*own, processes, builtins, json, json.encoder, json.decoder, os, os.path, importlib, traceback,
               np, numpy.lib.format, keras, keras.layers, keras.losses, keras.optimizers, keras.callbacks,
               keras.models, keras.utils, keras.activations, numerical_utils, serialization_lib, matplotlib,
               mcolors, plt, matplotlib.figure, matplotlib.axes, matplotlib.text, matplotlib.lines, matplotlib.image,
               matplotlib.legend, matplotlib.gridspec, matplotlib.patches]
    roots = [Guard, keras.Model, keras.Sequential, Functional, keras.callbacks.EarlyStopping, keras.callbacks.History,
             keras.losses.Loss, keras.losses.SparseCategoricalCrossentropy, keras.losses.CategoricalCrossentropy,
             keras.optimizers.Adam, keras.optimizers.SGD, keras.layers.Dense, Figure, matplotlib.axes.Axes,
             matplotlib.lines.Line2D, matplotlib.image.AxesImage, matplotlib.text.Text, matplotlib.legend.Legend,
             matplotlib.gridspec.SubplotSpec, matplotlib.gridspec.GridSpec, matplotlib.patches.FancyBboxPatch,
             mcolors.Colormap, mcolors.LinearSegmentedColormap, mcolors.ListedColormap]
    classes = []
    for root in roots:
        for cls in root.__mro__:
            if cls is not object and cls not in classes:
                classes.append(cls)
    return modules, classes


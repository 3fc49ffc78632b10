"""Adversarial submissions: a cheat earns no more than the stub of what it cheats, and the rest is graded.

Each submission is the reference (``solutions/mnist_tasks``) with some functions replaced by a
cheat: monkeypatching the grader's worker, NumPy, Keras or matplotlib; lying return values;
exits, hangs and memory bombs; shadowing modules; forged result lines, output and results files;
processes left behind; models that carry code or trained weights; hard-coded answers; changing the
grader's thresholds. For each, the checks of the ``cheated`` subjects score at most what the stubs
(the repository's own ``mnist_tasks/``) score on the same checks, the ``kept`` subjects (honest
reference functions in other modules) keep full marks, and grading ends normally within its time.

Monkeypatching at import time taints the whole module (docs/threat-model.md): the honest functions
of that module score 0 too, so ``cheated`` lists them as well.

The last tests run the real ``mnist-grade`` command with ``--json`` (a few seconds more each, for
the grader's own start-up): fake output, forged results files and a detached process that tries
to rewrite the results after grading.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.grade import grade
from autograder.sandbox.limits import Limits
from tests.submissions import STUBS, TEST_SECRET, describe, make_submission

FAST = Limits(probe_seconds=8.0, startup_seconds=90.0)
# Grading one small subset: a worker start-up (~8 s on the 2-core machine), a restart per cheat.
SECONDS = 90


@dataclass
class Cheat:
    replacements: dict[str, str]                   # module → source spliced into the reference
    cheated: list[str]                             # subjects that must score no more than the stubs
    kept: list[str]                                # subjects that must keep full marks
    says: str | None = None                        # a fragment of some cheated check's English message
    files: dict[str, str] = field(default_factory=dict)   # more files, relative to the submission


def cheat(name, replacements, cheated, kept, says=None, files=None, slow=False):
    """``slow``: it waits out a time limit and a worker restart (~20 s)."""
    return pytest.param(Cheat(replacements, cheated, kept, says, files or {}), id=name,
                        marks=[pytest.mark.slow] if slow else [])


TAMPERED = "tampered with while this ran"

CHEATS = [
    # --- monkeypatching at import time ----------------------------------------------------------------
    cheat("patches the worker's run_probe (the harness) to fake training's results", {
        "preprocessing": '''
import sys as _sys

_worker = _sys.modules["autograder.worker.loop"]
_honest_run_probe = _worker.run_probe


def _faked(probe, *rest):
    if probe["task"] == "choose_loss":
        one_hot, logits = (arg["value"] for arg in probe["args"])
        return {"status": "ok", "kind": "instance", "from_logits": logits,
                "class": "CategoricalCrossentropy" if one_hot else "SparseCategoricalCrossentropy"}
    if probe["task"] == "early_stopping":
        asked = {key: spec["value"] for key, spec in probe.get("kwargs", {}).items()}
        settings = {"monitor": "val_loss", "patience": 0, "restore_best_weights": True, "min_delta": 0,
                    "mode": "auto", "baseline": None, "start_from_epoch": 0, **asked}
        return {"status": "ok", "type": "keras.callbacks.EarlyStopping", "is_early_stopping": True,
                "settings": settings}
    return _honest_run_probe(probe, *rest)


_worker.run_probe = _faked
''', "training": '''
def choose_loss(one_hot_labels, from_logits):
    raise NotImplementedError


def early_stopping(patience=0, monitor="val_loss", restore_best_weights=True):
    raise NotImplementedError
'''}, ["normalize", "choose_loss", "early_stopping"], ["plot_predictions"], TAMPERED),

    cheat("patches numpy.array_equal to hide that normalize writes into its input", {"preprocessing": '''
def normalize(images):
    scaled = images.astype(np.float32) / 255
    images[...] = 0
    return scaled


np.array_equal = lambda *arrays, **options: True
'''}, ["normalize"], ["choose_loss"], "numpy.array_equal"),

    cheat("replaces keras.callbacks.EarlyStopping with a look-alike", {"training": '''
class _LookAlike:
    def __init__(self, monitor="val_loss", patience=0, restore_best_weights=False, **ignored):
        self.monitor, self.patience, self.restore_best_weights = monitor, patience, restore_best_weights
        self.min_delta, self.mode, self.baseline, self.start_from_epoch = 0, "auto", None, 0


keras.callbacks.EarlyStopping = _LookAlike


def early_stopping(patience=0, monitor="val_loss", restore_best_weights=True):
    return keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                         restore_best_weights=restore_best_weights)
'''}, ["early_stopping", "choose_loss"], ["normalize"], "keras.callbacks.EarlyStopping"),

    cheat("patches matplotlib's Axes to invent labels and legends", {"plots": '''
import matplotlib.axes


def plot_history(history):
    logs = getattr(history, "history", history)
    figure = Figure()
    for index, metric in enumerate(("loss", "accuracy")):
        axes = figure.add_subplot(1, 2, index + 1)
        axes.plot(range(1, len(logs[metric]) + 1), logs[metric])
        if "val_" + metric in logs:
            axes.plot(range(1, len(logs[metric]) + 1), logs["val_" + metric])
    return figure


matplotlib.axes.Axes.get_xlabel = lambda self: "epoch"
matplotlib.axes.Axes.get_ylabel = lambda self: "loss"
'''}, ["plot_history"], ["normalize"], "get_xlabel"),

    cheat("a thread and a timer that patch the describers after the call", {"training": '''
import sys as _sys
import threading as _threading
import time as _time


def choose_loss(one_hot_labels, from_logits):
    worker = _sys.modules["autograder.worker.describe"]
    honest = worker.loss
    answer = {"kind": "instance", "from_logits": from_logits,
              "class": "CategoricalCrossentropy" if one_hot_labels else "SparseCategoricalCrossentropy"}

    def swap():
        worker.loss = lambda loss: dict(answer)
        _time.sleep(0.5)
        worker.loss = honest

    _threading.Thread(target=swap, daemon=True).start()
    _time.sleep(0.05)
    return None
''', "plots": '''
import signal as _signal
import sys as _sys


def plot_history(history):
    def later(number, frame):   # fires during a later probe, after the guard has looked
        _sys.modules["autograder.worker.describe"].figure = lambda figure: {"type": "matplotlib.figure.Figure", "axes": []}

    _signal.signal(_signal.SIGALRM, later)
    _signal.setitimer(_signal.ITIMER_REAL, 0.5)
    raise NotImplementedError
'''}, ["choose_loss", "plot_history"], ["normalize"], "thread"),

    # --- lying return values ------------------------------------------------------------------------------
    cheat("lying arrays: an ndarray subclass, a lying __class__ and __array__, NaN, huge, raising __str__", {
        "preprocessing": '''
class _Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __array__(self, *args, **kwargs):
        return np.zeros((1, 1))

    @property
    def dtype(self):
        return np.dtype(np.float32)


class _Pose:
    @property
    def __class__(self):
        return np.ndarray

    def __array__(self, *args, **kwargs):
        return np.ones((3, 3))

    def __repr__(self):
        raise RuntimeError("no repr")

    __str__ = __repr__


class _Unprintable(Exception):
    def __str__(self):
        raise SystemExit("no str")


def normalize(images):
    return np.zeros(images.shape, np.float32).view(_Liar)


def flatten(images):
    return _Pose()


def add_channel_axis(images):
    return np.full(images.shape + (1,), np.nan, np.float32)


def one_hot(labels, num_classes=10):
    return np.zeros((200_000_000,), np.uint8)   # 200 MB: over the worker's report limit


def labels_from_scores(scores):
    raise _Unprintable()
'''}, ["normalize", "flatten", "add_channel_axis", "one_hot", "labels_from_scores"], ["choose_loss"],
        "values differ"),

    cheat("fake keras.Model, fake loss class, fake EarlyStopping", {"models": '''
class _FakeModel:
    compiled = False

    @property
    def __class__(self):
        return keras.Sequential

    def to_json(self):
        return _REAL_CNN_JSON


_REAL_CNN_JSON = None


def build_cnn(input_shape=(28, 28, 1)):
    global _REAL_CNN_JSON
    real = keras.Sequential([keras.Input(input_shape), keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Conv2D(128, 3, activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Dropout(0.5), keras.layers.Flatten(),
                             keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.25),
                             keras.layers.Dense(10, activation="softmax")])
    _REAL_CNN_JSON = real.to_json()
    return _FakeModel()
''', "training": '''
class SparseCategoricalCrossentropy(keras.losses.Loss):
    def __init__(self, from_logits=False):
        super().__init__(name="sparse_categorical_crossentropy")
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        return keras.ops.zeros_like(y_pred[:, 0])

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits, "reduction": "sum_over_batch_size"}


class CategoricalCrossentropy(SparseCategoricalCrossentropy):
    pass


def choose_loss(one_hot_labels, from_logits):
    return (CategoricalCrossentropy if one_hot_labels else SparseCategoricalCrossentropy)(from_logits)


class _Stopper(keras.callbacks.EarlyStopping):
    """Stops after the first epoch, whatever it is told."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


def early_stopping(patience=0, monitor="val_loss", restore_best_weights=True):
    return _Stopper(monitor=monitor, patience=patience, restore_best_weights=restore_best_weights)
'''}, ["CNN", "choose_loss", "early_stopping"], ["normalize"], "expected a keras.Model"),

    # --- ending the process, hanging, exhausting memory ------------------------------------------------
    cheat("sys.exit and os._exit(0) inside functions", {"preprocessing": '''
def normalize(images):
    import sys
    sys.exit(0)


def flatten(images):
    import os
    os._exit(0)
'''}, ["normalize", "flatten"], ["add_channel_axis", "choose_loss"], "exit code 0"),

    cheat("an endless loop and memory bombs", {"preprocessing": '''
def one_hot(labels, num_classes=10):
    while True:
        pass


def labels_from_scores(scores):
    return np.ones((1 << 40,), np.uint8)


def flatten(images):
    blocks = []
    while True:
        blocks.append(np.empty(1 << 30, np.uint8))
'''}, ["one_hot", "labels_from_scores", "flatten"], ["normalize", "choose_loss"], "did not finish within 8 s",
          slow=True),

    cheat("an endless loop at import: the module is set aside, not retried", {"training": '''
while True:
    pass
'''}, ["choose_loss", "early_stopping", "compile_model"], ["normalize", "plot_predictions"],
        "did not finish within 8 s", slow=True),

    # --- shadowing ----------------------------------------------------------------------------------
    cheat("shadowing keras.py, numpy.py, autograder/ and mnist_kit/ beside the package", {"preprocessing": '''
def one_hot(labels, num_classes=10):
    raise NotImplementedError
'''}, ["one_hot"], ["normalize", "choose_loss", "plot_history"], "not implemented", files={
        "numpy.py": "raise ImportError('shadowed numpy')\n",
        "keras.py": "raise ImportError('shadowed keras')\n",
        "autograder/__init__.py": "",
        "autograder/worker.py": "raise SystemExit('a fake worker would report full marks here')\n",
        "autograder/core.py": "def failure_verdict(*args, **kwargs):\n    return None\n",
        "mnist_kit/__init__.py": "",
        "mnist_kit/variants.py": "VARIANTS = []\nBY_ID = {}\n",
    }),

    # --- the result channel and the grader's process -----------------------------------------------------
    cheat("forged result lines on the result pipe (found in /proc/self/fd), then the pipe silenced", {"training": '''
import json as _json
import os as _os

_ORDER = [(False, True), (False, False), (True, True), (True, False)]   # the grader's probe order


def choose_loss(one_hot_labels, from_logits):
    lines = []
    for index, (one_hot, logits) in enumerate(_ORDER[_ORDER.index((one_hot_labels, from_logits)):]):
        probe = f"choose_loss.{one_hot}.{logits}"
        answer = {"status": "ok", "kind": "instance", "from_logits": logits, "to_categorical_calls": 0,
                  "class": "CategoricalCrossentropy" if one_hot else "SparseCategoricalCrossentropy"}
        lines += ([{"start": probe}, {"calling": probe}] if index else []) + [{"done": probe, **answer}]
    forged = "".join(_json.dumps(line) + "\\n" for line in lines).encode()
    pipes = [int(fd) for fd in _os.listdir("/proc/self/fd")
             if _os.path.exists(f"/proc/self/fd/{fd}") and _os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")]
    for fd in pipes:
        _os.write(fd, forged)
    silence = _os.open(_os.devnull, _os.O_WRONLY)
    for fd in pipes:
        _os.dup2(silence, fd)    # the worker's own lines now go nowhere
    raise NotImplementedError
'''}, ["choose_loss", "early_stopping"], ["normalize"], "result channel"),

    cheat("reaching into the grader's process through /proc/<ppid>", {"training": '''
import os as _os


def choose_loss(one_hot_labels, from_logits):
    parent = _os.getppid()
    for path, mode in ((f"/proc/{parent}/fd/1", "w"), (f"/proc/{parent}/environ", "rb"), ("/proc/self/mem", "rb")):
        try:
            with open(path, mode) as stream:
                if "w" in mode:
                    stream.write("total 96 / 96 points\\n")
        except OSError:
            pass
    raise NotImplementedError
'''}, ["choose_loss"], ["normalize"], "opened /proc/"),

    # --- models that would carry code or trained weights ------------------------------------------
    cheat("Lambda layer, registered custom layer, a layer whose module points elsewhere", {"models": '''
@keras.saving.register_keras_serializable(package="cheat")
class Sneaky(keras.layers.Dense):
    @classmethod
    def from_config(cls, config):
        import pathlib
        pathlib.Path(__file__).with_name("DESERIALISED").touch()   # would mean: ran in the grader
        return super().from_config(config)


class Popen(keras.layers.Dense):
    pass


Popen.__module__ = "subprocess"


def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None, input_shape=(28, 28)):
    hidden = Popen if activation == "sigmoid" else keras.layers.Dense
    layers = [keras.Input(input_shape), keras.layers.Flatten()]
    layers += [hidden(units, activation=activation) for units in hidden_units]
    if activation != "sigmoid":
        layers.append(keras.layers.Lambda(lambda x: x))
    layers.append(keras.layers.Dense(10, activation=output_activation))
    return keras.Sequential(layers)


def build_cnn(input_shape=(28, 28, 1)):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Conv2D(128, 3, activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Dropout(0.5), keras.layers.Flatten(),
                             Sneaky(128, activation="relu"), keras.layers.Dropout(0.25),
                             keras.layers.Dense(10, activation="softmax")])
'''}, ["A", "D", "CNN"], ["normalize"], "the grader will not use this model"),

    cheat("a model trained inside build_mlp, its weights carried as Constant initializers", {"models": '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None, input_shape=(28, 28)):
    from mnist_tasks.data import load_mnist

    (x_train, y_train), _ = load_mnist()
    quick = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(10)])
    quick.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    quick.fit(x_train[:2000] / 255.0, y_train[:2000], epochs=1, batch_size=64, verbose=0)
    kernel, bias = quick.layers[-1].get_weights()
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                             keras.layers.Dense(10, trainable=False,
                                                kernel_initializer=keras.initializers.Constant(kernel),
                                                bias_initializer=keras.initializers.Constant(bias))])
'''}, ["D"], ["normalize"], "the grader will not use this model"),

    # --- answers and thresholds ----------------------------------------------------------------------
    cheat("answers hard-coded for the public inputs", {"preprocessing": "HARD_CODED_PLACEHOLDER"},
          ["normalize", "one_hot"], ["choose_loss"], "answers hard-coded for the published inputs"),

    cheat("imports the grader in the worker and lowers its thresholds", {"preprocessing": '''
import mnist_kit.variants as _variants
import autograder.core as _core
import autograder.checks.preprocessing as _checks
import autograder.worker as _worker_copy

for _variant in _variants.VARIANTS:
    object.__setattr__(_variant, "threshold", 0.0)
_core.compare_arrays = lambda *args, **kwargs: _core.Verdict.passed()
_core.failure_verdict = lambda *args, **kwargs: None
_checks.compare_arrays = _core.compare_arrays
_worker_copy.run_probe = lambda *args, **kwargs: {"status": "ok"}


def one_hot(labels, num_classes=10):
    return np.zeros((len(labels), num_classes), np.float32)
'''}, ["one_hot"], ["normalize", "choose_loss"], "values differ"),
]


def _hard_coded_source() -> str:
    """normalize and one_hot answering from a table of the public inputs (as a student could copy them)."""
    import base64
    import hashlib

    import numpy as np

    from autograder.grade import select

    table = {}
    for check in select(only=["normalize", "one_hot"]):
        for probe in check.probes:
            (array,) = probe["arrays"].values()
            classes = probe.get("kwargs", {}).get("num_classes", {}).get("value", 10)
            if len(array) > 1000 or (probe["task"] == "one_hot" and not 0 <= array.min() <= array.max() < classes):
                continue   # answers at MNIST's size would not fit in a source file; labels out of range have none
            key = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest() + repr((array.shape, classes))
            answer = array.astype(np.float32) / 255 if probe["task"] == "normalize" \
                else np.eye(classes, dtype=np.float32)[array]
            table[key] = base64.b64encode(answer.astype(np.float32).tobytes()).decode()
    return f'''
import base64 as _base64
import hashlib as _hashlib

_ANSWERS = {table!r}


def _lookup(array, classes, shape):
    key = _hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest() + repr((array.shape, classes))
    if key in _ANSWERS:
        return np.frombuffer(_base64.b64decode(_ANSWERS[key]), np.float32).reshape(shape).copy()
    return np.zeros(shape, np.float32)


def normalize(images):
    return _lookup(images, 10, images.shape)


def one_hot(labels, num_classes=10):
    return _lookup(labels, num_classes, (len(labels), num_classes))
'''


@pytest.fixture(scope="module")
def stub_scores(fork_server, training_memo):
    """What the stubs score on every check the cheats are graded on."""
    subjects = sorted({s for param in CHEATS for s in param.values[0].cheated + param.values[0].kept})
    report = grade(STUBS, only=subjects, limits=FAST, workers=fork_server, secret=TEST_SECRET,
                   memo=training_memo)
    return {result.name: result.score for result in report.results}


def build(tmp_path: Path, cheat_: Cheat) -> Path:
    replacements = {module: _hard_coded_source() if source == "HARD_CODED_PLACEHOLDER" else source
                    for module, source in cheat_.replacements.items()}
    submission = make_submission(tmp_path, replacements)
    for relative, content in cheat_.files.items():
        path = submission / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return submission


def assert_cheat_earns_nothing(report, cheat_: Cheat, stub_scores):
    cheated = [r for r in report.results if r.subject in {_subject(s) for s in cheat_.cheated}]
    assert cheated, "no cheated checks graded"
    earned = sum(r.score for r in cheated)
    stub = sum(stub_scores[r.name] for r in cheated)
    assert earned <= stub, f"the cheat earned {earned} where the stubs earn {stub}:\n{describe(report)}"
    for result in cheated:
        assert result.message.ja and result.message.en and result.message.ja != result.message.en, result.name
    if cheat_.says:
        assert any(cheat_.says in r.message.en for r in cheated), describe(report)
    kept = [r for r in report.results if r.subject in {_subject(s) for s in cheat_.kept}]
    assert kept and all(r.score == r.max_score for r in kept), describe(report)


def _subject(item: str) -> str:
    from autograder.protocol import subject_of_item

    return subject_of_item(item)


@pytest.mark.parametrize("cheat_", CHEATS)
def test_a_cheat_earns_no_more_than_the_stub(tmp_path, cheat_, stub_scores, fork_server, training_memo):
    submission = build(tmp_path, cheat_)
    started = time.monotonic()
    report = grade(submission, only=cheat_.cheated + cheat_.kept, limits=FAST, workers=fork_server,
                   secret=TEST_SECRET, memo=training_memo)
    print(f"{time.monotonic() - started:.1f} s", describe(report), sep="\n")
    assert_cheat_earns_nothing(report, cheat_, stub_scores)
    assert time.monotonic() - started < SECONDS
    assert not (submission / "mnist_tasks" / "DESERIALISED").exists(), "a custom layer was deserialised by the grader"


def test_there_are_at_least_15_cheats():
    assert len(CHEATS) + len(COMMAND_CHEATS) >= 15


# --- the NumPy-only check of one_hot cannot be dodged ----------------------------------------------------

DODGES = [
    pytest.param('''
from keras.utils import to_categorical as _encode


def one_hot(labels, num_classes=10):
    return _encode(labels, num_classes).astype(np.float32)
''', "to_categorical was called", id="alias imported before the grader looks"),
    pytest.param('''
import sys as _sys


def one_hot(labels, num_classes=10):
    _sys.setprofile(None)
    keras = __import__("ker" + "as")
    return getattr(keras.utils, "to_" + "categ" + "orical")(labels, num_classes).astype(np.float32)
''', "call counter was switched off", id="counter switched off, name hidden"),
    pytest.param('''
import inspect as _inspect

import keras.src.utils.numerical_utils as _numerical

_namespace = dict(vars(_numerical))
exec(_inspect.getsource(_numerical.to_categorical).replace("def to_categorical", "def _encode"), _namespace)


def one_hot(labels, num_classes=10):
    return _namespace["_encode"](labels, num_classes).astype(np.float32)
''', "write one_hot with NumPy alone, without to_categorical",
                 id="a copy of to_categorical's source, which no counter sees"),
]


@pytest.mark.parametrize("source, says", DODGES)
def test_one_hot_cannot_hide_to_categorical(tmp_path, source, says, fork_server, training_memo):
    report = grade(make_submission(tmp_path, {"preprocessing": source}), only=["one_hot"], limits=FAST, workers=fork_server, secret=TEST_SECRET,
                   memo=training_memo)
    numpy_only = next(r for r in report.results if r.name.startswith("one_hot: written with NumPy"))
    assert numpy_only.score == 0, describe(report)
    assert any(says in r.message.en for r in report.results), describe(report)


# --- the real command: output, results files and processes left behind ---------------------------------

def mnist_grade(submission: Path, output: Path, cwd: Path, *options: str):
    command = Path(sys.executable).with_name("mnist-grade")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "autograder.cli"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    started = time.monotonic()
    completed = subprocess.run([*argv, str(submission), "--json", str(output), "--lang", "en", *options],
                               capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    return completed, time.monotonic() - started


FAKE_RESULTS = '{"score": 96, "max_score": 96, "tests": []}'
# Each cheat knows where the grader writes its results (a student can guess or read it): "TARGET".
COMMAND_CHEATS = [
    pytest.param(f'''
import os as _os
import sys as _sys


def choose_loss(one_hot_labels, from_logits):
    fake = 'total 96 / 96 points (1.0 s)\\n{FAKE_RESULTS}\\n'
    print(fake)
    print(fake, file=_sys.stderr)
    for fd in (1, 2):
        _os.write(fd, fake.encode())
    try:
        with open(f"/proc/{{_os.getppid()}}/fd/1", "w") as grader_output:
            grader_output.write(fake)
    except OSError:
        pass
    raise NotImplementedError
''', id="fake score lines and JSON on stdout, stderr and the grader's own output"),
    pytest.param(f'''
import pathlib as _pathlib


def choose_loss(one_hot_labels, from_logits):
    target = _pathlib.Path("TARGET")
    target.write_text('{FAKE_RESULTS}')
    _pathlib.Path("results.json").write_text('{FAKE_RESULTS}')
    decoy = target.with_name("decoy.json")
    decoy.write_text('{FAKE_RESULTS}')
    target.unlink()
    target.symlink_to(decoy)      # results written through this link would land in the decoy
    raise NotImplementedError
''', id="a forged results file, and a link planted at its path"),
    pytest.param(f'''
import os as _os
import subprocess as _subprocess
import sys as _sys

_REWRITE = """
import pathlib, sys, time
target, marker = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for _ in range(1200):                     # up to 60 s: until the grader has written its results
    if target.exists() and target.stat().st_size > 200:
        time.sleep(0.2)
        target.write_text('{FAKE_RESULTS}')
        marker.touch()
        break
    time.sleep(0.05)
"""


def choose_loss(one_hot_labels, from_logits):
    command = [_sys.executable, "-c", _REWRITE, "TARGET", "TARGET.rewritten"]
    pid = _os.fork()          # the process that rewrites is a grandchild in a session of its own
    if pid == 0:
        _os.setsid()
        _subprocess.Popen(command, start_new_session=True, close_fds=True)
        _os._exit(0)
    _os.waitpid(pid, 0)
    raise NotImplementedError
''', id="a detached process that rewrites the results after grading"),
]


@pytest.mark.slow
@pytest.mark.command
@pytest.mark.parametrize("source", COMMAND_CHEATS)
def test_the_command_writes_true_results_whatever_the_submission_does(tmp_path, source):
    output = tmp_path / "out" / "results.json"
    output.parent.mkdir()
    submission = make_submission(tmp_path, {"training": source.replace("TARGET", str(output))})
    completed, seconds = mnist_grade(submission, output, tmp_path, "--only", "choose_loss,normalize")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert seconds < 120
    time.sleep(3)   # time for anything left behind to act
    assert not Path(f"{output}.rewritten").exists(), "a process outlived grading and rewrote the results"
    assert not output.is_symlink()
    results = json.loads(output.read_text(encoding="utf-8"))
    by_subject = {}
    for test in results["tests"]:
        by_subject.setdefault(test["subject"], []).append(test)
    assert sum(t["score"] for t in by_subject["choose_loss"]) == 0, results
    assert all(t["score"] == t["max_score"] for t in by_subject["normalize"]), results
    assert results["score"] == sum(t["max_score"] for t in by_subject["normalize"])
    assert "96 / 96" not in completed.stdout and completed.stdout.count("total ") == 1, completed.stdout[-2000:]
    assert FAKE_RESULTS not in completed.stdout + completed.stderr

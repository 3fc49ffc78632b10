"""The messages between the grader and its sandboxed workers, and the names that tie them to checks.

One place defines what crosses the process boundary (``autograder.sandbox.probes`` ↔ ``autograder.worker``)
and what the checks read back:

- a ``Probe`` asks the worker to call one student function with arguments built from ``ArgSpec``s;
- the worker answers each probe with JSON lines (``start``, ``calling``, ``done``) carrying an
  ``Outcome`` whose ``status`` is one of ``Status``;
- a check's *subject* (``"one_hot"``, ``"variant D"``) and a variant's probe id (``"variant.D"``)
  are made and read only by the helpers at the end, never by splitting strings elsewhere.

Everything here is plain JSON data: the worker cannot send anything the parent would have to
unpickle or evaluate.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, get_args

# --- what a probe asks -----------------------------------------------------------------------------------

ProbeKind = Literal["array", "model", "compiled", "loss", "callback", "figure", "chain"]
SmallModelEnding = Literal["logits", "softmax", "softmax_layer", "activation_softmax"]


class DenseModelSpec(TypedDict):
    """A model the worker builds with known first-layer weights (for plot_first_layer_weights)."""
    input_shape: list[int]
    units: int
    kernel: str                      # .npy file in the work directory


class ArgSpec(TypedDict, total=False):
    """One argument of a student call; exactly one of these keys."""
    npy: str                         # an array saved by the grader in the work directory
    value: Any                       # a JSON value (``tuple: True`` turns a list into a tuple)
    tuple: bool
    history: dict[str, list[float]]  # a plain History.history dict
    keras_history: dict[str, list[float]]   # a keras.callbacks.History holding these values
    dense_model: DenseModelSpec
    no_dense_model: list[int]        # input shape of a Conv2D model with no Dense layer at all
    small_model: SmallModelEnding    # a 784-16-10 model ending this way, for compile_model
    keras_optimizer: OptimizerSpec   # an optimizer object, for compile_model's "str or Optimizer"


class OptimizerSpec(TypedDict):
    name: Literal["SGD", "Adam"]     # a class of keras.optimizers
    learning_rate: float


class CompileRequest(TypedDict):
    """After a builder probe, call ``compile_model`` on the student's own model with these options."""
    optimizer: str
    one_hot_labels: bool


class ChainOptions(TypedDict):
    """How the notebook's chain (kind "chain") fits the small model: its args are images and labels."""
    epochs: int
    batch_size: int
    validation_split: float


class Probe(TypedDict):
    id: str                          # unique within one grading; see the helpers below for variants
    module: str                      # "preprocessing", "models", "training" or "plots"
    task: str                        # the contract function to call
    kind: ProbeKind                  # how the worker describes what it returns
    args: NotRequired[list[ArgSpec]]
    kwargs: NotRequired[dict[str, ArgSpec]]
    compile: NotRequired[CompileRequest | None]
    chain: NotRequired[ChainOptions]
    track_to_categorical: NotRequired[bool]
    picture: NotRequired[bool]       # kind "figure", public inputs only: send the figure's pixels if a check fails


FollowUp = Literal["read_model", "try_early_stopping"]


class PlannedProbe(Probe):
    """A probe as a check plans it, with what stays on the grader's side: the arrays its ``npy``
    arguments name (saved in the work directory), and ``then``, the grader's own work on the
    outcome as soon as it arrives (``autograder.grade``). ``wire(probe)`` is what is sent."""
    arrays: NotRequired[dict[str, Any]]
    then: NotRequired[FollowUp]


GRADER_SIDE_KEYS = frozenset({"arrays", "then"})


def wire(probe: PlannedProbe) -> Probe:
    """What crosses to the worker: the probe without its grader-side keys."""
    return {key: value for key, value in probe.items() if key not in GRADER_SIDE_KEYS}   # type: ignore[return-value]


class Request(TypedDict):
    """The one JSON document a worker reads from its request pipe."""
    package_parent: str              # the directory holding the student's mnist_tasks/
    workdir: str
    probes: list[Probe]
    blocked: dict[str, "Outcome"]    # module → the outcome its probes report without running
    token: str                       # every result line must carry it
    last: bool                       # no request follows: the worker closes its request pipe at once


# --- what comes back -------------------------------------------------------------------------------------

Status = Literal[
    "ok",                # the function returned; the rest of the outcome describes the value
    "error",             # it raised (error_type, message, where)
    "not_implemented",   # it raised NotImplementedError: still a stub
    "missing",           # the module has no such function (or it is not callable)
    "unreadable",        # the source file was refused before any worker ran (autograder.sources)
    "import_error",      # its module could not be imported
    "tampered",          # the guard or the result channel saw the grader being interfered with
    "too_large",         # it returned an array over the worker's report limit
    "timeout",           # it ran past the probe's time limit
    "crashed",           # the worker process ended while it ran
]
STATUSES: frozenset[str] = frozenset(get_args(Status))
# Outcomes the sandbox writes itself, for probes whose worker ended or never ran them.
SANDBOX_STATUSES: frozenset[str] = frozenset({"timeout", "crashed", "tampered", "unreadable"})
# Outcomes an instructor should look at, beyond the points they cost: the submission hung, crashed
# its worker, tampered with the grader, or handed in files or modules the grader could not use.
ATTENTION_STATUSES: frozenset[str] = frozenset({"timeout", "crashed", "tampered", "unreadable", "import_error"})


class Incident(TypedDict):
    """A probe whose outcome needs attention (``ATTENTION_STATUSES``), in a grading's report."""
    probe: str
    module: str
    task: str
    status: Status


class CompiledDescription(TypedDict, total=False):
    """``compile_model``'s effect on a model, as the worker read it."""
    status: Status
    returned_same: bool
    compiled: bool
    loss: dict[str, Any]
    optimizer: str | None
    learning_rate: float | None
    optimizer_changes: dict[str, Any]   # settings unlike Keras's defaults (or the object passed), not the rate
    metric_results: dict[str, float] | None   # what the metrics report, by History's names, on known scores
    metrics_error: str | None        # the exception class, when measuring them raised


class Outcome(TypedDict, total=False):
    """What the worker (or the sandbox, for a probe that never finished) reports for one probe.

    Which keys besides ``status`` are present depends on the status and the probe's kind.
    """
    status: Status
    # status "ok": the returned value, described
    type: str                        # module.Qualname of the returned value's real class
    npy: str                         # kind "array": the result's .npy file in the work directory
    inputs_changed: list[str]        # kind "array": indices of array arguments the call wrote into
    object_dtype: bool
    dtype: str
    json: str                        # kind "model": Keras architecture JSON
    compiled: bool                   # kind "model": whether the builder compiled it already
    compile: CompiledDescription     # kind "model" with a CompileRequest, and kind "compiled"
    kind: str                        # kind "loss": "instance", "string", "function" or "other"
    is_early_stopping: bool          # kind "callback"
    settings: dict[str, Any]         # kind "callback": the EarlyStopping's settings
    axes: list[dict[str, Any]]       # kind "figure"; an image's "cmap_colors": its colormap sampled as RGBA
    history: dict[str, list[float]]  # kind "chain": the History of the fit with the student's functions
    figure: dict[str, Any]           # kind "chain": plot_history's Figure of it, described as kind "figure"
    picture: str                     # kind "figure" with Probe.picture: its RGBA pixels' .npy (autograder.feedback.pictures)
    picture_panels: list[int]        # the panels drawn, when not all (a figure of many: the rows at fault)
    step: str                        # kind "chain", status "error": the step that raised
    to_categorical_calls: int
    # the other statuses
    error_type: str
    error_builtins: list[str]        # "error": Python's exception classes it derives from (its real MRO)
    message: str
    where: str | None                # "file.py:line" in the student's code
    module: str
    task: str
    not_callable: str
    missing_module: str | None
    file: str
    reason: str
    bytes: int
    limit: int
    shape: list[int]
    seconds: float
    changes: list[str]               # "tampered": what was changed
    repeated: bool                   # not run: an earlier probe of the same function/module decided it
    tainted: str                     # the worker's module that tampered (the worker stops after it)


Event = Literal["start", "calling", "done"]


def outcome(status: Status, **details: Any) -> Outcome:
    """An outcome built on the trusted side (the sandbox, the source vetting)."""
    assert status in STATUSES, status
    return Outcome(status=status, **details)   # type: ignore[typeddict-item]


# --- subjects and probe ids ------------------------------------------------------------------------------

VARIANT_SUBJECT_PREFIX = "variant "
VARIANT_PROBE_PREFIX = "variant."


def variant_subject(variant_id: str) -> str:
    """The subject of a variant's checks: ``variant D``."""
    return f"{VARIANT_SUBJECT_PREFIX}{variant_id}"


def variant_probe_id(variant_id: str) -> str:
    """The id of the probe that builds a variant's model: ``variant.D``."""
    return f"{VARIANT_PROBE_PREFIX}{variant_id}"


def variant_of_probe(probe_id: str) -> str | None:
    """The variant id a builder probe belongs to, or None for any other probe."""
    return probe_id.removeprefix(VARIANT_PROBE_PREFIX) if probe_id.startswith(VARIANT_PROBE_PREFIX) else None


def variant_of_subject(subject: str) -> str | None:
    """The variant id of a ``variant X`` subject, or None for a contract function."""
    return subject.removeprefix(VARIANT_SUBJECT_PREFIX) if subject.startswith(VARIANT_SUBJECT_PREFIX) else None


def subject_of_item(item: str) -> str:
    """The subject a user names with ``--only`` or ``grade_cell``: a variant id (``D``) stands for
    ``variant D``; anything else is a contract function's name."""
    from mnist_kit.variants import BY_ID

    item = item.strip()
    return variant_subject(item) if item in BY_ID else item

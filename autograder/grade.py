"""Grading one submission: select checks, run their probes in the sandbox, train, conclude.

    report = grade(Path("path/to/submission"))        # the directory that contains mnist_tasks/

Runs in the trusted process. Student code runs only in the box's workers (``autograder.sandbox``); what
comes back is plain data read by ``autograder.core.Evidence``.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder import sources
from autograder.feedback import pictures
from autograder.checks import catalog
from autograder.core import Check, Evidence, Verdict
from autograder.exhibits import Exhibit, Figure
from autograder.protocol import ATTENTION_STATUSES, Incident, Outcome, PlannedProbe, Probe, subject_of_item, \
    variant_of_probe, variant_of_subject, variant_subject, wire
from autograder.sandbox import jail
from autograder.training.memo import Memo, TrainingSource
from autograder.training.retraining import TrainingContext
from autograder.sandbox.limits import Limits
from autograder.sandbox.probes import run_probes
from autograder.sandbox.workers import WorkerSource
from autograder.secret import CourseSecret
from mnist_kit import variants as variant_table
from mnist_kit.i18n import Text
from mnist_kit.runtime import import_tensorflow_quietly


@dataclass
class TestResult:
    name: str                 # the check's id (English)
    subject: str
    score: float
    max_score: float
    message: Text
    hidden: bool
    title: Text | None = None   # the name as people read it, in both languages
    diagnosis: Text | None = None   # the mistake behind it (core.Verdict.diagnosis)
    exhibit: Exhibit | None = None

    def __post_init__(self):
        if self.title is None:
            self.title = Text(self.name, self.name)


@dataclass
class Report:
    results: list[TestResult]
    seconds: float
    submission: str
    timings: dict[str, float] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)   # probes that hung, crashed, tampered...
    secret: str | None = None   # the fingerprint of the course secret of the hidden checks; None: public only
    sandbox: jail.SandboxMode = "bwrap"   # where the student code ran (autograder.sandbox.jail)
    sandbox_missing: str | None = None    # why no box could be made, when a self-check ran without one
    trainings: dict[str, TrainingSource] = field(default_factory=dict)   # by variant: trained now or recalled
    figures: dict[str, Figure] = field(default_factory=dict)   # by probe: the student's figures the exhibits show

    @property
    def score(self) -> float:
        return sum(result.score for result in self.results)

    @property
    def max_score(self) -> float:
        return sum(result.max_score for result in self.results)


def subjects() -> list[str]:
    """Every selectable subject: contract functions, then 'variant X'."""
    seen = []
    for check in catalog():
        if check.subject not in seen:
            seen.append(check.subject)
    return seen


def select(only: list[str] | None = None, secret: CourseSecret | None = None) -> list[Check]:
    """Checks for the named subjects (function names, 'variant D' or 'D', 'variants'), or all; the
    hidden ones only with the course's ``secret``."""
    checks = catalog(secret)
    if not only:
        return checks
    wanted = set()
    for item in only:
        if item.strip() == "variants":
            wanted |= {variant_subject(v.id) for v in variant_table.VARIANTS}
        else:
            wanted.add(subject_of_item(item))
    unknown = wanted - set(subjects())
    if unknown:
        raise ValueError(f"unknown task or variant: {', '.join(sorted(unknown))}; known: {', '.join(subjects())}")
    return [check for check in checks if check.subject in wanted]


def locate_package(submission: Path) -> Path | None:
    """The directory holding ``mnist_tasks/``: the submission itself, or its parent if it is that package."""
    submission = submission.resolve()
    if (submission / "mnist_tasks").is_dir():
        return submission
    if submission.name == "mnist_tasks" and submission.is_dir():
        return submission.parent
    return None


def grade(submission: Path, *, only: list[str] | None = None, names: set[str] | None = None,
          secret: CourseSecret | None = None, limits: Limits = Limits(), mnist=None,
          workers: WorkerSource | None = None, sandbox: jail.SandboxMode | None = None,
          memo: Memo | None = None) -> Report:
    """Grade the ``mnist_tasks`` in ``submission``: all checks, or those of ``only`` (subjects) / ``names``;
    the hidden checks with the course's ``secret`` (``autograder.secret``), the public ones without.

    Three phases: the worker runs the probes (student code); as each outcome arrives, the grader
    does what the probe's ``then`` asks — reads, vets and trains a builder's model, tries an
    early-stopping callback — in this process, while the worker goes on; then every check
    concludes from that evidence alone. ``workers``: where the sandbox's workers come from
    (``autograder.sandbox.probes``: fresh processes by default, a ``ForkServer`` for many gradings).
    ``sandbox``: "bwrap" (student code in a box, ``autograder.sandbox.jail``; refused with
    ``jail.SandboxUnavailable`` where none can be made) or "none"; by default "bwrap" for a course's
    grading (with its ``secret``), and for a student's self-check "bwrap" where a box can be made,
    else "none" with the reason in ``Report.sandbox_missing``. ``memo``: the training memo
    (``autograder.training.memo``) whose trainings are recalled instead of run again; None: train everything.
    """
    started = time.perf_counter()
    missing = None
    if sandbox is None:
        sandbox = "bwrap"
        if secret is None and not jail.available():
            sandbox, missing = "none", jail.unavailable_reason()
    if sandbox == "bwrap":
        jail.check_available()
    checks = select(only, secret)
    fingerprint = secret.fingerprint if secret is not None else None
    if names is not None:
        checks = [check for check in checks if check.name in names]
    package_parent = locate_package(Path(submission))
    if package_parent is None:
        no_package = Text(f"{submission} に mnist_tasks/ がありません。", f"no mnist_tasks/ in {submission}.")
        return Report([TestResult(c.name, c.subject, 0.0, c.points, no_package, c.hidden, c.title) for c in checks],
                      time.perf_counter() - started, str(submission), secret=fingerprint, sandbox=sandbox)

    # Where the worker source needs a grading's files (a kept worker's box), else anywhere.
    with tempfile.TemporaryDirectory(prefix="mnist-grade-", dir=workers.folder if workers is not None else None) \
            as temporary:
        workdir = Path(temporary)
        planned = _planned(checks)
        probes = _probes_of(planned, workdir)
        blocked = _unreadable_modules(package_parent / "mnist_tasks", probes)
        to_train = {variant_of_subject(c.subject) for c in checks if c.needs_training}
        follow_ups = {probe["id"]: probe["then"] for probe in planned if "then" in probe}
        built = {variant_of_probe(probe["id"]) for probe in planned} - {None}
        context = TrainingContext(memo, given_mnist=mnist)
        # A memo that has trained these variants here before probably recalls them all: then
        # TensorFlow and MNIST wait until a training or a count is not recalled.
        warm = memo is not None and memo.knows_variants(built | ({"early_stopping"} if "try_early_stopping"
                                                                   in follow_ups.values() else set()))
        arrived: queue.Queue = queue.Queue()
        evidence = Evidence({}, workdir, package=package_parent / "mnist_tasks")
        timings: dict[str, float] = {}

        def listen(probe_id, outcome):
            arrived.put((probe_id, outcome))

        def work():
            try:
                evidence.results.update(run_probes(package_parent, probes, workdir, limits, on_result=listen,
                                                   blocked=blocked, workers=workers, sandbox=sandbox))
            finally:
                arrived.put(None)

        worker = threading.Thread(target=work, name="mnist-grade-sandbox", daemon=True)
        worker.start()
        if (to_train or follow_ups) and not warm:
            # The grader's own Keras work (reading, training): TensorFlow's import, while the
            # worker imports its own; silenced, for grade cells' stderr. Checks of arrays,
            # losses and figures need none of it.
            import_tensorflow_quietly()
            if to_train:
                context.mnist()
        while True:
            item = arrived.get()
            if item is None:
                break
            probe_id, outcome = item
            _follow_up(follow_ups.get(probe_id), probe_id, outcome, evidence, to_train, context, timings)
        worker.join()
        if memo is not None and built:
            memo.mark_variants(built | ({"early_stopping"} if evidence.trials else set()))
        timings["total"] = time.perf_counter() - started

        results = []
        for check in checks:
            try:
                verdict = check.evaluate(evidence)
            except Exception as error:  # a grader bug must not hide the other results
                verdict = Verdict.failed(f"採点中のエラー: {type(error).__name__}: {error}",
                                         f"grader error: {type(error).__name__}: {error}")
            results.append(TestResult(check.name, check.subject, round(check.points * verdict.fraction, 4),
                                      check.points, verdict.message, check.hidden, check.title,
                                      verdict.diagnosis, verdict.exhibit))
        figures = pictures.encode(evidence, [(r.subject, r.exhibit, r.score == r.max_score) for r in results])
        incidents = [Incident(probe=probe["id"], module=probe["module"], task=probe["task"],
                              status=evidence.results[probe["id"]]["status"])
                     for probe in probes
                     if evidence.results.get(probe["id"], {}).get("status") in ATTENTION_STATUSES]
    return Report(results, time.perf_counter() - started, str(submission), timings, incidents, fingerprint,
                  sandbox, missing, dict(sorted(context.sources.items())), figures)


def _follow_up(then, probe_id: str, outcome: Outcome, evidence: Evidence, to_train: set,
               context: TrainingContext, timings) -> None:
    """The grader's own work on one outcome (``PlannedProbe.then``), done as it arrives."""
    from autograder.training import retraining

    if then == "read_model":
        variant_id = variant_of_probe(probe_id)
        model = retraining.model_evidence(variant_table.get(variant_id), outcome, variant_id in to_train, context,
                                          timings)
        if model is not None:
            evidence.models[variant_id] = model
    elif then == "try_early_stopping":
        trial = retraining.early_stopping_trial(outcome, context.memo)
        if trial is not None:
            evidence.trials[probe_id] = trial


def _unreadable_modules(package_dir: Path, probes: list[Probe]) -> dict[str, Outcome]:
    """Module → the outcome its probes report without running, for source files no worker should import."""
    problems = sources.package_problems(package_dir)
    everywhere = problems.get(sources.ALL_MODULES)
    modules = {probe["module"] for probe in probes} | {"training"}   # variant probes import training too
    blocked = {module: problem.outcome() for module, problem in problems.items() if module != sources.ALL_MODULES}
    if everywhere is not None:
        blocked.update({module: everywhere.outcome() for module in modules if module not in blocked})
    return blocked


def _planned(checks: list[Check]) -> list[PlannedProbe]:
    """Each distinct probe of ``checks`` once, with the probes that confirm public checks on unseen
    inputs (built only with the course's secret, as the hidden checks are)."""
    planned: dict[str, PlannedProbe] = {}
    for check in checks:
        for probe in [*check.probes, *check.confirmations]:
            planned.setdefault(probe["id"], probe)
    return list(planned.values())


def _probes_of(planned: list[PlannedProbe], workdir: Path) -> list[Probe]:
    """The probes to send, their arrays saved in ``workdir``; builds of variants first, so that
    training can start early."""
    probes = []
    for probe in planned:
        for name, array in probe.get("arrays", {}).items():
            # A callable is data loaded only when its probe runs (MNIST, for the notebook's chain).
            np.save(workdir / name, array() if callable(array) else array, allow_pickle=False)
        probes.append(wire(probe))
    return sorted(probes, key=lambda probe: variant_of_probe(probe["id"]) is None)



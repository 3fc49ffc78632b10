"""Grading one submission: select checks, run their probes in the sandbox, train, conclude.

    report = grade(Path("path/to/submission"))        # the directory that contains mnist_tasks/

Runs in the trusted process. Student code runs only in ``autograder.sandbox``'s workers; what
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

from autograder import architecture, sources
from autograder.checks import catalog
from autograder.core import Check, Evidence, Text, Verdict
from autograder.sandbox import Limits, run_probes
from mnist_kit import variants as variant_table
from mnist_kit.runtime import import_tensorflow_quietly


@dataclass
class TestResult:
    name: str
    subject: str
    score: float
    max_score: float
    message: Text
    hidden: bool


@dataclass
class Report:
    results: list[TestResult]
    seconds: float
    submission: str
    timings: dict[str, float] = field(default_factory=dict)

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


def select(only: list[str] | None = None, include_hidden: bool = True) -> list[Check]:
    """Checks for the named subjects (function names, 'variant D' or 'D', 'variants'), or all."""
    checks = [check for check in catalog() if include_hidden or not check.hidden]
    if not only:
        return checks
    wanted = set()
    for item in only:
        item = item.strip()
        if item == "variants":
            wanted |= {f"variant {v.id}" for v in variant_table.VARIANTS}
        elif item in variant_table.BY_ID:
            wanted.add(f"variant {item}")
        else:
            wanted.add(item)
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
          include_hidden: bool = True, limits: Limits = Limits(), mnist=None) -> Report:
    """Grade the ``mnist_tasks`` in ``submission``: all checks, or those of ``only`` (subjects) / ``names``."""
    started = time.perf_counter()
    checks = select(only, include_hidden)
    if names is not None:
        checks = [check for check in checks if check.name in names]
    package_parent = locate_package(Path(submission))
    if package_parent is None:
        missing = Text(f"{submission} に mnist_tasks/ がありません。", f"no mnist_tasks/ in {submission}.")
        return Report([TestResult(c.name, c.subject, 0.0, c.points, missing, c.hidden) for c in checks],
                      time.perf_counter() - started, str(submission))

    with tempfile.TemporaryDirectory(prefix="mnist-grade-") as temporary:
        workdir = Path(temporary)
        probes = _probes_of(checks, workdir, confirm=include_hidden)
        blocked = _unreadable_modules(package_parent / "mnist_tasks", probes)
        to_train = {c.subject.split(" ", 1)[1] for c in checks if c.needs_training}
        arrived: queue.Queue = queue.Queue()
        evidence = Evidence({}, workdir, package=package_parent / "mnist_tasks")
        timings: dict[str, float] = {}

        def listen(probe_id, outcome):
            arrived.put((probe_id, outcome))

        def work():
            try:
                evidence.results.update(run_probes(package_parent, probes, workdir, limits, on_result=listen,
                                                   blocked=blocked))
            finally:
                arrived.put(None)

        worker = threading.Thread(target=work, name="mnist-grade-sandbox", daemon=True)
        worker.start()
        import_tensorflow_quietly()  # while the worker imports its own; silenced, for grade cells' stderr
        if to_train and mnist is None:
            mnist = _load_mnist()
        while True:
            item = arrived.get()
            if item is None:
                break
            probe_id, outcome = item
            variant_id = probe_id.removeprefix("variant.")
            if probe_id.startswith("variant.") and variant_id in to_train:
                evidence.trained[variant_id] = _train(variant_table.get(variant_id), outcome, mnist, timings)
        worker.join()
        timings["total"] = time.perf_counter() - started

        results = []
        for check in checks:
            try:
                verdict = check.evaluate(evidence)
            except Exception as error:  # a grader bug must not hide the other results
                verdict = Verdict.failed(f"採点中のエラー: {type(error).__name__}: {error}",
                                         f"grader error: {type(error).__name__}: {error}")
            results.append(TestResult(check.name, check.subject, round(check.points * verdict.fraction, 4),
                                      check.points, verdict.message, check.hidden))
    return Report(results, time.perf_counter() - started, str(submission), timings)


def _unreadable_modules(package_dir: Path, probes: list[dict]) -> dict[str, dict]:
    """Module → the outcome its probes report without running, for source files no worker should import."""
    problems = sources.package_problems(package_dir)
    everywhere = problems.get(sources.ALL_MODULES)
    modules = {probe["module"] for probe in probes} | {"training"}   # variant probes import training too
    blocked = {module: problem.outcome() for module, problem in problems.items() if module != sources.ALL_MODULES}
    if everywhere is not None:
        blocked.update({module: everywhere.outcome() for module in modules if module not in blocked})
    return blocked


def _probes_of(checks: list[Check], workdir: Path, confirm: bool = True) -> list[dict]:
    """Each distinct probe once, builds of variants first so that training can start early;
    ``confirm``: with the probes that confirm public checks on unseen inputs (graded with hidden checks)."""
    probes: dict[str, dict] = {}
    for check in checks:
        for probe in [*check.probes, *(check.confirmations if confirm else [])]:
            if probe["id"] in probes:
                continue
            for name, array in probe.get("_arrays", {}).items():
                np.save(workdir / name, array, allow_pickle=False)
            probes[probe["id"]] = {key: value for key, value in probe.items() if key != "_arrays"}
    return sorted(probes.values(), key=lambda probe: not probe["id"].startswith("variant."))


def _load_mnist():
    from mnist_kit.data import load_mnist

    return load_mnist()


def _train(variant, outcome: dict, mnist, timings):
    from autograder import training

    if outcome.get("status") != "ok" or outcome.get("type") != "keras.Model":
        return None
    started = time.perf_counter()
    try:
        model_json = architecture.canonical_json(outcome["json"])
        shape = architecture.input_shape(model_json)
        if shape != architecture.expected_input_shape(variant):
            return Text(f"入力の形 {shape} では MNIST ({architecture.expected_input_shape(variant)}) で学習できません。",
                        f"input shape {shape} cannot take MNIST as {architecture.expected_input_shape(variant)}.")
        result = training.train_and_score(variant, model_json, mnist)
    except (architecture.ArchitectureError, training.UnsafeModel) as error:
        return Text(f"このモデルは学習できません: {error}", f"the grader will not train this model: {error}")
    except Exception as error:  # shapes that do not fit MNIST, and the like
        return Text(f"学習に失敗しました: {type(error).__name__}: {str(error)[:300]}",
                    f"training failed: {type(error).__name__}: {str(error)[:300]}")
    finally:
        timings[f"train {variant.id}"] = time.perf_counter() - started
    return result

"""What the feedback's figures cost a warm grading: the worker drawing each plot (Agg), the grader
framing and encoding them (``autograder.feedback.pictures``), and the HTML of every test (``autograder.feedback.page``).

    MNIST_NPZ=../shared/data/mnist.npz .venv/bin/python benchmarks/feedback_figures.py [--runs 5]

Grades ps3's tasks in a boxed fork server, as a class is graded (the training memo warm: the
variant's training is recalled, as in every grading after the first), alternately as shipped and
with no figure drawn or encoded (the probes' ``picture`` flag dropped), for the reference and for
submissions whose plots fail (``CASES``: their figures drawn and framed), and prints each run and
the share of the medians. A benchmark, not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder import grade as grading  # noqa: E402
from autograder.training import memo as training_memo
from autograder.feedback import report as reporting
from autograder.sandbox.forkbox import BoxedForkServer  # noqa: E402
from mnist_course import assignments  # noqa: E402

NO_LEGEND = ("plots.py", 'axes.legend(loc="best")', "pass")
NO_RED = ("plots.py", 'axes.set_title(f"{guess}({answer})", backgroundcolor="red")', 'axes.set_title(f"{guess}({answer})")')
# Submissions graded, by the mistakes made in the reference: none (nothing is drawn), a plot_history
# without legends (its 2-panel figure drawn), and also plot_predictions without red backgrounds
# (its 50-panel figure too).
CASES = {"reference": [], "no legend": [NO_LEGEND], "no legend, no red": [NO_LEGEND, NO_RED]}


def without_pictures(planned):
    return [{key: value for key, value in probe.items() if key != "picture"} for probe in planned]


def timed(submission: Path, only: list[str], server, memo, pictures: bool) -> float:
    started = time.perf_counter()
    if pictures:
        report = grading.grade(submission, only=only, workers=server, memo=memo)
    else:
        original = grading._planned
        with mock.patch.object(grading, "_planned", lambda checks: without_pictures(original(checks))):
            report = grading.grade(submission, only=only, workers=server, memo=memo)
        assert not report.figures
    reporting.gradescope(report, "ja")   # the HTML of each test, as results.json holds it
    return time.perf_counter() - started


def drawing_alone(folder: Path, runs: int) -> float:
    """The median over ``runs`` of what drawing adds to describing this submission's plot probes, in
    this process as in a worker (``describe.figure`` with the worker's hint, against without a
    picture), plus the grader's framing and encoding: the figures' cost without the grading's noise."""
    import importlib

    import numpy as np

    from autograder.feedback import pictures
    from autograder.core import Evidence
    from autograder.worker import arguments, describe, hints
    from mnist_course.reference_figures import picture_probes

    for name in [module for module in sys.modules if module == "mnist_tasks" or module.startswith("mnist_tasks.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        plots = importlib.import_module("mnist_tasks.plots")
    finally:
        sys.path.remove(str(folder))
    costs = []
    with tempfile.TemporaryDirectory(prefix="mnist-feedback-draw-") as workdir:
        probes = picture_probes()
        for probe in probes:
            for name, array in probe.get("arrays", {}).items():
                np.save(Path(workdir) / name, array, allow_pickle=False)
        for _ in range(runs):
            cost = 0.0
            for probe in probes:
                args = [arguments.load_argument(spec, workdir) for spec in probe.get("args", [])]
                kwargs = {key: arguments.load_argument(spec, workdir) for key, spec in probe.get("kwargs", {}).items()}
                plain = getattr(plots, probe["task"])(*args, **kwargs)
                started = time.perf_counter()
                describe.figure(plain)
                cost -= time.perf_counter() - started
                drawn = getattr(plots, probe["task"])(*args, **kwargs)
                started = time.perf_counter()
                described = describe.figure(drawn, (workdir, f"{probe['id']}.picture.npy"),
                                            lambda d, probe=probe: hints.faults(probe["id"], d, workdir))
                evidence = Evidence({probe["id"]: {"status": "ok", **described}}, Path(workdir))
                marked = hints.faults(probe["id"], described, workdir)
                if marked is not None:
                    pictures.encode(evidence, [(probe["task"], {"kind": "figure", "probe": probe["id"],
                                                                "marked": marked}, False)])
                cost += time.perf_counter() - started
            costs.append(cost)
    return statistics.median(costs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    only = ["plot_history", "plot_predictions", "plot_first_layer_weights", "early_stopping", "F16"]
    with tempfile.TemporaryDirectory(prefix="mnist-feedback-bench-") as temporary:
        submissions = {}
        for label, mistakes in CASES.items():
            folder = Path(temporary) / label.replace(" ", "-").replace(",", "")
            shutil.copytree(assignments.REFERENCE, folder / "mnist_tasks")
            for name, right, mistaken in mistakes:
                path = folder / "mnist_tasks" / name
                path.write_text(path.read_text(encoding="utf-8").replace(right, mistaken), encoding="utf-8")
            submissions[label] = folder
        memo = training_memo.Memo(Path(temporary) / "memo")
        server = BoxedForkServer()
        try:
            for submission in submissions.values():   # untimed: warms the server and the memo
                grading.grade(submission, only=only, workers=server, memo=memo)
            times: dict[tuple[str, bool], list[float]] = {}
            for _ in range(args.runs):
                for label, submission in submissions.items():
                    for pictures in (True, False):
                        times.setdefault((label, pictures), []).append(timed(submission, only, server, memo, pictures))
        finally:
            server.close()
        alone = {label: drawing_alone(folder, args.runs) for label, folder in submissions.items()}
    for label in CASES:
        shipped, bare = (statistics.median(times[(label, flag)]) for flag in (True, False))
        for flag in (True, False):
            print(f"{label:>17}, {'with figures' if flag else 'no figures':>12}: "
                  + " ".join(f"{value:.2f}" for value in times[(label, flag)]) + " s")
        print(f"{label:>17}: figures cost {shipped - bare:+.2f} s of a {shipped:.2f} s warm grading "
              f"({100 * (shipped - bare) / shipped:+.1f} %; medians of {args.runs} runs, 2 cores)")
        print(f"{label:>17}: drawing, framing and encoding alone {alone[label]:.3f} s "
              f"({100 * alone[label] / bare:.1f} % of the grading without figures)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

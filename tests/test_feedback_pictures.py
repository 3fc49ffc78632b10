"""The feedback's figures as the worker draws them (autograder.worker.describe.picture,
autograder.worker.hints) and the grader frames and crops them (autograder.feedback.pictures): drawn only
when a check finds fault, and of a figure of many panels only the rows at fault."""

from __future__ import annotations

import importlib
import sys

import numpy as np
from matplotlib.figure import Figure

from autograder.feedback import pictures
from autograder.core import Evidence
from autograder.exhibits import figure_exhibit
from autograder.worker import arguments, describe, hints
from mnist_course.assignments import REFERENCE
from mnist_course.reference_figures import picture_probes


def grid_figure(rows=6, columns=5) -> Figure:
    figure = Figure(figsize=(5, 6), layout="constrained")
    for index in range(rows * columns):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(np.zeros((28, 28)), cmap="gray")
        axes.set_title(str(index))
        axes.axis("off")
    return figure


def test_a_figure_of_many_panels_draws_the_rows_at_fault_and_the_grader_keeps_those(tmp_path):
    described = describe.figure(grid_figure(), (str(tmp_path), "p.picture.npy"), faults=lambda _: [7])
    assert described["picture_panels"] == [5, 6, 7, 8, 9]   # the second row of five
    evidence = Evidence({"p": {"status": "ok", **described}}, tmp_path)
    (shown,) = pictures.encode(evidence, [("plot_predictions", figure_exhibit("p", [7]), False)]).values()
    assert (shown["panels"], shown["drawn"]) == (30, 5)
    full = np.load(tmp_path / "p.picture.npy")
    assert shown["width"] == full.shape[1] and shown["height"] < full.shape[0] / 3   # one row of six, cropped


def test_a_figure_no_check_faults_is_not_drawn_and_a_few_panels_are_drawn_whole(tmp_path):
    assert "picture" not in describe.figure(grid_figure(), (str(tmp_path), "none.npy"), faults=lambda _: None)
    small = describe.figure(grid_figure(2, 2), (str(tmp_path), "small.npy"), faults=lambda _: [3])
    assert small["picture"] == "small.npy" and "picture_panels" not in small


def reference_outcomes(tmp_path):
    sys.path.insert(0, str(REFERENCE.parent))
    try:
        plots = importlib.import_module("mnist_tasks.plots")
    finally:
        sys.path.remove(str(REFERENCE.parent))
    for probe in picture_probes():
        for name, array in probe.get("arrays", {}).items():
            np.save(tmp_path / name, array, allow_pickle=False)
        args = [arguments.load_argument(spec, str(tmp_path)) for spec in probe.get("args", [])]
        kwargs = {key: arguments.load_argument(spec, str(tmp_path)) for key, spec in probe.get("kwargs", {}).items()}
        yield probe["id"], describe.figure(getattr(plots, probe["task"])(*args, **kwargs))


def test_the_workers_hint_finds_no_fault_in_the_references_figures_and_the_panel_of_a_missing_legend(tmp_path):
    for probe, described in reference_outcomes(tmp_path):
        assert hints.faults(probe, described, str(tmp_path)) is None, probe
        if probe == "plot_history.validation":
            without_legend = {**described, "axes": [dict(described["axes"][0], legend=None), described["axes"][1]]}
            assert hints.faults(probe, without_legend, str(tmp_path)) == [0]

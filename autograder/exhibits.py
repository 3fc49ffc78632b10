"""What a verdict shows beside its words: the student's figure with the fault marked, the layer
table expected beside actual, an accuracy against its threshold. Plain JSON data, made by the
checks (``autograder.core.Verdict.exhibit``), carried in results.json, drawn by
``autograder.feedback.page`` in the grader's own process: student code never writes any of it.

A figure exhibit names its probe; the picture itself (``Figure``) is the worker's RGBA pixels of
the student's Figure, read and encoded by ``autograder.figures`` after the checks concluded, and
only for probes whose inputs are public (``Probe.picture``): a hidden input is never drawn.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class FigureExhibit(TypedDict):
    kind: Literal["figure"]
    probe: str                   # the figure probe whose picture it shows
    marked: list[int] | None     # None: nothing wrong; []: the figure as a whole; else the panels at fault


class LayerRow(TypedDict):
    expected: str | None         # autograder.training.architecture.describe_row, or None where a layer is missing
    actual: str | None
    differs: bool


class LayerTable(TypedDict):
    kind: Literal["layers"]
    rows: list[LayerRow]


class AccuracyChart(TypedDict):
    kind: Literal["accuracy"]
    accuracy: float              # after the grader's brief training
    threshold: float
    handout: float | None        # the handout's figure, at its own (longer) training


Exhibit = FigureExhibit | LayerTable | AccuracyChart


class Figure(TypedDict):
    """A figure as results.json carries it: an image the grader encoded, and what it shows."""
    data: str                    # base64
    mime: Literal["image/png", "image/jpeg"]
    width: int
    height: int
    panels: int                  # Axes the figure holds, for its alt text
    drawn: NotRequired[int]      # of them drawn: a figure of many shows the rows at fault only


def figure_exhibit(probe: str, marked: list[int] | None = None) -> FigureExhibit:
    return FigureExhibit(kind="figure", probe=probe, marked=marked)

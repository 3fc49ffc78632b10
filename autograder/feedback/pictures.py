"""The student's figures as the feedback shows them: the worker's pixels read back, the panels a
failed check names framed in red, encoded as PNG, in the grader's own process.

The worker draws each figure of a public probe with matplotlib's Agg renderer and sends its RGBA
pixels as an ``.npy`` array (``autograder.worker.describe.picture``): plain numbers, checked here
for type and size like every array the worker returns, never an image file the grader would have
to parse. The reference's figures on the same inputs are drawn the same way, once, from
``solutions/`` (``python -m autograder.feedback.pictures``), and ship as package data
(``autograder/feedback/reference_figures/``, written by ``mnist_course.reference_figures``) since students' installs hold no solutions.
"""

from __future__ import annotations

import base64
import functools
import io
import json
from pathlib import Path

import numpy as np

from autograder.core import Evidence
from autograder.exhibits import Exhibit, Figure

MAX_SIDE = 1024               # pixels; the worker draws no side over PICTURE_SIDE (640)
FRAME = (214, 39, 40)         # matplotlib's tab:red: the frame around what a failed check looked at
FRAME_WIDTH = 3
JPEG_ABOVE = 48_000           # bytes of PNG
REFERENCES = Path(__file__).resolve().parent / "reference_figures"


def encode(evidence: Evidence, shown: list[tuple[str, Exhibit | None, bool]]) -> dict[str, Figure]:
    """The figures the feedback shows, by probe, from (subject, exhibit, passed) of each result: for
    each task, every figure a failed check looked at, its panels at fault framed (those of every
    failed check on it), or, when all passed, its first figure. A probe whose worker drew nothing
    (it raised, returned no Figure) has none."""
    by_task: dict[str, dict[str, set[int] | None]] = {}
    for subject, exhibit, passed in shown:
        if exhibit is None or exhibit["kind"] != "figure":
            continue
        probes = by_task.setdefault(subject, {})
        probe, panels = exhibit["probe"], exhibit["marked"]
        if passed or panels is None:
            probes.setdefault(probe, None)
        else:
            probes[probe] = (probes.get(probe) or set()) | (set(panels) if panels else {-1})
    figures = {}
    for probes in by_task.values():
        failing = {probe: panels for probe, panels in probes.items() if panels is not None}
        for probe, panels in (failing or dict(list(probes.items())[:1])).items():
            picture = _picture(evidence, probe)
            if picture is not None:
                outcome = evidence.result(probe)
                axes = outcome.get("axes") or []
                shown = _drawn_panels(outcome, len(axes))
                framed = _framed(picture, axes, panels or set())
                figures[probe] = image(_cropped(framed, axes, shown) if shown else framed, len(axes),
                                       drawn=len(shown) if shown else len(axes))
    return figures


def _picture(evidence: Evidence, probe: str) -> np.ndarray | None:
    outcome = evidence.result(probe)
    if outcome.get("status") != "ok" or not isinstance(outcome.get("picture"), str):
        return None
    try:
        pixels = evidence.array(probe, "picture")
    except (OSError, ValueError):
        return None
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 4 or not \
            (1 <= pixels.shape[0] <= MAX_SIDE and 1 <= pixels.shape[1] <= MAX_SIDE):
        return None
    return pixels


def _drawn_panels(outcome: dict, count: int) -> list[int] | None:
    """The panels the worker drew of a figure of many (the rows at fault), or None: all of them."""
    shown = outcome.get("picture_panels")
    if not isinstance(shown, list) or not shown:
        return None
    return sorted({index for index in shown if isinstance(index, int) and 0 <= index < count}) or None


def _cropped(rgb: np.ndarray, axes: list[dict], shown: list[int]) -> np.ndarray:
    """``rgb`` cut to the rows of the panels drawn, with room above them for their titles."""
    height = rgb.shape[0]
    spans = []
    for index in shown:
        bounds = axes[index].get("bounds")
        if isinstance(bounds, list) and len(bounds) == 4 and all(isinstance(b, (int, float)) for b in bounds):
            x0, y0, w, h = bounds
            spans.append((int((1 - y0 - h - 0.45 * h) * height), int((1 - y0 + 0.12 * h) * height)))
    if not spans:
        return rgb
    top, bottom = max(0, min(s[0] for s in spans)), min(height, max(s[1] for s in spans))
    return np.ascontiguousarray(rgb[top:bottom]) if bottom - top > 8 else rgb


def _framed(picture: np.ndarray, axes: list[dict], panels: set[int]) -> np.ndarray:
    """``picture`` (RGB) with a red frame around each of ``panels`` (-1: around the whole figure)."""
    rgb = np.ascontiguousarray(picture[..., :3])
    height, width = rgb.shape[:2]
    boxes = [(0, 0, width, height)] if -1 in panels else []
    for index in sorted(panels - {-1}):
        bounds = axes[index].get("bounds") if 0 <= index < len(axes) else None
        if isinstance(bounds, list) and len(bounds) == 4 and all(isinstance(b, (int, float)) for b in bounds):
            x0, y0, w, h = bounds   # figure fractions from the bottom left, as matplotlib gives them
            pad, title = 4, 18      # pixels; above the panel, its title (which a check may be about)
            boxes.append((int(x0 * width) - pad, int((1 - y0 - h) * height) - title,
                          int((x0 + w) * width) + pad, int((1 - y0) * height) + pad))
    for left, top, right, bottom in boxes:
        left, top = max(0, left), max(0, top)
        right, bottom = min(width, right), min(height, bottom)
        if right - left < 2 * FRAME_WIDTH or bottom - top < 2 * FRAME_WIDTH:
            continue
        rgb[top:top + FRAME_WIDTH, left:right] = FRAME
        rgb[bottom - FRAME_WIDTH:bottom, left:right] = FRAME
        rgb[top:bottom, left:left + FRAME_WIDTH] = FRAME
        rgb[top:bottom, right - FRAME_WIDTH:right] = FRAME
    return rgb


def image(pixels: np.ndarray, panels: int, drawn: int | None = None) -> Figure:
    """``pixels`` (H, W, 3) uint8 encoded for a page: PNG, sharp for lines and text, unless JPEG is
    far smaller (photographs of digits, noise, in 50 panels)."""
    from PIL import Image   # matplotlib's own dependency

    picture = Image.fromarray(pixels)
    encoded = io.BytesIO()
    picture.save(encoded, format="PNG", compress_level=6)
    mime = "image/png"
    if encoded.tell() > JPEG_ABOVE:
        smaller = io.BytesIO()
        picture.save(smaller, format="JPEG", quality=80)
        if smaller.tell() < encoded.tell() / 2:
            encoded, mime = smaller, "image/jpeg"
    return Figure(data=base64.b64encode(encoded.getvalue()).decode("ascii"), mime=mime, width=pixels.shape[1],
                  height=pixels.shape[0], panels=panels, drawn=panels if drawn is None else drawn)


@functools.lru_cache(maxsize=1)
def _index() -> dict:
    index = REFERENCES / "index.json"
    return json.loads(index.read_text(encoding="utf-8")) if index.is_file() else {}


@functools.lru_cache(maxsize=None)
def reference(probe: str) -> Figure | None:
    """The reference's figure for ``probe``'s inputs, as drawn by ``write_references``, or None."""
    shown = _index().get(probe)
    if not shown or not (REFERENCES / shown["file"]).is_file():
        return None
    shown = dict(shown)
    path = REFERENCES / shown.pop("file")
    return Figure(data=base64.b64encode(path.read_bytes()).decode("ascii"), **shown)

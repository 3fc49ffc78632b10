"""The report's figures: the score distribution, the failure rate per check, the grading time per student.

In: an ``AssignmentReport``. Out: PNG bytes drawn with matplotlib's Agg (loaded when the first
figure is drawn); the words in Japanese / English when a Japanese font is found, else English.
"""

from __future__ import annotations

import functools
import io

from autograder.feedback.render import width
from mnist_kit.i18n import Text
from .rows import AssignmentReport, both

# Fonts with Japanese, in order of preference; matplotlib falls back to them glyph by glyph.
JAPANESE_FONTS = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "Hiragino Sans", "Yu Gothic", "Noto Sans JP",
                  "TakaoGothic", "VL Gothic")


@functools.cache
def japanese_font() -> str | None:
    """A font with Japanese that matplotlib knows, or None (then figures speak English only).

    matplotlib caches its font list when it first runs: fonts installed after that (fonts-noto-cjk
    on a grading server) are added here from the system's font folders.
    """
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if not {f.name for f in manager.ttflist} & set(JAPANESE_FONTS):
        known = {f.fname for f in manager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    manager.addfont(path)
                except Exception:   # a font file matplotlib cannot read is not ours to fix
                    pass
    names = {f.name for f in manager.ttflist}
    return next((name for name in JAPANESE_FONTS if name in names), None)


def figure_text(text: Text) -> str:
    """A figure's words: Japanese / English when a Japanese font is there, else English."""
    return both(text) if japanese_font() else text.en


def figure_label(text: str, columns: int = 46) -> str:
    """``text`` cut to ``columns`` display columns (Japanese characters take two), with an ellipsis."""
    if width(text) <= columns:
        return text
    out = ""
    for char in text:
        if width(out + char) > columns - 1:
            break
        out += char
    return out + "…"


def _style() -> dict:
    font = japanese_font()
    return {"font.family": ["DejaVu Sans", font] if font else ["DejaVu Sans"], "font.size": 9,
            "axes.spines.top": False, "axes.spines.right": False}


def png(draw, size: tuple[float, float]) -> bytes:
    """``draw(figure)`` on a new Agg figure of ``size`` inches; the PNG's bytes."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_style()):
        figure = Figure(figsize=size, dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        draw(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def score_histogram(report: AssignmentReport) -> bytes:
    """How many students got each total score: a bar per point (per tenth of the maximum above 20),
    centred on it, so that a score counts to its nearest."""
    import numpy as np

    step = 1.0 if report.max_score <= 20 else report.max_score / 10
    centres = np.arange(0, report.max_score + step / 2, step)
    edges = np.append(centres - step / 2, centres[-1] + step / 2)

    def draw(figure):
        axes = figure.subplots()
        counts, _, bars = axes.hist(np.clip(report.scores, 0, report.max_score), bins=edges, color="#4878a8",
                                    edgecolor="white", rwidth=0.9)
        axes.bar_label(bars, labels=[f"{c:g}" if c else "" for c in counts])
        axes.set_xticks(centres, [f"{c:g}" for c in centres])
        axes.set_ylim(0, max([*counts, 1]) * 1.15)
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_xlabel(figure_text(Text("合計点" + ("" if step == 1 else f" ({step:g} 点刻み)"),
                                         "total score" + ("" if step == 1 else f" (to the nearest {step:g})"))))
        axes.set_ylabel(figure_text(Text("人数", "students")))
    return png(draw, (6.4, 2.6))


def failure_rates(report: AssignmentReport, language: str) -> bytes:
    """Each check's failure rate, one horizontal bar a check, in the grader's order (top to bottom)."""
    checks = report.checks

    def draw(figure):
        axes = figure.subplots()
        positions = range(len(checks))
        rates = [100 * check.rate for check in checks]
        bars = axes.barh(positions, rates, color=["#c0504d" if rate else "#9bbb59" for rate in rates], height=0.7)
        axes.bar_label(bars, labels=[f"{len(c.failed)}/{len(c.graded)}" for c in checks], padding=3, fontsize=8)
        axes.set_yticks(list(positions), [figure_label(c.label(language) if japanese_font() else c.name)
                                          for c in checks], fontsize=8)
        axes.invert_yaxis()
        axes.set_xlim(0, 110)
        axes.set_xticks([0, 25, 50, 75, 100])
        axes.set_xlabel(figure_text(Text("失敗した学生の割合 (%)", "students who failed (%)")))
    return png(draw, (8.0, 0.8 + 0.24 * max(len(checks), 1)))


def grading_times(report: AssignmentReport) -> bytes:
    """Each graded student's time: the isolated grader's, after the notebook's run in the kernel when
    autograde ran one (``MNIST_COURSE_EXECUTE=1``; by default it runs none)."""
    timed = [s for s in report.students if s.grader_seconds is not None or s.kernel_seconds is not None]

    def draw(figure):
        axes = figure.subplots()
        positions = range(len(timed))
        kernel = [s.kernel_seconds or 0.0 for s in timed]
        grader = [s.grader_seconds or 0.0 for s in timed]
        if any(kernel):
            axes.barh(positions, kernel, color="#8eb4e3",
                      label=figure_text(Text("ノートブックの実行", "notebook in the kernel")))
        bars = axes.barh(positions, grader, left=kernel, color="#1f4e79",
                         label=figure_text(Text("採点器", "isolated grader")))
        axes.bar_label(bars, labels=[f"{k + g:.1f} s" for k, g in zip(kernel, grader)], padding=3, fontsize=8)
        axes.set_yticks(list(positions), [s.student for s in timed])
        axes.invert_yaxis()
        axes.set_xlim(0, max([k + g for k, g in zip(kernel, grader)] + [1.0]) * 1.15)
        axes.set_xlabel(figure_text(Text("秒", "seconds")))
        figure.legend(loc="outside upper center", ncols=2, fontsize=8, frameon=False)
    return png(draw, (6.4, 1.2 + 0.28 * max(len(timed), 1)))

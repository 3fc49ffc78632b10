"""The verdicts as HTML, for wherever a person looks at them in a browser: a grade cell's output in
JupyterLab, nbgrader's feedback page, the report ``pytest autograder/`` writes, Gradescope's
results.json (``output_format: "html"``).

The same tasks as the text (``autograder.feedback.render.tasks``: each mistake once, above the checks),
with what text cannot show: the student's figure beside the reference's on the same public inputs,
the panel at fault framed (``autograder.feedback.pictures``); the layer table expected beside actual, the
differing rows marked; each variant's accuracy against its threshold and the handout's figure.
Nothing in it has a width of its own: text wraps to its box, tables and images shrink to it, from
JupyterLab's narrow pane to a phone. Every image carries alt text made from the same data.

Rendered in the grader's or the student's own trusted process, from results.json's data; the
student's code only ever supplied pixels (``autograder.feedback.pictures``) and numbers, escaped here.
"""

from __future__ import annotations

import base64
from html import escape

from autograder.feedback import pictures
from autograder.feedback import render
from autograder.exhibits import AccuracyChart, Figure, LayerTable
from mnist_kit.i18n import Text

CSS = """
.mnist-feedback { font-family: system-ui, "Noto Sans CJK JP", sans-serif; font-size: 14px; line-height: 1.45;
  max-width: 100%; overflow-wrap: anywhere; word-break: normal; }
.mnist-feedback * { box-sizing: border-box; max-width: 100%; }
.mnist-feedback .task { margin: 0 0 0.8em 0; }
.mnist-feedback .diagnosis { margin: 0.2em 0; padding: 0.3em 0.6em; border-left: 4px solid #d62728;
  background: #fdf0f0; white-space: pre-wrap; }
.mnist-feedback ul.checks { list-style: none; margin: 0.2em 0; padding: 0; }
.mnist-feedback ul.checks li { margin: 0.15em 0; }
.mnist-feedback .points { font-family: monospace; white-space: nowrap; margin-right: 0.5em; }
.mnist-feedback .passed .points { color: #2a7a2a; }
.mnist-feedback .failed .points { color: #b01c1c; font-weight: bold; }
.mnist-feedback .reason { margin: 0.1em 0 0.3em 1.6em; white-space: pre-wrap; }
.mnist-feedback .english { color: #666; margin-left: 1.6em; font-size: 0.9em; }
.mnist-feedback .figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 0.4em 0; }
.mnist-feedback figure { flex: 1 1 260px; min-width: 0; margin: 0; }
.mnist-feedback figure img { width: 100%; height: auto; border: 1px solid #ddd; }
.mnist-feedback figcaption { font-size: 0.9em; color: #444; }
.mnist-feedback table.layers { width: 100%; table-layout: fixed; border-collapse: collapse; margin: 0.2em 0 0.4em 1.6em;
  max-width: calc(100% - 1.6em); font-family: monospace; font-size: 0.85em; }
.mnist-feedback table.layers th, .mnist-feedback table.layers td { border: 1px solid #ccc; padding: 2px 4px;
  overflow-wrap: anywhere; vertical-align: top; text-align: left; }
.mnist-feedback table.layers th.mark, .mnist-feedback table.layers td.mark { width: 1.8em; }
.mnist-feedback table.layers tr.differs td { background: #fdf0f0; }
.mnist-feedback img.chart { display: block; width: min(360px, calc(100% - 1.6em)); height: auto;
  margin: 0.2em 0 0.3em 1.6em; }
.mnist-feedback .notes { color: #444; white-space: pre-wrap; }
"""

WORDS = {
    "yours": Text("あなたの図", "your figure"),
    "figures": Text("図: あなたの図と参考解の図", "figures: yours and the reference's"),
    "reference": Text("参考解の図 (同じ入力)", "the reference's figure (same inputs)"),
    "none_drawn": Text("図は描かれませんでした (下の検査を見てください)。", "no figure was drawn (see the checks below)."),
    "alt_yours": Text("あなたの {task} が検査の入力 ({probe}) で描いた図。パネル {panels} 枚。",
                      "The figure your {task} drew on the check's inputs ({probe}): {panels} panel(s)."),
    "alt_reference": Text("参考解の {task} が同じ入力 ({probe}) で描いた図。パネル {panels} 枚。",
                          "The figure the reference {task} drew on the same inputs ({probe}): {panels} panel(s)."),
    "alt_rows": Text("枠のある行のパネル {drawn} 枚だけを描いています。", "Only the {drawn} panels in the rows at fault are drawn."),
    "alt_fine": Text("検査はすべて合格です。", "Every check on it passed."),
    "alt_marked": Text("赤枠: {where}。{problems}", "Framed in red: {where}. {problems}"),
    "whole": Text("図全体", "the whole figure"),
    "panels": Text("パネル {numbers}", "panel(s) {numbers}"),
    "expected": Text("期待", "expected"),
    "actual": Text("実際", "actual"),
    "alt_layers": Text("層の表: 期待と実際、{wrong} 行が違います。", "Layer table, expected beside actual: {wrong} row(s) differ."),
    "alt_accuracy": Text("テスト精度 {accuracy:.4f}、基準 {threshold:.3f}{handout}。{verdict}",
                         "Test accuracy {accuracy:.4f} against the threshold {threshold:.3f}{handout}. {verdict}"),
    "alt_handout": Text("、ハンドアウト {value:.3f}", ", the handout's {value:.3f}"),
    "above": Text("基準以上です。", "At or above the threshold."),
    "below": Text("基準に届きません。", "Below the threshold."),
    "accuracy": Text("精度", "accuracy"),
    "threshold": Text("基準", "threshold"),
    "handout": Text("ハンドアウト", "handout"),
}


def word(key: str, language: str, **values) -> str:
    return WORDS[key].get(language).format(**values)


def fragment(verdicts: list[render.Verdict], figures: dict[str, Figure], language: str, notes: list[str] = (),
             *, styled: bool = True, with_figures: bool = True) -> str:
    """The checks as one self-contained HTML fragment: each task's mistakes, figures and checks, then
    ``notes`` (how it ran, the total). ``styled``: with its style sheet (not for each of results.json's
    tests: Gradescope styles its page itself; the images and tables shrink to it without one);
    ``with_figures``: with the figures of its tasks."""
    parts = [f'<div class="mnist-feedback" lang="{language}">' + (f"<style>{CSS}</style>" if styled else "")]
    for task in render.tasks(verdicts, language):
        parts.append(_task(task, figures if with_figures else None, language))
    if notes:
        parts.append(f'<p class="notes">{escape(chr(10).join(notes))}</p>')
    parts.append("</div>")
    return "".join(parts)


def page(verdicts: list[render.Verdict], figures: dict[str, Figure], language: str, title: str,
         notes: list[str] = ()) -> str:
    """A whole HTML page of ``fragment`` (the report ``pytest autograder/`` writes)."""
    return (f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title></head>'
            f'<body style="margin: 12px">{fragment(verdicts, figures, language, notes)}</body></html>')


def _task(task: render.Task, figures: dict[str, Figure] | None, language: str) -> str:
    parts = ['<section class="task">']
    for text in task.diagnoses:
        parts.append(f'<p class="diagnosis">{escape(render.say("diagnosis", language, text=text))}</p>')
    if figures is not None:
        parts.append(_figures(task, figures, language))
    parts.append('<ul class="checks">')
    for verdict in task.verdicts:
        parts.append(_check(verdict, language))
    parts.append("</ul></section>")
    return "".join(parts)


def _figures(task: render.Task, figures: dict[str, Figure], language: str) -> str:
    """The student's figure beside the reference's, for each probe a failed check looked at, or for
    the task's first probe when every check passed."""
    shown: dict[str, list[render.Verdict]] = {}
    for verdict in task.verdicts:
        exhibit = verdict.exhibit
        if exhibit and exhibit.get("kind") == "figure":
            shown.setdefault(exhibit["probe"], []).append(verdict)
    failing = [probe for probe, verdicts in shown.items() if any(not v.passed for v in verdicts)]
    probes = failing or list(shown)[:1]
    if not probes:
        return ""
    parts = [] if failing else [f'<details><summary>{escape(word("figures", language))}</summary>']
    for probe in probes:
        subject = task.subject or ""
        failed = [v for v in shown[probe] if not v.passed]
        yours, reference = figures.get(probe), pictures.reference(probe)
        parts.append('<div class="figures">')
        if yours is not None:
            alt = word("alt_yours", language, task=subject, probe=probe, panels=yours["panels"])
            if yours.get("drawn", yours["panels"]) < yours["panels"]:
                alt += " " + word("alt_rows", language, drawn=yours["drawn"])
            alt += " " + (_marked_alt(failed, language) if failed else word("alt_fine", language))
            partial = yours.get("drawn", yours["panels"]) < yours["panels"]
            caption = word("yours", language) + (" — " + word("alt_rows", language, drawn=yours["drawn"]) if partial else "")
            parts.append(_figure(yours, alt, caption))
        else:
            parts.append(f'<figure><figcaption>{escape(word("yours", language))}: '
                         f'{escape(word("none_drawn", language))}</figcaption></figure>')
        if reference is not None:
            alt = word("alt_reference", language, task=subject, probe=probe, panels=reference["panels"])
            parts.append(_figure(reference, alt, word("reference", language)))
        parts.append("</div>")
    return "".join(parts) + ("" if failing else "</details>")


def _marked_alt(failed: list[render.Verdict], language: str) -> str:
    panels = sorted({panel for v in failed for panel in (v.exhibit.get("marked") or [])})
    where = word("panels", language, numbers=", ".join(str(p + 1) for p in panels)) if panels else word("whole", language)
    problems = " ".join(v.message.strip().splitlines()[0] for v in failed if v.message.strip())
    return word("alt_marked", language, where=where, problems=problems)


def _figure(figure: Figure, alt: str, caption: str) -> str:
    return (f'<figure><img src="data:{figure["mime"]};base64,{figure["data"]}" width="{figure["width"]}" '
            f'height="{figure["height"]}" style="max-width: 100%; height: auto" alt="{escape(alt)}"><figcaption>{escape(caption)}</figcaption></figure>')


def _check(verdict: render.Verdict, language: str) -> str:
    state = "passed" if verdict.passed else "failed"
    mark = render.PASSED if verdict.passed else render.FAILED
    parts = [f'<li class="{state}"><span class="points">{mark} {verdict.score:g}/{verdict.max_score:g}</span> '
             f'<span class="name">{escape(verdict.name)}</span>']
    if not verdict.passed and verdict.english and verdict.english != verdict.name:
        parts.append(f'<div class="english">({escape(verdict.english)})</div>')
    exhibit = verdict.exhibit or {}
    message = (verdict.message or "").strip()
    if exhibit.get("kind") == "layers" and not verdict.passed:
        # The table replaces the message's text table; the lines around it stay.
        message = "\n".join(line for line in message.splitlines() if not render.is_table_line(line))
    if message and (message != "OK" or not verdict.passed):
        parts.append(f'<div class="reason">{escape(message)}</div>')
    if exhibit.get("kind") == "layers" and not verdict.passed:
        parts.append(_layers(exhibit, language))
    elif exhibit.get("kind") == "accuracy":
        parts.append(_accuracy(exhibit, language))
    parts.append("</li>")
    return "".join(parts)


def _layers(table: LayerTable, language: str) -> str:
    rows = table["rows"]
    wrong = sum(row["differs"] for row in rows)
    cells = [f'<table class="layers" style="width: 100%; table-layout: fixed" aria-label="{escape(word("alt_layers", language, wrong=wrong))}">'
             f'<thead><tr><th class="mark"></th><th>{escape(word("expected", language))}</th>'
             f'<th>{escape(word("actual", language))}</th></tr></thead><tbody>']
    for row in rows:
        cells.append(f'<tr class="{"differs" if row["differs"] else "same"}"><td class="mark">'
                     f'{render.FAILED if row["differs"] else ""}</td><td>{escape(row["expected"] or "—")}</td>'
                     f'<td>{escape(row["actual"] or "—")}</td></tr>')
    cells.append("</tbody></table>")
    return "".join(cells)


def _accuracy(chart: AccuracyChart, language: str) -> str:
    """One bar, the accuracy, with the threshold and the handout's figure as marks on its scale."""
    accuracy, threshold, handout = chart["accuracy"], chart["threshold"], chart["handout"]
    low = max(0.0, min([accuracy, threshold] + ([handout] if handout is not None else [])) - 0.05)
    low = min(low, 0.8) if accuracy >= 0.5 else 0.0
    width, left, right = 360, 90, 20

    def x(value: float) -> float:
        return left + (width - left - right) * (min(max(value, low), 1.0) - low) / (1.0 - low)

    passed = accuracy >= threshold
    color = "#2a7a2a" if passed else "#d62728"
    marks = [(threshold, "#000", word("threshold", language), "4 2")]
    if handout is not None:
        marks.append((handout, "#1f77b4", word("handout", language), ""))
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="64" viewBox="0 0 {width} 64" '
           'font-family="sans-serif" font-size="11">',
           f'<text x="0" y="26">{escape(word("accuracy", language))} {accuracy:.4f}</text>',
           f'<rect x="{left}" y="16" width="{width - left - right}" height="14" fill="#eee"/>',
           f'<rect x="{left}" y="16" width="{x(accuracy) - left:.1f}" height="14" fill="{color}"/>']
    for index, (value, stroke, label, dash) in enumerate(marks):
        svg.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="10" y2="36" stroke="{stroke}" stroke-width="2"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        anchor = "end" if x(value) > width * 0.6 else "start"   # a label near the right end stays inside
        svg.append(f'<text x="{x(value):.1f}" y="{50 + 12 * index}" fill="{stroke}" text-anchor="{anchor}">'
                   f'{escape(label)} {value:.3f}</text>')
    svg.append(f'<text x="{left}" y="10" fill="#666">{low:.2f}</text><text x="{width - right - 6}" y="10" '
               'fill="#666">1</text></svg>')
    encoded = base64.b64encode("".join(svg).encode("utf-8")).decode("ascii")
    alt = word("alt_accuracy", language, accuracy=accuracy, threshold=threshold,
               handout=word("alt_handout", language, value=handout) if handout is not None else "",
               verdict=word("above" if passed else "below", language))
    return (f'<img class="chart" src="data:image/svg+xml;base64,{encoded}" width="{width}" height="64" '
            f'style="max-width: calc(100% - 1.6em); height: auto" alt="{escape(alt)}">')

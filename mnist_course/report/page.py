"""The page and the CSV's rows, as text, from a gathered ``ClassReport``.

In: a ``ClassReport`` and the language of the check names. Out: the whole HTML page as one string
(``render_html``: CSS inline, the ``figures`` embedded as base64 PNG) and the CSV's rows as dicts
(``csv_rows``). Writing the two files is the package's ``write``.
"""

from __future__ import annotations

import base64
import html
import statistics

from mnist_kit.i18n import Text
from .figures import failure_rates, grading_times, score_histogram
from .rows import STATUSES, AssignmentReport, CheckSummary, ClassReport, StudentResult, both

# How many of a check's failure messages the page shows.
MISTAKES_SHOWN = 3

CSS = """
body { font-family: "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif; margin: 0 auto;
       max-width: 980px; padding: 1em 1.5em 3em; color: #222; line-height: 1.5; }
h1 { font-size: 1.6em; border-bottom: 3px solid #1f4e79; padding-bottom: .2em; }
h2 { font-size: 1.3em; margin-top: 2.2em; border-bottom: 1px solid #aaa; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; vertical-align: top; text-align: left; }
th { background: #eef2f7; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
img { max-width: 100%; height: auto; display: block; margin: .5em 0; }
.meta, .english { color: #666; font-size: .85em; }
.status-graded { color: #2e7d32; }
.status-other { color: #b71c1c; font-weight: bold; }
.message { white-space: pre-wrap; font-family: "Noto Sans Mono CJK JP", monospace; font-size: .85em; margin: 0; }
details ul { margin: .2em 0; padding-left: 1.2em; font-size: .85em; }
summary { cursor: pointer; color: #1f4e79; }
"""


def esc(value) -> str:
    return html.escape(str(value))


def number(value: float | None, digits: int = 1) -> str:
    """``value`` rounded to ``digits`` decimals, without trailing zeros; '' for None."""
    return "" if value is None else f"{round(value, digits):g}"


def counted(count: int, unit: str, noun: str) -> Text:
    """``3 人 / 3 students``: a count with its Japanese counter and its English noun."""
    return Text(f"{count} {unit}", f"{count} {noun}{'' if count == 1 else 's'}")


def image(data: bytes, alt: Text) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" alt="{esc(both(alt))}">'


def status_cell(student: StudentResult) -> str:
    kind = "graded" if student.status == "graded" else "other"
    return f'<td class="status-{kind}">{esc(both(STATUSES[student.status]))}</td>'


def summary_table(report: ClassReport) -> str:
    rows = []
    for a in report.assignments:
        scores = a.scores
        rows.append("<tr>" + "".join([
            f'<td><a href="#{esc(a.id)}">{esc(a.id)}</a></td>',
            f'<td class="number">{len(a.students)}</td>',
            f'<td class="number">{sum(s.status != "not_submitted" for s in a.students)}</td>',
            f'<td class="number">{len(scores)}</td>',
            f'<td class="number">{number(statistics.mean(scores)) if scores else ""}</td>',
            f'<td class="number">{number(statistics.median(scores)) if scores else ""}</td>',
            f'<td class="number">{number(a.max_score)}</td>',
            f'<td class="number">{len(a.attention)}</td>']) + "</tr>")
    head = "".join(f"<th>{esc(both(t))}</th>" for t in (
        Text("課題", "assignment"), Text("受験者", "students"), Text("提出", "submitted"), Text("採点", "graded"),
        Text("平均点", "mean"), Text("中央値", "median"), Text("満点", "out of"), Text("要注意", "need attention")))
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def attention_section(a: AssignmentReport) -> str:
    title = f"<h3>{esc(both(Text('要注意の学生', 'students who need attention')))}</h3>"
    if not a.attention:
        return title + f"<p>{esc(both(Text('いません。', 'none.')))}</p>"
    rows = "".join(f"<tr><td>{esc(s.student)}</td>{status_cell(s)}"
                   f"<td>{'<br>'.join(esc(both(p.text)) for p in s.problems)}</td></tr>" for s in a.attention)
    head = "".join(f"<th>{esc(both(t))}</th>" for t in (Text("学生", "student"), Text("状態", "status"),
                                                          Text("理由", "why")))
    return f"{title}<table><tr>{head}</tr>{rows}</table>"


def check_name_cell(check: CheckSummary, language: str) -> str:
    english = (f'<div class="english">{esc(check.name)}</div>'
               if language == "ja" and check.title != check.name else "")
    return f"<td>{esc(check.label(language))}{english}</td>"


def checks_section(a: AssignmentReport, language: str) -> str:
    """The failure rate of every check: a chart, and the same as a table for those who want numbers."""
    title = f"<h3>{esc(both(Text('チェックごとの失敗率', 'failure rate per check')))}</h3>"
    if not a.checks:
        return title + f"<p>{esc(both(Text('採点器の結果がありません。', 'no results from the grader.')))}</p>"
    figure = image(failure_rates(a, language), Text("チェックごとの失敗率", "failure rate per check"))
    rows = "".join(f"<tr>{check_name_cell(check, language)}<td class=\"number\">{len(check.failed)} / "
                   f"{len(check.graded)}</td><td class=\"number\">{100 * check.rate:.0f}%</td></tr>" for check in a.checks)
    head = "".join(f"<th>{esc(both(t))}</th>" for t in (Text("チェック", "check"), Text("失敗 / 採点", "failed / graded"),
                                                          Text("失敗率", "failure rate")))
    return (f"{title}{figure}<details><summary>{esc(both(Text('表で見る', 'as a table')))}</summary>"
            f"<table><tr>{head}</tr>{rows}</table></details>")


def mistakes_section(a: AssignmentReport, language: str) -> str:
    """The class's common mistakes, task by task: the grader's message, who got it, on which checks."""
    title = f"<h3>{esc(both(Text('よくある間違い (採点器のメッセージ)', 'common mistakes (the grader’s messages)')))}</h3>"
    if not a.mistakes:
        return title + f"<p>{esc(both(Text('ありません。', 'none.')))}</p>"
    labels = {check.name: check.label(language) for check in a.checks}
    rows = []
    for subject in dict.fromkeys(m.subject for m in a.mistakes):
        mistakes = [m for m in a.mistakes if m.subject == subject]
        shown = mistakes[:MISTAKES_SHOWN]
        more = (f'<div class="meta">{esc(both(Text(f"ほか {len(mistakes) - len(shown)} 件", f"{len(mistakes) - len(shown)} more")))}</div>'
                if len(mistakes) > len(shown) else "")
        for index, m in enumerate(shown):
            task = (f'<td rowspan="{len(shown)}"><code>{esc(subject)}</code>{more}</td>' if index == 0 else "")
            checks = "".join(f"<li>{esc(labels.get(name, name))}</li>" for name in m.checks)
            rows.append(
                f'<tr>{task}<td><pre class="message">{esc(m.message)}</pre></td>'
                f'<td class="number">{esc(both(counted(len(m.students), "人", "student")))}'
                f'<div class="meta">{esc(", ".join(m.students))}</div></td>'
                f"<td><details><summary>{esc(both(counted(len(m.checks), '個', 'check')))}</summary>"
                f"<ul>{checks}</ul></details></td></tr>")
    head = "".join(f"<th>{esc(both(t))}</th>" for t in (Text("課題の関数", "task"), Text("メッセージ", "message"),
                                                          Text("学生", "students"), Text("チェック", "checks")))
    note = esc(both(Text("数値だけが違うメッセージは同じ間違いとして数えます。",
                         "Messages that differ only in their numbers count as one mistake.")))
    return f'{title}<table><tr>{head}</tr>{"".join(rows)}</table><p class="meta">{note}</p>'


def students_section(a: AssignmentReport) -> str:
    title = f"<h3>{esc(both(Text('学生ごとの点数と採点時間', 'score and grading time per student')))}</h3>"
    figure = (image(grading_times(a), Text("学生ごとの採点時間", "grading time per student"))
              if any(s.grader_seconds is not None or s.kernel_seconds is not None for s in a.students) else "")
    kernel = any(s.kernel_seconds is not None for s in a.students)   # autograde ran the notebooks
    columns = [Text("学生", "student"), Text("状態", "status"),
               Text(f"点数 (/{a.max_score:g})", f"score (/{a.max_score:g})"), Text("失敗したチェック", "checks failed"),
               *([Text("ノートブック実行 (秒)", "notebook run (s)")] if kernel else []), Text("採点器 (秒)", "grader (s)")]
    rows = "".join(
        f"<tr><td>{esc(s.student)}</td>{status_cell(s)}"
        f'<td class="number">{number(s.score, 2)}</td><td class="number">{len(s.failed)} / {len(s.checks)}</td>'
        + (f'<td class="number">{number(s.kernel_seconds)}</td>' if kernel else "")
        + f'<td class="number">{number(s.grader_seconds)}</td></tr>'
        for s in a.students)
    head = "".join(f"<th>{esc(both(t))}</th>" for t in columns)
    return f"{title}{figure}<table><tr>{head}</tr>{rows}</table>"


def assignment_section(a: AssignmentReport, language: str) -> str:
    scores = a.scores
    stats = both(Text(
        f"受験者 {len(a.students)} 人、採点 {len(scores)} 人、満点 {sum(s >= a.max_score for s in scores)} 人",
        f"{len(a.students)} students, {len(scores)} graded, {sum(s >= a.max_score for s in scores)} with full marks"))
    histogram = (image(score_histogram(a), Text("点数の分布", "score distribution")) if scores
                 else f"<p>{esc(both(Text('採点された提出がありません。', 'no graded submissions.')))}</p>")
    return (f'<section id="{esc(a.id)}"><h2>{esc(a.id)}{" — " + esc(a.title) if a.title else ""}</h2>'
            f'<p>{esc(stats)}</p>'
            f"<h3>{esc(both(Text('点数の分布', 'score distribution')))}</h3>{histogram}"
            f"{attention_section(a)}{checks_section(a, language)}{mistakes_section(a, language)}"
            f"{students_section(a)}</section>")


def render_html(report: ClassReport, language: str) -> str:
    """The whole page (``language``: that of the check names; the page's own words are in both)."""
    title = both(Text("クラスレポート", "class report"))
    generated = report.generated.strftime("%Y-%m-%d %H:%M %Z")
    course = Text(f"コース {report.course_id}、", f"course {report.course_id}, ") if report.course_id else Text("", "")
    meta = both(course + Text(f"{report.course} の成績データベースと採点済みノートブックから、{generated} 作成",
                              f"from the gradebook and the autograded notebooks in {report.course}, made {generated}"))
    note = both(Text("点数は成績データベースのもの (遅延減点の前)。失敗率 = そのチェックで点を失った学生 / そのチェックで採点された学生。",
                     "Scores are the gradebook's, before late penalties. Failure rate = students who lost points on"
                     " the check / students graded on it."))
    body = "".join(assignment_section(a, language) for a in report.assignments)
    return (f'<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)} — {esc(report.course_id)}</title><style>{CSS}</style></head>"
            f"<body><h1>{esc(title)}</h1><p class=\"meta\">{esc(meta)}</p>{summary_table(report)}"
            f'<p class="meta">{esc(note)}</p>{body}</body></html>\n')


def csv_rows(report: ClassReport) -> list[dict[str, str]]:
    """The CSV's rows (the package's ``CSV_FIELDS``), one per assignment and student."""
    return [{
        "assignment": s.assignment, "student": s.student, "status": s.status,
        "score": "" if s.score is None else f"{s.score:g}", "max_score": f"{s.max_score:g}",
        "checks": str(len(s.checks)), "checks_failed": str(len(s.failed)),
        "grader_seconds": "" if s.grader_seconds is None else f"{s.grader_seconds:.2f}",
        "kernel_seconds": "" if s.kernel_seconds is None else f"{s.kernel_seconds:.2f}",
        "failed_checks": "\n".join(check.name for check in s.failed),
        "detail": "\n".join(both(p.text) for p in s.problems),
    } for a in report.assignments for s in a.students]

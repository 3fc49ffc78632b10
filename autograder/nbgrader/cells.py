"""Grade cells of the course notebooks (``assignments/``): one call, two places it is decided.

A grade cell of a course notebook is one line::

    grade_cell("one_hot", points=3)          # contract functions and variant ids, as for --only

- In the student's kernel (working, or ``nbgrader validate``) it runs the grader on the notebook's
  folder in a separate process (``python -I -m autograder.cli``; the student's code only ever runs
  in the grader's sandboxed workers), prints every check's verdict, and returns the points earned
  on the public checks, which nbgrader reads as the cell's partial credit.
- Under ``nbgrader autograde`` the kernel is not trusted: anything in it — a notebook cell, an
  import of the student's package — can monkeypatch this function, ``subprocess`` or the display
  hook. So here the call only prints a note and returns 0, and the score is written afterwards,
  outside the kernel, by ``autograder.nbgrader.preprocessors.IsolatedGrades``: it reads the same call
  from the grade cell's source (which nbgrader restores from the gradebook), runs the grader
  with the hidden checks, and replaces the cell's outputs with the grader's verdicts and points.

Nothing here writes to stderr: in nbgrader any stderr output in a grade cell scores it zero.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from autograder.feedback.page import fragment
from autograder.feedback import render
from autograder.sandbox.jail import SandboxMode
from autograder.protocol import subject_of_item
from autograder.secret import CourseSecret
from mnist_kit.i18n import LANGUAGES, in_language

CALL = "grade_cell"
# The course's notebooks are Japanese handouts: their grade cells answer in Japanese unless
# MNIST_TASKS_LANG says otherwise (elsewhere the kit's default is mnist_kit.i18n.DEFAULT_LANGUAGE).
NOTEBOOK_LANGUAGE = "ja"
GRADER_TIMEOUT = 1800  # seconds for one grader run; the whole course grades in a few minutes


class GraderError(RuntimeError):
    """The grader could not run (bad request, missing MNIST, …): not the student's doing."""


class GraderTimeout(GraderError):
    pass


# Beside the text a person reads, each autograded grade cell carries the grader's results for its
# tasks as data, under this MIME type: nbgrader scores the cell from its text/plain result and
# ignores it; nbconvert's HTML shows text/plain; the class report (mnist_course.report) reads it.
CELL_RESULTS_MIME = "application/vnd.mnist-tasks.cell-results+json"


class CellResults(TypedDict):
    items: list[str]            # the grade cell's tasks, as grade_cell(...) names them
    points: float               # the cell's points (the notebook's metadata)
    earned: float
    failure: str | None         # why the grader could not grade (a timeout), else None
    seconds: float | None       # the grader's time for the whole notebook
    tests: list[dict]           # results.json's tests of these tasks (name, title, subject, score, ...), their
                                # title and output in the cell's language, and in every language under "languages"
    incidents: list[dict]       # the notebook's grading: probes that hung, crashed, tampered... (protocol.Incident)


@dataclass(frozen=True)
class Request:
    items: tuple[str, ...]     # what to grade, as given to --only
    points: float | None       # the points the call states (the notebook's metadata decides in nbgrader)


def run_grader(directory: Path, items, *, secret: CourseSecret | None, language: str,
               timeout: float = GRADER_TIMEOUT, sandbox: SandboxMode | None = None,
               training_memo: Path | None | bool = True, fork_server=None) -> dict:
    """Grade ``items`` of the ``mnist_tasks`` in ``directory``; return Gradescope's results dict, its
    words in ``language`` and in every language (``autograder.feedback.report.gradescope``: what it grades
    does not depend on the language, and ``tests_of``/``summarize`` present it in any).
    With the course's ``secret`` the hidden checks run too; without, the public checks alone.
    ``sandbox``: ``mnist-grade --sandbox`` (None: its default, ``$MNIST_SANDBOX`` or bwrap).
    ``training_memo``: the memo's folder (``--training-memo``); True: mnist-grade's default; False: none.
    ``fork_server``: an ``autograder.sandbox.forkbox.BoxedForkServer`` this process owns, lent to the grader
    for this grading (boxed workers forked, not started).

    The grader runs isolated (``-I``: neither the submission's folder nor PYTHONPATH is on its
    path) from a temporary working directory, its output captured; the secret reaches it on stdin.
    """
    directory = Path(directory).resolve()
    with tempfile.TemporaryDirectory(prefix="mnist-grade-cell-") as temporary:
        output = Path(temporary) / "results.json"
        command = [sys.executable, "-I", "-m", "autograder.cli", str(directory), "--only", ",".join(items),
                   "--json", str(output), "--lang", language]
        command.append("--secret-stdin" if secret is not None else "--public-only")
        if sandbox is not None:
            command += ["--sandbox", sandbox]
        if training_memo is False:
            command.append("--no-training-memo")
        elif training_memo is not True and training_memo is not None:
            command += ["--training-memo", str(training_memo)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        lent: tuple[int, ...] = ()
        if fork_server is not None and fork_server.alive():
            server_env, server_fd = fork_server.attach_spec()
            env.update(server_env)
            lent = (server_fd,)
        try:
            completed = subprocess.run(command, cwd=temporary, env=env, capture_output=True, text=True,
                                       timeout=timeout, input=f"{secret.token}\n" if secret is not None else "",
                                       pass_fds=lent)
        except subprocess.TimeoutExpired:
            raise GraderTimeout(f"grading {','.join(items)} took longer than {timeout:g} s") from None
        if completed.returncode != 0 or not output.is_file():
            raise GraderError(f"the grader failed (exit {completed.returncode}): "
                              f"{(completed.stderr or completed.stdout).strip()[-2000:]}")
        return json.loads(output.read_text(encoding="utf-8"))


def warm_results(directory: Path, items, language: str) -> dict | None:
    """What ``run_grader`` returns for a self-check of ``items`` (public checks), from this user's warm
    grader (``autograder.warm``); None where there is none to ask: then ``run_grader`` grades.
    The grading is the one mnist-grade would do here: the sandbox ``$MNIST_SANDBOX`` says (else a
    box where one can be made), the training memo of a grading outside any course."""
    from autograder.training import memo
    from autograder.feedback import report
    from autograder.warm import client

    sandbox = os.environ.get("MNIST_SANDBOX") or None
    if sandbox not in (None, "bwrap", "none"):
        return None   # mnist-grade refuses it, in words of its own
    graded = client.grade(directory, only=list(items), sandbox=sandbox, memo=memo.default_folder())
    return report.gradescope(graded, language) if graded is not None else None


def tests_of(results: dict | None, items, language: str) -> list[dict]:
    """The results.json tests of the grade cell's ``items`` (contract functions, variant ids), their
    title, message and diagnosis in ``language`` whatever language the results were graded in (their
    HTML "output", in the graded language and with figures, stays out: the cell renders its own)."""
    subjects = {subject_of_item(item) for item in items}
    return [{key: value for key, value in in_language(t, language).items() if key != "output"}
            for t in (results or {}).get("tests", []) if t.get("subject") in subjects]


def verdict_of(test: dict, language: str) -> render.Verdict:
    """A results.json test (``tests_of``) as people read it."""
    return render.Verdict(test.get("title") or test["name"], test["score"], test["max_score"],
                          test.get("message") or "", english=test["name"] if language == "ja" else None,
                          subject=test.get("subject"), diagnosis=test.get("diagnosis"), exhibit=test.get("exhibit"))


@dataclass(frozen=True)
class CellFeedback:
    """What a grade cell shows: the same verdicts as text and as HTML (``autograder.feedback.page``)."""
    text: str
    html: str
    earned: float


def present(results: dict | None, items, points: float, language: str, *, public_only: bool = False,
            failure: str | None = None) -> CellFeedback:
    """The cell's feedback in ``language`` and its points: ``points`` × earned / possible."""
    points = float(points)
    tests = tests_of(results, items, language)
    verdicts, notes = [], []
    if failure is not None or not tests:
        reason = failure or render.say("nothing_to_grade", language)
        notes.append(render.say("could_not_grade", language, reason=reason))
        earned = 0.0
    else:
        score = sum(t["score"] for t in tests)
        possible = sum(t["max_score"] for t in tests)
        earned = min(points, round(points * score / possible, 2)) if possible else 0.0
        verdicts = [verdict_of(t, language) for t in tests]
        extra = (results or {}).get("extra_data", {})
        mode = extra.get("sandbox")
        if mode in ("bwrap", "none") and not public_only:   # the feedback says how it was graded; the total stays last
            notes.append(render.say(f"sandbox_{mode}", language))
        elif public_only and extra.get("sandbox_missing"):   # a self-check where no box can be made (Colab)
            notes.append(render.say("no_sandbox", language, reason=extra["sandbox_missing"]))
        notes.append(render.say("cell_total", language, score=score, possible=possible, earned=earned, points=points))
    if public_only:
        notes.append(render.say("public_only", language))
    text = "\n".join([*render.block(verdicts, language), *notes])
    html = fragment(verdicts, (results or {}).get("figures") or {}, language, notes)
    return CellFeedback(text, html, earned)


def summarize(results: dict | None, items, points: float, language: str, *, public_only: bool = False,
              failure: str | None = None) -> tuple[str, float]:
    """The cell's text (``autograder.feedback.render``'s lines) in ``language`` and its points (``present``)."""
    shown = present(results, items, points, language, public_only=public_only, failure=failure)
    return shown.text, shown.earned


def show(shown: CellFeedback) -> None:
    """In a notebook, the HTML (its text beside it, for nbconvert's text outputs); elsewhere the text."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(shown.text)
        return
    display({"text/plain": shown.text, "text/html": shown.html}, raw=True)


def grade_cell(*items: str, points: float) -> float:
    """Grade ``items`` of this folder's ``mnist_tasks`` (public checks); print verdicts, return points."""
    language = os.environ.get("MNIST_TASKS_LANG", NOTEBOOK_LANGUAGE)
    language = language if language in LANGUAGES else NOTEBOOK_LANGUAGE
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        print(render.CATALOGUE["autograding"].both())
        return 0.0
    try:
        results = warm_results(Path.cwd(), items, language)
        if results is None:
            results = run_grader(Path.cwd(), items, secret=None, language=language)
        shown = present(results, items, points, language, public_only=True)
    except GraderError as error:
        shown = present(None, items, points, language, failure=str(error))
    show(shown)
    return shown.earned


def requested(source: str) -> Request | None:
    """The ``grade_cell(...)`` call of a grade cell's source, or None when it has none.

    Only literal arguments count; a call that is not literal is an error, so that a notebook
    author notices (the trusted side never evaluates the cell's code).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and ((isinstance(node.func, ast.Name) and node.func.id == CALL)
                  or (isinstance(node.func, ast.Attribute) and node.func.attr == CALL))]
    if not calls:
        return None
    if len(calls) > 1:
        raise ValueError(f"one {CALL}(...) per grade cell, found {len(calls)}")
    call = calls[0]
    if not call.args or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args):
        raise ValueError(f"{CALL}(...) takes the tasks as string literals: {ast.unparse(call)}")
    points = None
    for keyword in call.keywords:
        if keyword.arg == "points" and isinstance(keyword.value, ast.Constant):
            points = float(keyword.value.value)
    return Request(tuple(a.value for a in call.args), points)

"""``pytest autograder/``: the grader's checks as pytest tests, for students and instructors.

    pytest autograder/                          # grade ./mnist_tasks (the package beside autograder/)
    pytest autograder/ --submission solutions   # the instructor's self-check: full marks
    pytest autograder/ -k one_hot               # exactly the checks of one task

In the kit's checkout this is the package's own conftest. In an assignment folder (as nbgrader
releases it, or a copy of it on Colab) there is an ``autograder/`` folder with one test file, and
the folder's ``pytest.ini`` loads this module as a plugin with ``--notebook``: then only the tasks
of that notebook's grade cells are graded, and the points are the notebook's.

The submission is graded once per session, in the sandbox; each check becomes one test whose
failure shows the grader's verdict (``autograder.feedback.render``), not pytest's introspection. Test ids
are ``<task>:<n>`` (``one_hot:3``, ``variant_D:2``): ``-k one_hot`` selects exactly one_hot's
checks. Hidden checks run only with ``--hidden``, and only where the course's secret is
(``autograder.secret``: ``--course DIR``, or the nbgrader course around the current directory);
elsewhere ``--hidden`` is refused. The last line of the run gives the points.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.feedback import render
from mnist_kit.i18n import current_language

HERE = Path(__file__).resolve().parent


def pytest_addoption(parser):
    group = parser.getgroup("mnist-grade", "mnist-tasks autograder")
    group.addoption("--submission", default=str(HERE.parent),
                    help="directory containing the mnist_tasks/ to grade (default: the one beside autograder/)")
    group.addoption("--notebook", default=None,
                    help="grade only the tasks of this notebook's grade cells, with its points (assignment folders)")
    group.addoption("--hidden", action="store_true",
                    help="also run the hidden checks (instructors: needs the course's secret)")
    group.addoption("--course", default=None,
                    help="the nbgrader course whose secret chooses the hidden inputs "
                         "(default: the course around the current directory)")
    group.addoption("--lang", choices=("ja", "en"), default=None, help="language of the messages")
    group.addoption("--no-training-memo", action="store_true",
                    help="train every model again instead of recalling the grader's earlier trainings")


def pytest_configure(config):
    config._mnist_secret = None
    if not config.getoption("--hidden", default=False):
        return
    from autograder import secret as course_secret

    try:
        config._mnist_secret = course_secret.for_course(course_secret.course_of(config.getoption("--course")))
    except course_secret.MissingSecret as error:
        raise pytest.UsageError(error.text.get(current_language(config.getoption("--lang")))) from None


def grade_cells(config) -> list[tuple[tuple[str, ...], float]]:
    """The notebook's grade cells as (tasks, points); empty without ``--notebook``."""
    notebook = config.getoption("--notebook")
    if not notebook:
        return []
    import json

    from autograder.nbgrader.cells import requested

    path = Path(config.rootpath) / notebook
    cells = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell.get("source", []))
        request = requested(source) if cell.get("cell_type") == "code" and meta.get("grade") else None
        if request is not None:
            cells.append((request.items, float(meta.get("points", request.points or 0))))
    return cells


def _test_id(check, index: int) -> str:
    return f"{check.subject.replace(' ', '_')}:{index}"


def pytest_generate_tests(metafunc):
    if "check_name" not in metafunc.fixturenames:
        return
    from autograder.grade import select
    from autograder.protocol import subject_of_item

    checks = select(secret=metafunc.config._mnist_secret)
    cells = grade_cells(metafunc.config)
    if cells:
        subjects = {subject_of_item(item) for items, _ in cells for item in items}
        checks = [check for check in checks if check.subject in subjects]
    counts: dict[str, int] = {}
    ids = []
    for check in checks:
        counts[check.subject] = counts.get(check.subject, 0) + 1
        ids.append(_test_id(check, counts[check.subject]))
    metafunc.parametrize("check_name", [check.name for check in checks], ids=ids)


@pytest.hookimpl(trylast=True)  # after -k / -m have deselected items
def pytest_collection_modifyitems(session, config, items):
    # Remember which checks survived -k and friends, so only their probes and training run.
    config._mnist_selected = {item.callspec.params["check_name"] for item in items
                              if hasattr(item, "callspec") and "check_name" in item.callspec.params}


@pytest.fixture(scope="session")
def grading(request):
    from autograder import secret as course_secret

    from autograder.training import memo
    config = request.config
    training_memo = None if config.getoption("--no-training-memo") else \
        memo.for_grading(course_secret.course_of(config.getoption("--course")))
    report = None
    if config._mnist_secret is None:   # a self-check: this user's warm grader (autograder.warm), if any
        from autograder.warm import client

        report = client.grade(Path(config.getoption("--submission")), names=config._mnist_selected,
                              memo=training_memo.folder if training_memo is not None else None)
    if report is None:
        from autograder.grade import grade
        from mnist_kit.runtime import import_tensorflow_quietly

        import_tensorflow_quietly()
        report = grade(Path(config.getoption("--submission")), names=config._mnist_selected,
                       secret=config._mnist_secret, memo=training_memo)
    config._mnist_report = report
    return {result.name: result for result in report.results}


@pytest.fixture(scope="session")
def language(request):
    return current_language(request.config.getoption("--lang"))


def points(config, report) -> tuple[float, float]:
    """(earned, possible) of the selected checks: per grade cell as the notebook counts them, or
    the grader's own points without ``--notebook``."""
    from autograder.protocol import subject_of_item

    selected = [r for r in report.results if r.name in config._mnist_selected]
    cells = grade_cells(config)
    if not cells:
        return sum(r.score for r in selected), sum(r.max_score for r in selected)
    earned = possible = 0.0
    for items, cell_points in cells:
        subjects = {subject_of_item(item) for item in items}
        mine = [r for r in selected if r.subject in subjects]
        if mine:
            total = sum(r.max_score for r in mine)
            earned += min(cell_points, round(cell_points * sum(r.score for r in mine) / total, 2)) if total else 0.0
            possible += cell_points
    return round(earned, 2), possible


def pytest_unconfigure(config):
    # Here, not in pytest_terminal_summary: after pytest's own "N passed" line, so that the points
    # are the run's last words a student reads, with only the page that shows them in full after them.
    report = getattr(config, "_mnist_report", None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if report is None or reporter is None:
        return
    from autograder.grade import select
    from autograder.protocol import subject_of_item
    from autograder.secret import CourseSecret

    language = current_language(config.getoption("--lang"))
    cells = grade_cells(config)
    subjects = {subject_of_item(item) for items, _ in cells for item in items}
    # How many hidden checks grading adds: their number is the same under every secret, so a
    # throw-away one counts them (its inputs are never used).
    hidden = 0 if config._mnist_secret is not None else \
        len([c for c in select(secret=CourseSecret.generate()) if c.hidden and (not cells or c.subject in subjects)])
    selected = [r for r in report.results if r.name in config._mnist_selected]
    score, total = points(config, report)
    all_passed = all(r.score == r.max_score for r in selected)
    line = render.say("pytest_score", language, score=score, total=total)
    if all_passed:
        line += render.say("pytest_public_passed" if hidden else "pytest_all_passed", language)
    if hidden:
        line += render.say("pytest_hidden", language, hidden=hidden)
    reporter.write_sep("=", line, green=all_passed, red=not all_passed)
    if report.sandbox_missing is not None:
        reporter.write_line(render.say("no_sandbox", language, reason=report.sandbox_missing))
    written = write_feedback_page(config, report, selected, language, line)
    if written is not None:
        reporter.write_line(render.say("pytest_feedback_page", language, path=written))


FEEDBACK_PAGE = "mnist-feedback.html"


def write_feedback_page(config, report, selected, language: str, score_line: str) -> Path | None:
    """The run's verdicts with their figures, tables and charts (``autograder.feedback.page``), as one
    page in the assignment folder, for a browser; None where the folder cannot be written."""
    from autograder.feedback.page import page
    from autograder.feedback.report import verdict

    folder = Path(config.getoption("--submission")).resolve()
    if folder.name == "mnist_tasks":
        folder = folder.parent
    path = folder / FEEDBACK_PAGE
    text = page([verdict(r, language) for r in selected], report.figures, language,
                         "mnist-tasks: pytest autograder/", [score_line.strip()])
    try:
        if path.is_symlink():   # never written through a link someone left in the folder
            path.unlink()
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path

"""``pytest autograder/``: the grader's checks as pytest tests, for students and instructors.

    pytest autograder/                          # grade ./mnist_tasks (the package beside autograder/)
    pytest autograder/ --submission solutions   # the instructor's self-check: full marks
    pytest autograder/ -k one_hot               # only some checks (only those probes run)

The submission is graded once per session, in the sandbox; each check becomes one test whose
failure message is the grader's message. Hidden checks run only with ``--hidden``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import render
from mnist_kit.i18n import current_language

HERE = Path(__file__).resolve().parent


def pytest_addoption(parser):
    group = parser.getgroup("mnist-grade", "mnist-tasks autograder")
    group.addoption("--submission", default=str(HERE.parent),
                    help="directory containing the mnist_tasks/ to grade (default: the one beside autograder/)")
    group.addoption("--hidden", action="store_true", help="also run the hidden checks (instructors)")
    group.addoption("--lang", choices=("ja", "en"), default=None, help="language of the messages")


def pytest_generate_tests(metafunc):
    if "check_name" in metafunc.fixturenames:
        from autograder.grade import select

        names = [check.name for check in select(include_hidden=metafunc.config.getoption("--hidden"))]
        metafunc.parametrize("check_name", names, ids=names)


@pytest.hookimpl(trylast=True)  # after -k / -m have deselected items
def pytest_collection_modifyitems(session, config, items):
    # Remember which checks survived -k and friends, so only their probes and training run.
    config._mnist_selected = {item.callspec.params["check_name"] for item in items
                              if hasattr(item, "callspec") and "check_name" in item.callspec.params}


@pytest.fixture(scope="session")
def grading(request):
    from autograder.grade import grade
    from mnist_kit.runtime import import_tensorflow_quietly

    import_tensorflow_quietly()
    config = request.config
    report = grade(Path(config.getoption("--submission")), names=config._mnist_selected,
                   include_hidden=config.getoption("--hidden"))
    config._mnist_report = report
    return {result.name: result for result in report.results}


@pytest.fixture(scope="session")
def language(request):
    return current_language(request.config.getoption("--lang"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = getattr(config, "_mnist_report", None)
    if report is None:
        return
    from autograder.grade import select

    language = current_language(config.getoption("--lang"))
    hidden = 0 if config.getoption("--hidden") else len([c for c in select() if c.hidden])
    selected = [r for r in report.results if r.name in config._mnist_selected]
    score = sum(r.score for r in selected)
    total = sum(r.max_score for r in selected)
    all_passed = all(r.score == r.max_score for r in selected)
    line = render.say("pytest_score", language, score=score, total=total)
    if all_passed:
        line += render.say("pytest_public_passed" if hidden else "pytest_all_passed", language)
    if hidden:
        line += render.say("pytest_hidden", language, hidden=hidden)
    terminalreporter.write_sep("=", line, green=all_passed, red=not all_passed)

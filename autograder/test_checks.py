"""One pytest test per grader check; see conftest.py. The score is decided in the grader, not here."""

import pytest

from autograder.feedback import render
from autograder.feedback.report import verdict


def test_check(check_name, grading, language):
    shown = verdict(grading[check_name], language)
    if not shown.passed:
        # The grader's verdict as everywhere else (autograder.feedback.render), not pytest's introspection.
        # pytest reports each check apart: its diagnosis, if any, comes with it.
        diagnosis = render.diagnosis_lines(shown.diagnosis, language) if shown.diagnosis else []
        pytest.fail("\n".join([*diagnosis, *render.check_lines(shown)]), pytrace=False)

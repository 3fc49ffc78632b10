"""One pytest test per grader check; see conftest.py. The score is decided in the grader, not here."""

from autograder import render


def test_check(check_name, grading, language):
    result = grading[check_name]
    verdict = render.Verdict(result.name, result.score, result.max_score, result.message.get(language))
    assert verdict.passed, "\n".join(render.check_lines(verdict))

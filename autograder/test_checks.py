"""One pytest test per grader check; see conftest.py. The score is decided in the grader, not here."""


def test_check(check_name, grading, language):
    result = grading[check_name]
    message = result.message.get(language)
    assert result.score == result.max_score, f"{result.score:g}/{result.max_score:g} — {message}"

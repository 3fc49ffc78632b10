"""autograder.core: comparing arrays, and the verdict for a probe that returned nothing usable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder.core import OK, Evidence, Verdict, compare_arrays, failure_verdict, raises_value_error
from autograder.protocol import STATUSES
from mnist_kit.i18n import Text

# --- compare_arrays ------------------------------------------------------------------------------------------------

EXPECTED = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)


def test_equal_arrays_pass():
    assert compare_arrays(EXPECTED.copy(), EXPECTED) == Verdict.passed()


def test_values_within_the_tolerance_pass():
    assert compare_arrays(EXPECTED + 1e-4, EXPECTED, atol=1e-3).fraction == 1.0
    assert compare_arrays(EXPECTED + 1e-4, EXPECTED).fraction == 0.0


def test_a_wrong_shape_is_named_with_both_shapes():
    verdict = compare_arrays(EXPECTED.T, EXPECTED)
    assert verdict.fraction == 0.0
    assert "(3, 2)" in verdict.message.en and "(2, 3)" in verdict.message.en
    assert "(3, 2)" in verdict.message.ja and "(2, 3)" in verdict.message.ja


def test_a_shape_mismatch_is_reported_before_the_dtype():
    verdict = compare_arrays(np.zeros(3, dtype=np.int8), EXPECTED, exact_dtype=np.float32)
    assert "shape" in verdict.message.en


def test_a_wrong_dtype_names_both_dtypes():
    verdict = compare_arrays(EXPECTED.astype(np.float64), EXPECTED, exact_dtype="float32")
    assert verdict.fraction == 0.0
    assert verdict.message.en == "dtype float64, expected float32."
    assert "float64" in verdict.message.ja and "float32" in verdict.message.ja


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8])
def test_any_integer_dtype_passes_when_an_integer_is_asked_for(dtype):
    labels = np.array([3, 1, 4])
    assert compare_arrays(labels.astype(dtype), labels, integer_dtype=True).fraction == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.bool_])
def test_a_non_integer_dtype_fails_when_an_integer_is_asked_for(dtype):
    labels = np.array([1, 0, 1])
    verdict = compare_arrays(labels.astype(dtype), labels, integer_dtype=True)
    assert verdict.fraction == 0.0 and "integer" in verdict.message.en and "整数" in verdict.message.ja


@pytest.mark.parametrize("actual", [np.array(["a", "b"]), np.array([1, 2], dtype=object),
                                    np.array([1 + 0j, 2 + 0j])], ids=["str", "object", "complex"])
def test_non_numeric_arrays_fail_without_being_compared(actual):
    verdict = compare_arrays(actual, np.array([1.0, 2.0]))
    assert verdict.fraction == 0.0
    assert f"dtype {actual.dtype} is not numeric" in verdict.message.en


def test_the_first_differing_value_is_named_with_its_position_and_both_values():
    actual = EXPECTED.copy()
    actual[1, 2] = 7.0
    actual[0, 1] = 0.5      # earlier in reading order: this one is named
    verdict = compare_arrays(actual, EXPECTED)
    assert verdict.fraction == 0.0
    english = verdict.message.en
    assert english.startswith("2 of 6 values differ")
    assert "(0, 1)" in english and "0.5" in english and "1.0" in english
    assert "(0, 1)" in verdict.message.ja and "0.5" in verdict.message.ja


def test_nan_where_a_number_is_expected_differs():
    actual = EXPECTED.copy()
    actual[0, 0] = np.nan
    assert "nan" in compare_arrays(actual, EXPECTED).message.en


# --- failure_verdict -----------------------------------------------------------------------------------------------

# One outcome per status, with the details its producer sends; the details that must appear in
# both languages' messages (names, files, numbers), and words the English one must use.
OUTCOMES = {
    "error": ({"status": "error", "error_type": "ValueError", "message": "bad labels", "where": "preprocessing.py:12"},
              ["ValueError", "bad labels", "preprocessing.py:12"], ["raised"]),
    "not_implemented": ({"status": "not_implemented"}, ["NotImplementedError"], ["not implemented"]),
    "missing": ({"status": "missing", "task": "one_hot", "module": "preprocessing"},
                ["one_hot", "mnist_tasks/preprocessing.py"], ["missing"]),
    "unreadable": ({"status": "unreadable", "file": "mnist_tasks/models.py", "reason": "not_utf8", "bytes": 9,
                    "limit": 1 << 20}, ["mnist_tasks/models.py", "UTF-8"], ["not UTF-8"]),
    "import_error": ({"status": "import_error", "module": "training", "error_type": "SyntaxError",
                      "message": "invalid syntax", "where": "training.py:3"},
                     ["mnist_tasks/training.py", "SyntaxError", "invalid syntax", "training.py:3"],
                     ["could not be imported"]),
    "tampered": ({"status": "tampered", "changes": ["numpy.eye replaced"]}, ["numpy.eye replaced"], ["tampered"]),
    "too_large": ({"status": "too_large", "bytes": 80_000_000, "shape": [10_000, 2_000]},
                  ["80,000,000", "(10000, 2000)"], ["bytes"]),
    "timeout": ({"status": "timeout", "seconds": 30.0}, ["30"], ["30 s"]),
    "crashed": ({"status": "crashed", "message": "signal SIGKILL"}, ["signal SIGKILL"], ["process ended"]),
}


def test_every_status_but_ok_has_a_failure_case_here():
    # A status added to the protocol must get its own message and a case above.
    assert set(OUTCOMES) == STATUSES - {"ok"}


@pytest.mark.parametrize("status", sorted(OUTCOMES))
def test_every_failed_status_scores_zero_with_a_message_naming_the_problem_in_both_languages(status):
    result, details, english = OUTCOMES[status]
    verdict = failure_verdict(result, expected_type="numpy.ndarray")
    assert verdict is not None and verdict.fraction == 0.0
    for word in details + english:
        assert word in verdict.message.en
    for word in details:
        assert word in verdict.message.ja
    assert verdict.message.ja != verdict.message.en


@pytest.mark.parametrize("status", sorted(OUTCOMES))
def test_a_bare_outcome_of_every_status_still_fails(status):
    # What a truncated report would carry: the status alone.
    verdict = failure_verdict({"status": status})
    assert verdict is not None and verdict.fraction == 0.0 and verdict.message.en


def test_a_missing_function_that_is_not_callable_says_what_it_is():
    verdict = failure_verdict({"status": "missing", "task": "one_hot", "module": "preprocessing",
                               "not_callable": "int"})
    assert "is a int, not a function" in verdict.message.en and "def one_hot(...)" in verdict.message.en


def test_a_missing_module_says_so_instead_of_the_import_error():
    verdict = failure_verdict({"status": "import_error", "module": "plots", "error_type": "ModuleNotFoundError",
                               "missing_module": "mnist_tasks.plots", "message": "No module named 'mnist_tasks.plots'"})
    assert verdict.message.en == "mnist_tasks/plots.py is missing; none of its functions can be graded."


@pytest.mark.parametrize("reason, words", [("too_large", ["2,000,000 bytes", "1,048,576"]),
                                           ("not_a_file", ["not a regular file"])])
def test_each_unreadable_reason_has_its_own_message(reason, words):
    verdict = failure_verdict({"status": "unreadable", "file": "mnist_tasks/models.py", "reason": reason,
                               "bytes": 2_000_000, "limit": 1 << 20})
    assert all(word in verdict.message.en for word in words)


def test_a_repeated_tampering_says_the_check_was_not_run():
    verdict = failure_verdict({"status": "tampered", "changes": ["x"], "repeated": True})
    assert verdict.message.en.startswith("not run")


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt"])
def test_exiting_instead_of_returning_gets_a_hint(kind):
    verdict = failure_verdict({"status": "error", "error_type": kind, "message": "0"})
    assert "return a value instead" in verdict.message.en and "return" in verdict.message.ja


def test_an_unknown_status_fails_and_is_named():
    verdict = failure_verdict({"status": "exploded"})
    assert verdict.fraction == 0.0 and "exploded" in verdict.message.en and "exploded" in verdict.message.ja


def test_ok_with_the_wrong_type_names_actual_and_expected():
    verdict = failure_verdict({"status": "ok", "type": "builtins.list"}, expected_type="numpy.ndarray")
    assert verdict.fraction == 0.0
    assert verdict.message.en == "returned a builtins.list, expected a numpy.ndarray."
    assert "builtins.list" in verdict.message.ja and "numpy.ndarray" in verdict.message.ja


def test_ok_with_an_object_array_says_so():
    verdict = failure_verdict({"status": "ok", "type": "numpy.ndarray", "object_dtype": True},
                              expected_type="keras.Model")
    assert "numpy.ndarray (dtype=object)" in verdict.message.en


@pytest.mark.parametrize("expected_type", ["numpy.ndarray", None])
def test_ok_with_the_right_type_or_no_type_asked_is_no_failure(expected_type):
    assert failure_verdict({"status": "ok", "type": "numpy.ndarray"}, expected_type) is None


def test_a_passed_verdict_says_ok():
    assert Verdict.passed() == Verdict(1.0, OK)


# --- raises_value_error --------------------------------------------------------------------------------------------

VALID = ("valid", Text("正しいラベル", "valid labels"))
CASE = Text("ラベル 10", "label 10")
RULE = Text("範囲外だけ。", "only out of range.")
RAISED_VALUE_ERROR = {"status": "error", "error_type": "ValueError", "message": "bad",
                      "error_builtins": ["ValueError", "Exception", "BaseException"]}


def _promise(invalid: dict, valid: dict | None = None, hint: Text | None = None) -> Verdict:
    evidence = Evidence({"valid": valid or {"status": "ok"}, "invalid": invalid}, Path("."))
    return raises_value_error(evidence, VALID, [("invalid", CASE, hint)], RULE)


def test_a_value_error_for_the_wrong_input_and_none_for_the_right_one_keeps_the_promise():
    assert _promise(RAISED_VALUE_ERROR).fraction == 1.0


def test_a_subclass_of_value_error_keeps_the_promise():
    subclass = dict(RAISED_VALUE_ERROR, error_type="LabelError",
                    error_builtins=["ValueError", "Exception", "BaseException"])
    assert _promise(subclass).fraction == 1.0


def test_a_class_of_its_own_named_value_error_does_not():
    # The worker reads the error's real classes: the name alone is the student's to choose.
    impostor = dict(RAISED_VALUE_ERROR, error_builtins=["Exception", "BaseException"])
    verdict = _promise(impostor)
    assert verdict.fraction == 0.0 and "a class of its own named ValueError" in verdict.message.en
    assert "ValueError" in verdict.message.ja


def test_another_error_is_named_with_where_it_was_raised():
    verdict = _promise({"status": "error", "error_type": "IndexError", "message": "index 10 is out of bounds",
                        "where": "preprocessing.py:9", "error_builtins": ["IndexError", "LookupError"]})
    assert verdict.fraction == 0.0
    assert "label 10: raised IndexError (preprocessing.py:9), expected a ValueError. only out of range." \
        == verdict.message.en
    assert "IndexError" in verdict.message.ja and "preprocessing.py:9" in verdict.message.ja


def test_returning_normally_fails_with_the_hint_when_there_is_one():
    assert _promise({"status": "ok"}).message.en == "label 10: returned normally, expected a ValueError. only out of range."
    hint = Text("負の添字。", "negative index.")
    assert _promise({"status": "ok"}, hint=hint).message.en.endswith("expected a ValueError. negative index.")


def test_raising_for_the_right_input_too_keeps_no_promise():
    # A function that raises whatever it is given would otherwise pass.
    verdict = _promise(RAISED_VALUE_ERROR, valid=dict(RAISED_VALUE_ERROR, where="preprocessing.py:3"))
    assert verdict.fraction == 0.0
    assert verdict.message.en == "raised ValueError (preprocessing.py:3) for valid labels too: only out of range."


def test_a_stub_is_not_implemented_whichever_probe_is_read():
    stub = {"status": "not_implemented", "error_type": "NotImplementedError"}
    assert "not implemented yet" in _promise(stub, valid=stub).message.en
    assert "not implemented yet" in _promise(stub).message.en


def test_a_wrong_input_that_timed_out_says_which_input():
    verdict = _promise({"status": "timeout", "seconds": 30.0})
    assert verdict.fraction == 0.0 and verdict.message.en.startswith("label 10: did not finish within 30 s")

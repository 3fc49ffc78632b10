"""One grading, whatever the language: results.json carries every message in both languages, the
results cache's key holds none, and a grade cell presents a cached grading in the language it is
asked for (issue #29: `mnist-course autograde --lang en` graded every student twice)."""

from __future__ import annotations

import json

import pytest

from autograder import grade
from autograder.training import cache
from autograder.nbgrader import cells as notebook
from autograder.nbgrader.cells import CELL_RESULTS_MIME, summarize
from autograder.feedback.report import gradescope
from mnist_kit.i18n import Text, in_language

DTYPE = Text("dtype が float64 です。float32 にします。", "dtype float64, expected float32.")


def report() -> grade.Report:
    return grade.Report([
        grade.TestResult("one_hot: dtype", "one_hot", 0.0, 1.0, DTYPE, hidden=False,
                         title=Text("one_hot: データ型", "one_hot: dtype")),
        grade.TestResult("one_hot: shape", "one_hot", 1.0, 1.0, Text("OK", "OK"), hidden=True,
                         title=Text("one_hot: 形", "one_hot: shape")),
    ], seconds=1.5, submission="x")


def test_results_json_keeps_its_fields_in_the_language_asked_and_adds_both_languages():
    results = gradescope(report(), "ja")
    assert results["output"] == "合計 1 / 2 点 (1.5 秒)"
    assert results["languages"] == {"ja": {"output": "合計 1 / 2 点 (1.5 秒)"},
                                    "en": {"output": "total 1 / 2 points (1.5 s)"}}
    first = results["tests"][0]
    assert (first["name"], first["title"], first["message"]) == ("one_hot: dtype", "one_hot: データ型", DTYPE.ja)
    # Gradescope's output: HTML in the language asked (autograder.feedback.page), its words escaped there.
    assert first["output_format"] == "html" and DTYPE.ja in first["output"] and "<li class=\"failed\">" in first["output"]
    assert first["languages"] == {"ja": {"title": "one_hot: データ型", "message": DTYPE.ja},
                                  "en": {"title": "one_hot: dtype", "message": DTYPE.en}}
    english = gradescope(report(), "en")
    assert (english["output"], english["tests"][0]["title"], english["tests"][0]["message"]) == \
        ("total 1 / 2 points (1.5 s)", "one_hot: dtype", DTYPE.en)
    assert DTYPE.en in english["tests"][0]["output"] and DTYPE.ja not in english["tests"][0]["output"]
    # Only the requested language's fields differ: the same grading, said in the other language.
    assert in_language(results, "en")["output"] == english["output"]
    assert [{k: v for k, v in in_language(t, "en").items() if k != "output"} for t in results["tests"]] == \
        [{k: v for k, v in t.items() if k != "output"} for t in english["tests"]]


@pytest.mark.parametrize("graded_in", ["ja", "en"])
def test_a_grading_in_either_language_renders_in_both(graded_in):
    results = json.loads(json.dumps(gradescope(report(), graded_in)))   # as the cache keeps it
    ja, earned_ja = summarize(results, ["one_hot"], 3, "ja")
    en, earned_en = summarize(results, ["one_hot"], 3, "en")
    assert DTYPE.ja in ja and "one_hot: データ型" in ja and "→ この問題 1.5 / 3 点" in ja and DTYPE.en not in ja
    assert DTYPE.en in en and "→ this cell 1.5 / 3 points" in en and "データ型" not in en and DTYPE.ja not in en
    assert earned_ja == earned_en == 1.5
    assert [t["title"] for t in notebook.tests_of(results, ["one_hot"], "ja")] == ["one_hot: データ型", "one_hot: 形"]
    assert [t["message"] for t in notebook.tests_of(results, ["one_hot"], "en")] == [DTYPE.en, "OK"]
    # The HTML the cell shows beside its text: the same words, in the language asked.
    html = notebook.present(results, ["one_hot"], 3, "en").html
    assert DTYPE.en in html and "→ this cell 1.5 / 3 points" in html and DTYPE.ja not in html


def test_a_record_without_every_language_is_presented_as_it_is():
    test = {"name": "one_hot: dtype", "title": "one_hot: データ型", "output": DTYPE.ja}
    assert in_language(test, "en") == test


def test_the_cache_key_is_that_of_the_files_tasks_and_secret_only():
    from tests.submissions import TEST_SECRET

    files = {"preprocessing.py": b"x"}
    key = cache.key_of(files, ["one_hot"], TEST_SECRET)
    assert key == cache.key_of(dict(files), ["one_hot"], TEST_SECRET)
    assert key != cache.key_of({"preprocessing.py": b"y"}, ["one_hot"], TEST_SECRET)
    assert key != cache.key_of(files, ["one_hot", "normalize"], TEST_SECRET)


def test_nbgrader_autograde_in_either_language_reads_the_one_cached_grading(tmp_path, monkeypatch):
    """IsolatedGrades, configured in Japanese or English, takes a grading cached in English from the
    cache (no grader runs) and writes the grade cell in its own language."""
    from nbformat.v4 import new_code_cell, new_notebook
    from traitlets.config import Config

    from autograder.nbgrader import preprocessors as nbgrader_plugin
    from tests.submissions import TEST_SECRET, course_with_secret

    root = course_with_secret(tmp_path / "course")
    folder = tmp_path / "submitted" / "ps1"
    (folder / "mnist_tasks").mkdir(parents=True)
    (folder / "mnist_tasks" / "preprocessing.py").write_text("def one_hot(labels):\n    ...\n", encoding="utf-8")
    cache_dir = tmp_path / "cache"
    cache.store(cache_dir, cache.cache_key(folder, ["one_hot"], TEST_SECRET), gradescope(report(), "en"))

    def graded_again(*args, **kwargs):
        raise AssertionError("graded again instead of read from the cache")

    monkeypatch.setattr(nbgrader_plugin, "run_grader", graded_again)
    cell = new_code_cell('from autograder.nbgrader.cells import grade_cell\ngrade_cell("one_hot", points=3)')
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "one_hot", "points": 3, "locked": True,
                                 "solution": False, "task": False, "schema_version": 3}
    written = {}
    for language in ("ja", "en"):
        config = Config({"CourseDirectory": {"root": str(root)},
                         "IsolatedGrades": {"language": language, "cache_dir": str(cache_dir)}})
        graded, _ = nbgrader_plugin.IsolatedGrades(config=config).preprocess(
            new_notebook(cells=[cell.copy()]), {"metadata": {"path": str(folder)}})
        shown, result = graded.cells[0].outputs
        assert shown.output_type == "display_data" and DTYPE.get(language) in shown.data["text/html"]
        written[language] = shown.data["text/plain"]
        data = result.data[CELL_RESULTS_MIME]
        assert result.data["text/plain"] == "1.5" and data["earned"] == 1.5
        assert data["tests"][0]["message"] == DTYPE.get(language)
    assert DTYPE.ja in written["ja"] and "→ この問題 1.5 / 3 点" in written["ja"]
    assert DTYPE.en in written["en"] and "→ this cell 1.5 / 3 points" in written["en"]
    assert len(list(cache_dir.glob("*.json"))) == 1


def test_a_self_check_where_no_box_can_be_made_says_so_in_its_cell():
    """As on Colab (no bwrap): the cell says the code ran unboxed, and why, above its total."""
    unboxed = report()
    unboxed.sandbox, unboxed.sandbox_missing = "none", "bwrap: command not found"
    results = json.loads(json.dumps(gradescope(unboxed, "en")))
    assert results["extra_data"]["sandbox_missing"] == "bwrap: command not found"
    text = notebook.present(results, ["one_hot"], 3, "en", public_only=True).text.splitlines()
    assert "(ran without a sandbox: bwrap: command not found; fine for checking your own code)" in text
    assert text.index("(ran without a sandbox: bwrap: command not found; fine for checking your own code)") < \
        [i for i, line in enumerate(text) if "this cell" in line][0]
    boxed = json.loads(json.dumps(gradescope(report(), "en")))
    assert "without a sandbox" not in notebook.present(boxed, ["one_hot"], 3, "en", public_only=True).text

"""`mnist-grade` end to end: full marks for the reference, twice identical, Gradescope's format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from autograder.grade import select, subjects
from autograder.protocol import variant_subject
from mnist_kit.variants import VARIANTS
from tests.conftest import REPO
from tests.submissions import TEST_SECRET, course_with_secret

CONTRACT_FUNCTIONS = {"normalize", "flatten", "add_channel_axis", "one_hot", "labels_from_scores", "build_mlp",
                      "build_cnn", "choose_loss", "compile_model", "early_stopping", "plot_history",
                      "plot_predictions", "plot_first_layer_weights"}


def run_grade(tmp_path, *arguments, name="results.json"):
    output = tmp_path / name
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run([sys.executable, "-m", "autograder.cli", *arguments, "--json", str(output)],
                               capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    return completed, (json.loads(output.read_text(encoding="utf-8")) if output.exists() else None)


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reference")
    course = course_with_secret(directory / "course")
    return [run_grade(directory, "solutions", "--lang", "en", "--course", str(course), name=f"run{i}.json")
            for i in (1, 2)]


@pytest.mark.slow
@pytest.mark.command
def test_reference_scores_full_marks(reference_runs):
    completed, results = reference_runs[0]
    assert completed.returncode == 0, completed.stderr[-3000:]
    failed = [(t["name"], t["output"]) for t in results["tests"] if t["score"] != t["max_score"]]
    assert not failed
    assert results["score"] == results["max_score"] == sum(c.points for c in select(secret=TEST_SECRET))
    assert results["extra_data"]["hidden_inputs"] == TEST_SECRET.fingerprint
    assert any(t["visibility"] == "after_published" for t in results["tests"])   # the hidden checks ran
    assert completed.stderr.strip() == "", completed.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.command
def test_grading_twice_gives_identical_scores_and_accuracies(reference_runs):
    (_, first), (_, second) = reference_runs
    strip = lambda results: [(t["name"], t["score"], t["output"]) for t in results["tests"]]  # noqa: E731
    assert strip(first) == strip(second)
    accuracies = [t["output"] for t in first["tests"] if "test accuracy" in t["name"]]
    assert len(accuracies) == len(VARIANTS) and all(re.search(r"test accuracy 0\.\d{4}", a) for a in accuracies)


@pytest.mark.slow
@pytest.mark.command
def test_the_grader_trains_exactly_as_calibrated(reference_runs):
    # The thresholds were set from benchmarks/calibrate.py's runs; they mean something only if the
    # grader's training is that training. Same seed, same threads, same bits: same accuracy.
    # Bits are comparable only on the machine kind and library versions that calibrated.
    import importlib.util

    from autograder.training.retraining import GRADING_SEED

    spec = importlib.util.spec_from_file_location("calibrate", REPO / "benchmarks" / "calibrate.py")
    calibrate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(calibrate)
    calibration = json.loads((REPO / "benchmarks" / "calibration.json").read_text(encoding="utf-8"))
    here = {"machine": calibrate.machine(), **calibrate.versions()}
    there = {key: calibration.get(key) for key in here}
    if here != there:
        pytest.skip(f"calibrated on {there}, running on {here}: other float rounding")

    _, results = reference_runs[0]
    for variant in VARIANTS:
        output = next(t["output"] for t in results["tests"]
                      if t["subject"] == variant_subject(variant.id) and "test accuracy" in t["name"])
        graded = float(re.search(r"test accuracy (0\.\d{4})", output).group(1))
        assert graded == calibration["variants"][variant.id]["accuracies"][str(GRADING_SEED)], variant.id


@pytest.mark.slow
@pytest.mark.command
def test_every_variant_is_trained_and_checked(reference_runs):
    _, results = reference_runs[0]
    for variant in VARIANTS:
        names = [t["name"] for t in results["tests"] if t["subject"] == variant_subject(variant.id)]
        assert any("layers" in n for n in names) and any(f"{variant.params:,} parameters" in n for n in names)
        assert any("test accuracy" in n for n in names) and any("compile_model" in n for n in names)


@pytest.mark.command
def test_stubs_score_zero_and_the_command_still_exits_0(tmp_path):
    completed, results = run_grade(tmp_path, ".", "--lang", "ja", "--only", "one_hot,choose_loss,plot_history,D")
    assert completed.returncode == 0
    assert results["score"] == 0 and results["max_score"] > 0
    assert all("まだ実装されていません" in t["output"] for t in results["tests"])
    assert "合計 0 /" in completed.stdout


@pytest.mark.command
def test_gradescope_format_and_test_names(tmp_path):
    completed, results = run_grade(tmp_path, "solutions", "--lang", "en", "--only", "one_hot,labels_from_scores",
                                   "--course", str(course_with_secret(tmp_path / "course")))
    assert completed.returncode == 0
    assert set(results) >= {"score", "max_score", "tests"}
    for test in results["tests"]:
        assert set(test) >= {"name", "subject", "score", "max_score", "output", "visibility"}
        assert test["visibility"] in ("visible", "after_published")
        assert test["subject"] in {"one_hot", "labels_from_scores"} and test["name"].startswith(test["subject"] + ": ")
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}


def test_every_check_name_begins_with_its_function_or_variant():
    for check in select(secret=TEST_SECRET):
        # The name leads with the subject, for people; code reads the subject itself.
        assert check.subject in CONTRACT_FUNCTIONS or check.subject in {variant_subject(v.id) for v in VARIANTS}
        assert check.name.startswith(check.subject + ": "), check.name


def test_every_contract_function_and_variant_is_checked():
    covered = set(subjects())
    assert CONTRACT_FUNCTIONS <= covered   # the builders too, beyond their variants (autograder/checks/models.py)
    assert {variant_subject(v.id) for v in VARIANTS} <= covered
    names = " ".join(check.name for check in select())
    assert "build_cnn()" in names and "build_mlp(" in names and "compile_model(" in names


@pytest.mark.command
def test_unknown_subject_is_a_clear_error(tmp_path):
    completed, results = run_grade(tmp_path, "solutions", "--only", "one_hat")
    assert completed.returncode == 2 and results is None
    assert "unknown task or variant: one_hat" in completed.stderr


@pytest.mark.command
def test_hidden_checks_without_the_course_secret_are_refused(tmp_path):
    completed, results = run_grade(tmp_path, "solutions", "--hidden", "--only", "one_hot")
    assert completed.returncode == 2 and results is None
    assert "mnist-course secret" in completed.stderr and "--course" in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.command
def test_without_a_course_secret_the_public_checks_run_and_it_says_so(tmp_path):
    completed, results = run_grade(tmp_path, "solutions", "--lang", "en", "--only", "one_hot")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert results["extra_data"]["hidden_inputs"] is None
    assert {t["visibility"] for t in results["tests"]} == {"visible"}
    assert "hidden checks not run: no course secret" in completed.stdout

"""`pytest autograder/`: the students' self-check and the instructors' --submission solutions."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autograder.grade import select
from tests.conftest import REPO
from tests.roundtrip import wrong_package
from tests.submissions import TEST_SECRET, course_with_secret

# Everything but the trained-accuracy checks, to keep this quick; test_grader_command trains.
QUICK = "not accuracy"


def run_pytest(*arguments):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "pytest", "autograder/", "-q", "-p", "no:cacheprovider", *arguments],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=900)


@pytest.mark.command
def test_reference_passes_the_public_checks():
    result = run_pytest("--submission", "solutions", "-k", QUICK, "--lang", "en")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "public checks passed" in result.stdout and "hidden checks run at grading" in result.stdout
    assert "all tests passed" not in result.stdout


@pytest.mark.command
def test_instructor_run_with_hidden_checks_says_all_checks_passed(tmp_path):
    course = course_with_secret(tmp_path / "course")
    result = run_pytest("--submission", "solutions", "--hidden", "--course", str(course),
                        "-k", "not variant and (one_hot or normalize)", "--lang", "en")
    assert result.returncode == 0, result.stdout[-3000:]
    checks = select(only=["one_hot", "normalize"], secret=TEST_SECRET)
    expected = len([c for c in checks if "accuracy" not in c.name])
    hidden = len([c for c in checks if c.hidden])
    assert hidden > 0 and f"{expected} passed" in result.stdout
    assert "all checks passed" in result.stdout and "hidden checks run at grading" not in result.stdout


@pytest.mark.command
def test_stubs_fail_with_the_graders_message_in_japanese():
    result = run_pytest("-k", "one_hot or build_cnn", "--lang", "ja")
    assert result.returncode == 1
    assert "まだ実装されていません" in result.stdout and "採点: 0 /" in result.stdout
    assert "Traceback" not in result.stdout


@pytest.mark.command
def test_hidden_checks_without_the_course_secret_are_refused_with_what_to_do():
    result = run_pytest("--submission", "solutions", "--hidden", "-k", "one_hot", "--lang", "ja")
    assert result.returncode == 4, result.stdout[-3000:] + result.stderr[-3000:]   # pytest's usage error
    assert "mnist-course secret" in result.stderr and "非公開チェック" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.command
def test_a_students_self_check_writes_one_page_with_its_figures_and_names_it_last(tmp_path):
    """In a released assignment folder: the verdicts with the diagnosis once (autograder.feedback.page),
    in mnist-feedback.html beside the notebook, whose path is the run's last line."""
    import shutil

    folder = tmp_path / "ps1"
    shutil.copytree(REPO / "assignments" / "source" / "ps1", folder)
    shutil.rmtree(folder / "mnist_tasks")
    wrong_package(folder, mistakes=[("preprocessing.py", "/ np.float32(255.0)", "/ np.float32(256.0)")])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-m", "pytest", "autograder/", "-k", "normalize", "--lang", "en"],
                            capture_output=True, text=True, env=env, cwd=folder, timeout=900)
    assert result.returncode == 1, result.stdout[-3000:]
    page = folder / "mnist-feedback.html"
    assert result.stdout.strip().splitlines()[-1] == f"results with figures and tables: {page}", result.stdout[-1500:]
    html = page.read_text(encoding="utf-8")
    assert html.count("divided by 256, not 255") == 1 and html.count('class="failed"') == 4, html[:3000]
    # pytest reports each check apart: there, each failed check carries the diagnosis with it (and
    # under CI=true pytest's short summary repeats each failure whole).
    failures = result.stdout.split("short test summary")[0]
    assert failures.count("the mistake: divided by 256, not 255") == 4, failures[-3000:]

"""Hidden checks stay hidden: their inputs come from a per-course secret that no student receives.

What a student installs or is given (the wheel, a release) holds no secret; without one the hidden
checks are not even built, and asking for them is refused; two courses' secrets give other hidden
inputs but the same checks, and the reference full marks under both; the grading process gets the
secret on stdin, where the student code it runs cannot find it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.training import cache
from autograder import secret as course_secret
from autograder.grade import grade, select
from autograder.secret import SECRET_FILE, CourseSecret, MissingSecret
from mnist_course import course
from tests.conftest import REPO
from tests.submissions import OTHER_SECRET, REFERENCE, TEST_SECRET, course_with_secret, describe, make_submission

PREPROCESSING = ["normalize", "flatten", "add_channel_axis", "one_hot", "labels_from_scores"]
# What the secret chooses hidden inputs for: the preprocessing tasks' arrays, the builders' arguments.
SECRET_SUBJECTS = [*PREPROCESSING, "build_mlp", "build_cnn"]


def inputs(checks, hidden_only=True) -> dict[str, np.ndarray]:
    """Every array the checks' probes and confirmations send, by file name."""
    arrays = {}
    for check in checks:
        for probe in [*(check.probes if check.hidden or not hidden_only else []), *check.confirmations]:
            arrays.update(probe.get("arrays", {}))
    return arrays


def test_without_a_secret_there_are_no_hidden_checks_and_no_confirmations():
    checks = select()
    assert checks and not [c.name for c in checks if c.hidden or c.confirmations]


def test_two_secrets_give_other_hidden_inputs_for_the_same_checks():
    first, second = select(secret=TEST_SECRET), select(secret=OTHER_SECRET)
    assert [c.name for c in first] == [c.name for c in second]       # the same checks, names included
    assert sum(c.hidden for c in first) >= 10 and sum(bool(c.confirmations) for c in first) >= 10
    a, b = inputs(first), inputs(second)
    assert a.keys() == b.keys() and len(a) >= 30
    # (a twin of the handout's three labels has two possible orders: a coin toss between secrets)
    same = [name for name in a if a[name].shape == b[name].shape and np.array_equal(a[name], b[name])
            and a[name].size > 3]
    assert not same, f"inputs that do not depend on the secret: {same}"
    # The public inputs are the published ones whatever the secret.
    public = lambda checks: {n: v for c in checks if not c.hidden for p in c.probes for n, v in p.get("arrays", {}).items()}  # noqa: E731
    assert all(np.array_equal(public(first)[n], public(select())[n]) for n in public(select()))


def test_the_same_secret_gives_the_same_inputs_every_time():
    a, b = inputs(select(secret=TEST_SECRET)), inputs(select(secret=CourseSecret(TEST_SECRET.token)))
    assert all(np.array_equal(a[name], b[name]) for name in a)


def test_a_confirmation_holds_the_public_inputs_in_another_order():
    """A twin holds a public check's inputs reordered (rows, or one row's pixels), so an answer table
    for the published inputs fails it."""
    twins = 0
    for check in select(secret=TEST_SECRET):
        for twin in check.confirmations:
            (original,) = [p for p in check.probes if f"{p['id']}.twin" == twin["id"]]
            for moved, given in zip(twin["arrays"].values(), original["arrays"].values()):
                assert moved.shape == given.shape and not np.array_equal(moved, given), twin["id"]
                assert np.array_equal(np.sort(moved, axis=None), np.sort(given, axis=None)), twin["id"]
            twins += 1
    assert twins >= 10


def test_the_secret_never_shows_in_its_repr_and_keys_differ_by_secret():
    assert TEST_SECRET.token not in repr(TEST_SECRET) and TEST_SECRET.fingerprint in repr(TEST_SECRET)
    files = {"preprocessing.py": b"x"}
    keys = {cache.key_of(files, ["one_hot"], secret) for secret in (None, TEST_SECRET, OTHER_SECRET)}
    assert len(keys) == 3


def test_create_makes_one_secret_and_never_replaces_it(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("", encoding="utf-8")
    path, created = course_secret.create(tmp_path)
    token = path.read_text(encoding="ascii").strip()
    assert created and len(token) == 64 and (path.stat().st_mode & 0o777) == 0o600
    again, created_again = course_secret.create(tmp_path)
    assert again == path and not created_again and path.read_text(encoding="ascii").strip() == token
    assert course_secret.for_course(course_secret.find_course(tmp_path / "source" / "ps1")) == CourseSecret(token)
    assert course_secret.create(tmp_path, CourseSecret(token)) == (path, False)     # the same one: kept
    with pytest.raises(ValueError, match="never replaced"):
        course_secret.create(tmp_path, OTHER_SECRET)
    (tmp_path / "other").mkdir()
    given, _ = course_secret.create(tmp_path / "other", OTHER_SECRET)
    assert course_secret.read(given) == OTHER_SECRET and (given.stat().st_mode & 0o777) == 0o600


def test_no_course_or_no_secret_says_what_to_do(tmp_path):
    with pytest.raises(MissingSecret) as no_course:
        course_secret.for_course(None)
    assert "--course" in no_course.value.text.en and "--course" in no_course.value.text.ja
    (tmp_path / "nbgrader_config.py").write_text("", encoding="utf-8")
    with pytest.raises(MissingSecret) as no_secret:
        course_secret.for_course(tmp_path)
    assert "mnist-course secret" in no_secret.value.text.en and "mnist-course secret" in no_secret.value.text.ja
    (tmp_path / SECRET_FILE).write_text("not hex\n", encoding="ascii")
    with pytest.raises(MissingSecret, match="cannot read the course secret"):
        course_secret.for_course(tmp_path)


def test_mnist_course_secret_creates_once_and_refuses_outside_a_course(tmp_path, capsys):
    assert course.main(["secret", "--course", str(tmp_path)]) == 2
    assert "not in an nbgrader course" in capsys.readouterr().err
    (tmp_path / "nbgrader_config.py").write_text("", encoding="utf-8")
    assert course.main(["secret", "--course", str(tmp_path)]) == 0
    assert "created the course secret" in capsys.readouterr().out
    token = (tmp_path / SECRET_FILE).read_text(encoding="ascii")
    assert course.main(["secret", "--course", str(tmp_path)]) == 0
    assert "already has its secret" in capsys.readouterr().out
    assert (tmp_path / SECRET_FILE).read_text(encoding="ascii") == token


def test_class_autograde_refuses_a_course_without_its_secret(tmp_path):
    from mnist_course import classgrade

    (tmp_path / "nbgrader_config.py").write_text("", encoding="utf-8")
    with pytest.raises(MissingSecret):
        classgrade.autograde(tmp_path, ["ps1"], workers=1, progress=False)


def test_the_secret_changes_nothing_outside_preprocessing_and_the_builders():
    """So grading those tasks under two secrets is grading everything the secret touches."""
    first, second = select(secret=TEST_SECRET), select(secret=OTHER_SECRET)
    for a, b in zip(first, second):
        if a.subject in SECRET_SUBJECTS:
            continue
        assert not a.hidden and not a.confirmations, a.name
        assert [p["id"] for p in a.probes] == [p["id"] for p in b.probes], a.name
        for pa, pb in zip(a.probes, b.probes):
            arrays_a, arrays_b = pa.get("arrays", {}), pb.get("arrays", {})
            assert arrays_a.keys() == arrays_b.keys(), a.name
            assert all(np.array_equal(arrays_a[n], arrays_b[n]) for n in arrays_a), a.name


@pytest.mark.parametrize("secret", [TEST_SECRET, OTHER_SECRET], ids=["test secret", "other secret"])
def test_the_reference_gets_full_marks_under_any_secret(secret, warm_workers):
    report = grade(REFERENCE.parent, only=SECRET_SUBJECTS, secret=secret, workers=warm_workers)
    assert report.secret == secret.fingerprint and any(r.hidden for r in report.results)
    assert report.score == report.max_score, describe(report)


def test_a_table_of_the_published_answers_fails_under_any_secret(tmp_path, warm_workers):
    """An answer table for every public input (as a student could build from the kit's code) earns
    the public checks, and nothing once the secret's hidden inputs and twins run."""
    from tests.test_grader_adversarial import _hard_coded_source

    submission = make_submission(tmp_path, {"preprocessing": _hard_coded_source()})
    public = grade(submission, only=["normalize"], workers=warm_workers)   # what a student sees without the secret
    failed = [r.name for r in public.results if r.score < r.max_score]
    assert len(public.results) >= 3 and failed == [n for n in failed if "MNIST's size" in n], describe(public)
    for secret in (TEST_SECRET, OTHER_SECRET):
        graded = grade(submission, only=["normalize"], secret=secret, workers=warm_workers)
        assert graded.score == 0, describe(graded)


@pytest.mark.command
def test_student_code_finds_no_secret_where_it_runs(tmp_path):
    """The grading process gets the secret on stdin: student code finds it neither in its environment
    nor in its command line. (Its parent's /proc/<pid>/cmdline and environ it cannot even open without
    the guard scoring the module "tampered": tests/test_grader_adversarial.py.)"""
    from autograder.nbgrader.cells import run_grader

    probe = f'''
def _secret_visible():
    import os
    import sys
    places = [" ".join(os.environ.values()), " ".join(sys.argv), " ".join(sys.orig_argv)]
    for part in ("cmdline", "environ"):
        with open(f"/proc/self/{{part}}", "rb") as stream:
            places.append(stream.read().decode(errors="replace"))
    return any({TEST_SECRET.token!r} in place for place in places)


def normalize(images):
    if _secret_visible():
        return images * 0.0
    return images.astype(np.float32) / np.float32(255)
'''
    submission = make_submission(tmp_path, {"preprocessing": probe})
    results = run_grader(submission, ["normalize"], secret=TEST_SECRET, language="en")
    hidden = [t for t in results["tests"] if t["visibility"] == "after_published"]
    assert hidden and results["score"] == results["max_score"], results["tests"]
    assert results["extra_data"]["hidden_inputs"] == TEST_SECRET.fingerprint


@pytest.mark.slow
def test_the_wheel_holds_no_secret_even_built_beside_one(tmp_path):
    """Built from a checkout whose course has its secret (as an instructor's would)."""
    tree = tmp_path / "checkout"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for relative in filter(None, listed.decode().split("\0")):
        if (REPO / relative).is_file():
            (tree / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / relative, tree / relative)
    path, _ = course_secret.create(tree / "assignments")
    token = path.read_text(encoding="ascii").strip()
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                            "-w", str(tmp_path / "dist"), str(tree)], capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, PIP_NO_INPUT="1"))
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("mnist_tasks-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert any(name.startswith("autograder/checks/") for name in names)   # the hidden checks' code is there
        assert {name.split("/")[0] for name in names if name.endswith(".py")} == {"mnist_kit", "autograder", "mnist_course"}
        assert not [name for name in names if SECRET_FILE in name or name.startswith(("assignments/", "solutions/"))]
        assert not [name for name in names if token.encode() in archive.read(name)]


def test_a_bad_secret_on_stdin_is_a_clear_refusal(monkeypatch, capsys):
    import io

    from autograder import cli

    monkeypatch.setattr("sys.stdin", io.StringIO("not a secret\n"))
    assert cli.main(["solutions", "--secret-stdin", "--only", "one_hot", "--lang", "en"]) == 2
    assert "the course secret on stdin is not valid" in capsys.readouterr().err

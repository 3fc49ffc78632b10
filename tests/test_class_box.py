"""The class box (``autograder.sandbox.forkbox``): one boxed fork server grades a class, one student after
another, and nothing of one student outlives their turn, as root (CI) and as the hub's instructor,
a real unprivileged account made with ``useradd`` (deploy/jupyterhub/).

A course of three ps1 submissions, graded in this order: ``s1`` attacks (tests/box_attempts.py: at
import and at call time it tries to reach every process it sees, to stop pid 1 and its parent,
and leaves a daemon, sockets, a message queue, keys, shared memory and files everywhere it can
write), ``s2`` is the reference, ``s3`` looks for what ``s1`` left. Each answers ``normalize`` right
only if its attempts reached nothing (``s1``) or it found nothing (``s3``), and only inside a class
box. The class is graded by the kit's two class commands, ``mnist-course autograde --workers 1``
and ``nbgrader autograde`` (the course's ``IsolatedGrades``), and every student must get 10/10.

``class_box_controls.py`` shows the attempts are real: with the defences taken away, the attacker
stops the server (and, unprivileged, traces and writes into pid 1) and the looker finds its
keys and message queues; in the attacker's own worker the look finds every kind of leftover.

Minutes (2-core machine): root ~1.5; the account ~2 (the hub's venv is installed by setup.sh
once, and kept for tests/test_jupyterhub.py); the controls ~0.5 in each mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox import jail
from autograder.training.cache import COURSE_CACHE
from mnist_course import assignments, classgrade, course
from tests import box_attempts

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub"),   # the hub's venv in /opt: one user at a time
              pytest.mark.skipif(not jail.available(), reason=f"no sandbox here: {jail.unavailable_reason()}")]

STUDENTS = ("s1", "s2", "s3")   # graded in this order: the attacker, the reference, the looker
FULL = {student: 10.0 for student in STUDENTS}
CONTROLS = Path(__file__).resolve().parent / "class_box_controls.py"
ACCOUNT = "mnistboxteacher"


def _course(folder: Path) -> course.CourseCopy:
    """The course, ps1 released and handed in by the three students."""
    copy = course.CourseCopy(folder / "course")
    copy.release("ps1")
    packages = {"s1": box_attempts.attacker(folder) / "mnist_tasks", "s2": assignments.REFERENCE,
                "s3": box_attempts.looker(folder) / "mnist_tasks"}
    for student, package in packages.items():
        copy.submit(student, "ps1", package=package)
    return copy


def _scores(root: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {student: gradebook.find_submission("ps1", student).score for student in STUDENTS}


def _graded_again(root: Path) -> int:
    """How many gradings the results cache holds: each one ran the students' code."""
    return sum(1 for path in (root / COURSE_CACHE).glob("*.json") if len(path.stem) == 64)   # sha256 keys


def _attempts(folder: Path) -> Path:
    """The controls' submissions and script in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for make in (box_attempts.attacker, box_attempts.looker, box_attempts.both):
        make(folder)
    shutil.copy(CONTROLS, folder / CONTROLS.name)
    return folder


def _assert_controls(seen: dict, unprivileged: bool) -> None:
    defended, undefended = seen["defended"], seen["undefended"]
    # The look is sharp: in the leaver's own worker it finds all it left (keys too, where it may make any).
    assert any("found every kind; keyrings refused" in message for message in defended["both"][2]), defended["both"]
    assert any("found every kind; keyrings open" in message for message in undefended["both"][2]), undefended["both"]
    for name in ("attacker", "looker"):
        score, max_score, messages = defended[name]
        assert score == max_score > 0, (name, messages)
    reached = " ".join(undefended["attacker"][2])
    assert "stopped" in reached, reached   # the server, when it is not the box's init
    if unprivileged:                       # bwrap's own init: the workers' uid, dumpable
        assert "traced 1" in reached and "wrote into /proc/1/mem" in reached, reached
    found = " ".join(undefended["looker"][2])
    for leftover in ("/dev/mqueue/", f"key {box_attempts.MARK}-call--4", "a key in the persistent keyring"):
        assert leftover in found, (leftover, found)


# --- as root, as CI grades --------------------------------------------------------------------------------

def test_as_root_no_student_reaches_a_later_one_in_the_class_box(tmp_path):
    copy = _course(tmp_path)
    outcomes = classgrade.autograde(copy.root, ["ps1"], workers=1, progress=False)
    assert {o.submission.student: (o.score, o.attention) for o in outcomes} == \
        {student: (10, []) for student in STUDENTS}
    assert _scores(copy.root) == FULL
    shutil.rmtree(copy.root / COURSE_CACHE)   # graded again by nbgrader's autograde, not recalled
    copy.autograde("ps1")
    assert _graded_again(copy.root) == len(STUDENTS)
    assert _scores(copy.root) == FULL


def test_as_root_each_attempt_gets_through_without_the_defences(tmp_path):
    folder = _attempts(tmp_path / "controls")
    done = subprocess.run([sys.executable, str(folder / CONTROLS.name), str(folder)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_controls(json.loads(done.stdout.splitlines()[-1]), unprivileged=False)


# --- as the hub's instructor: a real account, unprivileged ------------------------------------------------

@pytest.fixture(scope="module")
def instructor(mnist_path):
    """The hub's recipe (deploy/jupyterhub/setup.sh) run for an instructor account made here."""
    from tests.hub import Hub, make_account, remove_account, require_hub_parts

    require_hub_parts()
    account = make_account(ACCOUNT)
    Hub(18000 + os.getpid() % 1000).set_up(account, [], mnist_path)
    yield account
    remove_account(ACCOUNT)


def _theirs(account, path: Path) -> None:
    subprocess.run(["chown", "-R", f"{account.name}:", str(path)], check=True)


def test_as_an_instructor_account_no_student_reaches_a_later_one_in_the_class_box(instructor):
    folder = instructor.home / "class-box"
    shutil.rmtree(folder, ignore_errors=True)
    copy = _course(folder)   # made as root, then handed to the instructor: only the grading is theirs
    _theirs(instructor, folder)
    root = str(copy.root)
    done = instructor.run("mnist-course", "autograde", "ps1", "--workers", "1", "--no-progress", "--course", root,
                          cwd=copy.root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    said = done.stdout + done.stderr
    assert classgrade.ALL_CLEAR.en in said or classgrade.ALL_CLEAR.ja in said, said[-3000:]
    assert _scores(copy.root) == FULL
    shutil.rmtree(copy.root / COURSE_CACHE)
    done = instructor.run("nbgrader", "autograde", "ps1", "--force", f"--CourseDirectory.root={root}", cwd=copy.root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _graded_again(copy.root) == len(STUDENTS)
    assert _scores(copy.root) == FULL


def test_as_an_instructor_account_each_attempt_gets_through_without_the_defences(instructor):
    folder = _attempts(instructor.home / "class-box-controls")
    _theirs(instructor, folder)
    done = instructor.run("python", str(folder / CONTROLS.name), str(folder), cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_controls(json.loads(done.stdout.splitlines()[-1]), unprivileged=True)

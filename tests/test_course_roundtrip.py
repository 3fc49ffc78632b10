"""The course's round trip through nbgrader itself, in a temporary course with a real Jupyter kernel.

generate_assignment → four students hand in → autograde → generate_feedback → export (CSV), for
ps1 (preprocessing: no grader training) and ps3 (a trained model, early stopping, three plots).
ps2 and ps4 run the same machinery with more training; `python -m mnist_kit.course dry-run`
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
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from mnist_kit import course
from tests.conftest import REPO

ASSIGNMENTS = ("ps1", "ps3")
STUDENTS = ("reference", "stubs", "wrong", "tampered")

# (file, right text, wrong text): each mistake costs points on one grade cell only.
MISTAKES = [
    ("preprocessing.py", "encoded = np.zeros((labels.shape[0], num_classes), dtype=np.float32)",
     "encoded = np.zeros((labels.shape[0], num_classes), dtype=np.float64)"),         # one_hot: float64
    ("preprocessing.py", "return images.reshape(count, int(np.prod(images.shape[1:])))",
     "return images.reshape(count, int(np.prod(images.shape[1:])), order=\"F\")"),      # flatten: columns
    ("training.py", "patience=patience,", "patience=patience + 1,"),                    # early_stopping
    ("plots.py", 'axes.set_title(f"{guess}({answer})", backgroundcolor="red")',
     'axes.set_title(f"{guess}({answer})")'),                                            # plot_predictions
]
# Points each grade cell must give the wrong (and the tampered) student.
WRONG_EXPECTED = {
    "ps1_normalize": "full", "ps1_labels_from_scores": "full", "ps1_one_hot": "partial", "ps1_flatten": "partial",
    "ps3_model": "full", "ps3_plot_history": "full", "ps3_plot_first_layer_weights": "full",
    "ps3_early_stopping": "partial", "ps3_plot_predictions": "partial",
}

MONKEYPATCH = '''

# --- tampering: make every grade cell claim full marks in the kernel ---
try:
    import autograder.notebook as _notebook
    _notebook.grade_cell = lambda *items, points: points
except Exception:
    pass
'''


# Provided files are restored from source at autograde, whatever the student made of them.
TAMPERED_INIT = "import autograder.notebook as _n\n_n.grade_cell = lambda *items, points: points\n"

# Injected beside the package: were the isolated grader to import any of it, every check would pass.
FAKE_CLI = '''
import json, sys
arguments = sys.argv[1:]
tests = [{"name": f"{item}: forged", "score": 100.0, "max_score": 100.0, "output": "ok", "visibility": "visible"}
         for item in arguments[arguments.index("--only") + 1].split(",")] if "--only" in arguments else []
if "--json" in arguments:
    open(arguments[arguments.index("--json") + 1], "w").write(json.dumps({"score": 100.0, "max_score": 100.0, "tests": tests}))
print("all correct: 100/100")
'''
INJECTED = {"autograder/__init__.py": "", "autograder/__main__.py": FAKE_CLI, "autograder/cli.py": FAKE_CLI,
            "sitecustomize.py": "import autograder.notebook as _n\n_n.grade_cell = lambda *items, points: points\n"}


def wrong_package(directory: Path, tamper: bool = False) -> Path:
    package = directory / "mnist_tasks"
    shutil.copytree(course.REFERENCE, package)
    for name, right, wrong in MISTAKES:
        path = package / name
        text = path.read_text(encoding="utf-8")
        assert text.count(right) == 1, f"solutions/mnist_tasks/{name} changed: update MISTAKES"
        path.write_text(text.replace(right, wrong), encoding="utf-8")
    if tamper:
        path = package / "preprocessing.py"
        path.write_text(path.read_text(encoding="utf-8") + MONKEYPATCH, encoding="utf-8")
    return package


def tamper_notebook(notebook: dict) -> None:
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            cell["source"] = "print('all correct!')\n999"
            meta["points"] = 999
    notebook["cells"].insert(2, {
        "cell_type": "code", "execution_count": None, "id": "tampering", "metadata": {}, "outputs": [],
        "source": "import os\nimport autograder.notebook as n\nos.environ.pop('NBGRADER_EXECUTION', None)\n"
                  "n.grade_cell = lambda *items, points: points\n"
                  # the same injection again, made by the kernel during autograde
                  f"injected = {INJECTED!r}\n"
                  "for relative, text in injected.items():\n"
                  "    os.makedirs(os.path.dirname(relative) or '.', exist_ok=True)\n"
                  "    open(relative, 'w').write(text)\n",
    })


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("roundtrip")
    copy = course.CourseCopy(workspace / "course")
    wrong = wrong_package(workspace / "wrong")
    tampered = wrong_package(workspace / "tampered", tamper=True)
    times = {}
    for assignment in ASSIGNMENTS:
        copy.release(assignment)
        copy.submit("reference", assignment, package=course.REFERENCE)
        copy.submit("stubs", assignment)
        copy.submit("wrong", assignment, package=wrong)
        copy.submit("tampered", assignment, package=tampered, edit_notebook=tamper_notebook,
                    files={"mnist_tasks/__init__.py": TAMPERED_INIT, **INJECTED})
        times[assignment] = copy.autograde(assignment)
        copy.feedback(assignment)
    rows = copy.export()
    print("\nround trip: " + ", ".join(f"{command}: {seconds:.0f} s" for command, seconds in copy.log))
    return copy, rows, times


def cell_scores(copy: course.CourseCopy, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    notebook = course.BY_ID[assignment].notebook
    with Gradebook(f"sqlite:///{copy.root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(notebook, assignment, student)
        return {grade.name: (grade.score, grade.max_score) for grade in submission.grades}


def autograded(copy: course.CourseCopy, assignment: str, student: str) -> dict:
    path = copy.root / "autograded" / student / assignment / f"{course.BY_ID[assignment].notebook}.ipynb"
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
                kinds = [(o["output_type"], o.get("name")) for o in cell["outputs"]]
                assert kinds == [("stream", "stdout"), ("execute_result", None)], kinds
                text = "".join(cell["outputs"][0]["text"])
                assert "この問題" in text and "公開チェックのみ" not in text      # hidden checks ran
                if student == "stubs":
                    assert "まだ実装されていません" in text
            assert any(c.get("id") == "tampering" for c in notebook["cells"]) == (student == "tampered")


@pytest.mark.slow
def test_the_kernel_really_ran_the_notebooks_and_no_cell_came_near_the_timeout(roundtrip):
    copy, _, _ = roundtrip
    from traitlets.config.loader import PyFileConfigLoader

    timeout = PyFileConfigLoader("nbgrader_config.py", path=str(copy.root)).load_config().Execute.timeout
    slowest = 0.0
    for assignment in ASSIGNMENTS:
        notebook = autograded(copy, assignment, "reference")
        text = json.dumps(notebook, ensure_ascii=False)
        # The experiment cells ran in the kernel, with the student's package.
        assert {"ps1": "(60000, 28, 28)", "ps3": "(60000, 784)"}[assignment] in text
        assert assignment != "ps3" or ("Test accuracy" in text and "image/png" in text)
        for cell in notebook["cells"]:
            if cell["cell_type"] != "code":
                continue
            assert not [o for o in cell["outputs"] if o["output_type"] == "error"], cell["source"]
            assert not [o for o in cell["outputs"] if o.get("name") == "stderr"], cell["source"]
            timing = cell["metadata"].get("execution", {})
            if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
                start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                              for key in ("iopub.execute_input", "shell.execute_reply"))
                slowest = max(slowest, (end - start).total_seconds())
    assert 0 < slowest < timeout / 4, slowest


@pytest.mark.slow
def test_feedback_for_every_student(roundtrip):
    copy, _, _ = roundtrip
    for assignment in ASSIGNMENTS:
        for student in STUDENTS:
            html = copy.root / "feedback" / student / assignment / f"{course.BY_ID[assignment].notebook}.html"
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


# For every output box of a grade cell that holds a failed check: each text line's right edge
# against the right edge of what the box shows (the nearest ancestor that scrolls sideways).
MEASURE_OUTPUT_BOXES = r"""
const scrolls = (element) => ["auto", "scroll", "hidden"].includes(getComputedStyle(element).overflowX);
const boxes = [];
for (const pre of document.querySelectorAll("pre")) {
  if (!pre.textContent.includes("✗")) continue;
  let clip = pre;
  while (clip.parentElement && !scrolls(clip)) clip = clip.parentElement;
  const visibleRight = clip.getBoundingClientRect().left + clip.clientWidth;
  const lines = [];
  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let start = 0;
    for (const part of node.textContent.split("\n")) {
      if (part.trim()) {
        const range = document.createRange();
        range.setStart(node, start);
        range.setEnd(node, start + part.length);
        const right = Math.max(...[...range.getClientRects()].map((rect) => rect.right));
        lines.push({text: part, right: Math.round(right)});
      }
      start += part.length + 1;
    }
  }
  boxes.push({visibleRight: Math.round(visibleRight), scrollable: clip.scrollWidth > clip.clientWidth, lines});
}
return {width: window.innerWidth, boxes};
"""


@pytest.mark.slow
@pytest.mark.browser
def test_every_failed_checks_reason_is_in_view_in_the_feedback_page(roundtrip, tmp_path):
    from tests.browser import measure, screenshot

    copy, _, _ = roundtrip
    page = copy.root / "feedback" / "wrong" / "ps3" / f"{course.BY_ID['ps3'].notebook}.html"
    found = measure(page, MEASURE_OUTPUT_BOXES, width=1024)
    screenshot(page, tmp_path / "feedback.png", width=1024)   # kept in pytest's tmp dir for a person to look at
    boxes = found["boxes"]
    # The wrong student's ps3 mistakes: early_stopping's patience and plot_predictions' red background.
    failed = [line["text"] for box in boxes for line in box["lines"] if line["text"].lstrip().startswith("✗")]
    assert any("early_stopping" in text for text in failed) and any("plot_predictions" in text for text in failed)
    for box in boxes:
        outside = [line["text"] for line in box["lines"] if line["right"] > box["visibleRight"]]
        assert not outside, f"past the right edge of a {found['width']}px-wide page: {outside}"
        assert not box["scrollable"], "the box scrolls sideways"
        # Each failed check: points first, then its reason on lines of its own below the name.
        for index, line in enumerate(box["lines"]):
            if line["text"].startswith("✗"):
                following = box["lines"][index + 1:index + 3]
                assert following and following[0]["text"].startswith(" "), box["lines"]
    reasons = "\n".join(line["text"] for box in boxes for line in box["lines"])
    assert "patience=1 (≠ 0)" in reasons and "patience=4 (≠ 3)" in reasons, reasons   # got 1, expected 0

"""A temporary nbgrader course that four students hand in to, built once per test session
(``tests/conftest.py``'s ``roundtrip`` fixture) and looked at by the course, feedback, report and
formgrader tests. tests/test_course_roundtrip.py says what each student is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mnist_course import assignments, course

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
    import autograder.nbgrader.cells as _notebook
    _notebook.grade_cell = lambda *items, points: points
except Exception:
    pass
'''


# Provided files are restored from source at autograde, whatever the student made of them.
TAMPERED_INIT = "import autograder.nbgrader.cells as _n\n_n.grade_cell = lambda *items, points: points\n"

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
            "sitecustomize.py": "import autograder.nbgrader.cells as _n\n_n.grade_cell = lambda *items, points: points\n"}


def wrong_package(directory: Path, tamper: bool = False, mistakes=MISTAKES) -> Path:
    """The reference in ``directory/mnist_tasks`` with ``mistakes`` ((file, right text, wrong text)) made."""
    package = directory / "mnist_tasks"
    shutil.copytree(assignments.REFERENCE, package)
    for name, right, wrong in mistakes:
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
        "source": "import os\nimport autograder.nbgrader.cells as n\nos.environ.pop('NBGRADER_EXECUTION', None)\n"
                  "n.grade_cell = lambda *items, points: points\n"
                  # the same injection again, made by the kernel during autograde
                  f"injected = {INJECTED!r}\n"
                  "for relative, text in injected.items():\n"
                  "    os.makedirs(os.path.dirname(relative) or '.', exist_ok=True)\n"
                  "    open(relative, 'w').write(text)\n",
    })


def build(workspace: Path):
    """Release ps1 and ps3, hand in the four students, autograde, feedback, export: (course, rows, times)."""
    copy = course.CourseCopy(workspace / "course")
    wrong = wrong_package(workspace / "wrong")
    tampered = wrong_package(workspace / "tampered", tamper=True)
    times = {}
    for assignment in ASSIGNMENTS:
        copy.release(assignment)
        copy.submit("reference", assignment, package=assignments.REFERENCE)
        copy.submit("stubs", assignment)
        copy.submit("wrong", assignment, package=wrong)
        copy.submit("tampered", assignment, package=tampered, edit_notebook=tamper_notebook,
                    files={"mnist_tasks/__init__.py": TAMPERED_INIT, **INJECTED})
        times[assignment] = copy.autograde(assignment)
        copy.feedback(assignment)
    rows = copy.export()
    print("\nround trip: " + ", ".join(f"{command}: {seconds:.0f} s" for command, seconds in copy.log))
    return copy, rows, times

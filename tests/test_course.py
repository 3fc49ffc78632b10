"""The nbgrader course in assignments/: its layout, its grade cells, its release, its grade-cell plumbing.

The full release → submit → autograde → feedback → export round trip is tests/test_course_roundtrip.py.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import secret as course_secret
from autograder.grade import subjects
from autograder.nbgrader.cells import Request, requested
from autograder.protocol import subject_of_item
from autograder.secret import SECRET_FILE, CourseSecret
from mnist_course import assignments, copies, course

GRADE_SOURCE = re.compile(r"# 採点 / grading: [^\n]+\nfrom autograder\.nbgrader\.cells import grade_cell\n"
                          r"grade_cell\((\"[A-Za-z0-9_-]+\", )+points=\d+(\.\d+)?\)")


def notebook_of(assignment: assignments.Assignment, root: Path = assignments.COURSE / "source") -> nbformat.NotebookNode:
    return nbformat.read(root / assignment.id / f"{assignment.notebook}.ipynb", as_version=4)


def grade_cells(notebook):
    return [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]


def load_config() -> dict:
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(assignments.COURSE)).load_config()


# --- the course's files ------------------------------------------------------------------------

def test_assignment_copies_of_the_student_package_are_in_sync():
    assert copies.out_of_sync() == [], "run `mnist-course sync` after changing mnist_tasks/"


def test_check_command_reports_a_stale_copy(tmp_path):
    shutil.copytree(assignments.COURSE / "source", tmp_path / "source")
    assert copies.out_of_sync(tmp_path) == []
    (tmp_path / "source" / "ps2" / "mnist_tasks" / "models.py").write_text("# edited\n", encoding="utf-8")
    (tmp_path / "source" / "ps3" / "mnist_tasks" / "extra.py").write_text("", encoding="utf-8")
    assert copies.out_of_sync(tmp_path) == ["ps2/mnist_tasks/models.py: differs from mnist_tasks/",
                                            "ps3/mnist_tasks/extra.py: not in mnist_tasks/ (extra file)"]
    copies.sync(tmp_path)
    assert copies.out_of_sync(tmp_path) == []


def test_the_student_files_survive_autograde_file_by_file():
    config = load_config()
    excluded = dict(config.Autograde.exclude_overwriting)
    assert excluded == assignments.exclude_overwriting()
    for assignment, files in excluded.items():
        for relative in files:
            assert (assignments.COURSE / "source" / assignment / relative).is_file(), relative
    # Only the task modules: the provided ones are restored from source.
    assert set(assignments.STUDENT_FILES) == {"preprocessing.py", "models.py", "training.py", "plots.py"}


def test_autograde_scores_grade_cells_with_the_isolated_grader_and_runs_no_kernel(monkeypatch):
    from nbgrader.preprocessors import Execute, SaveAutoGrades

    from autograder.nbgrader.preprocessors import BoxedExecute, IsolatedGrades

    monkeypatch.delenv("MNIST_COURSE_EXECUTE", raising=False)
    chain = list(load_config().Autograde.autograde_preprocessors)
    assert Execute not in chain and chain.index(IsolatedGrades) < chain.index(SaveAutoGrades)
    # On request, the notebooks run in a kernel again, IsolatedGrades right after, with a long timeout.
    monkeypatch.setenv("MNIST_COURSE_EXECUTE", "1")
    config = load_config()
    chain = list(config.Autograde.autograde_preprocessors)
    assert chain.index(BoxedExecute) + 1 == chain.index(IsolatedGrades) < chain.index(SaveAutoGrades)
    assert issubclass(BoxedExecute, Execute) and config.Execute.timeout >= 300   # c.Execute applies to it


def test_nbgrader_finds_alembic_without_an_activated_environment(monkeypatch):
    import sys

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    load_config()
    assert os.environ["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    assert (Path(sys.executable).parent / "alembic").exists()


def test_every_grader_subject_is_graded_in_exactly_one_assignment():
    graded = [subject_of_item(item) for assignment in assignments.ASSIGNMENTS for item in assignment.subjects]
    assert sorted(graded) == sorted(subjects())


@pytest.mark.parametrize("assignment", assignments.ASSIGNMENTS, ids=lambda a: a.id)
def test_notebook_grade_cells_call_the_grader_for_the_assignments_tasks(assignment):
    notebook = notebook_of(assignment)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    cells = grade_cells(notebook)
    assert cells, "no grade cells"
    items = []
    for cell in cells:
        meta = cell.metadata.nbgrader
        assert cell.cell_type == "code" and meta.locked and not meta.solution and meta.points > 0
        assert meta.grade_id.startswith(f"{assignment.id}_")
        assert GRADE_SOURCE.fullmatch(cell.source), cell.source
        request = requested(cell.source)
        assert request.points == meta.points, "the call's points must equal nbgrader's points"
        items += request.items
    assert sorted(items) == sorted(assignment.subjects)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "from mnist_tasks import" in source            # the student's package, from the folder
    for cell in notebook.cells:                               # committed clean
        assert cell.cell_type != "code" or (cell.outputs == [] and cell.execution_count is None)


def test_experiments_default_to_the_small_budget():
    for assignment in assignments.ASSIGNMENTS:
        source = "\n".join(cell.source for cell in notebook_of(assignment).cells)
        assert "FULL = True" not in source.replace("`FULL = True`", "")
        if "FULL" in source:
            assert "GRADING = bool(os.environ.get(\"NBGRADER_EXECUTION\"))\nif GRADING:\n    FULL = False" in source


SEEDS = assignments.REPO.parent / "shared" / "seeds"   # the course's handouts, 000_….txt to 004_….txt


def handout(number: str) -> str:
    paths = sorted(SEEDS.glob(f"{number}_*.txt"))
    if not paths:
        pytest.skip(f"handout {number} not found in {SEEDS}")
    return paths[0].read_text(encoding="utf-8")


def test_a_quoted_handout_heading_is_in_the_handout_cited():
    # e.g. 001 §8「訓練データの例」: the quoted words must be in handout 001, not in another one.
    quoted = 0
    for assignment in assignments.ASSIGNMENTS:
        source = "\n".join(cell.source for cell in notebook_of(assignment).cells)
        for number, words in re.findall(r"\b(\d{3})(?: §\d+)?「([^」]+)」", source):
            assert words in handout(number), f"{assignment.id}: 「{words}」 is not in handout {number}"
            quoted += 1
    assert quoted >= 5   # the check has something to check


# The handouts' experiments in the notebooks print their results beside these numbers of the handouts.
HANDOUT_FIGURES = {
    "ps2": {"001": ("0.9971", "0.9748", "0.9988", "0.9997")},   # model m (20 epochs), experiments 1 and 2
    "ps3": {"004": ("0.9414", "0.9468", "0.4187")},             # fit(batch_size=32, epochs=20, validation_split=0.2)
}


@pytest.mark.parametrize("assignment_id", sorted(HANDOUT_FIGURES))
def test_the_handouts_experiments_stand_beside_the_handouts_numbers(assignment_id):
    source = "\n".join(cell.source for cell in notebook_of(assignments.BY_ID[assignment_id]).cells if cell.cell_type == "code")
    for number, figures in HANDOUT_FIGURES[assignment_id].items():
        for figure in figures:
            assert figure in handout(number), f"{figure} is not in handout {number}"
            assert figure in source, f"{assignment_id} does not print handout {number}'s {figure}"


def test_course_points():
    totals = {a.id: sum(c.metadata.nbgrader.points for c in grade_cells(notebook_of(a))) for a in assignments.ASSIGNMENTS}
    assert totals == {"ps1": 10, "ps2": 20, "ps3": 10, "ps4": 10}


# --- the release ---------------------------------------------------------------------------------

def solution_lines() -> set[str]:
    """Distinctive lines of the reference's solution regions."""
    lines = set()
    for path in assignments.REFERENCE.glob("*.py"):
        inside = False
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if "### BEGIN SOLUTION" in stripped:
                inside = True
            elif "### END SOLUTION" in stripped:
                inside = False
            elif inside and len(stripped) >= 16 and not stripped.startswith(("#", "raise ", "return None")):
                lines.add(stripped)
    return lines


@pytest.fixture(scope="module")
def released_course(tmp_path_factory) -> course.CourseCopy:
    """A course copy (with its own secret, as CourseCopy makes one) whose ps1-ps4 nbgrader released."""
    copy = course.CourseCopy(tmp_path_factory.mktemp("course") / "course")
    copy.nbgrader("generate_assignment", "ps*", "--force")
    return copy


@pytest.fixture(scope="module")
def release(released_course) -> Path:
    return released_course.root / "release"


def release_problems(release: Path, secret: str = "") -> list[str]:
    """Everything in a generated release that would give away solutions or hidden checks (the
    course's ``secret`` among them)."""
    problems = []
    forbidden_markers = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                         "BEGIN MARK SCHEME", *([secret] if secret else []))
    problems += [f"{path.relative_to(release)}: the course secret's file" for path in release.rglob(SECRET_FILE)]
    solutions = solution_lines()
    stubs = {path.name: path.read_text(encoding="utf-8") for path in assignments.STUBS.glob("*.py")}
    if sorted(p.name for p in release.iterdir()) != [a.id for a in assignments.ASSIGNMENTS]:
        problems.append(f"assignments: {sorted(p.name for p in release.iterdir())}")
    for assignment in assignments.ASSIGNMENTS:
        folder = release / assignment.id
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        expected = sorted([f"{assignment.notebook}.ipynb", "pytest.ini", "autograder/test_self_check.py",
                           *(f"mnist_tasks/{name}" for name in stubs)])
        if files != expected:
            problems.append(f"{assignment.id}: files {sorted(set(files) ^ set(expected))} differ from the expected set")
        for relative in files:
            text = (folder / relative).read_text(encoding="utf-8", errors="replace")
            problems += [f"{assignment.id}/{relative}: contains {marker!r}" for marker in forbidden_markers
                         if marker in text]
            leaked = [line for line in solutions if line in text]
            if leaked:
                problems.append(f"{assignment.id}/{relative}: contains solution code {leaked[:2]}")
        # The package is exactly the stubs, and each task there only raises NotImplementedError.
        for name in stubs:
            path = folder / "mnist_tasks" / name
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
            if text != stubs[name]:
                problems.append(f"{assignment.id}/mnist_tasks/{name}: not the stub")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef):
                    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
                    if not (len(body) == 1 and isinstance(body[0], ast.Raise)):
                        problems.append(f"{assignment.id}/mnist_tasks/{name}: {node.name} has a body")
        # The grade cells hold nothing but the call to the grader: no test code, no expected answers.
        notebook = nbformat.read(folder / f"{assignment.notebook}.ipynb", as_version=4)
        if len(grade_cells(notebook)) != len(grade_cells(notebook_of(assignment))):
            problems.append(f"{assignment.id}: grade cells missing")
        problems += [f"{assignment.id}: grade cell {cell.metadata.nbgrader.grade_id} holds more than the call"
                     for cell in grade_cells(notebook) if not GRADE_SOURCE.fullmatch(cell.source)]
        problems += [f"{assignment.id}: a cell has outputs" for cell in notebook.cells
                     if cell.cell_type == "code" and cell.outputs]
    return problems


def test_release_scan_finds_no_solution_code_and_no_hidden_checks(released_course, release):
    assert len(solution_lines()) > 30  # the scan has something to look for
    secret = course_secret.for_course(released_course.root).token
    assert release_problems(release, secret) == []


def test_release_scan_catches_a_leak(release, tmp_path):
    poisoned = tmp_path / "release"
    shutil.copytree(release, poisoned)
    shutil.copy(assignments.REFERENCE / "preprocessing.py", poisoned / "ps1" / "mnist_tasks" / "preprocessing.py")
    path = poisoned / "ps4" / "ps4_cnn.ipynb"
    notebook = nbformat.read(path, as_version=4)
    grade_cells(notebook)[0].source += "\n### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS"
    nbformat.write(notebook, path)
    secret = CourseSecret.generate()
    (poisoned / "ps2" / SECRET_FILE).write_text(secret.token, encoding="ascii")
    (poisoned / "ps3" / "pytest.ini").write_text(f"# {secret.token}\n", encoding="utf-8")
    problems = "\n".join(release_problems(poisoned, secret.token))
    assert f"ps2/{SECRET_FILE}: the course secret's file" in problems
    assert f"ps3/pytest.ini: contains {secret.token!r}" in problems
    assert "ps1/mnist_tasks/preprocessing.py: contains 'BEGIN SOLUTION'" in problems
    assert "ps1/mnist_tasks/preprocessing.py: contains solution code" in problems
    assert "ps1/mnist_tasks/preprocessing.py: normalize has a body" in problems
    assert "ps4/ps4_cnn.ipynb: contains 'BEGIN HIDDEN TESTS'" in problems
    assert "ps4: grade cell ps4_add_channel_axis holds more than the call" in problems


# --- grade cells: the kernel's side and the isolated side -------------------------------------

def test_requested_reads_the_literal_call():
    assert requested('from autograder.nbgrader.cells import grade_cell\ngrade_cell("A", "B", points=6)') == \
        Request(("A", "B"), 6.0)
    assert requested("print(1)") is None
    with pytest.raises(ValueError):
        requested("grade_cell(*TASKS, points=2)")


def kernel_like_run(directory: Path, code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=directory, capture_output=True, text=True,
                          env=environment, timeout=600)


@pytest.mark.command
def test_grade_cell_in_a_students_kernel_grades_the_folder_quietly(tmp_path):
    shutil.copytree(assignments.REFERENCE, tmp_path / "mnist_tasks")
    code = "from autograder.nbgrader.cells import grade_cell\nprint(repr(grade_cell('normalize', points=2)))"
    completed = kernel_like_run(tmp_path, code)
    assert completed.stderr == ""   # nbgrader scores a grade cell with any stderr 0
    assert "✓" in completed.stdout and "公開チェックのみ" in completed.stdout
    assert completed.stdout.strip().endswith("2.0")


@pytest.mark.command
def test_grade_cell_under_autograde_leaves_the_score_to_the_isolated_grader(tmp_path):
    code = "from autograder.nbgrader.cells import grade_cell\nprint(repr(grade_cell('normalize', points=2)))"
    completed = kernel_like_run(tmp_path, code, NBGRADER_EXECUTION="autograde")
    assert completed.stderr == "" and completed.stdout.strip().endswith("0.0")
    assert "隔離された採点器" in completed.stdout


@pytest.mark.command
def test_isolated_grades_replace_whatever_the_kernel_printed(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from autograder.nbgrader.preprocessors import IsolatedGrades

    def notebook():
        cells = []
        for grade_id, items, points in (("a", '"normalize"', 2), ("b", '"one_hot", "flatten"', 5)):
            cell = new_code_cell(f"from autograder.nbgrader.cells import grade_cell\ngrade_cell({items}, points={points})")
            cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": points, "locked": True,
                                         "solution": False, "task": False, "schema_version": 3}
            # What a monkeypatched kernel might have produced:
            cell.outputs = [new_output("stream", name="stderr", text="TF noise\n"),
                            new_output("execute_result", data={"text/plain": str(points)}, execution_count=1)]
            cells.append(cell)
        cells.append(new_code_cell("print('experiment')", outputs=[new_output("stream", name="stdout", text="kept\n")]))
        return new_notebook(cells=cells)

    from nbgrader.utils import determine_grade

    wrong = tmp_path / "wrong"
    shutil.copytree(assignments.REFERENCE, wrong / "mnist_tasks")
    path = wrong / "mnist_tasks" / "preprocessing.py"
    text = path.read_text(encoding="utf-8")
    assert "dtype=np.float32)\n    encoded[" in text
    path.write_text(text.replace("dtype=np.float32)\n    encoded[", "dtype=np.float64)\n    encoded["), encoding="utf-8")
    stubs = tmp_path / "stubs"
    shutil.copytree(assignments.STUBS, stubs / "mnist_tasks")

    from traitlets import TraitError
    from traitlets.config import Config

    from tests.submissions import course_with_secret

    # nbgrader's course directory: its secret chooses the hidden inputs; without one, no grading.
    in_course = lambda root: Config({"CourseDirectory": {"root": str(root)}})  # noqa: E731
    with pytest.raises(course_secret.MissingSecret, match="mnist-course secret"):
        IsolatedGrades(config=in_course(tmp_path)).preprocess(notebook(), {"metadata": {"path": str(stubs)}})
    config = in_course(course_with_secret(tmp_path / "course"))
    scores = {}
    for name, folder in (("wrong", wrong), ("stubs", stubs)):
        graded, _ = IsolatedGrades(config=config).preprocess(notebook(), {"metadata": {"path": str(folder)}})
        cells = graded.cells
        for cell in cells[:2]:   # the grader's HTML with its text beside it, then the points
            assert [o.output_type for o in cell.outputs] == ["display_data", "execute_result"]
            assert set(cell.outputs[0].data) == {"text/html", "text/plain"}
        assert cells[2].outputs[0].text == "kept\n"   # other cells untouched
        scores[name] = [determine_grade(cell)[0] for cell in cells[:2]]
        # The feedback says where the submission's code ran (the default: a bubblewrap box).
        assert all("サンドボックス (bubblewrap) の中で実行しました" in cell.outputs[0].data[medium]
                   for cell in cells[:2] for medium in ("text/plain", "text/html"))
    assert scores["stubs"] == [0.0, 0.0]
    assert scores["wrong"][0] == 2.0 and 0 < scores["wrong"][1] < 5.0   # normalize right, one_hot float64
    # A deployment that isolates each grading itself says so in nbgrader's config; the feedback too.
    config.IsolatedGrades.sandbox = "none"
    config.IsolatedGrades.cache_dir = ""   # a cached result keeps the mode of the grading that made it
    graded, _ = IsolatedGrades(config=config).preprocess(notebook(), {"metadata": {"path": str(stubs)}})
    assert all("サンドボックスなしで実行しました" in cell.outputs[0].data["text/plain"] for cell in graded.cells[:2])
    config.IsolatedGrades.sandbox = "docker"
    with pytest.raises(TraitError, match="sandbox"):
        IsolatedGrades(config=config)


@pytest.mark.command
def self_check(folder: Path, *arguments: str) -> subprocess.CompletedProcess:
    """`pytest autograder/` in ``folder``, word for word as a student types it."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([str(Path(sys.executable).parent / "pytest"), "autograder/", *arguments], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow      # nbgrader generate_assignment, then two real gradings: ~30 s
@pytest.mark.command
def test_self_check_with_pytest_autograder_in_a_released_assignment_folder(tmp_path):
    copy = course.CourseCopy(tmp_path / "course")
    folder = copy.release("ps1")                                  # as nbgrader generate_assignment makes it
    for name in assignments.STUDENT_FILES:
        shutil.copy(assignments.REFERENCE / name, folder / "mnist_tasks" / name)
    completed = self_check(folder, "--lang", "en")
    assert completed.returncode == 0, completed.stdout[-3000:]
    *_, score, page = completed.stdout.strip().splitlines()   # the page with figures and tables last
    # This assignment's tasks only, with the notebook's points (ps1's grade cells: 10).
    assert "score: 10 / 10 points" in score and "public checks passed" in score, score
    assert page == f"results with figures and tables: {folder / 'mnist-feedback.html'}", page
    # -k NAME: exactly that task's checks; a failure shows the grader's verdict, not introspection.
    shutil.copy(assignments.STUBS / "preprocessing.py", folder / "mnist_tasks" / "preprocessing.py")
    completed = self_check(folder, "-k", "one_hot", "-v", "--lang", "en")
    ids = [line.split("[")[1].split("]")[0] for line in completed.stdout.splitlines() if "::test_check[" in line
           and ("PASSED" in line or "FAILED" in line)]
    assert ids and all(test_id.startswith("one_hot:") for test_id in ids), ids
    assert completed.returncode == 1 and "✗ 0/1  one_hot:" in completed.stdout
    assert "not implemented yet" in completed.stdout and "assert " not in completed.stdout
    assert completed.stdout.strip().splitlines()[-2].count("score: 0 / 3 points"), completed.stdout[-500:]


@pytest.mark.slow      # nbgrader generate_assignment: ~10 s each
@pytest.mark.command
@pytest.mark.parametrize("assignment", [a.id for a in assignments.ASSIGNMENTS[1:]])
def test_self_check_collects_each_released_assignments_own_tasks(tmp_path, assignment):
    copy = course.CourseCopy(tmp_path / "course")
    folder = copy.release(assignment)
    completed = self_check(folder, "--collect-only", "-q")
    assert completed.returncode == 0, completed.stdout[-2000:]
    tasks = {line.split("[")[1].split(":")[0].replace("_", " ") if line.split("[")[1].startswith("variant_")
             else line.split("[")[1].split(":")[0] for line in completed.stdout.splitlines() if "::test_check[" in line}
    expected = {subject_of_item(item) for item in assignments.BY_ID[assignment].subjects}
    assert tasks == expected


@pytest.mark.command
@pytest.mark.parametrize("blocked", ["distributed", "nbgrader"])
def test_a_command_needing_the_instructor_extra_says_so_in_one_line_without_it(tmp_path, blocked):
    # An install without the extra, as Python sees it: importing the blocked module raises the
    # ModuleNotFoundError a missing package raises.
    program = (f"import sys; sys.modules[{blocked!r}] = None; from mnist_course.course import main; "
               f"sys.exit(main(['autograde', 'ps1', '--course', {str(tmp_path)!r}]))")
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                               cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    assert f"({blocked} がありません)" in completed.stderr and f"({blocked} is not installed)" in completed.stderr
    assert "pip install 'mnist-tasks[instructor]'" in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 2, completed.stderr  # one line per language

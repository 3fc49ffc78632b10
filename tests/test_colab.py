"""Google Colab: the notebooks' Colab block, the Drive folder, the zip to hand in, and a Colab-like run.

Fast tests run ``mnist_course.colab`` here with a stand-in ``google.colab`` (``drive.mount`` only)
and a local git repository of this working tree as the course's repository.

The slow test builds a fresh virtual environment the way Colab's image is
(tests/colab/requirements.txt: Colab's Python and its pinned IPython, ipykernel, notebook,
TensorFlow…, from googlecolab/backend-info), adds the same stand-in, and runs the real ps1
notebook there under nbclient: the set-up cell installs the kit from the repository and makes the
Drive folder; then, as a student's work, the reference solution goes into that folder and the
whole notebook runs again in a new kernel (a runtime reset), `pytest autograder/` runs there, the
last cell packs the zip, and nbgrader's zip_collect with the Moodle collector imports it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from mnist_course import assignments, colab, copies, course

REPO = assignments.REPO

# The one stand-in: Drive needs a Google account. ``google.colab.files`` is absent on purpose.
STAND_IN = {
    "google/colab/__init__.py": '"""Stand-in for Colab\'s google.colab (tests/test_colab.py): drive.mount only."""\n',
    "google/colab/drive.py": textwrap.dedent('''\
        """Stand-in for google.colab.drive: a folder with MyDrive in it, no Google account."""
        import os


        def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
            os.makedirs(os.path.join(mountpoint, "MyDrive"), exist_ok=True)
            print("Mounted at " + mountpoint)
        '''),
}


def write_stand_in(where: Path) -> None:
    for relative, text in STAND_IN.items():
        (where / relative).parent.mkdir(parents=True, exist_ok=True)
        (where / relative).write_text(text, encoding="utf-8")


def git(*arguments: str, cwd: Path) -> str:
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
                           "-c", "init.defaultBranch=main", *arguments], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


def repository_of_this_tree(where: Path) -> Path:
    """This working tree (tracked and new files, as they are now) committed into a new git repository."""
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=REPO).split("\0")
    for relative in filter(None, listed):
        source = REPO / relative
        if source.is_file():
            (where / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / relative)
    git("init", "-q", cwd=where)
    git("add", "-A", cwd=where)
    git("commit", "-q", "-m", "the course", cwd=where)
    return where


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> str:
    """``MNIST_KIT_REPOSITORY`` for a local copy: ``git clone`` and ``pip install git+…`` both take it."""
    return "file://" + str(repository_of_this_tree(tmp_path_factory.mktemp("repository")))


@pytest.fixture
def on_colab(tmp_path, monkeypatch, repository):
    """This process as if on Colab: the stand-in importable, /content in tmp_path, the local repository."""
    stand_in = tmp_path / "stand-in"
    write_stand_in(stand_in)
    monkeypatch.setattr(sys, "path", [str(stand_in), *sys.path])
    for name in [n for n in sys.modules if n == "google.colab" or n.startswith("google.colab.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in [n for n in sys.modules if n == "mnist_tasks" or n.startswith("mnist_tasks.")]:
        monkeypatch.delitem(sys.modules, name)
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.setenv("MNIST_COLAB_CONTENT", str(content))
    monkeypatch.setenv("MNIST_KIT_REPOSITORY", repository)
    monkeypatch.chdir(content)
    yield content / "drive" / "MyDrive" / "mnist-tasks"
    for name in [n for n in sys.modules if n == "google.colab" or n.startswith("google.colab.")]:
        sys.modules.pop(name, None)


def released_files(assignment_id: str) -> set[str]:
    folder = assignments.COURSE / "source" / assignment_id
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


# --- the notebooks' Colab block and last cells -----------------------------------------------------

@pytest.mark.parametrize("assignment", assignments.ASSIGNMENTS, ids=lambda a: a.id)
def test_each_notebook_starts_with_the_colab_block_and_ends_with_the_pack_cell(assignment):
    notebook = nbformat.read(assignments.COURSE / "source" / assignment.id / f"{assignment.notebook}.ipynb", as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert first is copies.setup_cell(notebook, assignment)
    assert first.metadata.nbgrader == {"grade": False, "grade_id": f"{assignment.id}_setup", "locked": True,
                                       "schema_version": 3, "solution": False, "task": False}
    assert first.source.split("\n", 1)[1].startswith(colab.colab_block(assignment.id))
    # autoreload is switched on after the block's chdir
    assert first.source.index("colab.work_in_drive(") < first.source.index("%autoreload 2")
    assert notebook.cells[-1].source == f'# 提出用の zip を作る / make the zip to hand in (学生 ID を書く / write your student ID)\nfrom mnist_course.colab import pack\nzip_path = pack("{assignment.id}", student="")'
    assert notebook.cells[-1].cell_type == "code" and "nbgrader" not in notebook.cells[-1].metadata
    assert notebook.cells[-2].cell_type == "markdown" and "LMS" in notebook.cells[-2].source


def test_check_reports_a_stale_colab_block_and_sync_restores_it(tmp_path):
    shutil.copytree(assignments.COURSE / "source", tmp_path / "source")
    path = tmp_path / "source" / "ps3" / "ps3_two_layer.ipynb"
    notebook = nbformat.read(path, as_version=4)
    setup = copies.setup_cell(notebook, assignments.BY_ID["ps3"])
    setup.source = setup.source.replace(colab.REPOSITORY, "https://github.com/someone/else")
    notebook.cells = notebook.cells[:-1]
    nbformat.write(notebook, path)
    assert copies.out_of_sync(tmp_path) == ["ps3/ps3_two_layer.ipynb: its Colab cells differ from mnist_course/colab.py"]
    copies.sync(tmp_path)
    assert copies.out_of_sync(tmp_path) == []
    assert path.read_bytes() == (assignments.COURSE / "source" / "ps3" / "ps3_two_layer.ipynb").read_bytes()


def block_run(code: str, *python_options: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MNIST_COLAB", "MNIST_KIT"))}
    return subprocess.run([sys.executable, *python_options, "-c", code], cwd=cwd, capture_output=True,
                          text=True, env=environment, timeout=120)


def test_the_colab_block_does_nothing_off_colab(tmp_path):
    block = colab.colab_block("ps1") + "import os\nprint('cwd', os.getcwd())\n"
    # Here: `google` exists (protobuf's namespace package), `google.colab` does not.
    assert subprocess.run([sys.executable, "-c", "import google.protobuf"]).returncode == 0
    completed = block_run(block, cwd=tmp_path)
    assert completed.returncode == 0 and completed.stdout == f"cwd {tmp_path}\n", completed.stderr
    assert completed.stderr == ""
    # No `google` at all, and no kit either (-S: no site-packages): still nothing, no pip.
    completed = block_run(block, "-S", cwd=tmp_path)
    assert completed.returncode == 0 and completed.stdout == f"cwd {tmp_path}\n", completed.stderr
    assert completed.stderr == "" and list(tmp_path.iterdir()) == []


def test_readme_links_open_each_notebook_in_colab_from_the_repository():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for assignment in assignments.ASSIGNMENTS:
        url = colab.open_in_colab_url(assignment.id)
        assert url == (f"https://colab.research.google.com/github/mnist-tasks/mnist-tasks/blob/main/assignments/"
                       f"source/{assignment.id}/{assignment.notebook}.ipynb")
        assert f"]({url})" in readme, f"README has no Open in Colab link for {assignment.id}: {url}"
        assert (REPO / url.split("/blob/main/")[1]).is_file()
    assert readme.count("https://colab.research.google.com/github/") == len(assignments.ASSIGNMENTS)
    assert colab.REPOSITORY in readme


# --- work_in_drive ----------------------------------------------------------------------------------

def test_work_in_drive_makes_the_folder_then_never_overwrites_the_students_files(on_colab, capsys):
    folder = colab.work_in_drive("ps1")
    assert folder == on_colab / "ps1" and Path.cwd() == folder and sys.path[0] == str(folder)
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert files == released_files("ps1")
    for relative in files:
        assert (folder / relative).read_bytes() == (assignments.COURSE / "source" / "ps1" / relative).read_bytes()
    said = capsys.readouterr().out
    assert "Mounted at" in said and f"working folder: {folder}" in said and "作成しました" in said

    # The student's edit stays; a file lost is fetched again; nothing else is touched.
    (folder / "mnist_tasks" / "preprocessing.py").write_text("# my work\n", encoding="utf-8")
    (folder / "pytest.ini").unlink()
    os.chdir(on_colab.parent)
    colab.work_in_drive("ps1")
    assert (folder / "mnist_tasks" / "preprocessing.py").read_text(encoding="utf-8") == "# my work\n"
    assert (folder / "pytest.ini").is_file() and Path.cwd() == folder
    said = capsys.readouterr().out
    assert "created: pytest.ini" in said and "mnist_tasks/preprocessing.py" in said and "never overwritten" in said

    # Everything there: no fetch at all (a runtime reset with no network still works).
    os.environ["MNIST_KIT_REPOSITORY"] = "file:///nonexistent/repository"
    colab.work_in_drive("ps1")
    assert "all files are there" in capsys.readouterr().out
    assert sys.path.count(str(folder)) == 1


def test_the_next_assignment_starts_from_the_previous_assignments_files(on_colab, capsys):
    previous = on_colab / "ps1" / "mnist_tasks"
    previous.mkdir(parents=True)
    for name in assignments.STUDENT_FILES:
        (previous / name).write_text(f"# ps1 {name}\n", encoding="utf-8")
    folder = colab.work_in_drive("ps2")
    for name in assignments.STUDENT_FILES:
        assert (folder / "mnist_tasks" / name).read_text(encoding="utf-8") == f"# ps1 {name}\n"
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert files == released_files("ps2")
    said = capsys.readouterr().out
    assert "copied your files from the previous assignment" in said and "mnist_tasks/models.py" in said
    # Only for a new folder: ps3 exists already, so nothing is carried into it.
    (on_colab / "ps3").mkdir()
    colab.work_in_drive("ps3")
    assert (on_colab / "ps3" / "mnist_tasks" / "models.py").read_bytes() == \
        (assignments.COURSE / "source" / "ps3" / "mnist_tasks" / "models.py").read_bytes()


def test_work_in_drive_lets_ipython_7_load_autoreload(on_colab, monkeypatch):
    import importlib
    import importlib.util

    # Python 3.12 and newer (Colab's 3.13) have no imp, which IPython 7.34's autoreload imports.
    monkeypatch.delitem(sys.modules, "imp", raising=False)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "imp" else find_spec(name, *rest))
    colab.work_in_drive("ps1")
    imp = importlib.import_module("imp")
    assert imp.reload is importlib.reload
    monkeypatch.delitem(sys.modules, "imp")


# --- pack ---------------------------------------------------------------------------------------------

def assignment_folder(where: Path, assignment_id: str = "ps1") -> Path:
    folder = where / assignment_id
    shutil.copytree(assignments.COURSE / "source" / assignment_id, folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in assignments.STUDENT_FILES:
        shutil.copy(assignments.REFERENCE / name, folder / "mnist_tasks" / name)
    (folder / "mnist_tasks" / "__pycache__").mkdir()
    (folder / "mnist_tasks" / "__pycache__" / "x.cpython-313.pyc").write_bytes(b"\0")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "ps1_preprocessing-checkpoint.ipynb").write_text("{}")
    (folder / "notes.txt").write_text("mine")
    return folder


def expected_members(assignment: assignments.Assignment) -> set[str]:
    return {f"{assignment.id}/{assignment.notebook}.ipynb",
            *(f"{assignment.id}/mnist_tasks/{p.name}" for p in assignments.STUBS.glob("*.py"))}


def test_pack_zips_the_notebook_and_the_package_off_colab_from_the_current_folder(tmp_path, monkeypatch, capsys):
    folder = assignment_folder(tmp_path)
    monkeypatch.chdir(folder)
    path = colab.pack("ps1", student="s001")
    assert path == tmp_path / "ps1_s001.zip"
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == expected_members(assignments.BY_ID["ps1"])
        assert archive.read("ps1/mnist_tasks/models.py") == (assignments.REFERENCE / "models.py").read_bytes()
    assert str(path) in capsys.readouterr().out
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("student", ["", "  ", "../x", "山田", "a b", "x" * 65])
def test_pack_asks_for_a_usable_student_id_without_a_traceback(tmp_path, monkeypatch, capsys, student):
    monkeypatch.chdir(assignment_folder(tmp_path))
    assert colab.pack("ps1", student=student) is None
    said = capsys.readouterr().out
    assert "学生 ID を" in said and "write your student ID" in said
    assert not list(tmp_path.glob("*.zip"))


def test_pack_says_when_it_is_not_in_the_assignment_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert colab.pack("ps1", student="s001") is None
    assert "is not the ps1 folder" in capsys.readouterr().out


def test_pack_on_colab_packs_the_drive_folder_and_copes_without_files_download(on_colab, capsys):
    folder = colab.work_in_drive("ps1")
    os.chdir(on_colab.parent.parent.parent)          # /content, as after a runtime reset
    path = colab.pack("ps1", student="s001")
    assert path == on_colab / "ps1_s001.zip" and path.is_file()
    assert "could not start the download" in capsys.readouterr().out   # no google.colab.files here
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == expected_members(assignments.BY_ID["ps1"])
    assert folder.is_dir()


def import_with_zip_collect(tmp_path: Path, packed: Path) -> Path:
    """The zip, uploaded to Moodle by s001 and downloaded by the instructor, imported by nbgrader."""
    from tests.test_lms import (EXTRACTOR, MOODLE, MOODLE_WORKSHEET, STUDENTS, run_nbgrader, write_csv,
                                write_zip)
    from nbgrader.api import Gradebook

    root = tmp_path / "instructor"
    shutil.copytree(assignments.COURSE / "source" / "ps1", root / "release" / "ps1",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'colab-test'\n"
                                             "c.MoodleCollector.timezone = 'Asia/Tokyo'\n")
    environment_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment_path}"   # alembic
    try:
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "colab-test") as gradebook:
            for sid, first, last, email in STUDENTS:
                gradebook.add_student(sid, first_name=first, last_name=last, email=email)
    finally:
        os.environ["PATH"] = environment_path
    archive = root / "downloaded" / "ps1" / "archive"
    archive.mkdir(parents=True)
    # Moodle's "Download all submissions": a folder per student holding the files as uploaded.
    write_zip(archive / "MNIST-ps1-42.zip",
              {f"Yamada Hanako_101_assignsubmission_file_/{packed.name}": packed.read_bytes()})
    write_csv(root / "downloaded" / "ps1" / "roster.csv", MOODLE_WORKSHEET)
    result = run_nbgrader(root, "zip_collect", "ps1", EXTRACTOR, MOODLE)
    assert result.returncode == 0, result.log
    return root / "submitted" / "s001" / "ps1"


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_the_packed_zip_imports_with_zip_collect_and_the_moodle_collector(tmp_path, monkeypatch):
    monkeypatch.chdir(assignment_folder(tmp_path))
    packed = colab.pack("ps1", student="s001")
    submitted = import_with_zip_collect(tmp_path, packed)
    files = {p.relative_to(submitted).as_posix() for p in submitted.rglob("*") if p.is_file()}
    assert files == {m.removeprefix("ps1/") for m in expected_members(assignments.BY_ID["ps1"])} | {"timestamp.txt"}
    for name in assignments.STUDENT_FILES:
        assert (submitted / "mnist_tasks" / name).read_bytes() == (assignments.REFERENCE / name).read_bytes()


# --- a Colab-like environment, the real notebook under nbclient --------------------------------------

def colab_python() -> str | None:
    """Colab's Python (os-info.txt at the commit tests/colab/requirements.txt cites): 3.13."""
    candidates = [os.environ.get("MNIST_COLAB_PYTHON"), shutil.which("python3.13"),
                  *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))]
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "--version"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.startswith("Python 3.13"):
            return candidate
    return None


# Run in the Colab-like environment's Python: nbclient (Colab's version) executes a notebook with
# that environment's ipykernel, from the given working directory, and writes it back with outputs.
RUNNER = """\
import sys, nbformat, nbclient
source, target, cwd = sys.argv[1:4]
notebook = nbformat.read(source, as_version=4)
client = nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3", allow_errors=False,
                                 resources={"metadata": {"path": cwd}})
try:
    client.execute()
finally:
    nbformat.write(notebook, target)
"""


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
    return "".join(parts)


@pytest.mark.slow      # a fresh environment with TensorFlow (~1 min with pip's cache), two kernels, the grader
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_the_ps1_notebook_in_a_colab_like_environment(tmp_path, repository, mnist_path):
    python = colab_python()
    if python is None:
        pytest.skip("no Python 3.13 (Colab's) on this machine: set MNIST_COLAB_PYTHON")
    started = time.perf_counter()
    venv = tmp_path / "colab-venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    vpython = venv / "bin" / "python"
    installed = subprocess.run([str(vpython), "-m", "pip", "install", "-q", "-r",
                                str(REPO / "tests" / "colab" / "requirements.txt")],
                               capture_output=True, text=True, timeout=3600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    site = Path(subprocess.run([str(vpython), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    write_stand_in(site)
    print(f"\nColab-like environment ({subprocess.check_output([str(vpython), '--version'], text=True).strip()},"
          f" tests/colab/requirements.txt): {time.perf_counter() - started:.0f} s")

    def freeze() -> set[str]:
        return set(subprocess.run([str(vpython), "-m", "pip", "freeze"], capture_output=True, text=True,
                                  check=True).stdout.splitlines())

    before = freeze()
    content = tmp_path / "content"
    content.mkdir()
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NBGRADER_EXECUTION") and not k.startswith("MNIST_")}
    environment.update(MNIST_COLAB_CONTENT=str(content), MNIST_KIT_REPOSITORY=repository, MNIST_NPZ=str(mnist_path),
                       PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", TF_CPP_MIN_LOG_LEVEL="3",
                       JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter" / "config"),
                       JUPYTER_DATA_DIR=str(tmp_path / "jupyter" / "data"),
                       JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter" / "runtime"))
    (tmp_path / "runner.py").write_text(RUNNER, encoding="utf-8")

    def run(notebook: nbformat.NotebookNode, name: str) -> tuple[nbformat.NotebookNode, float, str]:
        source, target = tmp_path / f"{name}.ipynb", tmp_path / f"{name}-out.ipynb"
        nbformat.write(notebook, source)
        began = time.perf_counter()
        done = subprocess.run([str(vpython), str(tmp_path / "runner.py"), str(source), str(target), str(content)],
                              cwd=content, env=environment, capture_output=True, text=True, timeout=3600)
        elapsed = time.perf_counter() - began
        assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
        return nbformat.read(target, as_version=4), elapsed, done.stderr

    assignment = assignments.BY_ID["ps1"]
    real = nbformat.read(assignments.COURSE / "source" / "ps1" / f"{assignment.notebook}.ipynb", as_version=4)
    setup_index = real.cells.index(copies.setup_cell(real, assignment))
    probe = nbformat.v4.new_code_cell("import os, sys, mnist_tasks, mnist_kit\n"
                                      "print(os.getcwd()); print(mnist_tasks.__file__); print(mnist_kit.__file__)\n"
                                      "print(sorted(get_ipython().extension_manager.loaded))")

    # 1. A new runtime: the set-up cell installs the kit and makes the Drive folder.
    first = nbformat.v4.new_notebook(cells=[*real.cells[:setup_index + 1], probe], metadata=real.metadata)
    executed, elapsed, _ = run(first, "first")
    print(f"first run of the set-up cell (pip install from the repository, Drive folder): {elapsed:.0f} s")
    setup_said = outputs_text(executed.cells[setup_index])
    folder = content / "drive" / "MyDrive" / "mnist-tasks" / "ps1"
    assert f"working folder: {folder}" in setup_said, setup_said
    assert outputs_text(executed.cells[-1]).splitlines()[:2] == [str(folder), str(folder / "mnist_tasks" / "__init__.py")]
    assert str(site) in outputs_text(executed.cells[-1]).splitlines()[2]
    assert "'autoreload'" in outputs_text(executed.cells[-1]).splitlines()[3]     # %load_ext autoreload worked
    print("the set-up cell said:\n" + "".join(o.text for o in executed.cells[setup_index].outputs
                                               if o.output_type == "stream" and o.name == "stdout"))
    added, removed = freeze() - before, before - freeze()
    assert removed == set() and len(added) == 1 and added.pop().startswith("mnist-tasks @ git+file://"), (added, removed)
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files == released_files("ps1")

    # 2. The student's work in Drive; a runtime reset (new kernel); the whole notebook, pack cell filled in.
    for name in assignments.STUDENT_FILES:
        shutil.copy(assignments.REFERENCE / name, folder / "mnist_tasks" / name)
    whole = nbformat.from_dict(json.loads(json.dumps(real)))
    assert whole.cells[-1].source.endswith('zip_path = pack("ps1", student="")')
    whole.cells[-1].source = whole.cells[-1].source.replace('student=""', 'student="s001"')
    executed, elapsed, _ = run(whole, "whole")
    print(f"the whole notebook after a runtime reset: {elapsed:.0f} s")
    assert "all files are there" in outputs_text(executed.cells[setup_index])
    for name in assignments.STUDENT_FILES:
        assert (folder / "mnist_tasks" / name).read_bytes() == (assignments.REFERENCE / name).read_bytes()
    graded = 0
    for cell in executed.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            said = outputs_text(cell)
            assert not any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs), said
            result = next(o for o in cell.outputs if o.output_type == "execute_result")
            assert float(result.data["text/plain"]) == meta["points"], said
            print(f"grade cell {meta['grade_id']} ({meta['points']} points) printed:\n{said.strip()}")
            graded += meta["points"]
    assert graded == 10

    # 3. `!pytest autograder/` in the Drive folder, with the environment's pytest.
    began = time.perf_counter()
    checked = subprocess.run(["pytest", "autograder/"], cwd=folder, env=environment, capture_output=True,
                             text=True, timeout=1200)
    print(f"`pytest autograder/` in {folder} ({time.perf_counter() - began:.0f} s), last lines:\n"
          + "\n".join(checked.stdout.strip().splitlines()[-3:]))
    assert checked.returncode == 0, checked.stdout[-3000:]
    # The score, then the page with figures and tables (autograder/conftest.py), last.
    *_, before, score, page = checked.stdout.strip().splitlines()
    assert "10 / 10" in score and page.endswith(str(folder / "mnist-feedback.html")), checked.stdout[-1000:]
    # Colab's matplotlib and pyparsing disagree on names (14 DeprecationWarnings): pytest.ini filters them.
    assert "warning" not in before, checked.stdout[-3000:]

    # 4. The zip, beside the folder in Drive, and nbgrader's zip_collect (instructor side, this environment).
    pack_said = outputs_text(executed.cells[-1])
    packed = folder.parent / "ps1_s001.zip"
    assert str(packed) in pack_said, pack_said
    print(f"the pack cell said:\n{pack_said.strip()}")
    with zipfile.ZipFile(packed) as archive:
        assert set(archive.namelist()) == expected_members(assignment)
    submitted = import_with_zip_collect(tmp_path, packed)
    for name in assignments.STUDENT_FILES:
        assert (submitted / "mnist_tasks" / name).read_bytes() == (assignments.REFERENCE / name).read_bytes()
    assert (submitted / f"{assignment.notebook}.ipynb").is_file()

    # 5. The course itself: release, zip_collect the same download, autograde, export: full marks.
    began = time.perf_counter()
    copy = course.CourseCopy(tmp_path / "course")
    copy.release("ps1")
    copy.nbgrader("db", "student", "add", "s001", "--first-name=Hanako", "--last-name=Yamada",
                  "--email=hanako@uni.example")
    downloaded = copy.root / "downloaded" / "ps1"
    shutil.copytree(tmp_path / "instructor" / "downloaded" / "ps1" / "archive", downloaded / "archive")
    shutil.copy(tmp_path / "instructor" / "downloaded" / "ps1" / "roster.csv", downloaded / "roster.csv")
    copy.nbgrader("zip_collect", "ps1", "--extractor=mnist_course.lms.LMSExtractor",
                  "--collector=mnist_course.lms.moodle.MoodleCollector")
    copy.autograde("ps1", "s001")
    rows = [row for row in copy.export() if row["student_id"] == "s001" and row["assignment"] == "ps1"]
    print(f"instructor: release, zip_collect, autograde, export: {time.perf_counter() - began:.0f} s;"
          f" s001 ps1 {rows[0]['score']} / {rows[0]['max_score']}")
    assert float(rows[0]["score"]) == float(rows[0]["max_score"]) == 10.0
    print(f"total: {time.perf_counter() - started:.0f} s")

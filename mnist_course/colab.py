"""Google Colab: an assignment folder in the student's Google Drive, and the zip to hand in.

Each notebook's set-up cell starts with a block (``colab_block`` below, written into the
notebooks by ``mnist-course sync``) that, on Colab only, installs the kit from ``REPOSITORY`` and
calls :func:`work_in_drive`; the notebook's last cell calls :func:`pack`. Off Colab the block does
nothing and this module is imported only when a student calls :func:`pack` themselves.

Standard library only (and the assignment table, ``mnist_course.assignments``): it runs in the student's install.
Environment: ``MNIST_KIT_REPOSITORY`` replaces ``REPOSITORY`` (a fork, or a local
``file:///…`` repository in the tests); ``MNIST_COLAB_CONTENT`` replaces ``/content``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from mnist_course.assignments import ASSIGNMENTS, BY_ID, STUDENT_FILES

# The course's repository: the kit is installed from it (pip's `git+URL`) and the assignment
# folders are fetched from it. A course that forks the kit changes it here and runs
# `mnist-course sync` (the notebooks' set-up cells and README's "Open in Colab" links follow).
REPOSITORY = "https://github.com/mnist-tasks/mnist-tasks"
BRANCH = "main"

# The folder in the student's Drive that holds one folder per assignment.
DRIVE_FOLDER = "mnist-tasks"

# What ``pack`` accepts as a student's name in the zip's file name.
_STUDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def repository() -> str:
    """The repository URL in use: ``$MNIST_KIT_REPOSITORY``, else ``REPOSITORY``."""
    return os.environ.get("MNIST_KIT_REPOSITORY") or REPOSITORY


def open_in_colab_url(assignment_id: str, repository_url: str = REPOSITORY, branch: str = BRANCH) -> str:
    """Colab's link that opens an assignment's notebook straight from the (GitHub) repository."""
    path = repository_url.removeprefix("https://github.com/").removesuffix(".git").strip("/")
    notebook = BY_ID[assignment_id].notebook
    return (f"https://colab.research.google.com/github/{path}/blob/{branch}"
            f"/assignments/source/{assignment_id}/{notebook}.ipynb")


def colab_block(assignment_id: str) -> str:
    """The first lines of an assignment's set-up cell: Colab's set-up; off Colab, nothing."""
    return COLAB_BLOCK.format(repository=REPOSITORY, assignment=assignment_id)


COLAB_BLOCK = """\
# Google Colab だけ: キットを入れ、Google ドライブの課題フォルダで作業する (他の環境では何もしない)
# Google Colab only: install the kit, work in the assignment's folder in Google Drive (elsewhere: nothing)
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("google") and importlib.util.find_spec("google.colab"):
    if importlib.util.find_spec("mnist_course") is None:   # この実行環境で初回 / first time in this runtime
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+" + os.environ.get(
            "MNIST_KIT_REPOSITORY", "{repository}")], check=True)
        importlib.invalidate_caches()
    from mnist_course import colab
    colab.work_in_drive("{assignment}")
"""


def on_colab() -> bool:
    return bool(importlib.util.find_spec("google") and importlib.util.find_spec("google.colab"))


def content() -> Path:
    """Colab's working area, ``/content`` (``$MNIST_COLAB_CONTENT`` in the tests)."""
    return Path(os.environ.get("MNIST_COLAB_CONTENT") or "/content")


def drive_root() -> Path:
    """``MyDrive/mnist-tasks`` in the mounted Drive (not mounted here: see :func:`work_in_drive`)."""
    return content() / "drive" / "MyDrive" / DRIVE_FOLDER


def _say(ja: str, en: str) -> None:
    print(f"{ja}\n  / {en}", flush=True)


def _assignment(assignment_id: str):
    if assignment_id not in BY_ID:
        raise ValueError(f"課題がありません / no such assignment: {assignment_id!r} "
                         f"({', '.join(a.id for a in ASSIGNMENTS)})")
    return BY_ID[assignment_id]


def _core_files(assignment_id: str) -> list[str]:
    """The files an assignment folder cannot work without (the clone brings every other one)."""
    notebook = f"{BY_ID[assignment_id].notebook}.ipynb"
    return [notebook, "pytest.ini", "autograder/test_self_check.py", "mnist_tasks/__init__.py",
            *(f"mnist_tasks/{name}" for name in STUDENT_FILES)]


def _clone(destination: Path) -> Path:
    """A shallow clone of the course's repository (what a fresh folder is made from)."""
    url = repository().removeprefix("git+")
    completed = subprocess.run(["git", "clone", "--quiet", "--depth", "1", url, str(destination)],
                               capture_output=True, text=True, timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(f"課題を取得できません / cannot fetch the assignment from {url}:\n"
                           f"{completed.stderr.strip()}")
    return destination


def _assignment_files(source: Path) -> dict[str, Path]:
    """An assignment folder's files in the repository (relative path → file)."""
    files = {f"mnist_tasks/{path.name}": path for path in sorted((source / "mnist_tasks").glob("*.py"))}
    for relative in ("pytest.ini", "autograder/test_self_check.py"):
        files[relative] = source / relative
    for path in sorted(source.glob("*.ipynb")):
        files[path.name] = path
    return files


def autoreload_importable() -> bool:
    """Let IPython 7's ``%load_ext autoreload`` import on Python 3.12 and newer; True if it had to.

    Colab pairs Python 3.13 with IPython 7.34.0, whose autoreload extension starts with
    ``from imp import reload``; Python 3.12 removed ``imp``, so ``%load_ext autoreload`` fails
    there (googlecolab/colabtools#5580, #6074; IPython fixed it in 8.0, ipython/ipython#13228).
    ``reload`` is all it takes from ``imp``: a module ``imp`` holding ``importlib.reload``.
    """
    if "imp" in sys.modules or importlib.util.find_spec("imp") is not None:
        return False
    import types

    imp = types.ModuleType("imp", "Stand-in for the removed imp module (mnist_course.colab): reload only.")
    imp.reload = importlib.reload
    sys.modules["imp"] = imp
    return True


def work_in_drive(assignment_id: str, mount: bool = True) -> Path:
    """Make ``MyDrive/mnist-tasks/<assignment>/`` the working folder; return it.

    Mounts Google Drive (Colab asks the student's permission once per runtime), creates the
    folder from the course's repository if it lacks anything, never overwriting a file that is
    there (the student's work), and starts a new assignment with the student's files of the
    previous one when its folder exists. Then works from there: the current directory (which
    the grade cells and ``pytest autograder/`` grade) and the first entry of ``sys.path`` (which
    ``import mnist_tasks`` reads).
    """
    assignment = _assignment(assignment_id)
    if mount:
        from google.colab import drive

        drive.mount(str(content() / "drive"))
    root = drive_root()
    folder = root / assignment.id
    new = not folder.exists()
    created, kept, carried = [], [], []

    if new:
        index = [a.id for a in ASSIGNMENTS].index(assignment.id)
        previous = root / ASSIGNMENTS[index - 1].id / "mnist_tasks" if index else None
        if previous is not None and previous.is_dir():
            (folder / "mnist_tasks").mkdir(parents=True)
            for name in STUDENT_FILES:
                if (previous / name).is_file():
                    shutil.copy2(previous / name, folder / "mnist_tasks" / name)
                    carried.append(f"mnist_tasks/{name}")
    missing = [relative for relative in _core_files(assignment.id) if not (folder / relative).is_file()]
    if missing:
        with tempfile.TemporaryDirectory(prefix="mnist-tasks-") as temporary:
            clone = _clone(Path(temporary) / "repository")
            source = clone / "assignments" / "source" / assignment.id
            files = _assignment_files(source)
            if not files:
                raise RuntimeError(f"リポジトリに課題がありません / the repository has no {source.relative_to(clone)}")
            for relative, path in files.items():
                target = folder / relative
                if target.exists():
                    kept.append(relative)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                created.append(relative)
    kept = sorted(set(kept) - set(carried))

    os.chdir(folder)
    if sys.path[:1] != [str(folder)]:
        while str(folder) in sys.path:
            sys.path.remove(str(folder))
        sys.path.insert(0, str(folder))
    # A package imported before from elsewhere would shadow this folder's.
    for name in [n for n in sys.modules if n == "mnist_tasks" or n.startswith("mnist_tasks.")]:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if not module_file.startswith(str(folder) + os.sep):
            del sys.modules[name]
    importlib.invalidate_caches()
    autoreload_importable()   # the set-up cell's %load_ext autoreload comes next

    _say(f"作業フォルダ: {folder}", f"working folder: {folder}")
    if carried:
        _say(f"{ASSIGNMENTS[[a.id for a in ASSIGNMENTS].index(assignment.id) - 1].id} から自分のファイルをコピーしました: "
             f"{', '.join(carried)}",
             f"copied your files from the previous assignment: {', '.join(carried)}")
    if created:
        _say(f"作成しました: {', '.join(created)}", f"created: {', '.join(created)}")
    if kept and not new:
        _say(f"既にあるファイルはそのまま (上書きしません): {', '.join(kept)}",
             f"kept the files already there (never overwritten): {', '.join(kept)}")
    if not created and not carried:
        _say("ファイルはすべて揃っています (上書きしません)。", "all files are there (nothing overwritten).")
    _say(f"mnist_tasks/*.py は左の「ファイル」の drive/MyDrive/{DRIVE_FOLDER}/{assignment.id}/ から開いて編集します。",
         f"edit mnist_tasks/*.py from the Files pane on the left: drive/MyDrive/{DRIVE_FOLDER}/{assignment.id}/.")
    return folder


def submission_files(folder: Path, assignment_id: str) -> list[str]:
    """What ``pack`` puts in the zip: the notebook and the package (relative paths)."""
    notebook = f"{BY_ID[assignment_id].notebook}.ipynb"
    files = [notebook] if (folder / notebook).is_file() else []
    files += [f"mnist_tasks/{path.name}" for path in sorted((folder / "mnist_tasks").glob("*.py"))]
    return files


def pack(assignment_id: str, student: str, folder: str | Path | None = None) -> Path | None:
    """Zip the assignment for the LMS: ``<assignment>_<student>.zip`` beside the assignment folder.

    The zip holds ``<assignment>/<notebook>.ipynb`` and ``<assignment>/mnist_tasks/*.py``, the
    layout that ``nbgrader zip_collect`` with the kit's Moodle and Canvas collectors imports
    (docs/lms.md). The folder: ``folder`` if given, else on Colab the assignment's Drive folder,
    else the current directory. On Colab the browser is also asked to download it. Returns the
    zip's path, or None (with a message) when it cannot be made.
    """
    assignment = _assignment(assignment_id)
    student = (student or "").strip()
    if not _STUDENT.fullmatch(student):
        _say(f"学生 ID を student=\"...\" に書いてから実行してください (英数字と . _ - だけ、64 文字まで): {student!r}",
             f"write your student ID in student=\"...\" and run the cell again (letters, digits, . _ - only;"
             f" at most 64): {student!r}")
        return None
    if folder is None:
        drive_folder = drive_root() / assignment.id
        folder = drive_folder if on_colab() and drive_folder.is_dir() else Path.cwd()
    folder = Path(folder).resolve()
    files = submission_files(folder, assignment.id)
    if f"{assignment.notebook}.ipynb" not in files or not any(f.startswith("mnist_tasks/") for f in files):
        _say(f"{folder} は {assignment.id} の課題フォルダではありません ({assignment.notebook}.ipynb と mnist_tasks/ が必要)",
             f"{folder} is not the {assignment.id} folder (it needs {assignment.notebook}.ipynb and mnist_tasks/)")
        return None
    target = folder.parent / f"{assignment.id}_{student}.zip"
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            archive.write(folder / relative, f"{assignment.id}/{relative}")
    partial.replace(target)
    _say(f"提出用の zip を作りました: {target} ({len(files)} ファイル)。これを LMS (Moodle / Canvas) に提出します。",
         f"made the zip to hand in: {target} ({len(files)} files); upload it to the course's LMS (Moodle / Canvas).")
    if on_colab():
        try:
            from google.colab import files as colab_files

            colab_files.download(str(target))
        except Exception as exc:  # noqa: BLE001 - no browser to download to: the zip is in Drive anyway
            _say(f"ダウンロードできませんでした ({type(exc).__name__}); zip は Google ドライブにあります",
                 f"could not start the download ({type(exc).__name__}); the zip is in your Google Drive")
    return target

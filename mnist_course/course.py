"""The ``mnist-course`` command (``python -m mnist_course`` too): the nbgrader course in ``assignments/``,
its copies of the student package, a dry run, and the subcommands of the instructor's other tools.

    mnist-course sync                      # refresh assignments/source/*/ (mnist_course/copies.py)
    mnist-course check                     # exit 1 if those copies are stale (tests/test_course.py too)
    mnist-course dry-run                   # a temporary course: release, submit the reference, autograde
    mnist-course secret [--course DIR]     # create the course's secret of the hidden checks (once)
    mnist-course autograde ps1 [...]       # a class graded on Dask (mnist_course/classgrade.py)
    mnist-course report [--course DIR]     # the class report of a graded course (mnist_course/report/)

Why copies: nbgrader collects, restores and returns only what lies inside an assignment's folder,
and a student's work is the ``mnist_tasks`` package, so every ``assignments/source/psN/`` holds the
whole package (the notebook imports it from there, as the student's kernel will). The copies are
generated, never edited: ``mnist_tasks/`` (itself generated from ``solutions/`` by
``mnist-make-stubs``) stays the one source, ``sync`` copies it, and ``check`` fails while any copy
differs. They are stubs, so the release nbgrader makes of them holds no solution code.

The notebooks' Colab parts are generated the same way (``sync`` writes them, ``check`` fails while
one differs): the block at the top of each set-up cell (``mnist_course.colab.colab_block``: on Colab,
install the kit and work in the assignment's Google Drive folder) and the last two cells (make the
zip to hand in, ``mnist_course.colab.pack``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import secret as course_secret
from mnist_course.assignments import ASSIGNMENTS, BY_ID, COURSE, REFERENCE, REPO, STUDENT_FILES
from mnist_course.copies import out_of_sync, sync
from mnist_kit.runtime import path_with_this_python

# --- a throw-away copy of the course, driven through nbgrader's own commands -----------------------

class NbgraderError(RuntimeError):
    pass


class CourseCopy:
    """The course's source and config copied to ``root``, run with ``python -m nbgrader`` there.

    Used by tests/test_course_roundtrip.py and by ``dry-run``; instructors can use it to rehearse.
    """

    def __init__(self, root: Path, source: Path = COURSE):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / "nbgrader_config.py", self.root / "nbgrader_config.py")
        course_secret.create(self.root)   # the copy's own secret for its hidden checks (autograder.secret)
        shutil.copytree(source / "source", self.root / "source",
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc"))
        self.log: list[tuple[str, float]] = []

    def environment(self) -> dict[str, str]:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
        env.pop("NBGRADER_EXECUTION", None)
        env["PATH"] = path_with_this_python(env.get("PATH"))
        # Jupyter's own files (config, data, runtime) stay in the copy, away from the user's: no
        # ~/.jupyter config and no user-level "python3" kernel that points at another Python. The
        # kernel is then this environment's own (ipykernel's, run with sys.executable).
        env["JUPYTER_CONFIG_DIR"] = str(self.root / ".jupyter" / "config")
        env["JUPYTER_DATA_DIR"] = str(self.root / ".jupyter" / "data")
        env["JUPYTER_RUNTIME_DIR"] = str(self.root / ".jupyter" / "runtime")
        return env

    def nbgrader(self, *arguments: str, timeout: float = 3600) -> subprocess.CompletedProcess:
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=self.root,
                                   env=self.environment(), capture_output=True, text=True, timeout=timeout)
        self.log.append((" ".join(arguments), time.perf_counter() - started))
        if completed.returncode != 0:
            raise NbgraderError(f"nbgrader {' '.join(arguments)} failed ({completed.returncode}):\n"
                                f"{completed.stdout[-4000:]}\n{completed.stderr[-8000:]}")
        return completed

    def release(self, assignment: str) -> Path:
        self.nbgrader("generate_assignment", assignment, "--force")
        return self.root / "release" / assignment

    def submit(self, student: str, assignment: str, package: Path | None = None,
               files: dict[str, str] | None = None, edit_notebook=None) -> Path:
        """Hand in the release as ``student``: with ``package``'s task modules and ``files`` in place.

        ``edit_notebook(notebook_dict)`` may change the notebook (JSON) before it is submitted.
        """
        folder = self.root / "submitted" / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(self.root / "release" / assignment, folder)
        if package is not None:
            for name in STUDENT_FILES:
                shutil.copy(Path(package) / name, folder / "mnist_tasks" / name)
        for relative, text in (files or {}).items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text, encoding="utf-8")
        if edit_notebook is not None:
            path = folder / f"{BY_ID[assignment].notebook}.ipynb"
            notebook = json.loads(path.read_text(encoding="utf-8"))
            edit_notebook(notebook)
            path.write_text(json.dumps(notebook, ensure_ascii=False, indent=1), encoding="utf-8")
        (folder / "timestamp.txt").write_text("2025-01-01 00:00:00.000000 UTC", encoding="utf-8")
        return folder

    def autograde(self, assignment: str, student: str | None = None) -> float:
        started = time.perf_counter()
        arguments = ["autograde", assignment, "--force"]
        if student:
            arguments.append(f"--student={student}")
        self.nbgrader(*arguments)
        return time.perf_counter() - started

    def feedback(self, assignment: str) -> None:
        self.nbgrader("generate_feedback", assignment, "--force")

    def export(self) -> list[dict[str, str]]:
        import csv

        path = self.root / "grades.csv"
        self.nbgrader("export", f"--to={path}")
        with path.open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))


def dry_run(assignments: list[str], keep: Path | None = None) -> int:
    """Release each assignment, submit the reference as one student, autograde, print the times."""
    with tempfile.TemporaryDirectory(prefix="mnist-course-") as temporary:
        root = Path(keep) if keep else Path(temporary) / "course"
        course = CourseCopy(root)
        times = {}
        for assignment in assignments:
            course.release(assignment)
            course.submit("reference", assignment, package=REFERENCE)
            times[assignment] = course.autograde(assignment, "reference")
            print(f"{assignment}: autograde {times[assignment]:.1f} s", flush=True)
        rows = course.export()
        for row in rows:
            if row["student_id"] == "reference" and row["assignment"] in times:
                print(f"{row['assignment']}: {float(row['score']):g} / {float(row['max_score']):g}")
        print(f"autograde, one student, {len(times)} assignments: {sum(times.values()):.1f} s "
              f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})")
    return 0


def create_secret(course: Path | None) -> int:
    """``mnist-course secret``: create the course's secret unless it has one; say where it is."""
    course = course_secret.course_of(course)
    if course is None or not (course / course_secret.COURSE_MARKER).is_file():
        where = course or Path.cwd()
        print(f"{where} は nbgrader のコースではありません (nbgrader_config.py がありません)。--course DIR で指定してください。\n"
              f"{where} is not in an nbgrader course (no nbgrader_config.py): name it with --course DIR.", file=sys.stderr)
        return 2
    path, created = course_secret.create(course)
    if created:
        print(f"コースの秘密を作りました: {path}\n"
              "  非公開チェックの入力はここから決まります。配布しないこと (nbgrader は source/ しか配布しません)、\n"
              "  採点を始めたら変えないこと、成績簿と一緒にバックアップすること。\n"
              f"created the course secret: {path}\n"
              "  The hidden checks' inputs come from it. Never hand it out (nbgrader releases source/ only),\n"
              "  keep it once grading has begun, and back it up with the gradebook.")
    else:
        print(f"コースの秘密はすでにあります (そのまま使います): {path}\n"
              f"the course already has its secret (kept as it is): {path}")
    return 0


# What the instructor's extra (pyproject.toml) brings; a command that imports one of them in an
# install without it says so in one line instead of a traceback.
INSTRUCTOR_EXTRA_MODULES = frozenset({"nbgrader", "dask", "distributed", "tqdm", "psycopg", "sqlalchemy", "jupyter_client"})
INSTRUCTOR_EXTRA_HINT = ("この操作には教員用の追加パッケージが必要です ({missing} がありません): pip install 'mnist-tasks[instructor]'"
                         " (キットのチェックアウトでは pip install -e '.[instructor]')\n"
                         "this command needs the instructor's extra ({missing} is not installed): pip install 'mnist-tasks[instructor]'"
                         " (in a checkout of the kit: pip install -e '.[instructor]')")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except ModuleNotFoundError as error:
        missing = (error.name or "").partition(".")[0]
        if missing not in INSTRUCTOR_EXTRA_MODULES:
            raise
        print(INSTRUCTOR_EXTRA_HINT.format(missing=missing), file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="mnist-course", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sync", help="copy mnist_tasks/ (the stubs) into every assignment of assignments/source/;"
                         " write the notebooks' Colab cells")
    commands.add_parser("check", help="exit 1 if any assignment's copy differs from mnist_tasks/, or a notebook's Colab cells are stale")
    dry = commands.add_parser("dry-run", help="release, submit the reference, autograde, in a temporary course")
    dry.add_argument("assignments", nargs="*", default=[a.id for a in ASSIGNMENTS])
    dry.add_argument("--keep", type=Path, help="build the course here and keep it")
    secret = commands.add_parser("secret", help="create the course's secret, from which the hidden checks' inputs "
                                                "come (once: an existing one is kept)")
    secret.add_argument("--course", type=Path, default=None,
                        help="the nbgrader course directory (default: the one around the current directory)")
    from mnist_course import classgrade, report

    classgrade.add_arguments(commands.add_parser(
        "autograde", help="grade every submitted student in parallel (Dask) into nbgrader's gradebook"))
    report.add_arguments(commands.add_parser(
        "report", help="the class report: one HTML page and a CSV from the gradebook and the grader's results"))
    args = parser.parse_args(argv)
    # Before any work (checking the course, reading the gradebook): an install without the extra
    # learns it at once, not after the first student.
    for module in {"autograde": ("nbgrader", "distributed", "tqdm"), "report": ("nbgrader",)}.get(args.command, ()):
        importlib.import_module(module)
    if args.command == "autograde":
        return classgrade.run(args)
    if args.command == "report":
        return report.command(args)

    if args.command == "secret":
        return create_secret(args.course)
    if args.command == "sync":
        for path in sync():
            print(f"wrote {path.relative_to(REPO)}")
        return 0
    if args.command == "check":
        problems = out_of_sync()
        for problem in problems:
            print(f"assignments/source/{problem}", file=sys.stderr)
        if problems:
            print("run `mnist-course sync`", file=sys.stderr)
        return 1 if problems else 0
    return dry_run(args.assignments, args.keep)


if __name__ == "__main__":
    sys.exit(main())

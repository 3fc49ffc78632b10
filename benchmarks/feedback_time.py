"""How long a student waits for a self-check, with this user's warm grader (``autograder.warm``)
cold (its first check), warm (the checks after), and off (``MNIST_NO_FORK_SERVER=1``: every check
starts its own grader and worker, as before the warm grader); and what the warm grader holds in
memory while it idles.

    MNIST_NPZ=../shared/data/mnist.npz .venv/bin/python benchmarks/feedback_time.py [--runs 3]

In a released ps1 and ps3 (``nbgrader generate_assignment`` of a course copy) that hold the
reference's files, as a student who has finished would have them:

- a grade cell: ``grade_cell("one_hot", points=...)`` in one Python process, as in a kernel that
  has run the notebook's import cell (its import is not counted);
- ``pytest autograder/ -k one_hot``, a whole ``pytest autograder/`` of ps1 and of ps3: commands.

Warm figures are medians of ``--runs``. The memory: the proportional set size (PSS: a page shared
with N processes counts 1/N) of the warm grader and every process under it (its box, the fork
server), from /proc/PID/smaps_rollup, beside their private pages (what each more student adds) and
their resident size; once alone, once beside ``--graders`` - 1 other warm graders, as on a hub.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.warm import client  # noqa: E402
from mnist_course import assignments, course  # noqa: E402

GRADE_CELL = """
import json, sys, time
from autograder.nbgrader.cells import grade_cell
import io, contextlib
times = []
for _ in range(int(sys.argv[1])):
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        points = grade_cell("one_hot", points=3)
    times.append(time.perf_counter() - started)
    assert points == 3, shown.getvalue()
print(json.dumps(times))
"""


def released(root: Path, assignment: str) -> Path:
    copy = course.CourseCopy(root / "course")
    folder = copy.release(assignment)
    for name in course.STUDENT_FILES:
        shutil.copy(assignments.REFERENCE / name, folder / "mnist_tasks" / name)
    return folder


def grade_cells(folder: Path, env: dict, runs: int) -> list[float]:
    done = subprocess.run([sys.executable, "-c", GRADE_CELL, str(runs)], cwd=folder, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def pytest_run(folder: Path, env: dict, *selection: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "autograder/", "-q", "-p", "no:cacheprovider", *selection],
                          cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {folder}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return seconds


def warm_grader_memory(where: Path) -> dict[str, float]:
    """PSS and RSS (MB) of the warm grader listening in ``where`` and of every process under it."""
    pid = client.grader_pid(where)
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        grew, tree = bool(more), tree | more
    totals = {"processes": len(tree), "pss_mb": 0.0, "rss_mb": 0.0, "private_mb": 0.0}
    for member in tree:
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                field, _, value = line.partition(":")
                if field in ("Pss", "Rss"):
                    totals[f"{field.lower()}_mb"] += int(value.split()[0]) / 1024
                elif field in ("Private_Clean", "Private_Dirty"):
                    totals["private_mb"] += int(value.split()[0]) / 1024
        except OSError:
            pass
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--graders", type=int, default=3, help="warm graders running at once for the last memory figure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mnist-feedback-time-") as temporary:
        root = Path(temporary)
        runtime = root / "runtime"
        runtime.mkdir(mode=0o700)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", XDG_RUNTIME_DIR=str(runtime))
        env.pop("MNIST_NO_FORK_SERVER", None)
        off = dict(env, MNIST_NO_FORK_SERVER="1")
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        ps1, ps3 = released(root / "ps1", "ps1"), released(root / "ps3", "ps3")
        where = client.folder()
        rows = []
        others: list[dict] = []

        def row(name, cold, warm, without):
            rows.append((name, cold, statistics.median(warm), statistics.median(without)))

        try:
            client.stop(where)
            cells = grade_cells(ps1, env, 1 + args.runs)
            cells_off = grade_cells(ps1, off, args.runs)
            row('grade cell grade_cell("one_hot")', cells[0], cells[1:], cells_off)

            def pytest_row(name, folder, *selection):
                """The first run after the warm grader stopped, then ``--runs`` warm and off."""
                client.stop(where)
                cold = pytest_run(folder, env, *selection)
                warm = [pytest_run(folder, env, *selection) for _ in range(args.runs)]
                row(name, cold, warm, [pytest_run(folder, off, *selection) for _ in range(args.runs)])

            pytest_row("pytest autograder/ -k one_hot (ps1)", ps1, "-k", "one_hot")
            pytest_row("pytest autograder/ (whole ps1)", ps1)
            idle_ps1 = warm_grader_memory(where)
            pytest_row("pytest autograder/ (whole ps3: plots, a training)", ps3)
            idle_ps3 = warm_grader_memory(where)

            # A hub: more students' warm graders beside this one share the libraries' pages.
            others = []
            for index in range(args.graders - 1):
                other = root / f"runtime-{index}"
                other.mkdir(mode=0o700)
                others.append(dict(env, XDG_RUNTIME_DIR=str(other)))
                pytest_run(ps1, others[-1], "-k", "one_hot")
            idle_many = warm_grader_memory(where)
        finally:
            client.stop(where)
            for other in others:
                os.environ["XDG_RUNTIME_DIR"] = other["XDG_RUNTIME_DIR"]
                client.stop(client.folder())
    print(f"\nself-check times, seconds (warm and off: medians of {args.runs}); 2-core machine\n")
    print(f"| {'check':<50} | cold | warm | off | warm/off |")
    print(f"|{'-' * 52}|------|------|-----|----------|")
    for name, cold, warm, without in rows:
        print(f"| {name:<50} | {cold:4.2f} | {warm:4.2f} | {without:4.2f} | {warm / without:8.2f} |")
    print()
    for label, memory in (("after ps1", idle_ps1), ("after ps3", idle_ps3),
                          (f"after ps3, {args.graders} warm graders running", idle_many)):
        print(f"the warm grader idle {label}: {memory['processes']} processes, PSS {memory['pss_mb']:.0f} MB, "
              f"private {memory['private_mb']:.0f} MB, RSS {memory['rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

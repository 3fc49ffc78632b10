"""How long grading a class takes: ``mnist-course autograde`` with 1 and 2 Dask workers, against the
sequential ``nbgrader autograde``, on a generated class; and one student's whole course against
``mnist-grade`` on the same machine in the same run.

    MNIST_NPZ=../shared/data/mnist.npz .venv/bin/python benchmarks/class_time.py [--students 12] [--assignment ps2]

The class: the reference, the stubs, the reference with one or two of the mistakes students make
(mutants) and broken submissions (a syntax error, a module that exits at import, a function that
crashes its process), in turn, ``--students`` of them. Every configuration grades a fresh copy of
the course (no results cache). Prints a table; README's projection for a class of 200 on a 16-core
server comes from its students-per-hour-per-core figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mnist_course import assignments, classgrade, course  # noqa: E402

# (module file, right text, wrong text): mistakes students make, each a few points.
MUTANTS = [
    [("preprocessing.py", "dtype=np.float32)", "dtype=np.float64)")],
    [("training.py", "patience=patience,", "patience=patience + 1,")],
    [("models.py", 'padding="same"', 'padding="valid"')],
    [("preprocessing.py", "dtype=np.float32)", "dtype=np.float64)"), ("training.py", "patience=patience,", "patience=0,")],
]
BROKEN = {
    "syntax error": ("models.py", "def build_mlp(", "def build_mlp(:"),
    "exits at import": ("training.py", "from __future__ import annotations", "import sys\nsys.exit(1)"),
    "crashes its process": ("plots.py", "def plot_history(history):", "def plot_history(history):\n    import os\n    os._exit(3)"),
}


def package(kind: int, workspace: Path) -> Path | None:
    """The ``kind``-th student's package: reference, stubs (None), mutants, broken, in turn."""
    choices = ["reference", "stubs", *[f"mutant{i}" for i in range(len(MUTANTS))], *BROKEN]
    choice = choices[kind % len(choices)]
    if choice == "stubs":
        return None
    target = workspace / f"package{kind}"
    shutil.copytree(assignments.REFERENCE, target)
    edits = [] if choice == "reference" else MUTANTS[int(choice[6:])] if choice.startswith("mutant") else [BROKEN[choice]]
    for name, right, wrong in edits:
        path = target / name
        text = path.read_text(encoding="utf-8")
        if right in text:
            path.write_text(text.replace(right, wrong, 1), encoding="utf-8")
    return target


def build(root: Path, assignment: str, students: int, workspace: Path) -> course.CourseCopy:
    copy = course.CourseCopy(root)
    copy.release(assignment)
    packages = workspace / f"packages-{root.name}"
    for index in range(students):
        copy.submit(f"student{index:02d}", assignment, package=package(index, packages))
    return copy


def timed(step) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--assignment", default="ps2")
    parser.add_argument("--skip-sequential", action="store_true", help="leave out plain nbgrader autograde")
    parser.add_argument("--course-only", action="store_true", help="only one student's course against mnist-grade")
    parser.add_argument("--sandbox", choices=("bwrap", "none", "both"),
                        help="both: only `mnist-course autograde` with 2 workers, unboxed and boxed in turn, and the "
                             "ratio of their students/hour/core; bwrap or none: every configuration in that mode "
                             "(default: $MNIST_SANDBOX, else bwrap)")
    parser.add_argument("--memo", choices=("on", "off", "both"), default="on",
                        help="the training memo (autograder.training.memo): both: only `mnist-course autograde` with 2 "
                             "workers, the memo and the boxed fork server (autograder.sandbox.forkbox) off, then the "
                             "server on, then both on (the course's memo empty at the start), and the ratios "
                             "of their students/hour/core")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="mnist-class-bench-") as temporary:
        workspace = Path(temporary)
        if args.sandbox == "both":
            return _sandbox_ratio(args, workspace, cores)
        if args.memo == "both":
            return _memo_ratio(args, workspace, cores)
        if args.sandbox:
            os.environ["MNIST_SANDBOX"] = args.sandbox   # the gradings' and nbgrader's mode
        # One student's whole course against mnist-grade, in the same run.
        one = build(workspace / "one", assignments.ASSIGNMENTS[0].id, 0, workspace)
        # (with the course's secret, so that both grade the hidden checks)
        grade_seconds = timed(lambda: subprocess.run([sys.executable, "-m", "autograder.cli", str(assignments.REPO / "solutions"),
                                                      "--course", str(one.root), "--json", str(workspace / "r.json")],
                                                     capture_output=True, check=True))
        for assignment in assignments.ASSIGNMENTS[1:]:
            one.release(assignment.id)
        for assignment in assignments.ASSIGNMENTS:
            one.submit("reference", assignment.id, package=assignments.REFERENCE)
        course_seconds = timed(lambda: classgrade.autograde(one.root, [a.id for a in assignments.ASSIGNMENTS], workers=1,
                                                             progress=False, log=lambda *a: None))
        print(f"one student's whole course (ps1-ps4): {course_seconds:.1f} s; mnist-grade solutions: {grade_seconds:.1f} s; "
              f"ratio {course_seconds / grade_seconds:.2f}", flush=True)

        if args.course_only:
            return 0
        for label, workers in (("mnist-course autograde, 1 worker", 1), ("mnist-course autograde, 2 workers", 2)):
            copy = build(workspace / f"w{workers}", args.assignment, args.students, workspace)
            seconds = timed(lambda: classgrade.autograde(copy.root, [args.assignment], workers=workers, progress=False,
                                                          log=lambda *a: None, training_memo=args.memo != "off"))
            rows.append((label, seconds, min(cores, 2 * workers)))
            print(f"{label}: {seconds:.0f} s", flush=True)
        if not args.skip_sequential:
            copy = build(workspace / "sequential", args.assignment, args.students, workspace)
            seconds = timed(lambda: copy.autograde(args.assignment))
            rows.append(("nbgrader autograde (sequential)", seconds, min(cores, 2)))
    print(f"\n{args.students} students, {args.assignment}, {cores} cores")
    print(f"{'how':36} {'wall':>8} {'s/student':>10} {'students/hour/core':>19}")
    for label, seconds, used in rows:
        print(f"{label:36} {seconds:7.0f}s {seconds / args.students:9.1f}s {args.students / (seconds / 3600) / used:19.0f}")
    return 0


def _sandbox_ratio(args, workspace: Path, cores: int) -> int:
    """The same class graded with 2 workers, student code unboxed and then in bwrap's box."""
    rate = {}
    for mode in ("none", "bwrap"):
        copy = build(workspace / f"sandbox-{mode}", args.assignment, args.students, workspace)
        seconds = timed(lambda: classgrade.autograde(copy.root, [args.assignment], workers=2, progress=False,
                                                      log=lambda *a: None, sandbox=mode))
        rate[mode] = args.students / (seconds / 3600) / min(cores, 4)
        print(f"--sandbox {mode:5}: {seconds:6.0f} s, {rate[mode]:5.0f} students/hour/core", flush=True)
    print(f"\n{args.students} students, {args.assignment}, {cores} cores, 2 Dask workers: "
          f"boxed/unboxed students/hour/core = {rate['bwrap'] / rate['none']:.3f}")
    return 0


def _memo_ratio(args, workspace: Path, cores: int) -> int:
    """The same class graded with 2 workers: as before the training memo and the boxed fork server
    (every model trained for every student, a fresh boxed worker each), then with the fork server
    alone, then with both (the course's memo empty at the start: the first gradings train, the
    others recall)."""
    rate = {}
    for memo, server in (("off", "off"), ("off", "on"), ("on", "on")):
        copy = build(workspace / f"memo-{memo}-{server}", args.assignment, args.students, workspace)
        if server == "off":
            os.environ["MNIST_NO_FORK_SERVER"] = "1"   # read by each Dask worker (autograder.sandbox.forkbox)
        else:
            os.environ.pop("MNIST_NO_FORK_SERVER", None)
        seconds = timed(lambda: classgrade.autograde(copy.root, [args.assignment], workers=2, progress=False,
                                                      log=lambda *a: None, training_memo=memo == "on"))
        rate[memo, server] = args.students / (seconds / 3600) / min(cores, 4)
        print(f"memo {memo:3}, fork server {server:3}: {seconds:6.0f} s, {rate[memo, server]:5.0f} students/hour/core",
              flush=True)
    print(f"\n{args.students} students, {args.assignment}, {cores} cores, 2 Dask workers, students/hour/core against "
          f"memo and fork server off: fork server {rate['off', 'on'] / rate['off', 'off']:.2f}x, "
          f"both {rate['on', 'on'] / rate['off', 'off']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long grading takes: wall time of `mnist-grade solutions`, process start-up included.

    python benchmarks/grade_time.py [--runs 3] [--submission solutions] [--sandbox both|bwrap|none]
                                    [--memo off|cold|warm|both] [--fork-server]

Prints the wall time of each run and, from the grader's own timings, the seconds spent training
each variant. ``--sandbox both`` alternates boxed and unboxed runs in the same session and prints
the ratio of their medians, and bwrap's own start-up cost (``bwrap … /bin/true`` against
``/bin/true``). ``--memo`` (``autograder.training.memo``): ``off`` trains everything (``--no-training-memo``);
``cold`` gives each run an empty memo; ``warm`` fills one memo with an untimed run first; ``both``
alternates cold and warm runs and prints their medians. ``--fork-server``: every run is lent one
boxed fork server, as a class's gradings are (``autograder.sandbox.forkbox``). A benchmark, not a test: it prints figures
and never fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--submission", default="solutions")
    parser.add_argument("--sandbox", choices=("both", "bwrap", "none"), default="bwrap")
    parser.add_argument("--memo", choices=("off", "cold", "warm", "both"), default="off")
    parser.add_argument("--fork-server", action="store_true",
                        help="lend every run one boxed fork server (autograder.sandbox.forkbox), started here first, as "
                             "nbgrader's autograde and each Dask worker of mnist-course autograde lend theirs")
    args = parser.parse_args()
    if args.sandbox == "both" and args.memo == "both":
        parser.error("one of --sandbox and --memo may be 'both'")
    modes = ["bwrap", "none"] if args.sandbox == "both" else [args.sandbox]
    memos = ["cold", "warm"] if args.memo == "both" else [args.memo]
    warm_folder = Path(tempfile.mkdtemp(prefix="mnist-bench-memo-"))

    # As `./kit run` grades: every check, the hidden ones from the course's secret (made if missing).
    subprocess.run([sys.executable, "-m", "mnist_course", "secret", "--course", "assignments"], cwd=REPO,
                   check=True, capture_output=True)
    lent_env: dict[str, str] = {}
    lent_fds: tuple[int, ...] = ()
    if args.fork_server:
        from autograder.sandbox.forkbox import BoxedForkServer

        started = time.perf_counter()
        server = BoxedForkServer()
        print(f"boxed fork server started in {time.perf_counter() - started:.1f} s (once per autograde process)")
        lent_env, fd = server.attach_spec()
        lent_fds = (fd,)

    def grade_once(mode: str, memo: str):
        with tempfile.TemporaryDirectory() as directory:
            output = Path(directory) / "results.json"
            options = {"off": ["--no-training-memo"], "cold": ["--training-memo", str(Path(directory) / "memo")],
                       "warm": ["--training-memo", str(warm_folder)]}[memo]
            started = time.perf_counter()
            completed = subprocess.run([sys.executable, "-m", "autograder.cli", args.submission, "--lang", "en",
                                        "--course", "assignments", "--json", str(output), "--sandbox", mode,
                                        *options],
                                       cwd=REPO, capture_output=True, text=True, pass_fds=lent_fds,
                                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **lent_env))
            wall = time.perf_counter() - started
            if completed.returncode != 0:
                print(completed.stderr, file=sys.stderr)
                raise SystemExit(completed.returncode)
            return wall, json.loads(output.read_text(encoding="utf-8"))

    if "warm" in memos:
        grade_once(modes[0], "warm")   # fills the warm memo, untimed
    walls, timings = [], []
    by_mode: dict[str, list[float]] = {mode: [] for mode in modes}
    by_memo: dict[str, list[float]] = {memo: [] for memo in memos}
    for run in range(args.runs * len(modes) * len(memos)):
        mode, memo = modes[run % len(modes)], memos[run % len(memos)]
        wall, results = grade_once(mode, memo)
        walls.append(wall)
        by_mode[mode].append(wall)
        by_memo[memo].append(wall)
        timings.append(results["extra_data"]["timings_seconds"])
        recalled = sum(1 for s in results["extra_data"].get("trainings", {}).values() if s["source"] == "recalled")
        print(f"run {run + 1} ({results['extra_data']['sandbox']}, memo {memo}, {recalled} trainings recalled): "
              f"{wall:.1f} s wall, score {results['score']:g}/{results['max_score']:g}", flush=True)
    if len(memos) == 2:
        print(f"\nmedian wall: cold memo {statistics.median(by_memo['cold']):.1f} s, "
              f"warm memo {statistics.median(by_memo['warm']):.1f} s")
    if len(modes) == 2:
        boxed, unboxed = statistics.median(by_mode["bwrap"]), statistics.median(by_mode["none"])
        print(f"\nmedian wall: bwrap {boxed:.1f} s, none {unboxed:.1f} s: the box costs {100 * (boxed / unboxed - 1):+.1f} %")
        print(f"bwrap's own start-up: {_bwrap_startup_ms():.0f} ms per worker (median of 20)")

    print(f"\n| step | seconds (mean of {args.runs}) |\n|---|---|")
    for key in timings[0]:
        print(f"| {key} | {statistics.mean(t[key] for t in timings):.1f} |")
    print(f"| **wall, process start included** | **{statistics.mean(walls):.1f}** (min {min(walls):.1f}, max {max(walls):.1f}) |")
    print(f"\nmachine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    return 0


def _bwrap_startup_ms() -> float:
    """Milliseconds an empty box adds to starting /bin/true (as a worker's box is built, uid drop included)."""
    from autograder.sandbox import jail

    def median_ms(argv):
        times = []
        for _ in range(20):
            started = time.perf_counter()
            subprocess.run(argv, check=True, env={})
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000
    return median_ms(jail.command(None, ["/bin/true"])) - median_ms(["/bin/true"])


if __name__ == "__main__":
    sys.exit(main())

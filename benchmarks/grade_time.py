"""How long grading takes: wall time of `mnist-grade solutions`, process start-up included.

    python benchmarks/grade_time.py [--runs 3] [--submission solutions] [--sandbox both|bwrap|none]

Prints the wall time of each run and, from the grader's own timings, the seconds spent training
each variant. ``--sandbox both`` alternates boxed and unboxed runs in the same session and prints
the ratio of their medians, and bwrap's own start-up cost (``bwrap … /bin/true`` against
``/bin/true``). A benchmark, not a test: it prints figures and never fails on them.
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
    args = parser.parse_args()
    modes = ["bwrap", "none"] if args.sandbox == "both" else [args.sandbox]

    # As `./kit run` grades: every check, the hidden ones from the course's secret (made if missing).
    subprocess.run([sys.executable, "-m", "mnist_kit.course", "secret", "--course", "assignments"], cwd=REPO,
                   check=True, capture_output=True)
    walls, timings = [], []
    by_mode: dict[str, list[float]] = {mode: [] for mode in modes}
    for run in range(args.runs * len(modes)):
        mode = modes[run % len(modes)]
        with tempfile.TemporaryDirectory() as directory:
            output = Path(directory) / "results.json"
            started = time.perf_counter()
            completed = subprocess.run([sys.executable, "-m", "autograder.cli", args.submission, "--lang", "en",
                                        "--course", "assignments", "--json", str(output), "--sandbox", mode],
                                       cwd=REPO, capture_output=True, text=True,
                                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
            wall = time.perf_counter() - started
            if completed.returncode != 0:
                print(completed.stderr, file=sys.stderr)
                return completed.returncode
            results = json.loads(output.read_text(encoding="utf-8"))
        walls.append(wall)
        by_mode[mode].append(wall)
        timings.append(results["extra_data"]["timings_seconds"])
        print(f"run {run + 1} ({results['extra_data']['sandbox']}): {wall:.1f} s wall, "
              f"score {results['score']:g}/{results['max_score']:g}", flush=True)
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
    from autograder import jail

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

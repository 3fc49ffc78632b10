"""How long grading takes: wall time of `mnist-grade solutions`, process start-up included.

    python benchmarks/grade_time.py [--runs 3] [--submission solutions]

Prints the wall time of each run and, from the grader's own timings, the seconds spent training
each variant. A benchmark, not a test: it prints figures and never fails on them.
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
    args = parser.parse_args()

    # As `./kit run` grades: every check, the hidden ones from the course's secret (made if missing).
    subprocess.run([sys.executable, "-m", "mnist_kit.course", "secret", "--course", "assignments"], cwd=REPO,
                   check=True, capture_output=True)
    walls, timings = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as directory:
            output = Path(directory) / "results.json"
            started = time.perf_counter()
            completed = subprocess.run([sys.executable, "-m", "autograder.cli", args.submission, "--lang", "en",
                                        "--course", "assignments", "--json", str(output)], cwd=REPO, capture_output=True, text=True,
                                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
            wall = time.perf_counter() - started
            if completed.returncode != 0:
                print(completed.stderr, file=sys.stderr)
                return completed.returncode
            results = json.loads(output.read_text(encoding="utf-8"))
        walls.append(wall)
        timings.append(results["extra_data"]["timings_seconds"])
        print(f"run {run + 1}: {wall:.1f} s wall, score {results['score']:g}/{results['max_score']:g}", flush=True)

    print(f"\n| step | seconds (mean of {args.runs}) |\n|---|---|")
    for key in timings[0]:
        print(f"| {key} | {statistics.mean(t[key] for t in timings):.1f} |")
    print(f"| **wall, process start included** | **{statistics.mean(walls):.1f}** (min {min(walls):.1f}, max {max(walls):.1f}) |")
    print(f"\nmachine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the notebook's chain (``autograder/checks/chain.py``) adds to a grading.

    MNIST_NPZ=../shared/data/mnist.npz .venv/bin/python benchmarks/chain_time.py [--runs 5]

Grades the reference's ``plot_history`` checks in a boxed fork server, as a class is graded,
alternately with the chain and without it, and prints each run and the difference of the medians.
The grader's MNIST slice is loaded anew each run, as in every ``mnist-grade`` process. A benchmark,
not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.checks import chain  # noqa: E402
from autograder.sandbox.forkbox import BoxedForkServer  # noqa: E402
from autograder.grade import grade, select  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    names = {check.name for check in select(only=["plot_history"])}
    without = names - {check.name for check in chain.checks()}
    server = BoxedForkServer()
    try:
        grade(REPO / "solutions", names=names, only=["plot_history"], workers=server)   # untimed: warms the server
        times: dict[str, list[float]] = {"with the chain": [], "without": []}
        for _ in range(args.runs):
            for label, chosen in (("with the chain", names), ("without", without)):
                chain.mnist_slice.cache_clear()
                started = time.perf_counter()
                report = grade(REPO / "solutions", names=chosen, only=["plot_history"], workers=server)
                times[label].append(time.perf_counter() - started)
                assert report.score == report.max_score, [(r.name, r.message.en) for r in report.results]
    finally:
        server.close()
    for label, values in times.items():
        print(f"{label:>15}: " + " ".join(f"{value:.2f}" for value in values) + f" s; median {statistics.median(values):.2f} s")
    cost = statistics.median(times["with the chain"]) - statistics.median(times["without"])
    print(f"the chain costs {cost:.2f} s a grading ({args.runs} runs each, 2 cores on the CI machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

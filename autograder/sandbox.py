"""Run probes of student code in child processes with limits, and survive whatever they do.

One worker process normally runs all probes, since starting TensorFlow costs seconds. Each probe
has a wall-time limit; a probe that hangs, exits or crashes the worker is recorded as such, the
whole process group is killed, and a fresh worker carries on with the probes after it. So a
broken function costs only its own checks.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    probe_seconds: float = 30.0        # wall time of one student call
    startup_seconds: float = 90.0      # worker start-up: Python, NumPy, Keras imports
    cpu_seconds: int = 600             # CPU time of a worker process (RLIMIT_CPU)
    memory_bytes: int = 4 << 30        # address space of a worker (RLIMIT_AS); TF's peak is ~2.6 GiB
    file_bytes: int = 256 << 20        # largest file a worker may write (RLIMIT_FSIZE)


class _Reporting(dict):
    def __init__(self, listener):
        super().__init__()
        self.listener = listener

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if self.listener is not None:
            self.listener(key, value)

    def update(self, other):
        for key, value in other.items():
            self[key] = value


def _child_setup(limits: Limits):
    def setup():
        os.setsid()  # its own process group: killing the group also ends anything it started
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return setup


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _describe_exit(process: subprocess.Popen) -> str:
    code = process.returncode
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def run_probes(package_parent: Path, probes: list[dict], workdir: Path, limits: Limits = Limits(),
               on_result=None) -> dict[str, dict]:
    """Run ``probes`` against ``package_parent/mnist_tasks``; map each probe id to its outcome.

    ``on_result(probe_id, outcome)``, if given, hears of each outcome as soon as it is known, so
    the grader can train one model while the worker goes on with the next probes.
    """
    results: dict[str, dict] = _Reporting(on_result)
    remaining = list(probes)
    attempt = 0
    while remaining:
        attempt += 1
        # The worker reports each probe into `results` as it finishes, not when the worker ends:
        # the grader trains the first models while the worker runs the remaining probes.
        failed = _run_worker(package_parent, remaining, workdir, limits, attempt, results)
        if failed is None:
            # The worker ended without reporting the remaining probes and without starting one.
            for probe in remaining:
                if probe["id"] not in results:
                    results[probe["id"]] = {"status": "crashed", "message": "worker ended before this probe"}
            break
        failed_id, outcome = failed
        results[failed_id] = outcome
        index = next(i for i, probe in enumerate(remaining) if probe["id"] == failed_id)
        culprit = (remaining[index]["module"], remaining[index]["task"])
        remaining = [probe for probe in remaining[index + 1:] if probe["id"] not in results]
        # A function that hung or killed its worker once is not called again: each retry would
        # cost a worker start-up and the full time limit for the same verdict.
        for probe in [p for p in remaining if (p["module"], p["task"]) == culprit]:
            results[probe["id"]] = dict(outcome, repeated=True)
        remaining = [probe for probe in remaining if probe["id"] not in results]
    return dict(results)


def _run_worker(package_parent, probes, workdir, limits, attempt, finished: dict):
    """Run ``probes`` in one worker, recording outcomes in ``finished``; return the probe that
    ended it (``(probe_id, outcome)``) or None when it ran them all."""
    request_read, request_write = os.pipe()
    result_read, result_write = os.pipe()
    log = open(workdir / f"worker-{attempt}.log", "wb")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")
    process = subprocess.Popen(
        [sys.executable, "-I", "-m", "autograder.worker", str(request_read), str(result_write)],
        pass_fds=(request_read, result_write), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        cwd=workdir, env=env, preexec_fn=_child_setup(limits), close_fds=True,
    )
    os.close(request_read)
    os.close(result_write)
    with os.fdopen(request_write, "w", encoding="utf-8") as request:
        json.dump({"package_parent": str(package_parent), "workdir": str(workdir), "probes": probes}, request)

    current = None
    deadline = time.monotonic() + limits.startup_seconds
    buffer = b""
    reader = os.fdopen(result_read, "rb", buffering=0)
    try:
        while True:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                _kill_group(process)
                if current is None:  # stuck between probes: blame the next one
                    pending = [probe["id"] for probe in probes if probe["id"] not in finished]
                    if not pending:
                        return None
                    current = pending[0]
                return (current, {"status": "timeout", "seconds": limits.probe_seconds})
            ready, _, _ = select.select([reader], [], [], timeout)
            if not ready:
                continue
            chunk = reader.read(1 << 16)
            if not chunk:  # the worker closed the pipe: it finished, or it died
                process.wait()
                _kill_group(process)  # anything it left behind in its group
                if current is not None:
                    return (current, {"status": "crashed", "message": _describe_exit(process)})
                return None
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # not the worker's: it writes one JSON object per line
                if not isinstance(message, dict):
                    continue
                # The worker runs the probes in the order sent; a line out of that order was
                # written by student code, not by the worker, and is ignored.
                expected = next((p["id"] for p in probes if p["id"] not in finished), None)
                if "start" in message and current is None and message["start"] == expected:
                    current = message["start"]
                    deadline = time.monotonic() + limits.probe_seconds
                elif "done" in message and message["done"] == current:
                    finished[current] = {key: value for key, value in message.items() if key != "done"}
                    current = None
                    deadline = time.monotonic() + limits.probe_seconds
    finally:
        reader.close()
        log.close()
        if process.poll() is None:
            _kill_group(process)

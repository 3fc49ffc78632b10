"""Run probes of student code in child processes with limits, and survive whatever they do.

One worker process normally runs all probes, since starting TensorFlow costs seconds. Each probe
has a wall-time limit; a probe that hangs, exits or crashes the worker is recorded as such, the
whole process group is killed, and a fresh worker carries on with the probes after it. So a
broken function costs only its own checks.

What comes back is trusted only as far as it can be: every result line must carry the worker's
secret token and arrive in the order the probes were sent, else it is student code writing to the
pipe, and the probe then running counts as tampering. A module that tampered (by the worker's
guard or by forging lines) has its remaining probes reported as such and is set aside for the
workers after it. Processes that student code started and detached (``setsid``, double fork) are
found and killed too: this process makes itself their reaper while workers run.

Here: ``run_probes`` and the conversation with one worker over its result pipe. The parts it uses,
each its own module: ``autograder.sandbox.limits`` (``Limits``), ``autograder.sandbox.workers`` (where workers come
from: fresh, forked or kept), ``autograder.sandbox.supervision`` (their processes: limits at start, killing,
reaping), ``autograder.sandbox.workspace`` (the submission's staged copy and the work directory's watch).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from autograder.sandbox import jail
from autograder.sandbox.limits import Limits
from autograder.protocol import Event, Outcome, Probe, Request, outcome
from autograder.sandbox.supervision import Reaper, describe_exit, kill_group
from autograder.sandbox.workers import FreshWorkers, WorkerSource
from autograder.sandbox.workspace import stage_submission, trim_workdir, workdir_overflow

FORGED = "result channel: a line the worker did not write (forged, or out of order)"


DISK_POLL_SECONDS = 0.25   # how often the work directory is measured while a worker runs


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


@dataclass
class _Failed:
    """A probe ended its worker (timeout, crash); ``importing``: it never got past importing its module."""
    probe_id: str
    outcome: dict
    importing: bool


@dataclass
class _Tainted:
    """A module tampered with the grader; its outcome is recorded already."""
    module: str
    changes: list


@dataclass
class _Vanished:
    """The worker ended between probes with probes left: no honest worker does that (it stops only
    when done, or after a tampered probe), so the probe it had just finished is to blame."""
    last: str | None


VANISHED = "the worker ended right after this probe, with probes left (os._exit from a thread, a closed result pipe...)"


def run_probes(package_parent: Path, probes: list[Probe], workdir: Path, limits: Limits = Limits(),
               on_result=None, blocked: dict[str, Outcome] | None = None,
               workers: "WorkerSource | None" = None, sandbox: jail.SandboxMode = "bwrap") -> dict[str, Outcome]:
    """Run ``probes`` against ``package_parent/mnist_tasks``; map each probe id to its outcome.

    ``on_result(probe_id, outcome)``, if given, hears of each outcome as soon as it is known, so
    the grader can train one model while the worker goes on with the next probes. ``blocked`` maps
    a module to the outcome its probes report without running (e.g. an unreadable source file).
    ``workers``: where workers come from (default ``FreshWorkers``: a new process each).
    ``sandbox``: "bwrap" runs fresh workers in a box (``autograder.sandbox.jail``) that sees a copy of this
    submission's ``mnist_tasks/`` and nothing of any other; "none" for a deployment that isolates
    each grading itself. Raises ``jail.SandboxUnavailable`` when "bwrap" cannot be made here.
    """
    source = workers if workers is not None else FreshWorkers()
    box = None
    if sandbox == "bwrap":
        jail.check_available()
        staged = stage_submission(Path(package_parent) / "mnist_tasks", source.folder)
        package_parent = staged.parent
        box = jail.Box.for_grading(staged, Path(workdir), source.uid)
    try:
        return _run_all(package_parent, probes, workdir, limits, on_result, blocked, source, box)
    finally:
        if box is not None:
            shutil.rmtree(box.package_dir.parent, ignore_errors=True)


def _run_all(package_parent, probes, workdir, limits, on_result, blocked, source, box) -> dict[str, Outcome]:
    results: dict[str, dict] = _Reporting(on_result)
    blocked = dict(blocked or {})
    remaining = list(probes)
    attempt = 0
    with Reaper() as reaper:
        while True:
            for probe in remaining:
                if probe["module"] in blocked and probe["id"] not in results:
                    results[probe["id"]] = blocked[probe["module"]]
            remaining = [probe for probe in remaining if probe["id"] not in results]
            if not remaining:
                break
            attempt += 1
            # The worker reports each probe into `results` as it finishes, not when the worker ends:
            # the grader trains the first models while the worker runs the remaining probes.
            end = _run_worker(package_parent, remaining, workdir, limits, attempt, results, blocked, reaper, source,
                              box)
            if end is None:
                break
            if isinstance(end, _Vanished):
                if end.last is None:
                    break   # it ended before starting a probe: nothing to blame, nothing gained by retrying
                module = next(probe["module"] for probe in remaining if probe["id"] == end.last)
                results[end.last] = outcome("tampered", changes=[VANISHED])
                blocked[module] = outcome("tampered", changes=[VANISHED], repeated=True)
                continue
            if isinstance(end, _Tainted):
                blocked[end.module] = outcome("tampered", changes=end.changes, repeated=True)
                continue
            results[end.probe_id] = end.outcome
            index = next(i for i, probe in enumerate(remaining) if probe["id"] == end.probe_id)
            culprit = remaining[index]
            remaining = [probe for probe in remaining[index + 1:] if probe["id"] not in results]
            if end.importing:
                # Its module hung or crashed while being imported: every function in it (and any
                # import of it by another module) would do the same.
                blocked[culprit["module"]] = dict(end.outcome, repeated=True)
                continue
            # A function that hung or killed its worker once is not called again: each retry would
            # cost a worker start-up and the full time limit for the same verdict.
            for probe in remaining:
                if (probe["module"], probe["task"]) == (culprit["module"], culprit["task"]):
                    results[probe["id"]] = dict(end.outcome, repeated=True)
            remaining = [probe for probe in remaining if probe["id"] not in results]
    for probe in probes:
        if probe["id"] not in results:
            results[probe["id"]] = outcome("crashed", message="worker ended before this probe")
    return dict(results)


class _Conversation:
    """The parent's side of one worker's result pipe: which lines are the worker's, in order."""

    def __init__(self, probes: list[dict], finished: dict, token: str):
        self.probes = probes
        self.finished = finished
        self.token = token
        self.current: str | None = None
        self.calling = False
        self.last: str | None = None

    def module_of(self, probe_id: str) -> str:
        return next(probe["module"] for probe in self.probes if probe["id"] == probe_id)

    def expected(self) -> str | None:
        return next((p["id"] for p in self.probes if p["id"] not in self.finished), None)

    def accept(self, line: bytes) -> Event | Literal["forged"]:
        """The worker's event this line is, or 'forged' when student code wrote it."""
        try:
            message = json.loads(line)
        except ValueError:
            return "forged"
        if not isinstance(message, dict) or message.pop("token", None) != self.token:
            return "forged"
        # The worker runs the probes in the order sent; any other line was written by student code.
        # (A probe id is never None: None is what current/expected() say between and after probes.)
        if any(message.get(event, "") is None for event in ("start", "calling", "done")):
            return "forged"
        if "start" in message and self.current is None and message["start"] == self.expected():
            self.current, self.calling = message["start"], False
            return "start"
        if "calling" in message and message["calling"] == self.current and not self.calling:
            self.calling = True
            return "calling"
        if "done" in message and message["done"] == self.current:
            self.finished[self.current] = {key: value for key, value in message.items() if key != "done"}
            self.last, self.current = self.current, None
            return "done"
        return "forged"

    def forgery(self) -> _Tainted | None:
        """Blame the probe that was running (or had just run) when a forged line arrived."""
        culprit = self.current or self.last or self.expected()
        if culprit is None:
            return None
        module = self.module_of(culprit)
        self.finished[culprit] = outcome("tampered", changes=[FORGED], tainted=module)
        return _Tainted(module, [FORGED])


def _run_worker(package_parent, probes, workdir, limits, attempt, finished: dict, blocked: dict, reaper: Reaper,
                source: WorkerSource, box: "jail.Box | None" = None):
    """Run ``probes`` in one worker, recording outcomes in ``finished``. Returns None when it ran
    them all, a ``_Failed`` for the probe that ended it, a ``_Tainted`` module, or ``_Vanished``."""
    channel = source.acquire(limits, workdir, attempt, box)
    reaper.started(channel.process.pid)
    process, reader = channel.process, channel.reader
    token = secrets.token_hex(16)
    request: Request = {"package_parent": str(package_parent), "workdir": str(workdir), "probes": probes,
                        "blocked": blocked, "token": token, "last": not source.reuses}
    done_all = False
    try:
        try:
            channel.send(request)
        except (BrokenPipeError, ValueError):   # a kept worker that died since: no probe started
            return _Vanished(None)

        talk = _Conversation(probes, finished, token)
        deadline = time.monotonic() + limits.startup_seconds
        buffer = b""
        grader_files = set(os.listdir(workdir))   # the inputs: every other entry is the worker's

        def past_disk_limits(culprit: str | None, importing: bool) -> tuple[bool, _Failed | None]:
            """(False, None) while the worker's files fit; else the worker is killed, its extra files
            removed, and ``culprit`` (the probe running, or the one that just finished) takes the blame."""
            overflow = workdir_overflow(Path(workdir), grader_files, limits)
            if overflow is None:
                return False, None
            kill_group(process)
            trim_workdir(Path(workdir), grader_files | {result.get("npy") for result in finished.values()})
            if culprit is None:
                return True, None
            finished.pop(culprit, None)   # a probe that filled the disk has no result, whatever it said
            return True, _Failed(culprit, outcome("crashed", message=overflow), importing)

        while True:
            stop, failed = past_disk_limits(talk.current or talk.expected(), not talk.calling)
            if stop:
                return failed
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                kill_group(process)
                timed_out = outcome("timeout", seconds=limits.probe_seconds)
                if talk.current is None:  # stuck between probes: blame the next one
                    upcoming = talk.expected()
                    return _Failed(upcoming, timed_out, False) if upcoming is not None else None
                return _Failed(talk.current, timed_out, not talk.calling)
            ready, _, _ = select.select([reader], [], [], min(timeout, DISK_POLL_SECONDS))
            if not ready:
                continue
            chunk = reader.read(1 << 16)
            if not chunk:  # the worker closed the pipe: it finished, or it died
                process.wait()
                kill_group(process)  # anything it left behind in its group
                if talk.current is not None:
                    return _Failed(talk.current, outcome("crashed", message=describe_exit(process, channel.boxed)),
                                   not talk.calling)
                return None if talk.expected() is None else _Vanished(talk.last)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            if len(buffer) > limits.line_bytes:
                kill_group(process)
                culprit = talk.current or talk.expected()
                if culprit is None:
                    return None
                return _Failed(culprit, outcome("crashed", message=f"a report over {limits.line_bytes:,} bytes"),
                               False)
            for line in lines:
                kind = talk.accept(line)
                if kind == "forged":
                    kill_group(process)
                    return talk.forgery()
                if kind in ("start", "done"):
                    deadline = time.monotonic() + limits.probe_seconds
                if kind == "done":
                    stop, failed = past_disk_limits(talk.last, False)
                    if stop:
                        return failed
                if kind == "done" and finished[talk.last].get("tainted"):
                    # The worker stops after a tampered probe; what it changed stays changed.
                    kill_group(process)
                    done = finished[talk.last]
                    changes = done.get("changes") or (done.get("compile") or {}).get("changes", [])
                    return _Tainted(done["tainted"], changes)
            if talk.expected() is None and talk.current is None:
                # Every probe is done. Nothing may follow the last line (a stray line would be
                # student code writing to the pipe). A kept worker now waits for the next request;
                # a fresh one is killed rather than left to exit: nothing it does from here counts,
                # and a Python with TensorFlow loaded takes ~0.9 s to tear itself down.
                if buffer:
                    kill_group(process)
                    return talk.forgery()
                if not source.reuses:
                    kill_group(process)
                done_all = True
                return None
    finally:
        source.release(channel, done_all)
        reaper.reap()

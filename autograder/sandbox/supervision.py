"""The grader's hold on the worker processes it starts, as processes: what a new worker starts
under (its own session and process group, rlimits from ``Limits``), killing a worker's whole group,
saying how a worker ended, and the reaper that finds and kills what student code detached from its
worker (``setsid``, double fork) while workers run. Also ``protect_grader_process``, which closes the
grader's own /proc entries to the workers.

In: ``Limits``, a worker's ``subprocess.Popen`` (or a forked worker's stand-in with the same
poll/wait/returncode), pids. Out: a ``preexec_fn``, an exit's description; killing and reaping.
The grader's side only: ``autograder.sandbox.processes`` (a process's children and how to end them) is
shared with the worker's guard, which imports it before student code runs and watches it, so what
only the grader needs stays out of it.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess

from autograder.sandbox.limits import Limits
from autograder.sandbox.processes import child_pids, kill_and_wait

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def child_setup(limits: Limits):
    def setup():
        os.setsid()  # its own process group: killing the group also ends anything it started
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return setup


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def describe_exit(process: subprocess.Popen, boxed: bool = False) -> str:
    code = process.returncode
    if boxed and code is not None and code > 128 and code - 128 in signal.valid_signals():
        code = 128 - code   # bwrap reports its command's death by a signal as 128 + the signal
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def _prctl(option: int, value: int = 0) -> int | None:
    """Linux prctl(2) with one integer argument; None where it is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if option == PR_GET_CHILD_SUBREAPER:
            result = ctypes.c_int()
            return None if libc.prctl(option, ctypes.byref(result), 0, 0, 0) else result.value
        return libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        return None


def protect_grader_process() -> None:
    """Keep other processes of this user (student code in the workers) out of this process's /proc
    entries: its open files (the terminal, the results file), memory and working directory.

    Non-dumpable processes' /proc/PID/fd, /mem and /cwd are closed to same-user processes. Meant for
    the ``mnist-grade`` command; a library caller keeps its own settings.
    """
    _prctl(PR_SET_DUMPABLE, 0)


def stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command's name (which may hold spaces and
    parentheses: the last ')' ends it), so that field N of proc(5) is at index N - 3; None when
    the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            return stream.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_ticks(pid: int) -> int | None:
    """When a process started, in clock ticks after boot (field 22 of /proc/PID/stat)."""
    fields = stat_fields(pid)
    try:
        return int(fields[19])
    except (TypeError, IndexError, ValueError):
        return None


class Reaper:
    """While workers run, orphans of their descendants become this process's children; ``reap()``
    kills the ones that started after the first worker (so none of the caller's own children)."""

    def __init__(self):
        self.workers: set[int] = set()
        self.since: int | None = None
        self.previous: int | None = None

    def __enter__(self):
        self.previous = _prctl(PR_GET_CHILD_SUBREAPER)
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        return self

    def __exit__(self, *exc):
        self.reap()
        if self.previous is not None:
            _prctl(PR_SET_CHILD_SUBREAPER, self.previous)

    def started(self, pid: int) -> None:
        self.workers.add(pid)
        if self.since is None:
            self.since = _start_ticks(pid)

    def _orphans(self) -> list[int]:
        if self.since is None:
            return []
        return [pid for pid in child_pids() if pid not in self.workers and (_start_ticks(pid) or 0) >= self.since]

    def reap(self) -> None:
        for _ in range(100):  # killing one may orphan its children: they come back to us next round
            orphans = self._orphans()
            if not orphans:
                return
            for pid in orphans:
                kill_and_wait(pid)

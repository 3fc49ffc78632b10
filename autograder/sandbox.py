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
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import secrets
import select
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from autograder import jail
from autograder.processes import child_pids, kill_and_wait
from autograder.protocol import Event, Outcome, Probe, Request, outcome

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
FORGED = "result channel: a line the worker did not write (forged, or out of order)"


@dataclass(frozen=True)
class Limits:
    probe_seconds: float = 30.0        # wall time of one student call
    startup_seconds: float = 90.0      # worker start-up: Python, NumPy, Keras imports
    cpu_seconds: int = 600             # CPU time of a worker process (RLIMIT_CPU)
    memory_bytes: int = 4 << 30        # address space of a worker (RLIMIT_AS); TF's peak is ~2.6 GiB
    file_bytes: int = 256 << 20        # largest file a worker may write (RLIMIT_FSIZE)
    line_bytes: int = 64 << 20         # longest result line; a figure description is ~0.5 MB
    # What a worker may add to its grading's work directory, all files together (the reference's
    # results take ~40 MB), and how many entries: the box's /tmp and /dev/shm are tmpfs of their
    # own size, the work directory is on the grader's disk and watched instead.
    workdir_bytes: int = 1 << 30
    workdir_entries: int = 10_000


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


def _describe_exit(process: subprocess.Popen, boxed: bool = False) -> str:
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


def _start_ticks(pid: int) -> int | None:
    """When a process started, in clock ticks after boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            fields = stream.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


class _Reaper:
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


def run_probes(package_parent: Path, probes: list[Probe], workdir: Path, limits: Limits = Limits(),
               on_result=None, blocked: dict[str, Outcome] | None = None,
               workers: "WorkerSource | None" = None, sandbox: jail.SandboxMode = "bwrap") -> dict[str, Outcome]:
    """Run ``probes`` against ``package_parent/mnist_tasks``; map each probe id to its outcome.

    ``on_result(probe_id, outcome)``, if given, hears of each outcome as soon as it is known, so
    the grader can train one model while the worker goes on with the next probes. ``blocked`` maps
    a module to the outcome its probes report without running (e.g. an unreadable source file).
    ``workers``: where workers come from (default ``FreshWorkers``: a new process each).
    ``sandbox``: "bwrap" runs fresh workers in a box (``autograder.jail``) that sees a copy of this
    submission's ``mnist_tasks/`` and nothing of any other; "none" for a deployment that isolates
    each grading itself. Raises ``jail.SandboxUnavailable`` when "bwrap" cannot be made here.
    """
    source = workers if workers is not None else FreshWorkers()
    box = None
    if sandbox == "bwrap":
        jail.check_available()
        staged = _stage(Path(package_parent) / "mnist_tasks", source.folder)
        package_parent = staged.parent
        box = jail.Box.for_grading(staged, Path(workdir), source.uid)
    try:
        return _run_all(package_parent, probes, workdir, limits, on_result, blocked, source, box)
    finally:
        if box is not None:
            shutil.rmtree(box.package_dir.parent, ignore_errors=True)


def _stage(package_dir: Path, folder: Path | None = None) -> Path:
    """A copy of the submission's ``.py`` files (folders kept, links kept as links, nothing else),
    readable by the box's uid: the box binds this copy, so neither the submission's own
    permissions nor a link to a classmate's file decide what its worker reads. ``folder``: where
    the copy must be (a kept worker's box), else a new temporary folder."""
    parent = Path(tempfile.mkdtemp(prefix="mnist-submission-", dir=folder))
    os.chmod(parent, 0o755)
    target = parent / "mnist_tasks"

    def ignore(directory, names):
        keep = set()
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path) or os.path.isdir(path) or (name.endswith(".py") and os.path.isfile(path)):
                keep.add(name)
        return set(names) - keep

    if package_dir.is_dir():
        shutil.copytree(package_dir, target, symlinks=True, ignore=ignore)
    else:
        target.mkdir()
    for root, directories, files in os.walk(target):
        os.chmod(root, 0o755)
        for name in files:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), 0o644)
    return target


def _run_all(package_parent, probes, workdir, limits, on_result, blocked, source, box) -> dict[str, Outcome]:
    results: dict[str, dict] = _Reporting(on_result)
    blocked = dict(blocked or {})
    remaining = list(probes)
    attempt = 0
    with _Reaper() as reaper:
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


def _workdir_overflow(workdir: Path, grader_files: set[str], limits: Limits) -> str | None:
    """Why the worker's files in ``workdir`` (all but the grader's inputs) are past their limits, or None.
    Counts allocated blocks, not sizes: a sparse file takes what it takes."""
    used = entries = 0
    for root, directories, files in os.walk(workdir):
        for name in files + directories:
            if root == str(workdir) and name in grader_files:
                continue
            entries += 1
            try:
                used += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
        if entries > limits.workdir_entries:
            return f"more than {limits.workdir_entries:,} files in its work directory"
    if used > limits.workdir_bytes:
        return f"wrote more than {limits.workdir_bytes >> 20:,} MB to its work directory"
    return None


def _trim(workdir: Path, keep: set) -> None:
    """Remove what a worker wrote beyond its limits: everything but the grader's inputs and results."""
    for name in os.listdir(workdir):
        if name in keep:
            continue
        path = workdir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                path.unlink()
            except OSError:
                pass


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


@dataclass
class _Channel:
    """One worker process and the parent's ends of its pipes."""
    process: subprocess.Popen
    requests: object          # text stream to the worker's request pipe
    reader: object            # binary stream from its result pipe
    log: object
    served: int = 0
    boxed: bool = False

    def send(self, request: Request) -> None:
        self.requests.write(json.dumps(request) + "\n")
        self.requests.flush()
        if request["last"]:   # the worker ends once it has run this request
            self.requests.close()

    def close(self) -> None:
        if self.process.poll() is None:
            _kill_group(self.process)
        for stream in (self.requests, self.reader, self.log):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker so far (RLIMIT_CPU counts it across requests)."""
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as stream:
                fields = stream.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("inf")


def _worker_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")
    return env


def _start_worker(logdir: Path, limits: Limits, attempt: int, box: "jail.Box | None" = None) -> _Channel:
    """A new worker process; in ``box`` (``autograder.jail``) when one is given."""
    request_read, request_write = os.pipe()
    result_read, result_write = os.pipe()
    log = open(logdir / f"worker-{attempt}.log", "wb")
    argv = [sys.executable, "-I", "-m", "autograder.worker", str(request_read), str(result_write)]
    process = subprocess.Popen(
        argv if box is None else jail.command(box, argv), pass_fds=(request_read, result_write),
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=logdir, close_fds=True,
        env=_worker_env() if box is None else {}, preexec_fn=_child_setup(limits))
    os.close(request_read)
    os.close(result_write)
    return _Channel(process, os.fdopen(request_write, "w", encoding="utf-8"),
                    os.fdopen(result_read, "rb", buffering=0), log, boxed=box is not None)


class FreshWorkers:
    """The default: every worker a new process (``python -I -m autograder.worker``), used once."""

    reuses = False
    folder: Path | None = None   # where a grading's files must live for these workers (None: anywhere)
    uid: int | None = None       # the uid a box of these workers runs as (None: one per grading)

    def acquire(self, limits: Limits, logdir: Path, attempt: int, box: "jail.Box | None" = None) -> _Channel:
        return _start_worker(logdir, limits, attempt, box)

    def release(self, channel: _Channel, finished: bool) -> None:
        channel.close()

    def close(self) -> None:
        pass


class _Adopted:
    """A worker forked by the fork server and reparented to this process: waited for like a child
    this process started (``subprocess.Popen``'s poll/wait/returncode)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL   # reaped elsewhere: it is gone
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
        return self.returncode


class ForkServer:
    """Fresh workers forked from a process that imported NumPy, matplotlib, TensorFlow and Keras
    once (``autograder.worker.forkserver``): ~1 s per worker instead of ~6 s. Each worker is a copy
    of that pristine process, never of another worker, so it isolates one grading from the next as
    a new process does. For many gradings in a row (a class, the grader's own tests); ``close()``
    ends the server.
    """

    reuses = False
    folder: Path | None = None
    uid: int | None = None

    def __init__(self, startup_seconds: float = Limits().startup_seconds):
        import socket
        import threading

        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.logdir = Path(tempfile.mkdtemp(prefix="mnist-fork-server-"))
        self._log = open(self.logdir / "fork-server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.worker", "--fork-server", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            cwd=self.logdir, env=_worker_env(), close_fds=True,
            # Its own group: killing a grading's worker group never reaches it, and it never takes
            # the terminal's signals meant for the grader.
            start_new_session=True)
        theirs.close()
        self._lock = threading.Lock()
        self._socket.settimeout(startup_seconds)
        self._answers = self._socket.makefile("rb")
        if self._answers.readline() != b"ready\n":
            self.close()
            raise RuntimeError(f"the fork server did not start (log: {self.logdir / 'fork-server.log'})")
        self.spawned = 0

    def acquire(self, limits: Limits, logdir: Path, attempt: int, box: "jail.Box | None" = None) -> _Channel:
        import socket

        if box is not None:
            # Its workers share the server's view of the disk, so a box of their own cannot be
            # given to them: a boxed grading gets a fresh boxed worker instead.
            return _start_worker(logdir, limits, attempt, box)
        if self.process.poll() is not None:   # killed by a submission, say: carry on without it
            return _start_worker(logdir, limits, attempt)
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        log = open(logdir / f"worker-{attempt}.log", "wb")
        spec = {"memory_bytes": limits.memory_bytes, "cpu_seconds": limits.cpu_seconds,
                "file_bytes": limits.file_bytes, "cwd": str(logdir)}
        try:
            with self._lock:
                socket.send_fds(self._socket, [json.dumps(spec).encode()], [request_read, result_write, log.fileno()])
                answer = json.loads(self._answers.readline() or b"{}")
        except (OSError, ValueError) as error:
            answer = {"error": str(error)}
        finally:
            os.close(request_read)
            os.close(result_write)
        if "pid" not in answer:
            for fd in (request_write, result_read):
                os.close(fd)
            log.close()
            return _start_worker(logdir, limits, attempt)
        self.spawned += 1
        return _Channel(_Adopted(answer["pid"]), os.fdopen(request_write, "w", encoding="utf-8"),
                        os.fdopen(result_read, "rb", buffering=0), log)

    def release(self, channel: _Channel, finished: bool) -> None:
        channel.close()

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            if self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                self.process.wait()
            self._log.close()
            shutil.rmtree(self.logdir, ignore_errors=True)


class WarmWorkers:
    """A worker kept running between gradings, for submissions that are trusted not to interfere
    with one another: the grader's own meta-tests, which grade a hundred small variations of the
    reference and would otherwise pay a worker start-up (Python, NumPy, TensorFlow: ~6 s) each.

    Never for students' work: one student's code could leave state behind for the next. A worker
    that timed out, crashed or tampered is killed as usual, and the next grading starts a fresh
    one; so does a worker that has used half its CPU-time limit or served ``max_requests``.

    A boxed grading gets a boxed kept worker: one box around ``folder``, where every grading it
    serves keeps its work directory and its submission's copy (``run_probes`` puts them there), and
    one uid for all of them. So the meta-tests grade in the box that students' work is graded in
    (read-only system, cleared environment, no network), though not one box per submission.
    """

    reuses = True

    def __init__(self, max_requests: int = 60):
        self.max_requests = max_requests
        self.logdir = Path(tempfile.mkdtemp(prefix="mnist-warm-workers-"))
        self.folder = Path(tempfile.mkdtemp(prefix="mnist-warm-gradings-"))
        os.chmod(self.folder, 0o755)
        self._box = jail.Box.for_grading(None, self.folder) if jail.available() else None
        self.uid = self._box.uid if self._box is not None else None
        # bwrap's --die-with-parent follows the thread that started it: a kept worker is started
        # by a thread that lives as long as this object, not by the grading's own thread.
        from concurrent.futures import ThreadPoolExecutor

        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mnist-warm-worker-starter")
        self._channel: _Channel | None = None
        self.starts = 0           # worker processes started so far (the tests' measure of reuse)

    def take(self, limits: Limits, boxed: bool = False) -> _Channel | None:
        """The kept worker if it may serve another grading, else None (a refused one is closed)."""
        channel, self._channel = self._channel, None
        if channel is not None and (channel.process.poll() is not None or channel.served >= self.max_requests
                                    or channel.cpu_seconds() > limits.cpu_seconds / 2 or channel.boxed != boxed):
            channel.close()
            channel = None
        return channel

    def keep(self, channel: _Channel) -> None:
        channel.served += 1
        self._channel = channel

    def kept_in_box(self) -> bool:
        """Whether the worker kept now runs in a box (the tests' proof that they grade boxed)."""
        return self._channel is not None and self._channel.boxed

    def acquire(self, limits: Limits, logdir: Path, attempt: int, box: "jail.Box | None" = None) -> _Channel:
        # Trusted submissions only (see above): a boxed grading shares the kept worker's box.
        channel = self.take(limits, boxed=box is not None)
        if channel is None:
            self.starts += 1
            channel = self._starter.submit(_start_worker, self.logdir, limits, self.starts,
                                           self._box if box is not None else None).result()
        return channel

    def release(self, channel: _Channel, finished: bool) -> None:
        """``finished``: it ran every probe and waits for the next request; otherwise it is closed."""
        if finished:
            self.keep(channel)
        else:
            channel.close()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._starter.shutdown()
        shutil.rmtree(self.logdir, ignore_errors=True)
        shutil.rmtree(self.folder, ignore_errors=True)


WorkerSource = FreshWorkers | ForkServer | WarmWorkers


def _run_worker(package_parent, probes, workdir, limits, attempt, finished: dict, blocked: dict, reaper: _Reaper,
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
            overflow = _workdir_overflow(Path(workdir), grader_files, limits)
            if overflow is None:
                return False, None
            _kill_group(process)
            _trim(Path(workdir), grader_files | {result.get("npy") for result in finished.values()})
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
                _kill_group(process)
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
                _kill_group(process)  # anything it left behind in its group
                if talk.current is not None:
                    return _Failed(talk.current, outcome("crashed", message=_describe_exit(process, channel.boxed)),
                                   not talk.calling)
                return None if talk.expected() is None else _Vanished(talk.last)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            if len(buffer) > limits.line_bytes:
                _kill_group(process)
                culprit = talk.current or talk.expected()
                if culprit is None:
                    return None
                return _Failed(culprit, outcome("crashed", message=f"a report over {limits.line_bytes:,} bytes"),
                               False)
            for line in lines:
                kind = talk.accept(line)
                if kind == "forged":
                    _kill_group(process)
                    return talk.forgery()
                if kind in ("start", "done"):
                    deadline = time.monotonic() + limits.probe_seconds
                if kind == "done":
                    stop, failed = past_disk_limits(talk.last, False)
                    if stop:
                        return failed
                if kind == "done" and finished[talk.last].get("tainted"):
                    # The worker stops after a tampered probe; what it changed stays changed.
                    _kill_group(process)
                    done = finished[talk.last]
                    changes = done.get("changes") or (done.get("compile") or {}).get("changes", [])
                    return _Tainted(done["tainted"], changes)
            if talk.expected() is None and talk.current is None:
                # Every probe is done. Nothing may follow the last line (a stray line would be
                # student code writing to the pipe). A kept worker now waits for the next request;
                # a fresh one is killed rather than left to exit: nothing it does from here counts,
                # and a Python with TensorFlow loaded takes ~0.9 s to tear itself down.
                if buffer:
                    _kill_group(process)
                    return talk.forgery()
                if not source.reuses:
                    _kill_group(process)
                done_all = True
                return None
    finally:
        source.release(channel, done_all)
        reaper.reap()

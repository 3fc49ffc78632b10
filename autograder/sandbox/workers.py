"""Where workers come from. A worker source gives ``autograder.sandbox.probes`` a ``Channel`` (a worker
process and the parent's ends of its request and result pipes) for each attempt of a grading, and
takes it back when the attempt ends: ``FreshWorkers`` (the default: a new ``python -I -m
autograder.worker`` each time, in the grading's box when there is one), ``ForkServer`` (fresh
unboxed workers forked from a process that imported TensorFlow once; the boxed one a class is
graded with is ``autograder.sandbox.forkbox``) or ``WarmWorkers`` (one worker kept between trusted
gradings: the grader's meta-tests).

In: ``Limits``, the grading's work directory (where worker logs go), the attempt's number, the
grading's ``jail.Box`` if any. Out: ``Channel``s; ``release`` closes or keeps them. What is said
over a channel, and what it is trusted for, is ``autograder.sandbox.probes``'s job.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import jail
from autograder.sandbox.limits import Limits
from autograder.protocol import Request
from autograder.sandbox.supervision import child_setup, kill_group, stat_fields


@dataclass
class Channel:
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
            kill_group(self.process)
        for stream in (self.requests, self.reader, self.log):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker so far (RLIMIT_CPU counts it across requests)."""
        fields = stat_fields(self.process.pid)
        try:
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (TypeError, IndexError, ValueError):
            return float("inf")


def _worker_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")
    return env


def start_worker(logdir: Path, limits: Limits, attempt: int, box: "jail.Box | None" = None) -> Channel:
    """A new worker process; in ``box`` (``autograder.sandbox.jail``) when one is given. Also what the fork
    servers fall back on (``autograder.sandbox.forkbox``)."""
    request_read, request_write = os.pipe()
    result_read, result_write = os.pipe()
    log = open(logdir / f"worker-{attempt}.log", "wb")
    argv = [sys.executable, "-I", "-m", "autograder.worker", str(request_read), str(result_write)]
    process = subprocess.Popen(
        argv if box is None else jail.command(box, argv), pass_fds=(request_read, result_write),
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=logdir, close_fds=True,
        env=_worker_env() if box is None else {}, preexec_fn=child_setup(limits))
    os.close(request_read)
    os.close(result_write)
    return Channel(process, os.fdopen(request_write, "w", encoding="utf-8"),
                    os.fdopen(result_read, "rb", buffering=0), log, boxed=box is not None)


def fork_request(limits: Limits, logdir: Path) -> dict:
    """What a fork server (``autograder.worker.forkserver``) needs to make a worker: its limits and
    its working directory."""
    return {"memory_bytes": limits.memory_bytes, "cpu_seconds": limits.cpu_seconds,
            "file_bytes": limits.file_bytes, "cwd": str(logdir)}


class FreshWorkers:
    """The default: every worker a new process (``python -I -m autograder.worker``), used once."""

    reuses = False
    folder: Path | None = None   # where a grading's files must live for these workers (None: anywhere)
    uid: int | None = None       # the uid a box of these workers runs as (None: one per grading)

    def acquire(self, limits: Limits, logdir: Path, attempt: int, box: "jail.Box | None" = None) -> Channel:
        return start_worker(logdir, limits, attempt, box)

    def release(self, channel: Channel, finished: bool) -> None:
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

    def acquire(self, limits: Limits, logdir: Path, attempt: int, box: "jail.Box | None" = None) -> Channel:
        import socket

        if box is not None:
            # Its workers share the server's view of the disk, so a box of their own cannot be
            # given to them: a boxed grading gets a fresh boxed worker instead.
            return start_worker(logdir, limits, attempt, box)
        if self.process.poll() is not None:   # killed by a submission, say: carry on without it
            return start_worker(logdir, limits, attempt)
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        log = open(logdir / f"worker-{attempt}.log", "wb")
        spec = fork_request(limits, logdir)
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
            return start_worker(logdir, limits, attempt)
        self.spawned += 1
        return Channel(_Adopted(answer["pid"]), os.fdopen(request_write, "w", encoding="utf-8"),
                        os.fdopen(result_read, "rb", buffering=0), log)

    def release(self, channel: Channel, finished: bool) -> None:
        channel.close()

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            if self.process.poll() is None:
                kill_group(self.process)
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
        self._channel: Channel | None = None
        self.starts = 0           # worker processes started so far (the tests' measure of reuse)

    def take(self, limits: Limits, boxed: bool = False) -> Channel | None:
        """The kept worker if it may serve another grading, else None (a refused one is closed)."""
        channel, self._channel = self._channel, None
        if channel is not None and (channel.process.poll() is not None or channel.served >= self.max_requests
                                    or channel.cpu_seconds() > limits.cpu_seconds / 2 or channel.boxed != boxed):
            channel.close()
            channel = None
        return channel

    def keep(self, channel: Channel) -> None:
        channel.served += 1
        self._channel = channel

    def kept_in_box(self) -> bool:
        """Whether the worker kept now runs in a box (the tests' proof that they grade boxed)."""
        return self._channel is not None and self._channel.boxed

    def acquire(self, limits: Limits, logdir: Path, attempt: int, box: "jail.Box | None" = None) -> Channel:
        # Trusted submissions only (see above): a boxed grading shares the kept worker's box.
        channel = self.take(limits, boxed=box is not None)
        if channel is None:
            self.starts += 1
            channel = self._starter.submit(start_worker, self.logdir, limits, self.starts,
                                           self._box if box is not None else None).result()
        return channel

    def release(self, channel: Channel, finished: bool) -> None:
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


WorkerSource = FreshWorkers | ForkServer | WarmWorkers   # and autograder.sandbox.forkbox.BoxedForkServer

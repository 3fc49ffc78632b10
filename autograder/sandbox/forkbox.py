"""Fresh boxed workers without a fresh TensorFlow import: ``BoxedForkServer``, a fork server
(``autograder.worker.forkserver.serve_in_box``) that runs in a box of its own and forks one worker
per attempt of a grading, for one student after another.

A fresh boxed worker spends ~4 s importing TensorFlow, more than the rest of a warm grading (the
training memo recalls the trainings). This server imports once; each worker is a copy of that
pristine process, never of another worker. What a fresh box per grading gave, it keeps this way:

- one student at a time: the box sees the folder ``folder`` (where ``grade()`` and ``run_probes``
  put a grading's work directory and submission copy), and the server forks no second worker until
  the grader has had it sweep the box after the first;
- the sweep (after every attempt, before the grading's files are removed and long before the next
  student's arrive) kills every process in the box but the server (whatever the student's code
  left running, setsid or not), and empties ``/tmp``, ``/dev/shm``, the box's POSIX message queues
  and System V IPC, and waits out any socket bound to a name. A sweep that fails, a server that
  stops answering or dies: the grader kills the server and with it the whole box (every process
  in it dies with it) and carries on with fresh boxed workers;
- the server is the box's init (bwrap ``--as-pid-1``) and not dumpable: no bwrap init of the
  workers' uid stands beside it to be taken over, and a worker (the same uid) can neither stop,
  kill, trace nor write into it, nor so reach the workers forked after it. The rest a worker
  could leave is closed in every box: ``/`` and ``/dev`` are read-only (``autograder.sandbox.jail``), the
  kernel's keyrings refused (``autograder.worker.syscalls``). docs/threat-model.md says what this
  guarantees; tests/test_class_box.py tries it with a class, as root and as an instructor's account.

Across processes: ``mnist-course autograde`` keeps one server per Dask worker process, and each
``mnist-grade`` it starts attaches to it (``attach_spec`` / ``attached``) for its one grading,
holding the server's lock for the whole of it.

In: ``Limits``, a grading's ``jail.Box`` (its work directory inside ``folder``). Out: ``Channel``s
like the other sources' (``autograder.sandbox.workers``).
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from autograder.sandbox import jail
from autograder.sandbox.limits import Limits
from autograder.sandbox.workers import Channel, fork_request, start_worker

ENVIRONMENT = "MNIST_FORK_SERVER"   # how mnist-grade finds the server it was given (attach_spec)
ANSWER_SECONDS = 10.0               # a sweep, a fork or a worker's last word; longer: the box is killed


class _Relayed:
    """A worker forked inside the box: not this process's child (the box has its own PID
    namespace), so the server waits for it and reports how it ended on a pipe. ``pid`` is the
    worker's pid as this process sees it. With the subprocess.Popen methods the sandbox uses."""

    def __init__(self, pid: int, status_fd: int, lost):
        self.pid = pid
        self.returncode: int | None = None
        self._status = os.fdopen(status_fd, "rb", buffering=0)
        self._lost = lost   # kills the box: what the server no longer reports on

    def _read(self) -> None:
        data = self._status.read(32)
        self._status.close()
        try:
            self.returncode = int(data)
        except ValueError:   # the server died (its box was ended): its worker dies with its box
            self._lost()
            self.returncode = -signal.SIGKILL

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._status], [], [], 0)[0]:
            self._read()
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            if select.select([self._status], [], [], ANSWER_SECONDS)[0]:
                self._read()
            else:   # a stopped server: stop waiting, and end the box with the worker in it
                self._status.close()
                self._lost()
                self.returncode = -signal.SIGKILL
        return self.returncode


class BoxedForkServer:
    """See the module. ``BoxedForkServer()`` starts a server and owns it (``close()`` ends it);
    ``BoxedForkServer.attached()`` uses the one a parent process gave this process."""

    reuses = False

    def __init__(self, startup_seconds: float = Limits().startup_seconds, *, _attach: dict | None = None):
        if _attach is not None:
            self._owner = False
            self.home, self.folder = Path(_attach["home"]), Path(_attach["folder"])
            self.uid, self.box_pid, self.server_pid = _attach["uid"], _attach["box_pid"], _attach["server_pid"]
            self._socket = socket.socket(fileno=_attach["fd"])
            self._lock_file = open(self.home / "lock", "rb")
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)   # one grading at a time, whoever grades
            self._starter = None
            self.process = None
            self._answers = self._socket.makefile("rb")
            self._socket.settimeout(ANSWER_SECONDS)
            # Whatever a grading before this one left (a grader killed at its time limit leaves its
            # worker running) goes before this grading's files arrive in the box's folder.
            if "swept" not in self._ask({"sweep": True}):
                self._answers.close()
                self._lock_file.close()
                raise OSError("the fork server did not sweep its box")
            # Its files too (a killed grader removed none; an unprivileged worker may write here).
            self._entries: set[str] = set()
            self._tidy()
        else:
            self._start(startup_seconds)
            self._answers = self._socket.makefile("rb")
        self._lock = threading.Lock()
        self.usable = True
        self.spawned = 0
        if self.process is not None:   # a new server: its first word, and its pid from its credentials
            self._socket.settimeout(startup_seconds)
            word, self.server_pid = _sender(self._socket, len(b"ready\n"))
            if word != b"ready\n" or self.server_pid is None:
                self.close()
                raise RuntimeError(f"the boxed fork server did not start (log: {self.home / 'fork-server.log'})")
        self._socket.settimeout(ANSWER_SECONDS)

    def _start(self, startup_seconds: float) -> None:
        from concurrent.futures import ThreadPoolExecutor

        jail.check_available()
        self._owner = True
        self.home = Path(tempfile.mkdtemp(prefix="mnist-forkbox-"))
        (self.home / "lock").touch()
        # The gradings' folder is this process's, 0755: the box's uid may read it and write only
        # in the work directory each grading gives it (jail.Box.for_grading).
        self.folder = self.home / "gradings"
        self.folder.mkdir(mode=0o755)
        os.chmod(self.home, 0o755)
        self.uid = jail.new_uid()
        self._lock_file = None
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.server_pid: int | None = None
        log = open(self.home / "fork-server.log", "wb")
        # bwrap's --die-with-parent follows the thread that started it: a thread as long-lived as
        # this object (a Dask task's thread ends with its task).
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mnist-forkbox-starter")
        try:
            self.process = self._starter.submit(
                subprocess.Popen, self._server_command(theirs.fileno()),
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env={},
                close_fds=True, start_new_session=True).result()
        finally:
            theirs.close()
            log.close()
        self.box_pid = self.process.pid

    def _server_command(self, socket_fd: int) -> list[str]:
        """The server, in a box around the gradings' folder, as the box's init (``serve_in_box``)."""
        argv = [sys.executable, "-I", "-m", "autograder.worker", "--fork-server", str(socket_fd), "--boxed"]
        return jail.command(jail.Box(None, self.folder, self.uid), argv, as_pid_1=True)

    # --- across processes ---------------------------------------------------------------------------

    def attach_spec(self) -> tuple[dict[str, str], int]:
        """(the environment, the descriptor) that give a child process (mnist-grade) this server."""
        spec = {"fd": self._socket.fileno(), "home": str(self.home), "folder": str(self.folder),
                "uid": self.uid, "box_pid": self.box_pid, "server_pid": self.server_pid}
        return {ENVIRONMENT: json.dumps(spec)}, self._socket.fileno()

    @classmethod
    def attached(cls) -> "BoxedForkServer | None":
        """The server this process was given (``$MNIST_FORK_SERVER``), or None."""
        spec = os.environ.pop(ENVIRONMENT, None)
        if not spec:
            return None
        try:
            return cls(_attach=json.loads(spec))
        except (OSError, ValueError, KeyError, TypeError):
            # A server gone or unswept, a bad spec: fresh boxed workers, as without one. An unswept
            # box is ended now, before this grading's files arrive in its folder.
            try:
                for pid in (json.loads(spec)["server_pid"], json.loads(spec)["box_pid"]):
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError, KeyError, TypeError):
                pass
            return None

    # --- a worker source (autograder.sandbox.workers) --------------------------------------------------------

    def alive(self) -> bool:
        if self.process is not None:
            return self.usable and self.process.poll() is None
        try:
            os.kill(self.box_pid, 0)
        except OSError:
            return False
        return self.usable

    def _kill_box(self) -> None:
        """End the box and everything in it: the server, its init, and with it its PID namespace's
        processes; then bwrap's process outside. (Killed from outside its namespace, the init dies
        whatever its signal handlers. bwrap's --die-with-parent does not reach it: as root,
        setpriv's change of uid clears the parent-death signal, and one the server asked for itself
        did not come either, on Linux 6.18.) A server left without its grader ends itself: its
        socket's end is its last word (``serve_in_box``)."""
        self.usable = False
        if self.process is not None and self.process.poll() is not None:
            return   # ended and reaped already: its pid may be another process's by now
        for pid in (self.server_pid, self.box_pid):
            try:
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.process is not None:
            self.process.wait()

    def _ask(self, message: dict, fds: list[int] = ()) -> dict:
        try:
            socket.send_fds(self._socket, [json.dumps(message).encode()], list(fds))
            return json.loads(self._answers.readline() or b"{}")
        except (OSError, ValueError) as error:
            return {"error": f"{type(error).__name__}: {error}"}

    def acquire(self, limits: Limits, logdir: Path, attempt: int, box: "jail.Box | None" = None) -> Channel:
        if box is None or not self.alive():
            return start_worker(logdir, limits, attempt, box)
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        status_read, status_write = os.pipe()
        hello, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        hello.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        log = open(logdir / f"worker-{attempt}.log", "wb")
        self._entries = set(os.listdir(self.folder))
        with self._lock:
            answer = self._ask(fork_request(limits, logdir), [request_read, result_write, log.fileno(), status_write, theirs.fileno()])
        for fd in (request_read, result_write, status_write):
            os.close(fd)
        theirs.close()
        pid = self._hello(hello) if "pid" in answer else None
        hello.close()
        if pid is None:
            for fd in (request_write, result_read, status_read):
                os.close(fd)
            log.close()
            self._kill_box()
            return start_worker(logdir, limits, attempt, box)
        self.spawned += 1
        # boxed=False: the exit code is the worker's own, not bwrap's 128 + signal.
        return Channel(_Relayed(pid, status_read, self._kill_box), os.fdopen(request_write, "w", encoding="utf-8"),
                       os.fdopen(result_read, "rb", buffering=0), log)

    @staticmethod
    def _hello(hello: socket.socket) -> int | None:
        """The new worker's pid in this process's namespace, from the credentials of its hello."""
        hello.settimeout(ANSWER_SECONDS)
        data, pid = _sender(hello, 1)
        return pid if data else None

    def release(self, channel: Channel, finished: bool) -> None:
        channel.close()
        if not isinstance(channel.process, _Relayed) or not self.usable:
            return
        with self._lock:
            answer = self._ask({"sweep": True})
        if "swept" not in answer:
            self._kill_box()
        self._tidy()

    def _tidy(self) -> None:
        """Remove what is in the gradings' folder beside the grading under way (``_entries``, as
        ``acquire`` found it): what a worker made there (unprivileged, it has the grader's uid)."""
        for name in set(os.listdir(self.folder)) - self._entries:
            path = self.folder / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        try:
            self._answers.close()
            self._socket.close()
        finally:
            if self._lock_file is not None:
                self._lock_file.close()   # releases the lock
            if self._owner:
                self._kill_box()
                self._starter.shutdown()
                shutil.rmtree(self.home, ignore_errors=True)


def _sender(connection: socket.socket, size: int) -> tuple[bytes, int | None]:
    """Up to ``size`` bytes from ``connection`` (SO_PASSCRED set) and the pid of the process that
    sent them, as this process sees it (the kernel translates it out of the box's PID namespace)."""
    try:
        data, ancillary, _, _ = connection.recvmsg(size, socket.CMSG_SPACE(12))
    except OSError:
        return b"", None
    for level, kind, payload in ancillary:
        if data and level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= 4:
            pid = int.from_bytes(payload[:4], sys.byteorder, signed=True)
            return data, pid if pid > 0 else None   # 0: the sender is gone (killing 0 is our own group)
    return data, None


_server: BoxedForkServer | None = None


def process_server(sandbox: str | None) -> BoxedForkServer | None:
    """This process's boxed fork server, to lend to the graders it starts one after another (a
    Dask worker of ``mnist-course autograde``): started with the first boxed grading, and again
    after a submission ended it. None where gradings are not boxed (``sandbox``, else
    ``$MNIST_SANDBOX``) or no box can be made: the graders then start their own workers, or fail
    with the sandbox's own message. ``$MNIST_NO_FORK_SERVER=1``: none (the benchmarks' baseline)."""
    global _server
    if jail.mode_for(sandbox) != "bwrap" or os.environ.get("MNIST_NO_FORK_SERVER"):
        return None
    if not jail.available():
        return None
    if _server is not None and not _server.alive():
        _server.close()
        _server = None
    if _server is None:
        try:
            _server = BoxedForkServer()
        except (OSError, RuntimeError):
            return None
        atexit.register(_server.close)
    return _server

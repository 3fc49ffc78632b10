"""A self-check's side of the warm grader (``autograder.warm``): ``grade`` asks this user's warm
grader, starting it on first use, and returns its ``Report``; None whenever the warm grader is off
or cannot answer, and the caller grades cold as before (same verdicts, only slower)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.sandbox.jail import SandboxMode
from autograder.warm.daemon import SOCKET, idle_seconds, peer
from autograder.warm.messages import Answer, GradeRequest, identity, report_from_wire

STARTUP_SECONDS = 60.0   # for a new warm grader to listen (it imports the grader, not TensorFlow, first)
GRADE_SECONDS = 1800.0   # for one answer: as a cold grader run (autograder.nbgrader.cells.GRADER_TIMEOUT)


def enabled(environ=os.environ) -> bool:
    return not environ.get("MNIST_NO_FORK_SERVER") and idle_seconds(environ) > 0


def folder() -> Path | None:
    """This user's folder for the warm grader's socket, made with mode 0700 if need be: in
    ``$XDG_RUNTIME_DIR`` where the session has one, else in the temporary folder, else (someone
    else took that name first: it must be this user's alone) in the user's cache folder. None
    when none of them can be: no warm grader then. (A socket's path must fit in 107 bytes.)"""
    name = f"mnist-tasks-warm-{os.getuid()}"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    places = [Path(runtime) / name] if runtime and os.path.isdir(runtime) else []
    places += [Path(tempfile.gettempdir()) / name, Path(cache) / "mnist-tasks" / "warm"]
    for place in places:
        if _own_folder(place):
            return place
    return None


def _own_folder(path: Path) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
        status = os.lstat(path)
    except OSError:
        return False
    # The socket's name (its folder's path, plus grader.sock) must fit in sockaddr_un.
    return stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid() and not status.st_mode & 0o077 \
        and len(os.fsencode(path / SOCKET)) < 108


def grade(submission: Path, *, only: list[str] | None = None, names: set[str] | None = None,
          sandbox: SandboxMode | None = None, memo: Path | None = None, timeout: float = GRADE_SECONDS):
    """``autograder.grade.grade(submission, only=, names=, sandbox=, memo=Memo(memo))`` of a
    self-check (public checks only), by this user's warm grader; None: grade it yourself."""
    where = folder() if enabled() else None
    if where is None:
        return None
    request: GradeRequest = {"kind": "grade", "identity": identity(), "submission": str(Path(submission).resolve()),
                             "only": list(only) if only is not None else None,
                             "names": sorted(names) if names is not None else None,
                             "sandbox": sandbox, "memo": str(memo) if memo is not None else None}
    for _ in range(2):   # a stale grader ends itself when told; then one more try starts the right one
        connection = _connect(where) or _start(where, request["identity"])
        if connection is None:
            return None
        answer = _ask(connection, request, timeout)
        if answer is None or answer["status"] == "refused":
            return None
        if answer["status"] == "graded":
            return report_from_wire(answer["report"])
    return None


def stop(where: Path | None = None) -> bool:
    """Ask this user's warm grader to end now; whether one was running."""
    where = where or folder()
    connection = _connect(where) if where is not None else None
    if connection is None:
        return False
    _ask(connection, {"kind": "stop"}, STARTUP_SECONDS)
    return True


def grader_pid(where: Path | None = None) -> int | None:
    """The pid of this user's warm grader (its socket's peer), or None when none is listening."""
    where = where or folder()
    connection = _connect(where) if where is not None else None
    if connection is None:
        return None
    with connection:   # a connection that says nothing: the grader reads nothing and serves the next
        return peer(connection)[0]


def _connect(where: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(where / SOCKET))
        if peer(connection)[1] == os.getuid():
            return connection
    except OSError:
        pass
    connection.close()
    return None


def _ask(connection: socket.socket, request: dict, timeout: float) -> Answer | None:
    with connection:
        try:
            connection.settimeout(timeout)
            connection.sendall(json.dumps(request).encode() + b"\n")
            return json.loads(connection.makefile("rb").readline())
        except (OSError, ValueError):
            return None


def _start(where: Path, grader_identity: str) -> socket.socket | None:
    """A new warm grader, unless another check started one meanwhile (one at a time: the lock)."""
    with open(where / "start.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        connection = _connect(where)
        if connection is not None:
            return connection
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        with open(where / "grader.log", "wb") as log:
            starter = subprocess.Popen([sys.executable, "-I", "-m", "autograder.warm.daemon", str(where), grader_identity],
                                       cwd=where, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       close_fds=True, start_new_session=True)
        if starter.wait() != 0:   # the daemon's first process exits at once, leaving the grader running
            return None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            connection = _connect(where)
            if connection is not None:
                return connection
            time.sleep(0.02)
        return None

"""``python -I -m autograder.warm.daemon FOLDER IDENTITY``: a user's warm grader (``autograder.warm``).

FOLDER is the user's own folder of mode 0700 (``client.folder``). The grader listens on
FOLDER/grader.sock, answers only processes of its own uid (SO_PEERCRED), and one request at a time:
a second asker waits in the socket's backlog, so two notebooks of one student take turns. It ends
after ``MNIST_WARM_IDLE_SECONDS`` without a request, when asked to, or when a client of another
identity asks (that client then starts the grader it needs).

It is the grader of a cold self-check (``mnist-grade`` in a grade cell, pytest's ``grading``
fixture) kept running: the same ``grade()``, non-dumpable, student code only in the workers it
lends each grading, a box swept between them (``autograder.sandbox.forkbox``)."""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
import traceback
from pathlib import Path

from autograder.warm.messages import Answer, Request

SOCKET = "grader.sock"
DEFAULT_IDLE_SECONDS = 900
READ_SECONDS = 30.0   # for a request's one line, once connected


def idle_seconds(environ=os.environ) -> float:
    """``MNIST_WARM_IDLE_SECONDS``: how long the warm grader waits for the next check; 0: no warm grader."""
    try:
        return max(0.0, float(environ.get("MNIST_WARM_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return float(DEFAULT_IDLE_SECONDS)


def peer(connection: socket.socket) -> tuple[int, int, int]:
    """The (pid, uid, gid) of the process at the other end of a unix socket, as the kernel saw it connect."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)


class Workers:
    """Where this grader's gradings get their workers: a boxed fork server (``autograder.sandbox.forkbox``),
    started with the grader so that its TensorFlow import overlaps the first request, and started
    again after a submission ended it; where no box can be made, an unboxed fork server."""

    def __init__(self):
        from autograder.sandbox import jail

        self._boxed = None
        self._unboxed = None
        self._starting = None
        if jail.available() and os.environ.get("MNIST_SANDBOX") != "none":
            self._starting = threading.Thread(target=self._start_boxed, name="mnist-warm-forkbox", daemon=True)
            self._starting.start()

    def _start_boxed(self) -> None:
        from autograder.sandbox.forkbox import BoxedForkServer

        try:
            self._boxed = BoxedForkServer()
        except (OSError, RuntimeError):
            traceback.print_exc()
            self._boxed = None

    def for_sandbox(self, mode: str):
        """The worker source of a grading whose student code runs in ``mode`` (None: fresh workers)."""
        if mode == "bwrap":
            if self._starting is not None:
                self._starting.join()
                self._starting = None
            if self._boxed is not None and not self._boxed.alive():
                self._boxed.close()
                self._boxed = None
            if self._boxed is None:
                self._start_boxed()
            return self._boxed
        if self._unboxed is None:
            from autograder.sandbox.workers import ForkServer

            try:
                self._unboxed = ForkServer()
            except (OSError, RuntimeError):
                traceback.print_exc()
                return None
        return self._unboxed

    def close(self) -> None:
        if self._starting is not None:
            self._starting.join()
        for server in (self._boxed, self._unboxed):
            if server is not None:
                server.close()


def refusal(request: Request, identity: str) -> Answer | None:
    """The answer to a request this grader does not grade (a stop, another identity's); else None."""
    if request.get("kind") == "stop":
        return {"status": "stale", "report": None, "reason": "asked to stop"}
    if request.get("identity") != identity:
        return {"status": "stale", "report": None, "reason": "the kit, its Python environment or MNIST changed"}
    return None


def graded(request: Request, workers) -> Answer:
    """``grade()`` of the request, as a cold self-check would call it, with ``workers``."""
    from autograder.grade import grade
    from autograder.training.memo import Memo
    from autograder.warm.messages import report_to_wire

    try:
        report = grade(Path(request["submission"]), only=request["only"],
                       names=set(request["names"]) if request["names"] is not None else None,
                       sandbox=request["sandbox"], memo=Memo(Path(request["memo"])) if request["memo"] else None,
                       workers=workers)
    except Exception as error:   # a refusal (no box, no MNIST, an unknown task): the cold path says it in full
        traceback.print_exc()
        return {"status": "refused", "report": None, "reason": f"{type(error).__name__}: {error}"}
    return {"status": "graded", "report": report_to_wire(report), "reason": None}


def _send(connection: socket.socket, reply: Answer) -> None:
    connection.settimeout(None)
    try:
        connection.sendall(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
    except OSError:
        pass   # the asker is gone (its kernel restarted): the next asker is served as usual


def graded_in_a_child(connection: socket.socket, request: Request, server) -> None:
    """Grade in a fork of this grader, which answers and exits: whatever a grading loads (TensorFlow,
    for a training the memo does not recall) leaves with it, so the grader idles small and every
    grading starts from the same state. The child uses the boxed fork server as ``mnist-grade``
    does one it is lent (``BoxedForkServer.attached``: the box swept before and after)."""
    from autograder.sandbox.forkbox import ENVIRONMENT, BoxedForkServer

    spec = json.loads(server.attach_spec()[0][ENVIRONMENT])
    child = os.fork()
    if child == 0:
        try:
            try:
                lent = BoxedForkServer(_attach=spec)
            except (OSError, ValueError):
                lent = None   # fresh boxed workers, as mnist-grade without a server
            _send(connection, graded(request, lent))
            if lent is not None:
                lent.close()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
    os.waitpid(child, 0)


def prepare() -> None:
    """What every grading would otherwise do first, done once while the fork server starts, so that
    each grading's fork of this process finds it done: the grader's imports, its catalogue of
    checks, the libraries' versions the training memo keys on, whether a box can be made."""
    import numpy.random  # noqa: F401  (the probes' inputs)

    from autograder import grade

    from autograder.sandbox import jail
    from autograder.training import memo
    grade.select()
    memo.environment()
    jail.available()


def serve(folder: Path, identity: str) -> None:
    from autograder.sandbox.supervision import protect_grader_process

    protect_grader_process()   # as mnist-grade: student code in the workers must not reach this process
    idle = idle_seconds()
    workers = Workers()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Bound under a name of its own, then renamed over the socket's name: a client never connects
    # to a half-made socket, and a grader that ends removes its name only while it is still its own.
    bound = folder / f".{SOCKET}.{os.getpid()}"
    bound.unlink(missing_ok=True)
    listener.bind(str(bound))
    os.chmod(bound, 0o600)
    listener.listen(16)
    mine = os.stat(bound).st_ino
    os.replace(bound, folder / SOCKET)

    def let_go() -> None:
        try:
            if os.stat(folder / SOCKET).st_ino == mine:
                (folder / SOCKET).unlink()
        except OSError:
            pass

    prepare()
    from autograder.sandbox import jail
    from autograder.sandbox.forkbox import BoxedForkServer

    try:
        while True:
            listener.settimeout(idle)
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                break
            with connection:
                if peer(connection)[1] != os.getuid():
                    continue
                connection.settimeout(READ_SECONDS)
                try:
                    line = connection.makefile("rb").readline()
                    request = json.loads(line)
                except (OSError, ValueError):
                    continue
                if not isinstance(request, dict):
                    continue
                reply = refusal(request, identity)
                if reply is not None:
                    let_go()   # before the answer: the asker's next connect finds no socket of this grader
                    _send(connection, reply)
                    break
                workers_of_grading = workers.for_sandbox(request.get("sandbox") or ("bwrap" if jail.available() else "none"))
                if isinstance(workers_of_grading, BoxedForkServer):
                    graded_in_a_child(connection, request, workers_of_grading)
                else:   # unboxed (Colab): this process keeps what the gradings load; one student's notebook
                    _send(connection, graded(request, workers_of_grading))
    finally:
        let_go()
        listener.close()
        workers.close()


def main(argv: list[str]) -> None:
    folder, identity = Path(argv[0]), argv[1]
    # A daemon: the starter's child exits at once, so that no kernel or shell keeps this grader as
    # its child (or its zombie) and the starter's wait is short.
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    try:
        serve(folder, identity)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # As mnist-grade: skip TensorFlow's interpreter teardown, which does nothing this needs.
        os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])

"""``python -I -m autograder.worker --fork-server SOCKET_FD``: import once, fork a fresh worker per grading.

A worker spends ~5 s importing NumPy, matplotlib, TensorFlow and Keras before it runs a single
probe. Where many submissions are graded one after another (a class; the grader's own isolation
and adversarial tests), this process does those imports once, without starting TensorFlow's
runtime (whose threads a fork would not carry), and forks a worker for each grading. Each worker
is as fresh as one started from scratch: a copy of this pristine process, never of another
worker, so nothing one submission does reaches the next.

The parent (``autograder.workers.ForkServer``) sends, over the socket, one JSON line with the
limits and the working directory, and three descriptors: the request pipe, the result pipe and
the log file. The worker is forked twice, so that it is reparented to the grader (which is a
child subreaper while workers run) and the grader can wait for it and read how it ended, exactly
as for a worker it started itself. This process answers with the worker's pid.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import sys

MAX_MESSAGE = 4096


def _become_worker(spec: dict, request_fd: int, result_fd: int, log_fd: int) -> None:
    os.setsid()  # its own process group: killing the group also ends anything it started
    for name, value in (("RLIMIT_AS", spec["memory_bytes"]), ("RLIMIT_CPU", spec["cpu_seconds"]),
                        ("RLIMIT_FSIZE", spec["file_bytes"]), ("RLIMIT_CORE", 0)):
        limit = getattr(resource, name)
        resource.setrlimit(limit, (value, value))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    keep = {0, 1, 2, request_fd, result_fd}
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in keep:
            try:
                os.close(int(name))
            except OSError:
                pass
    os.chdir(spec["cwd"])
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    from autograder.worker.loop import main

    main(request_fd, result_fd)


def _spawn(spec: dict, fds: list[int]) -> int:
    """Fork a worker (twice: it is orphaned at once and reparented to the grader); its pid."""
    read_pid, write_pid = os.pipe()
    middle = os.fork()
    if middle == 0:
        code = 0
        try:
            os.close(read_pid)
            worker = os.fork()
            if worker == 0:
                os.close(write_pid)
                try:
                    _become_worker(spec, *fds)
                except BaseException:   # the worker's own log says why; the grader sees it end
                    import traceback

                    traceback.print_exc()
                    code = 1
                finally:
                    os._exit(code)
            os.write(write_pid, str(worker).encode())
        finally:
            os._exit(code)
    os.close(write_pid)
    with os.fdopen(read_pid, "rb") as stream:
        pid = stream.read()
    os.waitpid(middle, 0)
    return int(pid)


def _not_dumpable() -> None:
    """Close this process's /proc entries (memory, descriptors) to other processes of the user:
    the workers it forks run student code, which must not reach into the process every later
    worker is copied from. (Its workers inherit this; their own /proc/self stays theirs.)"""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)   # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def serve(socket_fd: int) -> None:
    control = socket.socket(fileno=socket_fd)
    os.set_inheritable(socket_fd, False)
    _not_dumpable()
    import autograder.worker.loop  # noqa: F401  (every import a worker needs, TensorFlow not started)

    control.sendall(b"ready\n")
    while True:
        message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 3)
        if not message:
            return   # the grader closed its end
        try:
            pid = _spawn(json.loads(message), fds)
            answer = {"pid": pid}
        except Exception as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        finally:
            for fd in fds:
                os.close(fd)
        control.sendall(json.dumps(answer).encode() + b"\n")


if __name__ == "__main__":
    serve(int(sys.argv[1]))

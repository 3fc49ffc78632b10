"""``python -I -m autograder.worker --fork-server SOCKET_FD [--boxed]``: import once, fork a fresh
worker per grading. ``--boxed``: the server inside a box of its own, for students' work, one
student at a time (``serve_in_box``, below; the grader's side is ``autograder.sandbox.forkbox``).

A worker spends ~5 s importing NumPy, matplotlib, TensorFlow and Keras before it runs a single
probe. Where many submissions are graded one after another (a class; the grader's own isolation
and adversarial tests), this process does those imports once, without starting TensorFlow's
runtime (whose threads a fork would not carry), and forks a worker for each grading. Each worker
is as fresh as one started from scratch: a copy of this pristine process, never of another
worker, so nothing one submission does reaches the next.

The parent (``autograder.sandbox.workers.ForkServer``) sends, over the socket, one JSON line with the
limits and the working directory, and three descriptors: the request pipe, the result pipe and
the log file. The worker is forked twice, so that it is reparented to the grader (which is a
child subreaper while workers run) and the grader can wait for it and read how it ended, exactly
as for a worker it started itself. This process answers with the worker's pid.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import sys
import time

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
    signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a fresh worker (the boxed server drops it)
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
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)   # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def _import_and_draw() -> None:
    """Every import a worker needs (TensorFlow not started), and a figure drawn once
    (``loop.warm_up_drawing``), in a folder of its own that is gone before the first worker."""
    import tempfile

    from autograder.worker import loop

    try:
        folder = tempfile.mkdtemp(prefix="mnist-fork-server-")
    except OSError:
        return   # nowhere to draw: each worker draws its own first figure, as a fresh one does
    try:
        loop.warm_up_drawing(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def serve(socket_fd: int) -> None:
    control = socket.socket(fileno=socket_fd)
    os.set_inheritable(socket_fd, False)
    _not_dumpable()
    _import_and_draw()
    control.sendall(b"ready\n")
    while True:
        message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 3)
        if not message:
            return   # the grader closed its end
        _answer(control, fds, lambda: {"pid": _spawn(json.loads(message), fds)})


def _answer(control: socket.socket, fds: list[int], act) -> None:
    """Answer a request with what ``act()`` returns (or the error it raised); its descriptors closed."""
    try:
        answer = act()
    except Exception as error:
        answer = {"error": f"{type(error).__name__}: {error}"}
    finally:
        for fd in fds:
            os.close(fd)
    control.sendall(json.dumps(answer).encode() + b"\n")


# --- in a box, for students' work: one server for many students, one student at a time ----------------

SWEEP_ROUNDS = 300          # ~3 s of killing before the server gives up on its box (the grader then kills it)
IPC_RMID = 0
MQUEUE = "/dev/mqueue"      # the box's POSIX message queues (autograder.sandbox.jail mounts them)


def _report_exits(statuses: dict[int, int]) -> None:
    """Reap this process's children; tell the grader how each worker ended (its exit code, as
    ``os.waitstatus_to_exitcode`` gives it) on that worker's status pipe, then close the pipe."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = statuses.pop(pid, None)
        if fd is not None:
            try:
                os.write(fd, str(os.waitstatus_to_exitcode(status)).encode())
            except OSError:
                pass   # its grader is gone (killed at its time limit): nobody to tell
            finally:
                os.close(fd)


def _spawn_in_box(spec: dict, fds: list[int], statuses: dict[int, int]) -> int:
    """Fork one worker (once: the grader, outside the box's PID namespace, cannot adopt it, so this
    process waits for it and reports its end). Before anything else it says hello on ``hello``,
    which gives the grader its pid as the grader sees it (SO_PASSCRED)."""
    request_fd, result_fd, log_fd, status_fd, hello_fd = fds
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.set_wakeup_fd(-1)   # this process's wake-up pipe is not the worker's to write
            hello = socket.socket(fileno=hello_fd)
            hello.sendall(b"\n")
            hello.close()
            _become_worker(spec, request_fd, result_fd, log_fd)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    statuses[pid] = os.dup(status_fd)
    return pid


def _remove_sysv_ipc() -> None:
    """Shared memory, message queues and semaphores left in the box's IPC namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, remove in (("shm", lambda id_: libc.shmctl(id_, IPC_RMID, None)),
                         ("msg", lambda id_: libc.msgctl(id_, IPC_RMID, None)),
                         ("sem", lambda id_: libc.semctl(id_, 0, IPC_RMID, 0))):
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as table:
                ids = [int(line.split()[1]) for line in table.readlines()[1:] if line.split()]
        except (OSError, ValueError, IndexError):
            continue
        for id_ in ids:
            remove(id_)


def _mount_points() -> set[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        # Octal escapes for space, tab, newline and backslash (proc(5)); other bytes as they are.
        return {re.sub(r"\\([0-7]{3})", lambda code: chr(int(code[1], 8)), line.split()[4])
                for line in table if len(line.split()) > 4}


def _empty(folder: str, mounts: set[str]) -> list[str]:
    """Remove everything in ``folder`` but the mounts (the gradings' folder, the interpreter, ...,
    when they live under /tmp) and the folders bwrap made on the way to them; what could not be
    removed."""
    left = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if path in mounts:
            continue
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                if any(mount.startswith(path + "/") for mount in mounts):
                    try:   # bwrap made it: root's as root (and closed to students), else theirs to close
                        os.chmod(path, 0o700)
                    except PermissionError:
                        pass
                    left += _empty(path, mounts)
                    continue
                os.chmod(path, 0o700)   # a student's mode-000 folder is still theirs to open and empty
                for parent, folders, _ in os.walk(path):
                    for child in folders:
                        if not os.path.islink(os.path.join(parent, child)):
                            os.chmod(os.path.join(parent, child), 0o700)
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError:
            left.append(path)   # the sweep fails: the grader then ends the whole box
    return left


def _named_sockets() -> list[str]:
    """Unix sockets bound to a name (abstract, ``@...``, or a path) in the box's network namespace:
    the server binds none, so after the kill these are a student's, not yet freed."""
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as table:
            return [row[7] for row in (line.split() for line in table.readlines()[1:]) if len(row) > 7]
    except OSError:
        return []


def _until_gone(look, seconds: float = 1.0) -> list[str]:
    """``look()`` until it finds nothing (what the kernel frees after a process's end, it frees
    within milliseconds) or ``seconds`` have passed; what it last found."""
    deadline = time.monotonic() + seconds
    while (found := look()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def _sweep(statuses: dict[int, int]) -> dict:
    """After a student's grading: end every process in the box but this one, its init (a daemon
    the student's code left behind, setsid or not), then empty what the box may write besides the
    grading folders (``/tmp``, ``/dev/shm``, POSIX message queues, System V IPC), and make sure no
    socket the student bound is left. (No key to remove: workers make none, autograder.worker.syscalls.) The next student's files arrive
    only after this has answered."""
    me = os.getpid()
    for _ in range(SWEEP_ROUNDS):
        others = [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, me)]
        if not others:
            break
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _report_exits(statuses)
        time.sleep(0.01)   # this process, the box's init, reaps the ones it inherited
    else:
        return {"error": f"processes left in the box: {others[:5]}"}
    mounts = _mount_points()
    leftovers = [*_empty("/tmp", mounts), *_empty("/dev/shm", mounts)]
    if os.path.isdir(MQUEUE):
        leftovers += _empty(MQUEUE, mounts)
    _remove_sysv_ipc()
    leftovers += [f"socket {name}" for name in _until_gone(_named_sockets)]
    return {"swept": True} if not leftovers else {"error": f"left in the box: {leftovers[:5]}"}


def serve_in_box(socket_fd: int) -> None:
    """The fork server of ``autograder.sandbox.forkbox.BoxedForkServer``, in a box (``autograder.sandbox.jail``)
    around the folder the gradings' files are put in. It forks one worker at a time: a second is
    refused until the grader has asked for a sweep after the first (``_sweep``), so two students'
    workers never share the box, and nothing one left running or wrote sees the next one's files.
    It is the box's init (bwrap --as-pid-1), so the only process that outlives a student's turn:
    from inside the box no signal without a handler reaches it (SIGSTOP and SIGKILL included), and,
    non-dumpable, it cannot be traced or written into by a worker (the same uid), so every worker
    is a copy of the process that only imported."""
    control = socket.socket(fileno=socket_fd)
    os.set_inheritable(socket_fd, False)
    _not_dumpable()
    # The box's init (bwrap --as-pid-1): a signal from inside the box reaches it only through a
    # handler, and Python's SIGINT handler would let a worker raise KeyboardInterrupt here.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.chdir("/")
    _import_and_draw()

    wake_read, wake_write = os.pipe()
    for fd in (wake_read, wake_write):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)   # a worker's end wakes the loop below
    statuses: dict[int, int] = {}
    state = {"swept": True}
    control.sendall(b"ready\n")
    while True:
        ready, _, _ = select.select([control, wake_read], [], [])
        if wake_read in ready:
            try:
                while os.read(wake_read, 512):
                    pass
            except BlockingIOError:
                pass
            _report_exits(statuses)
        if control not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 5)
        if not message:
            return   # the grader closed its end
        _answer(control, fds, lambda: _serve_in_box_once(json.loads(message), fds, statuses, state))


def _serve_in_box_once(request: dict, fds: list[int], statuses: dict[int, int], state: dict) -> dict:
    """A sweep, or a worker forked when the box has been swept since the last one."""
    if request.get("sweep"):
        answer = _sweep(statuses)
        state["swept"] = "swept" in answer
        return answer
    if not state["swept"] or statuses:
        return {"error": "a worker of the last grading is not swept away yet"}
    if len(fds) != 5:
        return {"error": f"{len(fds)} descriptors, not 5"}
    state["swept"] = False
    return {"pid": _spawn_in_box(request, fds, statuses)}


if __name__ == "__main__":
    serve(int(sys.argv[1]))

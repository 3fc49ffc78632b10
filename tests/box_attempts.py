"""What an earlier student's code tries against the students graded after it in one box, and what
a later student's code looks for: the submissions of the class-box tests (tests/test_class_box.py,
tests/test_forkbox.py).

- ``attacker``: at import and again when ``normalize`` is called, it tries to reach every process
  it can see (a write to ``/proc/PID/mem``, ``ptrace``), to stop pid 1 and its parent (SIGSTOP),
  and leaves behind a ``setsid`` daemon holding an abstract and a path-bound socket, a POSIX
  message queue, keys in every keyring it has, System V shared memory and a file in every place
  it can write. Its ``normalize`` answers right only if every process stayed out of reach and
  everything was left: a full score says the attempts ran and reached nothing.
- ``looker``: its ``normalize`` answers right only if it finds none of that.
- ``both``: leaves, then looks, in one worker: the look is sharp (it finds everything).

Everything else is the reference's, so a full score on ps1 is the reference's.
"""

from __future__ import annotations

from pathlib import Path

from tests.submissions import make_submission

# Names no honest process in a box uses: what the look finds is what the attacker left.
MARK = "left-by-an-earlier-student"

COMMON = f'''
MARK = {MARK!r}
_MINE = []   # the daemons this worker started: its own, not another's to reach
_LEFT = set()   # "import", "call": what this worker has left already (each probe calls again)
_KEYRINGS = []   # "refused" once the kernel's keyrings answered ENOSYS (the box forbids them)


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _keyctl(*arguments):
    """keyctl(2) and add_key(2) by number (x86_64, aarch64): Python has no binding."""
    import ctypes
    import platform

    numbers = {{"x86_64": (248, 250), "aarch64": (217, 219)}}[platform.machine()]
    return numbers, [ctypes.c_long(a) if isinstance(a, int) else a for a in arguments]


def _read_proc(path):
    """A /proc file through libc: the worker's guard stops Python's open() of its parent's entries."""
    import os

    fd = _libc().open(path.encode(), os.O_RDONLY)
    if fd < 0:
        return b""
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _writable_places():
    """Every folder of the box this process may write in, to a depth of 3 (the box is small)."""
    import os

    places = set()
    for top in ("/", os.path.dirname(os.getcwd())):
        for folder, folders, _ in os.walk(top):
            if folder.startswith(("/proc", "/sys", "/usr", "/dev/mqueue")) or folder.count("/") > 3:
                folders[:] = []
                continue
            if os.access(folder, os.W_OK) and folder != os.getcwd():
                places.add(folder)
    return sorted(places | {{"/tmp", "/dev/shm"}})
'''

REACH = '''
def _reach(when):
    """Every process it can see but itself: written into, traced, stopped. What got through."""
    import os
    import signal
    import time

    libc, me, reached = _libc(), os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (me, *_MINE):
            continue
        pid = int(name)
        fd = libc.open(f"/proc/{pid}/mem".encode(), os.O_RDWR)
        if fd >= 0:
            os.close(fd)
            reached.append(f"{when}: wrote into /proc/{pid}/mem")
        if libc.ptrace(16, pid, None, None) == 0:      # PTRACE_ATTACH
            time.sleep(0.05)
            libc.ptrace(17, pid, None, None)           # PTRACE_DETACH
            reached.append(f"{when}: traced {pid}")
    for pid in sorted({1, os.getppid()}):
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            continue
        time.sleep(0.05)
        state = _read_proc(f"/proc/{pid}/stat").rsplit(b")", 1)[-1].split()[:1]
        if state in ([b"T"], [b"t"]):
            os.kill(pid, signal.SIGCONT)
            reached.append(f"{when}: stopped {pid}")
    return reached
'''

LEAVE = '''
def _leave(when):
    """A daemon with two sockets, a message queue, keys, shared memory, files. What it could not
    leave (keys the kernel refuses to make, ENOSYS, are not left, and not missing either)."""
    import ctypes
    import errno
    import os
    import socket
    import time

    libc, missing = _libc(), []
    if when in _LEFT:
        return missing
    _LEFT.add(when)
    ready_read, ready_write = os.pipe()
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() == 0:
            held = socket.socket(socket.AF_UNIX)
            held.bind(f"\\0{MARK}-{when}")
            held.listen()
            bound = socket.socket(socket.AF_UNIX)
            bound.bind(f"/tmp/{MARK}-socket-{when}")
            os.write(ready_write, str(os.getpid()).encode())
            while True:
                try:
                    open(f"/tmp/{MARK}-heartbeat", "w").write(str(time.time()))
                except OSError:
                    pass
                time.sleep(0.02)
        os._exit(0)
    os.close(ready_write)
    os.waitpid(child, 0)   # the double fork's middle process, reaped as a daemon's starter does
    daemon = os.read(ready_read, 32)
    if daemon:
        _MINE.append(int(daemon))
    else:
        missing.append("daemon")
    queue = libc.mq_open(f"/{MARK}-{when}".encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
    if queue < 0:
        missing.append("message queue")
    (add_key, _), _ = _keyctl()
    data = b"the code of whoever comes next"
    for keyring in (-3, -4, -5):   # session, user, user-session
        _, arguments = _keyctl(b"user", f"{MARK}-{when}-{keyring}".encode(), data, len(data), keyring)
        if libc.syscall(ctypes.c_long(add_key), *arguments) < 0:
            if ctypes.get_errno() == errno.ENOSYS:
                _KEYRINGS[:] = ["refused"]
            else:
                missing.append(f"key in {keyring}")
    (_, keyctl), arguments = _keyctl(22, -1, -2)   # KEYCTL_GET_PERSISTENT, linked into (possessed through) its process keyring
    persistent = libc.syscall(ctypes.c_long(keyctl), *arguments)
    _, arguments = _keyctl(b"user", f"{MARK}-{when}-persistent".encode(), data, len(data), persistent)
    if (persistent < 0 or libc.syscall(ctypes.c_long(add_key), *arguments) < 0) and not _KEYRINGS:
        missing.append("key in the persistent keyring")
    if libc.shmget(4242, 4096, 0o1000 | 0o600) < 0:   # IPC_CREAT
        missing.append("System V shared memory")
    for place in _writable_places():   # where the mode allows it (devpts refuses files, a read-only mount too)
        try:
            open(os.path.join(place, f"{MARK}-{when}"), "w").write("x")
        except OSError:
            if place in ("/tmp", "/dev/shm"):
                missing.append(f"file in {place}")
    return missing
'''

LOOK = '''
def _look():
    """What an earlier student left that this worker can find."""
    import ctypes
    import os
    import socket
    import time

    libc, found, me = _libc(), [], os.getpid()
    for _ in range(3):   # a live daemon beats again within 20 ms
        for place in _writable_places() + ["/dev/mqueue"]:
            try:
                found += [os.path.join(place, n) for n in os.listdir(place) if n.startswith(MARK)]
            except OSError:
                pass
        time.sleep(0.1)
    found += [f"process {pid}" for pid in os.listdir("/proc") if pid.isdigit() and int(pid) not in {1, me, os.getppid()}]
    for when in ("import", "call"):
        if libc.mq_open(f"/{MARK}-{when}".encode(), os.O_RDONLY, 0, None) >= 0:
            found.append(f"message queue {when}")
        try:
            socket.socket(socket.AF_UNIX).connect(f"\\0{MARK}-{when}")
            found.append(f"abstract socket {when}")
        except OSError:
            pass
    found += [f"socket {line.split()[-1]}" for line in _read_proc("/proc/net/unix").decode().splitlines() if MARK in line]
    found += [f"key {line.split()[-2]}" for line in _read_proc("/proc/keys").decode().splitlines() if MARK in line]
    (_, keyctl), arguments = _keyctl(22, -1, -2)   # the persistent keyring, as the attacker found it
    persistent = libc.syscall(ctypes.c_long(keyctl), *arguments)
    if persistent >= 0:
        _, arguments = _keyctl(11, persistent, 0, 0)   # KEYCTL_READ: 4 bytes a key
        if libc.syscall(ctypes.c_long(keyctl), *arguments) > 0:
            found.append("a key in the persistent keyring")
    if libc.shmget(4242, 0, 0) != -1:
        found.append("System V shared memory 4242")
    return sorted(set(found))
'''


IN_A_CLASS_BOX = '''
    import os as _os
    if b"--fork-server" not in _read_proc(f"/proc/{_os.getppid()}/cmdline"):
        raise RuntimeError("not in a class box: not forked by a boxed fork server")
'''


def _normalize(body: str) -> str:
    return f'''
def normalize(images):
    import numpy as np
{body}
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)
'''


ATTACKER = COMMON + REACH + LEAVE + _normalize(IN_A_CLASS_BOX + '''
    problems = _REACHED_AT_IMPORT + _reach("call") + _leave("call")
    if problems:
        raise RuntimeError(f"reached or could not leave: {problems}")
''') + '''
_REACHED_AT_IMPORT = _reach("import") + _leave("import")
'''

LOOKER = COMMON + LOOK + _normalize(IN_A_CLASS_BOX + '''
    found = _look()
    if found:
        raise RuntimeError(f"found what an earlier student left: {found}")
''')

# What the look finds in the leaver's own worker, each kind (the sharpness of the look).
KINDS = ("process ", f"/tmp/{MARK}-heartbeat", f"/dev/shm/{MARK}-call", f"/dev/mqueue/{MARK}-call",
         "message queue call", "abstract socket call", f"socket @{MARK}-call", f"key {MARK}-call--4",
         f"key {MARK}-call--3", f"key {MARK}-call--5", f"key {MARK}-call-persistent", "a key in the persistent",
         "System V shared memory 4242")

BOTH = COMMON + LEAVE + LOOK + _normalize(f'''
    _leave("call")
    found = " ".join(_look())
    unseen = [kind for kind in {KINDS!r} if kind not in found and not (_KEYRINGS and "key" in kind)]
    keyrings = "refused" if _KEYRINGS else "open"
    raise RuntimeError(f"not found: {{unseen}}" if unseen else f"found every kind; keyrings {{keyrings}}")
''')


def attacker(folder: Path) -> Path:
    return make_submission(folder, {"preprocessing": ATTACKER}, name="attacker")


def looker(folder: Path) -> Path:
    return make_submission(folder, {"preprocessing": LOOKER}, name="looker")


def both(folder: Path) -> Path:
    return make_submission(folder, {"preprocessing": BOTH}, name="both")

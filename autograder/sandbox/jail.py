"""The box a worker runs in: bubblewrap (``bwrap``) namespaces around ``python -I -m autograder.worker``.

Inside the box a worker sees, read-only, the system's programs and libraries, the interpreter, the
virtual environment and the kit's own code, and its own submission's ``mnist_tasks/``; read-write,
only its grading's work directory (its inputs, its result arrays; deleted after the grading) and
size-limited tmpfs mounts (``/tmp``, ``/dev/shm``) and its POSIX message queues, which vanish
with it; everything else bwrap made (``/``, ``/dev``) is read-only. It has no network but
loopback, its own PID, IPC, UTS and user namespaces, a new session, no capabilities, no kernel
keyrings (``autograder.worker.syscalls``) and a cleared environment; it dies with the grader. Not in the box: the course directory, the gradebook, the
course secret, ``solutions/``, ``$HOME``, other submissions and other processes.

Started as root, the worker first becomes an unprivileged uid of its own (one per grading, from a
range no account uses), as isolate and PrairieLearn run student code: a root-started bwrap would
keep root's ownership of every file it can see. Its process count is limited inside its own user
namespace (``RLIMIT_NPROC``, set by the worker before any student code), so a fork bomb meets that
limit and not the grader's or another grading's.

Why bwrap and not a container engine: it needs no daemon and no image, only unprivileged user
namespaces (Debian, Ubuntu, Fedora allow them), so it works wherever an instructor grades on Linux.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from mnist_kit.i18n import Text

SandboxMode = Literal["bwrap", "none"]
MODES: tuple[SandboxMode, ...] = ("bwrap", "none")


def mode_for(requested: str | None) -> str:
    """The mode a grading runs in: the one asked for, else ``$MNIST_SANDBOX``, else bwrap."""
    return requested or os.environ.get("MNIST_SANDBOX") or "bwrap"

TMPFS_BYTES = 512 << 20          # /tmp inside the box: matplotlib's and Keras's caches, student files
SHM_BYTES = 64 << 20             # /dev/shm inside the box
PROCESSES = 512                  # RLIMIT_NPROC inside the box's user namespace; TensorFlow's threads count
# Unprivileged uids for workers started by root: above every account and every container's subuid
# range that useradd hands out (100000 + 65536 n), below the 32-bit overflow uid.
ROOT_UID_RANGE = (1 << 30, (1 << 31) - 1)
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
             "/etc/hosts", "/etc/fonts")   # fontconfig's: a kernel's plots with Japanese labels


@dataclass(frozen=True)
class Box:
    """One grading's box: the submission it may read and the work directory it may write."""
    package_dir: Path | None   # the submission's mnist_tasks/, read-only; None: only the work directory
    workdir: Path
    uid: int | None = None     # as root: the unprivileged uid the worker runs as; None: this process's

    @classmethod
    def for_grading(cls, package_dir: Path | None, workdir: Path, uid: int | None = None) -> "Box":
        """``uid``: as root, the one a kept worker's box already runs as; None: a new one."""
        uid = None if os.geteuid() != 0 else uid if uid is not None else new_uid()
        if uid is not None:
            # The work directory is the worker's to write (its inputs stay root's, 0644), and root's
            # group's to enter: root's bwrap, capabilities dropped, changes into it before setpriv.
            os.chown(workdir, uid, 0)
            os.chmod(workdir, 0o770)
        return cls(Path(package_dir) if package_dir is not None else None, Path(workdir), uid)


def new_uid() -> int | None:
    """As root, an unprivileged uid no account uses, for a new box; else None (the box maps this
    process's own uid)."""
    if os.geteuid() != 0:
        return None
    return ROOT_UID_RANGE[0] + secrets.randbelow(ROOT_UID_RANGE[1] - ROOT_UID_RANGE[0])


class SandboxUnavailable(RuntimeError):
    """No box can be made here; ``message`` says why (bwrap's own words) and what to do."""

    def __init__(self, reason: str):
        self.reason = reason
        self.message = Text(
            "採点に必要なサンドボックス (bubblewrap) を作れません: " + reason + "\n"
            "Debian/Ubuntu では `sudo apt-get install bubblewrap` で入れてください。ユーザー名前空間を禁止している"
            "環境 (一部のコンテナ、AppArmor の設定) では、提出ごとに隔離された環境 (1 提出 1 コンテナなど) で "
            "`--sandbox none` を指定して採点してください。",
            "cannot make the sandbox grading needs (bubblewrap): " + reason + "\n"
            "On Debian/Ubuntu install it with `sudo apt-get install bubblewrap`. Where user namespaces are "
            "not allowed (some containers, an AppArmor policy), grade where each submission is already "
            "isolated (one container per submission, say) and pass `--sandbox none`.")
        super().__init__(self.message.en)


def _kit_paths() -> list[Path]:
    """The kit's own code as the worker imports it: the folders the environment's ``.pth`` files
    add to ``sys.path`` (an editable install's link tree), and the packages' real folders (the
    checkout's autograder/, mnist_kit/ and mnist_course/ only, never the checkout itself with
    solutions/)."""
    import importlib.util
    import site

    import autograder
    import mnist_kit

    paths = []
    for packages in site.getsitepackages([sys.prefix]):
        for pth in sorted(Path(packages).glob("*.pth")):
            for line in pth.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip() and not line.startswith(("#", "import")) and Path(line.strip()).is_dir():
                    paths.append(Path(line.strip()))
    paths += [Path(package.__file__).resolve().parent for package in (autograder, mnist_kit)]
    # The layer above the grader, found, never imported: a notebook's cells (a kernel that
    # MNIST_COURSE_EXECUTE boxes) import mnist_course.colab for the zip to hand in. Public code, as
    # the wheel holds it; a grader installed without it (a container) binds none.
    course = importlib.util.find_spec("mnist_course")
    if course is not None and course.origin:   # its __init__.py, resolved as the others' __file__ are
        paths.append(Path(course.origin).resolve().parent)
    return paths


def _environment() -> dict[str, str]:
    keep = {key: os.environ[key] for key in ("LANG", "LC_ALL", "TZ") if key in os.environ}
    return {**keep, "PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
            "MPLCONFIGDIR": "/tmp/matplotlib", "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg",
            "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": "", "MNIST_WORKER_PROCESSES": str(PROCESSES)}


def command(box: Box | None, argv: list[str], *, as_pid_1: bool = False) -> list[str]:
    """``argv`` (the worker's command) wrapped in bwrap for ``box``; None: an empty box, which sees
    no submission (the availability probe). ``as_pid_1``: ``argv`` is the box's init itself, with no
    bwrap init beside it (the boxed fork server, ``autograder.sandbox.forkbox``): an unprivileged grader's
    bwrap init has the workers' uid and is dumpable, so a worker could take it over."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bwrap が見つかりません / bwrap is not installed")
    uid = box.uid if box is not None else (ROOT_UID_RANGE[0] if os.geteuid() == 0 else None)
    # Not --unshare-all: it also asks for a user namespace, in which root's uids are not mapped.
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv",
            "--cap-drop", "ALL"]
    if as_pid_1:
        args += ["--as-pid-1"]
    if uid is None:
        args += ["--unshare-user"]
    else:
        # Root's bwrap mounts as root (it can reach an interpreter under root's 0700 home) and
        # keeps only the capabilities to change uid, which setpriv then gives up with root itself.
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    for key, value in _environment().items():
        args += ["--setenv", key, value]
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    made = {"/tmp", "/dev", "/dev/shm", "/proc"}
    for path in ETC_FILES:
        args += [*_folders_to(path, made), "--ro-bind-try", path, path]
    # The tmpfs mounts first: bwrap mounts in order, and a venv or a submission may live under /tmp.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
             # The box's own POSIX message queues, listed: a class box's sweep removes them.
             "--mqueue", "/dev/mqueue"]
    seen = set(SYSTEM_PATHS)
    for path in [Path(sys.base_prefix), Path(sys.prefix), *_kit_paths()]:
        path = str(path)
        if path not in seen and not any(path.startswith(other + "/") for other in SYSTEM_PATHS):
            seen.add(path)
            args += [*_folders_to(path, made), "--ro-bind", path, path]
    mnist = os.environ.get("MNIST_NPZ")
    if mnist and os.path.isfile(mnist):
        # Public data, read-only: a student's own load_mnist() call (in a plot, say) works as at home.
        mnist = os.path.realpath(mnist)
        args += [*_folders_to(mnist, made), "--ro-bind", mnist, mnist, "--setenv", "MNIST_NPZ", mnist]
    if box is not None:
        if box.package_dir is not None:
            args += [*_folders_to(str(box.package_dir), made),
                     "--ro-bind", str(box.package_dir), str(box.package_dir)]
        args += [*_folders_to(str(box.workdir), made), "--bind", str(box.workdir), str(box.workdir),
                 "--chdir", str(box.workdir)]
    else:
        args += ["--chdir", "/tmp"]
    # The folders bwrap made for the mounts (on its own tmpfs at / and /dev) read-only: unprivileged
    # they are the workers' uid's, and a file left there would outlive a student's turn in a class box.
    args += ["--remount-ro", "/", "--remount-ro", "/dev"]
    return [*args, "--", *_as_user(uid, argv)]


def _folders_to(path: str, made: set[str]) -> list[str]:
    """bwrap options that make ``path``'s missing ancestors in the box, 0755: left to itself, a
    root-started bwrap makes them 0700, closed to the uid the worker then runs as."""
    options = []
    for folder in reversed(Path(path).parents):
        folder = str(folder)
        if folder != "/" and folder not in made and folder not in SYSTEM_PATHS:
            made.add(folder)
            options += ["--perms", "0755", "--dir", folder]
    return options


def _as_user(uid: int | None, argv: list[str]) -> list[str]:
    """Inside a root-started box: the command as ``uid``, no groups, no capabilities left."""
    if uid is None:
        return argv
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--", *argv]


@lru_cache(maxsize=None)
def _probe_result() -> str | None:
    """Why no box can be made here (bwrap's own message), or None when one can."""
    if not sys.platform.startswith("linux"):
        return f"Linux のみ / Linux only (this is {sys.platform})"
    try:
        done = subprocess.run(command(None, ["/bin/true"]), capture_output=True, text=True, timeout=30, env={})
    except SandboxUnavailable as error:
        return error.reason
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{type(error).__name__}: {error}"
    if done.returncode != 0:
        return (done.stderr.strip() or f"bwrap exit code {done.returncode}")[:400]
    return None


def check_available() -> None:
    """Raise ``SandboxUnavailable`` (with bwrap's reason) unless a box can be made here."""
    reason = _probe_result()
    if reason is not None:
        raise SandboxUnavailable(reason)


def available() -> bool:
    return _probe_result() is None


def unavailable_reason() -> str | None:
    return _probe_result()

"""System calls no worker makes: the kernel's keyrings (``add_key``, ``request_key``, ``keyctl``),
refused with ENOSYS by a seccomp filter that ``forbid_keyrings`` installs at a worker's start,
before any import, for it and every process it starts.

Why: a key outlives the process that made it, in keyrings that every process of a uid can write
(the user keyrings, the persistent keyring; unprivileged, the instructor's own ones too, found by
their serial in ``/proc/keys``), so one student could leave a key for a later one to read. No
sweep could empty an instructor's own keyrings without harming them; nothing a worker has to do
needs a key, so no key is made. Python has no seccomp binding and bwrap's ``--seccomp`` needs a
descriptor passed through every caller of ``autograder.sandbox.jail``; the filter is small enough to write
here (seccomp(2), filter(2)).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import sys

# (AUDIT_ARCH_*, add_key, request_key, keyctl) per machine.
_MACHINES = {"x86_64": (0xC000003E, 248, 249, 250), "aarch64": (0xC00000B7, 217, 218, 219)}
X32_SYSCALL_BIT = 0x40000000   # x86_64's other ABI: its numbers carry this bit

_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_NR, _ARCH = 0, 4   # offsets in struct seccomp_data
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def program(machine: str) -> list[tuple[int, int, int, int]] | None:
    """The filter for ``machine`` as (code, jt, jf, k); None where its numbers are not known here.
    Another ABI than the machine's own (i386 or x32 on x86_64) is refused whole: no worker uses it."""
    if machine not in _MACHINES:
        return None
    arch, *keyring_calls = _MACHINES[machine]
    refuse = _RET_ERRNO | errno.ENOSYS
    code = [(_LD_W_ABS, 0, 0, _ARCH), (_JEQ_K, 1, 0, arch), (_RET_K, 0, 0, refuse), (_LD_W_ABS, 0, 0, _NR)]
    if machine == "x86_64":
        code += [(_JGE_K, 0, 1, X32_SYSCALL_BIT), (_RET_K, 0, 0, refuse)]
    for number in keyring_calls:
        code += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, refuse)]
    return code + [(_RET_K, 0, 0, _RET_ALLOW)]


def forbid_keyrings() -> bool:
    """Install the filter in this process (one thread: call it before anything starts a thread);
    whether it is in place. Elsewhere than Linux on x86_64 and aarch64, nothing is installed."""
    code = program(platform.machine()) if sys.platform.startswith("linux") else None
    if code is None:
        return False
    instructions = (_Instruction * len(code))(*(_Instruction(*step) for step in code))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    fprog = _Program(len(code), instructions)
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0

"""autograder.worker.syscalls: a worker's process refuses the kernel's keyrings, and nothing else."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from autograder.worker.syscalls import program

TRY = '''
import ctypes, errno, os, sys
from autograder.worker.syscalls import forbid_keyrings, _MACHINES
import platform
libc = ctypes.CDLL(None, use_errno=True)
add_key = _MACHINES[platform.machine()][1]
def try_add_key():
    data = b"x"
    result = libc.syscall(ctypes.c_long(add_key), b"user", b"left", data, ctypes.c_long(1), ctypes.c_long(-4))
    return "made" if result >= 0 else errno.errorcode[ctypes.get_errno()]
before = try_add_key()
installed = forbid_keyrings()
after = try_add_key()
child = os.fork()
if child == 0:
    os._exit(0 if try_add_key() == "ENOSYS" else 1)
_, status = os.waitpid(child, 0)
print(before, installed, after, os.waitstatus_to_exitcode(status), os.getpid() > 0, open(os.devnull, "w").write("ok"))
'''


@pytest.mark.skipif(not sys.platform.startswith("linux") or program(platform.machine()) is None,
                    reason="the filter is for Linux on x86_64 and aarch64")
def test_keys_are_refused_after_the_filter_and_in_its_children_and_other_calls_still_work():
    done = subprocess.run([sys.executable, "-c", TRY], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, installed, after, child, *others = done.stdout.split()
    assert before == "made"        # the attempt is real: without the filter a key is made
    assert (installed, after, child) == ("True", "ENOSYS", "0")
    assert others == ["True", "2"]


def test_another_abi_and_unknown_machines():
    assert program("riscv64") is None
    code = program("x86_64")
    assert code[-1] == (0x06, 0, 0, 0x7FFF0000)                    # everything else allowed
    assert (0x35, 0, 1, 0x40000000) in code                        # x32's numbers refused
    assert sum(step[0] == 0x15 and step[3] in (248, 249, 250) for step in code) == 3

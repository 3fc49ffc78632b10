"""What one worker may use, as one frozen ``Limits``: the wall time of a student call and of the
worker's start-up, its CPU time, address space and largest file (set as rlimits when it starts), the
longest result line it may send, and what it may add to its grading's work directory.

Read by every part of the sandbox (``probes``, ``workers``, ``supervision``,
``workspace``); imports nothing of the grader.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    probe_seconds: float = 30.0        # wall time of one student call
    startup_seconds: float = 90.0      # worker start-up: Python, NumPy, Keras imports
    cpu_seconds: int = 600             # CPU time of a worker process (RLIMIT_CPU)
    memory_bytes: int = 4 << 30        # address space of a worker (RLIMIT_AS); TF's peak is ~2.6 GiB
    file_bytes: int = 256 << 20        # largest file a worker may write (RLIMIT_FSIZE)
    line_bytes: int = 64 << 20         # longest result line; a figure description is ~0.5 MB
    # What a worker may add to its grading's work directory, all files together (the reference's
    # results take ~40 MB), and how many entries: the box's /tmp and /dev/shm are tmpfs of their
    # own size, the work directory is on the grader's disk and watched instead.
    workdir_bytes: int = 1 << 30
    workdir_entries: int = 10_000

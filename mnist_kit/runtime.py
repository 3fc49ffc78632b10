"""Process set-up shared by every tool that trains: quiet TensorFlow, fixed threads, fixed seeds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Same numbers on machines with different core counts: TF's thread counts change the bits of
# the results (see ../shared/notes/keras-cpu-facts.md). Two intra-op threads is the speed optimum
# on the 2-core machines the kit is calibrated on.
INTRA_OP_THREADS = 2
INTER_OP_THREADS = 1


def path_with_this_python(path: str | None) -> str:
    """``path`` (a PATH) with this Python's bin directory first: nbgrader runs ``alembic`` (its
    gradebook's migrations) from PATH, and it must be the one beside the Python running nbgrader,
    activated environment or not."""
    here = os.path.dirname(sys.executable)
    return os.pathsep.join([here, *(part for part in (path or "").split(os.pathsep) if part and part != here)])


def quiet_tensorflow() -> None:
    """Silence TF's C++ start-up log lines; call before importing TensorFlow or Keras."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def deterministic(seed: int) -> None:
    """Pin TensorFlow's threads and seed Python, NumPy and TensorFlow.

    ``keras.utils.set_random_seed`` before building a model gives bit-identical weights and
    losses in one process and across processes on the same machine.
    """
    tf = import_tensorflow_quietly()
    import keras

    _pin_threads(tf)
    keras.utils.set_random_seed(seed)


def _pin_threads(tf) -> None:
    # Possible only before TensorFlow's first operation; afterwards the first setting holds.
    try:
        tf.config.threading.set_intra_op_parallelism_threads(INTRA_OP_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(INTER_OP_THREADS)
    except RuntimeError:
        pass


_started = False


def import_tensorflow_quietly(start: bool = True):
    """Import TensorFlow with file descriptor 2 silenced, and return it.

    TF 2.21 writes absl/CUDA start-up lines to stderr before any logging setting applies
    (``TF_CPP_MIN_LOG_LEVEL`` does not reach them). On a grading report, and in an nbgrader grade
    cell, where any stderr output zeroes the cell, they are noise; real errors still raise.

    ``start=False`` imports without running TensorFlow's first operation, which starts its
    runtime's threads: a process that forks workers (``autograder.worker.forkserver``) must not
    have those, and each worker starts TensorFlow itself.
    """
    import sys

    global _started
    if "tensorflow" in sys.modules and (_started or not start):
        return sys.modules["tensorflow"]
    quiet_tensorflow()
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow
        import keras  # noqa: F401  (its first import also prints through TF)

        # The CUDA probe runs on the first operation, not on import; that operation also fixes the
        # thread pools, so pin them first (deterministic() would be too late).
        if start:
            _pin_threads(tensorflow)
            tensorflow.constant(0)
            _started = True
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow


def machine() -> dict:
    """What of this machine changes the grader's float results: the CPU, its vector instructions
    (oneDNN picks its kernels by them) and TensorFlow's thread counts. Read without TensorFlow."""
    import platform

    cpu, simd = platform.processor() or "", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not cpu:
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not simd:
                # The vector instructions oneDNN picks its kernels by: other ones, other float rounding.
                simd = sorted(flag for flag in line.split(":", 1)[1].split()
                              if flag.startswith(("avx", "amx", "fma")))
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "simd": simd, "intra_op_threads": INTRA_OP_THREADS,
            "inter_op_threads": INTER_OP_THREADS}


def library_versions() -> dict:
    """The versions of the libraries the grader trains with, from their installed metadata
    (importing TensorFlow to ask it would cost seconds)."""
    from importlib import metadata

    found = {}
    for name, distributions in (("tensorflow", ("tensorflow", "tensorflow-cpu")), ("keras", ("keras",)),
                                ("numpy", ("numpy",))):
        for distribution in distributions:
            try:
                found[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    import platform

    return {**found, "python": platform.python_version()}

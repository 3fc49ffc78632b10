"""Process set-up shared by every tool that trains: quiet TensorFlow, fixed threads, fixed seeds."""

from __future__ import annotations

import os

# Same numbers on machines with different core counts: TF's thread counts change the bits of
# the results (see ../shared/notes/keras-cpu-facts.md). Two intra-op threads is the speed optimum
# on the 2-core machines the kit is calibrated on.
INTRA_OP_THREADS = 2
INTER_OP_THREADS = 1


def quiet_tensorflow() -> None:
    """Silence TF's C++ start-up log lines; call before importing TensorFlow or Keras."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def deterministic(seed: int) -> None:
    """Pin TensorFlow's threads and seed Python, NumPy and TensorFlow.

    ``keras.utils.set_random_seed`` before building a model gives bit-identical weights and
    losses in one process and across processes on the same machine.
    """
    quiet_tensorflow()
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(INTRA_OP_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(INTER_OP_THREADS)
    except RuntimeError:
        pass  # already initialised in this process: the first call's setting holds
    keras.utils.set_random_seed(seed)

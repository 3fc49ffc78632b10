"""``python -I -m autograder.worker REQUEST_FD RESULT_FD`` (one worker), or ``--fork-server SOCKET_FD [--boxed]``
(``autograder.worker.forkserver``): see ``autograder.worker``."""

import os
import resource
import sys

from autograder.worker.syscalls import forbid_keyrings

# First, while this process is one thread: no key for a later student (autograder.worker.syscalls).
forbid_keyrings()

# In a box (autograder.sandbox.jail) the process limit counts this user namespace's processes only, so it
# is set here, inside, before any student code: a fork bomb meets it, the grader never does.
_processes = os.environ.pop("MNIST_WORKER_PROCESSES", None)
if _processes:
    resource.setrlimit(resource.RLIMIT_NPROC, (int(_processes), int(_processes)))

# Before NumPy, matplotlib and TensorFlow are imported (by ``loop``), and before the submission's
# directory joins sys.path: a student's keras.py or numpy.py beside mnist_tasks/ must not shadow them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["MPLBACKEND"] = "Agg"

if sys.argv[1] == "--fork-server":
    from autograder.worker.forkserver import serve, serve_in_box

    (serve_in_box if sys.argv[3:] == ["--boxed"] else serve)(int(sys.argv[2]))
else:
    from autograder.worker.loop import main

    main(int(sys.argv[1]), int(sys.argv[2]))

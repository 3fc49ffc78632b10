"""The warm grader: one long-lived grader per user for self-checks (grade cells, ``pytest autograder/``).

A self-check used to start a grader process and a fresh boxed worker each time: ~3 s, almost all of
it TensorFlow's import, for a student function that runs in milliseconds. The warm grader is a
process of the student's own account (``daemon``) that keeps the grader's modules imported and
lends every grading the same boxed fork server a class is graded with (``autograder.sandbox.forkbox``):
each check's worker is forked in a box from a process that imported TensorFlow once, and the box
is swept after it. It grades each check in a fork of itself, so that what a grading loads (the
grader's own TensorFlow, for a training) leaves with it and every check starts from the same state.
Where no box can be made (Colab) it keeps an unboxed fork server instead and grades in itself, and
the verdicts say the check ran unboxed, as a cold one does.

- ``client``: what a grade cell and ``pytest autograder/`` call; starts the warm grader on first
  use, restarts it when the grader's identity changes, and says None (grade cold) whenever it is
  off or cannot answer;
- ``daemon``: ``python -I -m autograder.warm.daemon FOLDER``, the grader itself; ends after an idle
  time;
- ``messages``: what the two say to each other, and the identity they must share.

Settings (the environment of the student's kernel or shell; the hub recipe sets them for everyone):
``MNIST_WARM_IDLE_SECONDS`` (default 900; 0 turns the warm grader off), ``MNIST_NO_FORK_SERVER=1``
(off, as for the class servers: the benchmarks' baseline).

Offers ``client`` alone (``__all__``): the daemon is a command, its messages its own.
"""

__all__ = ["client"]

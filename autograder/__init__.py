"""The mnist-tasks autograder.

The process that decides a score never runs student code: student functions run in a child
process (``autograder.sandbox`` starting ``autograder.worker``) and come back as plain data —
arrays in ``.npy`` files read with ``allow_pickle=False``, models as Keras architecture JSON,
figures as descriptions (``autograder.protocol`` defines the messages). The grader's own code
(``autograder.retraining``) rebuilds each model from its vetted JSON, trains it on MNIST with a
fixed seed and budget, and scores it. README's "The grader's layout" maps every module.

    mnist-grade [DIR] [--json FILE] [--lang ja|en]     # the command
    pytest autograder/ [--submission DIR]              # the same checks through pytest
"""

"""The mnist-tasks autograder.

The process that decides a score never runs student code: student functions run in a child
process (the box, ``autograder.sandbox``, starting ``autograder.worker``) and come back as plain data —
arrays in ``.npy`` files read with ``allow_pickle=False``, models as Keras architecture JSON,
figures as descriptions (``autograder.protocol`` defines the messages). The grader's own code
(``autograder.training``) rebuilds each model from its vetted JSON, trains it on MNIST with a
fixed seed and budget, and scores it. The pipeline is this folder's modules; each other part is a
subpackage whose ``__init__`` says what it owns and offers (README's "The grader's layout").

    mnist-grade [DIR] [--json FILE] [--lang ja|en]     # the command
    pytest autograder/ [--submission DIR]              # the same checks through pytest
"""

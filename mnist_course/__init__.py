"""The course: the top of the kit's three layers, and the ``mnist-course`` command.

    mnist_course   the course and the instructor's tools: assignments, copies, Colab, the hub's
                   exchange, a class graded on Dask, the class report, the LMS plugins, stubs, demo
      ↓ imports
    autograder     the grader: one submission in, a score and its messages out
      ↓ imports
    mnist_kit      the foundation: MNIST, the variant table, the runtime, the two languages

Each layer imports only the ones below it (``tests/unit/test_layers.py``); the student package
``mnist_tasks`` stands on the foundation alone.
"""

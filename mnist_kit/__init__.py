"""Trusted support code of the mnist-tasks kit.

Everything here is provided, never a student task: the MNIST loader, the table of the handouts'
variants, the bilingual message helpers and the maintainers' tools (stub generation, demo).
The grader relies on this package, so it must not import the student's ``mnist_tasks``.
"""

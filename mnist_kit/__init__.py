"""The foundation of the mnist-tasks kit: the bottom of its three layers (``mnist_course`` says
which). Provided, never a student task: the MNIST loader (``data``), the table of the handouts'
variants (``variants``), the process set-up of everything that trains (``runtime``) and the
bilingual messages (``i18n``). The grader, the course's tools and the student package stand on it,
so it imports none of them (``tests/unit/test_layers.py``).
"""

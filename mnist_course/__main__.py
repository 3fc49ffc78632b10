"""``python -m mnist_course``: the ``mnist-course`` command (``mnist_course.course``)."""

import sys

from mnist_course.course import main

sys.exit(main())

"""The instructor's nbgrader (~/.jupyter/nbgrader_config.py, written by setup.sh): where the
course directory is, so that the Formgrader and every nbgrader command find it from anywhere. The
course's own settings (the grader's preprocessors, what survives autograde) stay in the course
directory's nbgrader_config.py."""

c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.root = "@COURSE_ROOT@"

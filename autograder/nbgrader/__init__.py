"""Where nbgrader meets the grader: the course notebooks' grade cells and nbgrader's plug-ins.

Owns the grade cell (``cells.grade_cell``: in a student's kernel it asks the grader, warm or cold,
and shows the verdict; under ``nbgrader autograde`` it decides nothing) and the plug-ins that
``assignments/nbgrader_config.py`` names (``preprocessors``: ``IsolatedGrades`` scores grade cells
outside the kernel, ``BoxedExecute`` runs the student's kernel in the box).

Offers both modules (``__all__``): ``autograder.conftest`` reads grade cells with ``cells``, the
class-scale autograde (``mnist_course``) runs and reads graders through them. Named after the tool
it plugs into; ``import nbgrader`` inside it is still nbgrader itself (absolute imports).
"""

__all__ = ["cells", "preprocessors"]

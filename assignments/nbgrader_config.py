"""nbgrader configuration of the mnist-tasks course. Run every nbgrader command in this folder.

Needs the kit installed in the Python that runs nbgrader (the grader and its nbgrader plugin come
from it) and MNIST (``MNIST_NPZ`` or Keras's download). docs/course.md has the whole workflow.
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

from autograder.nbgrader.preprocessors import BoxedExecute, IsolatedGrades
from mnist_kit.runtime import path_with_this_python

c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.course_id = "mnist-tasks"

# Kernels inherit this: TensorFlow's C++ start-up lines stay off stderr.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# nbgrader runs `alembic` from PATH: the one beside the Python running nbgrader, even when its
# environment is not activated (`.venv/bin/nbgrader ...`).
os.environ["PATH"] = path_with_this_python(os.environ.get("PATH"))

# --- Autograde --------------------------------------------------------------------------------
# Grade cells are scored by the isolated grader, not by what the student's kernel printed:
# IsolatedGrades rewrites the outputs of every grade cell that calls grade_cell(...)
# (autograder/nbgrader/preprocessors.py). So nothing graded needs the student's kernel, and autograde runs
# none: no kernel start, no experiment re-run (4× the grading time before), no kernel that a
# submission can crash; the notebook keeps the student's code, its outputs are cleared as nbgrader
# always does. MNIST_COURSE_EXECUTE=1 runs the notebooks in a kernel again (nbgrader's Execute),
# for an instructor who wants the experiments' outputs in the feedback: nbgrader's Execute with the
# kernel in the grader's bubblewrap box (BoxedExecute; c.IsolatedGrades.sandbox = "none" unboxes it too).
_EXECUTE = [BoxedExecute] if os.environ.get("MNIST_COURSE_EXECUTE") == "1" else []
c.Autograde.autograde_preprocessors = [
    *_EXECUTE,
    IsolatedGrades,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# The language the grade cells' verdicts (the feedback) are written in. What is graded and cached
# is the same in both; `mnist-course autograde --lang en` writes one run's feedback in English.
c.IsolatedGrades.language = "ja"
# Student code runs in a bubblewrap box (autograder/sandbox/jail.py). "none" only where each grading is
# isolated already (one container per submission); the feedback says which. Default: $MNIST_SANDBOX, else bwrap.
# c.IsolatedGrades.sandbox = "none"
# The grader's own trainings are recalled from .mnist-grade-cache/training-memo/ (autograder/training/memo.py)
# when a submission builds an architecture trained before; False trains every model again.
# c.IsolatedGrades.training_memo = False
c.IsolatedGrades.timeout = 1800  # seconds for grading one notebook (the slowest, ps2, takes about 1 min)

# The student's work: these files of each submission survive autograde. Every other file of the
# assignment (the notebook's locked cells, mnist_tasks/__init__.py, mnist_tasks/data.py,
# pytest.ini) is restored from source/. One entry per file: nbgrader ignores directory entries.
# tests/test_course.py checks this against mnist_course.assignments.STUDENT_FILES.
_STUDENT_FILES = [
    "mnist_tasks/preprocessing.py",
    "mnist_tasks/models.py",
    "mnist_tasks/training.py",
    "mnist_tasks/plots.py",
]
c.Autograde.exclude_overwriting = {
    "ps1": list(_STUDENT_FILES),
    "ps2": list(_STUDENT_FILES),
    "ps3": list(_STUDENT_FILES),
    "ps4": list(_STUDENT_FILES),
}

# Execution: the slowest cell (ps4's CNN training, a reduced budget under autograde) takes well
# under a minute on a 2-core machine; 600 s leaves room for a loaded grading server. A cell cut
# off at the timeout can break the kernel's channel, so the limit stays far away.
c.Execute.timeout = 600
c.Execute.startup_timeout = 120

# Experiment cells import TensorFlow; any C++ log line that still reaches stderr is dropped from
# the autograded notebook (grade cells are immune anyway: IsolatedGrades replaces their outputs).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (r"absl::InitializeLog|oneDNN custom operations|cuda_|TF_ENABLE_ONEDNN_OPTS"
                           r"|This TensorFlow binary is optimized|^[IWE]\d{4} \d\d:\d\d:\d\d")

c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".pytest_cache"]

# --- From the LMS and back (docs/lms.md) -------------------------------------------------------
# Import a Moodle or Canvas download with `nbgrader zip_collect ps1`, export with `nbgrader export`:
# c.ZipCollectApp.extractor_plugin = "mnist_course.lms.LMSExtractor"
# c.ZipCollectApp.collector_plugin = "mnist_course.lms.moodle.MoodleCollector"  # or mnist_course.lms.canvas.CanvasCollector
# c.MoodleCollector.timezone = "Asia/Tokyo"  # the worksheet's times carry no offset
# c.ExportApp.plugin_class = "mnist_course.lms.moodle.MoodleExporter"  # or mnist_course.lms.canvas.CanvasExporter

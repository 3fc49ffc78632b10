"""``IsolatedGrades``: the nbgrader preprocessor that scores the course's grade cells outside the kernel.

nbgrader scores a grade cell from the outputs the student's kernel produced: an error or any
stderr gives 0, a number gives partial credit, no number gives full marks. A kernel that runs the
student's code can forge all of that. This preprocessor runs right after ``Execute`` in
``nbgrader autograde`` (see ``assignments/nbgrader_config.py``) and, for every grade cell whose
source calls ``grade_cell(...)`` (``autograder.notebook``), throws the kernel's outputs away and
writes the grader's own: the verdict of each check on stdout and the points as the cell's result.

The sources it reads are the gradebook's: nbgrader's ``OverwriteCells`` has already restored
every grade cell, so a student who edits one changes nothing. The grader runs once per notebook,
in a separate process, on the autograded copy of the submission (the student's ``mnist_tasks``
files, kept by ``Autograde.exclude_overwriting``), hidden checks included: their inputs come
from the course's secret (``autograder.secret``), which grading without refuses to do.
"""

from __future__ import annotations

from pathlib import Path

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Enum, Float, Unicode

from autograder import cache
from autograder import secret as course_secret

from autograder.notebook import CELL_RESULTS_MIME, GRADER_TIMEOUT, NOTEBOOK_LANGUAGE, CellResults, GraderTimeout, \
    requested, run_grader, summarize, tests_of


class IsolatedGrades(NbGraderPreprocessor):
    """Replace the outputs of ``grade_cell(...)`` grade cells with the isolated grader's verdict."""

    language = Unicode(NOTEBOOK_LANGUAGE, help="language of the verdicts: ja or en").tag(config=True)
    timeout = Float(GRADER_TIMEOUT, help="seconds for grading one notebook; beyond, its cells score 0").tag(config=True)
    sandbox = Enum(["bwrap", "none"], None, allow_none=True,
                   help="where the submission's code runs (mnist-grade --sandbox): bwrap, a bubblewrap box; "
                        "none, only where each grading is isolated already (one container per submission). "
                        "Default: $MNIST_SANDBOX, else bwrap").tag(config=True)
    cache_dir = Unicode(".mnist-grade-cache", help="results kept by content (autograder.cache), relative to the "
                                                  "course directory nbgrader runs in; empty: no cache").tag(config=True)

    def preprocess(self, nb, resources):
        cells = []
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell):
                request = requested(cell.source)
                if request is not None:
                    cells.append((cell, request))
        if not cells:
            return nb, resources

        directory = Path(resources["metadata"]["path"])
        items = list(dict.fromkeys(item for _, request in cells for item in request.items))
        failure = results = None
        secret = self._course_secret()
        key = cache.cache_key(directory, items, self.language, secret) if self.cache_dir else None
        try:
            results = cache.load(self.cache_dir, key) if key else None
            if results is not None and "grader_failure" in results:   # it hung when graded before
                raise GraderTimeout(results["grader_failure"])
            if results is None:
                results = run_grader(directory, items, secret=secret, language=self.language,
                                     timeout=self.timeout, sandbox=self.sandbox)
                if key:
                    cache.store(self.cache_dir, key, results)
            else:
                self.log.info("isolated grader: results of the same files from the cache (%s)", key[:12])
        except GraderTimeout as error:  # a submission that makes grading hang scores 0 there
            failure = str(error)
            self.log.warning("isolated grader: %s (%s)", failure, directory)
        # Any other GraderError propagates: nbgrader then reports this submission as failed
        # instead of recording zeros the student did not earn.

        for cell, request in cells:
            points = float(cell.metadata["nbgrader"]["points"])
            text, earned = summarize(results, request.items, points, self.language, failure=failure)
            data: CellResults = {"items": list(request.items), "points": points, "earned": earned, "failure": failure,
                                 "seconds": (results or {}).get("execution_time"),
                                 "tests": tests_of(results, request.items),
                                 "incidents": (results or {}).get("extra_data", {}).get("incidents", [])}
            cell.outputs = [
                new_output("stream", name="stdout", text=text + "\n"),
                new_output("execute_result", data={"text/plain": repr(earned), CELL_RESULTS_MIME: data},
                           execution_count=cell.get("execution_count")),
            ]
            self.log.info("isolated grader: %s %s → %g / %g", cell.metadata["nbgrader"]["grade_id"],
                          ",".join(request.items), earned, points)
        return nb, resources

    def _course_secret(self) -> course_secret.CourseSecret:
        """The secret of the course nbgrader runs in (``CourseDirectory.root``), read once.
        ``MissingSecret`` stops the run with its message rather than grade without hidden checks."""
        if getattr(self, "_secret", None) is None:
            from nbgrader.coursedir import CourseDirectory

            self._secret = course_secret.for_course(Path(CourseDirectory(config=self.config).root))
        return self._secret

"""``IsolatedGrades``: the nbgrader preprocessor that scores the course's grade cells outside the kernel;
``BoxedExecute``: nbgrader's ``Execute`` with the student's kernel in the grader's box.

nbgrader scores a grade cell from the outputs the student's kernel produced: an error or any
stderr gives 0, a number gives partial credit, no number gives full marks. A kernel that runs the
student's code can forge all of that. This preprocessor runs right after ``Execute`` in
``nbgrader autograde`` (see ``assignments/nbgrader_config.py``) and, for every grade cell whose
source calls ``grade_cell(...)`` (``autograder.nbgrader.cells``), throws the kernel's outputs away and
writes the grader's own: the verdict of each check on stdout and the points as the cell's result.

The sources it reads are the gradebook's: nbgrader's ``OverwriteCells`` has already restored
every grade cell, so a student who edits one changes nothing. The grader runs once per notebook,
in a separate process, on the autograded copy of the submission (the student's ``mnist_tasks``
files, kept by ``Autograde.exclude_overwriting``), hidden checks included: their inputs come
from the course's secret (``autograder.secret``), which grading without refuses to do.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from jupyter_client import AsyncKernelManager
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Enum, Float, Unicode

from autograder.training import cache
from autograder.sandbox import jail
from autograder.training import memo
from autograder.sandbox.forkbox import process_server
from autograder import secret as course_secret
from autograder.sandbox.limits import Limits

from autograder.nbgrader.cells import CELL_RESULTS_MIME, GRADER_TIMEOUT, NOTEBOOK_LANGUAGE, CellResults, GraderTimeout, \
    requested, run_grader, present, tests_of


class IsolatedGrades(NbGraderPreprocessor):
    """Replace the outputs of ``grade_cell(...)`` grade cells with the isolated grader's verdict."""

    language = Unicode(NOTEBOOK_LANGUAGE, help="language of the verdicts written into the grade cells (the feedback): "
                                               "ja or en. The results cache holds both: a grading cached in one "
                                               "serves the other (mnist-course autograde --lang sets it)").tag(config=True)
    timeout = Float(GRADER_TIMEOUT, help="seconds for grading one notebook; beyond, its cells score 0").tag(config=True)
    sandbox = Enum(["bwrap", "none"], None, allow_none=True,
                   help="where the submission's code runs (mnist-grade --sandbox): bwrap, a bubblewrap box; "
                        "none, only where each grading is isolated already (one container per submission). "
                        "Default: $MNIST_SANDBOX, else bwrap").tag(config=True)
    training_memo = Bool(True, help="recall the grader's own trainings from the course's training memo "
                                    "(.mnist-grade-cache/training-memo, autograder.training.memo); False: train every model "
                                    "again (mnist-grade --no-training-memo)").tag(config=True)
    cache_dir = Unicode(".mnist-grade-cache", help="results kept by content (autograder.training.cache), relative to the "
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
        key = cache.cache_key(directory, items, secret) if self.cache_dir else None
        try:
            results = cache.load(self.cache_dir, key) if key else None
            if results is not None and "grader_failure" in results:   # it hung when graded before
                raise GraderTimeout(results["grader_failure"])
            if results is None:
                # nbgrader grades one student after another in this process: each grader is lent
                # its boxed fork server (autograder.sandbox.forkbox), and forks its worker instead of
                # importing TensorFlow anew.
                results = run_grader(directory, items, secret=secret, language=self.language,
                                     timeout=self.timeout, sandbox=self.sandbox, training_memo=self._memo_folder(),
                                     fork_server=process_server(self.sandbox))
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
            shown = present(results, request.items, points, self.language, failure=failure)
            earned = shown.earned
            data: CellResults = {"items": list(request.items), "points": points, "earned": earned, "failure": failure,
                                 "seconds": (results or {}).get("execution_time"),
                                 "tests": tests_of(results, request.items, self.language),
                                 "incidents": (results or {}).get("extra_data", {}).get("incidents", [])}
            cell.outputs = [
                # HTML for nbgrader's feedback page (nbconvert prefers it), the same words as text beside it.
                new_output("display_data", data={"text/html": shown.html, "text/plain": shown.text}),
                new_output("execute_result", data={"text/plain": repr(earned), CELL_RESULTS_MIME: data},
                           execution_count=cell.get("execution_count")),
            ]
            self.log.info("isolated grader: %s %s → %g / %g", cell.metadata["nbgrader"]["grade_id"],
                          ",".join(request.items), earned, points)
        return nb, resources

    def _memo_folder(self) -> Path | bool:
        if not self.training_memo:
            return False
        from nbgrader.coursedir import CourseDirectory

        return memo.for_course(Path(CourseDirectory(config=self.config).root)).folder

    def _course_secret(self) -> course_secret.CourseSecret:
        """The secret of the course nbgrader runs in (``CourseDirectory.root``), read once.
        ``MissingSecret`` stops the run with its message rather than grade without hidden checks."""
        if getattr(self, "_secret", None) is None:
            from nbgrader.coursedir import CourseDirectory

            self._secret = course_secret.for_course(Path(CourseDirectory(config=self.config).root))
        return self._secret


class BoxedKernelManager(AsyncKernelManager):
    """A kernel in a bubblewrap box (``autograder.sandbox.jail``), as the grader's workers are: it sees a
    copy of the notebook's folder as its working directory (read-write, deleted afterwards) and
    nothing of the course, the gradebook, the secret or other submissions; no network. Its channels
    are Unix sockets in that folder (ZeroMQ's ipc transport), since the box has no loopback of the
    host's; it is interrupted by message, since bwrap does not pass signals on to it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._folder = Path(tempfile.mkdtemp(prefix="mnist-kernel-"))
        os.chmod(self._folder, 0o755)
        self._box: jail.Box | None = None
        self.transport = "ipc"

    async def _async_pre_start_kernel(self, **kw):
        jail.check_available()
        work = self._folder / "work"
        notebook_folder = kw.get("cwd") or os.getcwd()
        # The student's files only, as autograder.sandbox.workspace.stage_submission copies a submission: links stay links (to nothing inside).
        shutil.copytree(notebook_folder, work, symlinks=True)
        self._box = jail.Box.for_grading(None, work)
        self.ip = str(work / ".kernel")
        self.connection_file = str(work / ".kernel.json")
        kw["cwd"] = str(work)
        self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self._box is not None and self._box.uid is not None:   # the box's uid reads its own
            os.chown(self.connection_file, self._box.uid, 0)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        limits = Limits()
        # Inside the box, as for a worker: the process limit counts the box's own processes.
        inside = ["/usr/bin/prlimit", f"--nproc={jail.PROCESSES}", f"--fsize={limits.file_bytes}", "--",
                  "/usr/bin/env", f"NBGRADER_EXECUTION={os.environ.get('NBGRADER_EXECUTION', 'autograde')}",
                  *command]
        return jail.command(self._box, inside)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._folder, ignore_errors=True)


class BoxedExecute(Execute):
    """nbgrader's ``Execute`` (``MNIST_COURSE_EXECUTE=1``) with the student's kernel in a box
    (``BoxedKernelManager``). nbgrader's own Execute fixes its kernel manager in ``__init__``, so
    ``c.Execute.kernel_manager_class`` cannot choose it; its ``c.Execute`` settings still apply."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The same choice as IsolatedGrades': c.IsolatedGrades.sandbox, else $MNIST_SANDBOX, else bwrap.
        mode = jail.mode_for(self.config.IsolatedGrades.get("sandbox"))
        self.kernel_manager_class = AsyncKernelManager if mode == "none" else BoxedKernelManager

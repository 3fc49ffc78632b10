"""From the LMS and back: nbgrader plugins for Moodle and Canvas (docs/lms.md).

Import: ``nbgrader zip_collect`` with :class:`LMSExtractor` (unpacks the LMS's zip, reporting a
broken archive or member instead of stopping) and a collector per LMS
(:class:`mnist_course.lms.moodle.MoodleCollector`, :class:`mnist_course.lms.canvas.CanvasCollector`)
that reads the LMS's file names, matches students through the LMS's roster CSV and nbgrader's
student list, and leaves nbgrader to copy the files and write ``timestamp.txt``.

Export: ``nbgrader export`` with :class:`mnist_course.lms.moodle.MoodleExporter` or
:class:`mnist_course.lms.canvas.CanvasExporter`, which write each LMS's grade-import CSV.

What is where:

- ``extract``: :class:`LMSExtractor`, the LMS's download unpacked, one bad archive at a time;
- ``collect``: :class:`LMSCollector` and :class:`LMSName`, what both collectors share;
- ``export``: :class:`LMSExporter`, :class:`GradeTable` and :func:`grade_table`, what both
  exporters share;
- ``roster``: the LMS's roster CSV and nbgrader's student list;
- ``moodle``, ``canvas``: each LMS's file names, roster columns and grade CSV.

This package re-exports the shared names so that ``mnist_course.lms.LMSExtractor`` (the name in
nbgrader configs and docs) keeps working; moodle and canvas import from the modules themselves,
never from here. It must stay light: nbgrader imports it on every run.
"""

from .collect import LMSCollector, LMSName
from .export import GradeTable, LMSExporter, grade_table
from .extract import LMSExtractor

__all__ = ["LMSExtractor", "LMSCollector", "LMSExporter", "LMSName", "GradeTable", "grade_table"]

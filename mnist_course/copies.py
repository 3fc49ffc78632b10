"""What the course generates into each assignment folder of ``assignments/source/``, and the check
that it is there: the copies of the student package (``mnist_tasks/``, itself generated from
``solutions/`` by ``mnist-make-stubs``), ``pytest.ini`` and the self-check, and the notebooks'
Colab parts (the block at the top of each set-up cell, ``mnist_course.colab.colab_block``, and the
last two cells that make the zip to hand in, ``mnist_course.colab.pack``). ``mnist-course sync``
writes them, ``mnist-course check`` and ``mnist-make-stubs --check`` fail while one differs.
"""

from __future__ import annotations

import re
from pathlib import Path

from mnist_course.assignments import ASSIGNMENTS, COURSE, Assignment, generated_files


def differences(expected: dict[str, str], folder: Path, package: str, differs: str, extra: str) -> list[str]:
    """How ``folder`` falls short of holding exactly the generated files ``expected`` (relative path →
    text): each missing file, each that ``differs``, and each ``.py`` file of the ``package``
    subfolder that nothing generates (``extra``). The one comparison behind the stubs' and the
    course copies' sync checks."""
    problems = []
    for relative, text in expected.items():
        path = folder / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{relative}: {differs}")
    directory = folder / package
    for path in sorted(directory.glob("*.py")) if directory.is_dir() else []:
        relative = path.relative_to(folder).as_posix()
        if relative not in expected:
            problems.append(f"{relative}: {extra}")
    return problems



# --- the notebooks' Colab parts -----------------------------------------------------------------

# The generated block in a set-up cell: from its first comment line to its call (and a blank line).
_COLAB_REGION = re.compile(r"# Google Colab だけ:.*?\n    colab\.work_in_drive\([^\n]*\)\n\n?", re.DOTALL)

PACK_MARKDOWN = """\
## 提出用の zip / the zip to hand in

Google Colab や自分のパソコンで取り組んだときは、下のセルの `student=""` に自分の学生 ID を書いて実行します。`{id}_<学生 ID>.zip` ができるので (Colab では Google ドライブの `mnist-tasks/` にでき、ダウンロードも始まります)、授業の LMS (Moodle / Canvas) に提出します。JupyterHub では nbgrader の *Submit* で提出するので、このセルは要りません。

*On Colab or your own computer: write your student ID in `student=""` below and run the cell. It makes `{id}_<student ID>.zip` (on Colab in `mnist-tasks/` in your Google Drive, and your browser downloads it); upload that zip to the course's LMS (Moodle / Canvas). On the JupyterHub you hand in with nbgrader's* Submit *instead.*"""

PACK_CODE = """\
# 提出用の zip を作る / make the zip to hand in (学生 ID を書く / write your student ID)
from mnist_course.colab import pack
zip_path = pack("{id}", student="")"""


def setup_cell(notebook, assignment: Assignment):
    """The notebook's nbgrader-locked set-up cell (grade_id ``<id>_setup``)."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") == f"{assignment.id}_setup":
            return cell
    raise LookupError(f"{assignment.id}: no set-up cell (grade_id {assignment.id}_setup)")


def with_colab_cells(notebook, assignment: Assignment):
    """``notebook`` (nbformat) with its generated Colab parts as ``mnist_course.colab`` says them."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    from mnist_course.colab import colab_block

    cell = setup_cell(notebook, assignment)
    body = _COLAB_REGION.sub("", cell.source, count=1)
    first, newline, rest = body.partition("\n")
    block = colab_block(assignment.id)
    if first.startswith("# 準備"):
        cell.source = f"{first}\n{block}\n{rest}"
    else:
        cell.source = f"{block}\n{body}"
    ids = {f"{assignment.id}-pack-md", f"{assignment.id}-pack"}
    notebook.cells = [c for c in notebook.cells if c.get("id") not in ids]
    notebook.cells.append(new_markdown_cell(PACK_MARKDOWN.format(id=assignment.id), id=f"{assignment.id}-pack-md"))
    notebook.cells.append(new_code_cell(PACK_CODE.format(id=assignment.id), id=f"{assignment.id}-pack"))
    return notebook


def _notebook_texts(folder: Path, assignment: Assignment) -> tuple[str, str] | None:
    """(the notebook's text, the text it should have), or None when it is missing."""
    import copy

    import nbformat

    path = folder / f"{assignment.notebook}.ipynb"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    notebook = nbformat.reads(text, as_version=4)
    return text, nbformat.writes(with_colab_cells(copy.deepcopy(notebook), assignment)) + "\n"


def out_of_sync(course: Path = COURSE) -> list[str]:
    """Generated files of ``course/source/*`` that are missing, stale, or extra in ``mnist_tasks/``."""
    problems = []
    for assignment in ASSIGNMENTS:
        expected = generated_files(assignment)
        package = {k: v for k, v in expected.items() if k.startswith("mnist_tasks/")}
        for origin, files in (("mnist_tasks/", package),
                              ("mnist_course/assignments.py", {k: v for k, v in expected.items() if k not in package})):
            problems += [f"{assignment.id}/{problem}" for problem in differences(
                files, course / "source" / assignment.id, "mnist_tasks" if origin == "mnist_tasks/" else "-",
                f"differs from {origin}", "not in mnist_tasks/ (extra file)")]
        texts = _notebook_texts(course / "source" / assignment.id, assignment)
        if texts is not None and texts[0] != texts[1]:
            problems.append(f"{assignment.id}/{assignment.notebook}.ipynb: its Colab cells differ from mnist_course/colab.py")
    return problems


def sync(course: Path = COURSE) -> list[Path]:
    """Write the generated files into every assignment folder; remove stale package files."""
    written = []
    for assignment in ASSIGNMENTS:
        expected = generated_files(assignment)
        folder = course / "source" / assignment.id
        package = folder / "mnist_tasks"
        package.mkdir(parents=True, exist_ok=True)
        (folder / "autograder").mkdir(exist_ok=True)
        for path in package.glob("*.py"):
            if f"mnist_tasks/{path.name}" not in expected:
                path.unlink()
        for relative, text in expected.items():
            path = folder / relative
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                written.append(path)
        texts = _notebook_texts(folder, assignment)
        if texts is not None and texts[0] != texts[1]:
            path = folder / f"{assignment.notebook}.ipynb"
            path.write_text(texts[1], encoding="utf-8")
            written.append(path)
    return written

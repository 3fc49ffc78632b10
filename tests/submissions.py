"""Submissions for the grader's meta-tests: the reference with some functions rewritten.

    make_submission(tmp_path, {"preprocessing": '''
    def normalize(images):
        return images / 255.0
    '''})

copies ``solutions/mnist_tasks/`` into ``tmp_path/submission/mnist_tasks/`` and, in each named
module, puts every top-level function (or assignment, import...) of the given source in place of
the reference's function of the same name; anything with no namesake in the module is appended at
its end. Everything else in the module stays as the reference wrote it.

    make_mutant(tmp_path, [("preprocessing", "np.argmax(scores, axis=1)", "np.argmax(scores, axis=0)")])

copies it the same way and, in each named module, replaces the reference's text by the wrong one:
a mistake written as the few characters it changes, which fails loudly once the reference no longer
holds that text exactly once.
"""

from __future__ import annotations

import ast
import shutil
import textwrap
from pathlib import Path

from autograder.grade import select
from autograder.secret import CourseSecret

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "solutions" / "mnist_tasks"
STUBS = REPO  # the repository's own mnist_tasks/ holds the stubs
# The course secret the meta-tests grade with (tests/golden/results.json was recorded with it): the
# hidden checks' inputs, as a course's own secret would choose them. tests/test_secret.py grades
# under others too.
TEST_SECRET = CourseSecret("7e57" * 16)
OTHER_SECRET = CourseSecret("0be5ec" * 11)   # a second course: other hidden inputs, the same checks


def _function_spans(tree: ast.Module) -> dict[str, tuple[int, int]]:
    """Top-level function name → (first line, last line), 1-based, decorators included."""
    spans = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            spans[node.name] = (first, node.end_lineno)
    return spans


def _pieces(source: str) -> list[tuple[str | None, str]]:
    """The replacement split into top-level statements: (function name or None, its text)."""
    source = textwrap.dedent(source).strip("\n") + "\n"
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    pieces = []
    for node in tree.body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "".join(lines[first - 1:node.end_lineno])
        name = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        pieces.append((name, text))
    return pieces


def splice(module_source: str, replacement: str) -> str:
    """``module_source`` with its functions replaced by the namesakes defined in ``replacement``."""
    spans = _function_spans(ast.parse(module_source))
    lines = module_source.splitlines(keepends=True)
    substitutions: dict[int, tuple[int, str]] = {}   # first line → (last line, new text)
    appended: list[str] = []
    for name, text in _pieces(replacement):
        if name is not None and name in spans:
            first, last = spans[name]
            substitutions[first] = (last, text)
        else:
            appended.append(text)
    out, number = [], 1
    while number <= len(lines):
        if number in substitutions:
            last, text = substitutions[number]
            out.append(text)
            number = last + 1
        else:
            out.append(lines[number - 1])
            number += 1
    result = "".join(out)
    if appended:
        result = result.rstrip("\n") + "\n\n\n" + "\n\n".join(appended)
    ast.parse(result)  # a broken splice is a bug in the test, not in the submission
    return result


def make_submission(tmp_path: Path, replacements: dict[str, str], name: str = "submission") -> Path:
    """A copy of the reference package under ``tmp_path/name`` with ``replacements`` spliced in.

    ``replacements`` maps a module name ("preprocessing", "models", "training", "plots") to
    source code defining the functions to replace. Returns the directory holding ``mnist_tasks/``.
    """
    target = tmp_path / name
    shutil.copytree(REFERENCE, target / "mnist_tasks", ignore=shutil.ignore_patterns("__pycache__"))
    for module, source in replacements.items():
        path = target / "mnist_tasks" / f"{module}.py"
        if not path.is_file():
            raise ValueError(f"no module {module!r} in the reference")
        path.write_text(splice(path.read_text(encoding="utf-8"), source), encoding="utf-8")
    return target


def make_mutant(tmp_path: Path, replacements: list[tuple[str, str, str]], name: str = "submission") -> Path:
    """A copy of the reference package under ``tmp_path/name`` with (module, right, wrong) text replacements.

    Replacements apply in order, each to the module as the earlier ones left it. Returns the
    directory holding ``mnist_tasks/``.
    """
    target = tmp_path / name
    shutil.copytree(REFERENCE, target / "mnist_tasks", ignore=shutil.ignore_patterns("__pycache__"))
    for module, right, wrong in replacements:
        path = target / "mnist_tasks" / f"{module}.py"
        if not path.is_file():
            raise ValueError(f"no module {module!r} in the reference")
        text = path.read_text(encoding="utf-8")
        # Replacing a text found twice, or not at all, would test some other mistake, or none.
        count = text.count(right)
        assert count == 1, (f"solutions/mnist_tasks/{module}.py holds {right!r} {count} times, expected once: "
                            f"the reference changed, update the mutant")
        text = text.replace(right, wrong)
        ast.parse(text)  # a broken replacement is a bug in the test, not in the submission
        path.write_text(text, encoding="utf-8")
    return target


def check_names(subjects: list[str] | None = None) -> set[str]:
    """Names of the checks of ``subjects`` (None: every subject) that need no training."""
    return {check.name for check in select(only=subjects, secret=TEST_SECRET) if not check.needs_training}


def accuracy_names(variants: list[str]) -> set[str]:
    """Names of the accuracy checks of ``variants`` (each trains a model)."""
    return {check.name for check in select(only=variants, secret=TEST_SECRET) if check.needs_training} if variants else set()


def describe(report) -> str:
    """Every result that lost points, for assertion messages."""
    lost = [f"  {r.name}: {r.score}/{r.max_score} — {r.message.en}" for r in report.results if r.score < r.max_score]
    return "\n".join(lost) or "  (nothing lost)"


def course_with_secret(directory: Path, secret: CourseSecret = TEST_SECRET) -> Path:
    """A minimal nbgrader course directory holding ``secret``: what ``--course`` names for the hidden checks."""
    from autograder import secret as course_secret

    directory.mkdir(parents=True, exist_ok=True)
    (directory / course_secret.COURSE_MARKER).write_text("# a course for the tests\n", encoding="utf-8")
    course_secret.create(directory, secret)
    return directory

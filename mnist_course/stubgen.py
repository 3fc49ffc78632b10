"""Generate the student package ``mnist_tasks/`` from the reference in ``solutions/mnist_tasks/``.

The reference marks each task body with nbgrader's own delimiters::

    def normalize(images):
        \"\"\"docstring: shapes, dtypes, handout section\"\"\"
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

Like nbgrader's ``ClearSolutions`` does to notebook cells, each region becomes a stub, at the
region's indentation. We do not call ``ClearSolutions`` itself because its stub is one fixed
string per language, while ours names the task it stands in for. Everything outside the regions
(docstrings, imports, constants, provided modules) is copied unchanged.

    mnist-make-stubs            # rewrite mnist_tasks/ from solutions/mnist_tasks/
    mnist-make-stubs --check    # exit 1 if the committed stubs are out of date
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

from nbgrader.preprocessors import ClearSolutions

from mnist_course.copies import differences

# One source of truth for the markers: nbgrader's defaults, as the notebooks use them.
BEGIN = ClearSolutions.class_traits()["begin_solution_delimeter"].default_value
END = ClearSolutions.class_traits()["end_solution_delimeter"].default_value

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "solutions" / "mnist_tasks"
TARGET = REPO / "mnist_tasks"


class StubError(ValueError):
    """A solution file whose regions cannot be turned into stubs."""


def stub_lines(task: str, module: str, indent: str) -> list[str]:
    message = (f"{task}: まだ実装されていません (mnist_tasks/{module}.py) / "
               f"{task}: not implemented yet (mnist_tasks/{module}.py)")
    return [
        f"{indent}# YOUR CODE HERE / ここにコードを書く",
        f"{indent}raise NotImplementedError({message!r})",
    ]


def make_stub(source: str, module: str) -> str:
    """Return ``source`` with every solution region replaced by a stub naming its task."""
    functions = [node for node in ast.walk(ast.parse(source))
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]

    def enclosing_task(line_number: int) -> str:
        around = [f for f in functions if f.lineno <= line_number <= f.end_lineno]
        if not around:
            raise StubError(f"{module}.py:{line_number}: a solution region outside any function")
        return max(around, key=lambda f: f.lineno).name  # innermost

    output: list[str] = []
    open_at: int | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        if BEGIN in line:
            if open_at is not None:
                raise StubError(f"{module}.py:{number}: nested {BEGIN!r} (region opened at line {open_at})")
            open_at = number
            indent = re.match(r"\s*", line).group(0)
            output.extend(l + "\n" for l in stub_lines(enclosing_task(number), module, indent))
        elif END in line:
            if open_at is None:
                raise StubError(f"{module}.py:{number}: {END!r} without {BEGIN!r}")
            open_at = None
        elif open_at is None:
            output.append(line)
    if open_at is not None:
        raise StubError(f"{module}.py:{open_at}: {BEGIN!r} is never closed")
    return "".join(output)


def generate(source_dir: Path = SOURCE) -> dict[str, str]:
    """Map each file name of the student package to its generated text."""
    return {path.name: make_stub(path.read_text(encoding="utf-8"), path.stem)
            for path in sorted(source_dir.glob("*.py"))}


def out_of_date(source_dir: Path = SOURCE, target_dir: Path = TARGET) -> list[str]:
    """Files of ``target_dir`` that differ from what ``generate`` gives, or are missing or extra."""
    return differences(dict(sorted(generate(source_dir).items())), target_dir, ".", "differs from the generated stub",
                       f"not generated from {source_dir.name}/ (extra file)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mnist-make-stubs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only report whether mnist_tasks/ is in sync; exit 1 if not")
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args(argv)

    if args.check:
        problems = out_of_date(args.source, args.target)
        for problem in problems:
            print(f"{args.target}/{problem}", file=sys.stderr)
        if problems:
            print("run `mnist-make-stubs` to regenerate the stubs from solutions/", file=sys.stderr)
        return 1 if problems else 0

    args.target.mkdir(parents=True, exist_ok=True)
    for name, text in generate(args.source).items():
        (args.target / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.target / name}")
    if args.target.resolve() == TARGET.resolve():
        # The nbgrader course's assignments carry copies of the student package: refresh them too.
        from mnist_course import copies

        for path in copies.sync():
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

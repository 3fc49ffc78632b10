"""The submission's source files as the grader reads them: size, encoding, and a static look at them.

Everything here runs in the trusted process and only reads bytes; nothing is imported or executed.

- ``package_problems`` vets every ``.py`` file of the submitted ``mnist_tasks/`` before any worker
  starts, so that a file the workers should not try to import costs only its own tasks, with a
  message that says what is wrong with the file.
- ``forbidden_uses`` looks for a name (``to_categorical``) in a module's source, and in the package
  modules it imports, for checks that must not rely on the worker's runtime evidence alone: the
  worker runs student code in its own process, where that evidence can be tampered with.
"""

from __future__ import annotations

import ast
import os
import stat
from dataclasses import dataclass
from pathlib import Path

# 1 MB per file. The reference's largest module is ~6 KB, so no hand-written solution comes near
# it; a larger file is generated (embedded answer tables or data), costs the worker's import time
# inside the probe's time limit, and the grader itself parses it for static checks.
MAX_SOURCE_BYTES = 1 << 20
CONTRACT_MODULES = ("preprocessing", "models", "training", "plots")
ALL_MODULES = "*"   # key of a problem that concerns every module (``__init__.py`` or a helper)


@dataclass(frozen=True)
class SourceProblem:
    file: str          # e.g. "mnist_tasks/training.py"
    reason: str        # "too_large", "not_utf8", "not_a_file"
    size: int = 0

    def outcome(self) -> dict:
        """The outcome a probe of this file's module reports instead of running."""
        return {"status": "unreadable", "file": self.file, "reason": self.reason, "bytes": self.size,
                "limit": MAX_SOURCE_BYTES}


def read_source(path: Path) -> str:
    """The text of one source file, refusing anything that is not a regular UTF-8 file of at most
    MAX_SOURCE_BYTES. Raises SourceError."""
    name = f"{path.parent.name}/{path.name}"
    try:
        info = os.stat(path)
    except OSError as error:
        raise SourceError(SourceProblem(name, "not_a_file")) from error
    if not stat.S_ISREG(info.st_mode):   # /dev/zero or a FIFO would never end
        raise SourceError(SourceProblem(name, "not_a_file"))
    with open(path, "rb") as stream:
        data = stream.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(SourceProblem(name, "too_large", max(info.st_size, len(data))))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(SourceProblem(name, "not_utf8", len(data))) from error


class SourceError(ValueError):
    def __init__(self, problem: SourceProblem):
        super().__init__(f"{problem.file}: {problem.reason}")
        self.problem = problem


def package_problems(package_dir: Path) -> dict[str, SourceProblem]:
    """Problems with the package's ``.py`` files: contract module name → problem, and ALL_MODULES
    for ``__init__.py`` or any other module (every module may import it)."""
    problems: dict[str, SourceProblem] = {}
    try:
        files = sorted(package_dir.glob("*.py"))
    except OSError:
        return problems
    for path in files:
        try:
            read_source(path)
        except SourceError as error:
            module = path.stem if path.stem in CONTRACT_MODULES else ALL_MODULES
            problems.setdefault(module, error.problem)
    return problems


@dataclass(frozen=True)
class Use:
    file: str
    line: int
    what: str


# Built-in functions through which a name can be reached without being written out.
DYNAMIC_BUILTINS = {"eval", "exec", "compile", "__import__", "globals", "vars", "getattr"}


def forbidden_uses(package_dir: Path, module: str, name: str) -> list[Use]:
    """Where ``module`` (or a package module it imports) names ``name`` or reaches code dynamically.

    Best effort: it sees ``to_categorical`` written as a name, an attribute, an import or a string
    (also split into pieces joined with ``+``), and the dynamic lookups (``getattr`` with a computed
    name, ``eval``, ``exec``, ``importlib``) that could hide it; a determined author can still hide
    a call from any static reading, which is why the worker's call count is checked as well.
    """
    uses: list[Use] = []
    seen: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        path = package_dir / f"{current}.py"
        if not path.is_file():
            continue
        try:
            tree = ast.parse(read_source(path))
        except (SourceError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue   # reported by the module's own probes
        file = f"mnist_tasks/{current}.py"
        uses += _uses_in(tree, file, name)
        pending += _package_imports(tree)
    # The name itself first: the clearest thing to tell a student.
    return sorted(uses, key=lambda use: (name not in use.what, use.file, use.line))


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _folded_string(node: ast.AST) -> str | None:
    """The value of a string constant, or of constants joined with + or in an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _folded_string(node.left), _folded_string(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [_folded_string(value) for value in node.values]
        return "".join(parts) if all(part is not None for part in parts) else None
    if isinstance(node, ast.FormattedValue) and node.conversion == -1 and node.format_spec is None:
        return _folded_string(node.value)   # f"to_{'categorical'}": a constant inside the braces
    return None


def _uses_in(tree: ast.AST, file: str, name: str) -> list[Use]:
    docstrings = _docstrings(tree)
    uses = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name) and node.id == name:
            uses.append(Use(file, line, name))
        elif isinstance(node, ast.Attribute) and node.attr == name:
            uses.append(Use(file, line, name))
        elif isinstance(node, ast.alias) and name in (node.name.split(".")[-1], node.asname):
            uses.append(Use(file, line, f"import {node.name}"))
        elif isinstance(node, (ast.Constant, ast.BinOp, ast.JoinedStr)) and id(node) not in docstrings:
            text = _folded_string(node)
            if text is not None and name in text:
                uses.append(Use(file, line, repr(text[:60])))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DYNAMIC_BUILTINS:
            called = node.func.id
            constant_getattr = called == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
            if not constant_getattr:
                uses.append(Use(file, line, f"{called}(...)"))
        elif isinstance(node, ast.Attribute) and node.attr in ("import_module", "modules", "__dict__"):
            uses.append(Use(file, line, f".{node.attr}"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(module.split(".")[0] == "importlib" for module in modules):
                uses.append(Use(file, line, "importlib"))
    return uses


def _package_imports(tree: ast.AST) -> list[str]:
    """Modules of the package that ``tree`` imports: ``from . import x``, ``import mnist_tasks.x``..."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "mnist_tasks" and len(parts) > 1:
                    found.append(parts[1])
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            parts = module.split(".") if module else []
            if node.level == 1 or (parts and parts[0] == "mnist_tasks"):
                inner = parts[1:] if parts and parts[0] == "mnist_tasks" else parts
                if inner:
                    found.append(inner[0])
                else:
                    found += [alias.name for alias in node.names]
    return found

"""The promise table (``autograder/promises.py``) against the catalog and the docstrings it lists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from autograder.grade import select
from autograder.promises import PROMISES, rows_of
from tests.submissions import REPO, TEST_SECRET

MODULES = ("preprocessing", "models", "training", "plots")


def _contract_functions() -> dict[str, str]:
    """Each contract function's docstring, from the reference (the stubs carry the same, generated)."""
    found = {}
    for module in MODULES:
        tree = ast.parse((REPO / "solutions" / "mnist_tasks" / f"{module}.py").read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                found[node.name] = ast.get_docstring(node)
    return found


FUNCTIONS = _contract_functions()


def _section(docstring: str, name: str) -> str | None:
    """The text of a numpydoc section (``Returns``, ``Raises``, ``Parameters``), or None."""
    match = re.search(rf"^{name}\n-+\n(.*?)(?=^\w+\n-+\n|\Z)", docstring, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else None


@pytest.fixture(scope="module")
def catalog_names() -> set[str]:
    return {check.name for check in select(secret=TEST_SECRET)}


def test_the_contract_is_the_thirteen_functions_of_the_spec():
    spec = (REPO.parent / "shared" / "spec" / "exercise-contract.md").read_text(encoding="utf-8")
    in_spec = set(re.findall(r"^\| `(\w+)\(", spec, re.MULTILINE))
    assert in_spec == set(FUNCTIONS) and len(FUNCTIONS) == 13


def test_every_row_names_checks_that_exist(catalog_names):
    missing = [(promise.function, promise.about, name) for promise in PROMISES for name in promise.checks
               if name not in catalog_names]
    assert not missing, missing
    assert all(promise.checks for promise in PROMISES)


def test_every_check_grades_some_promise(catalog_names):
    named = {name for promise in PROMISES for name in promise.checks}
    assert not catalog_names - named, sorted(catalog_names - named)


def test_a_row_grades_its_own_function():
    """A row's checks are of its function, or of a variant built with it."""
    from autograder.checks import catalog
    from mnist_kit.variants import BY_ID

    subjects = {check.name: check.subject for check in catalog(TEST_SECRET)}
    for promise in PROMISES:
        for name in promise.checks:
            subject = subjects[name]
            if subject.startswith("variant "):
                variant = BY_ID[subject.removeprefix("variant ")]
                assert promise.function in (variant.builder, "compile_model", "early_stopping"), (promise, name)
            else:
                assert subject == promise.function, (promise, name)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_has_rows_for_its_returns_raises_and_parameters(function):
    docstring, rows = FUNCTIONS[function], rows_of(function)
    assert _section(docstring, "Returns") is not None, f"{function}'s docstring has no Returns section"
    assert any(row.section == "Returns" for row in rows), f"{function}: no row for its Returns"
    raises = _section(docstring, "Raises")
    if raises is not None:
        for exception in re.findall(r"^(\w+Error)\b", raises, re.MULTILINE):
            assert any(row.section == "Raises" and row.about == exception for row in rows), (function, exception)
    else:
        assert not any(row.section == "Raises" for row in rows), f"{function} raises nothing in its docstring"
    parameters = re.findall(r"^(\w+) :", _section(docstring, "Parameters") or "", re.MULTILINE)
    assert parameters, function
    for parameter in parameters:
        assert any(row.section == "Parameters" and row.about == parameter for row in rows), (function, parameter)
    assert {row.about for row in rows if row.section == "Parameters"} <= set(parameters), function

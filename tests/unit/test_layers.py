"""The kit's three layers, as the tree shows them (README's "What is where"): the course's tools
(``mnist_course``) stand on the grader (``autograder``), which stands on the foundation
(``mnist_kit``); the student package (``mnist_tasks``, generated from ``solutions/``) stands on the
foundation alone. Inside the grader, each subpackage (the box, the grader's training, the
feedback, …) offers the others only the modules its ``__init__``'s ``__all__`` names. Read from the
source, every import counts: at the top of a module, inside a function (a lazy import is still a
dependency) or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Lowest first: a module may import its own layer and the ones before it, never one after it.
LAYERS = ("mnist_kit", "autograder", "mnist_course")
STUDENT_PACKAGES = {"mnist_tasks": REPO / "mnist_tasks", "solutions' mnist_tasks": REPO / "solutions" / "mnist_tasks"}
MAX_LINES = 400
MAX_ROOT_MODULES = 12   # the grader's root: the pipeline and pytest's entry points; the rest in subpackages


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name → file, for every module of ``package`` found under ``root``."""
    files = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    return files


KIT = {name: path for layer in LAYERS for name, path in module_files(REPO, layer).items()}


def imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules ``module`` imports anywhere in its source: ``from package import submodule`` names
    the submodule, and a relative import is resolved against the module's own package."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            names |= submodules or {base}
    return names


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in LAYERS else None


def kit_graph() -> dict[str, set[str]]:
    known = set(KIT)
    return {module: {name for name in imported(module, path, known) if layer_of(name)} - {module}
            for module, path in KIT.items()}


def test_each_layer_imports_only_itself_and_the_layers_below():
    upward = []
    for module, targets in kit_graph().items():
        rank = LAYERS.index(layer_of(module))
        upward += [f"{module} imports {target}" for target in sorted(targets) if LAYERS.index(layer_of(target)) > rank]
    assert upward == [], "a lower layer imports a higher one:\n" + "\n".join(upward)


@pytest.mark.parametrize("label", sorted(STUDENT_PACKAGES))
def test_the_student_package_stands_on_the_foundation_alone(label):
    folder = STUDENT_PACKAGES[label]
    known = set(KIT)
    above = [f"{path.name} imports {name}" for path in sorted(folder.glob("*.py"))
             for name in sorted(imported(f"mnist_tasks.{path.stem}", path, known))
             if layer_of(name) not in (None, "mnist_kit")]
    assert above == []


def test_no_module_of_the_kit_imports_itself_round_a_circle():
    graph = kit_graph()
    circles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                circles.append(" → ".join(trail[trail.index(target):] + [module, target])
                               if target in trail else f"{module} → {target}")
            elif target not in state:
                visit(target, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert circles == [], "import circles:\n" + "\n".join(circles)


def offered(package: str) -> set[str] | None:
    """The modules a subpackage offers the others (its ``__init__``'s ``__all__``), None without one."""
    init = REPO.joinpath(*package.split("."), "__init__.py")
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "__all__" for target in node.targets):
            return set(ast.literal_eval(node.value))
    return None


GRADER_SUBPACKAGES = sorted(name for name, path in KIT.items()
                            if name.count(".") == 1 and name.startswith("autograder.") and path.name == "__init__.py")


def test_each_grader_subpackage_says_what_it_owns_and_offers():
    missing = [package for package in GRADER_SUBPACKAGES
               if offered(package) is None or not ast.get_docstring(ast.parse(KIT[package].read_text(encoding="utf-8")))]
    assert missing == [], f"these need a docstring and an __all__ in their __init__.py: {missing}"


def test_no_module_reaches_into_another_subpackages_private_modules():
    reaching = []
    for module, targets in kit_graph().items():
        for target in sorted(targets):
            package = ".".join(target.split(".")[:2])
            if package not in GRADER_SUBPACKAGES or module == package or module.startswith(package + "."):
                continue
            if target != package and target.split(".")[2] not in offered(package):
                reaching.append(f"{module} imports {target} (not in {package}.__all__)")
    assert reaching == [], "private modules reached from outside:\n" + "\n".join(reaching)


def test_the_graders_root_holds_the_pipeline_alone():
    root = sorted(path.name for path in (REPO / "autograder").glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, f"{len(root)} modules at autograder/'s root: {root}"


def test_no_module_of_the_kit_is_over_400_lines():
    long = {name: count for name, path in KIT.items()
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these along their seams (at most {MAX_LINES} lines a module): {long}"


def test_the_test_reads_real_imports():
    # The graph this module checks is not empty, and sees a lazy import and a relative one.
    graph = kit_graph()
    assert {"autograder.grade", "mnist_course.course", "mnist_kit.data"} <= set(graph)
    assert "autograder.training.retraining" in graph["autograder.grade"]          # imported inside a function
    assert "mnist_kit.i18n" in graph["mnist_kit.data"]
    assert any(layer_of(target) == "autograder" for target in graph["mnist_course.classgrade"])
    # The subpackage rule sees imports across subpackages, and a module kept private.
    assert "autograder.sandbox.jail" in graph["autograder.warm.daemon"]
    assert "autograder.sandbox.workspace" in graph["autograder.sandbox.probes"]
    assert {"autograder.sandbox", "autograder.training", "autograder.feedback", "autograder.nbgrader"} <= set(GRADER_SUBPACKAGES)
    assert "workspace" not in offered("autograder.sandbox")

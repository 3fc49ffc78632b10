"""The student package is generated from solutions/ and every task in it is a clear stub."""

import inspect
import subprocess
import sys

import numpy as np
import pytest

from mnist_course import stubgen
from tests.conftest import MODULES, REPO

# Every student task of the exercise contract, by module.
TASKS = {
    "preprocessing": ["normalize", "flatten", "add_channel_axis", "one_hot", "labels_from_scores"],
    "models": ["build_mlp", "build_cnn"],
    "training": ["choose_loss", "compile_model", "early_stopping"],
    "plots": ["plot_history", "plot_predictions", "plot_first_layer_weights"],
}
ARGUMENTS = {
    "normalize": (np.zeros((1, 28, 28), np.uint8),), "flatten": (np.zeros((1, 28, 28)),),
    "add_channel_axis": (np.zeros((1, 28, 28)),), "one_hot": (np.zeros(1, int),),
    "labels_from_scores": (np.zeros((1, 10)),), "build_mlp": (), "build_cnn": (),
    "choose_loss": (False, True), "compile_model": (None,), "early_stopping": (),
    "plot_history": ({"loss": [1.0], "accuracy": [0.5]},),
    "plot_predictions": (np.zeros((1, 28, 28)), [0], [0]), "plot_first_layer_weights": (None,),
}


def test_committed_stubs_are_in_sync_with_solutions():
    assert stubgen.out_of_date() == [], "run `mnist-make-stubs` after editing solutions/"


@pytest.mark.command
def test_check_command_reports_a_stale_stub(tmp_path):
    target = tmp_path / "mnist_tasks"
    target.mkdir()
    for name, text in stubgen.generate().items():
        (target / name).write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "mnist_course.stubgen", "--check", "--target", str(target)]
    assert subprocess.run(command, capture_output=True).returncode == 0
    (target / "models.py").write_text("# edited by hand\n", encoding="utf-8")
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1 and "models.py: differs" in result.stderr


@pytest.mark.parametrize("module, task", [(m, t) for m, tasks in TASKS.items() for t in tasks])
def test_every_stub_raises_naming_its_task(stubs, reference, module, task):
    stub = getattr(getattr(stubs, module), task)
    assert inspect.signature(stub) == inspect.signature(getattr(getattr(reference, module), task))
    assert inspect.getdoc(stub) == inspect.getdoc(getattr(getattr(reference, module), task))
    with pytest.raises(NotImplementedError) as raised:
        stub(*ARGUMENTS[task])
    message = str(raised.value)
    assert message.startswith(f"{task}:") and "not implemented yet" in message and "まだ実装されていません" in message


def test_contract_tasks_are_the_stubbed_ones():
    generated = stubgen.generate()
    stubbed = {name: [line for line in text.splitlines() if "raise NotImplementedError" in line]
               for name, text in generated.items()}
    assert {name[:-3]: len(lines) for name, lines in stubbed.items() if lines} == \
        {module: len(tasks) for module, tasks in TASKS.items()}


def test_provided_code_is_whole_in_both():
    for name in ("__init__.py", "data.py"):
        assert (REPO / "mnist_tasks" / name).read_bytes() == (REPO / "solutions" / "mnist_tasks" / name).read_bytes()
    stub_source = (REPO / "mnist_tasks" / "plots.py").read_text(encoding="utf-8")
    assert "IMAGE_SIDE = 28" in stub_source and "BEGIN SOLUTION" not in stub_source


@pytest.mark.parametrize("broken, complaint", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    pass\n    ### END SOLUTION\n", "without"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "outside any function"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    pass\n", "nested"),
])
def test_malformed_regions_are_errors(broken, complaint):
    with pytest.raises(stubgen.StubError, match=complaint):
        stubgen.make_stub(broken, "example")


def test_stub_keeps_indentation_and_signature():
    source = 'def f(x, y=2):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n'
    stub = stubgen.make_stub(source, "example")
    namespace = {}
    exec(compile(stub, "example.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"^f: .*mnist_tasks/example\.py"):
        namespace["f"](1)
    assert "return x + y" not in stub and '"""Doc."""' in stub


def test_all_modules_present():
    assert sorted(p.stem for p in (REPO / "mnist_tasks").glob("*.py")) == sorted(("__init__", *MODULES))

"""autograder.sources: the static reading of a submission's files (nothing imported or run)."""

from __future__ import annotations

import contextlib
import os
import textwrap
import threading
from pathlib import Path

import pytest

from autograder.sources import (ALL_MODULES, MAX_SOURCE_BYTES, SourceError, forbidden_uses, package_problems,
                                read_source)

NAME = "to_categorical"


@pytest.fixture
def package(tmp_path) -> Path:
    directory = tmp_path / "mnist_tasks"
    directory.mkdir()
    (directory / "__init__.py").write_text("")
    return directory


def _write(package: Path, module: str, source: str) -> None:
    (package / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")


def _uses(package: Path, source: str, module: str = "preprocessing"):
    _write(package, module, source)
    return forbidden_uses(package, module, NAME)


# --- forbidden_uses -------------------------------------------------------------------------------------------

HIDDEN = {
    "a call by name": "from keras.utils import to_categorical\ny = to_categorical([1], 10)\n",
    "an attribute": "import keras\ny = keras.utils.to_categorical([1], 10)\n",
    "an import alias": "from keras.utils import to_categorical as one_hot\n",
    "an import of the dotted name": "import keras.utils.to_categorical\n",
    "a module alias and an attribute": "from keras import utils as u\nf = u.to_categorical\n",
    "a string to getattr": "import keras\nf = getattr(keras.utils, 'to_categorical')\n",
    "string pieces joined with +": "import keras\nf = getattr(keras.utils, 'to_' + 'categ' + 'orical')\n",
    "implicitly joined pieces": "name = ('to_'\n        'categorical')\n",
    "an f-string of constants": "name = f'to_categorical'\n",
    "a string in a nested function": "def f():\n    def g():\n        return 'x to_categorical y'\n    return g\n",
}


@pytest.mark.parametrize("case", HIDDEN, ids=list(HIDDEN))
def test_the_name_is_found_however_it_is_written(package, case):
    uses = _uses(package, HIDDEN[case])
    assert uses, case
    assert NAME in uses[0].what
    assert uses[0].file == "mnist_tasks/preprocessing.py" and uses[0].line >= 1


def test_the_name_is_found_in_an_f_string_with_constant_placeholders(package):
    assert _uses(package, "import operator, keras\nf = operator.attrgetter(f\"to_{'categorical'}\")(keras.utils)\n")


DYNAMIC = {
    "getattr with a computed name": ("import keras\nn = 'x'\nf = getattr(keras.utils, n)\n", "getattr(...)"),
    "eval": ("f = eval(source)\n", "eval(...)"),
    "exec": ("exec(source)\n", "exec(...)"),
    "compile": ("code = compile(source, 'f', 'exec')\n", "compile(...)"),
    "__import__": ("m = __import__(name)\n", "__import__(...)"),
    "globals": ("g = globals()\n", "globals(...)"),
    "vars": ("import keras\nv = vars(keras.utils)\n", "vars(...)"),
    "import importlib": ("import importlib\n", "importlib"),
    "from importlib import": ("from importlib import import_module\n", "importlib"),
    "import_module": ("import importlib as il\nm = il.import_module(name)\n", ".import_module"),
    "sys.modules": ("import sys\nm = sys.modules['keras.utils']\n", ".modules"),
    "a module's __dict__": ("import keras\nd = keras.utils.__dict__\n", ".__dict__"),
}


@pytest.mark.parametrize("case", DYNAMIC, ids=list(DYNAMIC))
def test_dynamic_lookups_that_could_hide_the_name_are_reported(package, case):
    source, what = DYNAMIC[case]
    assert what in [use.what for use in _uses(package, source)]


def test_a_constant_getattr_without_the_name_is_not_a_dynamic_lookup(package):
    assert _uses(package, "import numpy as np\nf = getattr(np, 'eye')\n") == []


def test_docstrings_and_comments_may_mention_the_name(package):
    source = '''\
        """Module docstring: do not use to_categorical here."""
        # a comment about to_categorical
        def one_hot(labels):
            """Like keras.utils.to_categorical, by hand."""
            return labels


        class Encoder:
            """to_categorical, again."""
        '''
    assert _uses(package, source) == []


def test_a_string_that_is_not_a_docstring_is_not_ignored(package):
    # Only the first statement of a body is a docstring; the same text later is a value.
    uses = _uses(package, 'def f():\n    x = 1\n    "to_categorical"\n')
    assert [use.line for use in uses] == [3]


def test_the_name_itself_is_listed_before_dynamic_lookups(package):
    uses = _uses(package, "import importlib\nfrom keras.utils import to_categorical\n")
    assert [use.what for use in uses] == ["import to_categorical", "importlib"]


@pytest.mark.parametrize("import_line", [
    "from . import helper",
    "from .helper import encode",
    "from mnist_tasks import helper",
    "from mnist_tasks.helper import encode",
    "import mnist_tasks.helper",
])
def test_package_modules_it_imports_are_read_too(package, import_line):
    _write(package, "helper", "from keras.utils import to_categorical\ndef encode(y):\n    return to_categorical(y)\n")
    uses = _uses(package, f"{import_line}\n")
    assert {use.file for use in uses} == {"mnist_tasks/helper.py"}


def test_modules_outside_the_package_and_cycles_are_not_followed(package):
    _write(package, "helper", "from . import preprocessing\n")
    (package.parent / "outside.py").write_text("from keras.utils import to_categorical\n")
    assert _uses(package, "from . import helper\nfrom .. import outside\nimport outside\n") == []


def test_a_module_that_does_not_parse_is_left_to_its_own_probes(package):
    assert _uses(package, "def broken(:\n    to_categorical\n") == []


def test_a_missing_module_has_no_uses(package):
    assert forbidden_uses(package, "preprocessing", NAME) == []


# --- read_source and package_problems -------------------------------------------------------------------------

def test_a_utf8_file_is_read_without_its_byte_order_mark(package):
    path = package / "models.py"
    path.write_bytes(b"\xef\xbb\xbfx = '\xc3\xa9'\n")
    assert read_source(path) == "x = 'é'\n"


def test_a_file_at_the_size_limit_is_still_read(package):
    path = package / "models.py"
    path.write_bytes(b"#" * MAX_SOURCE_BYTES)
    assert len(read_source(path)) == MAX_SOURCE_BYTES


@contextlib.contextmanager
def _fifo(path: Path):
    """A FIFO that a reader cannot block on for long: should the code under test open it after all,
    a writer turns up and closes it, so the test fails instead of hanging the run."""
    os.mkfifo(path)
    stop = threading.Event()

    def unblock():
        while not stop.is_set():
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)   # fails until someone reads
            except OSError:
                stop.wait(0.01)
                continue
            os.close(descriptor)
            return

    writer = threading.Thread(target=unblock, daemon=True)
    writer.start()
    try:
        yield path
    finally:
        stop.set()
        writer.join()


def _problem(path: Path):
    with pytest.raises(SourceError) as refused:
        read_source(path)
    return refused.value.problem


def test_a_file_over_the_size_limit_is_refused_with_its_size(package):
    path = package / "models.py"
    path.write_bytes(b"#" * (MAX_SOURCE_BYTES + 10))
    problem = _problem(path)
    assert (problem.reason, problem.size, problem.file) == ("too_large", MAX_SOURCE_BYTES + 10, "mnist_tasks/models.py")
    assert problem.outcome() == {"status": "unreadable", "file": "mnist_tasks/models.py", "reason": "too_large",
                                 "bytes": MAX_SOURCE_BYTES + 10, "limit": MAX_SOURCE_BYTES}


def test_a_file_that_is_not_utf8_is_refused(package):
    path = package / "models.py"
    path.write_bytes("x = 'é'\n".encode("latin-1"))
    assert _problem(path).reason == "not_utf8"


def test_a_fifo_is_refused_without_being_opened(package):
    with _fifo(package / "models.py") as path:
        assert _problem(path).reason == "not_a_file"


@pytest.mark.parametrize("make", ["directory", "dangling link", "device link"])
def test_something_else_that_is_not_a_regular_file_is_refused(package, make):
    path = package / "models.py"
    if make == "directory":
        path.mkdir()
    elif make == "dangling link":
        path.symlink_to(package / "nowhere.py")
    else:
        path.symlink_to("/dev/zero")    # read to its end, it would never end
    assert _problem(path).reason == "not_a_file"


def test_package_problems_name_contract_modules_and_put_the_rest_under_all(package):
    (package / "models.py").write_bytes(b"\xff\xfe")
    (package / "helper.py").write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    (package / "preprocessing.py").write_text("x = 1\n")
    with _fifo(package / "training.py"):
        problems = package_problems(package)
    assert {module: problem.reason for module, problem in problems.items()} == {
        "models": "not_utf8", "training": "not_a_file", ALL_MODULES: "too_large"}


def test_a_clean_package_has_no_problems(package):
    for module in ("preprocessing", "models", "training", "plots"):
        (package / f"{module}.py").write_text("def f():\n    return 1\n")
    assert package_problems(package) == {}


def test_a_missing_package_directory_has_no_problems(tmp_path):
    assert package_problems(tmp_path / "mnist_tasks") == {}

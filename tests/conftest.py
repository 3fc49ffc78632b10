"""Shared fixtures: the reference and the stub packages, loaded side by side, and real MNIST."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import types
from collections import Counter
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SHARED_NPZ = REPO.parent / "shared" / "data" / "mnist.npz"
MODULES = ("data", "preprocessing", "models", "training", "plots")


def load_package(package_dir: Path, alias: str) -> types.SimpleNamespace:
    """Load each module of an ``mnist_tasks`` directory under a unique name.

    The reference and the stubs are both called ``mnist_tasks``; loading them by path under
    aliases lets one test session hold both without either shadowing the other.
    """
    loaded = {}
    for name in MODULES:
        spec = importlib.util.spec_from_file_location(f"{alias}.{name}", package_dir / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        loaded[name] = module
    return types.SimpleNamespace(**loaded)


@pytest.fixture(scope="session")
def reference():
    return load_package(REPO / "solutions" / "mnist_tasks", "reference_mnist_tasks")


@pytest.fixture(scope="session")
def stubs():
    return load_package(REPO / "mnist_tasks", "stub_mnist_tasks")


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """The local MNIST file: $MNIST_NPZ, else ../shared/data/mnist.npz."""
    path = Path(os.environ.get("MNIST_NPZ") or SHARED_NPZ)
    if not path.is_file():
        pytest.fail(f"MNIST not found at {path}: set MNIST_NPZ to a Keras-format mnist.npz "
                    f"(./kit test does this when ../shared/data/mnist.npz exists)")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from mnist_kit.data import load_mnist

    return load_mnist(mnist_path)


@pytest.fixture(scope="session")
def warm_workers():
    """One grading worker kept between the meta-tests' gradings (``autograder.sandbox.workers.WarmWorkers``).

    For tests that grade honest variations of the reference, where isolation between submissions
    is not what is tested: each grading then costs its probes, not a TensorFlow start-up. The
    isolation and adversarial tests start fresh workers, as real grading does.
    """
    from autograder.sandbox.workers import WarmWorkers

    workers = WarmWorkers()
    yield workers
    workers.close()


@pytest.fixture(scope="session")
def training_memo(tmp_path_factory):
    """One training memo (``autograder.training.memo``) for the meta-tests' gradings: the first grading of an
    architecture trains it (cold), every later one recalls it (warm), and all of them must give
    the results recorded without a memo (tests/golden.py)."""
    from autograder.training.memo import Memo

    # One folder for every xdist worker of the run (their base folders' parent), as a class's Dask
    # workers share their course's memo: an architecture is trained once per run, not once per worker.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return Memo(tmp_path_factory.getbasetemp().parent / "training-memo")
    return Memo(tmp_path_factory.mktemp("training-memo"))


@pytest.fixture
def unchanged(request):
    """``unchanged(report)``: assert the report equals the recorded one for this test (tests/golden.py)."""
    from tests.golden import assert_unchanged

    # (less the "@group" xdist adds to a grouped test's id, as the serial run records it)
    return lambda report: assert_unchanged(report, request.node.nodeid.partition("@")[0])


class _ForkServers:
    """Boxed gradings' workers from a boxed fork server (``autograder.sandbox.forkbox``, as a class is
    graded), unboxed ones' from an unboxed one (``autograder.sandbox.workers.ForkServer``)."""

    reuses = False

    def __init__(self):
        from autograder.sandbox import jail
        from autograder.sandbox.workers import ForkServer

        self.unboxed = ForkServer()
        self.boxed = None
        if jail.available():
            from autograder.sandbox.forkbox import BoxedForkServer

            self.boxed = BoxedForkServer()
        self.folder = self.boxed.folder if self.boxed else None
        self.uid = self.boxed.uid if self.boxed else None
        self._from: dict[int, object] = {}

    @property
    def spawned(self) -> int:
        return self.unboxed.spawned + (self.boxed.spawned if self.boxed else 0)

    def acquire(self, limits, logdir, attempt, box=None):
        source = self.boxed if box is not None and self.boxed is not None else self.unboxed
        channel = source.acquire(limits, logdir, attempt, box)
        self._from[id(channel)] = source
        return channel

    def release(self, channel, finished):
        self._from.pop(id(channel)).release(channel, finished)

    def close(self):
        self.unboxed.close()
        if self.boxed is not None:
            self.boxed.close()


@pytest.fixture(scope="session")
def fork_server():
    """Fresh, isolated workers forked from a process that imported TensorFlow once: the isolation
    and adversarial tests grade dozens of hostile submissions, each in a new worker, at ~1 s instead
    of ~5 s a worker. Boxed, from the boxed fork server a class is graded with, one submission
    after another in its box; unboxed, from an unboxed one. ``mnist-grade`` itself (and the tests
    that run it) starts its workers from scratch; tests/test_sandbox_escapes.py grades each escape
    attempt both ways."""
    server = _ForkServers()
    yield server
    server.close()


@pytest.fixture(scope="session")
def roundtrip(tmp_path_factory):
    """The course round trip (tests/roundtrip.py), built once for every test that looks at it: ~2.5 min."""
    from tests.roundtrip import build

    return build(tmp_path_factory.mktemp("roundtrip"))


@pytest.fixture(scope="session", autouse=True)
def warm_grader_of_this_session():
    """The self-checks the tests run (grade cells, ``pytest autograder/``) share a warm grader
    (``autograder.warm``) of this session's own, never the developer's, and stopped at the end."""
    from autograder.warm import client

    import tempfile

    runtime = Path(tempfile.mkdtemp(prefix="mnist-tests-runtime-"))   # short: a socket's path must fit in 107 bytes
    previous = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    yield runtime
    client.stop(client.folder())
    shutil.rmtree(runtime, ignore_errors=True)
    if previous is None:
        os.environ.pop("XDG_RUNTIME_DIR", None)
    else:
        os.environ["XDG_RUNTIME_DIR"] = previous


# --- the suite in parallel (pytest-xdist; ./kit test runs it with -n and --dist loadgroup) ---------------
#
# Test by test over the workers, except where a fixture built once per worker process would be
# built on each: a test that uses a fixture of module scope runs where the rest of its module's
# such tests run, and the tests of every module that uses the course round trip (~2.5 min, session
# scope) run in one group. xdist's own mechanism (the ``xdist_group`` mark), given here from what
# each test uses so that a new test needs no mark; a module that must not run beside another
# (the hub's accounts and its venv in /opt) marks itself with a group of its own. The groups go
# first, largest first: a worker that draws the round trip last would finish alone.
SHARED_SESSION_FIXTURES = ("roundtrip",)


def _group_of(item, modules_sharing: dict) -> str | None:
    shared = [name for name in SHARED_SESSION_FIXTURES if name in item.fixturenames]
    if shared:
        return shared[0]
    definitions = getattr(item, "_fixtureinfo", None)
    scopes = {defs[-1].scope for defs in definitions.name2fixturedefs.values()} if definitions else set()
    if scopes & {"module", "class", "package"}:
        return modules_sharing.get(item.path) or item.path.stem
    return None


@pytest.hookimpl(wrapper=True)   # a wrapper: the marks are there before xdist's own hook reads them
def pytest_collection_modifyitems(config, items):
    modules_sharing = {item.path: name for item in items for name in SHARED_SESSION_FIXTURES
                       if name in item.fixturenames}
    for item in items:
        if item.get_closest_marker("xdist_group") is None and (group := _group_of(item, modules_sharing)):
            item.add_marker(pytest.mark.xdist_group(group))
    # The order the workers collect in is the order xdist hands work out (each worker collects, so
    # this runs in each, where --dist is "no" but "loadgroup" is set).
    if config.getoption("loadgroup", default=False):   # (no such option where xdist is not loaded)
        groups = Counter(mark.args[0] for item in items if (mark := item.get_closest_marker("xdist_group")))
        items.sort(key=lambda item: -groups[mark.args[0]] if (mark := item.get_closest_marker("xdist_group")) else 0)
        for item in items:
            _name_the_group_in_the_id(item)
    return (yield)


def _name_the_group_in_the_id(item) -> None:
    """xdist's scheduler reads a test's group from its id ("…@group"), which xdist 3.8 writes to
    ``item._nodeid``; pytest 9 keeps the id in ``item._id``, so that write no longer shows and every
    test ran wherever (a module's fixture built on each worker). Written here where pytest 9 reads it."""
    from _pytest.nodeid import coerce_node_id

    mark = item.get_closest_marker("xdist_group")
    if mark is not None and hasattr(item, "_id") and "@" not in item.nodeid:
        item._id = coerce_node_id(f"{item.nodeid}@{mark.args[0]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A test marked ``alone`` (a real hub driven in a browser: a busy machine breaks its waits)
    runs with the machine to itself: it holds a lock the other xdist workers' tests share, so they
    wait for it, and it for them. Without xdist there is nothing to wait for."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return (yield)
    import fcntl
    import tempfile

    lock = Path(tempfile.gettempdir()) / f"mnist-tests-{os.environ.get('PYTEST_XDIST_TESTRUNUID', 'run')}.lock"
    with open(lock, "a") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX if item.get_closest_marker("alone") else fcntl.LOCK_SH)
        try:
            return (yield)
        finally:
            fcntl.flock(stream, fcntl.LOCK_UN)

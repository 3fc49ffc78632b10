"""autograder.sandbox.probes: the parent's reading of a worker's result lines, and the kept-worker pool."""

from __future__ import annotations

import io
import json
import subprocess
import time

import pytest

from autograder.sandbox.limits import Limits
from autograder.sandbox.probes import FORGED, _Conversation, _Tainted
from autograder.sandbox.workers import Channel, WarmWorkers

TOKEN = "0123456789abcdef"
PROBES = [{"id": "one_hot", "module": "preprocessing"}, {"id": "variant.D", "module": "models"},
          {"id": "fit", "module": "training"}]


def line(token=TOKEN, **message) -> bytes:
    if token is not None:
        message["token"] = token
    return json.dumps(message).encode()


def conversation(finished=None) -> _Conversation:
    return _Conversation(PROBES, {} if finished is None else finished, TOKEN)


def run(talk: _Conversation, probe_id: str) -> list[str]:
    return [talk.accept(line(start=probe_id)), talk.accept(line(calling=probe_id)),
            talk.accept(line(done=probe_id, status="ok", type="numpy.ndarray"))]


# --- the honest worker ----------------------------------------------------------------------------------------

def test_an_honest_worker_is_heard_probe_by_probe_in_order():
    talk = conversation()
    for probe in PROBES:
        assert run(talk, probe["id"]) == ["start", "calling", "done"]
    assert talk.expected() is None and talk.current is None and talk.last == "fit"


def test_a_done_line_becomes_the_outcome_without_its_token_and_probe_id():
    talk = conversation()
    run(talk, "one_hot")
    assert talk.finished == {"one_hot": {"status": "ok", "type": "numpy.ndarray"}}


def test_a_probe_may_finish_without_calling_when_its_module_did_not_import():
    talk = conversation()
    assert talk.accept(line(start="one_hot")) == "start"
    assert talk.accept(line(done="one_hot", status="import_error")) == "done"
    assert talk.expected() == "variant.D"


def test_probes_already_finished_by_an_earlier_worker_are_skipped():
    talk = conversation({"one_hot": {"status": "timeout", "seconds": 30}})
    assert talk.accept(line(start="variant.D")) == "start"


# --- forged lines ---------------------------------------------------------------------------------------------

FORGED_AT_START = {
    "not JSON": b"hello from student code",
    "half a line": b'{"start": "one_hot", "tok',
    "JSON that is not an object": json.dumps(["start", "one_hot", TOKEN]).encode(),
    "no token": line(token=None, start="one_hot"),
    "a wrong token": line(token="f" * 16, start="one_hot"),
    "a token of another type": line(token=0, start="one_hot"),
    "a start out of order": line(start="variant.D"),
    "a start for an unknown probe": line(start="nobody"),
    "calling before any start": line(calling="one_hot"),
    "done before any start": line(done="one_hot", status="ok"),
    "no event at all": line(status="ok"),
}


@pytest.mark.parametrize("case", FORGED_AT_START, ids=list(FORGED_AT_START))
def test_a_line_the_worker_would_not_write_first_is_forged(case):
    talk = conversation()
    assert talk.accept(FORGED_AT_START[case]) == "forged"
    assert talk.finished == {} and talk.current is None


FORGED_WHILE_RUNNING = {
    "a second start": [line(start="one_hot")],
    "the next probe's start": [line(start="variant.D")],
    "calling for another probe": [line(calling="variant.D")],
    "a second calling": [line(calling="one_hot"), line(calling="one_hot")],
    "done for another probe": [line(done="variant.D", status="ok")],
    "a line without the token": [line(token=None, done="one_hot", status="ok")],
}


@pytest.mark.parametrize("case", FORGED_WHILE_RUNNING, ids=list(FORGED_WHILE_RUNNING))
def test_a_line_out_of_order_while_a_probe_runs_is_forged(case):
    talk = conversation()
    talk.accept(line(start="one_hot"))
    *honest, forged = FORGED_WHILE_RUNNING[case]
    for earlier in honest:
        assert talk.accept(earlier) != "forged"
    assert talk.accept(forged) == "forged"
    assert "one_hot" not in talk.finished


def test_a_done_repeated_after_the_probe_finished_is_forged():
    talk = conversation()
    run(talk, "one_hot")
    assert talk.accept(line(done="one_hot", status="ok")) == "forged"
    assert talk.finished["one_hot"] == {"status": "ok", "type": "numpy.ndarray"}


NULL_EVENTS = {
    "calling null before any start": (lambda talk: None, line(calling=None)),
    "done null before any start": (lambda talk: None, line(done=None, status="ok")),
    "start null after the last probe": (lambda talk: [run(talk, p["id"]) for p in PROBES], line(start=None)),
}


@pytest.mark.parametrize("case", NULL_EVENTS, ids=list(NULL_EVENTS))
def test_an_event_naming_no_probe_is_forged(case):
    before, forged = NULL_EVENTS[case]
    talk = conversation()
    before(talk)
    assert talk.accept(forged) == "forged"


# --- blame ----------------------------------------------------------------------------------------------------

def _blamed(talk: _Conversation, probe_id: str, module: str) -> None:
    tainted = talk.forgery()
    assert tainted == _Tainted(module, [FORGED])
    assert talk.finished[probe_id] == {"status": "tampered", "changes": [FORGED], "tainted": module}


def test_a_forgery_while_a_probe_runs_blames_that_probe():
    talk = conversation()
    run(talk, "one_hot")
    talk.accept(line(start="variant.D"))
    _blamed(talk, "variant.D", "models")


def test_a_forgery_between_probes_blames_the_probe_that_just_ran():
    # Its code may have started a thread that writes after it returned.
    talk = conversation()
    run(talk, "one_hot")
    _blamed(talk, "one_hot", "preprocessing")


def test_a_forgery_before_any_probe_blames_the_first_probe_due():
    talk = conversation({"one_hot": {"status": "ok"}})
    _blamed(talk, "variant.D", "models")


def test_a_forgery_with_no_probe_to_blame_blames_nobody():
    talk = _Conversation([], {}, TOKEN)
    assert talk.forgery() is None and talk.finished == {}


# --- kept workers ---------------------------------------------------------------------------------------------

@pytest.fixture
def warm():
    workers = WarmWorkers(max_requests=3)
    yield workers
    workers.close()


@pytest.fixture
def sleeper():
    # Its own session, as a real worker has: WarmWorkers kills a worker's whole process group.
    process = subprocess.Popen(["sleep", "30"], start_new_session=True)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def channel(process) -> Channel:
    return Channel(process, io.StringIO(), io.BytesIO(), io.BytesIO())


def test_a_live_fresh_worker_is_handed_out_once(warm, sleeper):
    kept = channel(sleeper)
    warm.keep(kept)
    assert kept.served == 1
    assert warm.take(Limits()) is kept
    assert warm.take(Limits()) is None      # taken: the next grading starts its own
    assert sleeper.poll() is None


def _ended_unreaped(process: subprocess.Popen) -> None:
    """Wait until the process has exited but is not yet reaped: its /proc entry (and CPU time) is
    still there, so only the liveness check can tell that it has ended."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{process.pid}/stat", "rb") as stream:
            if stream.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return
        time.sleep(0.005)
    raise AssertionError("`true` did not exit within 10 s")


def test_a_worker_that_has_ended_is_refused(warm):
    process = subprocess.Popen(["true"], start_new_session=True)
    try:
        _ended_unreaped(process)
        warm.keep(channel(process))
        assert warm.take(Limits()) is None
    finally:
        process.wait()


def test_a_worker_that_served_its_requests_is_refused_and_killed(warm, sleeper):
    kept = channel(sleeper)
    kept.served = warm.max_requests - 1
    warm.keep(kept)
    assert warm.take(Limits()) is None
    assert sleeper.poll() is not None
    assert kept.reader.closed and kept.log.closed


def test_a_worker_past_half_its_cpu_time_is_refused_and_killed(warm, sleeper):
    warm.keep(channel(sleeper))
    # A sleeping process has used ~0 s of CPU: only a negative limit puts it past half of it.
    assert warm.take(Limits(cpu_seconds=-1)) is None
    assert sleeper.poll() is not None

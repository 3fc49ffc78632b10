"""The seam between a self-check and the warm grader (``autograder.warm``): one JSON line each way
over the warm grader's socket, and the identity both must share for an answer to count.

A ``Report`` crosses whole (``report_to_wire`` / ``report_from_wire``), so that a grade cell and
``pytest autograder/`` present a warm grading exactly as one they graded themselves."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Literal, TypedDict

from autograder.sandbox.jail import SandboxMode
from mnist_kit.i18n import Text

KIT = Path(__file__).resolve().parents[2]
# What else decides a grading besides the code: where MNIST is read, where student code runs.
ENVIRONMENT_SETTINGS = ("MNIST_NPZ", "MNIST_SANDBOX")

Status = Literal["graded", "refused", "stale"]


class GradeRequest(TypedDict):
    kind: Literal["grade"]
    identity: str               # identity() of the asking process: another one's answer would be another grader's
    submission: str             # the folder holding mnist_tasks/ (absolute), read afresh for this grading
    only: list[str] | None      # subjects, as mnist-grade --only
    names: list[str] | None     # check names (pytest's selection)
    sandbox: SandboxMode | None  # None: a box where one can be made, as a cold self-check
    memo: str | None            # the training memo's folder; None: train everything


class StopRequest(TypedDict):
    kind: Literal["stop"]


Request = GradeRequest | StopRequest


class Answer(TypedDict):
    status: Status              # graded; refused (the grading raised: grade cold for its own message); stale
    report: dict | None         # report_to_wire(...) when graded
    reason: str | None          # why refused or stale, for the warm grader's log and the tests


def identity(environ=os.environ) -> str:
    """The kit's code, the Python environment and MNIST as they are now: a warm grader started under
    another identity must not grade. Read afresh on every call (a kernel outlives edits of the kit):
    a few milliseconds."""
    digest = hashlib.sha256()
    for package in ("autograder", "mnist_kit", "mnist_course"):
        for path in sorted((KIT / package).rglob("*.py")):
            try:
                digest.update(str(path.relative_to(KIT)).encode() + b"\0" + path.read_bytes() + b"\0")
            except OSError:
                pass
    digest.update(f"{sys.executable}\0{sys.version}\0".encode())
    # An installed or removed distribution changes its site-packages folder's time.
    for folder in sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}):
        digest.update(f"{folder}\0{_stamp(folder)}\0".encode())
    # Whether a box can be made here (Colab has no bwrap): a grader started without one stays unboxed.
    digest.update(f"bwrap={shutil.which('bwrap')}\0".encode())
    for key in ENVIRONMENT_SETTINGS:
        digest.update(f"{key}={environ.get(key, '')}\0".encode())
    mnist = environ.get("MNIST_NPZ") or os.path.expanduser("~/.keras/datasets/mnist.npz")
    digest.update(f"{mnist}\0{_stamp(mnist)}\0".encode())
    return digest.hexdigest()


def _stamp(path: str) -> str:
    try:
        status = os.stat(path)
    except OSError:
        return "missing"
    return f"{status.st_size}:{status.st_mtime_ns}:{status.st_ino}"


def report_to_wire(report) -> dict:
    """An ``autograder.grade.Report`` as JSON values (its ``Text``s as {"ja", "en"})."""
    return dataclasses.asdict(report)


def report_from_wire(wire: dict):
    """The ``Report`` that ``report_to_wire`` was given."""
    from autograder.grade import Report, TestResult

    def text(value):
        return Text(**value) if value is not None else None

    results = [TestResult(**{**r, "message": text(r["message"]), "title": text(r["title"]),
                             "diagnosis": text(r["diagnosis"])}) for r in wire["results"]]
    return Report(**{**wire, "results": results})

"""Grading results kept by content: the same files, graded for the same tasks by the same grader,
give the same results (the grader is deterministic), so they are graded once.

    key = cache_key(directory, items, secret)     # directory holds mnist_tasks/
    results = load(cache_dir, key) or grade_and_store(...)

The key covers every ``mnist_tasks/*.py`` file's bytes, the tasks, the hidden inputs (the course
secret's fingerprint) and the grader itself (every file of ``autograder`` and the variant table),
so a changed submission or a changed grader is graded again. Not the language: the results hold
every message in both (``autograder.feedback.report.gradescope``) and whoever presents them picks one
(``autograder.nbgrader.cells.summarize``), so one grading serves a Japanese and an English feedback.
Used by ``IsolatedGrades`` (``nbgrader autograde``) and by the class-scale autograde
(``mnist_course.classgrade``), which fills the cache in parallel before nbgrader runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

from autograder.secret import CourseSecret

KIT = Path(__file__).resolve().parents[2]
VERSION = 3   # of the cache's format (2: results in both languages, no language in the key; 3: HTML outputs, figures)
COURSE_CACHE = ".mnist-grade-cache"   # where a course keeps the grader's state: results, the ledger, the training memo


@functools.lru_cache(maxsize=1)
def grader_identity() -> str:
    """A digest of the grader's own code and tables: results from another grader never match."""
    digest = hashlib.sha256()
    files = sorted((KIT / "autograder").rglob("*.py")) + [KIT / "mnist_kit" / "variants.py"]
    for path in files:
        digest.update(str(path.relative_to(KIT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_files(directory: Path) -> dict[str, bytes]:
    """Every ``.py`` file of ``directory/mnist_tasks`` (what the grader imports), by name."""
    files = {}
    package = Path(directory) / "mnist_tasks"
    for path in sorted(package.glob("*.py")) if package.is_dir() else []:
        try:
            files[path.name] = path.read_bytes()
        except OSError:
            files[path.name] = b"<unreadable>"
    return files


def package_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def cache_key(directory: Path, items, secret: CourseSecret | None) -> str:
    return key_of(package_files(directory), items, secret)


def key_of(files: dict[str, bytes], items, secret: CourseSecret | None) -> str:
    """The key of grading the package ``files`` (name → bytes) for ``items``; with the hidden inputs
    of ``secret`` (another secret, other inputs: another result), or public checks only (None)."""
    parts = {"version": VERSION, "grader": grader_identity(), "package": package_digest(files),
             "items": list(items),
             "hidden": secret.fingerprint if secret is not None else None}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def load(cache_dir: Path, key: str) -> dict | None:
    path = Path(cache_dir) / f"{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def store(cache_dir: Path, key: str, results: dict) -> None:
    """Write atomically: a reader never sees half a file, two writers of one key write the same."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".partial", dir=cache_dir)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(results, stream, ensure_ascii=False)
    os.replace(temporary, cache_dir / f"{key}.json")

"""The training memo: the grader's own trainings, recalled instead of trained again.

The grader's training of a variant depends only on what the parent itself rebuilds and how: the
vetted architecture, the variant's compile settings, budget and seed (``mnist_kit.variants``,
never the student), the MNIST data, the libraries and the machine, and the grader's own code. In
a class almost every submission builds the same architectures, so the same trainings would run
for every student. The memo keeps each result under a key that names all of these:

- the variant (its whole row of the table) and the grader's identity (``cache.grader_identity``:
  every file of ``autograder/`` and the variant table);
- the architecture in its training form (``architecture.training_form``): the vetted canonical
  JSON with the layers' and the model's names replaced by their positions, since Keras's training
  does not read names (``tests/test_training_memo.py`` trains both and compares);
- the MNIST data (a digest of the file, or of the arrays where Keras downloaded them);
- TensorFlow's, Keras's and NumPy's versions, the CPU's vector instructions and the thread counts.

A key that differs in anything is a real training. The memo is filled only by the grader's own
trainings on this machine, never shipped or precomputed. It also keeps parameter counts (which
rebuild the model with TensorFlow) and early-stopping trials, each under a key of its own inputs.

It lives where the course keeps its state (``<course>/.mnist-grade-cache/training-memo/``), or in
the user's cache folder for ``mnist-grade`` without a course. The sandboxed worker sees neither
(``autograder.sandbox.jail`` binds no course and no home). Entries are written whole (a new file linked
into place: no reader sees half of one); of two gradings that train the same key at once, the one
that links first is kept and the other one reports that entry, so a class never holds two results
for one key. A lock per key makes the second one wait and recall instead of training it again.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import hashlib
import json
import os
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, TypedDict

from autograder.training import architecture
from autograder.training.cache import COURSE_CACHE, grader_identity
from mnist_kit.runtime import library_versions, machine
from mnist_kit.variants import Variant

VERSION = 1                       # of the memo's keys and entries
COURSE_FOLDER = "training-memo"   # inside the course's .mnist-grade-cache/
# This process's gradings: an entry says which run trained it.
RUN = {"id": uuid.uuid4().hex[:12], "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


class Entry(TypedDict):
    """One recalled result, and which run made it."""
    kind: Literal["training", "parameters", "early_stopping"]
    value: dict            # the result: TrainingResult's fields, {"count": n}, an early-stopping run
    run: str               # the id of the grading process that trained it
    at: str                # when (UTC, ISO 8601)


Source = Literal["trained", "recalled"]


class TrainingSource(TypedDict):
    """results.json's ``extra_data.trainings[variant]``: where a variant's training came from."""
    source: Source
    run: str               # the run that trained it: this one, or the one recalled
    at: str
    key: str               # the memo key's first 16 hex digits


def for_course(course: Path) -> "Memo":
    """A course's memo, beside its results cache."""
    return Memo(Path(course) / COURSE_CACHE / COURSE_FOLDER)


def for_grading(course: Path | None) -> "Memo":
    """The memo a command uses: its course's, else the user's own."""
    return for_course(course) if course is not None else Memo(default_folder())


def default_folder() -> Path:
    """Where ``mnist-grade`` without a course keeps its memo: the user's cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mnist-tasks" / COURSE_FOLDER


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    """The libraries, the machine and the grader: a memo entry holds only where all three match."""
    return {"libraries": library_versions(), "machine": machine(), "grader": grader_identity()}


@functools.lru_cache(maxsize=4)
def mnist_fingerprint(path: str | None) -> str:
    """A digest of the MNIST file the grader trains on: ``MNIST_NPZ``'s bytes (no need to load it),
    else the arrays themselves (Keras's download)."""
    digest = hashlib.sha256()
    if path and os.path.isfile(path):
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return "file:" + digest.hexdigest()
    from mnist_kit.data import load_mnist

    return arrays_digest(load_mnist(path))


def arrays_digest(mnist) -> str:
    """A digest of MNIST's four arrays, ``((x_train, y_train), (x_test, y_test))``, as loaded."""
    digest = hashlib.sha256()
    for array in (part for pair in mnist for part in pair):
        digest.update(str(array.dtype).encode() + str(array.shape).encode() + array.tobytes())
    return "arrays:" + digest.hexdigest()


def _key(parts: dict) -> str:
    return hashlib.sha256(json.dumps({"version": VERSION, **environment(), **parts}, sort_keys=True,
                                     default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Memo:
    folder: Path

    # --- keys ----------------------------------------------------------------------------------------
    def training_key(self, variant: Variant, vetted_json: str, mnist: str) -> str:
        return _key({"kind": "training", "variant": asdict(variant),
                     "architecture": architecture.training_form(vetted_json), "mnist": mnist})

    def parameters_key(self, vetted_json: str) -> str:
        return _key({"kind": "parameters", "architecture": architecture.training_form(vetted_json)})

    def early_stopping_key(self, settings: tuple) -> str:
        return _key({"kind": "early_stopping", "settings": [list(item) for item in settings]})

    # --- entries -------------------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def recall(self, key: str) -> Entry | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and isinstance(entry.get("value"), dict) else None

    def store(self, key: str, kind: str, value: dict) -> Entry:
        """Keep ``value`` under ``key`` unless an entry is there already; return the entry kept."""
        entry: Entry = {"kind": kind, "value": value, "run": RUN["id"],
                        "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".partial", dir=path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(entry, stream)
            try:
                os.link(temporary, path)   # fails if another grading linked its entry first
            except FileExistsError:
                return self.recall(key) or entry
            finally:
                os.unlink(temporary)
        except OSError:
            return entry   # a memo that cannot be written is only a slower grading
        return entry

    @contextlib.contextmanager
    def claimed(self, key: str):
        """Hold ``key``'s lock while training it: another grading of the same key waits, then recalls."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stream = open(self.folder / f".{key[:2]}.lock", "a+b")
        except OSError:
            yield
            return
        with stream:
            fcntl.flock(stream, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(stream, fcntl.LOCK_UN)

    def knows_variants(self, variant_ids) -> bool:
        """Whether this memo has trained these variants before, with these libraries on this machine
        (then the grading does not start TensorFlow before it knows it must). A guess: the
        architectures may still differ."""
        marks = self.folder / "variants.json"
        try:
            known = json.loads(marks.read_text(encoding="utf-8")).get(_key({"kind": "marks"}), [])
        except (OSError, ValueError, AttributeError):
            return False
        return set(variant_ids) <= set(known)

    def mark_variants(self, variant_ids) -> None:
        marks = self.folder / "variants.json"
        try:
            with self.claimed("marks"):
                try:
                    recorded = json.loads(marks.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    recorded = {}
                key = _key({"kind": "marks"})
                recorded = {key: sorted(set(recorded.get(key, [])) | set(variant_ids))}   # older keys go
                handle, temporary = tempfile.mkstemp(prefix=".variants.", suffix=".partial", dir=self.folder)
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(recorded, stream)
                os.replace(temporary, marks)
        except OSError:
            pass


def source_of(entry: Entry, key: str, trained: bool) -> TrainingSource:
    return {"source": "trained" if trained else "recalled", "run": entry["run"], "at": entry["at"], "key": key[:16]}

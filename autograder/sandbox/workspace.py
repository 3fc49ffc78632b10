"""A grading's files on the grader's disk, as its worker meets them: the staged copy of the
submission that a box binds (its ``.py`` files, links and folders, readable by the box's uid), and
the work directory the worker writes to, measured against ``Limits`` while it runs and trimmed back
when it goes past them.

In: the submission's package directory, the work directory with the grader's own entries in it,
``Limits``. Out: the staged package's path; why the work directory is over its limits (or None);
the removal of what the worker wrote beyond them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from autograder.sandbox.limits import Limits


def stage_submission(package_dir: Path, folder: Path | None = None) -> Path:
    """A copy of the submission's ``.py`` files (folders kept, links kept as links, nothing else),
    readable by the box's uid: the box binds this copy, so neither the submission's own
    permissions nor a link to a classmate's file decide what its worker reads. ``folder``: where
    the copy must be (a kept worker's box), else a new temporary folder."""
    parent = Path(tempfile.mkdtemp(prefix="mnist-submission-", dir=folder))
    os.chmod(parent, 0o755)
    target = parent / "mnist_tasks"

    def ignore(directory, names):
        keep = set()
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path) or os.path.isdir(path) or (name.endswith(".py") and os.path.isfile(path)):
                keep.add(name)
        return set(names) - keep

    if package_dir.is_dir():
        shutil.copytree(package_dir, target, symlinks=True, ignore=ignore)
    else:
        target.mkdir()
    for root, directories, files in os.walk(target):
        os.chmod(root, 0o755)
        for name in files:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), 0o644)
    return target


def workdir_overflow(workdir: Path, grader_files: set[str], limits: Limits) -> str | None:
    """Why the worker's files in ``workdir`` (all but the grader's inputs) are past their limits, or None.
    Counts allocated blocks, not sizes: a sparse file takes what it takes."""
    used = entries = 0
    for root, directories, files in os.walk(workdir):
        for name in files + directories:
            if root == str(workdir) and name in grader_files:
                continue
            entries += 1
            try:
                used += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
        if entries > limits.workdir_entries:
            return f"more than {limits.workdir_entries:,} files in its work directory"
    if used > limits.workdir_bytes:
        return f"wrote more than {limits.workdir_bytes >> 20:,} MB to its work directory"
    return None


def trim_workdir(workdir: Path, keep: set) -> None:
    """Remove what a worker wrote beyond its limits: everything but the grader's inputs and results."""
    for name in os.listdir(workdir):
        if name in keep:
            continue
        path = workdir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                path.unlink()
            except OSError:
                pass

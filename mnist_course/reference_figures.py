"""The reference's figures the feedback shows beside a student's (``autograder.feedback.pictures``), drawn
from ``solutions/`` exactly as the grader's worker draws a student's (``autograder.worker.describe``)
and written to ``autograder/feedback/reference_figures/``, which ships with the kit (students' installs hold
no solutions). ``tests/unit/test_reference_figures.py`` keeps them in sync.

    mnist-make-reference-figures            # after changing solutions/mnist_tasks/plots.py or a plot check
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from mnist_course.assignments import REFERENCE


def picture_probes() -> list[dict]:
    """Every probe of the plot checks whose figure the feedback may show."""
    from autograder.checks import plots

    probes = {}
    for check in plots.checks():
        for probe in check.probes:
            if probe.get("picture"):
                probes.setdefault(probe["id"], probe)
    return list(probes.values())


def draw() -> dict[str, tuple[np.ndarray, dict]]:
    """Probe id → (the reference figure's pixels, RGB, and the Figure record ``autograder.feedback.pictures`` makes)."""
    from autograder.feedback import pictures
    from autograder.worker import arguments, describe

    sys.path.insert(0, str(REFERENCE.parent))
    try:
        plots = importlib.import_module("mnist_tasks.plots")
    finally:
        sys.path.remove(str(REFERENCE.parent))
    assert Path(plots.__file__).resolve().parent == REFERENCE.resolve(), plots.__file__
    drawn = {}
    with tempfile.TemporaryDirectory(prefix="mnist-reference-figures-") as workdir:
        for probe in picture_probes():
            for name, array in probe.get("arrays", {}).items():
                np.save(Path(workdir) / name, array, allow_pickle=False)
            args = [arguments.load_argument(spec, workdir) for spec in probe.get("args", [])]
            kwargs = {key: arguments.load_argument(spec, workdir) for key, spec in probe.get("kwargs", {}).items()}
            described = describe.figure(getattr(plots, probe["task"])(*args, **kwargs),
                                        (workdir, f"{probe['id']}.picture.npy"))
            pixels = np.load(Path(workdir) / described["picture"], allow_pickle=False)[..., :3]
            drawn[probe["id"]] = (pixels, pictures.image(np.ascontiguousarray(pixels), len(described["axes"])))
    return drawn


def write(target: Path | None = None) -> list[Path]:
    from autograder.feedback import pictures

    target = Path(target or pictures.REFERENCES)
    target.mkdir(parents=True, exist_ok=True)
    for old in [*target.glob("*.png"), *target.glob("*.jpg")]:
        old.unlink()
    index, written = {}, []
    for probe, (_, figure) in sorted(draw().items()):
        name = f"{probe}.{'jpg' if figure['mime'] == 'image/jpeg' else 'png'}"
        (target / name).write_bytes(base64.b64decode(figure["data"]))
        index[probe] = {"file": name, "mime": figure["mime"], "width": figure["width"], "height": figure["height"],
                        "panels": figure["panels"]}
        written.append(target / name)
    (target / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, default=None, help="folder to write (default: the kit's own)")
    options = parser.parse_args(argv)
    from mnist_kit.runtime import import_tensorflow_quietly

    import_tensorflow_quietly()
    for path in write(options.target):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The reference's figures the feedback shows (autograder/feedback/reference_figures/) are those solutions/
draws today, drawn as the grader's worker draws a student's: `mnist-make-reference-figures` after
changing solutions' plots or a plot check's inputs."""

from __future__ import annotations

import base64
import io
import json

import numpy as np

from autograder.feedback import pictures
from mnist_course import reference_figures


def test_the_committed_reference_figures_are_what_solutions_draws():
    from PIL import Image

    drawn = reference_figures.draw()
    index = json.loads((pictures.REFERENCES / "index.json").read_text(encoding="utf-8"))
    assert set(index) == set(drawn), "run `mnist-make-reference-figures`"
    for probe, (pixels, figure) in drawn.items():
        committed = pictures.reference(probe)
        assert (committed["width"], committed["height"], committed["panels"]) == \
            (figure["width"], figure["height"], figure["panels"]), f"{probe}: run `mnist-make-reference-figures`"
        # Both encoded alike (a JPEG's loss is the same loss): the pixels agree, but for a codec's rounding.
        shown, fresh = (np.asarray(Image.open(io.BytesIO(base64.b64decode(f["data"]))).convert("RGB"), dtype=np.int16)
                        for f in (committed, figure))
        assert np.abs(shown - fresh).max() <= 8 and np.abs(shown - fresh).mean() < 0.5, \
            f"{probe}: run `mnist-make-reference-figures`"
        assert np.abs(fresh - pixels).mean() < 6   # the encoding keeps the drawing

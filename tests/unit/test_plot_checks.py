"""autograder.checks.plots: an image counts as gray when its colormap's sampled colors are gray levels.

The samples here are what the worker reports (autograder.worker.describe): the colormap's RGBA bytes
at 17 points from 0 to 1, taken through matplotlib's Colormap class.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import LinearSegmentedColormap, ListedColormap

from autograder.checks.plots import _not_gray
from mnist_kit.i18n import Text

PANEL = Text("0 番目のパネル", "panel 0")
# The gray colormaps matplotlib ships, each also reversed: the docstrings ask for no more than gray levels.
GRAYS = {"gray", "grey", "Greys", "Grays", "binary", "gist_gray", "gist_grey", "gist_yarg", "gist_yerg"}


def _image(cmap) -> dict:
    colors = matplotlib.colors.Colormap.__call__(cmap, np.linspace(0.0, 1.0, 17), bytes=True)
    return {"shape": [28, 28], "cmap": cmap.name, "cmap_colors": np.asarray(colors, dtype=int).tolist()}


def test_exactly_the_gray_colormaps_matplotlib_ships_are_taken_for_gray():
    taken = {name for name in matplotlib.colormaps if _not_gray(_image(matplotlib.colormaps[name]), PANEL) is None}
    assert taken == GRAYS | {f"{name}_r" for name in GRAYS}


@pytest.mark.parametrize("cmap", [
    ListedColormap([(level, level, level) for level in np.linspace(0, 1, 256)], name="hand-made"),
    ListedColormap(["black", "white"], name="two levels"),
    LinearSegmentedColormap.from_list("black to white", ["black", "white"]),
], ids=lambda cmap: cmap.name)
def test_a_colormap_of_ones_own_in_gray_levels_is_gray(cmap):
    assert _not_gray(_image(cmap), PANEL) is None


@pytest.mark.parametrize("name", ["viridis", "bone", "coolwarm", "jet"])
def test_a_colored_colormap_is_named_with_the_advice(name):
    verdict = _not_gray(_image(matplotlib.colormaps[name]), PANEL)
    assert verdict.fraction == 0.0
    assert verdict.message.en.startswith(f"panel 0 is drawn with the colormap '{name}', not in gray levels. "
                                         'Draw it with a gray colormap such as cmap="gray"')
    assert f"'{name}'" in verdict.message.ja and 'cmap="gray"' in verdict.message.ja


def test_one_flat_gray_draws_no_image():
    verdict = _not_gray(_image(ListedColormap(["gray"], name="one gray")), PANEL)
    assert verdict is not None and "not in gray levels" in verdict.message.en


def test_a_colormap_the_worker_could_not_sample_is_not_taken_for_gray():
    # The worker samples matplotlib's own classes only: a subclass's methods could draw other colors.
    verdict = _not_gray({"shape": [28, 28], "cmap": "mine", "cmap_colors": None}, PANEL)
    assert verdict is not None and "not of matplotlib's colormap classes" in verdict.message.en

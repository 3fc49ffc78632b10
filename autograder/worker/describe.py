"""Describing what a student function returned, as plain JSON data (``autograder.protocol.Outcome``).

Describers read built-in classes only and call their methods through the class, never through
the student's object, whose methods could lie.
"""

from __future__ import annotations

import os
import types

import keras
import matplotlib
import matplotlib.artist
import matplotlib.axes
import matplotlib.colors as mcolors
import matplotlib.gridspec
import matplotlib.image
import matplotlib.legend
import matplotlib.lines
import matplotlib.patches
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
from keras.src.models.functional import Functional
from matplotlib.figure import Figure

from autograder.worker.reading import MAX_TEXT, builtin_name, plain, text, type_name

MAX_POINTS = 10_000       # longest line series described; the checks plot a handful of points
MAX_AXES = 500            # plot_predictions draws 50
# The pictures of figures for the feedback (autograder.feedback.pictures): small enough to send and show,
# large enough to read a title; the longest side at most PICTURE_SIDE pixels, at most PICTURE_DPI.
PICTURE_SIDE = 640
PICTURE_DPI = 64
# A figure of more panels is not drawn: the checks ask for at most 50, and drawing runs inside the
# probe's time limit (a constrained layout of 50 panels takes half a second on the CI machine).
MAX_PICTURE_AXES = 100
ALL_PANELS_UP_TO = 20     # more panels than this: only the rows of those at fault are drawn
MAX_RESULT_BYTES = 64 << 20   # largest array reported; the largest expected answer is ~200 KB
# Exactly these classes are models: a user subclass (or any object claiming to be a Model) could
# report whatever architecture it likes through overridden methods.
MODEL_CLASSES = (keras.Sequential, keras.Model, Functional)
# Matplotlib's own colormap classes: an image is drawn through their Colormap.__call__, which the
# describer calls too, so the colors it reports are the ones drawn. A colormap of any other class
# (a subclass with methods of its own) is reported unsampled, and the grader does not take it for gray.
COLORMAP_CLASSES = (mcolors.LinearSegmentedColormap, mcolors.ListedColormap)
COLORMAP_SAMPLES = 17     # colors at 0, 1/16, ..., 1 of the colormap: its ends and the levels between
# Labels and scores the compiled metrics are measured on, three of the four rows right: what the
# metrics report under which names is what the student's History will hold (autograder.checks.compiling).
METRIC_LABELS = np.array([1, 2, 3, 4])
METRIC_SCORES = np.full((4, 10), 0.01, np.float32)
METRIC_SCORES[np.arange(4), [1, 2, 0, 4]] = 0.91
EARLY_STOPPING_SETTINGS = ("monitor", "min_delta", "patience", "mode", "baseline", "restore_best_weights",
                           "start_from_epoch")


def array(value, probe, workdir, arrays_in):
    if not issubclass(type(value), np.ndarray):
        return {"type": type_name(value)}
    # A plain ndarray copy of the data: a subclass (with its own __eq__, dtype and friends) stays here.
    plain = np.array(value, subok=False)
    if plain.dtype.hasobject:
        return {"type": "numpy.ndarray", "dtype": str(plain.dtype), "object_dtype": True}
    if plain.nbytes > MAX_RESULT_BYTES:
        return {"status": "too_large", "bytes": int(plain.nbytes), "shape": [int(n) for n in plain.shape]}
    name = f"{probe['id']}.result.npy"
    np.save(os.path.join(workdir, name), plain, allow_pickle=False)
    changed = [key for key, (before, after) in arrays_in.items()
               if not np.array_equal(before, np.ndarray.view(after, np.ndarray))]
    return {"type": "numpy.ndarray", "npy": name, "inputs_changed": changed}


def loss(loss):
    if type(loss) is str:  # a str subclass could compare equal to anything
        return {"kind": "string", "name": loss[:MAX_TEXT]}
    cls = type(loss)
    if issubclass(cls, keras.losses.Loss):
        name = builtin_name(loss, keras.losses)
        if name != type.__getattribute__(cls, "__name__"):
            return {"kind": "instance", "class": name, "from_logits": None}
        # The class's get_config, not the instance's: an instance attribute could stand in for it.
        config = cls.get_config(loss)
        return {"kind": "instance", "class": name, "from_logits": plain(config.get("from_logits")),
                "changes": _default_changes(cls, config, ("name", "from_logits"))}
    if isinstance(loss, types.FunctionType):
        name = text(loss.__name__)
        builtin = getattr(keras.losses, name, None) is loss
        return {"kind": "function", "name": name if builtin else f"{text(loss.__module__)}.{name}"}
    if callable(loss):
        return {"kind": "function", "name": type_name(loss)}
    return {"kind": "other", "type": type_name(loss)}


def model(model):
    if type(model) not in MODEL_CLASSES:
        return {"type": type_name(model)}
    # Only the architecture leaves the worker: weights (even ones trained inside the builder)
    # are discarded, since the grader rebuilds and trains the model itself.
    return {"type": "keras.Model", "json": type(model).to_json(model), "compiled": bool(model.compiled)}


def compiled(model, returned, one_hot_labels=False, given_optimizer=None):
    """compile_model's work on ``model``. ``given_optimizer``: the optimizer argument, when an object."""
    optimizer = getattr(model, "optimizer", None)
    metrics, metrics_error = _metric_results(model, one_hot_labels) if getattr(model, "compiled", False) else ({}, None)
    return {
        "status": "ok",
        "returned_same": returned is model,
        "compiled": bool(getattr(model, "compiled", False)),
        "loss": loss(getattr(model, "loss", None)),
        "optimizer": builtin_name(optimizer, keras.optimizers) if optimizer is not None else None,
        "learning_rate": _learning_rate(optimizer),
        "optimizer_changes": _optimizer_changes(optimizer, given_optimizer),
        "metric_results": metrics,
        "metrics_error": metrics_error,
    }


def setting_changes(config: dict, reference: dict, ignore=()) -> dict:
    """The settings of ``config`` that differ from ``reference``'s, as plain values."""
    return {text(key): plain(value) for key, value in config.items()
            if key not in ignore and (key not in reference or reference[key] != value)}


def _default_changes(cls, config: dict, ignore) -> dict:
    """``setting_changes`` against a fresh instance of ``cls``; a class that needs arguments has no defaults."""
    try:
        return setting_changes(config, cls.get_config(cls()), ignore)
    except BaseException:
        return {}


def _optimizer_changes(optimizer, given):
    """How the compiled optimizer's settings differ from Keras's defaults for its class, or from the
    optimizer object the grader passed; the learning rate is reported on its own."""
    cls = type(optimizer)
    if optimizer is None or builtin_name(optimizer, keras.optimizers) != type.__getattribute__(cls, "__name__"):
        return {}
    try:
        reference = cls.get_config(given) if type(given) is cls else cls.get_config(cls())
        return setting_changes(cls.get_config(optimizer), reference, ("name", "learning_rate"))
    except BaseException as error:
        return {"get_config": text(error)}


def _metric_results(model, one_hot_labels):
    """(what the compiled metrics report, by name, on METRIC_SCORES; None) or (None, the error)."""
    labels = np.eye(10, dtype=np.float32)[METRIC_LABELS] if one_hot_labels else METRIC_LABELS
    try:
        # Keras's own Trainer.compute_metrics, through the class: the names it returns are the History's keys.
        results = keras.Model.compute_metrics(model, None, labels, METRIC_SCORES)
        return {text(name): float(np.asarray(value)) for name, value in results.items() if name != "loss"}, None
    except BaseException as error:
        # The class's name alone: TensorFlow's messages are a page of op names, not a student's business.
        return None, text(type.__getattribute__(type(error), "__name__"))


def _learning_rate(optimizer):
    try:
        return float(np.asarray(optimizer.learning_rate))
    except BaseException:
        return None


def callback(callback):
    if type(callback) is not keras.callbacks.EarlyStopping:
        return {"type": type_name(callback), "is_early_stopping": False}
    # The instance's own attributes, as EarlyStopping.__init__ stored them; the parent rebuilds an
    # EarlyStopping from them and tries it in training itself.
    state = vars(callback)
    return {"type": "keras.callbacks.EarlyStopping", "is_early_stopping": True,
            "settings": {key: plain(state.get(key)) for key in EARLY_STOPPING_SETTINGS}}


def _floats(values) -> list:
    data = np.asarray(values, dtype=float).ravel()
    return data.tolist() if data.size <= MAX_POINTS else []


def _colormap_colors(cmap):
    """[R, G, B, A] (0..255) at COLORMAP_SAMPLES points along the colormap, or None for a class not matplotlib's."""
    if type(cmap) not in COLORMAP_CLASSES:
        return None
    colors = mcolors.Colormap.__call__(cmap, np.linspace(0.0, 1.0, COLORMAP_SAMPLES), bytes=True)
    return np.asarray(colors, dtype=int).tolist()


def _describe_axes(axes):
    Axes = matplotlib.axes.Axes
    title = Axes.get_title(axes) or Axes.get_title(axes, loc="left") or Axes.get_title(axes, loc="right")
    patch = matplotlib.text.Text.get_bbox_patch(axes.title)
    legend = Axes.get_legend(axes)
    spec = Axes.get_subplotspec(axes)
    grid = None
    if spec is not None:
        geometry = matplotlib.gridspec.GridSpecBase.get_geometry(matplotlib.gridspec.SubplotSpec.get_gridspec(spec))
        grid = [int(n) for n in geometry]
    images = []
    for image in Axes.get_images(axes)[:MAX_AXES]:
        data = np.asarray(matplotlib.image.AxesImage.get_array(image))
        cmap = matplotlib.image.AxesImage.get_cmap(image)
        images.append({"shape": list(data.shape), "cmap": text(cmap.name), "cmap_colors": _colormap_colors(cmap),
                       "data": np.asarray(data, dtype=float).round(6).tolist() if data.size <= 28 * 28 else None})
    Line2D = matplotlib.lines.Line2D
    return {
        "title": text(title),
        "title_background": mcolors.to_hex(matplotlib.patches.Patch.get_facecolor(patch)) if patch is not None else None,
        "xlabel": text(Axes.get_xlabel(axes)), "ylabel": text(Axes.get_ylabel(axes)),
        "lines": [{"label": text(Line2D.get_label(line)), "x": _floats(Line2D.get_xdata(line)),
                   "y": _floats(Line2D.get_ydata(line))} for line in Axes.get_lines(axes)[:MAX_AXES]],
        "legend": [text(matplotlib.text.Text.get_text(label)) for label in matplotlib.legend.Legend.get_texts(legend)]
        if legend is not None else None,
        "images": images,
        "axis_on": bool(axes.axison),
        "grid": grid,
        # Where the panel was drawn, in figure fractions (for the feedback's frame around a panel at fault).
        "bounds": [round(float(b), 4) for b in Axes.get_position(axes).bounds],
    }


def figure(figure, picture_to: tuple[str, str] | None = None, faults=None):
    """The figure's panels described; with ``picture_to`` (work directory, file name), also drawn
    (``picture``) when ``faults(description)`` names what is at fault (``hints.faults``: the feedback
    shows only figures a check finds fault with; None without ``faults``: always). Of a figure of
    more than ``ALL_PANELS_UP_TO`` panels only the rows of the panels at fault are drawn
    (``picture_panels``). A drawn figure is described again after its drawing, so that each panel's
    bounds are where its layout engine put it."""
    if not issubclass(type(figure), Figure):
        return {"type": type_name(figure)}
    axes = Figure.get_axes(figure)[:MAX_AXES]
    described = {"type": "matplotlib.figure.Figure", "axes": [_describe_axes(one) for one in axes]}
    marked = faults(described) if faults is not None else []
    if picture_to is not None and marked is not None and len(axes) <= MAX_PICTURE_AXES:
        shown = _rows_of(described["axes"], marked) if marked and len(axes) > ALL_PANELS_UP_TO else None
        for index, one in enumerate(axes):
            if shown is not None and index not in shown:
                matplotlib.artist.Artist.set_visible(one, False)   # not laid out, not drawn
        drawn = picture(figure, *picture_to, cropped=shown is not None)
        if drawn:
            described = {**described, "picture": drawn,
                         "axes": [_describe_axes(one) for one in Figure.get_axes(figure)[:MAX_AXES]],
                         **({"picture_panels": sorted(shown)} if shown is not None else {})}
    close_pyplot_figures()
    return described


def _rows_of(axes_list: list[dict], marked: list[int]) -> set[int]:
    """The panels level with any of ``marked`` (their rows), by where the figure placed them."""
    def span(index):
        x0, y0, width, height = axes_list[index]["bounds"]
        return y0, y0 + height
    spans = [span(index) for index in marked if 0 <= index < len(axes_list)]
    return {index for index in range(len(axes_list))
            if any(span(index)[0] < top and bottom < span(index)[1] for bottom, top in spans)}


def picture(figure, workdir: str, name: str, cropped: bool = False) -> str | None:
    """Draw ``figure`` with matplotlib's Agg renderer, as a notebook shows it, and save its RGBA
    pixels as ``name`` (.npy) in ``workdir``; None when it cannot be drawn (the checks still read it).
    ``cropped``: only some rows are drawn, and the grader keeps those: its height does not count."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    try:
        width, height = (float(n) for n in Figure.get_size_inches(figure))
        if cropped:   # the whole height is drawn, the grader's limit (autograder.feedback.pictures.MAX_SIDE) holds it
            dpi = min(PICTURE_DPI, PICTURE_SIDE / max(width, 0.1), 1000 / max(height, 0.1))
        else:
            dpi = min(PICTURE_DPI, PICTURE_SIDE / max(width, height, 0.1))
        Figure.set_dpi(figure, dpi)
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        pixels = np.array(canvas.buffer_rgba(), dtype=np.uint8)
    except Exception:
        return None
    if pixels.ndim != 3 or max(pixels.shape[:2]) > 2 * PICTURE_SIDE:
        return None
    np.save(os.path.join(workdir, name), pixels, allow_pickle=False)
    return name


def close_pyplot_figures():
    """Free figures a plot made through pyplot, so later probes do not accumulate them."""
    plt.close("all")

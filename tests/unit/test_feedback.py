"""The verdicts as people look at them: each mistake once per task (autograder.feedback.render.tasks), the
HTML beside the text (autograder.feedback.page), the student's figure framed where a check failed
(autograder.feedback.pictures). What a browser makes of the HTML: tests/test_feedback_page.py."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from autograder.feedback import page as feedback
from autograder.feedback import pictures
from autograder.feedback import render
from autograder.training.architecture import layer_table
from autograder.core import Evidence
from autograder.exhibits import figure_exhibit

BY_256 = "255 ではなく 256 で割っています。255 で割ってください。"


def failed(name, message, subject="normalize", diagnosis=None, exhibit=None):
    return render.Verdict(name, 0.0, 1.0, message, subject=subject, diagnosis=diagnosis, exhibit=exhibit)


def passed(name, subject="normalize", exhibit=None, message="OK"):
    return render.Verdict(name, 1.0, 1.0, message, subject=subject, exhibit=exhibit)


def test_a_diagnosis_several_checks_share_is_said_once_above_the_tasks_checks():
    verdicts = [failed("normalize: a", "values differ at (0, 0).", diagnosis=BY_256),
                failed("normalize: b", "values differ at (0, 1).", diagnosis=BY_256),
                passed("flatten: a", subject="flatten")]
    lines = render.block(verdicts, "ja")
    assert sum(BY_256 in line for line in lines) == 1
    assert lines[0].startswith("原因: ") and lines[1].startswith("✗ 0/1  normalize: a")
    assert "values differ at (0, 0)." in "\n".join(lines) and "values differ at (0, 1)." in "\n".join(lines)


def test_a_reason_two_checks_share_word_for_word_moves_above_them_and_each_points_to_it():
    stub = "まだ実装されていません (NotImplementedError)。"
    (task,) = render.tasks([failed("one_hot: a", stub, "one_hot"), failed("one_hot: b", stub, "one_hot")], "ja")
    assert task.diagnoses == [stub]
    assert [v.message for v in task.verdicts] == [render.say("as_above", "ja")] * 2
    # A reason of one check alone stays with it.
    (task,) = render.tasks([failed("one_hot: a", stub, "one_hot"), failed("one_hot: b", "dtype float64.", "one_hot")],
                           "en")
    assert task.diagnoses == [] and [v.message for v in task.verdicts] == [stub, "dtype float64."]


def test_tasks_keep_their_first_order_and_each_tasks_checks_together():
    verdicts = [passed("normalize: a"), passed("flatten: a", "flatten"), passed("normalize: hidden")]
    assert [(t.subject, [v.name for v in t.verdicts]) for t in render.tasks(verdicts, "en")] == \
        [("normalize", ["normalize: a", "normalize: hidden"]), ("flatten", ["flatten: a"])]


class Page(HTMLParser):
    """Every image's alt text, every table's rows, all text."""

    def __init__(self, html):
        super().__init__()
        self.images, self.rows, self.text, self.tags = [], [], [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs)
        if tag == "tr":
            self.rows.append(attrs.get("class"))

    def handle_data(self, data):
        self.text.append(data)


def test_the_html_says_the_same_as_the_text_and_escapes_what_the_student_wrote():
    hostile = "legend: ['<script>alert(1)</script>']"
    html = feedback.fragment([failed("plot_history: labels", hostile, "plot_history")], {}, "en", ["total 0 / 1"])
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    page = Page(html)
    assert hostile in "".join(page.text) and "total 0 / 1" in "".join(page.text)
    assert "script" not in page.tags


def test_a_layer_table_marks_the_differing_rows_in_html():
    expected = [{"layer": "Flatten"}, {"layer": "Dense", "units": 64, "activation": "sigmoid"}]
    actual = [{"layer": "Flatten"}, {"layer": "Dense", "units": 64, "activation": "relu"}]
    message = "build_mlp(...) differs in 1 layer(s):\n   expected | actual\n ✗ Dense(...) | Dense(...)"
    html = feedback.fragment([failed("variant A: layers", message, "variant A", exhibit=layer_table(expected, actual))],
                             {}, "en")
    page = Page(html)
    assert page.rows == [None, "same", "differs"]   # the header, then each layer
    assert "Dense(units=64, activation=sigmoid)" in page.text and "Dense(units=64, activation=relu)" in page.text
    assert "expected | actual" not in html   # the text table gives way to the HTML one


def test_an_accuracy_is_drawn_against_its_threshold_and_handout_with_alt_text():
    chart = {"kind": "accuracy", "accuracy": 0.7712, "threshold": 0.794, "handout": 0.8982}
    verdict = failed("variant A: accuracy", "test accuracy 0.7712 — below the threshold.", "variant A", exhibit=chart)
    (image,) = Page(feedback.fragment([verdict], {}, "en")).images
    assert image["alt"] == "Test accuracy 0.7712 against the threshold 0.794, the handout's 0.898. Below the threshold."
    svg = base64.b64decode(image["src"].split(",", 1)[1]).decode()
    assert "0.794" in svg and "0.898" in svg and "#d62728" in svg   # the bar in red: below


def picture(height=100, width=200) -> np.ndarray:
    return np.full((height, width, 4), 255, np.uint8)


def test_the_panel_a_check_names_is_framed_in_red_and_no_other(tmp_path):
    axes = [{"bounds": [0.05, 0.1, 0.4, 0.8]}, {"bounds": [0.55, 0.1, 0.4, 0.8]}]
    framed = pictures._framed(picture(), axes, {1})
    red = np.all(framed == pictures.FRAME, axis=2)
    assert red[:, 100:].any() and not red[:, :100].any()
    whole = np.all(pictures._framed(picture(), axes, {-1}) == pictures.FRAME, axis=2)
    assert whole[0, :].all() and whole[:, 0].all()


def evidence_with(tmp_path, pixels, outcome=None) -> Evidence:
    np.save(tmp_path / "p.picture.npy", pixels, allow_pickle=False)
    result = {"status": "ok", "picture": "p.picture.npy", "axes": [{"bounds": [0.1, 0.1, 0.8, 0.8]}], **(outcome or {})}
    return Evidence({"p": result}, tmp_path)


@pytest.mark.parametrize("pixels", [
    np.zeros((10, 10, 4), np.float32),             # not bytes
    np.zeros((10, 10), np.uint8),                  # not RGBA
    np.zeros((pictures.MAX_SIDE + 1, 10, 4), np.uint8),
], ids=["float", "gray", "too tall"])
def test_pixels_that_are_not_a_small_rgba_picture_show_nothing(tmp_path, pixels):
    assert pictures.encode(evidence_with(tmp_path, pixels), [("t", figure_exhibit("p", [0]), False)]) == {}


def test_a_failed_checks_figure_is_encoded_with_its_fault_framed(tmp_path):
    from PIL import Image

    figures = pictures.encode(evidence_with(tmp_path, picture()), [("t", figure_exhibit("p", [0]), False),
                                                                   ("t", figure_exhibit("p", None), True)])
    shown = figures["p"]
    assert (shown["width"], shown["height"], shown["panels"], shown["mime"]) == (200, 100, 1, "image/png")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(shown["data"]))).convert("RGB"))
    assert np.all(pixels == pictures.FRAME, axis=2).any()


def test_a_passed_tasks_first_figure_is_shown_unframed_and_its_others_not(tmp_path):
    np.save(tmp_path / "q.picture.npy", picture(), allow_pickle=False)
    evidence = evidence_with(tmp_path, picture())
    evidence.results["q"] = dict(evidence.results["p"], picture="q.picture.npy")
    figures = pictures.encode(evidence, [("t", figure_exhibit("p", None), True), ("t", figure_exhibit("q", None), True)])
    assert list(figures) == ["p"]


def test_each_figure_has_alt_text_that_says_what_is_wrong():
    figure = pictures.image(picture()[..., :3], 2)
    verdicts = [failed("plot_history: labels", "panel 1 lacks a legend naming train and validation.", "plot_history",
                       exhibit=figure_exhibit("plot_history.validation", [0]))]
    images = Page(feedback.fragment(verdicts, {"plot_history.validation": figure}, "en")).images
    assert len(images) == 2   # the student's and the reference's
    yours, reference = (image["alt"] for image in images)
    assert yours.startswith("The figure your plot_history drew") and "2 panel(s)" in yours
    assert "Framed in red: panel(s) 1. panel 1 lacks a legend" in yours
    assert reference.startswith("The figure the reference plot_history drew")


def test_a_figure_never_drawn_says_so_beside_the_reference():
    verdicts = [failed("plot_history: panels", "raised KeyError: 'accuracy'", "plot_history",
                       exhibit=figure_exhibit("plot_history.validation", []))]
    page = Page(feedback.fragment(verdicts, {}, "ja"))
    assert len(page.images) == 1 and "図は描かれませんでした" in "".join(page.text)


def test_every_reference_figure_the_checks_can_show_ships_with_the_kit():
    from autograder.checks import plots

    probes = {p["id"] for check in plots.checks() for p in check.probes if p.get("picture")}
    assert probes and all(pictures.reference(probe) is not None for probe in probes)
    assert not [name for name in re.findall(r'"file": "([^"]+)"', (pictures.REFERENCES / "index.json").read_text())
                if name.split(".png")[0].split(".jpg")[0] not in probes]

"""nbgrader's feedback page as a student opens it (headless Chromium), for a submission with three
mistakes: a plot (plot_history draws no legend), a layer (build_mlp ignores its activation) and
normalize dividing by 256. Each grade cell shows the student's figure beside the reference's with
alt text, the layer table, each mistake once; nothing is clipped at 1280 px, in JupyterLab's pane
(600 px) or on a phone (375 px). Screenshots for a person to look at: test-artifacts/feedback/.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mnist_course import assignments, course
from tests.conftest import REPO
from tests.roundtrip import wrong_package
from tests.submissions import course_with_secret

ARTIFACTS = REPO / "test-artifacts" / "feedback"
MISTAKES = [
    ("preprocessing.py", "/ np.float32(255.0)", "/ np.float32(256.0)"),                       # normalize: 256
    ("models.py", "model.add(keras.layers.Dense(units, activation=activation))",
     'model.add(keras.layers.Dense(units, activation="relu"))'),                                # layers: relu always
    ("plots.py", 'axes.legend(loc="best")', "pass"),                                           # plot_history: no legend
]
WIDTHS = (1280, 600, 375)   # a wide screen, JupyterLab's HTML viewer beside the file browser, a phone
MIN_WINDOW = 500            # headless Chromium's narrowest window

# Every output box (each grade cell's HTML, pre, table, image) and how it fits; each image's alt; each
# grade cell's sentences.
MEASURE = r"""
const outputs = [...document.querySelectorAll(".jp-OutputArea-output, .output_area, .output")];
const boxes = [];
for (const output of outputs) {
  for (const element of [output, ...output.querySelectorAll("pre, table, img, .mnist-feedback, figure")]) {
    const box = element.getBoundingClientRect();
    boxes.push({tag: element.tagName.toLowerCase(), cls: element.className || "",
                scrollWidth: element.scrollWidth, clientWidth: element.clientWidth,
                right: Math.round(box.right), viewport: document.documentElement.clientWidth});
  }
}
const images = [...document.querySelectorAll(".mnist-feedback img")].map((image) => ({
  alt: image.getAttribute("alt") || "", loaded: image.complete && image.naturalWidth > 0,
  width: Math.round(image.getBoundingClientRect().width)}));
const cells = [...document.querySelectorAll(".mnist-feedback")].map((feedback) => ({
  text: feedback.innerText,
  diagnoses: [...feedback.querySelectorAll(".diagnosis")].map((d) => d.innerText),
  differing: feedback.querySelectorAll("table.layers tr.differs").length,
  figures: feedback.querySelectorAll("figure img").length}));
return {boxes, images, cells, viewport: window.innerWidth,
        pageScroll: document.documentElement.scrollWidth - document.documentElement.clientWidth};
"""


def sentences(text: str) -> list[str]:
    """The text's sentences: ends at 。 or at a full stop before a space or the line's end."""
    parts = re.split(r"(?<=。)|(?<=\.)\s+|\n", text)
    return [part.strip() for part in parts if len(part.strip()) > 12]


@pytest.fixture(scope="module")
def feedback_pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback")
    package = wrong_package(root / "three-mistakes", mistakes=MISTAKES)
    # The tests' course secret, not a new one: the hidden checks' inputs, and so their messages
    # (checked below for sentences said twice), are the same every run.
    course_with_secret(root / "course")
    copy = course.CourseCopy(root / "course")
    pages = {}
    for assignment in ("ps1", "ps3"):
        copy.release(assignment)
        copy.submit("mistaken", assignment, package=package)
        copy.autograde(assignment)
        copy.feedback(assignment)
        pages[assignment] = copy.root / "feedback" / "mistaken" / assignment / \
            f"{assignments.BY_ID[assignment].notebook}.html"
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return pages


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_in_the_feedback_is_clipped_or_scrolls_sideways(feedback_pages, width):
    from tests.browser import measure, screenshot

    for assignment, page in feedback_pages.items():
        if width < MIN_WINDOW:   # headless Chromium's window is never narrower: the page's body is made so
            narrow = page.with_name(f"{page.stem}.{width}px.html")
            narrow.write_text(page.read_text(encoding="utf-8").replace(
                "</head>", f"<style>body {{ width: {width}px !important; max-width: {width}px !important; "
                           "margin: 0 !important; overflow-x: hidden; }</style></head>", 1), encoding="utf-8")
            page = narrow
        found = measure(page, MEASURE, width=max(width, MIN_WINDOW), height=900)
        screenshot(page, ARTIFACTS / f"{assignment}-{width}px.png", width=max(width, MIN_WINDOW), height=14000)
        assert found["cells"], "no grade cell shows the grader's HTML"
        assert found["viewport"] == max(width, MIN_WINDOW)
        overflowing = [box for box in found["boxes"] if box["scrollWidth"] > box["clientWidth"] + 1
                       or box["right"] > min(width, box["viewport"]) + 1]
        assert not overflowing, f"{assignment} at {width}px: {overflowing[:5]}"
        if width >= 600:   # narrower, the handout's own markdown tables (not the grader's) are wider than a phone
            assert found["pageScroll"] <= 0, f"{assignment} at {width}px: the page scrolls sideways"


@pytest.mark.slow
@pytest.mark.browser
def test_the_figures_tables_and_diagnoses_are_there_and_said_once(feedback_pages):
    from tests.browser import measure

    ps1 = measure(feedback_pages["ps1"], MEASURE, width=1280)
    ps3 = measure(feedback_pages["ps3"], MEASURE, width=1280)
    for found in (ps1, ps3):
        assert all(image["loaded"] and len(image["alt"]) > 30 for image in found["images"]), found["images"]
        for cell in found["cells"]:   # no sentence twice in one grade cell
            said = sentences(cell["text"])
            repeated = {sentence for sentence in said if said.count(sentence) > 1}
            assert not repeated, repeated
    assert ps3["images"] and not ps1["images"]   # ps1's tasks draw nothing and train nothing
    # normalize: the mistake named once, above its checks.
    (normalize,) = [cell for cell in ps1["cells"] if "normalize" in cell["text"]]
    assert normalize["diagnoses"] == ["原因: 255 ではなく 256 で割っています。最大の画素値 255 が 1.0 になるよう "
                                      "255 で割ってください。"]
    # The layer mistake: handout 002's model (sigmoid) as a table, its hidden layer's row marked.
    (model,) = [cell for cell in ps3["cells"] if "variant" in cell["text"] and "層" in cell["text"]]
    assert model["differing"] >= 1 and "activation=sigmoid" in model["text"] and "activation=relu" in model["text"]
    # The plot mistake: the student's figure beside the reference's, its alt saying what is framed.
    (history,) = [cell for cell in ps3["cells"] if "plot_history" in cell["text"] and cell["figures"]]
    assert history["figures"] == 2
    alts = [image["alt"] for image in ps3["images"] if "plot_history" in image["alt"]]
    assert any("赤枠: パネル 1" in alt and "凡例" in alt for alt in alts), alts
    assert any(alt.startswith("参考解の plot_history") for alt in alts), alts
    # The accuracy of the trained variant: a chart with its threshold.
    assert any(alt.startswith("テスト精度") and "基準" in alt for alt in ps3["images"] for alt in [alt["alt"]])

"""nbgrader's formgrader, opened as an instructor opens it: a real Jupyter server on the round trip's
course (tests/roundtrip.py), a submission's manual-grading page in headless Chromium.

An instructor who reviews an autograded notebook must see what the isolated grader saw: each grade
cell's verdicts (the stdout ``IsolatedGrades`` wrote) and its points, in the cell's output and in
formgrader's own score box (which formgrader's scripts fill from its REST API, from the gradebook).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from autograder.nbgrader.cells import CELL_RESULTS_MIME
from mnist_course import assignments
from tests.browser import LINES_IN_VIEW, stop
from tests.roundtrip import WRONG_EXPECTED

FORMGRADER = "nbgrader.server_extensions.formgrader"
STARTUP_TIMEOUT = 120  # seconds; the server starts in 2-3 s on an idle 2-core machine


def _wait_until_it_answers(server: subprocess.Popen, runtime: Path, token: str, log: Path) -> str:
    """The server's URL, once it answers an authenticated request; fails with its log if it never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    announced = runtime / f"jpserver-{server.pid}.json"   # written by the server once it listens
    while True:
        if server.poll() is not None:
            pytest.fail(f"the Jupyter server exited ({server.returncode}):\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"the Jupyter server did not answer within {STARTUP_TIMEOUT} s:\n{log.read_text()[-4000:]}")
        try:
            url = json.loads(announced.read_text())["url"]
            request = urllib.request.Request(f"{url}api/status", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 200:
                    return url
        except (OSError, ValueError, KeyError):  # URLError is an OSError
            pass   # not announced yet, half written, or not answering yet
        time.sleep(0.2)


@pytest.fixture(scope="module")
def formgrader(roundtrip, tmp_path_factory):
    """A Jupyter server with nbgrader's formgrader on the round trip's course: (its URL, its token).

    Started as an instructor starts it: from the course folder (its ``nbgrader_config.py``), in the
    course copy's environment (``CourseCopy.environment``: the venv's bin on PATH, Jupyter's dirs
    inside the copy), on 127.0.0.1 and a port the OS picks, with a token. nbgrader's installation
    enables the formgrader extension (``etc/jupyter/jupyter_server_config.d/nbgrader.json``); the
    command line enables it once more so that the test does not depend on it.
    """
    copy, _, _ = roundtrip
    environment = copy.environment()
    token = secrets.token_hex(24)
    log = tmp_path_factory.mktemp("formgrader") / "jupyter-server.log"
    with log.open("w", encoding="utf-8") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",   # CI runs as root
             "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
             f"--ServerApp.root_dir={copy.root}", f"--IdentityProvider.token={token}",
             f"--ServerApp.jpserver_extensions={FORMGRADER}=True"],
            cwd=copy.root, env=environment, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield _wait_until_it_answers(server, Path(environment["JUPYTER_RUNTIME_DIR"]), token, log), token
    finally:
        stop(server, grace=30)


# Run in formgrader's submission page once it has loaded: wait until formgrader's own scripts have
# fetched the grades (GET /formgrader/api/grades) and filled the score boxes, then read, for every
# score box (one per grade cell), what the page shows: the box, the points out of, the cell's
# verdicts (stdout) and result, whether each is displayed, and each verdict line's right edge
# against the right edge of what its box shows. Last, scroll the early_stopping cell into view,
# below the fixed navigation bar, for the screenshot.
READ_GRADE_CELLS = LINES_IN_VIEW + r"""
const deadline = Date.now() + 30000;
while (!(window.formgrader && formgrader.grades && formgrader.grades.loaded)) {
  if (Date.now() > deadline) return {error: "no grades loaded", text: document.body.innerText.slice(0, 2000)};
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const shown = (element) => element !== null && element.checkVisibility() && element.getBoundingClientRect().width > 0;
// Each text's right edge, but the style sheet's (drawn nowhere).
const linesOf = (box) => box ? preLines(box).filter((line) => line.right !== null && isFinite(line.right)) : [];
const cells = {};
for (const input of document.querySelectorAll("input.score")) {
  const cell = input.closest(".cell");
  const verdicts = cell.querySelector(".mnist-feedback");   // the grader's HTML (autograder.feedback.page)
  const result = cell.querySelector(".output_execute_result");
  cells[input.id] = {
    autoScore: input.placeholder, manualScore: input.value, scoreShown: shown(input),
    needsManualGrade: input.classList.contains("needs_manual_grade"),
    heading: input.closest(".panel-heading").innerText,
    verdicts: verdicts && verdicts.innerText, verdictsShown: shown(verdicts), lines: linesOf(verdicts),
    checks: verdicts ? [...verdicts.querySelectorAll("li")].map((li) => li.querySelector(".name").innerText) : [],
    points: result && result.innerText, pointsShown: shown(result),
  };
}
const target = document.getElementById("ps3_early_stopping");
if (target) {
  target.closest(".cell").scrollIntoView();
  window.scrollBy(0, -document.querySelector(".navbar-fixed-top").offsetHeight - 8);
}
return {path: location.pathname, student: document.querySelector(".name-shown").textContent.trim(), cells};
"""


def _normalized(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
@pytest.mark.browser
def test_formgrader_shows_each_grade_cells_verdicts_and_points(roundtrip, formgrader, tmp_path):
    from nbgrader.api import Gradebook

    from tests.browser import measure_url

    copy, _, _ = roundtrip
    assignment, student = "ps3", "wrong"
    notebook = assignments.BY_ID[assignment].notebook
    with Gradebook(f"sqlite:///{copy.root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(notebook, assignment, student)
        submission_id = submission.id
        grades = {grade.name: {"score": grade.score, "auto_score": grade.auto_score, "manual_score": grade.manual_score,
                               "max_score": grade.max_score, "needs_manual_grade": grade.needs_manual_grade}
                  for grade in submission.grades}
    # What IsolatedGrades wrote into the autograded notebook: each grade cell's verdicts and results.
    autograded = json.loads((copy.root / "autograded" / student / assignment / f"{notebook}.ipynb")
                            .read_text(encoding="utf-8"))
    written = {cell["metadata"]["nbgrader"]["grade_id"]: cell for cell in autograded["cells"]
               if cell["metadata"].get("nbgrader", {}).get("grade")}

    # nbgrader's handlers set the login cookie of a token in their own URL for that page's path only
    # (they strip the base URL's "/"), and the page's API calls would then be redirected to the login.
    # So, as an instructor who has logged in: the token goes to the login page, which sets the cookie
    # for the whole server and redirects to the submission.
    server, token = formgrader
    page = f"/formgrader/submissions/{submission_id}/"
    png = tmp_path / "formgrader.png"   # kept in pytest's tmp dir for a person to look at
    found = measure_url(f"{server}login?next={quote(page, safe='')}&token={token}", READ_GRADE_CELLS,
                        width=1024, height=900, png=png)
    assert "error" not in found, found
    assert found["path"] == page and found["student"] == student
    assert png.is_file()

    cells = found["cells"]
    assert set(cells) == set(grades) == set(written) == {k for k in WRONG_EXPECTED if k.startswith(assignment)}
    for grade_id, shown in cells.items():
        grade, cell = grades[grade_id], written[grade_id]
        assert shown["scoreShown"] and shown["verdictsShown"] and shown["pointsShown"], (grade_id, shown)
        # formgrader's score box: the autograded score (its placeholder), no manual score, out of the cell's points.
        assert float(shown["autoScore"]) == grade["auto_score"] == grade["score"], (grade_id, shown["autoScore"], grade)
        assert shown["manualScore"] == "" and grade["manual_score"] is None
        assert shown["needsManualGrade"] == grade["needs_manual_grade"], grade_id
        out_of = re.search(r"/\s*([\d.]+)", shown["heading"])
        assert out_of and float(out_of.group(1)) == grade["max_score"], (grade_id, shown["heading"])
        # The cell's result is the grader's points, the gradebook's score.
        assert float(shown["points"]) == grade["score"], (grade_id, shown["points"])
        # The cell's verdicts are the grader's, as its HTML shows them: one ✓ or ✗ line per check, then the total.
        verdicts = shown["verdicts"]
        tests = cell["outputs"][1]["data"][CELL_RESULTS_MIME]["tests"]
        assert shown["checks"] == [t["title"] for t in tests], grade_id
        assert "".join(cell["outputs"][0]["data"]["text/html"]).count("<li ") == len(tests), grade_id
        lines = verdicts.splitlines()
        assert [line[0] for line in lines if line[:1] in ("✓", "✗")] == \
            ["✓" if t["score"] == t["max_score"] else "✗" for t in tests], (grade_id, verdicts)
        assert f"この問題 {grade['score']:g} / {grade['max_score']:g} 点" in lines[-1], (grade_id, lines[-1])
        # The wrong student's mistakes cost points in their cells only.
        assert ("✗" in verdicts) == (WRONG_EXPECTED[grade_id] == "partial"), (grade_id, verdicts)
        # Every line is in view, not behind the right edge of a box that scrolls sideways: a failed
        # check's reason, and a passed check's long name (ps3_model's F16 layers) too.
        outside = [line["text"] for line in shown["lines"] if line["right"] > line["visibleRight"]]
        assert not outside, f"{grade_id}: past the right edge of its box: {outside}"

    # The mistakes tests/roundtrip.py made: early_stopping's patience + 1, plot_predictions' red background.
    early_stopping = cells["ps3_early_stopping"]["verdicts"]
    assert re.search(r"^✗ 0/1 +early_stopping: ", early_stopping, re.MULTILINE), early_stopping
    assert "設定が違います: patience=1 (≠ 0)" in early_stopping, early_stopping
    assert "設定が違います: patience=4 (≠ 3)" in early_stopping, early_stopping
    assert re.search(r"^✓ 1/1 +early_stopping: ", early_stopping, re.MULTILINE), early_stopping
    plot_predictions = cells["ps3_plot_predictions"]["verdicts"]
    assert re.search(r"^✗ 0/1 +plot_predictions: ", plot_predictions, re.MULTILINE), plot_predictions
    assert "誤りなのに赤背景がありません" in plot_predictions, plot_predictions

"""Pages opened as a person opens them: Debian's Chromium, headless, for the tests that look at HTML
the kit writes (nbgrader's feedback pages, reports).

    result = measure(page, SCRIPT)          # run SCRIPT in the loaded page, get its JSON back
    screenshot(page, png, width=1024)

No browser driver: the page is copied beside itself with a script appended that, once the page has
loaded, writes its findings as JSON into the DOM, and Chromium's ``--dump-dom`` prints that DOM.
``.ci/run`` installs ``chromium`` and ``fonts-noto-cjk`` (Japanese must render as Japanese, not as
boxes of another width). Without them a test fails on CI and is skipped elsewhere, saying why.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# Flags for a machine with no network and no display, as root in CI: no sandbox (root), no GPU,
# none of the background connections a closed network would refuse.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]
RESULT_ID = "mnist-tasks-measurement"


def chromium() -> str:
    """The browser's path; fails on CI, skips elsewhere, when it or a Japanese font is missing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    fonts = subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True).stdout if shutil.which("fc-list") else ""
    missing = [what for what, ok in (("chromium", path), ("a Japanese font (fonts-noto-cjk)", fonts.strip())) if not ok]
    if missing:
        message = f"{' and '.join(missing)} not installed (apt-get install chromium fonts-noto-cjk; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _run(arguments: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="mnist-chromium-") as profile:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments],
                              capture_output=True, text=True, timeout=timeout)


def measure(page: Path, script: str, width: int = 1024, height: int = 800) -> dict:
    """Load ``page`` at ``width`` × ``height`` CSS pixels and return what ``script`` returns.

    ``script`` is the body of a function run after the page (fonts included) has loaded; it
    returns a JSON-serialisable value.
    """
    probe = f"""
<script>
window.addEventListener("load", async () => {{
  await document.fonts.ready;
  const result = await (async () => {{ {script} }})();
  const out = document.createElement("pre");
  out.id = "{RESULT_ID}";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
}});
</script>
"""
    copy = page.with_name(f".{page.stem}.measured.html")
    text = page.read_text(encoding="utf-8")
    copy.write_text(text.replace("</body>", probe + "</body>") if "</body>" in text else text + probe,
                    encoding="utf-8")
    try:
        completed = _run([f"--window-size={width},{height}", "--virtual-time-budget=10000", "--dump-dom",
                          copy.as_uri()])
    finally:
        copy.unlink(missing_ok=True)
    found = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', completed.stdout, re.S)
    assert found, f"the page never reported (chromium exit {completed.returncode}): {completed.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, png: Path, width: int = 1024, height: int = 1400) -> Path:
    """A PNG of ``page`` as a ``width``-pixel-wide window shows it."""
    completed = _run([f"--window-size={width},{height}", "--virtual-time-budget=10000", f"--screenshot={png}",
                      page.as_uri()])
    assert png.is_file(), f"no screenshot (chromium exit {completed.returncode}): {completed.stderr[-2000:]}"
    return png

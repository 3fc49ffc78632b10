"""Pages opened as a person opens them: Debian's Chromium, headless, for the tests that look at HTML
the kit writes (nbgrader's feedback pages, reports).

    result = measure(page, SCRIPT)          # run SCRIPT in the loaded page, get its JSON back
    result, errors = measure(page, SCRIPT, capture_errors=True)   # and what went wrong in the page
    screenshot(page, png, width=1024)
    result = measure_url(url, SCRIPT, png=png)   # a live page (a local server's), with a screenshot

No browser driver. A file: the page is copied beside itself with a script appended that, once the
page has loaded, writes its findings as JSON into the DOM, and Chromium's ``--dump-dom`` prints
that DOM; with ``capture_errors`` a script first in ``<head>`` also records, before anything else
runs, what a person would see in the console as errors: uncaught exceptions, ``console.error``,
unhandled promise rejections and resources (images, scripts) that failed to load. A live URL (e.g.
nbgrader's formgrader, whose pages load their data through its REST API): Chromium is driven over
its DevTools protocol, a few commands on one websocket (``websocket-client``, which jupyter_server
depends on), in real time, not virtual time.
``.ci/run`` installs ``chromium`` and ``fonts-noto-cjk`` (Japanese must render as Japanese, not as
boxes of another width). Without them a test fails on CI and is skipped elsewhere, saying why.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
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


# Put first in <head>, so that it listens before any of the page's own scripts or images: each error
# as one line of text in window.__errors. Listening in the capture phase also catches an <img> or
# <script> that failed to load, whose error event does not bubble up to window.onerror.
CAPTURE_ERRORS = """
<script>
window.__errors = [];
window.addEventListener("error", (event) => {
  const target = event.target;
  window.__errors.push(event instanceof ErrorEvent
    ? `${event.message} (${event.filename}:${event.lineno})`
    : `failed to load <${target.tagName.toLowerCase()}> ${(target.src || target.href || "").slice(0, 200)}`);
}, true);
window.addEventListener("unhandledrejection", (event) => {
  window.__errors.push(`unhandled rejection: ${event.reason}`);
});
const __consoleError = console.error;
console.error = (...parts) => {
  window.__errors.push(`console.error: ${parts.map(String).join(" ")}`);
  __consoleError.apply(console, parts);
};
</script>
"""


def measure(page: Path, script: str, width: int = 1024, height: int = 800, capture_errors: bool = False):
    """Load ``page`` at ``width`` × ``height`` CSS pixels and return what ``script`` returns.

    ``script`` is the body of a function run after the page (fonts included) has loaded; it
    returns a JSON-serialisable value. With ``capture_errors``, return ``(result, errors)``:
    ``errors`` lists, as text, every error the page raised or logged until the script had run.
    """
    probe = f"""
<script>
window.addEventListener("load", async () => {{
  await document.fonts.ready;
  const result = await (async () => {{ {script} }})();
  const out = document.createElement("pre");
  out.id = "{RESULT_ID}";
  out.textContent = JSON.stringify({{result, errors: window.__errors || []}});
  document.body.appendChild(out);
}});
</script>
"""
    copy = page.with_name(f".{page.stem}.measured.html")
    text = page.read_text(encoding="utf-8")
    if capture_errors:
        head = re.search(r"<head[^>]*>", text, re.I)
        text = (text[:head.end()] + CAPTURE_ERRORS + text[head.end():]) if head else CAPTURE_ERRORS + text
    copy.write_text(text.replace("</body>", probe + "</body>") if "</body>" in text else text + probe,
                    encoding="utf-8")
    try:
        completed = _run([f"--window-size={width},{height}", "--virtual-time-budget=10000", "--dump-dom",
                          copy.as_uri()])
    finally:
        copy.unlink(missing_ok=True)
    found = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', completed.stdout, re.S)
    assert found, f"the page never reported (chromium exit {completed.returncode}): {completed.stderr[-2000:]}"
    reported = json.loads(html.unescape(found.group(1)))
    return (reported["result"], reported["errors"]) if capture_errors else reported["result"]


def screenshot(page: Path, png: Path, width: int = 1024, height: int = 1400) -> Path:
    """A PNG of ``page`` as a ``width``-pixel-wide window shows it."""
    completed = _run([f"--window-size={width},{height}", "--virtual-time-budget=10000", f"--screenshot={png}",
                      page.as_uri()])
    assert png.is_file(), f"no screenshot (chromium exit {completed.returncode}): {completed.stderr[-2000:]}"
    return png


def measure_url(url: str, script: str, width: int = 1024, height: int = 800, png: Path | None = None,
                timeout: float = 60) -> dict:
    """Load ``url`` at ``width`` × ``height`` CSS pixels and return what ``script`` returns.

    As ``measure``, but for a page a server serves: loaded as a person loads it (its cookies kept,
    its own scripts running in real time), ``script`` run once the page has loaded (fonts
    included); it may wait for what the page fetches. With ``png``, a screenshot of the window as
    the script left it (scrolled where it scrolled). ``timeout`` bounds each step.
    """
    import websocket  # websocket-client: a dependency of jupyter_server, so there wherever nbgrader is

    with tempfile.TemporaryDirectory(prefix="mnist-chromium-", ignore_cleanup_errors=True) as profile, \
            tempfile.TemporaryFile("w+") as log:
        browser = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                                    "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, text=True)

        def exited() -> str:
            log.seek(0)
            return f"chromium exited ({browser.returncode}): {log.read()[-2000:]}"

        try:
            # Chromium writes the port it chose (and the browser's websocket path) into the profile.
            announced = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not (announced.is_file() and announced.read_text().strip()):
                assert browser.poll() is None, exited()
                assert time.monotonic() < deadline, "chromium never opened its DevTools port"
                time.sleep(0.1)
            port = int(announced.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as response:
                target = next(t for t in json.load(response) if t["type"] == "page")
            return _drive(websocket.create_connection(target["webSocketDebuggerUrl"], timeout=timeout,
                                                      suppress_origin=True), url, script, (width, height), png, timeout)
        finally:
            stop(browser, grace=10)


def stop(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM, and SIGKILL if ``process`` is still there after ``grace`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _drive(connection, url: str, script: str, size: tuple[int, int], png: Path | None, timeout: float) -> dict:
    """Navigate one DevTools page session to ``url``, run ``script``, take the screenshot."""
    counter = iter(range(1, 1_000_000))
    events: list[str] = []

    def call(method: str, **params):
        number = next(counter)
        connection.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(connection.recv())
            if message.get("id") == number:
                assert "error" not in message, f"{method}: {message['error']}"
                return message["result"]
            events.append(message.get("method", ""))

    try:
        call("Page.enable")
        # The viewport itself is width × height (a headless window's size includes its frame).
        call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1, mobile=False)
        navigated = call("Page.navigate", url=url)
        assert not navigated.get("errorText"), f"{url}: {navigated['errorText']}"
        deadline = time.monotonic() + timeout
        while "Page.loadEventFired" not in events:
            assert time.monotonic() < deadline, f"{url} never finished loading"
            events.append(json.loads(connection.recv()).get("method", ""))
        evaluated = call("Runtime.evaluate", expression=f"(async () => {{ await document.fonts.ready; {script} }})()",
                         awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in evaluated, f"the script failed: {evaluated['exceptionDetails']}"
        if png is not None:
            Path(png).write_bytes(base64.b64decode(call("Page.captureScreenshot", format="png")["data"]))
        return evaluated["result"].get("value")
    finally:
        connection.close()


# JavaScript helpers for the tests that ask whether text is in view: ``preLines(pre)`` gives each
# non-blank line of a <pre> with its right edge and the right edge of what its box shows (the
# nearest ancestor that scrolls sideways). Prepend to a measuring script.
LINES_IN_VIEW = r"""
const scrolls = (element) => ["auto", "scroll", "hidden"].includes(getComputedStyle(element).overflowX);
const clipOf = (pre) => { let clip = pre; while (clip.parentElement && !scrolls(clip)) clip = clip.parentElement; return clip; };
const preLines = (pre) => {
  const clip = clipOf(pre);
  const visibleRight = Math.round(clip.getBoundingClientRect().left + clip.clientWidth);
  const lines = [];
  const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let start = 0;
    for (const part of node.textContent.split("\n")) {
      if (part.trim()) {
        const range = document.createRange();
        range.setStart(node, start);
        range.setEnd(node, start + part.length);
        const right = Math.max(...[...range.getClientRects()].map((rect) => rect.right));
        lines.push({text: part, right: Math.round(right), visibleRight});
      }
      start += part.length + 1;
    }
  }
  return lines;
};
"""

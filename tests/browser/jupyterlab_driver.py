"""Drive a real JupyterLab in headless Chromium: what a student sees, not what a kernel returns.

Used by ``test_jupyterlab.py``. Two halves:

* :class:`LabServer` starts ``jupyter lab`` from the current environment on a free
  loopback port with a random token, in throwaway config/data/runtime folders,
  with every network check switched off (news, update check, announcements
  plugin, PyPI extension manager) and autosave off (so running a lecture in the
  test never rewrites the committed notebook).
* Page helpers (Playwright, sync API): open a notebook, Run → Run All Cells,
  wait until every code cell has run, look for widget/kernel errors, press keys
  on a slider handle.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Flags this machine (and CI) needs: no sandbox as root, no GPU, nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps",
    "--disable-extensions", "--metrics-recording-only", "--no-default-browser-check",
]
# Lab plugins that would reach the internet or disturb the page.
DISABLED_LAB_PLUGINS = ["@jupyterlab/apputils-extension:announcements"]
WIDGET_MANAGER_EXTENSION = "@jupyter-widgets/jupyterlab-manager"

# Text JupyterLab / ipywidgets put in the page when a widget cannot be shown.
WIDGET_ERROR_TEXTS = ["Error displaying widget", "Error rendering widget", "Failed to load model class",
                      "Could not render content for"]
# The exception line of a traceback, as IPython writes it to the error output (shown as stderr).
ERROR_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)|KeyboardInterrupt)\b.*",
                        re.MULTILINE)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A ``jupyter lab`` process serving ``root`` on 127.0.0.1; :meth:`stop` always cleans up."""

    root: Path
    extra_disabled: list[str] = field(default_factory=list)
    env_overrides: dict[str, str | None] = field(default_factory=dict)
    port: int = 0
    token: str = ""
    proc: subprocess.Popen | None = None
    home: Path | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    # -- lifecycle -----------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> "LabServer":
        self.home = Path(tempfile.mkdtemp(prefix="vae-course-lab-"))
        config = self.home / "config"
        self._write_lab_config(config)
        env = dict(os.environ)
        env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(self.home / "data"),
                   JUPYTER_RUNTIME_DIR=str(self.home / "runtime"), IPYTHONDIR=str(self.home / "ipython"))
        # What a student sees: ipykernel's inline backend, not the Agg that CI exports for nbval.
        env.pop("MPLBACKEND", None)
        for key, value in self.env_overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        self.port = free_loopback_port()
        self.token = secrets.token_hex(24)
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--ServerApp.terminals_enabled=False",
               # JupyterLab checkpoints a notebook when it opens it: keep those out of the repository.
               f"--FileCheckpoints.checkpoint_dir={self.home / 'checkpoints'}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        self.log_path = self.home / "jupyter-lab.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.api("GET", "/api/status") is not None:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer on {self.base_url} within {timeout:.0f} s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> None:
        """Shut kernels down, stop the server (SIGTERM, then SIGKILL), remove its folders.

        Kernels run in their own sessions; they are shut down through the REST API
        first, and ipykernel exits by itself when its parent server is gone.
        """
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.shutdown_kernels()
            except Exception:
                pass
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)  # the server's own process group
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)

    def log_tail(self, n: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    # -- REST ------------------------------------------------------------------------
    def api(self, method: str, path: str):
        req = urllib.request.Request(self.url(path), method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else {}

    def kernels(self) -> list[dict]:
        return self.api("GET", "/api/kernels")

    def shutdown_kernels(self) -> None:
        for kernel in self.kernels():
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    # -- config ------------------------------------------------------------------------
    def _write_lab_config(self, config: Path) -> None:
        disabled = {name: True for name in DISABLED_LAB_PLUGINS + list(self.extra_disabled)}
        (config / "labconfig").mkdir(parents=True)
        (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))
        settings = config / "lab" / "user-settings" / "@jupyterlab"
        _write_json(settings / "docmanager-extension" / "plugin.jupyterlab-settings", {"autosave": False})
        # Start the notebook's own kernel (python3 of this environment) without the
        # "Select Kernel" dialog that JupyterLab 4 may show on a first open.
        _write_json(settings / "notebook-extension" / "tracker.jupyterlab-settings",
                    {"autoStartDefaultKernel": True})
        # No "Would you like to get notified about news?" toast, no update check from the page.
        _write_json(settings / "apputils-extension" / "notification.jupyterlab-settings",
                    {"fetchNews": "false", "checkForUpdates": False})


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


# ---------------------------------------------------------------------------------------
# Page helpers
# ---------------------------------------------------------------------------------------
def loopback_only(context, blocked: list[str]) -> None:
    """Abort every request that is not for 127.0.0.1/localhost; remember what was tried."""
    def handle(route):
        host = urllib.parse.urlsplit(route.request.url).hostname or ""
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()
    context.route("**/*", handle)


def open_notebook(page, server: LabServer, path: str, timeout_ms: float = 120_000):
    """Open ``path`` (relative to the server root) in its own fresh workspace; return the panel locator."""
    workspace = re.sub(r"\W+", "-", Path(path).stem)
    page.goto(server.url(f"/lab/workspaces/{workspace}/tree/{urllib.parse.quote(path)}?reset"),
              wait_until="domcontentloaded")
    panel = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook")).first
    panel.wait_for(state="visible", timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)
    return panel


KERNEL_STATUS = ".jp-StatusBar-TextItem[title^='Change kernel']"  # "Python 3 (ipykernel) | Idle"


def kernel_status(page) -> str:
    """The status bar's kernel text, e.g. ``Python 3 (ipykernel) | Idle`` ('' when not shown)."""
    item = page.locator(KERNEL_STATUS)
    return item.first.inner_text().strip() if item.count() else ""


def wait_kernel_idle(page, timeout_ms: float) -> None:
    """Wait until the status bar says the notebook's kernel is connected and idle."""
    page.locator(KERNEL_STATUS, has_text=re.compile(r"\| Idle$")).first.wait_for(state="visible",
                                                                                timeout=timeout_ms)


WATCH_QUEUE_JS = """
() => {
  window.__vaeCourseQueued = false;
  const notebook = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  const seen = () => Array.from(notebook.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt'))
                          .some(p => p.textContent.includes('*'));
  const observer = new MutationObserver(() => {
    if (seen()) { window.__vaeCourseQueued = true; observer.disconnect(); }
  });
  observer.observe(notebook, {subtree: true, childList: true, characterData: true});
}
"""


def run_all_cells(page, timeout_ms: float = 30_000) -> None:
    """Run → Run All Cells, the way a student does it; returns once cells were queued (``[*]``).

    Waiting for the queue matters: the committed notebook's prompts ``[1]:``… would
    otherwise look like a finished run. A MutationObserver notes the ``[*]`` even
    when a tiny notebook finishes between two polls.
    """
    for attempt in (1, 2):  # a click lost while the page is busy gets one more try
        page.evaluate(WATCH_QUEUE_JS)
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-content .lm-Menu-item:not(.lm-mod-disabled)",
                     has_text=re.compile(r"^Run All Cells")).first.click()
        try:
            page.wait_for_function("() => window.__vaeCourseQueued", timeout=timeout_ms)
            return
        except Exception as err:
            if attempt == 2:
                raise AssertionError(f"Run → Run All Cells queued no cell within {timeout_ms / 1000:.0f} s, twice "
                                     f"(status bar: {kernel_status(page)!r}; dialog: {_dialog_text(page)!r})") from err
            print(f"Run All Cells: no cell queued after {timeout_ms / 1000:.0f} s; trying once more")
            page.keyboard.press("Escape")


CELL_STATE_JS = """
() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell'))
  .map(cell => {
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    const outputs = Array.from(cell.querySelectorAll('.jp-OutputArea-output'));
    return {prompt: prompt ? prompt.textContent.trim() : '',
            stderr: outputs.filter(o => o.dataset.mimeType === 'application/vnd.jupyter.stderr')
                           .map(o => o.innerText).join('\\n'),
            plain: outputs.filter(o => o.dataset.mimeType === 'text/plain').map(o => o.innerText)};
  })
"""


def _dialog_text(page) -> str:
    dialog = page.locator(".jp-Dialog")
    return dialog.first.inner_text().strip() if dialog.count() else ""


def wait_all_cells_ran(page, n_code_cells: int, timeout_s: float) -> list[dict]:
    """Wait until no cell is queued/running ``[*]`` and the kernel is idle; return each code cell's state.

    A cell that raised stops Run All: the cells after it keep an empty prompt, and
    :func:`page_problems` reports them. A dialog (kernel died, restart, select
    kernel) or a dead kernel ends the wait at once with its text.
    """
    deadline = time.monotonic() + timeout_s
    stable_since = None
    cells = []
    while time.monotonic() < deadline:
        cells = page.evaluate(CELL_STATE_JS)
        status = kernel_status(page)
        if _dialog_text(page):
            raise AssertionError(f"JupyterLab opened a dialog while running the notebook: {_dialog_text(page)!r}")
        if re.search(r"\| (Dead|Unknown)$", status):
            raise AssertionError(f"the kernel died while running the notebook (status bar: {status!r})")
        busy = any("*" in c["prompt"] for c in cells)
        started = len(cells) == n_code_cells and any(re.search(r"\d", c["prompt"]) for c in cells)
        if started and status.endswith("| Idle") and not busy:
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since > 2.0:
                return cells
        else:
            stable_since = None
        time.sleep(0.5)
    running = [i for i, c in enumerate(cells) if "*" in c["prompt"]]
    raise TimeoutError(f"Run All did not finish within {timeout_s:.0f} s "
                       f"(code cells still running or queued: {running}; status bar: {kernel_status(page)!r})")


def _widget_repr() -> re.Pattern:
    """``VBox(children=...``: how an ipywidget looks when the page could not render it."""
    import ipywidgets
    names = sorted(n for n in dir(ipywidgets) if isinstance(getattr(ipywidgets, n), type)
                   and issubclass(getattr(ipywidgets, n), ipywidgets.DOMWidget))
    return re.compile(r"^(%s)\(" % "|".join(names))


def page_problems(page, cells: list[dict], allowed_error_cells=()) -> list[str]:
    """Everything a student would see as broken: widget errors, widgets shown as plain text,
    exceptions, code cells that never ran. ``allowed_error_cells``: indices (among code
    cells) of cells tagged ``raises-exception``."""
    problems = []
    outputs = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").all_inner_texts()
    for text in WIDGET_ERROR_TEXTS:
        for line in "\n".join(outputs).splitlines():
            if text in line:
                problems.append(f"widget error in the page: {line.strip()[:300]!r}")
                break
    # ipywidgets 8 shows a broken widget as an icon with "Click to show javascript error."
    broken = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jupyter-widgets-error-widget")
    for k in range(broken.count()):
        view = broken.nth(k)
        try:
            view.click(timeout=5_000)  # reveals the error message in place
            message = " ".join(view.inner_text().split())
        except Exception:
            message = "(could not read the error)"
        problems.append(f"a widget failed to display (ipywidgets error view): {message[:300]!r}")
    widget_repr = _widget_repr()
    for i, cell in enumerate(cells):
        if not re.fullmatch(r"\[\d+\]:", cell["prompt"]):
            problems.append(f"code cell {i} did not run (prompt {cell['prompt']!r})")
        for plain in cell["plain"]:
            if widget_repr.match(plain.strip()):
                problems.append(f"code cell {i}: a widget is shown as plain text, not rendered "
                                f"(is the ipywidgets JupyterLab extension missing?): {plain.strip()[:120]!r}")
        if i in allowed_error_cells:
            continue
        errors = [m.group(0).strip() for m in ERROR_LINE.finditer(cell["stderr"])]
        if errors or "Traceback (most recent call last)" in cell["stderr"]:
            last = errors[-1] if errors else cell["stderr"].strip().splitlines()[-1]
            problems.append(f"code cell {i} shows a kernel error: {last[:300]!r}")
    return problems


def press_on(locator, key: str, times: int) -> None:
    """Focus a slider handle and press ``key`` ``times`` times, as with the keyboard."""
    locator.scroll_into_view_if_needed()
    locator.focus()
    for _ in range(times):
        locator.press(key)

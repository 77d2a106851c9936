"""Fixtures for the JupyterLab browser test: a lab server, headless Chromium, one page per test.

Without Playwright or Chromium the tests skip with the reason, unless
``VAE_COURSE_BROWSER_TESTS=1`` (CI): then a missing tool is a failure.
Screenshots go to ``artifacts/browser/`` (and ``<test>_failure.png`` when a test fails).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jupyterlab_driver import CHROMIUM, CHROMIUM_ARGS, LabServer, loopback_only

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
REQUIRED_ENV = "VAE_COURSE_BROWSER_TESTS"
CHROMIUM_ENV = "VAE_COURSE_CHROMIUM"  # another Chromium/Chrome binary, e.g. on macOS


def _missing(reason: str):
    if os.environ.get(REQUIRED_ENV, "").strip() == "1":
        pytest.fail(f"{reason} ({REQUIRED_ENV}=1: the browser test must run here)", pytrace=False)
    pytest.skip(f"{reason}; set {REQUIRED_ENV}=1 to make this a failure")


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if importlib.util.find_spec("playwright") is None:
        _missing("Playwright for Python is not installed (pip install playwright; "
                 "no `playwright install` needed)")
    path = os.environ.get(CHROMIUM_ENV, CHROMIUM)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        _missing(f"no Chromium at {path} (Debian/Ubuntu: apt-get install chromium; or set {CHROMIUM_ENV})")
    return path


@pytest.fixture(scope="module")
def lab(chromium_path):
    """JupyterLab serving the repository on 127.0.0.1, fast mode unless VAE_COURSE_FAST says otherwise."""
    server = LabServer(root=REPO, env_overrides={"VAE_COURSE_FAST": os.environ.get("VAE_COURSE_FAST", "1")})
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        # Playwright gives each launch a fresh temporary --user-data-dir and removes it on close.
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@dataclass
class LabPage:
    page: object
    lab: LabServer
    artifacts: Path
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def context(self) -> str:
        """What to print next to a failure: the page's console errors and the server log."""
        errors = "\n".join(f"  {e[:300]}" for e in self.console_errors[-15:]) or "  (none)"
        return (f"\nbrowser console errors:\n{errors}\nblocked non-loopback requests: {self.blocked[:10]}\n"
                f"jupyter lab log (tail):\n{self.lab.log_tail(25)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def lab_page(request, browser, lab):
    """A fresh browser context (own cookies/storage) that may only talk to 127.0.0.1."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{request.node.name}_failure.png").unlink(missing_ok=True)  # from an earlier run
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        blocked: list[str] = []
        loopback_only(context, blocked)
        page = context.new_page()
        page.set_default_timeout(60_000)
        holder = LabPage(page, lab, ARTIFACTS, blocked=blocked)
        page.on("console", lambda m: holder.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: holder.console_errors.append(f"page error: {e}"))
        yield holder
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                holder.shot(f"{request.node.name}_failure")
            except Exception:
                pass
    finally:
        context.close()
        try:
            lab.shutdown_kernels()  # free the CPU for the next notebook
        except Exception:
            pass

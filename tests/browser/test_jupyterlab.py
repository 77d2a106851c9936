"""The course as a student sees it: JupyterLab in headless Chromium, Run All, move the sliders.

nbval runs the notebooks in a kernel but never renders a widget; these tests open
the lectures in a real JupyterLab (started from this environment, loopback only),
run every cell from the Run menu, fail on "Error displaying widget", widgets
shown as plain text, kernel errors or cells that never ran, then press keys on a
slider and check that the numbers and the picture change.

Screenshots before and after each slider move: ``artifacts/browser/``.
Run alone with ``pytest -m browser -n 0 tests/browser``.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

from jupyterlab_driver import open_notebook, page_problems, press_on, run_all_cells, wait_all_cells_ran, \
    wait_kernel_idle

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]

RUN_ALL_TIMEOUT_S = 900   # the per-cell limit nbval has in CI; fast mode needs well under a minute
UPDATE_TIMEOUT_MS = 60_000


def run_notebook(lab_page, relpath: str) -> None:
    """Open ``relpath`` in JupyterLab, Run → Run All Cells, fail on anything a student would see as broken."""
    path = REPO / relpath
    if not path.exists():
        pytest.fail(f"{relpath} not found: the browser test opens it in JupyterLab", pytrace=False)
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    allowed = {i for i, c in enumerate(code) if "raises-exception" in c.metadata.get("tags", [])}
    page = lab_page.page
    open_notebook(page, lab_page.lab, relpath)
    run_all_cells(page)
    cells = wait_all_cells_ran(page, len(code), RUN_ALL_TIMEOUT_S)
    problems = page_problems(page, cells, allowed)
    assert not problems, f"{relpath} in JupyterLab:\n  " + "\n  ".join(problems) + lab_page.context()


def image_state(img) -> dict:
    """What the page shows for an <img>: its src, whether it decoded, and its pixels as a screenshot."""
    img.scroll_into_view_if_needed()
    info = img.evaluate("e => ({src: e.currentSrc || e.src, ok: e.complete && e.naturalWidth > 0})")
    return {**info, "pixels": img.screenshot()}


def nudge(handle, steps: int = 10) -> None:
    """Move a noUiSlider handle ``steps`` keyboard steps, away from the end it sits at."""
    now, top = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
    press_on(handle, "ArrowLeft" if now >= top else "ArrowRight", steps)


def wait_changed(page, read, before, what: str, timeout_ms: float = UPDATE_TIMEOUT_MS):
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        now = read()
        if now != before:
            return now
        page.wait_for_timeout(250)
    raise AssertionError(f"{what} did not change within {timeout_ms / 1000:.0f} s after the slider move "
                         f"(still {str(before)[:200]!r})")


def show(lab_page, widget, name: str) -> None:
    """Scroll so the widget's cell (code and output) is at the top, then screenshot the page."""
    widget.evaluate("e => (e.closest('.jp-Cell') || e).scrollIntoView({block: 'start'})")
    lab_page.page.wait_for_timeout(300)
    lab_page.shot(name)


def settle(page) -> None:
    """Let the kernel finish the updates the key presses queued, then give the page a moment to paint."""
    wait_kernel_idle(page, UPDATE_TIMEOUT_MS)
    page.wait_for_timeout(1000)


def kl_shown_and_expected(explorer) -> tuple[tuple[float, float], tuple[float, float]]:
    """(KL(p‖q), KL(q‖p)) as the readout shows them, and as ``kl_normal`` computes them at the
    values the four sliders show."""
    from vae_course.info import kl_normal

    names = {"μ₁": "mu1", "σ₁": "sigma1", "μ₂": "mu2", "σ₂": "sigma2"}
    values = {}
    sliders = explorer.locator(".widget-slider")
    for k in range(sliders.count()):
        label = sliders.nth(k).locator(".widget-label").first.inner_text().strip()
        values[names[label]] = float(sliders.nth(k).locator(".noUi-handle").get_attribute("aria-valuenow"))
    shown = tuple(float(re.search(r"= ([\d.]+) nats", explorer.locator(f".kl-readout {css}").inner_text()).group(1))
                  for css in (".kl-forward", ".kl-reverse"))
    v = values
    return shown, (kl_normal(v["mu1"], v["sigma1"], v["mu2"], v["sigma2"]),
                   kl_normal(v["mu2"], v["sigma2"], v["mu1"], v["sigma1"]))


def assert_notebook_untouched(relpath: str, before: bytes) -> None:
    assert (REPO / relpath).read_bytes() == before, f"JupyterLab rewrote {relpath} (autosave should be off)"


def test_kl_explorer_in_jupyterlab(lab_page):
    relpath = "notebooks/01_entropy_and_kl.ipynb"
    original = (REPO / relpath).read_bytes()
    page = lab_page.page
    run_notebook(lab_page, relpath)

    explorer = page.locator(".kl-explorer").first
    explorer.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    forward = explorer.locator(".kl-readout .kl-forward")
    reverse = explorer.locator(".kl-readout .kl-reverse")
    plot = explorer.locator("img").first
    readout = lambda: (forward.inner_text(), reverse.inner_text())  # noqa: E731
    kl_before = readout()
    assert all(re.search(r"KL\(.+\) = \d+\.\d+ nats", t) for t in kl_before), kl_before
    shown, expected = kl_shown_and_expected(explorer)
    assert shown == pytest.approx(expected, abs=6e-5), "the KL readout disagrees with kl_normal at the sliders' values"
    plot_before = image_state(plot)
    assert plot_before["ok"], "the KL explorer's plot image did not load"
    show(lab_page, explorer, "01_kl_explorer_before")

    handle = explorer.locator(".widget-slider .noUi-handle").first  # μ₁
    value_before = handle.get_attribute("aria-valuenow")
    nudge(handle)
    wait_changed(page, lambda: handle.get_attribute("aria-valuenow"), value_before, "the μ₁ slider")
    wait_changed(page, readout, kl_before, "the KL readout")
    settle(page)
    kl_after = readout()
    plot_after = wait_changed(page, lambda: image_state(plot), plot_before, "the KL plot")
    show(lab_page, explorer, "01_kl_explorer_after")

    assert kl_after[0] != kl_before[0] and kl_after[1] != kl_before[1], (kl_before, kl_after)
    shown, expected = kl_shown_and_expected(explorer)
    assert shown == pytest.approx(expected, abs=6e-5), "after the move, the KL readout disagrees with kl_normal"
    assert plot_after["ok"], "the KL plot image did not load after the slider move"
    assert plot_after["src"] != plot_before["src"], "the KL plot was not re-sent"
    assert plot_after["pixels"] != plot_before["pixels"], "the KL plot looks the same after the slider move"
    problems = page_problems(page, [])
    assert not problems, "\n".join(problems) + lab_page.context()
    assert_notebook_untouched(relpath, original)


def test_latent_explorer_in_jupyterlab(lab_page):
    relpath = "notebooks/06_latent_space.ipynb"
    if not (REPO / relpath).exists():
        pytest.fail(f"{relpath} not found: the browser test opens it in JupyterLab", pytrace=False)
    original = (REPO / relpath).read_bytes()
    page = lab_page.page
    run_notebook(lab_page, relpath)

    explorer = page.locator(".latent-explorer").filter(has=page.locator(".latent-slider")).first
    explorer.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    decoded = explorer.locator("img.latent-decoded, .latent-decoded img").first
    decoded_before = image_state(decoded)
    assert decoded_before["ok"], "the decoded digit did not load"
    show(lab_page, explorer, "06_latent_explorer_before")

    handle = explorer.locator(".latent-slider .noUi-handle").first
    value_before = handle.get_attribute("aria-valuenow")
    nudge(handle, steps=20)
    wait_changed(page, lambda: handle.get_attribute("aria-valuenow"), value_before, "the latent slider")
    wait_changed(page, lambda: image_state(decoded)["src"], decoded_before["src"], "the decoded image")
    settle(page)
    decoded_after = image_state(decoded)
    show(lab_page, explorer, "06_latent_explorer_after")

    assert decoded_after["ok"], "the decoded digit did not load after the slider move"
    assert decoded_after["pixels"] != decoded_before["pixels"], "the decoded digit looks the same after the move"
    problems = page_problems(page, [])
    assert not problems, "\n".join(problems) + lab_page.context()
    assert_notebook_untouched(relpath, original)

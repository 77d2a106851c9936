"""The static site as a student opens it: from disk, offline, in headless Chromium; both sliders move.

The site is built by ``python -m vae_course.site`` (CI builds it first and points ``VAE_COURSE_SITE`` at it;
otherwise this module builds it into ``artifacts/site``). Every request that is not for a local file is
blocked and recorded: the pages must need no network (no CDN for math, scripts or fonts).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from vae_course.info import kl_normal

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"


@pytest.fixture(scope="module")
def site() -> Path:
    path = os.environ.get("VAE_COURSE_SITE")
    if path:
        site = Path(path)
    else:
        site = REPO / "artifacts" / "site"
        subprocess.run([sys.executable, "-m", "vae_course.site", str(site)], check=True, cwd=REPO)
    if not (site / "index.html").exists():
        pytest.fail(f"no built site at {site} (python -m vae_course.site {site})", pytrace=False)
    return site


@pytest.fixture
def offline_page(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, offline=True)
    requested: list[str] = []
    errors: list[str] = []

    def handle(route):
        url = route.request.url
        if urllib.parse.urlsplit(url).scheme in ("file", "data", "blob"):
            route.continue_()
        else:
            requested.append(url)
            route.abort()

    context.route("**/*", handle)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: requested.append(r.url) if not r.url.startswith("file:") else errors.append(
        f"missing file {r.url}"))
    try:
        yield page, requested, errors
    finally:
        context.close()


def _slider_values(explorer, names):
    return {n: float(explorer.locator(f"input[name={n}]").input_value()) for n in names}


def test_kl_explorer_works_offline(site, offline_page):
    page, requested, errors = offline_page
    page.goto((site / "notebooks" / "01_entropy_and_kl.html").as_uri())
    assert page.locator("math").count() > 20, "the lecture's mathematics is not rendered as MathML"
    assert page.locator(".math-source").count() == 0, "some formulas were left as LaTeX source"
    explorer = page.locator(".static-kl-explorer")
    explorer.scroll_into_view_if_needed()
    names = ("mu1", "sigma1", "mu2", "sigma2")
    before = _slider_values(explorer, names)
    forward_before = float(explorer.locator(".kl-forward b").inner_text())
    path_before = explorer.locator(".density-p").get_attribute("d")
    assert forward_before == pytest.approx(kl_normal(before["mu1"], before["sigma1"], before["mu2"], before["sigma2"]),
                                           abs=5e-5)
    page.screenshot(path=str(ARTIFACTS / "site_kl_before.png"))
    explorer.locator("input[name=mu1]").focus()
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    explorer.locator("input[name=sigma2]").focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    after = _slider_values(explorer, names)
    assert after["mu1"] == pytest.approx(before["mu1"] + 1.0) and after["sigma2"] == pytest.approx(before["sigma2"] - 0.5)
    forward = float(explorer.locator(".kl-forward b").inner_text())
    reverse = float(explorer.locator(".kl-reverse b").inner_text())
    # the page's numbers are the package's closed form, in both directions
    assert forward == pytest.approx(kl_normal(after["mu1"], after["sigma1"], after["mu2"], after["sigma2"]), abs=5e-5)
    assert reverse == pytest.approx(kl_normal(after["mu2"], after["sigma2"], after["mu1"], after["sigma1"]), abs=5e-5)
    assert forward != forward_before
    assert explorer.locator(".density-p").get_attribute("d") != path_before, "the density of p was not redrawn"
    page.screenshot(path=str(ARTIFACTS / "site_kl_after.png"))
    assert not requested, f"the page tried to reach the network: {requested[:5]}"
    assert not errors, errors


def test_latent_explorer_works_offline(site, offline_page):
    page, requested, errors = offline_page
    page.goto((site / "notebooks" / "06_latent_space.html").as_uri())
    explorer = page.locator(".static-latent-explorer")
    explorer.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('img.latent-sheet').complete && "
                           "document.querySelector('img.latent-sheet').naturalWidth > 0")
    canvas = explorer.locator("canvas.latent-decoded")
    ring = explorer.locator(".latent-ring")
    pixels_before, cx_before = canvas.screenshot(), ring.get_attribute("cx")
    tile_before = explorer.get_attribute("data-tile")
    page.screenshot(path=str(ARTIFACTS / "site_latent_before.png"))
    explorer.locator("input[name=z1]").focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    explorer.locator("input[name=z2]").focus()
    for _ in range(6):
        page.keyboard.press("ArrowLeft")
    meta = json.loads(explorer.get_attribute("data-grid"))
    step = (meta["hi"] - meta["lo"]) / (meta["n"] - 1)
    z1 = float(explorer.locator("input[name=z1]").input_value())
    z2 = float(explorer.locator("input[name=z2]").input_value())
    assert z1 == pytest.approx(8 * step) and z2 == pytest.approx(-6 * step)
    assert explorer.locator(".latent-readout").inner_text() == f"z = ({z1:.2f}, {z2:.2f})"
    row, col = (int(v) for v in explorer.get_attribute("data-tile").split(","))
    assert (row, col) == (round((meta["hi"] - z2) / step), round((z1 - meta["lo"]) / step)) != tuple(
        int(v) for v in tile_before.split(","))
    assert ring.get_attribute("cx") != cx_before, "the ring on the map did not follow z"
    assert canvas.screenshot() != pixels_before, "the decoded image did not change"
    page.screenshot(path=str(ARTIFACTS / "site_latent_after.png"))
    assert not requested, f"the page tried to reach the network: {requested[:5]}"
    assert not errors, errors


def test_pages_load_nothing_from_the_web(site):
    """No page, stylesheet or script of the site loads a resource from another host."""
    import re
    bad = []
    for path in site.rglob("*"):
        if path.suffix not in (".html", ".css", ".js") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in re.finditer(r"""(?:src=|@import\s+(?:url\()?|url\()\s*["']?(https?:)?//""", text):
            bad.append(f"{path.relative_to(site)}: {text[m.start():m.start() + 80]!r}")
        for m in re.finditer(r"""<link[^>]+href=["'](https?:)?//[^"']+["'][^>]*>""", text):
            if "stylesheet" in m.group(0) or "preload" in m.group(0):
                bad.append(f"{path.relative_to(site)}: {m.group(0)[:100]!r}")
    assert not bad, "resources from the web:\n" + "\n".join(bad[:20])

"""The course as a static website: ``python -m vae_course.site OUT_DIR``.

A thin wrapper around Sphinx with MyST-NB (the ``site`` extra: ``pip install -e ".[site]"``):

1. copy the committed lecture notebooks (with their outputs: nothing is executed), the exercise
   notebooks and the README (as the home page) into a temporary source folder;
2. replace the live widgets, which need a kernel, by a note, except two explorers that work on the
   static page: lecture 01's KL explorer (four sliders; both KL values and both densities computed in
   the page from the closed form) and lecture 06's 2-D latent explorer (two sliders pick among images
   that :mod:`vae_course.site.latent_tiles` decodes ahead of time from the trained 2-D model; the ring on
   the map follows);
3. build HTML with math rendered to MathML at build time (:mod:`vae_course.site.mathml`), so the site
   needs no network and no CDN when it is viewed, from a web server or straight from disk.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["build", "REPO", "WIDGET_MIME"]

REPO = Path(__file__).resolve().parents[2]
STATIC = Path(__file__).resolve().parent / "static"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: The widget calls whose live output is replaced by a static explorer on the site.
STATIC_EXPLORERS = {"01_entropy_and_kl": "KLExplorer(", "06_latent_space": "LatentExplorer2D("}

_CONF = '''
project = "vae-course"
author = "the vae-course authors"
copyright = "the vae-course authors"
extensions = ["myst_nb", "vae_course.site.mathml"]
html_math_renderer = "mathml"
nb_execution_mode = "off"                 # the committed outputs are the content; nothing runs
nb_ipywidgets_js = {}                     # no widget manager from a CDN: live widgets need a kernel
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False, "show_prev_next": True, "search_bar_text": "Search the course",
                      "footer_start": ["copyright"], "footer_end": [], "header_links_before_dropdown": 2,
                      "navbar_align": "left"}
html_context = {"default_mode": "light"}   # opened from disk there is no stored preference to read
html_show_sphinx = False
html_static_path = ["_static"]
html_css_files = ["explorers.css"]
html_js_files = ["kl_explorer.js", "latent_explorer.js"]
html_title = "vae-course"
html_copy_source = False
html_show_sourcelink = False
exclude_patterns = ["_build"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "toc.not_included", "myst.xref_missing"]
'''


def _require_site_tools() -> None:
    missing = []
    for module in ("sphinx", "myst_nb", "pydata_sphinx_theme", "latex2mathml"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise SystemExit(f"building the site needs {', '.join(missing)}: pip install -e \".[site]\"")


def _note_cell(text: str) -> dict:
    _note_cell.count += 1
    return {"cell_type": "markdown", "id": f"site-note-{_note_cell.count}", "metadata": {}, "source": text}


_note_cell.count = 0


def _strip_widgets(nb: dict) -> int:
    """Drop live-widget outputs (they need a kernel); returns how many were dropped."""
    dropped = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if WIDGET_MIME in out.get("data", {}):
                dropped += 1
                continue
            kept.append(out)
        cell["outputs"] = kept
    return dropped


def _with_explorer(nb: dict, call: str, html: str) -> bool:
    """Insert ``html`` (a raw-HTML MyST cell) after the first code cell that contains ``call``."""
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and call in "".join(cell["source"]):
            nb["cells"].insert(i + 1, _note_cell("```{raw} html\n" + html + "\n```"))
            return True
    return False


def _widget_notes(nb: dict, skip: str | None) -> None:
    """After each other cell whose live widget was dropped, say where it works."""
    out = []
    for cell in nb["cells"]:
        out.append(cell)
        had_widget = any(WIDGET_MIME in o.get("data", {}) for o in cell.get("outputs", []))
        if had_widget and not (skip and skip in "".join(cell["source"])):
            out.append(_note_cell("*(A live widget appears here when the notebook runs in Jupyter, Colab or VS Code; "
                                  "the static page cannot run it.)*"))
    nb["cells"] = out


def _kl_explorer_html() -> str:
    sliders = []
    for name, label, lo, hi, value in (("mu1", "μ₁", -5, 5, 0.0), ("sigma1", "σ₁", 0.1, 4, 1.0),
                                       ("mu2", "μ₂", -5, 5, 1.0), ("sigma2", "σ₂", 0.1, 4, 2.0)):
        sliders.append(f'<label>{label} = <span class="value-{name}">{value:.2f}</span> '
                       f'<input type="range" name="{name}" min="{lo}" max="{hi}" step="0.05" value="{value}"></label>')
    return (
        '<div class="static-explorer static-kl-explorer">'
        '<p><b>KL explorer</b> (runs in this page): p = N(μ₁, σ₁²), q = N(μ₂, σ₂²).</p>'
        + "".join(sliders) +
        '<p class="readout"><span class="kl-forward">KL(p‖q) = <b>–</b> nats (<span class="bits">–</span> bits)</span>'
        ' &nbsp;|&nbsp; <span class="kl-reverse">KL(q‖p) = <b>–</b> nats (<span class="bits">–</span> bits)</span></p>'
        '<svg viewBox="0 0 640 240" width="640" height="240" role="img" aria-label="the densities of p and q">'
        '<line x1="40" y1="210" x2="630" y2="210" stroke="#444"/><line x1="40" y1="15" x2="40" y2="210" stroke="#444"/>'
        '<text x="335" y="235" font-size="12" text-anchor="middle">x (from −10 to 10)</text>'
        '<text x="12" y="115" font-size="12" transform="rotate(-90 12 115)" text-anchor="middle">density</text>'
        '<path class="density-p" fill="none" stroke="#1f77b4" stroke-width="2"/>'
        '<path class="density-q" fill="none" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>'
        '<text x="520" y="30" font-size="12" fill="#1f77b4">— p = N(μ₁, σ₁²)</text>'
        '<text x="520" y="48" font-size="12" fill="#d62728">- - q = N(μ₂, σ₂²)</text>'
        '</svg></div>')


def _latent_explorer_html(meta: dict) -> str:
    lo, hi, step = meta["lo"], meta["hi"], (meta["hi"] - meta["lo"]) / (meta["n"] - 1)
    sliders = "".join(
        f'<label>{label} <input type="range" name="{name}" min="{lo}" max="{hi}" step="{step:g}" value="0"></label>'
        for name, label in (("z1", "z₁"), ("z2", "z₂")))
    return (
        f'<div class="static-explorer static-latent-explorer" data-grid=\'{json.dumps(meta)}\'>'
        '<p><b>2-D latent explorer</b> (runs in this page): the decoded mean of p<sub>θ</sub>(x|z) for the trained '
        f'2-D VAE, precomputed on a {meta["n"]}×{meta["n"]} grid of z from {lo:g} to {hi:g}.</p>'
        + sliders + '<p class="latent-readout readout">z = (0.00, 0.00)</p>'
        '<div class="panes"><canvas class="latent-decoded" width="168" height="168"></canvas>'
        '<div class="map"><img src="../_static/latent/map.png" width="300" height="300" alt="the latent plane: '
        'encoded test digits coloured by label over the prior\'s contours">'
        '<svg viewBox="0 0 100 100" preserveAspectRatio="none"><circle class="latent-ring" cx="50%" cy="50%" r="3" '
        'fill="none" stroke="black" stroke-width="0.8"/></svg></div></div>'
        '<img class="latent-sheet" src="../_static/latent/tiles.png" alt=""></div>')


def _text_badges(markdown: str) -> str:
    """"Open in Colab" badges as plain links: a badge is an image from the web, and the site loads nothing from it."""
    return re.sub(r"\[!\[([^\]]*)\]\([^)]*\)\]\(([^)]*)\)", r"[\1](\2)", markdown)


def _index_page(readme: str) -> str:
    """The README as the home page, with a table of contents."""
    readme = _text_badges(readme)
    toc = ("\n\n```{toctree}\n:hidden:\n:caption: Lectures\n:glob:\n\nnotebooks/*\n```\n\n"
           "```{toctree}\n:hidden:\n:caption: Exercises\n:glob:\n\nexercises/*\n```\n")
    return readme + toc


def build(out_dir, *, repo: Path | None = None, quiet: bool = True, model_2d=None) -> dict:
    """Build the site into ``out_dir``; returns a summary (pages, seconds, size, math failures)."""
    _require_site_tools()
    from sphinx.cmd.build import build_main

    from . import latent_tiles

    repo = Path(repo or REPO)
    out_dir = Path(out_dir).resolve()
    if not (repo / "notebooks").is_dir():
        raise SystemExit(f"no notebooks/ folder in {repo}: run this from a course checkout")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vae-course-site-") as tmp:
        src = Path(tmp)
        (src / "conf.py").write_text(_CONF)
        shutil.copytree(STATIC, src / "_static")
        (src / "index.md").write_text(_index_page((repo / "README.md").read_text(encoding="utf-8")), encoding="utf-8")
        meta = latent_tiles.write(src / "_static" / "latent", model=model_2d)
        explorers = {"01_entropy_and_kl": _kl_explorer_html(), "06_latent_space": _latent_explorer_html(meta)}
        for folder in ("notebooks", "exercises"):
            (src / folder).mkdir()
            for path in sorted((repo / folder).glob("*.ipynb")):
                nb = json.loads(path.read_text(encoding="utf-8"))
                for cell in nb["cells"]:
                    if cell["cell_type"] == "markdown":
                        cell["source"] = _text_badges("".join(cell["source"]))
                call = STATIC_EXPLORERS.get(path.stem) if folder == "notebooks" else None
                _widget_notes(nb, call)
                if call and not _with_explorer(nb, call, explorers[path.stem]):
                    raise SystemExit(f"{path.name} has no {call}...) cell for the static explorer")
                _strip_widgets(nb)
                (src / folder / path.name).write_text(json.dumps(nb), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        args = ["-b", "html", "-j", "auto", str(src), str(out_dir)] + (["-q"] if quiet else [])
        status = build_main(args)
        if status:
            raise SystemExit(f"sphinx-build failed (exit {status})")
    for leftover in (".buildinfo", ".doctrees"):
        target = out_dir / leftover
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return {"out": str(out_dir), "pages": len(list(out_dir.rglob("*.html"))), "seconds": round(time.perf_counter() - start, 1),
            "size_mb": round(size / 1e6, 2)}

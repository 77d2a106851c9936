"""A Sphinx HTML math renderer that turns LaTeX into MathML at build time (latex2mathml).

The page then needs no MathJax and no network: browsers render MathML Core natively. A formula
latex2mathml cannot convert is shown as its LaTeX source in a ``<code>`` element and counted in
``app.env.mathml_failures``, so the build can say how many there were.
"""
from __future__ import annotations

import html

from docutils import nodes
from latex2mathml.converter import convert

__all__ = ["to_mathml", "setup"]


def to_mathml(latex: str, display: str = "inline") -> str | None:
    """MathML for ``latex`` (``display`` 'inline' or 'block'), or None when it cannot be converted."""
    # latex2mathml knows split/align* but not amsmath's aligned, which has the same layout
    latex = latex.strip().replace(r"\begin{aligned}", r"\begin{split}").replace(r"\end{aligned}", r"\end{split}")
    try:
        return convert(latex, display=display)
    except Exception:  # latex2mathml raises many exception types for unsupported input
        return None


def _fallback(self, latex: str, css: str) -> str:
    failures = getattr(self.builder.env, "mathml_failures", [])
    failures.append(latex)
    self.builder.env.mathml_failures = failures
    return f'<code class="{css} math-source">{html.escape(latex)}</code>'


def _visit_math(self, node):
    latex = node.astext()
    self.body.append(to_mathml(latex, "inline") or _fallback(self, latex, "math"))
    raise nodes.SkipNode


def _visit_displaymath(self, node):
    latex = node.astext()
    if node.get("number"):
        number = f'<span class="eqno">({node["number"]})</span>'
    else:
        number = ""
    body = to_mathml(latex, "block") or _fallback(self, latex, "math-block")
    self.body.append(f'<div class="math-display">{body}{number}</div>')
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (_visit_math, None), (_visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}

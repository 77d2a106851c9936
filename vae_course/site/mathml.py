"""A Sphinx HTML math renderer that turns LaTeX into MathML at build time (:mod:`vae_course.mathml`).

The page then needs no MathJax and no network: browsers render MathML Core natively. A formula
latex2mathml cannot convert is shown as its LaTeX source in a ``<code class="math-source">`` element (the
browser test checks that lecture 01 has none) and listed in ``app.env.mathml_failures``.
"""
from __future__ import annotations

import html

from docutils import nodes

from ..mathml import to_mathml

__all__ = ["setup"]


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

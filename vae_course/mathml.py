"""LaTeX to MathML at build time (``latex2mathml``), for pages that must work offline: the printable drill sheet
and the static site. Browsers render MathML Core without any script, so no MathJax and no CDN are needed."""
from __future__ import annotations

__all__ = ["to_mathml"]

# LaTeX environments latex2mathml does not know, mapped to ones it renders the same way
_ENVIRONMENTS = {"aligned": "split", "gathered": "gather*"}


def to_mathml(latex: str, display: str = "inline") -> str | None:
    """A ``<math>`` element for ``latex`` (``display`` 'inline' or 'block'), or None when it cannot be converted."""
    if display not in ("inline", "block"):
        raise ValueError(f"display must be 'inline' or 'block', got {display!r}")
    from latex2mathml.converter import convert

    latex = str(latex).strip()
    for old, new in _ENVIRONMENTS.items():
        latex = latex.replace(rf"\begin{{{old}}}", rf"\begin{{{new}}}").replace(rf"\end{{{old}}}", rf"\end{{{new}}}")
    try:
        out = convert(latex, display=display)
    except Exception:   # noqa: BLE001 - latex2mathml raises many types for input it cannot read
        return None
    return out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "")   # HTML5 needs no namespace (and no URL)

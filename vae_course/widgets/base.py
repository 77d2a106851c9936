"""Shared pieces of the course's widgets.

A slider move must feel immediate, so figures are never rebuilt: each widget
owns one matplotlib ``Figure`` (Agg, outside pyplot), updates its artists in
place (``set_data``) and sends the rendered PNG to an ``ipywidgets.Image``
(:class:`FigureImage`). This works in JupyterLab, classic Notebook and VS Code
with no frontend extension beyond ipywidgets itself.
"""
from __future__ import annotations

import io

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["FigureImage"]


class FigureImage:
    """A matplotlib figure shown as an ``ipywidgets.Image`` and re-rendered on demand.

    Change the artists of ``self.fig`` (``line.set_data``, ``image.set_data``),
    then call :meth:`refresh` to push the new PNG to the browser.
    """

    def __init__(self, figsize=(6.0, 3.0), dpi: int = 80):
        self.fig = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(self.fig)
        self.widget = widgets.Image(format="png")
        self.renders = 0

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        return buf.getvalue()

    def refresh(self) -> None:
        self.widget.value = self.png()
        self.renders += 1

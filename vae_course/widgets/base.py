"""Shared pieces of the course's widgets.

A slider move must feel immediate, so figures are never rebuilt: each widget
owns one matplotlib ``Figure`` (Agg, outside pyplot), updates its artists in
place (``set_data``) and sends the rendered PNG to an ``ipywidgets.Image``
(:class:`FigureImage`). This works in JupyterLab, classic Notebook and VS Code
with no frontend extension beyond ipywidgets itself.
"""
from __future__ import annotations

import io
import math

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["FigureImage", "SliderPanel"]


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


class SliderPanel:
    """Named float sliders with validated programmatic control; subclasses draw in :meth:`update`.

    A subclass sets ``RANGES`` (name → (lo, hi, step)) and ``LABELS`` (name → slider label),
    calls ``self._make_sliders({name: initial value})`` in ``__init__``, builds ``self.widget``
    and implements ``update()``. Moving a slider calls ``update()``; ``set(name=value, ...)``
    changes several values from code with one redraw and a clear ``ValueError`` for bad values.
    """

    RANGES: dict[str, tuple[float, float, float]] = {}
    LABELS: dict[str, str] = {}
    DESCRIPTION_WIDTH = "2.5em"
    SLIDER_WIDTH = "260px"
    _batch = False

    def _make_sliders(self, initial: dict) -> None:
        self.sliders = {}
        for name, value in initial.items():
            self._check_value(name, value)
            lo, hi, step = self.RANGES[name]
            self.sliders[name] = widgets.FloatSlider(
                value=float(value), min=lo, max=hi, step=step, description=self.LABELS[name],
                continuous_update=True, readout_format=".2f",
                style={"description_width": self.DESCRIPTION_WIDTH}, layout=widgets.Layout(width=self.SLIDER_WIDTH))
            self.sliders[name].observe(self._on_change, names="value")

    @property
    def values(self) -> dict:
        return {name: slider.value for name, slider in self.sliders.items()}

    def _check_value(self, name: str, value) -> None:
        if name not in self.RANGES:
            raise ValueError(f"unknown parameter {name!r}; use one of {', '.join(self.RANGES)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        lo, hi, _ = self.RANGES[name]
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ValueError(f"{name} must be between {lo} and {hi}, got {value!r}")

    def set(self, **values) -> None:
        """Set slider values from code, e.g. ``explorer.set(mu1=2, sigma2=0.5)``; redraws once."""
        for name, value in values.items():
            self._check_value(name, value)
        self._batch = True
        try:
            for name, value in values.items():
                self.sliders[name].value = float(value)
        finally:
            self._batch = False
        self.update()

    def _on_change(self, change) -> None:
        if not self._batch:
            self.update()

    def update(self) -> None:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

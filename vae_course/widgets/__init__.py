"""Interactive widgets (ipywidgets) used by the lectures; notebook cells only call these.

* :class:`KLExplorer` (lecture 01): two Gaussians, four sliders, both KL directions live.
* :class:`FigureImage`: a matplotlib figure re-rendered in place into an ``ipywidgets.Image``.
"""
from .base import FigureImage
from .kl import KLExplorer

__all__ = ["FigureImage", "KLExplorer"]

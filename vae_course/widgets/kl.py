"""Lecture 01's KL explorer: two Gaussians, four sliders, both KL directions live."""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np

from ..info import kl_normal, normal_pdf
from .base import FigureImage, SliderPanel

__all__ = ["KLExplorer"]


class KLExplorer(SliderPanel):
    """Two Gaussians p = N(μ₁, σ₁²) and q = N(μ₂, σ₂²) with sliders; shows KL(p‖q) and KL(q‖p).

    Display it as the last expression of a cell. ``set(mu1=..., sigma1=...)``
    changes values from code (with a clear error for bad values), exactly as
    moving the sliders would.
    """

    RANGES = {"mu1": (-5.0, 5.0, 0.05), "sigma1": (0.1, 4.0, 0.05),
              "mu2": (-5.0, 5.0, 0.05), "sigma2": (0.1, 4.0, 0.05)}
    LABELS = {"mu1": "μ₁", "sigma1": "σ₁", "mu2": "μ₂", "sigma2": "σ₂"}

    def __init__(self, mu1: float = 0.0, sigma1: float = 1.0, mu2: float = 1.0, sigma2: float = 2.0):
        self._make_sliders({"mu1": mu1, "sigma1": sigma1, "mu2": mu2, "sigma2": sigma2})
        self.readout = widgets.HTML()
        self.readout.add_class("kl-readout")
        self.figure = FigureImage(figsize=(6.4, 2.8), dpi=80)
        ax = self.figure.fig.add_subplot()
        self.xs = np.linspace(-10, 10, 801)
        (self._line_p,) = ax.plot(self.xs, self.xs * 0, color="C0", lw=2, label="p = N(μ₁, σ₁²)")
        (self._line_q,) = ax.plot(self.xs, self.xs * 0, color="C3", lw=2, ls="--", label="q = N(μ₂, σ₂²)")
        ax.set_xlim(-10, 10)
        ax.set_xlabel("x")
        ax.set_ylabel("density")
        ax.legend(loc="upper right", fontsize=8)
        self.figure.fig.tight_layout()
        self._ax = ax
        controls = widgets.VBox([widgets.HBox([self.sliders["mu1"], self.sliders["sigma1"]]),
                                 widgets.HBox([self.sliders["mu2"], self.sliders["sigma2"]])])
        self.widget = widgets.VBox([controls, self.readout, self.figure.widget])
        self.widget.add_class("kl-explorer")
        self.update()

    def kl(self) -> tuple[float, float]:
        """(KL(p‖q), KL(q‖p)) in nats at the current slider values."""
        v = self.values
        return (kl_normal(v["mu1"], v["sigma1"], v["mu2"], v["sigma2"]),
                kl_normal(v["mu2"], v["sigma2"], v["mu1"], v["sigma1"]))

    def update(self) -> None:
        v = self.values
        p = normal_pdf(self.xs, v["mu1"], v["sigma1"])
        q = normal_pdf(self.xs, v["mu2"], v["sigma2"])
        self._line_p.set_ydata(p)
        self._line_q.set_ydata(q)
        self._ax.set_ylim(0, 1.1 * max(p.max(), q.max()))
        forward, reverse = self.kl()
        self.readout.value = (
            f"<span class='kl-forward'>KL(p‖q) = <b>{forward:.4f}</b> nats ({forward / math.log(2):.4f} bits)</span>"
            f" &nbsp;|&nbsp; <span class='kl-reverse'>KL(q‖p) = <b>{reverse:.4f}</b> nats "
            f"({reverse / math.log(2):.4f} bits)</span>")
        self.figure.refresh()

"""Lecture 03's ELBO explorer: move q(z|x) = N(μ, σ²) and watch log p(x) = ELBO + KL(q ‖ p(z|x))."""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np

from ..elbo import LinearGaussian
from ..info import normal_pdf
from .base import FigureImage, SliderPanel

__all__ = ["ELBOExplorer"]


class ELBOExplorer(SliderPanel):
    """Sliders on q's mean μ and log-variance log σ² for one observation x of a :class:`LinearGaussian`.

    Left: the exact posterior p(z|x) and q. Right: log p(x) split into ELBO and the gap
    KL(q ‖ p(z|x)); the gap closes when q reaches the posterior. ``set(mu=..., logvar=...)``
    moves the sliders from code (clear error for values off their range).
    """

    RANGES = {"mu": (-3.0, 3.0, 0.02), "logvar": (-5.0, 2.0, 0.05)}
    LABELS = {"mu": "μ", "logvar": "log σ²"}
    DESCRIPTION_WIDTH = "4em"
    SLIDER_WIDTH = "300px"

    def __init__(self, model: LinearGaussian | None = None, x: float = 2.0, mu: float = -1.0, logvar: float = 0.0):
        self.model = model if model is not None else LinearGaussian()
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ValueError(f"x must be a finite number, got {x!r}")
        self.x = float(x)
        self._make_sliders({"mu": mu, "logvar": logvar})
        self.readout = widgets.HTML()
        self.figure = FigureImage(figsize=(8.0, 2.8), dpi=80)
        ax_z, ax_bar = self.figure.fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
        self.zs = np.linspace(-4, 4, 401)
        post_mu, post_logvar = (float(t) for t in self.model.posterior(self.x))
        ax_z.plot(self.zs, _density(self.zs, post_mu, post_logvar), color="C0", lw=2, label="posterior p(z|x)")
        (self._line_q,) = ax_z.plot(self.zs, self.zs * 0, color="C3", lw=2, ls="--", label="q(z|x)")
        ax_z.set_xlabel("z")
        ax_z.set_ylabel("density")
        ax_z.set_ylim(0, 1.3 * _density(post_mu, post_mu, post_logvar))
        ax_z.legend(loc="upper left", fontsize=8)
        self.log_px = float(self.model.log_px(self.x))
        self._bar_elbo = ax_bar.bar([0], [0.0], color="C2", width=0.5, label="ELBO")[0]
        self._bar_kl = ax_bar.bar([0], [0.0], color="C1", width=0.5, label="KL(q‖p(z|x))")[0]
        ax_bar.axhline(self.log_px, color="k", lw=1.5, label="log p(x)")
        ax_bar.set_xticks([])
        ax_bar.set_xlim(-0.6, 1.6)
        ax_bar.set_ylabel("nats")
        ax_bar.legend(loc="upper right", fontsize=7)
        self._ax_bar = ax_bar
        self.figure.fig.tight_layout()
        self.widget = widgets.VBox([widgets.HBox(list(self.sliders.values())), self.readout, self.figure.widget])
        self.update()

    def terms(self) -> dict:
        """log p(x), ELBO and KL(q ‖ p(z|x)) in nats at the current slider values."""
        v = self.values
        return {"log_px": self.log_px,
                "elbo": float(self.model.elbo(self.x, v["mu"], v["logvar"])),
                "kl": float(self.model.kl_to_posterior(self.x, v["mu"], v["logvar"]))}

    def update(self) -> None:
        v = self.values
        self._line_q.set_ydata(_density(self.zs, v["mu"], v["logvar"]))
        t = self.terms()
        # the ELBO bar runs from the axis bottom up to the ELBO; the KL bar stacks on top up to log p(x)
        bottom = min(t["elbo"], self.log_px) - 1.0
        self._ax_bar.set_ylim(min(bottom, self.log_px - 12.0), self.log_px + 1.5)
        lo = self._ax_bar.get_ylim()[0]
        self._bar_elbo.set_y(lo)
        self._bar_elbo.set_height(t["elbo"] - lo)
        self._bar_kl.set_y(t["elbo"])
        self._bar_kl.set_height(t["kl"])
        self.readout.value = (f"log p(x) = <b>{t['log_px']:.4f}</b> &nbsp;=&nbsp; ELBO <b>{t['elbo']:.4f}</b>"
                              f" &nbsp;+&nbsp; KL(q‖p(z|x)) <b>{t['kl']:.4f}</b> nats")
        self.figure.refresh()


def _density(z, mu: float, logvar: float):
    """N(z; μ, σ²) from μ and log σ², as the encoder parameterises q."""
    return normal_pdf(np.asarray(z), mu, math.exp(0.5 * logvar))

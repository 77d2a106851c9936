"""Fitting one Gaussian q = N(m, s²) to a two-mode mixture p, by forward or by reverse KL (lecture 01).

* forward KL,  min_q KL(p‖q) = E_p[log p - log q]: q must put mass wherever p has
  it, so it spreads over both modes ("mass-covering", "mean-seeking"). Its exact
  minimiser over Gaussians matches p's mean and variance (moment matching).
* reverse KL,  min_q KL(q‖p) = E_q[log q - log p]: q is penalised wherever it puts
  mass that p lacks, so it settles on one mode ("mode-seeking", "zero-forcing").

Both KLs are computed by quadrature on a fine grid and minimised over (m, log s)
with L-BFGS. The reverse KL has several local minima (one per mode, and a broad
one straddling both when started between them): where the fit ends depends on ``init``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Mixture", "GaussianFit", "fit_gaussian", "grid_kl"]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _normal_logpdf(x, m, s):
    return -0.5 * ((x - m) / s) ** 2 - torch.log(s) - _LOG_SQRT_2PI


@dataclass(frozen=True)
class Mixture:
    """p(x) = Σ_k w_k N(x; μ_k, σ_k²) in one dimension."""

    weights: tuple[float, ...] = (0.5, 0.5)
    means: tuple[float, ...] = (-2.5, 2.5)
    sigmas: tuple[float, ...] = (0.8, 0.8)

    def __post_init__(self):
        if not (len(self.weights) == len(self.means) == len(self.sigmas) > 0):
            raise ValueError("weights, means and sigmas must be non-empty and of equal length")
        if any(s <= 0 for s in self.sigmas):
            raise ValueError("mixture sigmas must be > 0")
        if any(w < 0 for w in self.weights) or abs(sum(self.weights) - 1) > 1e-9:
            raise ValueError("mixture weights must be ≥ 0 and sum to 1")

    def log_pdf(self, x: torch.Tensor) -> torch.Tensor:
        comps = torch.stack([np.log(w) + _normal_logpdf(x, m, torch.tensor(s, dtype=x.dtype))
                             for w, m, s in zip(self.weights, self.means, self.sigmas) if w > 0])
        return torch.logsumexp(comps, dim=0)

    def mean(self) -> float:
        return float(sum(w * m for w, m in zip(self.weights, self.means)))

    def var(self) -> float:
        second = sum(w * (s**2 + m**2) for w, m, s in zip(self.weights, self.means, self.sigmas))
        return float(second - self.mean() ** 2)


@dataclass(frozen=True)
class GaussianFit:
    direction: str
    mu: float
    sigma: float
    kl: float


def _grid(lo: float = -12.0, hi: float = 12.0, n: int = 6001) -> torch.Tensor:
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def grid_kl(log_a: torch.Tensor, log_b: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """KL(a‖b) = ∫ a (log a - log b) dx by the trapezoid rule on the grid ``xs``."""
    a = torch.exp(log_a)
    return torch.trapezoid(a * (log_a - log_b), xs)


def fit_gaussian(p: Mixture, direction: str, init: tuple[float, float] = (0.5, 1.0), steps: int = 200) -> GaussianFit:
    """The Gaussian q = N(m, s²) minimising KL(p‖q) (``"forward"``) or KL(q‖p) (``"reverse"``)."""
    if direction not in ("forward", "reverse"):
        raise ValueError(f"direction must be 'forward' (KL(p‖q)) or 'reverse' (KL(q‖p)), got {direction!r}")
    if init[1] <= 0:
        raise ValueError("the initial sigma must be > 0")
    xs = _grid()
    log_p = p.log_pdf(xs)
    m = torch.tensor(float(init[0]), dtype=torch.float64, requires_grad=True)
    log_s = torch.tensor(float(np.log(init[1])), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([m, log_s], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def objective():
        log_q = _normal_logpdf(xs, m, torch.exp(log_s))
        return grid_kl(log_p, log_q, xs) if direction == "forward" else grid_kl(log_q, log_p, xs)

    def closure():
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        kl = objective().item()
    return GaussianFit(direction, m.item(), torch.exp(log_s).item(), kl)

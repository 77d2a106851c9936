"""Checks and synthetic data for exercises/08_posterior_collapse.

Active units (Burda et al., 2016): latent dimension d is active when
A_d = Cov_x(E_{q(z|x)}[z_d]) > 0.01, i.e. the encoder's mean for z_d varies across the data.
References: ``torch.cov`` on the encoder means, plain Python loops for free bits.
"""
from __future__ import annotations

import numpy as np
import torch

from . import Variant, as_float, call, close, fresh, params, question, register_dataset

ACTIVE = (0, 2, 5)


@register_dataset("collapse_history")
def collapse_history() -> dict:
    """A synthetic end-of-training snapshot of a VAE with 8 latent dimensions, 3 of them used.

    ``mu``: (500, 8) encoder means E_q[z|x] on 500 test images; ``kl_per_dim``: (20, 8)
    per-epoch mean KL of each dimension (nats); ``recon``: (20,) per-epoch reconstruction loss.
    """
    rng = np.random.default_rng(7)
    n, d, epochs = 500, 8, 20
    std = np.full(d, 0.02)
    std[list(ACTIVE)] = [1.0, 0.6, 0.3]
    std[3] = 0.07                      # variance 0.0049: collapsed, though its std exceeds 0.01
    mu = rng.normal(size=(n, d)) * std + 0.1 * rng.normal(size=d)
    t = np.arange(1, epochs + 1)[:, None]
    final = np.full(d, 0.002)
    final[list(ACTIVE)] = [3.0, 1.5, 0.5]
    kl = final * (1 - np.exp(-t / 4)) + 0.8 * np.exp(-t / 3) * (final < 0.1)
    recon = 90 + 60 * np.exp(-np.arange(epochs) / 5)
    return {"mu": mu, "kl_per_dim": kl, "recon": recon}


def _ref_active(mu, threshold=0.01):
    cov = torch.cov(torch.as_tensor(mu, dtype=torch.float64).T)   # rows of .T are dimensions
    return int((cov.diagonal() > threshold).sum())


# ----------------------------------------------------------------------------- q1 active units
q = question("active_units_code", 2, "active_units(mu, threshold=0.01): count dims with Cov_x(E_q[z_d]) > threshold")


@q.check("counts the active units of the synthetic history")
def _(au):
    mu = collapse_history()["mu"]
    got, ref = int(as_float(call(au, mu))), _ref_active(mu)
    if got == int((mu.std(0) > 0.01).sum()) and got != ref:
        return "you thresholded the standard deviation; the criterion is the variance (covariance) > 0.01"
    return got == ref or f"got {got}, expected {ref}"


@q.check("varies over the data (axis 0), not over the latent dimensions",
         hint="mu has shape (N, D): the variance is over the N data points, one value per latent dimension")
def _(au):
    rng = np.random.default_rng(fresh(1))
    mu = rng.normal(size=(200, 6)) * np.array([1.0, 0.0, 0.5, 0.0, 0.0, 0.2])
    return int(as_float(call(au, mu))) == _ref_active(mu)


@q.check("respects the threshold argument")
def _(au):
    rng = np.random.default_rng(fresh(2))
    mu = rng.normal(size=(300, 4)) * np.array([1.0, 0.3, 0.1, 0.01])   # variances 1, 0.09, 0.01, 1e-4
    return int(as_float(call(au, mu, threshold=0.05))) == _ref_active(mu, 0.05)


# ----------------------------------------------------------------------------- q2 the KL an active unit carries at least

def _draw_kl_floor(d) -> dict:
    """A_d = k/1000 from 0.030 to 0.990, an active unit (> 0.01): never a number of lecture 08 (the threshold 0.01
    and its floor 0.005, 0.1, 0.2, 0.4, 0.5, 0.68, 0.92) nor an activity whose floor ½A_d is one, never the default
    0.06; below 1, so ½√A_d and √A_d (the "A_d is a standard deviation" slips) always differ from ½A_d. Neighbouring
    floors differ by 0.0005, five times the checks' tolerance."""
    k = d.choice([k for k in range(30, 991) if k not in (60, 100, 200, 400, 500, 680, 800, 920)])
    return {"A_d": k / 1000}


q = question("kl_floor", 1, "the smallest average KL a latent dimension with your activity A_d can carry (nats)",
             variant=Variant({"A_d": 0.06}, _draw_kl_floor))


def _min_kl_numerically(a_d: float) -> float:
    """min over (mean of μ, σ) of E_x ½(μ² + σ² − 1 − log σ²) with Var_x(μ) = a_d, by brute force on a grid."""
    m = np.linspace(-1, 1, 401)[:, None]               # mean of μ over the data
    s2 = np.linspace(0.2, 3, 561)[None, :]              # σ², the same for every x
    kl = 0.5 * (m**2 + a_d + s2 - 1 - np.log(s2))       # E_x μ² = (mean μ)² + Var_x(μ)
    return float(kl.min())


@q.check("½·A_d: E_x μ_d² ≥ Var_x(μ_d), and the σ part of the KL is ≥ 0")
def _(answer):
    a_d = params("kl_floor").A_d
    ref = _min_kl_numerically(a_d)
    got = as_float(answer)
    if close(got, a_d, rel=1e-3):
        return "the KL of one dimension is ½(μ² + σ² − 1 − log σ²): keep the ½"
    if close(got, a_d ** 0.5, rel=1e-3) or close(got, 0.5 * a_d ** 0.5, rel=1e-3):
        return "A_d is a variance (of μ_d over the data), not a standard deviation"
    if close(got, 0.0):
        return "a dimension whose mean μ_d moves with x pays ½ E_x μ_d² ≥ ½ Var_x(μ_d) > 0 nats: it cannot be free"
    return close(got, ref, rel=1e-3) or f"got {got:g}"


# ----------------------------------------------------------------------------- q3 free bits
q = question("free_bits_code", 2, "free_bits_kl(kl_per_dim, lam): Σ_d max(λ, KL_d)")


def _kl_vec():
    return torch.tensor([0.01, 0.4, 2.0, 0.05, 1.2], dtype=torch.float64)


@q.check("matches a loop over the dimensions")
def _(fb):
    kl = _kl_vec()
    ref = sum(max(0.5, float(k)) for k in kl)
    got = as_float(call(fb, kl, 0.5))
    if close(got, max(0.5, float(kl.sum()))):
        return "you clamped the total KL; free bits clamps each dimension: Σ_d max(λ, KL_d)"
    return close(got, ref, rel=1e-6)


@q.check("gives no gradient to dimensions below λ (and gradient 1 above)",
         hint="use torch.clamp(kl_per_dim, min=lam) or torch.maximum, so autograd sees the max")
def _(fb):
    kl = _kl_vec().requires_grad_()
    out = call(fb, kl, 0.5)
    out.backward()
    want = torch.tensor([0.0, 0.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    return kl.grad is not None and bool(torch.allclose(kl.grad, want))

"""Checks for exercises/06_latent_space: why lerp leaves the prior's shell, slerp, the norm of the
posterior means under a perfectly matched prior, and what "nearby z, nearby x" means.

References: numerical integration (Gauss–Hermite) for norms of Gaussian vectors; for slerp, geometry (endpoints,
constant norm between unit vectors, equal angles for equal steps), measured on the output.
The by-hand questions (lerp_norm, midpoint_norms, matched_mu_norm) use each student's own numbers
(:func:`params`).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import Variant, call, close, fresh, multiple_choice, params, question

# ----------------------------------------------------------------------------- q1 a point on the lerp path

def _spaced(candidates, value, gap: float) -> list:
    """The candidates, in order, whose answer ``value(c)`` lies at least ``gap`` from every answer kept before
    (the first candidate, the default, is kept): a classmate's answer then never passes a check's tolerance."""
    kept, answers = [], []
    for c in candidates:
        if all(abs(value(c) - a) >= gap for a in answers):
            kept.append(c)
            answers.append(value(c))
    return kept


#: t < ½ (t and 1 − t give the same answer), never ½ (the lecture's midpoint): (t, its TeX form)
_LERP_T = [(0.1, r"\tfrac1{10}"), (0.125, r"\tfrac18"), (0.2, r"\tfrac15"), (0.25, r"\tfrac14"),
           (0.3, r"\tfrac3{10}"), (0.375, r"\tfrac38"), (0.4, r"\tfrac25")]
_LERP_DEFAULT = {"d": 64, "t": 0.25, "t_tex": r"\tfrac14"}
#: d in 20…160 (never the lecture's 16), answers d·((1 − t)² + t²) at least 0.5 apart and from the default's 40
#: (the hidden Monte Carlo check's four standard errors stay below 0.15 up to d = 160)
_LERP_VARIANTS = _spaced([_LERP_DEFAULT] + [{"d": d, "t": t, "t_tex": tex}
                                            for d in range(20, 161, 2)
                                            for t, tex in _LERP_T],
                         lambda v: v["d"] * ((1 - v["t"]) ** 2 + v["t"] ** 2), 0.5)[1:]


def _draw_lerp(d) -> dict:
    return dict(d.choice(_LERP_VARIANTS))


q = question("lerp_norm", 1, "E‖(1 − t)·z₀ + t·z₁‖² at your t for independent z₀, z₁ ~ N(0, I_d)",
             variant=Variant(_LERP_DEFAULT, _draw_lerp))


def _gauss_expectation(f, dims: int = 2) -> float:
    """E f(u₁, …, u_dims) for independent u_i ~ N(0, 1) by Gauss–Hermite quadrature (10 nodes per axis: exact for
    polynomials up to degree 19, so for the squares here)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(10)
    weights = weights / weights.sum()
    grids = np.meshgrid(*([nodes] * dims), indexing="ij")
    w = np.ones_like(grids[0])
    for g in np.meshgrid(*([weights] * dims), indexing="ij"):
        w = w * g
    return float(np.sum(w * f(*grids)))


@q.check("agrees with numerical integration", hint="E‖z‖² = d for z ~ N(0, I_d); (1 − t)z₀ + t z₁ ~ N(0, ((1 − t)² + t²) I)")
def _(answer):
    v = params("lerp_norm")
    # the coordinates are independent and alike: d times E[((1 − t)u + t w)²] over (u, w) ~ N(0, I₂), integrated
    ref = v.d * _gauss_expectation(lambda u, w: ((1 - v.t) * u + v.t * w) ** 2)
    if close(answer, v.d / 2):
        return "d/2 is the midpoint's value, t = ½; at your t the weights are 1 − t and t"
    if close(answer, float(v.d)):
        return "the weights add to 1, but the variances add as (1 − t)² + t², not ((1 − t) + t)²"
    if close(answer, (1 - v.t) ** 2 * v.d):
        return "(1 − t)²·d counts z₀'s share only; z₁ adds t²·d"
    return close(answer, ref)


# ----------------------------------------------------------------------------- q2 slerp
q = question("slerp_code", 3, "slerp(z0, z1, t): spherical interpolation between two latent vectors")


def _angle(a, b):
    return math.acos(max(-1.0, min(1.0, float(a @ b / (a.norm() * b.norm())))))


def _vecs(d=16, seed=0):
    g = torch.Generator().manual_seed(fresh(seed))
    return torch.randn(d, generator=g, dtype=torch.float64), 3 * torch.randn(d, generator=g, dtype=torch.float64)


@q.check("slerp(z0, z1, 0) = z0 and slerp(z0, z1, 1) = z1")
def _(slerp):
    z0, z1 = _vecs()
    a, b = call(slerp, z0, z1, 0.0), call(slerp, z0, z1, 1.0)
    return bool(torch.allclose(a, z0, atol=1e-6) and torch.allclose(b, z1, atol=1e-6))


@q.check("between unit vectors, every point has norm 1 (it stays on the sphere)",
         hint="lerp's midpoint has norm cos(Ω/2) < 1; slerp weights by sin((1-t)Ω)/sin Ω and sin(tΩ)/sin Ω")
def _(slerp):
    z0, z1 = (v / v.norm() for v in _vecs(seed=1))
    return all(abs(float(call(slerp, z0, z1, t).norm()) - 1.0) < 1e-6 for t in (0.1, 0.25, 0.5, 0.9))


@q.check("equal steps in t sweep equal angles (vectors of equal norm)", hint="the angle between z0 and slerp(t) must be t·Ω")
def _(slerp):
    z0, z1 = (3 * v / v.norm() for v in _vecs(seed=2))
    omega = _angle(z0, z1)
    return all(abs(_angle(z0, call(slerp, z0, z1, t)) - t * omega) < 1e-6 for t in (0.2, 0.5, 0.7))


@q.check("(almost) parallel vectors give finite output, not NaN",
         hint="sin Ω → 0 for parallel vectors: fall back to lerp when Ω is tiny")
def _(slerp):
    z0 = torch.tensor([3.0, 0.0, 0.0, 4.0], dtype=torch.float64)   # norms 5 and 10 exactly: cos Ω = 1, Ω = 0
    out = call(slerp, z0, 2 * z0, 0.5)
    return bool(torch.isfinite(out).all()) and bool(torch.allclose(out, 1.5 * z0, atol=1e-4))


# ----------------------------------------------------------------------------- q3 midpoint norms

def _draw_midpoint(d) -> dict:
    """Two vectors of equal norm r at an angle of 60°, 90° or 120° (cos(Ω/2) = √3/2, 1/√2, ½); r is never the
    default's 8, so the default's pair is wrong for every student."""
    r = d.choice([k / 2 for k in range(4, 81) if k != 16])      # 2, 2.5, …, 40, never 8
    return {"r": int(r) if r == int(r) else r, "angle": d.choice([60, 90, 120])}


q = question("midpoint_norms", 1, "norms of the lerp and slerp midpoints of your two vectors of equal norm",
             variant=Variant({"r": 8, "angle": 90}, _draw_midpoint))


@q.check("(‖lerp midpoint‖, ‖slerp midpoint‖) measured on two such vectors",
         hint="lerp: ‖(z₀+z₁)/2‖ = ½√(‖z₀‖² + ‖z₁‖² + 2 z₀·z₁) with z₀·z₁ = r² cos Ω; "
              "slerp keeps the norm of its endpoints")
def _(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise TypeError("expected a pair (lerp_norm, slerp_norm)")
    v = params("midpoint_norms")
    omega = math.radians(v.angle)
    # two vectors of norm r at angle Ω in a random plane of R⁶⁴ (orthonormal e₁, e₂ from a QR factorisation)
    basis, _ = torch.linalg.qr(torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    e1, e2 = basis[:, 0], basis[:, 1]
    z0, z1 = v.r * e1, v.r * (math.cos(omega) * e1 + math.sin(omega) * e2)
    lerp_ref = float(((z0 + z1) / 2).norm())
    half = v.r * (math.cos(omega / 2) * e1 + math.sin(omega / 2) * e2)   # z₀ rotated by half the angle
    lerp_ok, slerp_ok = close(answer[0], lerp_ref), close(answer[1], float(half.norm()))
    if lerp_ok and slerp_ok:
        return True
    if not lerp_ok and close(answer[0], v.r):
        return "lerp's midpoint is shorter than its endpoints: it cuts through the inside of the sphere"
    if not lerp_ok and v.angle != 90 and close(answer[0], v.r / math.sqrt(2)):
        return "r/√2 holds for orthogonal vectors only; here z₀·z₁ = r² cos Ω is not 0"
    if lerp_ok and close(answer[1], lerp_ref):
        return "that is lerp's midpoint again: slerp keeps the norm of its endpoints"
    return False


# ----------------------------------------------------------------------------- q4 posterior means, matched prior

_MATCHED_DEFAULT = {"d": 32, "sigma2": 0.15}
#: d (never the lecture's 16) and the mean posterior variance E σ_u² in 0.05…0.45 (never ½: d·E σ² is a named
#: mistake); answers d·(1 − E σ²) at least 1 apart and from the default's 27.2
_MATCHED_VARIANTS = _spaced([_MATCHED_DEFAULT] + [{"d": d, "sigma2": s2}
                                                  for d in range(10, 161, 2) if d != 16
                                                  for s2 in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)],
                            lambda v: v["d"] * (1 - v["sigma2"]), 0.5)[1:]


def _draw_matched(d) -> dict:
    return dict(d.choice(_MATCHED_VARIANTS))


q = question("matched_mu_norm", 1, "E‖μ‖² when the aggregate posterior equals the prior (your d and E σ_u²)",
             variant=Variant(_MATCHED_DEFAULT, _draw_matched))


@q.check("agrees with codes whose aggregate is exactly N(0, I)",
         hint="per dimension E_q[z²] = E[μ²] + E[σ²] = 1 when q(z) = p(z); sum E[μ²] over the d dimensions")
def _(answer):
    v = params("matched_mu_norm")
    # centres μ = √(1 − σ²)·u and codes z = μ + σ·w, u, w ~ N(0, 1) per dimension: their mixture is exactly N(0, 1)
    # (E z² = 1 and E z⁴ = 3, integrated); E‖μ‖² is then d times E μ², integrated the same way
    s = math.sqrt(1 - v.sigma2)
    z2 = _gauss_expectation(lambda u, w: (s * u + math.sqrt(v.sigma2) * w) ** 2)
    z4 = _gauss_expectation(lambda u, w: (s * u + math.sqrt(v.sigma2) * w) ** 4)
    assert abs(z2 - 1) < 1e-9 and abs(z4 - 3) < 1e-9, "the construction's aggregate is not N(0, 1)"
    ref = v.d * _gauss_expectation(lambda u, w: (s * u) ** 2)
    if close(answer, float(v.d)):
        return "d is E‖z‖² under the prior; the centres are narrower: each posterior's own variance takes its share"
    if close(answer, v.d * (1 + v.sigma2)):
        return "subtract the posterior variance, don't add it: E_q[z²] = E[μ²] + E[σ²] = 1"
    if close(answer, 1 - v.sigma2):
        return "that is one dimension; sum over all d"
    if close(answer, v.d * v.sigma2):
        return "that is Σ E σ², the posteriors' own share of E‖z‖² = d; the centres get the rest"
    return close(answer, ref)


# ----------------------------------------------------------------------------- q5 nearby z, nearby x
q = question("nearby_codes", 1, "what lecture 06 found about \"nearby z decode to nearby x\"")


multiple_choice(q, 2, {
    1: "measured: the same step of 0.1 in z moved the decoded image by different amounts in different places",
    3: "the decoder is a continuous function of z: a small enough step always changes the image little",
    4: "the reconstruction term only scores the decodings of codes of training images; it says nothing directly "
       "about the images in between",
})

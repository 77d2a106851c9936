"""Checks for exercises/06_latent_space: why lerp leaves the prior's shell, slerp, the norm of the
posterior means under a perfectly matched prior, and what "nearby z, nearby x" means.

References: Monte Carlo for norms of Gaussian vectors; for slerp, geometry (endpoints,
constant norm between unit vectors, equal angles for equal steps), measured on the output.
"""
from __future__ import annotations

import math

import torch

from . import as_float, call, close, fresh, question

# ----------------------------------------------------------------------------- q1 a point on the lerp path
q = question("lerp_norm", 1, "E‖(1 − t)·z₀ + t·z₁‖² at t = ¼ for independent z₀, z₁ ~ N(0, I₆₄)")


@q.check("agrees with Monte Carlo", hint="E‖z‖² = d for z ~ N(0, I_d); (1 − t)z₀ + t z₁ ~ N(0, ((1 − t)² + t²) I)")
def _(answer):
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 20_000, 64, generator=g, dtype=torch.float64)
    mc = float((0.75 * z0 + 0.25 * z1).pow(2).sum(1).mean())
    if close(answer, 32.0):
        return "32 = d/2 is the midpoint, t = ½; at t = ¼ the weights are ¾ and ¼"
    if close(answer, 64.0):
        return "the weights add to 1, but the variances add as (1 − t)² + t², not ((1 − t) + t)²"
    if close(answer, 36.0):
        return "(¾)²·64 counts z₀'s share only; z₁ adds (¼)²·64"
    return abs(as_float(answer) - mc) < 0.3


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
q = question("midpoint_norms", 1, "norms of the lerp and slerp midpoints of two orthogonal vectors of norm 8")


@q.check("(‖lerp midpoint‖, ‖slerp midpoint‖) measured on orthogonal vectors of norm 8",
         hint="lerp: ‖(z₀+z₁)/2‖ = √(64+64)/2; slerp keeps the norm of its endpoints")
def _(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise TypeError("expected a pair (lerp_norm, slerp_norm)")
    z0, z1 = torch.zeros(64, dtype=torch.float64), torch.zeros(64, dtype=torch.float64)
    z0[0], z1[1] = 8.0, 8.0
    lerp_ref = float(((z0 + z1) / 2).norm())
    rot = math.cos(math.pi / 4) * z0 + math.sin(math.pi / 4) * z1   # a rotation by half the 90° angle
    return close(answer[0], lerp_ref) and close(answer[1], float(rot.norm()))


# ----------------------------------------------------------------------------- q4 posterior means, matched prior
q = question("matched_mu_norm", 1, "E‖μ‖² when the aggregate posterior equals the prior (d = 32, E σ_u² = 0.15)")


@q.check("agrees with codes whose aggregate is exactly N(0, I)",
         hint="per dimension E_q[z²] = E[μ²] + E[σ²] = 1 when q(z) = p(z); sum E[μ²] over the 32 dimensions")
def _(answer):
    # centres μ ~ N(0, 0.85 I) and posteriors N(μ, 0.15 I): their mixture is exactly N(0, I)
    g = torch.Generator().manual_seed(0)
    mu = math.sqrt(0.85) * torch.randn(20_000, 32, generator=g, dtype=torch.float64)
    mc = float(mu.pow(2).sum(1).mean())
    if close(answer, 32.0):
        return "32 is E‖z‖² under the prior; the centres are narrower: each posterior's own variance takes its share"
    if close(answer, 32 * 1.15):
        return "subtract the posterior variance, don't add it: E_q[z²] = E[μ²] + E[σ²] = 1"
    if close(answer, 0.85):
        return "that is one dimension; sum over all 32"
    return abs(as_float(answer) - mc) < 0.3


# ----------------------------------------------------------------------------- q5 nearby z, nearby x
q = question("nearby_codes", 1, "what lecture 06 found about \"nearby z decode to nearby x\"")


@q.check("the right option")
def _(answer):
    from .conv_vae import choice
    wrong = {
        1: "measured: the same step of 0.1 in z moved the decoded image by different amounts in different places",
        3: "the decoder is a continuous function of z: a small enough step always changes the image little",
        4: "the reconstruction term only scores the decodings of codes of training images; it says nothing directly "
           "about the images in between",
    }
    picked = choice(answer, 4)
    return True if picked == 2 else wrong[picked]

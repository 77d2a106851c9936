"""Checks for exercises/06_latent_space: why lerp leaves the prior's shell, and slerp.

References: Monte Carlo for norms of Gaussian vectors; for slerp, geometry (endpoints,
constant norm between unit vectors, equal angles for equal steps), measured on the output.
"""
from __future__ import annotations

import math

import torch

from . import as_float, call, close, fresh, question

# ----------------------------------------------------------------------------- q1 lerp midpoint
q = question("lerp_norm", 1, "E‖(z₀ + z₁)/2‖² for independent z₀, z₁ ~ N(0, I₆₄)")


@q.check("agrees with Monte Carlo", hint="E‖z‖² = d for z ~ N(0, I_d); (z₀ + z₁)/2 ~ N(0, ½ I)")
def _(answer):
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 20_000, 64, generator=g, dtype=torch.float64)
    mc = float(((z0 + z1) / 2).pow(2).sum(1).mean())
    if close(answer, 16.0):
        return "(z₀ + z₁)/2 has variance ¼ + ¼ = ½ per dimension, not ¼"
    return abs(as_float(answer) - mc) < 0.2


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

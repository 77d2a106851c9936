"""Checks for exercises/03_elbo: the exact linear-Gaussian model z ~ N(0,1), x|z ~ N(w z + b, s²).

References by brute force on a grid of z (log p(x) = log ∫ p(x|z) p(z) dz by the trapezoid
rule in log space; the posterior by Bayes' rule on the grid) and by Monte Carlo with
torch.distributions: none of them uses the closed forms the student writes.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch.distributions import Normal

from . import Variant, as_float, call, close, multiple_choice, params, question

Z = torch.linspace(-20.0, 20.0, 40_001, dtype=torch.float64)   # the trapezoid rule converges fast here
DZ = float(Z[1] - Z[0])
PARAMS = [(3.0, 2.0, 0.5, 1.0), (-1.0, 0.5, 0.0, 0.3), (0.7, -1.5, 2.0, 2.0)]   # (x, w, b, s)


def _log_joint(x, w, b, s):
    return Normal(0.0, 1.0).log_prob(Z) + Normal(w * Z + b, s).log_prob(torch.tensor(x, dtype=torch.float64))


@lru_cache(maxsize=None)
def grid_log_px(x, w, b, s) -> float:
    return float(torch.logsumexp(_log_joint(x, w, b, s), 0) + math.log(DZ))


@lru_cache(maxsize=None)
def grid_posterior(x, w, b, s) -> tuple[float, float]:
    post = torch.softmax(_log_joint(x, w, b, s), 0)
    m = float((post * Z).sum())
    return m, float((post * (Z - m) ** 2).sum())


@lru_cache(maxsize=None)
def mc_elbo(x, m, v, w, b, s, n=200_000) -> float:
    g = torch.Generator().manual_seed(0)
    q = Normal(torch.tensor(m, dtype=torch.float64), math.sqrt(v))
    z = q.loc + q.scale * torch.randn(n, generator=g, dtype=torch.float64)
    log_w = Normal(0.0, 1.0).log_prob(z) + Normal(w * z + b, s).log_prob(torch.tensor(x, dtype=torch.float64)) - q.log_prob(z)
    return float(log_w.mean()), float(log_w.std() / math.sqrt(n))   # estimate and its standard error


def grid_kl_q_post(x, m, v, w, b, s) -> float:
    log_post = _log_joint(x, w, b, s) - grid_log_px(x, w, b, s)
    q = Normal(torch.tensor(m, dtype=torch.float64), math.sqrt(v))
    qz = q.log_prob(Z).exp()
    return float((qz * (q.log_prob(Z) - log_post)).sum() * DZ)


# ----------------------------------------------------------------------------- q1 log p(x)
q = question("elbo_log_px", 2, "log_px(x, w, b, s): the exact log-evidence of the linear-Gaussian model")


@q.check("matches numerical integration of p(x|z) p(z) over z")
def _(log_px):
    for x, w, b, s in PARAMS:
        got, ref = as_float(call(log_px, x, w, b, s)), grid_log_px(x, w, b, s)
        wrong_var = float(Normal(b, math.sqrt(abs(w) + s**2)).log_prob(torch.tensor(x)))
        if close(got, wrong_var, rel=1e-4) and not close(got, ref):
            return "the variance of w·z is w², not w: x ~ N(b, w² + s²)"
        if not close(got, ref, rel=1e-4):
            return f"for (x, w, b, s) = {(x, w, b, s)} got {got:.6g}, expected {ref:.6g}: x ~ N(b, w² + s²)"
    return True


@q.check("log p(x) ≤ log of the density's peak", hint="a log-density of N(b, v) at its mean is -½ log(2πv)")
def _(log_px):
    return as_float(call(log_px, 0.5, 2.0, 0.5, 1.0)) <= -0.5 * math.log(2 * math.pi * 5.0) + 1e-6


# ----------------------------------------------------------------------------- q2 posterior
q = question("elbo_posterior", 2, "posterior(x, w, b, s) → (mean, variance) of p(z|x)")


def _posterior_pairs(post):
    for x, w, b, s in PARAMS:
        out = call(post, x, w, b, s)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError("posterior must return a pair (mean, variance)")
        yield (x, w, b, s), as_float(out[0]), as_float(out[1])


@q.check("posterior mean matches Bayes' rule on a grid", hint="mean = w (x - b) / (w² + s²)")
def _(post):
    for params, m, _ in _posterior_pairs(post):
        if not close(m, grid_posterior(*params)[0], rel=1e-4):
            return f"for (x, w, b, s) = {params} the mean should be {grid_posterior(*params)[0]:.6g}, got {m:.6g}"
    return True


@q.check("posterior variance matches Bayes' rule on a grid", hint="variance = s² / (w² + s²)")
def _(post):
    for params, _, v in _posterior_pairs(post):
        ref = grid_posterior(*params)[1]
        if close(v, math.sqrt(ref), rel=1e-4):
            return "that is the standard deviation; return the variance"
        if not close(v, ref, rel=1e-4):
            return f"for (x, w, b, s) = {params} the variance should be {ref:.6g}, got {v:.6g}"
    return True


# ----------------------------------------------------------------------------- q3 the ELBO
q = question("elbo_value", 2, "elbo(x, m, v, w, b, s) for q(z) = N(m, v)")


@q.check("matches a Monte Carlo estimate of E_q[log p(x,z) - log q(z)]")
def _(elbo):
    for (x, w, b, s), (m, v) in zip(PARAMS, [(0.5, 0.4), (0.0, 1.0), (-1.0, 0.2)]):
        got, (ref, se) = as_float(call(elbo, x, m, v, w, b, s)), mc_elbo(x, m, v, w, b, s)
        if not abs(got - ref) <= max(0.02, 4 * se):      # (written so that NaN fails)
            return (f"for x={x}, q=N({m}, {v}) got {got:.5g}, Monte Carlo says {ref:.5g}; "
                    "remember E_q[(x - wz - b)²] = (x - wm - b)² + w² v")
    return True


@q.check("equals log p(x) when q is the exact posterior (the bound is tight)")
def _(elbo):
    x, w, b, s = PARAMS[0]
    m, v = grid_posterior(x, w, b, s)
    return close(call(elbo, x, m, v, w, b, s), grid_log_px(x, w, b, s), rel=1e-4)


# ----------------------------------------------------------------------------- q4 the gap

def _gaussian_kl(m1, v1, m2, v2) -> float:
    """KL(N(m1, v1) ‖ N(m2, v2)), v a variance (only to name mistakes; the reference integrates on the grid)."""
    return 0.5 * (math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)


def _draw_gap(d) -> dict:
    """x, w, b, s in halves, s in {0.5, 1, 1.5, 2}; q = N(0, 1) the prior; a gap of 0.3 to 20 nats.

    Never lecture 03's model (w = 2, b = 0.5, s = 0.8, x = 2): w is never 2 and s never 0.8."""
    while True:
        v = {"x": d.choice([k / 2 for k in range(-6, 9)]),
             "w": d.choice([-3.0, -2.5, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.5, 3.0]),
             "b": d.choice([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5]),
             "s": d.choice([0.5, 1.0, 1.5, 2.0])}
        m, var = v["w"] * (v["x"] - v["b"]) / (v["w"] ** 2 + v["s"] ** 2), v["s"] ** 2 / (v["w"] ** 2 + v["s"] ** 2)
        if 0.3 <= _gaussian_kl(0.0, 1.0, m, var) <= 20:
            return v


q = question("elbo_gap", 1, "KL(q‖p(z|x)) for your x, w, b, s and q = N(0, 1)",
             variant=Variant({"x": -2.5, "w": 3.0, "b": -0.5, "s": 2.0}, _draw_gap))


@q.check("equals KL(q‖posterior) by numerical integration (= log p(x) - ELBO)",
         hint="KL(N(m,v)‖N(m',v')) with the posterior's mean and variance from question 2")
def _(answer):
    v = params("elbo_gap")
    ref = grid_kl_q_post(v.x, 0.0, 1.0, v.w, v.b, v.s)
    got = as_float(answer)
    m, var = grid_posterior(v.x, v.w, v.b, v.s)
    mistakes = {"that is KL(p(z|x)‖q), the other direction: the gap is KL(q‖p(z|x)), averaged under q":
                _gaussian_kl(m, var, 0.0, 1.0),
                "the posterior's variance is s²/(w² + s²); you used its standard deviation as the variance":
                _gaussian_kl(0.0, 1.0, m, math.sqrt(var))}
    for hint, wrong in mistakes.items():
        if close(got, wrong, rel=1e-4) and not close(wrong, ref, rel=1e-4):
            return hint
    return close(got, ref, rel=1e-4)


# ----------------------------------------------------------------------------- understanding: order the derivation
q = question("elbo_steps_order", 1, "the Jensen derivation of the ELBO, steps in order")

#: the shuffled steps as the exercise shows them (label → what the line says)
ELBO_STEPS = {
    "P": "≥ E_q[log p(x, z)/q(z|x)]                    (Jensen: log is concave)",
    "Q": "= E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))        (split log p(x, z) = log p(x|z) + log p(z))",
    "R": "log p(x) = log ∫ p(x, z) dz                  (marginalise the joint)",
    "S": "= log E_q[p(x, z)/q(z|x)]                    (an integral against a density is an expectation)",
    "T": "= log ∫ q(z|x) p(x, z)/q(z|x) dz             (multiply and divide by q(z|x) > 0)",
}


def _order(answer) -> str:
    if not isinstance(answer, str):
        raise TypeError("answer with the five letters in order, as one string, e.g. 'PQRST'")
    letters = "".join(ch for ch in answer.upper() if not ch.isspace() and ch not in ",-→>")
    if sorted(letters) != sorted(ELBO_STEPS):
        raise TypeError(f"use each of the letters {', '.join(ELBO_STEPS)} exactly once")
    return letters


@q.check("each step follows from the one before", hint="start from log p(x) and end at reconstruction − KL")
def _(answer):
    order = _order(answer)
    pos = {ch: i for i, ch in enumerate(order)}
    if order[0] != "R":
        return "the derivation starts from what we want to bound, log p(x) (step R)"
    if pos["P"] < pos["S"]:
        return "Jensen's inequality applies to the log of an expectation: rewrite the integral as E_q[·] first (S before P)"
    if pos["S"] < pos["T"]:
        return "there is no expectation under q until q has been brought in: multiply and divide by q (T) before S"
    if pos["Q"] < pos["P"]:
        return "reconstruction − KL is what the expectation of the log splits into, after Jensen (P before Q)"
    # the order is R T S P Q; confirm the two equalities numerically on lecture 03's exact model
    from vae_course.elbo import LinearGaussian
    model, x, mu, logvar = LinearGaussian(w=2.0, b=0.5, s=0.8), 2.0, -1.0, 0.0
    bound = float(model.elbo(x, mu, logvar))
    return order == "RTSPQ" and bound <= float(model.log_px(x))


# ----------------------------------------------------------------------------- understanding: the IWAE bound
q = question("iwae_behaviour", 1, "what happens to the IWAE bound L_k as k grows")

IWAE_FEEDBACK = {
    "a": "every L_k is a lower bound: Jensen applies to the average of the k weights just as to one weight, so "
         "L_k ≤ log p(x) for every k (lecture 03, section 5)",
    "c": "more samples do not only reduce noise: the bound itself moves, because Jensen's gap for an average of k "
         "weights shrinks as the average concentrates on p(x)",
    "d": "more samples from a poor q never hurt the bound: L_k ≤ L_k' for k ≤ k' (Burda et al., 2016)",
}


def _iwae_rises_below_log_px() -> bool:
    """On lecture 03's exact model with a poor q: L_1 < L_64 < log p(x)."""
    import torch
    from vae_course.elbo import LinearGaussian
    model, x = LinearGaussian(w=2.0, b=0.5, s=0.8), 2.0
    g = torch.Generator().manual_seed(0)
    l1 = float(model.iwae(x, -1.0, 0.0, k=1, n=4000, generator=g))
    l64 = float(model.iwae(x, -1.0, 0.0, k=64, n=500, generator=g))
    return l1 < l64 < float(model.log_px(x))


multiple_choice(q, "b", IWAE_FEEDBACK, name="the option that describes L_k",
                hint="L_1 is the ELBO; what does averaging k weights do to Jensen's gap?", witness=_iwae_rises_below_log_px)

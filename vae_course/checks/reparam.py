"""Checks for exercises/04_reparameterization.

References: quantile matching with torch.distributions.Normal (z must sit at the same
quantile of N(μ, σ²) as ε does of N(0, 1)), finite differences, and Monte Carlo gradients
through ``Normal.rsample``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch.distributions import Normal

from . import Variant, as_float, call, close, fresh, multiple_choice, params, question

# ----------------------------------------------------------------------------- q1 reparameterize
q = question("reparam_code", 3, "reparameterize(mu, logvar, eps): a draw from N(μ, σ²) that gradients pass through")


def _inputs():
    g = torch.Generator().manual_seed(fresh(0))
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(4, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(4, 3, generator=g, dtype=torch.float64)
    return mu, logvar, eps


@q.check("returns a tensor shaped like mu")
def _(rep):
    mu, logvar, eps = _inputs()
    z = call(rep, mu, logvar, eps)
    return isinstance(z, torch.Tensor) and z.shape == mu.shape


@q.check("z sits at ε's quantile of N(μ, σ²) with σ = exp(½ logvar)")
def _(rep):
    mu, logvar, eps = _inputs()
    z = call(rep, mu, logvar, eps).detach()
    want = Normal(0.0, 1.0).cdf(eps)
    if torch.allclose(Normal(mu, logvar.exp()).cdf(z), want, atol=1e-6):
        return "you used exp(logvar) = σ² as the scale: σ = exp(½·logvar)"
    if torch.allclose(z, mu + logvar * eps, atol=1e-6):
        return "logvar is log σ², not σ: σ = exp(½·logvar)"
    return bool(torch.allclose(Normal(mu, (0.5 * logvar).exp()).cdf(z), want, atol=1e-6))


@q.check("gradients reach mu and logvar (checked by finite differences)",
         hint="don't detach or sample with torch.normal(mu, ...): write z = mu + sigma * eps")
def _(rep):
    mu, logvar, eps = _inputs()
    mu, logvar = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    call(rep, mu, logvar, eps).sum().backward()
    if mu.grad is None or logvar.grad is None:
        return False
    h = 1e-6
    with torch.no_grad():
        fd = (call(rep, mu, logvar + h, eps) - call(rep, mu, logvar - h, eps)) / (2 * h)
        fd_mu = (call(rep, mu + h, logvar, eps) - call(rep, mu - h, logvar, eps)) / (2 * h)
    return bool(torch.allclose(logvar.grad, fd, atol=1e-5) and torch.allclose(mu.grad, fd_mu, atol=1e-5))


# ----------------------------------------------------------------------------- q2 one draw by hand

#: σ² → how the question writes log σ² (σ = 1/2, 1, 3/2, 2, 3)
LOGVAR_TEXT = {0.25: "log 0.25", 1.0: "0", 2.25: "log 2.25", 4.0: "log 4", 9.0: "log 9"}


def _logvar_text(var) -> str:
    return "(" + ", ".join(LOGVAR_TEXT[v] for v in var) + ")"


def _draw_by_hand(d) -> dict:
    """μ in halves from -2.5 to 2.5, σ in {1/2, 1, 3/2, 2, 3} (not both 1), ε in ±{1/2, 1, 3/2, 2}.

    With some σ ≠ 1 and every ε ≠ 0, using σ² (or log σ²) as the scale always gives another z."""
    while True:
        var = tuple(d.choice(list(LOGVAR_TEXT)) for _ in range(2))
        if var != (1.0, 1.0):
            break
    return {"mu": tuple(d.choice([k / 2 for k in range(-5, 6)]) for _ in range(2)), "var": var,
            "logvar_text": _logvar_text(var),
            "eps": tuple(d.choice([s * k / 2 for k in range(1, 5) for s in (1, -1)]) for _ in range(2))}


q = question("reparam_by_hand", 1, "z = μ + σ·ε by hand for your mu, logvar and eps",
             variant=Variant({"mu": (-1.5, 2.5), "var": (9.0, 2.25), "logvar_text": _logvar_text((9.0, 2.25)),
                              "eps": (-0.5, 2.0)}, _draw_by_hand))


def _z(answer):
    z = torch.as_tensor(answer, dtype=torch.float64).flatten()
    if z.numel() != 2:
        raise TypeError(f"expected two numbers, got {z.numel()}")
    return z


@q.check("z at ε's quantile of N(μ, σ²) for your numbers", hint="σ = exp(½·logvar): σ² = exp(logvar)")
def _(answer):
    v = params("reparam_by_hand")
    z = _z(answer)
    mu, var, eps = (torch.tensor(v[k], dtype=torch.float64) for k in ("mu", "var", "eps"))
    ref = Normal(mu, var.sqrt()).icdf(Normal(0.0, 1.0).cdf(eps))
    if torch.allclose(z, mu + var * eps, atol=1e-4):
        return "σ = exp(½ logvar) is the square root of exp(logvar): you used the variance as the scale"
    if torch.allclose(z, mu + var.log() * eps, atol=1e-4):
        return "logvar is log σ², not σ: σ = exp(½·logvar)"
    return bool(torch.allclose(z, ref, atol=1e-4))


# ----------------------------------------------------------------------------- q3 pathwise gradient

#: σ for the gradient question: never 1/2 (the lecture's σ, and ∂/∂σ² = 1 = 2σ) nor 2 (σ² = 2σ)
GRAD_SIGMAS = (0.25, 0.3, 0.4, 0.6, 0.75, 0.8, 1.0, 1.2, 1.25, 1.5, 1.75, 2.5, 3.0)


def _draw_gradient(d) -> dict:
    """μ in ±{1/2, 1, …, 4}, σ in GRAD_SIGMAS: where the mistakes σ² and ∂/∂σ² = 1 are never right."""
    while True:
        v = {"mu": d.choice([s * k / 2 for k in range(1, 9) for s in (1, -1)]), "sigma": d.choice(GRAD_SIGMAS)}
        if (v["mu"], v["sigma"]) != (-2.5, 1.5):                  # never the fixed variant's (exercises/ is public)
            return v


q = question("reparam_gradient", 2, "∂/∂μ and ∂/∂σ of E[z²], z ~ N(μ, σ²) for your μ, σ",
             variant=Variant({"mu": -2.5, "sigma": 1.5}, _draw_gradient))

MC_SAMPLES = 1_000_000


@lru_cache(maxsize=None)
def _mc_grads(mu: float, sigma: float):
    """Pathwise gradients of the mean of z² over MC_SAMPLES draws, and their standard errors."""
    mu_t = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
    sigma_t = torch.tensor(sigma, dtype=torch.float64, requires_grad=True)
    with torch.random.fork_rng(devices=[]):          # a fixed seed, without touching the notebook's random state
        torch.manual_seed(0)
        z = Normal(mu_t, sigma_t).rsample((MC_SAMPLES,))
    (z ** 2).mean().backward()
    zd = z.detach()
    eps = (zd - mu) / sigma
    # per-sample pathwise gradients: ∂z²/∂μ = 2z, ∂z²/∂σ = 2zε
    se = (float((2 * zd).std()) / math.sqrt(MC_SAMPLES), float((2 * zd * eps).std()) / math.sqrt(MC_SAMPLES))
    return float(mu_t.grad), float(sigma_t.grad), se


def _pair(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise TypeError("expected a pair (d_mu, d_sigma)")
    return as_float(answer[0]), as_float(answer[1])


@q.check("∂/∂μ E[z²] agrees with a Monte Carlo pathwise gradient", hint="E[z²] = μ² + σ²")
def _(answer):
    v = params("reparam_gradient")
    mc_mu, _, (se_mu, _) = _mc_grads(v.mu, v.sigma)
    return abs(_pair(answer)[0] - mc_mu) < max(0.03, 4 * se_mu)


@q.check("∂/∂σ E[z²] agrees with a Monte Carlo pathwise gradient", hint="E[z²] = μ² + σ²: differentiate in σ, not σ²")
def _(answer):
    v = params("reparam_gradient")
    got = _pair(answer)[1]
    _, mc_sigma, (_, se_sigma) = _mc_grads(v.mu, v.sigma)
    if close(got, v.sigma**2) and not close(v.sigma**2, 2 * v.sigma):
        return "that is σ² itself; the derivative of σ² with respect to σ is 2σ"
    if close(got, 1.0) and not close(1.0, 2 * v.sigma):
        return "that is ∂/∂(σ²); the question asks for ∂/∂σ, and ∂(σ²)/∂σ = 2σ"
    return abs(got - mc_sigma) < max(0.03, 4 * se_sigma)


# ----------------------------------------------------------------------------- understanding: two estimators
q = question("score_vs_pathwise", 1, "score-function vs pathwise gradient of E[(z − 1)²], z ~ N(0.5, 0.25)")

SCORE_FEEDBACK = {
    "a": "both are unbiased: E_q[f(z) ∇ log q(z)] is exactly ∇E_q[f] (the log-derivative identity); the score "
         "function needs no derivative of f, but it is not biased",
    "c": "not for every f: for f(z) = sin(5z) the slope is large while f stays small, and the score function "
         "wins (lecture 04, section 4)",
    "d": "both variances fall like 1/n, but from different levels: the same slope does not mean the same variance",
}


def _per_sample_variances(n: int = 200_000, seed: int = 0):
    """Variance of one-sample ∂/∂μ estimates, pathwise f'(z) and score f(z)(z − μ)/σ², by Monte Carlo."""
    rng = np.random.default_rng(seed)
    mu, sigma = 0.5, 0.5
    z = mu + sigma * rng.standard_normal(n)
    pathwise = 2 * (z - 1)
    score = (z - 1) ** 2 * (z - mu) / sigma**2
    return pathwise.mean(), pathwise.var(), score.mean(), score.var()


def _same_mean_more_variance() -> bool:
    """Same mean (the exact ∂/∂μ is 2(μ − 1) = −1), several times the variance for the score function."""
    m_path, v_path, m_score, v_score = _per_sample_variances()
    return abs(m_path + 1) < 0.02 and abs(m_score + 1) < 0.05 and v_score > 3 * v_path


multiple_choice(q, "b", SCORE_FEEDBACK, name="the option that describes the two estimators here",
                hint="both estimate the same gradient; compare what one sample of each varies by",
                witness=_same_mean_more_variance)


# ----------------------------------------------------------------------------- understanding: why sampling blocks gradients
q = question("sampling_gradient", 1, "why an encoder trained through torch.normal(mu, sigma) never learns")

SAMPLING_FEEDBACK = {
    "a": "that is Normal(mu, sigma).sample(), which detaches z from the graph; torch.normal keeps z in the graph "
         "and fails silently (lecture 04, section 1)",
    "c": "a noisy but right gradient is the score-function estimator's story; torch.normal gives no gradient to "
         "the mean and standard deviation at all",
    "d": "continuous latents have the problem too; the reparameterization z = μ + σ·ε is the fix for them",
}


def _torch_normal_gives_zero_gradients() -> bool:
    """z = torch.normal(mu, sigma) stays in the graph, but mu and sigma get zero gradients."""
    mu = torch.tensor(1.0, requires_grad=True)
    sigma = torch.tensor(2.0, requires_grad=True)
    z = torch.normal(mu, sigma)
    z.backward()
    return z.requires_grad and float(mu.grad) == 0.0 and float(sigma.grad) == 0.0


multiple_choice(q, "b", SAMPLING_FEEDBACK, name="the option that describes torch.normal's gradient",
                hint="run it: z = torch.normal(mu, sigma); z.backward()", witness=_torch_normal_gives_zero_gradients)

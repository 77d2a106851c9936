"""Checks for exercises/04_reparameterization.

References: quantile matching with torch.distributions.Normal (z must sit at the same
quantile of N(μ, σ²) as ε does of N(0, 1)), finite differences, and Monte Carlo gradients
through ``Normal.rsample``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch.distributions import Normal

from . import as_float, call, close, fresh, question

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
q = question("reparam_by_hand", 1, "z for mu = (0, 1), logvar = (0, log 4), eps = (1, -1)")


@q.check("z = (1, -1)", hint="σ = exp(½·logvar) = (1, 2)")
def _(answer):
    z = torch.as_tensor(answer, dtype=torch.float64).flatten()
    ref = Normal(torch.tensor([0.0, 1.0], dtype=torch.float64), torch.tensor([1.0, 2.0], dtype=torch.float64)).icdf(
        Normal(0.0, 1.0).cdf(torch.tensor([1.0, -1.0], dtype=torch.float64)))
    if z.numel() == 2 and torch.allclose(z, torch.tensor([1.0, -3.0], dtype=torch.float64)):
        return "σ₂ = exp(½ log 4) = 2, not 4: you used the variance as the scale"
    return z.numel() == 2 and bool(torch.allclose(z, ref, atol=1e-4))


# ----------------------------------------------------------------------------- q3 pathwise gradient
q = question("reparam_gradient", 2, "∂/∂μ and ∂/∂σ of E[z²], z ~ N(μ = 1.5, σ² = 0.5²)")


@lru_cache(maxsize=None)
def _mc_grads():
    torch.manual_seed(0)
    mu = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    (Normal(mu, sigma).rsample((400_000,)) ** 2).mean().backward()
    return float(mu.grad), float(sigma.grad)


def _pair(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise TypeError("expected a pair (d_mu, d_sigma)")
    return as_float(answer[0]), as_float(answer[1])


@q.check("∂/∂μ E[z²] agrees with a Monte Carlo pathwise gradient", hint="E[z²] = μ² + σ²")
def _(answer):
    return abs(_pair(answer)[0] - _mc_grads()[0]) < 0.03


@q.check("∂/∂σ E[z²] agrees with a Monte Carlo pathwise gradient", hint="E[z²] = μ² + σ²: differentiate in σ, not σ²")
def _(answer):
    got = _pair(answer)[1]
    if close(got, 0.25):
        return "that is σ² itself; the derivative of σ² with respect to σ is 2σ"
    return abs(got - _mc_grads()[1]) < 0.03


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


@q.check("the option that describes the two estimators here",
         hint="both estimate the same gradient; compare what one sample of each varies by")
def _(answer):
    if not isinstance(answer, str) or answer.strip().lower() not in ("a", "b", "c", "d"):
        raise TypeError("answer with one of the letters 'a', 'b', 'c', 'd' (a string)")
    letter = answer.strip().lower()
    if letter in SCORE_FEEDBACK:
        return SCORE_FEEDBACK[letter]
    m_path, v_path, m_score, v_score = _per_sample_variances()
    # same mean (the exact ∂/∂μ is 2(μ − 1) = −1), several times the variance
    return abs(m_path + 1) < 0.02 and abs(m_score + 1) < 0.05 and v_score > 3 * v_path


# ----------------------------------------------------------------------------- understanding: why sampling blocks gradients
q = question("sampling_gradient", 1, "why an encoder trained through torch.normal(mu, sigma) never learns")

SAMPLING_FEEDBACK = {
    "a": "that is Normal(mu, sigma).sample(), which detaches z from the graph; torch.normal keeps z in the graph "
         "and fails silently (lecture 04, section 1)",
    "c": "a noisy but right gradient is the score-function estimator's story; torch.normal gives no gradient to "
         "the mean and standard deviation at all",
    "d": "continuous latents have the problem too; the reparameterization z = μ + σ·ε is the fix for them",
}


@q.check("the option that describes torch.normal's gradient", hint="run it: z = torch.normal(mu, sigma); z.backward()")
def _(answer):
    if not isinstance(answer, str) or answer.strip().lower() not in ("a", "b", "c", "d"):
        raise TypeError("answer with one of the letters 'a', 'b', 'c', 'd' (a string)")
    letter = answer.strip().lower()
    if letter in SAMPLING_FEEDBACK:
        return SAMPLING_FEEDBACK[letter]
    mu = torch.tensor(1.0, requires_grad=True)
    sigma = torch.tensor(2.0, requires_grad=True)
    z = torch.normal(mu, sigma)
    z.backward()
    return z.requires_grad and float(mu.grad) == 0.0 and float(sigma.grad) == 0.0

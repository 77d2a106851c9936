"""Gradients through sampling: the reparameterization trick and its alternatives (lecture 04).

We want ∇_θ E_{z~q_θ}[f(z)] for q_θ = N(μ, σ²), θ = (μ, log σ²). Two unbiased estimators:

* pathwise (reparameterization): z = μ + σ ε, ε ~ N(0, 1), so
  ∇_θ E[f(z)] = E_ε[f'(z) ∂z/∂θ]  with  ∂z/∂μ = 1,  ∂z/∂log σ² = ½ σ ε;
* score function (REINFORCE): ∇_θ E[f(z)] = E_z[f(z) ∇_θ log q_θ(z)]  with
  ∂ log q/∂μ = ε/σ,  ∂ log q/∂log σ² = ½(ε² - 1).

Both are computed here by autograd (not from the formulas above, which the tests check them
against), one gradient per sample, so their means and variances can be measured.

For a discrete z ~ Categorical(softmax(logits)) there is no path from the logits to z;
:func:`categorical_grad` compares the score function with the two standard workarounds,
straight-through and Gumbel-softmax (a preview of VQ-VAE).

All random draws use torch's global generator: seed it (``vae_course.config.setup``) to repeat a run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .info import kl_diag_gaussian
from .models import reparameterize

__all__ = [
    "TestFunction", "quadratic", "sine",
    "pathwise_samples", "score_samples", "grad_estimates", "estimator_variance",
    "hand_dz", "autograd_dz", "hand_dkl", "autograd_dkl",
    "categorical_grad_exact", "categorical_grad", "gumbel_max_sample",
]

METHODS = ("pathwise", "score")
DISCRETE_METHODS = ("score", "straight_through", "gumbel_softmax")


# ----------------------------------------------------------------------------- test functions

@dataclass(frozen=True)
class TestFunction:
    """An elementwise f(z) with E_{N(μ,σ²)}[f(z)] known in closed form, so the true gradient is known."""

    __test__ = False  # not a pytest class

    name: str
    f: Callable[[torch.Tensor], torch.Tensor]
    expectation: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (mu, logvar) -> E[f(z)]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.f(z)

    def exact_grad(self, mu: float, logvar: float) -> tuple[float, float]:
        """(∂/∂μ, ∂/∂log σ²) of E[f(z)], by autograd through the closed-form expectation."""
        m = torch.tensor(float(mu), dtype=torch.float64, requires_grad=True)
        lv = torch.tensor(float(logvar), dtype=torch.float64, requires_grad=True)
        g_mu, g_lv = torch.autograd.grad(self.expectation(m, lv), (m, lv))
        return float(g_mu), float(g_lv)


def quadratic(c: float = 0.0) -> TestFunction:
    """f(z) = (z - c)²; E[f] = (μ - c)² + σ², so ∇ = (2(μ - c), σ²)."""
    return TestFunction(f"(z - {c:g})²", lambda z: (z - c) ** 2,
                        lambda mu, logvar: (mu - c) ** 2 + torch.exp(logvar))


def sine(k: float = 1.0) -> TestFunction:
    """f(z) = sin(k z); E[f] = sin(k μ) exp(-k² σ²/2) (the real part of the characteristic function)."""
    return TestFunction(f"sin({k:g} z)", lambda z: torch.sin(k * z),
                        lambda mu, logvar: torch.sin(k * mu) * torch.exp(-0.5 * k**2 * torch.exp(logvar)))


# ----------------------------------------------------------------------------- checks

def _check_params(mu, logvar) -> tuple[float, float]:
    for name, value in (("mu", mu), ("logvar", logvar)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(mu), float(logvar)


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be ≥ 1 (it is a number of samples), got {value}")
    return value


def _check_method(method: str, allowed: tuple[str, ...]) -> str:
    if method not in allowed:
        raise ValueError(f"method must be one of {', '.join(map(repr, allowed))}, got {method!r}")
    return method


# ----------------------------------------------------------------------------- Gaussian z

def _leaves(mu: float, logvar: float, shape) -> tuple[torch.Tensor, torch.Tensor]:
    """μ and log σ² copied into one leaf per sample, so autograd returns one gradient per sample."""
    m = torch.full(shape, mu, dtype=torch.float64, requires_grad=True)
    lv = torch.full(shape, logvar, dtype=torch.float64, requires_grad=True)
    return m, lv


def pathwise_samples(f, mu: float, logvar: float, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample pathwise gradients f'(z) ∂z/∂θ at z = μ + σ ε, by autograd through :func:`reparameterize`.

    Returns ``(grad_mu, grad_logvar)``, each of the shape of ``eps``.
    """
    mu, logvar = _check_params(mu, logvar)
    m, lv = _leaves(mu, logvar, eps.shape)
    z = reparameterize(m, lv, eps.to(torch.float64))
    return torch.autograd.grad(f(z).sum(), (m, lv))


def score_samples(f, mu: float, logvar: float, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample score-function gradients f(z) ∇_θ log q_θ(z), z = μ + σ ε held fixed (no path through z).

    Autograd differentiates the surrogate f(z)·log q_θ(z) with z detached.
    """
    mu, logvar = _check_params(mu, logvar)
    m, lv = _leaves(mu, logvar, eps.shape)
    with torch.no_grad():
        z = mu + math.exp(0.5 * logvar) * eps.to(torch.float64)
        fz = f(z)
    log_q = torch.distributions.Normal(m, torch.exp(0.5 * lv)).log_prob(z)
    return torch.autograd.grad((fz * log_q).sum(), (m, lv))


def grad_estimates(f, mu: float, logvar: float, n: int, method: str = "pathwise",
                   repeats: int = 1) -> torch.Tensor:
    """``repeats`` independent n-sample estimates of ∇_{(μ, log σ²)} E_{N(μ,σ²)}[f(z)], shape (repeats, 2)."""
    n, repeats = _check_count(n, "n"), _check_count(repeats, "repeats")
    per_sample = pathwise_samples if _check_method(method, METHODS) == "pathwise" else score_samples
    eps = torch.randn(repeats, n, dtype=torch.float64)
    g_mu, g_lv = per_sample(f, mu, logvar, eps)
    return torch.stack([g_mu.mean(1), g_lv.mean(1)], dim=1)


def estimator_variance(f, mu: float, logvar: float, ns, method: str = "pathwise",
                       repeats: int = 200) -> torch.Tensor:
    """Variance (over ``repeats`` runs) of the n-sample estimator for each n in ``ns``: shape (len(ns), 2).

    Column 0 is the variance of the ∂/∂μ estimate, column 1 of the ∂/∂log σ² estimate.
    For an average of n independent samples it falls as 1/n.
    """
    ns = list(ns)
    if not ns:
        raise ValueError("ns must list at least one number of samples")
    if _check_count(repeats, "repeats") < 2:
        raise ValueError("repeats must be ≥ 2 to measure a variance")
    return torch.stack([grad_estimates(f, mu, logvar, _check_count(n, "n"), method, repeats).var(0) for n in ns])


# ----------------------------------------------------------------------------- hand gradients

def hand_dz(mu, logvar, eps) -> tuple[torch.Tensor, torch.Tensor]:
    """The lecture's hand derivation for z = μ + σ ε, σ = exp(½ log σ²): ∂z/∂μ = 1, ∂z/∂log σ² = ½ σ ε."""
    mu, logvar, eps = (torch.as_tensor(v, dtype=torch.float64) for v in (mu, logvar, eps))
    sigma = torch.exp(0.5 * logvar)
    return torch.ones_like(mu * eps), 0.5 * sigma * eps


def autograd_dz(mu, logvar, eps) -> tuple[torch.Tensor, torch.Tensor]:
    """∂z/∂μ and ∂z/∂log σ² for z = :func:`reparameterize` (μ, log σ², ε), by autograd, elementwise."""
    mu, logvar, eps = torch.broadcast_tensors(*(torch.as_tensor(v, dtype=torch.float64) for v in (mu, logvar, eps)))
    m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    return torch.autograd.grad(reparameterize(m, lv, eps).sum(), (m, lv))


def hand_dkl(mu, logvar) -> tuple[torch.Tensor, torch.Tensor]:
    """The lecture's hand derivation for KL = ½(μ² + σ² - log σ² - 1): ∂KL/∂μ = μ, ∂KL/∂log σ² = ½(σ² - 1)."""
    mu, logvar = (torch.as_tensor(v, dtype=torch.float64) for v in (mu, logvar))
    return mu * torch.ones_like(logvar), 0.5 * (torch.exp(logvar) - 1) * torch.ones_like(mu)


def autograd_dkl(mu, logvar) -> tuple[torch.Tensor, torch.Tensor]:
    """∂KL/∂μ and ∂KL/∂log σ² of :func:`vae_course.info.kl_diag_gaussian`, by autograd, elementwise."""
    mu, logvar = torch.broadcast_tensors(*(torch.as_tensor(v, dtype=torch.float64) for v in (mu, logvar)))
    m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    kl = kl_diag_gaussian(m.unsqueeze(-1), lv.unsqueeze(-1))  # one latent dimension per element
    return torch.autograd.grad(kl.sum(), (m, lv))


# ----------------------------------------------------------------------------- discrete z

def _check_logits(logits) -> torch.Tensor:
    logits = torch.as_tensor(logits, dtype=torch.float64)
    if logits.ndim != 1 or logits.numel() < 2:
        raise ValueError(f"logits must be a vector of at least 2 categories, got shape {tuple(logits.shape)}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("logits contain NaN or infinite values")
    return logits


def categorical_grad_exact(logits, f) -> torch.Tensor:
    """∇_logits E_{z~Cat(softmax(logits))}[f(z)] = ∇ Σ_k π_k f(e_k), by autograd (f takes one-hot rows)."""
    logits = _check_logits(logits).clone().requires_grad_()
    with torch.no_grad():
        f_values = f(torch.eye(len(logits), dtype=torch.float64))
    return torch.autograd.grad((torch.softmax(logits, 0) * f_values).sum(), logits)[0]


def gumbel_max_sample(logits, n: int) -> torch.Tensor:
    """n categories drawn as argmax_k(logit_k + g_k), g_k ~ Gumbel(0, 1): exactly Categorical(softmax(logits))."""
    logits = _check_logits(logits)
    gumbel = -torch.log(torch.empty(_check_count(n, "n"), len(logits), dtype=torch.float64).exponential_())
    return (logits + gumbel).argmax(1)


def categorical_grad(logits, f, n: int, method: str = "score", tau: float = 1.0, repeats: int = 1) -> torch.Tensor:
    """``repeats`` n-sample estimates of ∇_logits E[f(z)], z ~ Categorical(softmax(logits)): shape (repeats, K).

    ``f`` maps rows of a (…, K) tensor (one-hot, or relaxed for Gumbel-softmax) to one value each.

    * ``"score"``: f(z) ∇ log π_z, unbiased, high variance.
    * ``"straight_through"``: forward a hard one-hot sample y, backward as if y were the
      probabilities π (y + π - stop_grad(π)); biased unless f is linear.
    * ``"gumbel_softmax"``: y = softmax((logits + g)/τ), g ~ Gumbel, f(y) differentiated
      pathwise (torch's ``F.gumbel_softmax``); biased for τ > 0, the bias shrinks as τ → 0
      while the variance grows.
    """
    logits = _check_logits(logits)
    n, repeats = _check_count(n, "n"), _check_count(repeats, "repeats")
    _check_method(method, DISCRETE_METHODS)
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a number > 0 (the Gumbel-softmax temperature), got {tau!r}")
    k = len(logits)
    leaf = logits.repeat(repeats, n, 1).requires_grad_()  # one copy per sample: per-sample gradients
    if method == "gumbel_softmax":
        loss = f(F.gumbel_softmax(leaf, tau=tau, hard=False))
    else:
        probs = torch.softmax(leaf, -1)
        with torch.no_grad():
            one_hot = F.one_hot(torch.multinomial(probs.reshape(-1, k), 1).squeeze(1), k).reshape(probs.shape)
            one_hot = one_hot.to(torch.float64)
        if method == "score":
            loss = f(one_hot).detach() * (one_hot * torch.log_softmax(leaf, -1)).sum(-1)
        else:
            loss = f(one_hot + probs - probs.detach())
    (grad,) = torch.autograd.grad(loss.sum(), leaf)
    return grad.mean(1)

"""The ELBO and the importance-weighted bound, on a model where everything is exact (lecture 03).

The linear-Gaussian model :class:`LinearGaussian`

    p(z) = N(0, 1),    p(x|z) = N(x; w z + b, s²)

has a Gaussian evidence and a Gaussian posterior:

    p(x)   = N(x; b, w² + s²)
    p(z|x) = N(z; w (x - b) / (w² + s²),  s² / (w² + s²))

so every quantity of the lecture can be compared with its exact value:

* ELBO(q) = E_q[log p(x|z)] - KL(q(z) ‖ p(z)), in closed form and by Monte Carlo,
* log p(x) = ELBO(q) + KL(q(z) ‖ p(z|x)) for every q,
* the IWAE bound L_k = E[log (1/k) Σ_i p(x, z_i)/q(z_i)], z_i ~ q (Burda et al., 2016):
  ELBO = L_1 ≤ L_k ≤ L_{k'} ≤ log p(x) for k ≤ k'.

q is always q(z|x) = N(μ, σ²) given by ``mu`` and ``logvar`` = log σ², as a VAE encoder gives it.
Values are in nats; inputs may be numbers or tensors (they broadcast) and results are float64
tensors on the device of the tensor inputs.

Also here: :func:`log_mean_exp`, the IWAE estimator. (The reconstruction losses that the
Bernoulli and Gaussian likelihoods turn into live in :mod:`vae_course.losses`.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .info import kl_normal

__all__ = ["log_mean_exp", "LinearGaussian"]

LOG_2PI = math.log(2 * math.pi)


def log_mean_exp(log_w: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log( (1/k) Σ_i exp(log_w_i) ) along ``dim`` (k = its size), without overflow: the IWAE estimator."""
    k = log_w.shape[dim]
    if k < 1:
        raise ValueError("log_mean_exp needs at least one sample (k ≥ 1) along dim")
    return torch.logsumexp(log_w, dim=dim) - math.log(k)


# ----------------------------------------------------------------------------- input checks

def _tensor(value, name: str) -> torch.Tensor:
    try:
        if isinstance(value, torch.Tensor):
            t = value.to(torch.float64)
        else:
            t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name} must be a number or a tensor of numbers, got {value!r}") from exc
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def _logvar(value) -> torch.Tensor:
    logvar = _tensor(value, "logvar")
    if bool((torch.exp(logvar) <= 0).any()) or bool((torch.exp(logvar) == float("inf")).any()):
        raise ValueError("logvar is out of range: the variance σ² = exp(logvar) must be a positive, finite number")
    return logvar


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not (
            isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point()):
        raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")
    if int(value) < 1:
        raise ValueError(f"{name} must be ≥ 1 (it is a number of samples), got {int(value)}")
    return int(value)


def _normal_log_prob(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, var) = -½ log(2π var) - (x - mean)² / (2 var)."""
    return -0.5 * (LOG_2PI + torch.log(var)) - (x - mean) ** 2 / (2 * var)


# ----------------------------------------------------------------------------- the exact model

@dataclass(frozen=True)
class LinearGaussian:
    """z ~ N(0, 1), x | z ~ N(w z + b, s²): a latent-variable model with exact log p(x) and p(z|x).

    ``w`` (the "decoder weight") must be non-zero, ``s`` (the noise standard deviation) > 0.
    """

    w: float = 2.0
    b: float = 0.5
    s: float = 0.8

    def __post_init__(self):
        for name in ("w", "b", "s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.s <= 0:
            raise ValueError(f"s must be > 0 (it is the standard deviation of x given z), got {self.s}")
        if self.w == 0:
            raise ValueError("w must be non-zero, otherwise x does not depend on z and there is nothing to infer")

    # --- exact quantities --------------------------------------------------------------
    @property
    def marginal_var(self) -> float:
        """Var(x) = w² + s²."""
        return self.w**2 + self.s**2

    @property
    def posterior_var(self) -> float:
        """Var(z|x) = s² / (w² + s²), the same for every x."""
        return self.s**2 / self.marginal_var

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """n draws (z, x) of the generative process: z ~ N(0, 1), x = w z + b + s·noise."""
        n = _count(n, "n")
        z = torch.randn(n, dtype=torch.float64, generator=generator)
        x = self.w * z + self.b + self.s * torch.randn(n, dtype=torch.float64, generator=generator)
        return z, x

    def log_px(self, x) -> torch.Tensor:
        """The evidence log p(x) = log N(x; b, w² + s²), exactly."""
        x = _tensor(x, "x")
        return _normal_log_prob(x, torch.tensor(self.b, dtype=x.dtype, device=x.device),
                                torch.tensor(self.marginal_var, dtype=x.dtype, device=x.device))

    def posterior(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact posterior p(z|x) = N(w (x - b)/(w² + s²), s²/(w² + s²)) as ``(mu, logvar)``."""
        x = _tensor(x, "x")
        mu = self.w * (x - self.b) / self.marginal_var
        return mu, torch.full_like(mu, math.log(self.posterior_var))

    def log_joint(self, x, z) -> torch.Tensor:
        """log p(x, z) = log N(z; 0, 1) + log N(x; w z + b, s²)."""
        x, z = _tensor(x, "x"), _tensor(z, "z")
        one = torch.ones((), dtype=torch.float64, device=z.device)
        return _normal_log_prob(z, 0 * one, one) + _normal_log_prob(x, self.w * z + self.b, self.s**2 * one)

    # --- the ELBO ------------------------------------------------------------------------
    def expected_log_likelihood(self, x, mu, logvar) -> torch.Tensor:
        """The reconstruction term E_q[log p(x|z)] = -½ log(2π s²) - ((x - b - w μ)² + w² σ²) / (2 s²)."""
        x, mu, logvar = _tensor(x, "x"), _tensor(mu, "mu"), _logvar(logvar)
        return -0.5 * math.log(2 * math.pi * self.s**2) - ((x - self.b - self.w * mu) ** 2
                                                          + self.w**2 * torch.exp(logvar)) / (2 * self.s**2)

    def kl_prior(self, mu, logvar) -> torch.Tensor:
        """KL(q(z|x) ‖ p(z)) = KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² - log σ² - 1)."""
        mu, logvar = _tensor(mu, "mu"), _logvar(logvar)
        return kl_normal(mu, torch.exp(0.5 * logvar))

    def elbo(self, x, mu, logvar) -> torch.Tensor:
        """The ELBO in closed form: E_q[log p(x|z)] - KL(q(z|x) ‖ p(z)) for q = N(μ, σ²)."""
        return self.expected_log_likelihood(x, mu, logvar) - self.kl_prior(mu, logvar)

    def kl_to_posterior(self, x, mu, logvar) -> torch.Tensor:
        """KL(q(z|x) ‖ p(z|x)): the gap log p(x) - ELBO, computed from the exact posterior (not as a difference)."""
        mu, logvar = _tensor(mu, "mu"), _logvar(logvar)
        post_mu, post_logvar = self.posterior(x)
        return kl_normal(mu, torch.exp(0.5 * logvar), post_mu, torch.exp(0.5 * post_logvar))

    # --- Monte Carlo -----------------------------------------------------------------------
    def log_weights(self, x, mu, logvar, k: int, n: int = 1,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """log w = log p(x, z) - log q(z|x) for z = μ + σ ε ~ q, shape (k, n, *batch): n groups of k draws."""
        k, n = _count(k, "k"), _count(n, "n")
        x, mu, logvar = _tensor(x, "x"), _tensor(mu, "mu"), _logvar(logvar)
        shape = torch.broadcast_shapes(x.shape, mu.shape, logvar.shape)
        eps = torch.randn((k, n, *shape), dtype=torch.float64, generator=generator).to(mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        log_q = -0.5 * (LOG_2PI + logvar) - 0.5 * eps**2
        return self.log_joint(x, z) - log_q

    def elbo_mc(self, x, mu, logvar, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Monte Carlo ELBO: (1/n) Σ_i [log p(x, z_i) - log q(z_i|x)], z_i ~ q(z|x); unbiased for the ELBO."""
        return self.log_weights(x, mu, logvar, k=1, n=n, generator=generator)[0].mean(0)

    def iwae_estimates(self, x, mu, logvar, k: int, n: int = 1,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """n independent draws of the IWAE estimator log (1/k) Σ_i p(x, z_i)/q(z_i|x), shape (n, *batch)."""
        return log_mean_exp(self.log_weights(x, mu, logvar, k=k, n=n, generator=generator), dim=0)

    def iwae(self, x, mu, logvar, k: int, n: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """The IWAE bound L_k = E[log (1/k) Σ_i p(x, z_i)/q(z_i|x)], estimated as the mean of n draws."""
        return self.iwae_estimates(x, mu, logvar, k=k, n=n, generator=generator).mean(0)

    # --- amortization ----------------------------------------------------------------------
    def expected_elbo(self, mu, logvar) -> torch.Tensor:
        """E_{x~p(x)}[ELBO(x, μ, σ²)] for one q = N(μ, σ²) shared by every x (an encoder that ignores x).

        = -½ log(2π s²) - (w² + s² + w² μ² + w² σ²)/(2 s²) - ½(μ² + σ² - log σ² - 1),
        using E[(x - b - w μ)²] = Var(x) + w² μ² since E[x] = b.
        """
        mu, logvar = _tensor(mu, "mu"), _logvar(logvar)
        var = torch.exp(logvar)
        rec = -0.5 * math.log(2 * math.pi * self.s**2) - (self.marginal_var + self.w**2 * (mu**2 + var)) / (2 * self.s**2)
        return rec - self.kl_prior(mu, logvar)

    def best_shared_q(self) -> tuple[float, float]:
        """The (μ, log σ²) maximising :meth:`expected_elbo`: μ = 0, σ² = s²/(w² + s²).

        Setting the derivatives to zero: ∂/∂μ = -(w²/s² + 1) μ = 0 and
        ∂/∂σ² = -w²/(2s²) - ½ + 1/(2σ²) = 0.
        """
        return 0.0, math.log(self.posterior_var)

"""Operations on latent codes z shared by the lectures.

* :func:`reparameterize`: z = μ + σ·ε with σ = exp(½ log σ²), ε ~ N(0, I) (lecture 04).
"""
from __future__ import annotations

import torch

__all__ = ["reparameterize"]


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """Draw z ~ q_φ(z|x) = N(μ, diag σ²) as z = μ + σ·ε, ε ~ N(0, I), so gradients reach μ and log σ².

    ``eps`` may be given (same shape as ``mu``) to make the draw deterministic.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if eps is None:
        eps = torch.randn_like(mu)
    elif eps.shape != mu.shape:
        raise ValueError(f"eps must have the shape of mu {tuple(mu.shape)}, got {tuple(eps.shape)}")
    return mu + torch.exp(0.5 * logvar) * eps

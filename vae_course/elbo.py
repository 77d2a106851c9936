"""The ELBO and the importance-weighted bound (lecture 03).

* :func:`log_mean_exp`: log (1/k) Σ_i exp(a_i), computed stably. With a_i = log w_i =
  log p(x, z_i) - log q(z_i|x), z_i ~ q, it is the IWAE bound L_k (Burda et al., 2016):
  ELBO = L_1 ≤ L_k ≤ L_{k'} ≤ log p(x) for k ≤ k' (in expectation).
"""
from __future__ import annotations

import math

import torch

__all__ = ["log_mean_exp"]


def log_mean_exp(log_w: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log( (1/k) Σ_i exp(log_w_i) ) along ``dim`` (k = its size), without overflow: the IWAE estimator."""
    k = log_w.shape[dim]
    if k < 1:
        raise ValueError("log_mean_exp needs at least one sample (k ≥ 1) along dim")
    return torch.logsumexp(log_w, dim=dim) - math.log(k)

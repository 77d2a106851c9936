"""VAE losses in nats per image: summed over pixels and latent dimensions, averaged over the batch.

Public functions:

* :func:`bernoulli_log_likelihood`: log p_θ(x|z) = Σ_i [x_i log p_i + (1-x_i) log(1-p_i)], p = sigmoid(logits).
* :func:`gaussian_log_likelihood`: log N(x; x̂, σ² I) = -||x - x̂||² / (2σ²) - (D/2) log(2πσ²).
* :func:`mse_as_gaussian_nll`: the same written as "MSE": -log N(x; x̂, σ²I) = D·MSE/(2σ²) + (D/2) log(2πσ²).
* :func:`kl_per_dim`: KL(N(μ_d, σ_d²) ‖ N(0, 1)) = -½ (1 + log σ²_d - μ_d² - σ²_d), one value per dimension.
* :func:`kl_term`: KL(q_φ(z|x) ‖ p(z)) summed over latent dimensions (``vae_course.info.kl_diag_gaussian``).
* :func:`free_bits_kl`: Σ_d max(λ, mean_batch KL_d) (Kingma et al., 2016, "free bits").
* :func:`vae_loss`: the negative ELBO with a β weight: recon + β·KL, as a dict of named terms.

**Sum, then mean.** Every log-likelihood here is *summed* over the D = 784 pixels (the pixels
of one image are one observation x) and every KL is *summed* over the latent dimensions; only
then do we *average over the batch*. The result is "nats per image", comparable with published
MNIST figures and independent of the batch size. Averaging over pixels instead (PyTorch's
default ``reduction='mean'``) divides the reconstruction term by 784 but not the KL, which is
the same as training with β = 784 — the most common VAE bug (blurry samples, collapsed latents).

Where MSE comes from: for a Gaussian decoder with fixed σ,
-log N(x; x̂, σ² I) = ||x - x̂||² / (2σ²) + (D/2) log(2πσ²): squared error plus a constant.
The σ you choose *is* a β: MSE-with-KL is a Gaussian VAE with a stated σ, and
σ² = ½ gives plain summed squared error.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .info import kl_diag_gaussian

__all__ = ["bernoulli_log_likelihood", "gaussian_log_likelihood", "mse_as_gaussian_nll", "kl_per_dim",
           "kl_term", "free_bits_kl", "vae_loss", "check_images"]


def check_images(x: torch.Tensor, name: str = "x", check_range: bool = True) -> None:
    """``ValueError`` unless ``x`` is a float batch (B, 1, 28, 28) with values in [0, 1].

    The range check reads the tensor (a GPU synchronisation), so training loops that checked
    the whole dataset once pass ``check_range=False``.
    """
    if not torch.is_tensor(x):
        raise ValueError(f"{name} must be a torch tensor of images (B, 1, 28, 28), got {type(x).__name__}")
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        hint = " (add the channel axis: x.unsqueeze(1))" if x.ndim == 3 and tuple(x.shape[1:]) == (28, 28) else ""
        raise ValueError(f"{name} must have shape (B, 1, 28, 28), got {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor with values in [0, 1], got dtype {x.dtype} "
                         "(divide uint8 pixels by 255)")
    if check_range and x.numel():
        lo, hi = torch.aminmax(x.detach())
        if lo < 0 or hi > 1:
            raise ValueError(f"{name} must have values in [0, 1] (gray levels or binary pixels), "
                             f"got values in [{float(lo):.4g}, {float(hi):.4g}]")


def _check_pair(a: torch.Tensor, x: torch.Tensor, a_name: str) -> None:
    if a.shape != x.shape:
        raise ValueError(f"{a_name} and x must have the same shape, got {tuple(a.shape)} and {tuple(x.shape)}")
    if a.ndim < 2:
        raise ValueError(f"expected a batch (B, ...) of images, got shape {tuple(x.shape)}")


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor, validate: bool = True) -> torch.Tensor:
    """log p_θ(x|z) for a Bernoulli decoder, one value per image (summed over pixels), in nats.

    log p(x|z) = Σ_i [x_i log sigmoid(l_i) + (1-x_i) log(1 - sigmoid(l_i))] = -BCEWithLogits(l, x) summed,
    computed from the logits l for numerical stability. ``x`` must be in [0, 1]; it is a
    proper log-likelihood only for binary x (see :mod:`vae_course.data`).
    """
    _check_pair(logits, x, "logits")
    if validate:
        lo, hi = torch.aminmax(x.detach())
        if lo < 0 or hi > 1:
            raise ValueError(f"x must have values in [0, 1] for a Bernoulli likelihood, got [{float(lo):.4g}, {float(hi):.4g}]")
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return -bce.flatten(1).sum(1)


def gaussian_log_likelihood(x_hat: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """log N(x; x̂, σ² I) = -||x - x̂||² / (2σ²) - (D/2) log(2πσ²), one value per image, in nats."""
    _check_pair(x_hat, x, "x_hat")
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number (the decoder's standard deviation), got {sigma!r}")
    d = x[0].numel()
    sq = (x - x_hat).pow(2).flatten(1).sum(1)
    return -sq / (2 * sigma**2) - 0.5 * d * math.log(2 * math.pi * sigma**2)


def mse_as_gaussian_nll(x_hat: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """-log N(x; x̂, σ²I) per image, written with PyTorch's per-pixel MSE: D·MSE/(2σ²) + (D/2) log(2πσ²)."""
    _check_pair(x_hat, x, "x_hat")
    d = x[0].numel()
    mse = F.mse_loss(x_hat, x, reduction="none").flatten(1).mean(1)   # per image, averaged over pixels
    return d * mse / (2 * sigma**2) + 0.5 * d * math.log(2 * math.pi * sigma**2)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ_d, σ_d²) ‖ N(0, 1)) = -½ (1 + log σ²_d - μ_d² - σ²_d), shape (B, latent_dim), in nats."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def kl_term(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q_φ(z|x) ‖ p(z)) = -½ Σ_d (1 + log σ²_d - μ_d² - σ²_d), one value per image (nats)."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    return kl_diag_gaussian(mu, logvar, validate=False)


def free_bits_kl(kl_dims: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The free-bits KL penalty Σ_d max(λ, (1/B) Σ_b KL_{b,d}) (Kingma et al., 2016, eq. in §C.8).

    ``kl_dims``: per-example, per-dimension KL, shape (B, latent_dim). The KL of each latent
    dimension is averaged over the batch *first*, then floored at λ = ``free_bits`` nats: a
    dimension using fewer than λ nats gets no gradient pushing it further to the prior, which
    fights posterior collapse. λ = 0 gives the plain KL (mean over the batch of the sum over d).
    """
    if not (isinstance(free_bits, (int, float)) and math.isfinite(free_bits) and free_bits >= 0):
        raise ValueError(f"free_bits must be a number ≥ 0 (nats per latent dimension), got {free_bits!r}")
    mean_dims = kl_dims.mean(0)
    if free_bits == 0:
        return mean_dims.sum()
    return torch.clamp(mean_dims, min=float(free_bits)).sum()


def vae_loss(log_px_z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, beta: float = 1.0,
             free_bits: float = 0.0) -> dict[str, torch.Tensor]:
    """The (β-weighted) negative ELBO in nats per image, as named terms.

    * ``recon`` = -(1/B) Σ_b log p_θ(x_b|z_b)           (reconstruction, summed over pixels)
    * ``kl``    = (1/B) Σ_b KL(q_φ(z|x_b) ‖ p(z))        (summed over latent dimensions)
    * ``loss``  = recon + β · KL  (with free bits: recon + β · Σ_d max(λ, KL_d))
    * ``elbo``  = -(recon + kl): the ELBO itself (β = 1, no free bits), what to report
    * ``kl_per_dim``: (latent_dim,) mean KL per dimension (active units show up here)

    ``log_px_z``: per-image log-likelihoods, shape (B,).
    """
    if log_px_z.ndim != 1 or log_px_z.shape[0] != mu.shape[0]:
        raise ValueError(f"log_px_z must have one value per image, shape ({mu.shape[0]},), got {tuple(log_px_z.shape)}")
    if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a number ≥ 0, got {beta!r}")
    dims = kl_per_dim(mu, logvar)
    recon = -log_px_z.mean()
    kl = dims.sum(1).mean()
    penalty = free_bits_kl(dims, free_bits) if free_bits else kl
    loss = recon + beta * penalty
    return {"loss": loss, "recon": recon, "kl": kl, "elbo": -(recon + kl), "kl_per_dim": dims.mean(0)}

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
from .validation import ArgumentTypeError, check_finite, check_same_device, number

__all__ = ["bernoulli_log_likelihood", "gaussian_log_likelihood", "mse_as_gaussian_nll", "kl_per_dim",
           "kl_term", "free_bits_kl", "vae_loss", "check_images"]


def _tensor(t, name: str) -> torch.Tensor:
    if not torch.is_tensor(t):
        raise ArgumentTypeError(f"{name} must be a torch tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise ArgumentTypeError(f"{name} must be a float tensor, got dtype {t.dtype}")
    return t


def check_images(x: torch.Tensor, name: str = "x", check_range: bool = True) -> None:
    """``ValueError`` unless ``x`` is a non-empty float batch (B, 1, 28, 28) with values in [0, 1].

    NaN or infinite pixels, values outside [0, 1] and an empty batch are refused with a message
    naming the argument (``name``); a wrong type raises :class:`ArgumentTypeError` (a ``TypeError``
    and a ``ValueError``). The value check reads the tensor (a GPU synchronisation), so training
    loops that checked the whole dataset once pass ``check_range=False`` (shape, dtype, emptiness only).
    """
    if not torch.is_tensor(x):
        raise ArgumentTypeError(f"{name} must be a torch tensor of images (B, 1, 28, 28), got {type(x).__name__}")
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        hint = " (add the channel axis: x.unsqueeze(1))" if x.ndim == 3 and tuple(x.shape[1:]) == (28, 28) else ""
        raise ValueError(f"{name} must have shape (B, 1, 28, 28), got {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        raise ArgumentTypeError(f"{name} must be a float tensor with values in [0, 1], got dtype {x.dtype} "
                                "(divide uint8 pixels by 255)")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 images)")
    if check_range:
        _check_unit_interval(x, name)


def _check_unit_interval(x: torch.Tensor, name: str) -> None:
    """Values finite and in [0, 1] (one read of the tensor)."""
    if not x.numel():
        return
    lo, hi = torch.stack(torch.aminmax(x.detach())).tolist()        # NaN anywhere makes both NaN
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"{name} contains NaN")
    if math.isinf(lo) or math.isinf(hi):
        raise ValueError(f"{name} contains infinite values (pixels must be in [0, 1])")
    if lo < 0 or hi > 1:
        raise ValueError(f"{name} must have values in [0, 1] (gray levels or binary pixels; a Bernoulli "
                         "likelihood needs them), "
                         f"got values in [{lo:.4g}, {hi:.4g}]")


def _check_pair(a: torch.Tensor, x: torch.Tensor, a_name: str, x_name: str = "x") -> None:
    """Two float tensors of one shape (a batch), on one device (no values read). Float dtypes may
    differ: they are promoted, as torch's own elementwise operations do."""
    _tensor(a, a_name)
    _tensor(x, x_name)
    if a.shape != x.shape:
        raise ValueError(f"{a_name} and {x_name} must have the same shape, got {tuple(a.shape)} and {tuple(x.shape)}")
    if a.ndim < 2:
        raise ValueError(f"{a_name} and {x_name} must be a batch (B, ...) of images, got shape {tuple(x.shape)}")
    check_same_device(**{a_name: a, x_name: x})


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor, validate: bool = True) -> torch.Tensor:
    """log p_θ(x|z) for a Bernoulli decoder, one value per image (summed over pixels), in nats.

    log p(x|z) = Σ_i [x_i log sigmoid(l_i) + (1-x_i) log(1 - sigmoid(l_i))] = -BCEWithLogits(l, x) summed,
    computed from the logits l for numerical stability. ``x`` must be in [0, 1]; it is a
    proper log-likelihood only for binary x (see :mod:`vae_course.data`). ``validate=True`` also
    reads the values (NaN/inf logits, x outside [0, 1]); ``validate=False`` (training loops that
    checked their data once) checks shapes, dtypes and devices only.
    """
    _check_pair(logits, x, "logits")
    if validate:
        check_finite(logits, "logits")
        _check_unit_interval(x, "x")
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return -bce.flatten(1).sum(1)


def _sigma(sigma) -> float:
    try:
        return number(sigma, "sigma", low=0, low_open=True)
    except ArgumentTypeError:
        raise
    except ValueError as exc:
        raise ValueError(f"{exc} (sigma is the decoder's standard deviation: a finite number > 0)") from None


def gaussian_log_likelihood(x_hat: torch.Tensor, x: torch.Tensor, sigma: float, validate: bool = True) -> torch.Tensor:
    """log N(x; x̂, σ² I) = -||x - x̂||² / (2σ²) - (D/2) log(2πσ²), one value per image, in nats.

    ``sigma`` > 0 (a Python, NumPy or 0-d tensor number); ``validate=True`` also refuses NaN/inf in x̂ and x.
    """
    sigma = _sigma(sigma)
    _check_pair(x_hat, x, "x_hat")
    if validate:
        check_finite(x_hat, "x_hat")
        check_finite(x, "x")
    d = x[0].numel() if len(x) else math.prod(x.shape[1:])
    sq = (x - x_hat).pow(2).flatten(1).sum(1)
    return -sq / (2 * sigma**2) - 0.5 * d * (math.log(2 * math.pi) + 2 * math.log(sigma))


def mse_as_gaussian_nll(x_hat: torch.Tensor, x: torch.Tensor, sigma: float, validate: bool = True) -> torch.Tensor:
    """-log N(x; x̂, σ²I) per image, written with PyTorch's per-pixel MSE: D·MSE/(2σ²) + (D/2) log(2πσ²).

    ``sigma`` > 0; ``validate=True`` also refuses NaN/inf in x̂ and x.
    """
    sigma = _sigma(sigma)
    _check_pair(x_hat, x, "x_hat")
    if validate:
        check_finite(x_hat, "x_hat")
        check_finite(x, "x")
    d = math.prod(x.shape[1:])
    mse = F.mse_loss(x_hat, x, reduction="none").flatten(1).mean(1)   # per image, averaged over pixels
    return d * mse / (2 * sigma**2) + 0.5 * d * (math.log(2 * math.pi) + 2 * math.log(sigma))


def _check_mu_logvar(mu, logvar, validate: bool) -> None:
    _tensor(mu, "mu")
    _tensor(logvar, "logvar")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if mu.ndim == 0:
        raise ValueError("mu and logvar need a latent dimension (their last axis), got single numbers")
    check_same_device(mu=mu, logvar=logvar)
    if validate:
        check_finite(mu, "mu")
        check_finite(logvar, "logvar")


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor, validate: bool = True) -> torch.Tensor:
    """KL(N(μ_d, σ_d²) ‖ N(0, 1)) = -½ (1 + log σ²_d - μ_d² - σ²_d), shape (B, latent_dim), in nats.

    ``validate=True`` refuses NaN/inf in ``mu`` and ``logvar`` (a GPU synchronisation);
    shapes, dtypes and devices are always checked.
    """
    _check_mu_logvar(mu, logvar, validate)
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def kl_term(mu: torch.Tensor, logvar: torch.Tensor, validate: bool = True) -> torch.Tensor:
    """KL(q_φ(z|x) ‖ p(z)) = -½ Σ_d (1 + log σ²_d - μ_d² - σ²_d), one value per image (nats)."""
    _check_mu_logvar(mu, logvar, validate)
    return kl_diag_gaussian(mu, logvar, validate=False)


def free_bits_kl(kl_dims: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The free-bits KL penalty Σ_d max(λ, (1/B) Σ_b KL_{b,d}) (Kingma et al., 2016, eq. in §C.8).

    ``kl_dims``: per-example, per-dimension KL, shape (B, latent_dim). The KL of each latent
    dimension is averaged over the batch *first*, then floored at λ = ``free_bits`` nats: a
    dimension using fewer than λ nats gets no gradient pushing it further to the prior, which
    fights posterior collapse. λ = 0 gives the plain KL (mean over the batch of the sum over d).
    """
    free_bits = number(free_bits, "free_bits", low=0)
    _tensor(kl_dims, "kl_dims")
    if kl_dims.ndim != 2 or kl_dims.shape[0] == 0:
        raise ValueError(f"kl_dims must be a non-empty batch of per-dimension KLs (B, latent_dim), got shape "
                         f"{tuple(kl_dims.shape)}")
    mean_dims = kl_dims.mean(0)
    if free_bits == 0:
        return mean_dims.sum()
    return torch.clamp(mean_dims, min=float(free_bits)).sum()


def vae_loss(log_px_z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, beta: float = 1.0,
             free_bits: float = 0.0, validate: bool = True) -> dict[str, torch.Tensor]:
    """The (β-weighted) negative ELBO in nats per image, as named terms.

    * ``recon`` = -(1/B) Σ_b log p_θ(x_b|z_b)           (reconstruction, summed over pixels)
    * ``kl``    = (1/B) Σ_b KL(q_φ(z|x_b) ‖ p(z))        (summed over latent dimensions)
    * ``loss``  = recon + β · KL  (with free bits: recon + β · Σ_d max(λ, KL_d))
    * ``elbo``  = -(recon + kl): the ELBO itself (β = 1, no free bits), what to report
    * ``kl_per_dim``: (latent_dim,) mean KL per dimension (active units show up here)

    ``log_px_z``: per-image log-likelihoods, shape (B,). ``validate=True`` refuses NaN/inf in
    ``log_px_z``, ``mu``, ``logvar`` (reads them: training loops pass ``validate=False``); the
    shapes, devices, ``beta`` and ``free_bits`` are always checked. An empty batch is refused.
    """
    _tensor(log_px_z, "log_px_z")
    _check_mu_logvar(mu, logvar, validate=False)
    if mu.ndim != 2 or mu.shape[0] == 0:
        raise ValueError(f"mu and logvar must be a non-empty batch (B, latent_dim), got shape {tuple(mu.shape)}")
    if log_px_z.ndim != 1 or log_px_z.shape[0] != mu.shape[0]:
        raise ValueError(f"log_px_z must have one value per image, shape ({mu.shape[0]},), got {tuple(log_px_z.shape)}")
    check_same_device(log_px_z=log_px_z, mu=mu)
    beta = number(beta, "beta", low=0)
    free_bits = number(free_bits, "free_bits", low=0)
    if validate:
        check_finite(log_px_z, "log_px_z")
        check_finite(mu, "mu")
        check_finite(logvar, "logvar")
    dims = kl_per_dim(mu, logvar, validate=False)
    recon = -log_px_z.mean()
    kl = dims.sum(1).mean()
    penalty = free_bits_kl(dims, free_bits) if free_bits else kl
    loss = recon + beta * penalty
    return {"loss": loss, "recon": recon, "kl": kl, "elbo": -(recon + kl), "kl_per_dim": dims.mean(0)}

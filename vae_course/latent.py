"""Operations on latent codes z shared by the lectures.

* :func:`lerp`, :func:`slerp`: paths between two codes (lecture 06).
* :func:`class_means`, :func:`latent_arithmetic`: "mean of the 7s − mean of the 1s" added to a code;
  :func:`nearest_class_mean` to judge the result in pixel space.
* :func:`gaussian_grid`, :func:`manifold_grid`: the decoded grid over Gaussian quantiles of
  Kingma & Welling (2014), fig. 4.
* :func:`encode_mean`: μ of q_φ(z|x) for a whole data set, batched; :func:`encode_posterior`: μ and log σ².
* :func:`aggregate_moments`: per-dimension second moments of the aggregate posterior, E_x μ² + E_x σ².
* :func:`decoder_steps`: how far the decoded image moves for a small step in z (lecture 06).

Bad arguments raise ``ValueError`` naming them (wrong types: :class:`~vae_course.validation.ArgumentTypeError`,
also a ``ValueError``); NumPy scalars count as numbers; empty batches give empty results.
"""
from __future__ import annotations

import math

import torch

from .validation import check_finite, integer, number

__all__ = ["lerp", "slerp", "class_means", "latent_arithmetic",
           "nearest_class_mean", "gaussian_grid", "manifold_grid", "encode_mean", "decode_images", "model_device",
           "encode_posterior", "aggregate_moments", "decoder_steps"]


# ----------------------------------------------------------------------------- paths between codes

def _endpoints(z0, z1) -> tuple[torch.Tensor, torch.Tensor]:
    z0 = torch.as_tensor(z0, dtype=torch.get_default_dtype()) if not torch.is_tensor(z0) else z0
    z1 = torch.as_tensor(z1, dtype=z0.dtype) if not torch.is_tensor(z1) else z1
    if z0.ndim != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be two latent vectors of the same length, got shapes "
                         f"{tuple(z0.shape)} and {tuple(z1.shape)}")
    if z0.device != z1.device:
        raise ValueError(f"z0 is on {z0.device} but z1 is on {z1.device}; move both to one device")
    if not (torch.isfinite(z0).all() and torch.isfinite(z1).all()):
        raise ValueError("z0 and z1 must be finite (no NaN or inf)")
    return z0, z1.to(z0.dtype)


def _steps(t, like: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """t as a column (T, 1) on like's device; True when t was a single number."""
    scalar = not torch.is_tensor(t) and not isinstance(t, (list, tuple))
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    scalar = scalar or t.ndim == 0
    t = t.reshape(-1, 1)
    if not torch.isfinite(t).all():
        raise ValueError("t must be finite")
    return t, scalar


def lerp(z0, z1, t) -> torch.Tensor:
    """Linear interpolation z(t) = (1 − t)·z₀ + t·z₁.

    ``t`` is a number (returns one vector) or a sequence/1-D tensor of T numbers
    (returns a (T, d) tensor, one row per step), usually in [0, 1].
    """
    z0, z1 = _endpoints(z0, z1)
    t, scalar = _steps(t, z0)
    path = (1 - t) * z0 + t * z1
    return path[0] if scalar else path


def slerp(z0, z1, t) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for generative models):

        z(t) = sin((1 − t)Ω)/sin Ω · z₀ + sin(tΩ)/sin Ω · z₁,   cos Ω = z₀·z₁ / (‖z₀‖ ‖z₁‖).

    It moves along the great circle at a constant angular speed, so when ‖z₀‖ = ‖z₁‖ every
    point has that norm, whereas the midpoint of :func:`lerp` is shorter — it cuts through the
    low-norm centre where a d-dimensional N(0, I) puts almost no mass (‖z‖ ≈ √d).
    Nearly parallel endpoints (sin Ω ≈ 0) fall back to :func:`lerp`, its limit. Exactly
    opposite endpoints have no unique great circle: ValueError. A zero vector has no direction:
    ValueError.
    """
    z0, z1 = _endpoints(z0, z1)
    t, scalar = _steps(t, z0)
    n0, n1 = z0.norm(), z1.norm()
    if n0 == 0 or n1 == 0:
        raise ValueError("slerp needs two non-zero vectors (a zero vector has no direction); use lerp")
    cos = torch.clamp(torch.dot(z0, z1) / (n0 * n1), -1.0, 1.0)
    omega = torch.arccos(cos)
    if math.pi - omega.item() < 1e-4:
        raise ValueError("z0 and z1 point in opposite directions: the great circle between them is not unique")
    if omega.item() < 1e-4:
        path = (1 - t) * z0 + t * z1
    else:
        path = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    return path[0] if scalar else path


# ----------------------------------------------------------------------------- latent arithmetic

def class_means(z: torch.Tensor, labels: torch.Tensor, classes=None) -> dict[int, torch.Tensor]:
    """The mean code of each class, m_c = (1/N_c) Σ_{i: yᵢ = c} zᵢ, as {class: vector}.

    ``z`` is (N, d) (typically μ of q_φ(z|x) from :func:`encode_mean`), ``labels`` (N,) integers.
    ``classes`` restricts the classes; a requested class with no example is a ValueError.
    """
    if not torch.is_tensor(z) or z.ndim != 2:
        raise ValueError(f"z must be a (N, latent_dim) tensor, got {getattr(z, 'shape', type(z))}")
    labels = torch.as_tensor(labels, device=z.device).reshape(-1)
    if labels.shape[0] != z.shape[0]:
        raise ValueError(f"z has {z.shape[0]} rows but labels has {labels.shape[0]} entries")
    present = sorted(int(c) for c in torch.unique(labels).tolist())
    wanted = present if classes is None else [int(c) for c in classes]
    means = {}
    for c in wanted:
        mask = labels == c
        if not bool(mask.any()):
            raise ValueError(f"class {c} has no example; classes present: {present}")
        means[c] = z[mask].mean(dim=0)
    return means


def latent_arithmetic(z, means: dict, source: int, target: int, alpha: float = 1.0) -> torch.Tensor:
    """z' = z + α·(m_target − m_source): move a code along the "source → target" direction.

    With source = 1, target = 7 and z the code of a 3, the hope of the lecture notes is "a 3
    drawn in the style of a 7 minus a 1". ``z`` may be one vector (d,) or a batch (N, d).
    """
    for c in (source, target):
        if c not in means:
            raise ValueError(f"no class mean for {c!r}; available: {sorted(means)}")
    alpha = number(alpha, "alpha")
    direction = means[target] - means[source]
    if torch.is_tensor(z) and z.device != direction.device:
        raise ValueError(f"z is on {z.device} but the class means are on {direction.device}; move them to one device")
    z = torch.as_tensor(z, dtype=direction.dtype, device=direction.device)
    check_finite(z, "z")
    if z.ndim == 0 or z.shape[-1] != direction.shape[-1]:
        raise ValueError(f"z has {z.shape[-1]} latent dimensions but the class means have {direction.shape[-1]}")
    return z + alpha * direction


def nearest_class_mean(images: torch.Tensor, class_images: dict) -> torch.Tensor:
    """A deliberately simple pixel-space classifier: the label c whose mean image
    x̄_c = class_images[c] is nearest (Euclidean) to each image. Independent of the latent space,
    so it can judge what latent arithmetic produced. Returns labels (N,)."""
    if not class_images:
        raise ValueError("class_images is empty")
    keys = sorted(class_images)
    centroids = torch.stack([torch.as_tensor(class_images[k]).reshape(-1).float().cpu() for k in keys])
    images = torch.as_tensor(images)
    if images.ndim == 0:
        raise ValueError("images must be a batch (N, ...) of images, got a single number")
    if len(images) == 0:
        return torch.zeros(0, dtype=torch.tensor(keys).dtype)
    flat = images.reshape(len(images), -1).float().cpu()
    check_finite(flat, "images")
    if flat.shape[1] != centroids.shape[1]:
        raise ValueError(f"images have {flat.shape[1]} pixels but the class means have {centroids.shape[1]}")
    return torch.tensor(keys)[torch.cdist(flat, centroids).argmin(dim=1)]


# ----------------------------------------------------------------------------- the manifold grid

def gaussian_grid(n: int, lo: float = 0.05, hi: float = 0.95) -> torch.Tensor:
    """An n×n grid of 2-D codes at Gaussian quantiles, as in Kingma & Welling (2014), fig. 4:
    "linearly spaced coordinates on the unit square were transformed through the inverse CDF
    of the Gaussian", z = (Φ⁻¹(u₁), Φ⁻¹(u₂)) with u on a regular grid in [lo, hi]².

    Returns (n·n, 2) in reading order: row r (top to bottom) has z₂ decreasing, column c
    (left to right) has z₁ increasing — so it tiles into an image like a plot with z₂ up.
    Quantile spacing puts equal prior mass, not equal distance, between neighbours.
    """
    n = integer(n, "n", low=2, high=1000)
    lo, hi = number(lo, "lo"), number(hi, "hi")
    if not 0.0 < lo < hi < 1.0:
        raise ValueError(f"need 0 < lo < hi < 1 (probabilities), got lo={lo!r}, hi={hi!r}")
    u = torch.linspace(lo, hi, n, dtype=torch.float64)
    q = torch.distributions.Normal(0.0, 1.0).icdf(u).to(torch.get_default_dtype())
    z2, z1 = torch.meshgrid(q.flip(0), q, indexing="ij")
    return torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's parameters (CPU for a model without parameters)."""
    for p in model.parameters():
        if p.device.type == "meta":
            raise ValueError("the model's weights are on the 'meta' device (shapes only, no values); "
                             "load a checkpoint into it first")
        return p.device
    return torch.device("cpu")


@torch.no_grad()
def decode_images(model, z: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (B, 1, 28, 28) on the CPU: sigmoid of p_θ(x|z)'s logits, decoded on the
    model's own device whatever device ``z`` is on."""
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.ndim == 1:
        z = z[None]
    if z.shape[-1] != model.latent_dim:
        raise ValueError(f"z has {z.shape[-1]} dimensions but the model's latent_dim is {model.latent_dim}")
    was_training = model.training
    model.eval()
    try:
        logits = model.decode(z.to(model_device(model)))
    finally:
        model.train(was_training)
    return torch.sigmoid(logits).float().cpu()


def manifold_grid(model, n: int = 15, lo: float = 0.05, hi: float = 0.95) -> torch.Tensor:
    """The decoded :func:`gaussian_grid` tiled into one (n·28, n·28) image in [0, 1]
    (needs a 2-D latent)."""
    if getattr(model, "latent_dim", None) != 2:
        raise ValueError(f"the manifold grid needs a model with a 2-D latent, this one has "
                         f"latent_dim={getattr(model, 'latent_dim', None)}")
    images = decode_images(model, gaussian_grid(n, lo, hi))[:, 0]  # (n·n, 28, 28)
    h, w = images.shape[-2:]
    return images.reshape(n, n, h, w).permute(0, 2, 1, 3).reshape(n * h, n * w)


@torch.no_grad()
def encode_mean(model, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """μ of q_φ(z|x) for every image, (N, latent_dim) on the CPU, in batches on the model's device.

    (For a plain autoencoder, whose ``encode`` returns z itself, that z.)
    """
    if not torch.is_tensor(images) or images.ndim != 4:
        raise ValueError(f"images must be a (N, 1, 28, 28) tensor, got {getattr(images, 'shape', type(images))}")
    batch_size = integer(batch_size, "batch_size", low=1)
    device = model_device(model)
    was_training = model.training
    model.eval()
    out = []
    try:
        for start in range(0, images.shape[0], batch_size):
            code = model.encode(images[start:start + batch_size].to(device))
            out.append((code[0] if isinstance(code, (tuple, list)) else code).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, model.latent_dim)


@torch.no_grad()
def encode_posterior(model, images: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """(μ, log σ²) of q_φ(z|x) = N(μ, diag σ²) for every image, each (N, latent_dim) on the CPU."""
    if not torch.is_tensor(images) or images.ndim != 4:
        raise ValueError(f"images must be a (N, 1, 28, 28) tensor, got {getattr(images, 'shape', type(images))}")
    device = model_device(model)
    was_training = model.training
    model.eval()
    mus, logvars = [], []
    try:
        for start in range(0, images.shape[0], batch_size):
            code = model.encode(images[start:start + batch_size].to(device))
            if not (isinstance(code, (tuple, list)) and len(code) == 2):
                raise ValueError(f"{type(model).__name__}.encode must return (mu, logvar): a VAE, not a plain autoencoder")
            mus.append(code[0].float().cpu())
            logvars.append(code[1].float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(mus), torch.cat(logvars)


def aggregate_moments(mu: torch.Tensor, logvar: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per latent dimension u, the second moment of the aggregate posterior q(z) = (1/N) Σ_n q_φ(z|x_n):

    E_q[z_u²] = (1/N) Σ_n μ_{n,u}²  +  (1/N) Σ_n σ_{n,u}²   (the spread of the centres + the width of each q).

    Under the prior, E[z_u²] = 1 for every u. If q(z) matched p(z), the centres alone would have
    E_x μ_u² = 1 − E_x σ_u² < 1 (narrower than the prior) and E‖μ‖² = d − Σ_u E_x σ_u² < d.
    Returns 'mu_sq' (E_x μ_u²), 'sigma_sq' (E_x σ_u²) and 'total' (their sum), each (latent_dim,).
    """
    if mu.ndim != 2 or mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must both have shape (N, latent_dim), got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    mu_sq, sigma_sq = mu.double().pow(2).mean(0), logvar.double().exp().mean(0)
    return {"mu_sq": mu_sq, "sigma_sq": sigma_sq, "total": mu_sq + sigma_sq}


@torch.no_grad()
def decoder_steps(model, z: torch.Tensor, step: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """For each code z_n (N, latent_dim): the RMS pixel change ‖x̂(z_n + step·u_n) − x̂(z_n)‖ / √D between
    the decoded images (sigmoid of the logits, D pixels), u_n a random unit direction. One value per code.

    A continuous decoder makes this small for small steps; how small is not bounded by anything in the
    ELBO: the spread of these values over z shows how unevenly the decoder stretches the latent space.
    """
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (N, latent_dim), got {tuple(z.shape)}")
    if not (isinstance(step, (int, float)) and step > 0 and math.isfinite(step)):
        raise ValueError(f"step must be a positive number, got {step!r}")
    u = torch.randn(z.shape, generator=generator)
    u = u / u.norm(dim=1, keepdim=True)
    a, b = decode_images(model, z), decode_images(model, z + step * u)
    return (b - a).flatten(1).pow(2).mean(1).sqrt()

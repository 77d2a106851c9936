"""What a trained encoder's latents carry: active units and latent–factor alignment (lectures 07 and 08).

* :func:`encoder_means`: E_q[z | x] = μ_φ(x) for a whole dataset, shape (N, latent_dim).
* :func:`unit_activity`: A_d = Cov_x(E_q[z_d | x]), the variance over the data of each latent
  mean (Burda et al., 2016).
* :func:`active_units`: the dimensions with A_d > 0.01, the ones the decoder can use. A dimension
  whose mean does not move with x is "collapsed": q_φ(z_d|x) ≈ p(z_d) for every x.
* :func:`mutual_info`: I(a; b) = Σ p(a, b) log[p(a, b) / (p(a) p(b))] of two discrete variables,
  from their contingency table (nats).
* :func:`discretize`: equal-width histogram bins (continuous values) or the values' own labels
  (discrete ones), so MI can be estimated by counting.
* :func:`mutual_info_matrix`: I(z_d; v_k) for every latent d and factor k, shape (D, K).
* :func:`mig`: the Mutual Information Gap (Chen et al., 2018):
  MIG = (1/K) Σ_k [I(z_(1); v_k) - I(z_(2); v_k)] / H(v_k), where z_(1), z_(2) are the two latents
  most informative about factor v_k. 1: every factor lives in exactly one latent; 0: none does.
* :func:`correlation_matrix`: |Pearson correlation| between each latent mean and each factor.
* :func:`active_units_callback`: a ``train.fit`` callback recording the number of active units per epoch.
* :func:`sharpness`: mean squared difference between neighbouring pixels (blurry images score low).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["encoder_means", "unit_activity", "active_units", "active_units_callback", "discretize", "mutual_info",
           "mutual_info_matrix", "factor_entropies", "mig", "correlation_matrix", "sharpness"]


def _as_2d(a, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape (N, dims), got {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 examples (rows), got {a.shape[0]}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


@torch.no_grad()
def encoder_means(model, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """μ_φ(x) = E_q[z|x] for every image in ``x``, on the CPU, shape (N, latent_dim).

    ``model.encode(x)`` must return ``(mu, logvar)``; the images go to the model's device batch by batch.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        out = []
        for i in range(0, len(x), batch_size):
            enc = model.encode(x[i:i + batch_size].to(device))
            if not isinstance(enc, (tuple, list)) or len(enc) != 2:
                raise ValueError("model.encode(x) must return (mu, logvar); an Autoencoder has no posterior to measure")
            out.append(enc[0].float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def unit_activity(mu) -> torch.Tensor:
    """A_d = Cov_x(E_q[z_d|x]) = the variance over the data of each latent mean, shape (D,).

    ``mu``: encoder means for N examples, shape (N, D) (see :func:`encoder_means`).
    """
    mu = torch.as_tensor(_as_2d(mu, "mu"))
    return mu.var(dim=0, unbiased=True).float()


def active_units(mu, threshold: float = 0.01) -> torch.Tensor:
    """Which latent dimensions are active: A_d = Cov_x(E_q[z_d|x]) > ``threshold`` (bool mask, shape (D,)).

    ``int(active_units(mu).sum())`` is the number of active units.
    """
    if not (isinstance(threshold, (int, float)) and np.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a number ≥ 0, got {threshold!r}")
    return unit_activity(mu) > threshold


def active_units_callback(model, x: torch.Tensor, threshold: float = 0.01, key: str = "active_units"):
    """A ``fit(..., callback=...)`` that appends the number of active units of ``model`` on ``x``
    to ``history.train[key]`` after every epoch (so ``history[key]`` can be plotted like a loss)."""
    def callback(epoch, history):
        n = int(active_units(encoder_means(model, x), threshold).sum())
        history.train.setdefault(key, []).append(float(n))
    return callback


def sharpness(images) -> float:
    """Mean over images of Σ (squared horizontal + vertical neighbour differences) / #pixels.

    S = (1/N) Σ_n (1/HW) Σ_ij [(x_{i,j+1} − x_{ij})² + (x_{i+1,j} − x_{ij})²]. Blurring lowers it; a
    constant image scores 0; a black-and-white checkerboard scores ≈ 2.
    """
    x = torch.as_tensor(images).detach().float().cpu()
    if x.ndim != 4 or x.shape[-1] < 2 or x.shape[-2] < 2:
        raise ValueError(f"images must have shape (N, C, H, W) with H, W ≥ 2, got {tuple(x.shape)}")
    dx = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).sum(1)
    dy = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).sum(1)
    return float(((dx + dy) / x[0].numel()).mean())


def discretize(values, bins: int = 20, max_discrete: int | None = None) -> np.ndarray:
    """Integer labels, one column per variable, shape (N, K).

    A column with at most ``max_discrete`` distinct values (default: ``bins``) keeps its own values
    as labels (a discrete factor such as the sprite's shape); any other column is cut into ``bins``
    equal-width bins between its minimum and maximum.
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"bins must be an integer ≥ 2, got {bins!r}")
    v = _as_2d(values, "values")
    max_discrete = bins if max_discrete is None else max_discrete
    out = np.empty(v.shape, dtype=np.int64)
    for k in range(v.shape[1]):
        col = v[:, k]
        uniq, labels = np.unique(col, return_inverse=True)
        if len(uniq) <= max_discrete:
            out[:, k] = labels.reshape(-1)
        else:
            edges = np.linspace(col.min(), col.max(), bins + 1)
            out[:, k] = np.clip(np.digitize(col, edges[1:-1]), 0, bins - 1)
    return out


def _entropy_of_labels(labels: np.ndarray) -> float:
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mutual_info(a, b) -> float:
    """I(a; b) = Σ_ij p_ij log(p_ij / (p_i p_j)) in nats, for two integer label vectors of length N.

    A plug-in (histogram) estimate: ≥ 0, and biased upwards by about (#a − 1)(#b − 1) / (2N) nats
    when a and b are independent.
    """
    a = np.asarray(a).reshape(-1)
    b = np.asarray(b).reshape(-1)
    if a.shape != b.shape or len(a) == 0:
        raise ValueError(f"a and b must be non-empty label vectors of one length, got {a.shape} and {b.shape}")
    if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)) or a.min() < 0 or b.min() < 0:
        raise ValueError("a and b must be integer labels ≥ 0 (use discretize() for continuous values)")
    na, nb = int(a.max()) + 1, int(b.max()) + 1
    joint = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb) / len(a)
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(max(0.0, (joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum()))


def mutual_info_matrix(latents, factors, bins: int = 20) -> np.ndarray:
    """I(z_d; v_k) for every latent dimension d and factor k (nats), shape (D, K).

    Latents are always binned (``bins`` equal-width bins); factors with at most ``bins`` distinct
    values are used as they are.
    """
    z = discretize(latents, bins, max_discrete=1)      # a constant latent becomes one bin
    v = discretize(factors, bins)
    if len(z) != len(v):
        raise ValueError(f"latents and factors must have the same number of rows, got {len(z)} and {len(v)}")
    return np.array([[mutual_info(z[:, d], v[:, k]) for k in range(v.shape[1])] for d in range(z.shape[1])])


def factor_entropies(factors, bins: int = 20) -> np.ndarray:
    """H(v_k) of each (discretized) factor, nats, shape (K,)."""
    v = discretize(factors, bins)
    return np.array([_entropy_of_labels(v[:, k]) for k in range(v.shape[1])])


def mig(latents, factors, bins: int = 20, per_factor: bool = False):
    """Mutual Information Gap: (1/K) Σ_k [I(z_(1); v_k) − I(z_(2); v_k)] / H(v_k) (Chen et al., 2018).

    z_(1) and z_(2) are the latents with the largest and second-largest MI with factor v_k. Needs at
    least 2 latent dimensions. ``per_factor=True`` returns the K normalised gaps instead of their mean.
    """
    mi = mutual_info_matrix(latents, factors, bins)
    if mi.shape[0] < 2:
        raise ValueError("MIG needs at least 2 latent dimensions (it compares the best and second-best latent)")
    h = factor_entropies(factors, bins)
    if (h <= 0).any():
        raise ValueError("a factor is constant (zero entropy); drop it before computing MIG")
    top = np.sort(mi, axis=0)[::-1]
    gaps = (top[0] - top[1]) / h
    return gaps if per_factor else float(gaps.mean())


def correlation_matrix(latents, factors) -> np.ndarray:
    """|corr(z_d, v_k)|, the absolute Pearson correlation of each latent with each factor, shape (D, K).

    A constant column (a collapsed latent) has correlation 0 with everything.
    """
    z, v = _as_2d(latents, "latents"), _as_2d(factors, "factors")
    if len(z) != len(v):
        raise ValueError(f"latents and factors must have the same number of rows, got {len(z)} and {len(v)}")
    z = z - z.mean(0)
    v = v - v.mean(0)
    zs, vs = np.sqrt((z**2).sum(0)), np.sqrt((v**2).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (z.T @ v) / np.outer(zs, vs)
    return np.nan_to_num(np.abs(c), nan=0.0)

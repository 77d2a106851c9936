"""Entropy, cross-entropy and KL divergence, discrete and Gaussian.

Every function accepts NumPy arrays (or Python numbers/lists) and torch tensors,
and returns the same kind it was given (a Python float for scalar, non-tensor
input). Values are in nats unless ``unit="bits"``.

Equations (lecture 01):

* entropy            H(p)    = -Σ_x p(x) log p(x)
* cross-entropy      H(p, q) = -Σ_x p(x) log q(x)
* KL divergence      KL(p‖q) =  Σ_x p(x) log(p(x)/q(x)) = H(p, q) - H(p)
* Gaussian KL        KL(N(μ₁,σ₁²)‖N(μ₂,σ₂²)) = log(σ₂/σ₁) + (σ₁² + (μ₁-μ₂)²)/(2σ₂²) - ½
* VAE KL term        KL(N(μ, diag σ²)‖N(0, I)) = -½ Σ_d (1 + log σ²_d - μ_d² - σ²_d)
* Monte Carlo KL     KL(p‖q) ≈ (1/n) Σ_i [log p(x_i) - log q(x_i)], x_i ~ p  (any two torch distributions)
* independence       KL(p₁p₂‖q₁q₂) = KL(p₁‖q₁) + KL(p₂‖q₂); with a dependent p and product q,
                     KL(p‖q₁q₂) = KL(p₁‖q₁) + KL(p₂‖q₂) + I(X₁; X₂)   (:func:`mutual_information`)

Conventions: 0·log 0 = 0, and KL(p‖q) = +inf when q(x) = 0 somewhere p(x) > 0
(likewise H(p, q) = +inf there).

Bad input is refused with a message naming the argument (see :mod:`vae_course.validation`):
NaN/inf values and out-of-range parameters raise ``ValueError``; non-numeric input and bools
raise :class:`~vae_course.validation.ArgumentTypeError` (a ``TypeError`` that is also a
``ValueError``); tensors on different devices raise ``ValueError`` naming both arguments.
NumPy scalars count as numbers. An empty batch (shape (0, k)) gives an empty result. Gaussian
formulas work with log σ, so extreme but valid standard deviations give the right finite value
(KL(N(0, 10⁻⁶⁰⁰) ‖ N(0, 10⁶⁰⁰)) = 600·ln 100 − ½ ≈ 1381.05 nats, not inf).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .validation import ArgumentTypeError, check_same_device, number

__all__ = [
    "entropy", "cross_entropy", "kl_discrete", "normal_pdf", "kl_normal", "kl_diag_gaussian",
    "kl_monte_carlo", "mutual_information", "to_bits", "LN2",
]

LN2 = math.log(2.0)
#: The largest tolerance the discrete functions accept for "sums to 1": beyond it a vector that is
#: not a distribution (e.g. summing to 1.01) would pass as one.
MAX_ATOL = 1e-3
_UNITS = {"nats": 1.0, "bits": LN2}


# ----------------------------------------------------------------------------- helpers

def _is_torch(*xs: Any) -> bool:
    return any(isinstance(x, torch.Tensor) for x in xs)


def _as_array(x: Any, name: str, use_torch: bool, like: torch.Tensor | None = None):
    """Convert ``x`` to a float array/tensor, refusing non-numeric input (and bools) with ArgumentTypeError."""
    if isinstance(x, (list, tuple)):
        try:
            with np.errstate(all="ignore"):
                probe = np.asarray(x)
            if probe.dtype == np.bool_:
                x = probe
        except (TypeError, ValueError):
            pass                                    # ragged or odd: the conversion below says so
    if isinstance(x, (bool, np.bool_)) or (isinstance(x, (np.ndarray, torch.Tensor)) and x.dtype in (np.bool_, torch.bool)):
        shown = repr(x) if len(repr(x)) < 80 else type(x).__name__
        raise ArgumentTypeError(f"{name} must be numeric, got booleans ({shown})")
    if (isinstance(x, torch.Tensor) and x.is_complex()) or (isinstance(x, np.ndarray) and np.iscomplexobj(x)) \
            or isinstance(x, complex):
        raise ArgumentTypeError(f"{name} must be real numbers, got complex values")
    try:
        if use_torch:
            if isinstance(x, torch.Tensor):
                return x if x.is_floating_point() else x.double()
            dtype = like.dtype if like is not None and like.is_floating_point() else torch.float64
            device = like.device if like is not None else None
            return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        shown = repr(x) if len(repr(x)) < 80 else type(x).__name__
        raise ArgumentTypeError(f"{name} must be numeric, got {shown}") from exc


def _check_devices(names, values) -> None:
    """Tensors among ``values`` on one device (ValueError naming the two that disagree)."""
    check_same_device(**{n: v for n, v in zip(names, values)})


def _first_tensor(*xs: Any) -> torch.Tensor | None:
    return next((x for x in xs if isinstance(x, torch.Tensor)), None)


def _all_finite(x) -> bool:
    return bool(torch.isfinite(x).all()) if isinstance(x, torch.Tensor) else bool(np.isfinite(x).all())


def _check_finite(x, name: str) -> None:
    if not _all_finite(x):
        raise ValueError(f"{name} contains NaN or infinite values")


def _finish(value, scalar_input: bool, unit: str):
    if unit not in _UNITS:
        raise ValueError(f"unit must be 'nats' or 'bits', got {unit!r}")
    value = value / _UNITS[unit]
    if scalar_input and not isinstance(value, torch.Tensor) and np.ndim(value) == 0:
        return float(value)
    return value


def to_bits(nats):
    """Convert nats to bits (divide by ln 2)."""
    return nats / LN2


def _check_atol(atol) -> float:
    return number(atol, "atol", low=0, high=MAX_ATOL)


def _check_distribution(p, name: str, atol: float) -> None:
    """p is a probability vector along its last axis: finite, ≥ 0, summing to 1 (within atol)."""
    if p.ndim == 0:
        raise ValueError(f"{name} must be a vector of probabilities, got a single number")
    if p.shape[-1] == 0:
        raise ValueError(f"{name} is empty")
    _check_finite(p, name)
    if bool((p < 0).any()):
        raise ValueError(f"{name} has negative entries; probabilities must be ≥ 0")
    sums = p.sum(-1)
    if isinstance(sums, torch.Tensor):
        bad = bool(((sums - 1).abs() > atol).any())
        worst = float(sums.flatten()[(sums - 1).abs().flatten().argmax()]) if bad else 1.0
    else:
        bad = bool((np.abs(sums - 1) > atol).any())
        worst = float(np.ravel(sums)[np.abs(np.ravel(sums) - 1).argmax()]) if bad else 1.0
    if bad:
        raise ValueError(f"{name} must sum to 1 along its last axis (found a sum of {worst:.6g})")


def _prepare_pair(p, q, atol: float):
    atol = _check_atol(atol)
    _check_devices(("p", "q"), (p, q))
    use_torch = _is_torch(p, q)
    like = _first_tensor(p, q)
    p = _as_array(p, "p", use_torch, like)
    q = _as_array(q, "q", use_torch, like)
    _check_distribution(p, "p", atol)
    _check_distribution(q, "q", atol)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {tuple(p.shape)} and {tuple(q.shape)}")
    return p, q


def _xlogy(x, y):
    """x·log y with 0·log y = 0 (also for y = 0); x > 0, y = 0 gives -inf."""
    if isinstance(x, torch.Tensor):
        return torch.xlogy(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))
    return out


# ----------------------------------------------------------------------------- discrete

def entropy(p, unit: str = "nats", atol: float = 1e-6):
    """Entropy H(p) = -Σ_x p(x) log p(x) of a discrete distribution (last axis).

    >>> round(entropy([0.5, 0.5], unit="bits"), 6)
    1.0
    """
    scalar = not _is_torch(p)
    atol = _check_atol(atol)
    p = _as_array(p, "p", _is_torch(p))
    _check_distribution(p, "p", atol)
    value = 0.0 - _xlogy(p, p).sum(-1)   # 0.0 - x, not -x: a certain outcome gives 0.0, not -0.0
    return _finish(value, scalar, unit)


def cross_entropy(p, q, unit: str = "nats", atol: float = 1e-6):
    """Cross-entropy H(p, q) = -Σ_x p(x) log q(x); +inf where q(x) = 0 < p(x)."""
    scalar = not _is_torch(p, q)
    p, q = _prepare_pair(p, q, atol)
    value = -_xlogy(p, q).sum(-1)
    return _finish(value, scalar, unit)


def kl_discrete(p, q, unit: str = "nats", atol: float = 1e-6):
    """KL(p‖q) = Σ_x p(x) log(p(x)/q(x)) ≥ 0; +inf where q(x) = 0 < p(x).

    Computed as Σ p log p - Σ p log q, each term with 0·log 0 = 0.
    """
    scalar = not _is_torch(p, q)
    p, q = _prepare_pair(p, q, atol)
    plogp = _xlogy(p, p)
    plogq = _xlogy(p, q)
    value = (plogp - plogq).sum(-1)
    return _finish(value, scalar, unit)


# ----------------------------------------------------------------------------- Gaussian

def normal_pdf(x, mu=0.0, sigma=1.0):
    """The density N(x; μ, σ²) = exp(-(x-μ)²/(2σ²)) / (σ√(2π)); σ is a standard deviation.

    Broadcasts; NumPy in, NumPy out; any torch tensor in, torch out (for plots and widgets).
    """
    names = ("x", "mu", "sigma")
    _check_devices(names, (x, mu, sigma))
    use_torch = _is_torch(x, mu, sigma)
    like = _first_tensor(x, mu, sigma)
    x, mu, sigma = (_as_array(v, n, use_torch, like) for v, n in zip((x, mu, sigma), names))
    for value, name in zip((x, mu, sigma), names):
        _check_finite(value, name)
    if bool((sigma <= 0).any()):
        raise ValueError(f"sigma must be > 0 (it is a standard deviation), got {_show(sigma)}")
    exp, log = (torch.exp, torch.log) if use_torch else (np.exp, np.log)
    # log N = -½((x-μ)/σ)² - log σ - ½ log 2π: no overflow of 1/σ for a tiny σ
    value = exp(-0.5 * ((x - mu) / sigma) ** 2 - log(sigma) - 0.5 * math.log(2 * math.pi))
    return _finish(value, not use_torch, "nats")


def kl_normal(mu1, sigma1, mu2=0.0, sigma2=1.0):
    """KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) in nats; the sigmas are standard deviations.

    KL = log(σ₂/σ₁) + (σ₁² + (μ₁ - μ₂)²) / (2σ₂²) - ½

    Broadcasts over NumPy arrays and torch tensors. Raises ``ValueError`` when a
    sigma is ≤ 0 or any input is NaN/infinite. Computed as log σ₂ − log σ₁ + ½(σ₁/σ₂)² +
    ½((μ₁−μ₂)/σ₂)² − ½, which stays finite wherever the KL is representable (σ₁ = 1e-300,
    σ₂ = 1e300 gives ≈ 1381.05 nats; forming σ₂/σ₁ first would overflow to inf).

    >>> round(kl_normal(6.0, 4.0), 4)   # the lecture-01 homework
    24.1137
    """
    names = ("mu1", "sigma1", "mu2", "sigma2")
    _check_devices(names, (mu1, sigma1, mu2, sigma2))
    use_torch = _is_torch(mu1, sigma1, mu2, sigma2)
    like = _first_tensor(mu1, sigma1, mu2, sigma2)
    args = [_as_array(v, n, use_torch, like) for v, n in zip((mu1, sigma1, mu2, sigma2), names)]
    for value, name in zip(args, names):
        _check_finite(value, name)
    mu1, sigma1, mu2, sigma2 = args
    for value, name in ((sigma1, "sigma1"), (sigma2, "sigma2")):
        if bool((value <= 0).any()):
            raise ValueError(f"{name} must be > 0 (it is a standard deviation), got {_show(value)}")
    try:
        if use_torch:
            torch.broadcast_shapes(*(a.shape for a in args))
        else:
            np.broadcast_shapes(*(a.shape for a in args))
    except (RuntimeError, ValueError) as exc:
        shapes = ", ".join(str(tuple(a.shape)) for a in args)
        raise ValueError(f"mu1, sigma1, mu2, sigma2 have shapes that do not broadcast: {shapes}") from exc
    log = torch.log if use_torch else np.log
    with np.errstate(over="ignore"):       # a KL beyond the largest float is inf, the right float answer
        value = (log(sigma2) - log(sigma1)) + 0.5 * (sigma1 / sigma2) ** 2 + 0.5 * ((mu1 - mu2) / sigma2) ** 2 - 0.5
    return _finish(value, not use_torch, "nats")


def kl_diag_gaussian(mu, logvar, validate: bool = True):
    """The VAE's KL term: KL(N(μ, diag σ²) ‖ N(0, I)) = -½ Σ_d (1 + log σ²_d - μ_d² - σ²_d).

    ``mu`` and ``logvar`` (log σ², as an encoder outputs it) have the latent
    dimension last; the result sums over it, one value (nats) per example.
    ``validate=False`` skips the shape/finiteness checks (they synchronise a GPU).
    """
    _check_devices(("mu", "logvar"), (mu, logvar))
    use_torch = _is_torch(mu, logvar)
    like = _first_tensor(mu, logvar)
    mu = _as_array(mu, "mu", use_torch, like)
    logvar = _as_array(logvar, "logvar", use_torch, like)
    if validate:
        if mu.shape != logvar.shape:
            raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
        if mu.ndim == 0:
            raise ValueError("mu and logvar need a latent dimension (their last axis)")
        _check_finite(mu, "mu")
        _check_finite(logvar, "logvar")
    exp = torch.exp if use_torch else np.exp
    value = -0.5 * (1 + logvar - mu**2 - exp(logvar)).sum(-1)
    return _finish(value, not use_torch, "nats")


# ----------------------------------------------------------------------------- any two distributions

def kl_monte_carlo(p, q, n: int = 100_000, seed: int = 0) -> tuple[float, float]:
    """KL(p‖q) ≈ (1/n) Σ_i [log p(x_i) − log q(x_i)] with x_i ~ p: ``(estimate, standard_error)`` in nats.

    ``p`` and ``q`` are ``torch.distributions`` objects on the same space (their ``log_prob``
    returns one value per draw; use ``Independent`` for vectors). No closed form is used, so the
    estimate checks one: a KL formula is right if it lies within a few standard errors. The
    standard error is the sample standard deviation of the log-ratio over √n. The draws come from a
    fixed ``seed`` (the global random state is restored afterwards).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer ≥ 2, got {n!r}")
    for dist, name in ((p, "p"), (q, "q")):
        if not isinstance(dist, torch.distributions.Distribution):
            raise TypeError(f"{name} must be a torch.distributions.Distribution, got {type(dist).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x = p.sample((n,))
    log_ratio = (p.log_prob(x) - q.log_prob(x)).double()
    if log_ratio.shape != (n,):
        raise ValueError(f"log_prob must give one value per draw, got shape {tuple(log_ratio.shape)}: "
                         "wrap vector-valued distributions in torch.distributions.Independent")
    if not torch.isfinite(log_ratio).all():
        return math.inf, math.inf               # q(x) = 0 (or p's density overflows) where p draws x
    return float(log_ratio.mean()), float(log_ratio.std() / math.sqrt(n))


def mutual_information(joint, unit: str = "nats", atol: float = 1e-6):
    """I(X₁; X₂) = KL(p(x₁, x₂) ‖ p(x₁)p(x₂)) for a joint probability table (rows x₁, columns x₂).

    Zero exactly when the table is the outer product of its marginals (X₁, X₂ independent).
    """
    joint = _as_array(joint, "joint", _is_torch(joint))
    if joint.ndim != 2:
        raise ValueError(f"joint must be a 2-D table of probabilities, got shape {tuple(joint.shape)}")
    _check_distribution(joint.reshape(-1), "joint", atol)
    p1, p2 = joint.sum(1), joint.sum(0)
    product = p1[:, None] * p2[None, :]
    return kl_discrete(joint.reshape(-1), product.reshape(-1), unit=unit, atol=atol)


def _show(x) -> str:
    flat = x.flatten() if isinstance(x, torch.Tensor) else np.ravel(x)
    if len(flat) == 1:
        return f"{float(flat[0]):g}"
    return f"values including {float(flat.min()):g}"

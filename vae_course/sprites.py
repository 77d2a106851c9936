"""Procedural sprites with known factors of variation (the disentanglement lesson, lecture 07).

A small, download-free stand-in for dSprites: a white shape on a black canvas,
drawn from five independent factors that we *know*, so we can check whether a
latent dimension lines up with one of them.

========  ==========================================================
factor    values
========  ==========================================================
shape     0 = square, 1 = ellipse, 2 = heart (uniform)
scale     uniform in ``scale_range`` (fraction of the largest size)
rotation  uniform in ``rotation_range`` (radians)
x, y      uniform in [0, 1]: centre position, 0 = left/top edge of
          the area the shape can move in, 1 = right/bottom
========  ==========================================================

Rotation defaults to [0, π/3], less than the square's symmetry period π/2, so
two different angles never draw the same picture. Images are grey levels in
[0, 1] (each pixel is the covered fraction of a 3 × 3 grid of sub-pixels, so
edges are anti-aliased), shape (N, 1, size, size); the same seed always gives
the same sprites.

    >>> data = make_sprites(1000, seed=0)
    >>> data.images.shape, data.factors.shape, data.factor_names
    (torch.Size([1000, 1, 28, 28]), torch.Size([1000, 5]), ('shape', 'scale', 'rotation', 'x', 'y'))
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

__all__ = ["Sprites", "make_sprites", "render", "factor_traversal", "FACTOR_NAMES", "SHAPES"]

FACTOR_NAMES = ("shape", "scale", "rotation", "x", "y")
SHAPES = ("square", "ellipse", "heart")

_RADIUS = 0.22      # largest shape's half-size, as a fraction of the canvas
_SUPERSAMPLE = 3    # sub-pixels per pixel side (anti-aliasing)


class Sprites(NamedTuple):
    """``images`` (N, 1, H, W) float32 in [0, 1]; ``factors`` (N, 5) float32, columns ``factor_names``."""
    images: torch.Tensor
    factors: torch.Tensor
    factor_names: tuple[str, ...] = FACTOR_NAMES


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Is the point (u, v) of the shape's own frame (unit size, v pointing up) inside the shape?"""
    if shape == 0:                                   # square
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == 1:                                   # ellipse, axes 1 and 0.55
        return u**2 + (v / 0.55) ** 2 <= 1.0
    hu, hv = 1.15 * u, 1.15 * v + 0.15               # heart curve (u² + v² - 1)³ ≤ u² v³, centred
    return (hu**2 + hv**2 - 1) ** 3 - hu**2 * hv**3 <= 0


def render(shape, scale, rotation, x, y, size: int = 28) -> torch.Tensor:
    """Draw sprites from given factors (arrays of equal length, or numbers): (N, 1, size, size) in [0, 1].

    ``shape`` ∈ {0, 1, 2}; ``scale`` in (0, 1]; ``rotation`` in radians (counter-clockwise);
    ``x``, ``y`` in [0, 1] (centre position; the shape always stays inside the canvas).
    """
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer ≥ 8 (pixels per side), got {size!r}")
    try:
        arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, dtype=np.float64))
                                       for a in (shape, scale, rotation, x, y)))
    except ValueError as exc:
        raise ValueError("shape, scale, rotation, x and y must be numbers or arrays of one length") from exc
    shape, scale, rotation, x, y = (a.reshape(-1).astype(np.float32) for a in arrays)
    if not all(np.isfinite(a).all() for a in (shape, scale, rotation, x, y)):
        raise ValueError("the factors contain NaN or infinite values")
    if not np.isin(shape, (0, 1, 2)).all():
        raise ValueError(f"shape must be 0 (square), 1 (ellipse) or 2 (heart), got {sorted(set(shape.tolist()))}")
    if (scale <= 0).any() or (scale > 1).any():
        raise ValueError(f"scale must be in (0, 1], got values from {scale.min():g} to {scale.max():g}")
    for name, a in (("x", x), ("y", y)):
        if (a < 0).any() or (a > 1).any():
            raise ValueError(f"{name} must be in [0, 1], got values from {a.min():g} to {a.max():g}")

    # sub-pixel centres, in canvas units [0, 1]
    s = size * _SUPERSAMPLE
    grid = ((np.arange(s) + 0.5) / s).astype(np.float32)
    gy, gx = np.meshgrid(grid, grid, indexing="ij")             # (s, s), row = y (down)
    radius = _RADIUS * scale[:, None, None]
    margin = _RADIUS * 1.2 + 1.0 / size                          # a rotated shape stays inside
    cx = margin + x[:, None, None] * (1 - 2 * margin)
    cy = margin + y[:, None, None] * (1 - 2 * margin)
    dx, dy = (gx - cx) / radius, -(gy - cy) / radius             # shape frame, v up
    cos, sin = np.cos(rotation)[:, None, None], np.sin(rotation)[:, None, None]
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy             # undo the rotation
    inside = np.empty(u.shape, dtype=np.float32)
    for k in range(len(SHAPES)):
        rows = shape == k
        if rows.any():
            inside[rows] = _inside(k, u[rows], v[rows])
    img = inside.reshape(-1, size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(2, 4))
    return torch.from_numpy(np.ascontiguousarray(img[:, None]))


def make_sprites(n: int, seed: int = 0, size: int = 28, *,
                 scale_range: tuple[float, float] = (0.5, 1.0),
                 rotation_range: tuple[float, float] = (0.0, math.pi / 3),
                 batch: int = 500) -> Sprites:
    """``n`` sprites with independent uniform factors, reproducible from ``seed``.

    Returns :class:`Sprites` (``images, factors, factor_names``); ``factors[:, 0]`` is the
    shape index, the other columns the continuous factors in their own units.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer (number of sprites), got {n!r}")
    lo, hi = scale_range
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"scale_range must satisfy 0 < low ≤ high ≤ 1, got {scale_range}")
    rlo, rhi = rotation_range
    if not rlo <= rhi:
        raise ValueError(f"rotation_range must be (low, high) with low ≤ high, got {rotation_range}")
    rng = np.random.default_rng(seed)
    factors = np.stack([
        rng.integers(0, len(SHAPES), n).astype(np.float64),
        rng.uniform(lo, hi, n),
        rng.uniform(rlo, rhi, n),
        rng.uniform(0, 1, n),
        rng.uniform(0, 1, n),
    ], axis=1)
    images = torch.cat([render(*factors[i:i + batch].T, size=size) for i in range(0, n, batch)])
    return Sprites(images, torch.from_numpy(factors.astype(np.float32)), FACTOR_NAMES)


def factor_traversal(base=(2, 0.8, 0.5, 0.5, 0.5), steps: int = 7, size: int = 28, *,
                     scale_range: tuple[float, float] = (0.5, 1.0),
                     rotation_range: tuple[float, float] = (0.0, math.pi / 3)) -> torch.Tensor:
    """The ground-truth traversal: row k changes only factor k of ``base`` across its range.

    Returns (5, steps, 1, size, size): what a perfectly disentangled model's latent traversal
    would look like (shape cycles through square, ellipse, heart).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer ≥ 2, got {steps!r}")
    if len(base) != len(FACTOR_NAMES):
        raise ValueError(f"base must give the {len(FACTOR_NAMES)} factors {FACTOR_NAMES}, got {base!r}")
    ranges = [None, scale_range, rotation_range, (0.0, 1.0), (0.0, 1.0)]
    rows = []
    for k, rng in enumerate(ranges):
        f = np.tile(np.asarray(base, dtype=np.float64), (steps, 1))
        f[:, k] = np.arange(steps) % len(SHAPES) if rng is None else np.linspace(*rng, steps)
        rows.append(render(*f.T, size=size))
    return torch.stack(rows)

"""Small plotting helpers shared by the lectures (matplotlib, small figures).

Public functions:

* :func:`show_images`: a grid of images (torchvision's ``make_grid``) on an Axes.
* :func:`plot_history`: loss curves per epoch from a :class:`vae_course.train.History`.
* :func:`latent_scatter`: 2-D latent codes coloured by digit label.
* Lecture 06's static latent-space figures (the live versions are in :mod:`vae_course.widgets.latent`):
  :func:`plot_latent_scatter` (codes over the prior's contours), :func:`plot_manifold`,
  :func:`plot_interpolation` (lerp vs slerp), :func:`plot_traversal`, :func:`plot_arithmetic`;
  :func:`draw_latent_plane` draws the plane on a given Axes (the 2-D explorer's map uses it).
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid

from .latent import decode_images, gaussian_grid, latent_arithmetic, lerp, manifold_grid, slerp

__all__ = ["show_images", "plot_history", "latent_scatter", "draw_latent_plane", "plot_latent_scatter", "plot_manifold",
           "plot_interpolation", "plot_traversal", "plot_arithmetic", "LIMIT"]

LIMIT = 4.0        # latent axes and sliders span [−4, 4]: ±4 prior standard deviations
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, dpi=80)
    return ax


def show_images(images: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None, figsize=(4, 4)):
    """Show a batch of images (B, 1, H, W) in [0, 1] as one grid; returns the Axes."""
    if not torch.is_tensor(images) or images.ndim != 4:
        raise ValueError(f"images must be a tensor (B, C, H, W), got {getattr(images, 'shape', type(images))}")
    ax = _axes(ax, figsize)
    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_history(history, keys=("recon", "kl"), ax=None, figsize=(6, 3)):
    """Per-epoch curves of ``keys`` (train solid, test dashed when recorded); returns the Axes."""
    ax = _axes(ax, figsize)
    for i, key in enumerate(keys):
        color = f"C{i}"
        if key in history.train:
            ax.plot(history.epochs, history.train[key], "-o", ms=3, color=color, label=f"{key} (train)")
        if key in history.test:
            ax.plot(history.epochs, history.test[key], "--", color=color, label=f"{key} (test)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per image")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def latent_scatter(z: torch.Tensor, labels: torch.Tensor, ax=None, title: str | None = None, figsize=(4, 4), s=3,
                   colorbar: bool = True):
    """Scatter of 2-D codes ``z`` (N, 2) coloured by ``labels`` (digits 0-9); returns the Axes."""
    z = torch.as_tensor(z).detach().cpu()
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"latent_scatter needs 2-D codes of shape (N, 2), got {tuple(z.shape)}")
    ax = _axes(ax, figsize)
    sc = ax.scatter(z[:, 0], z[:, 1], c=torch.as_tensor(labels).cpu(), cmap="tab10", s=s, vmin=-0.5, vmax=9.5)
    if colorbar:
        plt.colorbar(sc, ax=ax, ticks=range(10), fraction=0.046, pad=0.04)
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


# ----------------------------------------------------------------------------- the latent space (lecture 06)

def draw_latent_plane(ax, points, labels, limit: float, legend: bool = True, max_points: int = 5000) -> None:
    """Scatter of codes coloured by label over contours of p(z) = N(0, I) at 1, 2, 3 σ."""
    if points is not None and len(points):
        points = points[:max_points]
        if labels is not None:
            labels = labels[:max_points]
            sc = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=4,
                            alpha=0.6, linewidths=0, rasterized=True)
            if legend:
                ax.figure.colorbar(sc, ax=ax, ticks=range(10), label="digit")
        else:
            ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, color="C0", linewidths=0)
    g = np.linspace(-limit, limit, 201)
    gx, gy = np.meshgrid(g, g)
    density = np.exp(-0.5 * (gx ** 2 + gy ** 2)) / (2 * np.pi)
    levels = [np.exp(-0.5 * r ** 2) / (2 * np.pi) for r in (3, 2, 1)]
    cs = ax.contour(gx, gy, density, levels=levels, colors="0.3", linewidths=0.8, linestyles="--")
    ax.clabel(cs, fmt={lv: f"{r}σ" for lv, r in zip(levels, (3, 2, 1))}, fontsize=7)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("z₁", fontsize=9)
    ax.set_ylabel("z₂", fontsize=9)
    ax.tick_params(labelsize=7)


def plot_latent_scatter(z, labels=None, ax=None, limit: float = LIMIT, title: str | None = None):
    """The 2-D codes ``z`` (N, 2), coloured by ``labels``, over the prior's 1σ/2σ/3σ contours. Returns the figure."""
    z = np.asarray(torch.as_tensor(z).detach().cpu(), dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"plot_latent_scatter needs (N, 2) codes, got shape {z.shape}")
    labels = None if labels is None else np.asarray(torch.as_tensor(labels).detach().cpu()).reshape(-1)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.2))
    draw_latent_plane(ax, z, labels, limit)
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def plot_manifold(model, n: int = 15, ax=None, lo: float = 0.05, hi: float = 0.95):
    """Kingma & Welling's fig. 4: p_θ(x|z) decoded on an n×n grid of Gaussian quantiles
    (:func:`vae_course.latent.gaussian_grid`), ticks at the z values. Returns the figure."""
    image = manifold_grid(model, n, lo, hi).numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    q = gaussian_grid(n, lo, hi)[:n, 0].numpy()
    ticks = [0, n // 2, n - 1]
    ax.set_xticks([28 * i + 13.5 for i in ticks], [f"{q[i]:.2f}" for i in ticks], fontsize=7)
    ax.set_yticks([28 * i + 13.5 for i in ticks], [f"{-q[i] + 0.0:.2f}" for i in ticks], fontsize=7)
    ax.set_xlabel("z₁ = Φ⁻¹(u₁)", fontsize=9)
    ax.set_ylabel("z₂ = Φ⁻¹(u₂)", fontsize=9)
    return ax.figure


def _show_row(axes, images, titles=None) -> None:
    for i, (ax, im) in enumerate(zip(axes, images)):
        ax.imshow(np.squeeze(np.asarray(im)), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)


def plot_interpolation(model, z_a, z_b, steps: int = 9):
    """Two rows of decoded codes from z_a to z_b — lerp on top, slerp below — and ‖z(t)‖ for both.
    Returns the figure."""
    z_a, z_b = torch.as_tensor(z_a, dtype=torch.float64), torch.as_tensor(z_b, dtype=torch.float64)
    ts = torch.linspace(0, 1, steps, dtype=torch.float64)
    paths = {"lerp": lerp(z_a, z_b, ts), "slerp": slerp(z_a, z_b, ts)}
    fig = plt.figure(figsize=(10, 2.3))
    grid = fig.add_gridspec(2, steps + 3, hspace=0.15)
    for row, (name, path) in enumerate(paths.items()):
        axes = [fig.add_subplot(grid[row, j]) for j in range(steps)]
        _show_row(axes, decode_images(model, path.float())[:, 0], [f"t={t:.2f}" for t in ts] if row == 0 else None)
        axes[0].set_ylabel(name, fontsize=9)
    ax = fig.add_subplot(grid[:, steps + 1:])
    fine = torch.linspace(0, 1, 101, dtype=torch.float64)
    ax.plot(fine, lerp(z_a, z_b, fine).norm(dim=1), label="lerp")
    ax.plot(fine, slerp(z_a, z_b, fine).norm(dim=1), label="slerp", ls="--")
    d = z_a.numel()
    ax.axhline(math.sqrt(d), color="0.5", lw=0.8, ls=":", label=f"√d = {math.sqrt(d):.2f}")
    ax.set_xlabel("t", fontsize=9)
    ax.set_ylabel("‖z(t)‖", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    return fig


def plot_traversal(model, z, dims=None, values=(-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)):
    """Latent traversal: row k decodes z with dimension dims[k] replaced by each of ``values``
    (what the per-dimension sliders show, frozen). Returns the figure."""
    z = torch.as_tensor(z, dtype=torch.float32).reshape(-1)
    if z.numel() != model.latent_dim:
        raise ValueError(f"z has {z.numel()} values but the model's latent_dim is {model.latent_dim}")
    dims = list(range(model.latent_dim)) if dims is None else [int(d) for d in dims]
    for d in dims:
        if not 0 <= d < model.latent_dim:
            raise ValueError(f"dimension {d} does not exist (latent_dim={model.latent_dim})")
    fig, axes = plt.subplots(len(dims), len(values), figsize=(0.75 * len(values) + 0.6, 0.75 * len(dims) + 0.4),
                             squeeze=False)
    for r, d in enumerate(dims):
        codes = z.repeat(len(values), 1)
        codes[:, d] = torch.tensor(values, dtype=torch.float32)
        _show_row(axes[r], decode_images(model, codes)[:, 0], [f"{v:+g}" for v in values] if r == 0 else None)
        axes[r, 0].set_ylabel(f"z{str(d + 1).translate(_SUB)}", rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def plot_arithmetic(model, z, means: dict, source: int, target: int, alphas=(0.0, 0.5, 1.0, 1.5)):
    """Rows: codes ``z`` (k, d); columns: z + α·(m_target − m_source) decoded, for each α.
    Returns the figure."""
    z = torch.as_tensor(z, dtype=torch.float32)
    z = z[None] if z.ndim == 1 else z
    fig, axes = plt.subplots(len(z), len(alphas), figsize=(1.1 * len(alphas) + 0.6, 1.15 * len(z) + 0.3), squeeze=False)
    for r, code in enumerate(z):
        moved = torch.stack([latent_arithmetic(code, means, source, target, float(a)) for a in alphas])
        _show_row(axes[r], decode_images(model, moved)[:, 0],
                  [f"α = {a:g}" for a in alphas] if r == 0 else None)
    fig.suptitle(f"z + α·(mean {target} − mean {source})", fontsize=9)
    fig.tight_layout()
    return fig

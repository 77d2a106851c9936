"""Small plotting helpers shared by the lectures (matplotlib, small figures).

Public functions:

* :func:`show_images`: a grid of images (torchvision's ``make_grid``) on an Axes.
* :func:`plot_history`: loss curves per epoch from a :class:`vae_course.train.History`.
* :func:`latent_scatter`: 2-D latent codes coloured by digit label.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

__all__ = ["show_images", "plot_history", "latent_scatter"]


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

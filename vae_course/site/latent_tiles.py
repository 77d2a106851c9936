"""Images for the static 2-D latent explorer: lecture 06's 2-D VAE decoded ahead of time on a grid of z.

:func:`write` saves into a folder

* ``tiles.png``: the decoded mean of p_θ(x|z) for every z on an n×n grid from ``lo`` to ``hi`` (row r holds
  z₂ = hi − r·step, column c holds z₁ = lo + c·step), 28×28 pixels each, one grayscale sprite sheet;
* ``map.png``: the latent plane as lecture 06 draws it (μ of q_φ(z|x) for the test digits, coloured by label,
  over the prior's 1σ/2σ/3σ contours);

and returns the numbers the page's script needs (grid, tile size, where the map's axes sit in the image).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = ["model_2d", "tile_sheet", "write"]

GRID_N, GRID_LO, GRID_HI = 25, -3.0, 3.0
MAP_LIMIT = 4.0
MAP_BOX = (0.12, 0.04, 0.84, 0.84)     # axes [left, top, width, height] as fractions of the map image


def model_2d():
    """Lecture 06's 2-D model, trained the way that lecture trains it (MLPVAE, 2-D latent, seed 0; fast mode
    trains fewer epochs); returns ``(model, data)``."""
    from ..config import checkpoint_dir, pick
    from ..data import load_mnist
    from ..train import load_or_train

    data = load_mnist()
    model, _ = load_or_train(checkpoint_dir() / "conv_vae.pt", 2, data.train_x, data.test_x, model_class="MLPVAE",
                             epochs=pick(30, 8), seed=0, progress=False)
    return model, data


def tile_sheet(model, n: int = GRID_N, lo: float = GRID_LO, hi: float = GRID_HI) -> np.ndarray:
    """(n·28, n·28) uint8 sheet of decoded images; rows go down in z₂, columns right in z₁."""
    from ..latent import decode_images

    if getattr(model, "latent_dim", None) != 2:
        raise ValueError(f"the static explorer needs a model with a 2-D latent, got latent_dim={getattr(model, 'latent_dim', None)}")
    values = torch.linspace(lo, hi, n)
    z1, z2 = torch.meshgrid(values, values.flip(0), indexing="xy")     # row r: z₂ = hi − r·step
    images = decode_images(model, torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1))[:, 0]
    sheet = images.reshape(n, n, 28, 28).permute(0, 2, 1, 3).reshape(n * 28, n * 28)
    return (sheet.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _map_png(path: Path, points: np.ndarray, labels: np.ndarray) -> None:
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..plots import draw_latent_plane

    fig = plt.figure(figsize=(3.75, 3.75), dpi=80)
    left, top, width, height = MAP_BOX
    ax = fig.add_axes([left, 1 - top - height, width, height])
    draw_latent_plane(ax, points, labels, MAP_LIMIT, legend=False)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write(folder, model=None, data=None) -> dict:
    """Write ``tiles.png`` and ``map.png`` into ``folder`` and return the page's metadata."""
    from ..latent import encode_mean

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if model is None:
        model, data = model_2d()
    Image.fromarray(tile_sheet(model), mode="L").save(folder / "tiles.png", optimize=True)
    if data is not None:
        points, labels = encode_mean(model, data.test_x).numpy(), data.test_y.numpy()
    else:
        points, labels = None, None
    _map_png(folder / "map.png", points, labels)
    return {"n": GRID_N, "lo": GRID_LO, "hi": GRID_HI, "tile": 28, "map_limit": MAP_LIMIT, "map_box": list(MAP_BOX)}

"""A small RealNVP normalizing flow (Dinh et al., 2017) with an exact log-likelihood (lecture 11).

A flow is an invertible map z = f(x) with a tractable Jacobian, and a simple base density
p(z) = N(0, I) of the *same* dimension as x. The change-of-variables formula gives the exact

    log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|,

and sampling inverts the map: x = f⁻¹(z), z ~ N(0, I). Because f is a bijection, z cannot
have fewer dimensions than x: a flow re-describes the data, it does not compress them.

An affine coupling layer keeps one part of the coordinates (mask b = 1) and moves the rest:

    y = b ⊙ x + (1 - b) ⊙ (x ⊙ exp(s(b ⊙ x)) + t(b ⊙ x)),     log |det| = Σ (1 - b) ⊙ s(b ⊙ x),

whose inverse is x = b ⊙ y + (1 - b) ⊙ ((y - t(b ⊙ y)) ⊙ exp(-s(b ⊙ y))) (the kept part is
unchanged, so s and t can be recomputed from it). Layers alternate their masks so every
coordinate gets moved.

Public names:

* :class:`RealNVP` (``dim``, ``n_layers``, ``hidden``): ``forward(x) -> (z, log_det)``,
  ``inverse(z)``, ``log_prob(x)`` (exact, nats), ``sample(n)``.
* :func:`train_flow`: maximum likelihood with Adam on a point cloud (``train.fit`` is for images).
* :func:`two_moons`: the 2-D toy data set (two interleaved half circles with Gaussian noise).
* :func:`grid_density`: p(x) on a regular 2-D grid (for plots and for checking it integrates to 1).
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["AffineCoupling", "RealNVP", "train_flow", "two_moons", "grid_density"]


def _check_points(x, dim: int, name: str = "x") -> None:
    if not torch.is_tensor(x):
        raise ValueError(f"{name} must be a torch tensor of shape (N, {dim}), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return value


class AffineCoupling(nn.Module):
    """One affine coupling layer with a fixed 0/1 ``mask`` (1 = kept, 0 = moved); see the module docstring.

    s = scale ⊙ tanh(raw_s) keeps the log-scale bounded (a stable start); the last layer of the
    conditioner starts at zero, so a fresh layer is the identity.
    """

    def __init__(self, mask: torch.Tensor, hidden: int = 64):
        super().__init__()
        dim = len(mask)
        self.register_buffer("mask", mask.float())
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 2 * dim))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(dim))

    def _s_t(self, kept: torch.Tensor):
        raw_s, t = self.net(kept).chunk(2, dim=-1)
        moved = 1 - self.mask
        return self.scale * torch.tanh(raw_s) * moved, t * moved

    def forward(self, x: torch.Tensor):
        """(y, log |det ∂y/∂x|) per point."""
        s, t = self._s_t(x * self.mask)
        y = x * self.mask + (1 - self.mask) * (x * torch.exp(s) + t)
        return y, s.sum(-1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        s, t = self._s_t(y * self.mask)
        return y * self.mask + (1 - self.mask) * ((y - t) * torch.exp(-s))


class RealNVP(nn.Module):
    """A stack of affine coupling layers with alternating masks, base density p(z) = N(0, I) in R^dim.

    ``forward`` goes data → latent (the direction the likelihood needs), ``inverse`` latent → data
    (the direction sampling needs); both are one pass through the layers.
    """

    def __init__(self, dim: int = 2, n_layers: int = 6, hidden: int = 64):
        super().__init__()
        self.dim = _positive_int("dim", dim, 2)
        _positive_int("n_layers", n_layers)
        _positive_int("hidden", hidden)
        self.config = {"model": "RealNVP", "module": __name__, "dim": dim, "n_layers": n_layers, "hidden": hidden}
        even = (torch.arange(dim) % 2 == 0).float()
        self.layers = nn.ModuleList(AffineCoupling(even if k % 2 == 0 else 1 - even, hidden) for k in range(n_layers))

    @property
    def device(self) -> torch.device:
        return self.layers[0].mask.device

    def forward(self, x: torch.Tensor, validate: bool = True):
        """z = f(x) and log |det ∂f/∂x| per point: (N, dim), (N,)."""
        if validate:
            _check_points(x, self.dim)
        log_det = torch.zeros(len(x), device=x.device, dtype=x.dtype)
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, z: torch.Tensor, validate: bool = True) -> torch.Tensor:
        """x = f⁻¹(z), (N, dim): the layers undone in reverse order."""
        if validate:
            _check_points(z, self.dim, "z")
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_prob(self, x: torch.Tensor, validate: bool = True) -> torch.Tensor:
        """Exact log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x| per point, nats, (N,)."""
        z, log_det = self.forward(x, validate=validate)
        log_base = -0.5 * (z ** 2).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)
        return log_base + log_det

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points x = f⁻¹(z), z ~ N(0, I): all coordinates at once (one inverse pass)."""
        _positive_int("n", n)
        z = torch.randn(n, self.dim, generator=generator,
                        device=generator.device if generator is not None else self.device)
        return self.inverse(z.to(self.device), validate=False)


def train_flow(flow: RealNVP, x: torch.Tensor, *, steps: int = 2000, batch_size: int = 256, lr: float = 3e-3,
               seed: int | None = 0, device=None) -> list[float]:
    """Maximum likelihood: minimise -mean log p(x) over random batches of ``x`` with Adam (cosine lr decay).

    Returns the loss (nats per point) after every step. ``train.fit`` is the course's loop for
    image models; a point cloud needs only these few lines.
    """
    from .config import get_device
    _check_points(x, flow.dim)
    _positive_int("steps", steps)
    _positive_int("batch_size", batch_size)
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    device = get_device(device)
    flow.to(device)
    x = x.to(device)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    opt = torch.optim.Adam(flow.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []
    flow.train()
    for _ in range(steps):
        idx = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen).to(device)
        loss = -flow.log_prob(x[idx], validate=False).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    flow.eval()
    return losses


def two_moons(n: int, noise: float = 0.05, seed: int = 0) -> torch.Tensor:
    """n points (n, 2) on two interleaved half circles (radius 1, centres (0, 0) and (1, 0.5)) plus N(0, noise²) noise."""
    _positive_int("n", n)
    if not (isinstance(noise, (int, float)) and noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    g = torch.Generator().manual_seed(seed)
    upper = torch.rand(n, generator=g) < 0.5
    angle = math.pi * torch.rand(n, generator=g)
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    return torch.stack([x, y], 1) + noise * torch.randn(n, 2, generator=g)


@torch.no_grad()
def grid_density(flow: RealNVP, xlim=(-3.0, 3.0), ylim=(-3.0, 3.0), n: int = 200):
    """p(x) at the centres of an n × n grid of cells over ``xlim`` × ``ylim``: (xs, ys, density (n, n), cell area).

    ``density[i, j]`` is p at (xs[j], ys[i]); Σ density · cell area ≈ the mass inside the box (midpoint rule).
    """
    if flow.dim != 2:
        raise ValueError(f"grid_density needs a 2-D flow, got dim={flow.dim}")
    _positive_int("n", n, 2)
    (x0, x1), (y0, y1) = (map(float, xlim)), (map(float, ylim))
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"xlim and ylim must be increasing pairs, got {xlim!r}, {ylim!r}")
    dx, dy = (x1 - x0) / n, (y1 - y0) / n
    xs = x0 + dx * (torch.arange(n, dtype=torch.float64) + 0.5)
    ys = y0 + dy * (torch.arange(n, dtype=torch.float64) + 0.5)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    flow.eval()
    dtype = next(flow.parameters()).dtype
    dens = torch.cat([flow.log_prob(c.to(flow.device, dtype), validate=False).exp().cpu()
                      for c in pts.split(20_000)]).double()
    return xs, ys, dens.reshape(n, n), dx * dy

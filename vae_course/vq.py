"""Vector quantization and a small VQ-VAE for MNIST (lecture 09; van den Oord et al., 2017).

The encoder maps an image to a grid of vectors z_e(x) ∈ R^{D×7×7}; each vector is replaced by its
nearest codebook entry e_k (k = argmin_j ‖z_e − e_j‖²), and the decoder sees the quantized grid z_q.

* :class:`VectorQuantizer`: nearest-code assignment, the straight-through estimator
  z_q = z_e + sg[e_k − z_e] (forward: e_k; backward: ∂/∂z_q copied to z_e), the codebook loss
  ‖sg[z_e] − e_k‖² (moves codes to the encoder outputs), the commitment loss ‖z_e − sg[e_k]‖²
  (keeps the encoder near its codes), codebook usage and perplexity, and re-seeding of dead codes.
* :class:`VQVAE`: conv encoder → quantizer → conv decoder with a Bernoulli likelihood;
  ``loss_terms(x)`` = −log p_θ(x|z_q) + ‖sg[z_e] − e‖² + β_c ‖z_e − sg[e]‖², so ``train.fit`` trains it.
* :func:`dead_codes`: how many codes a trained model never chooses on a set of images.
* :class:`CodePrior`: a prior *learned* over the code grid (one categorical per grid cell, fitted by
  counting), its rate −log p(k) in nats and samples from it; the uniform prior's rate is H·W·log K.
* :func:`hierarchy_levels`: the grid sizes of a VQ-VAE-2 hierarchy (Razavi et al., 2019) for a given
  image size and downsampling factors (256² images: bottom 64×64, top 32×32).

sg[·] is the stop-gradient, ``.detach()`` in code. Losses are summed over the grid and the code
dimensions and averaged over the batch ("per image", like the reconstruction term in nats).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .losses import bernoulli_log_likelihood, check_images

__all__ = ["VQOutput", "VectorQuantizer", "VQVAE", "perplexity", "dead_codes", "CodePrior", "hierarchy_levels"]


class VQOutput(NamedTuple):
    z_q: torch.Tensor             # quantized grid with straight-through gradient, (B, D, H, W)
    indices: torch.Tensor         # chosen code per grid cell, (B, H, W)
    codebook_loss: torch.Tensor   # ‖sg[z_e] − e‖², per image, mean over the batch
    commitment_loss: torch.Tensor  # ‖z_e − sg[e]‖², per image, mean over the batch
    perplexity: torch.Tensor      # exp(H(code frequencies in this batch))
    codes_used: torch.Tensor      # number of distinct codes in this batch


def perplexity(indices: torch.Tensor, num_codes: int) -> torch.Tensor:
    """exp(H(p)) with p the frequency of each code among ``indices``: the "effective number of codes".

    Equals ``num_codes`` when every code is used equally often, 1 when a single code is used.
    """
    return _perplexity(torch.bincount(indices.reshape(-1), minlength=num_codes))


def _perplexity(counts: torch.Tensor) -> torch.Tensor:
    p = counts.float() / counts.sum()
    return torch.exp(-torch.special.xlogy(p, p).sum())


class VectorQuantizer(nn.Module):
    """Replace each D-vector of a (B, D, H, W) grid by its nearest of ``num_codes`` codebook vectors.

    ``reseed_every=n`` (training only): every n forward passes, each code that was not chosen once
    in those n batches ("dead") is moved onto a random encoder output of the current batch.
    ``None`` leaves dead codes dead.
    """

    def __init__(self, num_codes: int = 64, code_dim: int = 16, reseed_every: int | None = None):
        super().__init__()
        for name, v in (("num_codes", num_codes), ("code_dim", code_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if reseed_every is not None and (isinstance(reseed_every, bool) or not isinstance(reseed_every, int)
                                         or reseed_every < 1):
            raise ValueError(f"reseed_every must be None or a positive number of batches, got {reseed_every!r}")
        self.num_codes, self.code_dim, self.reseed_every = num_codes, code_dim, reseed_every
        self.codebook = nn.Parameter(torch.empty(num_codes, code_dim).uniform_(-1 / num_codes, 1 / num_codes))
        self.register_buffer("counts", torch.zeros(num_codes))   # uses since the last re-seed check
        self.steps = 0
        self.reseeded = 0                                         # codes re-seeded so far

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """k(i) = argmin_j ‖z_i − e_j‖² for rows z_i of ``flat`` (N, D), via ‖z‖² − 2 z·e + ‖e‖²."""
        e = self.codebook
        d2 = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)
        return d2.argmin(1)

    def forward(self, z_e: torch.Tensor) -> VQOutput:
        if z_e.ndim != 4 or z_e.shape[1] != self.code_dim:
            raise ValueError(f"z_e must have shape (B, {self.code_dim}, H, W) (code_dim channels), got {tuple(z_e.shape)}")
        b, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)                    # one row per grid cell
        idx = self.nearest(flat.detach())
        e = self.codebook[idx].view(b, h, w, d).permute(0, 3, 1, 2)     # e_k, (B, D, H, W)

        codebook_loss = (e - z_e.detach()).pow(2).flatten(1).sum(1).mean()     # ‖sg[z_e] − e‖²
        commitment_loss = (z_e - e.detach()).pow(2).flatten(1).sum(1).mean()   # ‖z_e − sg[e]‖²
        z_q = z_e + (e - z_e).detach()                                          # straight-through

        counts = torch.bincount(idx, minlength=self.num_codes)
        if self.training:
            self._track(counts, flat.detach())
        return VQOutput(z_q, idx.view(b, h, w), codebook_loss, commitment_loss, _perplexity(counts), (counts > 0).sum())

    @torch.no_grad()
    def _track(self, counts: torch.Tensor, flat: torch.Tensor) -> None:
        self.counts += counts.to(self.counts.dtype)
        self.steps += 1
        if self.reseed_every and self.steps % self.reseed_every == 0:
            self.reseed_dead_codes(flat)

    @torch.no_grad()
    def reseed_dead_codes(self, flat: torch.Tensor) -> int:
        """Move every code unused since the last check onto a random row of ``flat`` (N, D); returns how many."""
        dead = (self.counts == 0).nonzero().reshape(-1)
        if len(dead):
            rows = torch.randint(len(flat), (len(dead),), device=flat.device)
            self.codebook[dead] = flat[rows].to(self.codebook.dtype)
            self.reseeded += len(dead)
        self.counts.zero_()
        return len(dead)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """The grid of code vectors for a (B, H, W) grid of indices: (B, D, H, W)."""
        if indices.dtype not in (torch.int64, torch.int32) or indices.ndim != 3:
            raise ValueError(f"indices must be an integer grid (B, H, W), got {indices.dtype} {tuple(indices.shape)}")
        if len(indices) and (indices.min() < 0 or indices.max() >= self.num_codes):
            raise ValueError(f"indices must be in [0, {self.num_codes - 1}]")
        return self.codebook[indices.long()].permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return f"num_codes={self.num_codes}, code_dim={self.code_dim}, reseed_every={self.reseed_every}"


class VQVAE(nn.Module):
    """A small VQ-VAE for 28×28 images: a 7×7 grid of ``code_dim``-vectors, ``num_codes`` codes.

    The discrete latent of one image is 49 code indices, at most 49·log₂(num_codes) bits.
    ``commitment`` is β_c in ``loss = recon + ‖sg[z_e] − e‖² + β_c ‖z_e − sg[e]‖²`` (0.25 in the paper).
    """

    def __init__(self, num_codes: int = 64, code_dim: int = 16, hidden: int = 32, commitment: float = 0.25,
                 reseed_every: int | None = None):
        super().__init__()
        if not (isinstance(commitment, (int, float)) and math.isfinite(commitment) and commitment >= 0):
            raise ValueError(f"commitment must be a number ≥ 0, got {commitment!r}")
        self.config = {"model": "VQVAE", "module": __name__, "num_codes": num_codes, "code_dim": code_dim, "hidden": hidden,
                       "commitment": float(commitment), "reseed_every": reseed_every}
        self.commitment = float(commitment)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, hidden, 4, 2, 1), nn.ReLU(),                # 28 → 14
            nn.Conv2d(hidden, 2 * hidden, 4, 2, 1), nn.ReLU(),       # 14 → 7
            nn.Conv2d(2 * hidden, code_dim, 1),                       # z_e: (B, D, 7, 7)
        )
        self.quantizer = VectorQuantizer(num_codes, code_dim, reseed_every)
        self.decoder = nn.Sequential(
            nn.Conv2d(code_dim, 2 * hidden, 3, 1, 1), nn.ReLU(),
            nn.ConvTranspose2d(2 * hidden, hidden, 4, 2, 1), nn.ReLU(),  # 7 → 14
            nn.ConvTranspose2d(hidden, 1, 4, 2, 1),                     # 14 → 28, logits
        )

    @property
    def num_codes(self) -> int:
        return self.quantizer.num_codes

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z_e(x): the continuous encoder output, (B, code_dim, 7, 7)."""
        check_images(x, check_range=False)
        return self.encoder(x)

    def decode(self, z_q: torch.Tensor) -> torch.Tensor:
        """Logits of p_θ(x|z_q), (B, 1, 28, 28)."""
        return self.decoder(z_q)

    def forward(self, x: torch.Tensor):
        """(logits, VQOutput) for a batch of images."""
        vq = self.quantizer(self.encode(x))
        return self.decode(vq.z_q), vq

    def loss_terms(self, x: torch.Tensor, **kw) -> dict[str, torch.Tensor]:
        """recon = −(1/B) Σ_b log p_θ(x_b|z_q); loss = recon + codebook + β_c·commitment.

        Also reports the batch's ``perplexity`` and ``codes_used``. Keyword arguments meant for VAEs
        (``beta``, ``free_bits``, ...) are accepted and ignored: the VQ-VAE has no KL term to weight
        (its KL against a uniform prior over codes is the constant 49·log K).
        """
        logits, vq = self(x)
        recon = -bernoulli_log_likelihood(logits, x, validate=False).mean()
        loss = recon + vq.codebook_loss + self.commitment * vq.commitment_loss
        return {"loss": loss, "recon": recon, "codebook": vq.codebook_loss, "commitment": vq.commitment_loss,
                "perplexity": vq.perplexity.detach(), "codes_used": vq.codes_used.float()}

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoded quantized codes of ``x``, as images in [0, 1]."""
        logits, _ = self(x)
        return torch.sigmoid(logits)

    @torch.no_grad()
    def codes(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """The code indices of every image, (N, 7, 7), without touching the usage counters."""
        was = self.training
        self.eval()
        try:
            device = self.quantizer.codebook.device
            return torch.cat([self.quantizer(self.encode(x[i:i + batch_size].to(device))).indices.cpu()
                              for i in range(0, len(x), batch_size)])
        finally:
            self.train(was)

    @torch.no_grad()
    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] decoded from a (B, 7, 7) grid of code indices."""
        return torch.sigmoid(self.decode(self.quantizer.lookup(indices.to(self.quantizer.codebook.device))))


# ----------------------------------------------------------------------------- usage, learned prior, VQ-VAE-2

@torch.no_grad()
def dead_codes(model: VQVAE, x: torch.Tensor) -> int:
    """The number of codebook entries that are the nearest code for no grid cell of any image in ``x``."""
    if not isinstance(model, VQVAE):
        raise TypeError(f"model must be a VQVAE, got {type(model).__name__}")
    used = torch.bincount(model.codes(x).reshape(-1), minlength=model.num_codes)
    return int((used == 0).sum())


class CodePrior:
    """A learned prior over a grid of code indices: an independent categorical for every grid cell,
    p(k) = Π_{ij} π_ij(k_ij), fitted by counting with add-α smoothing,
    π_ij(k) = (n_ij(k) + α) / (N + α K) (the posterior mean under a Dirichlet(α) prior).

    The simplest prior *learned* over the codes, and a lower bound on what it buys: VQ-VAE and
    VQ-VAE-2 fit an autoregressive PixelCNN over the grid instead, which also models how
    neighbouring codes go together. ``rate(indices)`` is −log p(k) in nats per image, the term
    that replaces the uniform prior's constant H·W·log K in the negative ELBO.
    """

    def __init__(self, indices: torch.Tensor, num_codes: int, alpha: float = 0.5):
        if not isinstance(indices, torch.Tensor) or indices.ndim != 3 or indices.is_floating_point() or not len(indices):
            raise ValueError(f"indices must be a non-empty integer grid (N, H, W), got "
                             f"{getattr(indices, 'dtype', type(indices).__name__)} {tuple(getattr(indices, 'shape', ()))}")
        if isinstance(num_codes, bool) or not isinstance(num_codes, int) or num_codes < 1:
            raise ValueError(f"num_codes must be a positive integer, got {num_codes!r}")
        if indices.min() < 0 or indices.max() >= num_codes:
            raise ValueError(f"indices must lie in [0, {num_codes - 1}]")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"alpha must be a number > 0, got {alpha!r}")
        n, h, w = indices.shape
        self.num_codes, self.shape = num_codes, (h, w)
        flat = indices.reshape(n, h * w).long().cpu()
        counts = torch.zeros(h * w, num_codes, dtype=torch.float64)
        counts.scatter_add_(1, flat.t(), torch.ones(h * w, n, dtype=torch.float64))
        self.log_probs = torch.log((counts + alpha) / (n + alpha * num_codes))   # (H·W, K)

    def rate(self, indices: torch.Tensor) -> torch.Tensor:
        """−log p(k) in nats for each grid of ``indices`` (N, H, W): a tensor of N values."""
        if not isinstance(indices, torch.Tensor) or tuple(indices.shape[1:]) != self.shape or indices.is_floating_point():
            raise ValueError(f"indices must be an integer grid (N, {self.shape[0]}, {self.shape[1]})")
        flat = indices.reshape(len(indices), -1).long().cpu()
        if len(flat) and (flat.min() < 0 or flat.max() >= self.num_codes):
            raise ValueError(f"indices must lie in [0, {self.num_codes - 1}]")
        return -self.log_probs.gather(1, flat.t()).sum(0)

    def uniform_rate(self) -> float:
        """H·W·log K: the rate of every grid under the uniform prior, in nats."""
        return self.shape[0] * self.shape[1] * math.log(self.num_codes)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` grids of codes drawn from the prior, (n, H, W)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        draws = torch.multinomial(self.log_probs.exp(), n, replacement=True, generator=generator)   # (H·W, n)
        return draws.t().reshape(n, *self.shape)


def hierarchy_levels(image_size: int, factors=(4, 2)) -> list[dict]:
    """The latent grids of a hierarchical VQ-VAE (VQ-VAE-2) for square images of side ``image_size``.

    ``factors``: the downsampling of each encoder stage, from the image up. VQ-VAE-2 on 256×256
    ImageNet uses (4, 2): the bottom encoder divides the side by 4 (a 64×64 grid of codes, each
    summarising a 4×4 patch), the top encoder divides that by 2 again (32×32, each code covering
    8×8 pixels). Returns one dict per level, bottom first: ``level`` ('bottom', then 'top';
    'middle' in between for three stages), ``grid`` (side of the code grid), ``codes`` (grid²),
    ``pixels_per_code`` (the side of the image patch one code summarises).
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    factors = tuple(factors)
    if not 1 <= len(factors) <= 3 or any(isinstance(f, bool) or not isinstance(f, int) or f < 2 for f in factors):
        raise ValueError(f"factors must be 1 to 3 integers ≥ 2, got {factors!r}")
    names = {1: ["bottom"], 2: ["bottom", "top"], 3: ["bottom", "middle", "top"]}[len(factors)]
    levels, stride = [], 1
    for name, f in zip(names, factors):
        stride *= f
        if image_size % stride:
            raise ValueError(f"image_size {image_size} is not divisible by the total downsampling {stride}")
        grid = image_size // stride
        levels.append({"level": name, "grid": grid, "codes": grid * grid, "pixels_per_code": stride})
    return levels

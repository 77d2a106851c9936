"""A VAE whose decoder is autoregressive: each pixel's logit sees z and the pixels before it (lecture 08).

Public names:

* :class:`MaskedConv2d`: a convolution whose kernel is zero at and after the centre pixel in raster
  order (type 'A': a pixel never sees itself) or after it (type 'B'). Stacked, output pixel i depends
  only on input pixels j < i (van den Oord et al., 2016).
* :func:`pretrain_decoder`: train the decoder alone (z set to 0), so that it models x without z.
* :class:`PixelCNNVAE`: q_φ(z|x) = N(μ, diag σ²) from an MLP encoder, p(z) = N(0, I), and
  p_θ(x|z) = Π_i Bernoulli(x_i | sigmoid(ℓ_i)) with ℓ_i = c_i(z) + Σ_{j<i} W_ij x_j: an MLP of z
  plus a masked linear map of the previous pixels. ``context`` sets which previous pixels count:
  ``'full'`` all of them (a fully visible sigmoid belief net that also sees z: on its own, without
  z, a good model of binary digits), an odd k: a k×k type-'A' window (a one-layer PixelCNN, k = 3
  sees 4 pixels), 0: none (an ordinary VAE decoder, pixels independent given z).

Training uses teacher forcing: all 784 logits in one pass over the observed x, so the negative ELBO
(nats per image) costs one forward pass, as for any VAE (``loss_terms`` is inherited from
:class:`vae_course.models.VAE`). Sampling and reconstruction with a pixel view are sequential:
784 passes, one pixel at a time. Images should be binary (train with ``fit(..., binarize=True)``).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .losses import check_images
from .models import IMAGE_SHAPE, VAE, _check_latent_dim, _mlp, register_model, reparameterize

__all__ = ["MaskedConv2d", "PixelCNNVAE", "pretrain_decoder"]


class MaskedConv2d(nn.Conv2d):
    """Conv2d (odd square kernel, 'same' padding) whose weights are masked to respect raster order.

    Type 'A' zeroes the centre and everything after it (the rest of the centre row, all rows
    below); type 'B' keeps the centre. Output (r, c) of a type-'A' layer thus depends on input
    pixels (r', c') with r' < r, or r' = r and c' < c, within the kernel.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str):
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
        if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be an odd positive integer, got {kernel_size!r}")
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        k = kernel_size // 2
        mask = torch.ones(1, 1, kernel_size, kernel_size)
        mask[:, :, k, k + (mask_type == "B"):] = 0
        mask[:, :, k + 1:, :] = 0
        self.mask_type = mask_type
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


@register_model
class PixelCNNVAE(VAE):
    """VAE with an autoregressive decoder: ℓ_i = c_i(z) + Σ_{j<i} W_ij x_j, p_θ(x|z) = Π_i Bernoulli(x_i | sigmoid(ℓ_i)).

    Encoder: 784 → ``hidden`` → (μ, log σ²) ∈ R^latent_dim (as :class:`~vae_course.models.MLPVAE`).
    Decoder: c(z) = MLP z → ``hidden`` → 784 logits (the MLP VAE's decoder), plus the previous pixels
    through a masked linear map: every earlier pixel (``context='full'``), a k×k type-'A' window
    (``context=k``, odd), or none (``context=0``: x is not seen at all).
    """

    def __init__(self, latent_dim: int = 16, hidden: int = 256, context: int | str = "full", ar_hidden: int = 0):
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        if not isinstance(hidden, int) or isinstance(hidden, bool) or hidden < 1:
            raise ValueError(f"hidden must be a positive integer, got {hidden!r}")
        if context != "full" and not (isinstance(context, int) and not isinstance(context, bool)
                                      and (context == 0 or (context > 0 and context % 2 == 1))):
            raise ValueError(f"context must be 'full', 0 (no previous pixels) or an odd window size, got {context!r}")
        if not isinstance(ar_hidden, int) or isinstance(ar_hidden, bool) or ar_hidden < 0 or (ar_hidden and context != "full"):
            raise ValueError(f"ar_hidden must be an integer ≥ 0, and > 0 only with context='full', got {ar_hidden!r}")
        self._set_config(latent_dim=latent_dim, hidden=hidden, context=context, ar_hidden=ar_hidden)
        self.context = context
        self.pixel_view = context != 0
        self.z_off = False          # True: the decoder sees z = 0 whatever the encoder says (pretraining)
        d = 28 * 28
        self.encoder = nn.Sequential(_mlp([d, hidden]), nn.ReLU())
        self.to_mu = nn.Linear(hidden, latent_dim)
        self.to_logvar = nn.Linear(hidden, latent_dim)
        self.decoder = _mlp([latent_dim, hidden, d])                        # z → c(z), 784 logits
        if context == "full":
            self.weight = nn.Parameter(torch.zeros(d, d))
            self.register_buffer("mask", torch.ones(d, d).tril(-1))       # W_ij used only for j < i
            if ar_hidden:
                # MADE (Germain et al., 2015): hidden unit k has a degree m_k in 1..D-1; it sees pixels
                # j ≤ m_k (1-based) and feeds pixels i > m_k, so pixel i still sees only j < i
                deg = torch.arange(ar_hidden) % (d - 1) + 1
                pos = torch.arange(1, d + 1)
                self.register_buffer("mask_in", (pos[None, :] <= deg[:, None]).float())     # (H, D)
                self.register_buffer("mask_out", (pos[:, None] > deg[None, :]).float())    # (D, H)
                self.ar_in = nn.Linear(d, ar_hidden)
                self.ar_out = nn.Linear(ar_hidden, d, bias=False)
                with torch.no_grad():
                    self.ar_out.weight.zero_()
        elif context:
            self.window = MaskedConv2d(1, 1, context, "A")
            with torch.no_grad():
                self.window.weight.zero_()
                self.window.bias.zero_()

    def encode(self, x: torch.Tensor):
        """(μ, log σ²) of q_φ(z|x), each (B, latent_dim)."""
        check_images(x, check_range=False)
        h = self.encoder(x.flatten(1))
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ℓ_i(x_<i, z) of p_θ(x|z), (B, 1, 28, 28), all pixels at once (teacher forcing on ``x``).

        ``x`` is required when the decoder sees previous pixels; it is ignored when ``context=0``.
        """
        self._check_z(z)
        if self.z_off:
            z = torch.zeros_like(z)
        logits = self.decoder(z).view(-1, *IMAGE_SHAPE)
        if not self.pixel_view:
            return logits
        if x is None:
            raise ValueError("this decoder sees previous pixels: decode(z, x) needs the images x "
                             "(use sample() or reconstruct() to generate pixel by pixel)")
        check_images(x, check_range=False)
        if x.shape[0] != z.shape[0]:
            raise ValueError(f"z and x must hold the same number of images, got {z.shape[0]} and {x.shape[0]}")
        x = x.to(logits.dtype)
        if self.context == "full":
            flat = x.flatten(1)
            ctx = flat @ (self.weight * self.mask).T
            if self.config["ar_hidden"]:
                h = F.relu(F.linear(flat, self.ar_in.weight * self.mask_in, self.ar_in.bias))
                ctx = ctx + F.linear(h, self.ar_out.weight * self.mask_out)
            return logits + ctx.view_as(logits)
        return logits + self.window(x)

    def forward(self, x: torch.Tensor):
        """(logits, mu, logvar) with one reparameterised z per image; the decoder is teacher-forced on x."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)
        return self.decode(z, x), mu, logvar

    def receptive_field(self) -> int:
        """How many previous pixels (raster order) the logit of a pixel far from the border can see.

        Counted by differentiating a logit with respect to the input image; 0 when ``pixel_view=False``.
        """
        was = self.training
        self.eval()
        try:
            x = torch.zeros(1, *IMAGE_SHAPE, device=self.device, requires_grad=True)
            z = torch.zeros(1, self.latent_dim, device=self.device)
            if not self.pixel_view:
                return 0
            probe = copy.deepcopy(self).eval()          # positive weights: no gradient cancels by accident
            with torch.no_grad():
                for p in probe.parameters():
                    p.copy_(torch.rand_like(p) + 0.1)
            logit = probe.decode(z, x)[0, 0, 14, 14]
            (g,) = torch.autograd.grad(logit, x)
            return int((g[0, 0] != 0).sum())
        finally:
            self.train(was)

    @torch.no_grad()
    def _generate(self, z: torch.Tensor, generator: torch.Generator | None = None, mean: bool = False) -> torch.Tensor:
        """Pixels drawn one at a time in raster order from p_θ(x_i | x_<i, z); ``mean=True`` returns the
        Bernoulli means sigmoid(ℓ_i) for the drawn prefix instead of the last draws."""
        z = z.to(self.device)
        if not self.pixel_view:
            return torch.sigmoid(self.decode(z))
        x = torch.zeros(z.shape[0], *IMAGE_SHAPE, device=self.device)
        probs = torch.zeros_like(x)
        for r in range(28):
            for c in range(28):
                p = torch.sigmoid(self.decode(z, x)[:, 0, r, c])
                probs[:, 0, r, c] = p
                u = torch.rand(p.shape, generator=generator, device=generator.device if generator is not None else p.device)
                x[:, 0, r, c] = (u.to(p.device) < p).float()
        return probs if mean else x

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n binary images (pixel by pixel) from z ~ p(z) = N(0, I); Bernoulli means without a pixel view."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        device = generator.device if generator is not None else self.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return self._generate(z, generator)

    @torch.no_grad()
    def decode_images(self, z: torch.Tensor) -> torch.Tensor:
        """Images for codes z: drawn pixel by pixel (pixel view) or the Bernoulli means (no pixel view)."""
        self._check_z(z)
        return self._generate(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """Images generated from z = μ(x) (or a draw z ~ q(z|x) with ``sample=True``), pixel by pixel."""
        mu, logvar = self.encode(x.to(self.device))
        return self._generate(reparameterize(mu, logvar) if sample else mu)

    def _output_bias(self) -> torch.Tensor:
        return self.decoder[-1].bias


def pretrain_decoder(model: PixelCNNVAE, train_x: torch.Tensor, epochs: int, **fit_kw):
    """Train the decoder alone as a model of x: z is replaced by 0 and β = 0, so only
    p_θ(x | z = 0) = Π_i p_θ(x_i | x_<i, z = 0) learns (the encoder gets no gradient).

    Afterwards the decoder models the images without any help from z, the situation of the
    lecture notes' argument for collapse. Returns the :class:`~vae_course.train.History`;
    its 'recon' is −log p_θ(x | z = 0) in nats per image.
    """
    from .train import fit

    if not isinstance(model, PixelCNNVAE):
        raise TypeError(f"model must be a PixelCNNVAE, got {type(model).__name__}")
    fit_kw.pop("beta", None)
    model.z_off = True
    try:
        return fit(model, train_x, epochs=epochs, beta=0.0, **fit_kw)
    finally:
        model.z_off = False

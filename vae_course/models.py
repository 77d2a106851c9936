"""Autoencoder, MLP VAE and convolutional VAE for 28×28 images (lectures 02, 05).

Public names:

* :class:`Autoencoder` (``latent_dim``): x → z → logits; no prior, no KL (lecture 02's foil).
* :class:`DenoisingAutoencoder` (``latent_dim``, ``hidden``, ``noise``): trained to rebuild x from a
  corrupted x̃ (lecture 02's autoencoder family).
* :func:`aggregate_posterior` (``mu``, ``logvar``): q(z) = (1/N) Σ_n N(μ_n, diag σ_n²) as a distribution.
* :class:`VAE`: the base class: q_φ(z|x) = N(μ, diag σ²), p(z) = N(0, I), p_θ(x|z) = Bernoulli(sigmoid(logits)).
* :class:`MLPVAE` (``latent_dim``, ``hidden``): fully connected encoder/decoder.
* :class:`ConvVAE` (``latent_dim``, ``channels``, ``hidden``): the lecture notes' convolutional VAE.
* :func:`build_model` (``config``): rebuild any of these from its ``model.config`` dict.
* :func:`count_parameters`, :func:`register_model`.
* :func:`reparameterize`: z = μ + σ·ε with σ = exp(½ log σ²), ε ~ N(0, I) (lecture 04), the
  sampling step of every VAE's forward pass.

Every model takes float images ``x`` of shape (B, 1, 28, 28) with values in [0, 1] and has
``encode(x)`` (VAEs: → (mu, logvar); Autoencoder: → z), ``decode(z)`` → logits (B, 1, 28, 28),
``sample(n)`` → images in [0, 1] decoded from z ~ p(z) = N(0, I), ``reconstruct(x)`` → images
in [0, 1], and ``loss_terms(x, beta=1.0, free_bits=0.0)`` → dict with 'loss' (nats per image)
and named terms (the protocol of :func:`vae_course.train.fit`). ``decode_images(z)`` gives images
in [0, 1] for given codes. Optional initialisation (lecture 05's recipe):
``init_output_bias(x)`` (the decoder starts at the mean image).
"""
from __future__ import annotations

import importlib
from typing import Sequence

import torch
from torch import nn

from .losses import bernoulli_log_likelihood, check_images, vae_loss

__all__ = ["reparameterize", "Autoencoder", "DenoisingAutoencoder", "aggregate_posterior", "VAE", "MLPVAE", "ConvVAE", "build_model", "count_parameters", "register_model", "MODELS"]

IMAGE_SHAPE = (1, 28, 28)
#: Activation functions ConvVAE accepts by name.
ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU}
MODELS: dict[str, type[nn.Module]] = {}


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """Draw z ~ q_φ(z|x) = N(μ, diag σ²) as z = μ + σ·ε, ε ~ N(0, I), so gradients reach μ and log σ².

    ``eps`` may be given (same shape as ``mu``) to make the draw deterministic.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if eps is None:
        eps = torch.randn_like(mu)
    elif eps.shape != mu.shape:
        raise ValueError(f"eps must have the shape of mu {tuple(mu.shape)}, got {tuple(eps.shape)}")
    return mu + torch.exp(0.5 * logvar) * eps


def register_model(cls):
    """Class decorator: lets :func:`build_model` rebuild ``cls`` from its ``config`` by name."""
    MODELS[cls.__name__] = cls
    return cls


def build_model(config: dict) -> nn.Module:
    """Rebuild a model from ``model.config`` ({'model': class name, 'module': ..., **constructor kwargs})."""
    if not isinstance(config, dict) or "model" not in config:
        raise ValueError(f"a model config is a dict with a 'model' entry (the class name), got {config!r}")
    name = config["model"]
    kwargs = {k: v for k, v in config.items() if k not in ("model", "module")}
    cls = MODELS.get(name)
    module = config.get("module")
    if cls is None and isinstance(module, str) and module.split(".")[0] == "vae_course":
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            cls = None
    if cls is None:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(sorted(MODELS))}; "
                         f"module {module!r} does not define it)")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"cannot build {name} from config {config!r}: {exc}") from exc


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _check_latent_dim(latent_dim) -> int:
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    return latent_dim


class _ImageModel(nn.Module):
    """Shared by all models: input checks, config, the device, decoding to images."""

    latent_dim: int
    config: dict

    def _set_config(self, **kwargs) -> None:
        self.config = {"model": type(self).__name__, "module": type(self).__module__, **kwargs}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _check_z(self, z: torch.Tensor) -> None:
        if not torch.is_tensor(z) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            shape = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise ValueError(f"z must have shape (B, {self.latent_dim}) (latent_dim={self.latent_dim}), got {shape}")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images in [0, 1] (Bernoulli means sigmoid(logits)) decoded from z ~ p(z) = N(0, I)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        device = generator.device if generator is not None else self.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return torch.sigmoid(self.decode(z.to(self.device)))

    @torch.no_grad()
    def init_output_bias(self, x: torch.Tensor) -> "_ImageModel":
        """Data-dependent initialisation: set the decoder's per-pixel output bias to logit(mean image).

        A fresh decoder then starts from the average digit (≈ 200 nats) instead of gray noise
        (≈ 540 nats), so the first epoch is spent on structure, not on learning the background.
        """
        check_images(x, "x")
        p = x.mean(0).clamp(1e-3, 1 - 1e-3).to(self.device)
        self._output_bias().copy_((torch.log(p) - torch.log1p(-p)).reshape(self._output_bias().shape))
        return self

    def _output_bias(self) -> torch.Tensor:
        last = self.decoder[-1]
        if not isinstance(last, nn.Linear) or last.out_features != 28 * 28:
            raise ValueError(f"{type(self).__name__} has no per-pixel output bias to initialise")
        return last.bias

    @torch.no_grad()
    def decode_images(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (sigmoid of the decoder's logits) for latent codes z (B, latent_dim)."""
        return torch.sigmoid(self.decode(z.to(self.device)))


@register_model
class Autoencoder(_ImageModel):
    """A plain (deterministic) autoencoder: z = f(x), x̂ = sigmoid(g(z)); loss = BCE summed over pixels.

    No prior and no KL: nothing makes the codes fill N(0, I), so decoding z ~ N(0, I) (``sample``)
    reaches only the codes that happen to lie near the origin, and lands in the holes between them
    (lecture 02).
    """

    def __init__(self, latent_dim: int = 2, hidden: Sequence[int] = (512, 256)):
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        hidden = [int(h) for h in hidden]
        self._set_config(latent_dim=latent_dim, hidden=hidden)
        d = 28 * 28
        self.encoder = _mlp([d, *hidden, latent_dim])
        self.decoder = _mlp([latent_dim, *hidden[::-1], d])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = f(x), shape (B, latent_dim)."""
        check_images(x, check_range=False)
        return self.encoder(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits (B, 1, 28, 28)."""
        self._check_z(z)
        return self.decoder(z).view(-1, *IMAGE_SHAPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """sigmoid(g(f(x))): images in [0, 1]."""
        return torch.sigmoid(self(x))

    def loss_terms(self, x: torch.Tensor, validate: bool = True, **kw) -> dict[str, torch.Tensor]:
        """'loss' = 'recon' = -(1/B) Σ_b log Bernoulli(x_b | sigmoid(g(f(x_b)))) (nats per image); beta etc. ignored."""
        check_images(x, check_range=validate)
        recon = -bernoulli_log_likelihood(self(x), x, validate=False).mean()
        return {"loss": recon, "recon": recon}


@register_model
class DenoisingAutoencoder(Autoencoder):
    """An autoencoder trained to undo corruption (Vincent et al., 2008): the encoder sees
    x̃ = clip(x + noise·ε, 0, 1), ε ~ N(0, I), and the loss is −log p_θ(x | g(f(x̃))) against the
    *clean* x (binary cross-entropy summed over pixels, nats per image).

    The regulariser acts on the map x̃ ↦ x̂: an output that copied its input would copy the noise
    too and pay for it, so even with an overcomplete code (``latent_dim`` ≥ 784) the network
    cannot get away with the identity. ``reconstruct(x)`` and ``encode(x)`` take whatever input
    they are given (corrupt it yourself with :meth:`corrupt` to test denoising).
    """

    def __init__(self, latent_dim: int = 2, hidden: Sequence[int] = (512, 256), noise: float = 0.5):
        super().__init__(latent_dim, hidden)
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (0 <= noise < float("inf")):
            raise ValueError(f"noise must be a standard deviation ≥ 0, got {noise!r}")
        self.noise = float(noise)
        self._set_config(latent_dim=latent_dim, hidden=self.config["hidden"], noise=self.noise)

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x̃ = clip(x + noise·ε, 0, 1) with ε ~ N(0, I) (drawn with ``generator`` when given)."""
        check_images(x, check_range=False)
        eps = torch.randn(x.shape, generator=generator, device=x.device if generator is None else generator.device)
        return (x + self.noise * eps.to(device=x.device, dtype=x.dtype)).clamp(0.0, 1.0)

    def loss_terms(self, x: torch.Tensor, validate: bool = True, **kw) -> dict[str, torch.Tensor]:
        """'loss' = 'recon' = −(1/B) Σ_b log Bernoulli(x_b | sigmoid(g(f(x̃_b)))), x̃_b a fresh corruption of x_b."""
        check_images(x, check_range=validate)
        recon = -bernoulli_log_likelihood(self(self.corrupt(x)), x, validate=False).mean()
        return {"loss": recon, "recon": recon}


def aggregate_posterior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.distributions.Distribution:
    """The aggregate posterior q(z) = (1/N) Σ_n N(z; μ_n, diag σ_n²) of N encoded images, as a
    ``torch.distributions`` mixture (``log_prob``, ``sample``): the distribution of codes that
    decoding z ~ p(z) should match. Its density is positive everywhere (a mixture of Gaussians),
    unlike a plain autoencoder's (1/N) Σ_n δ(z − z_n), which is zero off the N codes.
    """
    if not (torch.is_tensor(mu) and torch.is_tensor(logvar)) or mu.shape != logvar.shape or mu.ndim != 2 or len(mu) == 0:
        shapes = tuple(getattr(mu, "shape", ())), tuple(getattr(logvar, "shape", ()))
        raise ValueError(f"mu and logvar must be tensors of the same shape (N, latent_dim), got {shapes[0]} and {shapes[1]}")
    if not (torch.isfinite(mu).all() and torch.isfinite(logvar).all()):
        raise ValueError("mu and logvar contain NaN or infinite values")
    D = torch.distributions
    components = D.Independent(D.Normal(mu, torch.exp(0.5 * logvar)), 1)
    weights = D.Categorical(logits=torch.zeros(len(mu), dtype=mu.dtype, device=mu.device))
    return D.MixtureSameFamily(weights, components)


class VAE(_ImageModel):
    """Base class: subclasses define ``encode(x) -> (mu, logvar)`` and ``decode(z) -> logits``.

    ELBO(x) = E_{q_φ(z|x)}[log p_θ(x|z)] - KL(q_φ(z|x) ‖ p(z)), estimated with one
    z = μ + σ·ε per image; the KL is analytic.
    """

    def forward(self, x: torch.Tensor):
        """(logits, mu, logvar) with one reparameterised z per image."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)
        return self.decode(z), mu, logvar

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """Decode the posterior mean μ (or a draw z ~ q(z|x) with ``sample=True``): images in [0, 1]."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar) if sample else mu
        return torch.sigmoid(self.decode(z))

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0, free_bits: float = 0.0, validate: bool = True,
                   **kw) -> dict[str, torch.Tensor]:
        """Negative ELBO terms in nats per image (see :func:`vae_course.losses.vae_loss`).

        'loss' = recon + β·KL (free bits: KL_d floored at λ after averaging over the batch),
        'recon', 'kl', 'elbo', 'kl_per_dim'.
        """
        check_images(x, check_range=validate)
        logits, mu, logvar = self(x)
        log_px_z = bernoulli_log_likelihood(logits, x, validate=False)
        return vae_loss(log_px_z, mu, logvar, beta=beta, free_bits=free_bits)


@register_model
class MLPVAE(VAE):
    """Fully connected VAE: 784 → hidden… → (μ, log σ²) ∈ R^latent_dim; mirror decoder to 784 logits.

    ``MLPVAE(20, hidden=(400,))`` is the PyTorch-examples VAE (784-400-20).
    """

    def __init__(self, latent_dim: int = 2, hidden: Sequence[int] = (512, 256)):
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        hidden = [int(h) for h in hidden]
        self._set_config(latent_dim=latent_dim, hidden=hidden)
        d = 28 * 28
        self.encoder = nn.Sequential(_mlp([d, *hidden]), nn.ReLU())
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = _mlp([latent_dim, *hidden[::-1], d])

    def encode(self, x: torch.Tensor):
        """(μ, log σ²) of q_φ(z|x), each (B, latent_dim)."""
        check_images(x, check_range=False)
        h = self.encoder(x.flatten(1))
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of p_θ(x|z), (B, 1, 28, 28)."""
        self._check_z(z)
        return self.decoder(z).view(-1, *IMAGE_SHAPE)


def _check_extra_convs(extra_convs) -> tuple[int, int]:
    """n or (n_encoder, n_decoder) → (n_encoder, n_decoder), non-negative integers."""
    pair = (extra_convs, extra_convs) if isinstance(extra_convs, int) else tuple(extra_convs) \
        if isinstance(extra_convs, (list, tuple)) else ()
    if len(pair) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in pair):
        raise ValueError(f"extra_convs must be a non-negative integer or a pair (encoder, decoder) of them, "
                         f"got {extra_convs!r}")
    return pair


@register_model
class ConvVAE(VAE):
    """The lecture notes' convolutional VAE.

    Encoder: 1×28×28 → conv 4×4 stride 2 → c1×14×14 → conv 4×4 stride 2 → c2×7×7 → flatten
    → Linear → hidden (256) → two heads μ, log σ² ∈ R^latent_dim. Decoder: the mirror image:
    Linear → hidden → Linear → c2×7×7 → transposed conv → c1×14×14 → transposed conv → 1×28×28
    logits, plus a learned per-pixel bias (784 numbers: the transposed convolution's single bias
    cannot say "the border is always black"). ReLU everywhere except the outputs. The lecture's
    widths are ``channels=(32, 64)``; ``hidden=None`` drops the 256-unit layers (the heads then
    read the flattened c2×7×7 features directly).

    Options beyond the lecture: ``act='silu'`` (or 'elu'; lecture 05's recipe uses SiLU):
    smooth activations instead of ReLU, which cannot die (a ReLU that outputs 0 for every
    image gets no gradient again); ``extra_convs=n`` or ``(n_encoder, n_decoder)``: more 3×3
    stride-1 convolutions at 7×7, after the encoder's second convolution and before the
    decoder's first transposed one (depth where the map is small, so it is cheap). Measured on
    the 9,000-image benchmark: without the 256-unit layers (``hidden=None``) one in each lowers
    the test loss by ≈ 3 nats; with them (lecture 05's recipe) it changes nothing.
    """

    def __init__(self, latent_dim: int = 16, channels: Sequence[int] = (32, 64), hidden: int | None = 256,
                 act: str = "relu", extra_convs: int | Sequence[int] = 0):
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        c1, c2 = (int(c) for c in channels)
        hidden = int(hidden) if hidden else None
        if act not in ACTIVATIONS:
            raise ValueError(f"act must be one of {', '.join(ACTIVATIONS)}, got {act!r}")
        n_enc, n_dec = _check_extra_convs(extra_convs)
        if not isinstance(extra_convs, int):
            extra_convs = [n_enc, n_dec]
        extra = {k: v for k, v, default in (("act", act, "relu"), ("extra_convs", extra_convs, 0)) if v != default}
        self._set_config(latent_dim=latent_dim, channels=[c1, c2], hidden=hidden, **extra)
        A = ACTIVATIONS[act]
        flat = c2 * 7 * 7

        def refine(n):
            return [m for _ in range(n) for m in (nn.Conv2d(c2, c2, 3, padding=1), A())]
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1), A(),      # 28 → 14
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), A(),     # 14 → 7
            *refine(n_enc),                                     # 7 → 7 (extra_convs)
            nn.Flatten(), *([nn.Linear(flat, hidden), A()] if hidden else []))
        self.to_mu = nn.Linear(hidden or flat, latent_dim)
        self.to_logvar = nn.Linear(hidden or flat, latent_dim)
        self.decoder = nn.Sequential(
            *([nn.Linear(latent_dim, hidden), A(), nn.Linear(hidden, flat)] if hidden else [nn.Linear(latent_dim, flat)]),
            A(), nn.Unflatten(1, (c2, 7, 7)),
            *refine(n_dec),                                                  # 7 → 7 (extra_convs)
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), A(),   # 7 → 14
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1, bias=False))   # 14 → 28
        self.pixel_bias = nn.Parameter(torch.zeros(1, *IMAGE_SHAPE))        # + per-pixel bias = logits

    def encode(self, x: torch.Tensor):
        """(μ, log σ²) of q_φ(z|x), each (B, latent_dim)."""
        check_images(x, check_range=False)
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of p_θ(x|z), (B, 1, 28, 28)."""
        self._check_z(z)
        return self.decoder(z) + self.pixel_bias

    def _output_bias(self) -> torch.Tensor:
        return self.pixel_bias

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """(layer, output shape) for one image through encoder and decoder (for the lecture's table)."""
        rows = []
        with torch.no_grad():
            h = torch.zeros(1, *IMAGE_SHAPE, device=self.device)
            rows.append(("input x", tuple(h.shape[1:])))
            for layer in self.encoder:
                h = layer(h)
                if not isinstance(layer, tuple(ACTIVATIONS.values())):
                    rows.append((f"enc {type(layer).__name__}", tuple(h.shape[1:])))
            rows.append(("μ, log σ² (each)", (self.latent_dim,)))
            h = torch.zeros(1, self.latent_dim, device=self.device)
            for layer in self.decoder:
                h = layer(h)
                if not isinstance(layer, tuple(ACTIVATIONS.values())):
                    rows.append((f"dec {type(layer).__name__}", tuple(h.shape[1:])))
        return rows

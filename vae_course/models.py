"""Autoencoder, MLP VAE and convolutional VAE for 28×28 images (lectures 02, 05).

Public names:

* :class:`Autoencoder` (``latent_dim``): x → z → logits; no prior, no KL (lecture 02's foil).
* :class:`DenoisingAutoencoder` (``latent_dim``, ``hidden``, ``noise``): trained to rebuild x from a
  corrupted x̃ (lecture 02's autoencoder family).
* :func:`aggregate_posterior` (``mu``, ``logvar``): q(z) = (1/N) Σ_n N(μ_n, diag σ_n²) as a distribution.
* :class:`VAE`: the base class: q_φ(z|x) = N(μ, diag σ²), p(z) = N(0, I), p_θ(x|z) = Bernoulli(sigmoid(logits)).
* :class:`MLPVAE` (``latent_dim``, ``hidden``): fully connected encoder/decoder.
* :class:`ConvVAE` (``latent_dim``, ``channels``, ``hidden``): the lecture notes' convolutional VAE.
* :class:`ConditionalVAE` (``latent_dim``, ``n_classes``, ``hidden``): q_φ(z|x, y), p_θ(x|z, y) with
  a one-hot label y given to encoder and decoder (lecture 10); its ``encode``, ``decode``,
  ``loss_terms``, ``sample`` take the labels ``y`` as well.
* :func:`build_model` (``config``): rebuild any of these from its ``model.config`` dict. Only
  registered classes are built (an allow-list: :data:`MODELS`, filled by :func:`register_model`,
  plus :class:`vae_course.vq.VQVAE`); no name taken from a config is ever imported or called, every
  value is type- and range-checked, and a config whose model would exceed :data:`MAX_PARAMETERS`
  numbers is refused before anything is allocated. Checkpoints (``vae_course.train``) rely on this.
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

import inspect
import math
from typing import Sequence

import torch
from torch import nn

from .losses import bernoulli_log_likelihood, check_images, vae_loss
from .validation import ArgumentTypeError, check_finite, check_same_device, integer

__all__ = ["reparameterize", "Autoencoder", "DenoisingAutoencoder", "aggregate_posterior", "VAE", "MLPVAE", "ConvVAE",
           "ConditionalVAE", "build_model", "count_parameters", "register_model", "model_classes", "MODELS", "MAX_PARAMETERS"]

IMAGE_SHAPE = (1, 28, 28)
#: Activation functions ConvVAE accepts by name.
ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU}
MODELS: dict[str, type[nn.Module]] = {}
#: The most numbers (parameters and buffers) :func:`build_model` allocates: 50 million, 200 MB in
#: float32, about 30 times lecture 05's largest model. A config asking for more is refused before
#: any memory is allocated (its size is worked out on PyTorch's "meta" device, which holds shapes only).
MAX_PARAMETERS = 50_000_000
#: At most this many extra convolutions on each side of a ConvVAE (each is a layer object: a
#: config asking for a million would take minutes to build even on the meta device).
MAX_EXTRA_CONVS = 16
_MAX_CONFIG_ITEMS = 32          # entries in a config, and items in one list value
_MAX_CONFIG_STR = 64            # characters in a string value


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None,
                   validate: bool = True) -> torch.Tensor:
    """Draw z ~ q_φ(z|x) = N(μ, diag σ²) as z = μ + σ·ε, ε ~ N(0, I), so gradients reach μ and log σ².

    ``eps`` may be given (same shape as ``mu``) to make the draw deterministic. ``validate=True``
    (a direct call) also refuses NaN/inf in ``mu``, ``logvar``, ``eps`` (this reads them, a GPU
    synchronisation; the models' forward passes use ``validate=False``). Shapes, dtypes and
    devices are always checked (float dtypes are promoted, as in torch).
    """
    for name, t in (("mu", mu), ("logvar", logvar), ("eps", eps)):
        if t is not None and not (torch.is_tensor(t) and t.is_floating_point()):
            raise ArgumentTypeError(f"{name} must be a float tensor, got {type(t).__name__}"
                                    + (f" of dtype {t.dtype}" if torch.is_tensor(t) else ""))
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if eps is not None and eps.shape != mu.shape:
        raise ValueError(f"eps must have the shape of mu {tuple(mu.shape)}, got {tuple(eps.shape)}")
    check_same_device(mu=mu, logvar=logvar, **({"eps": eps} if eps is not None else {}))
    if validate:
        for name, t in (("mu", mu), ("logvar", logvar), ("eps", eps)):
            if t is not None:
                check_finite(t, name)
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps


def register_model(cls):
    """Class decorator: lets :func:`build_model` rebuild ``cls`` from its ``config`` by name.

    This registry is the allow-list of what a config (e.g. one read from a checkpoint) may build.
    """
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ArgumentTypeError(f"register_model registers torch.nn.Module classes, got {cls!r}")
    MODELS[cls.__name__] = cls
    return cls


def model_classes() -> dict[str, type[nn.Module]]:
    """The allow-list :func:`build_model` builds from: {class name: class}, every class registered
    with :func:`register_model`, plus :class:`vae_course.vq.VQVAE` (defined in ``vq``, which does
    not import this module)."""
    if "VQVAE" not in MODELS:
        from .vq import VQVAE
        MODELS["VQVAE"] = VQVAE
    return MODELS


def _check_config_value(key: str, value, depth: int = 0) -> None:
    """Plain, small values only: None, bool, int, finite float, short str, or a short list of these."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > 2**31:
            raise ValueError(f"config[{key!r}] = {value} is out of range")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"config[{key!r}] must be finite, got {value}")
        return
    if isinstance(value, str):
        if len(value) > _MAX_CONFIG_STR:
            raise ValueError(f"config[{key!r}] is a string of {len(value)} characters (at most {_MAX_CONFIG_STR})")
        return
    if isinstance(value, (list, tuple)) and depth == 0:
        if len(value) > _MAX_CONFIG_ITEMS:
            raise ValueError(f"config[{key!r}] has {len(value)} items (at most {_MAX_CONFIG_ITEMS})")
        for item in value:
            _check_config_value(key, item, depth + 1)
        return
    raise ArgumentTypeError(f"config[{key!r}] must be a number, string, None or a short list of them, "
                            f"got {type(value).__name__}")


def build_model(config: dict, max_parameters: int = MAX_PARAMETERS) -> nn.Module:
    """Rebuild a model from ``model.config`` ({'model': class name, **constructor options}).

    Safe for configs read from files someone else wrote: ``config['model']`` is only looked up in
    the allow-list :data:`MODELS` (never imported or called by name; a ``'module'`` entry, which
    older checkpoints carry, is ignored), every value must be a plain number, string, None or a
    short list of them, every key must be an option of that class's constructor (which checks
    types and ranges), and a model with more than ``max_parameters`` numbers (parameters and
    buffers) is refused before anything is allocated. ``ValueError`` (or :class:`ArgumentTypeError`,
    also a ``ValueError``) names what is wrong.
    """
    if not isinstance(config, dict) or "model" not in config:
        raise ValueError(f"config must be a dict with a 'model' entry (the class name), got "
                         f"{type(config).__name__ if not isinstance(config, dict) else sorted(map(str, config))}")
    max_parameters = integer(max_parameters, "max_parameters", low=1)
    name = config["model"]
    registry = model_classes()
    if not isinstance(name, str) or name not in registry:
        shown = repr(name)[:_MAX_CONFIG_STR + 2]
        raise ValueError(f"unknown model in config['model']: {shown} (known: {', '.join(sorted(registry))}); "
                         "only registered model classes are built")
    cls = registry[name]
    if len(config) > _MAX_CONFIG_ITEMS:
        raise ValueError(f"config has {len(config)} entries (at most {_MAX_CONFIG_ITEMS})")
    kwargs = {}
    options = {p.name for p in inspect.signature(cls.__init__).parameters.values()
               if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"}
    for key, value in config.items():
        if key in ("model", "module"):
            continue
        if not isinstance(key, str) or key not in options:
            raise ValueError(f"cannot build {name}: config entry {str(key)[:_MAX_CONFIG_STR]!r} is not one of its "
                             f"options ({', '.join(sorted(options))})")
        _check_config_value(key, value)
        kwargs[key] = value
    try:
        with torch.device("meta"):                     # shapes only: nothing is allocated
            shell = cls(**kwargs)
    except (TypeError, ValueError, RuntimeError, IndexError, OverflowError) as exc:
        kind = ArgumentTypeError if isinstance(exc, TypeError) else ValueError    # a wrong type stays a TypeError
        raise kind(f"cannot build {name} from config {config!r}: {exc}") from exc
    size = sum(t.numel() for t in shell.parameters()) + sum(t.numel() for t in shell.buffers())
    del shell
    if size > max_parameters:
        raise ValueError(f"config asks for a {name} with {size:,} parameters and buffers, more than the cap of "
                         f"{max_parameters:,} (build_model(config, max_parameters=...) raises it); refused "
                         "before allocating")
    return cls(**kwargs)


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
    try:
        return integer(latent_dim, "latent_dim", low=1)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"latent_dim must be a positive integer, got {latent_dim!r}") from None


def _check_widths(hidden, name: str = "hidden", allow_empty: bool = True) -> list[int]:
    """A list or tuple of positive integers (layer widths)."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (list, tuple)):
        raise ArgumentTypeError(f"{name} must be a list or tuple of positive integers, got {hidden!r}")
    if not hidden and not allow_empty:
        raise ValueError(f"{name} must name at least one layer width, got {hidden!r}")
    return [integer(h, f"{name}[{i}]", low=1) for i, h in enumerate(hidden)]


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
        self._check_like_weights(z, "z")

    def _check_x(self, x: torch.Tensor) -> None:
        """Shape, dtype and device of images (values are checked once per dataset, not here)."""
        check_images(x, "x", check_range=False)
        self._check_like_weights(x, "x")

    def _check_like_weights(self, t: torch.Tensor, name: str) -> None:
        """``t`` must be on the weights' device with their dtype (a clear error instead of a deep one)."""
        w = next(self.parameters(), None)
        if w is None:
            return
        if t.device != w.device:
            raise ValueError(f"{name} is on {t.device} but the model's weights are on {w.device}; "
                             f"move one of them (e.g. {name}.to(model.device))")
        if t.dtype != w.dtype:
            raise ValueError(f"{name} has dtype {t.dtype} but the model's weights have {w.dtype}; "
                             f"convert one of them (e.g. {name}.to({w.dtype}))")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images in [0, 1] (Bernoulli means sigmoid(logits)) decoded from z ~ p(z) = N(0, I)."""
        n = integer(n, "n", low=1)
        device = generator.device if generator is not None else self.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        w = next(self.parameters())
        return torch.sigmoid(self.decode(z.to(w.device, w.dtype)))

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
        if not torch.is_tensor(z):
            raise ArgumentTypeError(f"z must be a tensor of shape (B, {self.latent_dim}), got {type(z).__name__}")
        w = next(self.parameters())
        return torch.sigmoid(self.decode(z.to(w.device, w.dtype if z.is_floating_point() else None)))


@register_model
class Autoencoder(_ImageModel):
    """A plain (deterministic) autoencoder: z = f(x), x̂ = sigmoid(g(z)); loss = BCE summed over pixels.

    No prior and no KL: nothing makes the codes fill N(0, I), so decoding z ~ N(0, I) (``sample``)
    reaches only the codes that happen to lie near the origin, and lands in the holes between them
    (lecture 02).
    """

    def __init__(self, latent_dim: int = 2, hidden: Sequence[int] = (512, 256)):
        super().__init__()
        self.latent_dim = latent_dim = _check_latent_dim(latent_dim)
        hidden = _check_widths(hidden)
        self._set_config(latent_dim=latent_dim, hidden=hidden)
        d = 28 * 28
        self.encoder = _mlp([d, *hidden, latent_dim])
        self.decoder = _mlp([latent_dim, *hidden[::-1], d])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = f(x), shape (B, latent_dim)."""
        self._check_x(x)
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
        self._check_x(x)
        if validate:
            check_images(x, "x")
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
        z = reparameterize(mu, logvar, validate=False)
        return self.decode(z), mu, logvar

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """Decode the posterior mean μ (or a draw z ~ q(z|x) with ``sample=True``): images in [0, 1]."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, validate=False) if sample else mu
        return torch.sigmoid(self.decode(z))

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0, free_bits: float = 0.0, validate: bool = True,
                   **kw) -> dict[str, torch.Tensor]:
        """Negative ELBO terms in nats per image (see :func:`vae_course.losses.vae_loss`).

        'loss' = recon + β·KL (free bits: KL_d floored at λ after averaging over the batch),
        'recon', 'kl', 'elbo', 'kl_per_dim'.
        """
        self._check_x(x)
        if validate:
            check_images(x, "x")
        logits, mu, logvar = self(x)
        log_px_z = bernoulli_log_likelihood(logits, x, validate=False)
        return vae_loss(log_px_z, mu, logvar, beta=beta, free_bits=free_bits, validate=validate)


@register_model
class MLPVAE(VAE):
    """Fully connected VAE: 784 → hidden… → (μ, log σ²) ∈ R^latent_dim; mirror decoder to 784 logits.

    ``MLPVAE(20, hidden=(400,))`` is the PyTorch-examples VAE (784-400-20).
    """

    def __init__(self, latent_dim: int = 2, hidden: Sequence[int] = (512, 256)):
        super().__init__()
        self.latent_dim = latent_dim = _check_latent_dim(latent_dim)
        hidden = _check_widths(hidden, allow_empty=False)
        self._set_config(latent_dim=latent_dim, hidden=hidden)
        d = 28 * 28
        self.encoder = nn.Sequential(_mlp([d, *hidden]), nn.ReLU())
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = _mlp([latent_dim, *hidden[::-1], d])

    def encode(self, x: torch.Tensor):
        """(μ, log σ²) of q_φ(z|x), each (B, latent_dim)."""
        self._check_x(x)
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
    if len(pair) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_EXTRA_CONVS
                                 for n in pair):
        raise ValueError(f"extra_convs must be an integer in [0, {MAX_EXTRA_CONVS}] or a pair (encoder, decoder) of "
                         f"them, got {extra_convs!r}")
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
        self.latent_dim = latent_dim = _check_latent_dim(latent_dim)
        channels = _check_widths(channels, "channels")
        if len(channels) != 2:
            raise ValueError(f"channels must be two widths (c1, c2), got {channels!r}")
        c1, c2 = channels
        hidden = None if hidden is None else integer(hidden, "hidden", low=0) or None    # 0 means none too
        if not isinstance(act, str) or act not in ACTIVATIONS:
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
        self._check_x(x)
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


@register_model
class ConditionalVAE(_ImageModel):
    """Conditional VAE (Sohn et al., 2015) for labelled images, fully connected (lecture 10).

    q_φ(z|x, y) = N(μ, diag σ²) from [x, onehot(y)] → hidden… → (μ, log σ²);
    p_θ(x|z, y) = Bernoulli(sigmoid(logits)) from [z, onehot(y)] → hidden (reversed)… → 784 logits;
    p(z) = N(0, I), independent of y. The bound it maximises, per labelled image (x, y):

        log p_θ(x|y) ≥ E_{q_φ(z|x,y)}[log p_θ(x|z, y)] − KL(q_φ(z|x, y) ‖ p(z)),

    the ELBO of :class:`MLPVAE` with every distribution conditioned on y. With the same ``hidden``
    sizes it has ``n_classes·(hidden[0] + hidden[-1])`` more weights than ``MLPVAE`` (the label's
    inputs to the first layer of each network).

    Labels ``y``: integer class indices, a tensor or sequence of shape (B,) with values in
    0..n_classes-1, or one integer for the whole batch (in ``decode``, ``sample``,
    ``decode_images``). Anything else (a wrong length, values out of range, NaN, fractions,
    booleans, a one-hot matrix) is a ``ValueError`` that names ``y``.
    """

    def __init__(self, latent_dim: int = 2, n_classes: int = 10, hidden: Sequence[int] = (512, 256)):
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 2:
            raise ValueError(f"n_classes must be an integer ≥ 2, got {n_classes!r}")
        self.n_classes = n_classes
        hidden = [int(h) for h in hidden]
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden must be a non-empty list of positive layer widths, got {hidden!r}")
        self._set_config(latent_dim=latent_dim, n_classes=n_classes, hidden=hidden)
        d = 28 * 28
        self.encoder = nn.Sequential(_mlp([d + n_classes, *hidden]), nn.ReLU())
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = _mlp([latent_dim + n_classes, *hidden[::-1], d])

    # ------------------------------------------------------------------ labels
    def check_labels(self, y, batch: int | None = None) -> torch.Tensor:
        """y as a long tensor (B,) on the model's device, or a ValueError naming what is wrong.

        An integer is repeated ``batch`` times (when ``batch`` is given).
        """
        if isinstance(y, bool) or y is None:
            raise ValueError(f"y must be class labels (integers 0..{self.n_classes - 1}), got {y!r}")
        if isinstance(y, int) or (not torch.is_tensor(y) and hasattr(y, "dtype") and getattr(y, "ndim", 1) == 0):
            if batch is None:
                raise ValueError("y must be a sequence of labels here, one per image, not a single integer")
            y = torch.full((batch,), int(y), dtype=torch.long)
        if not torch.is_tensor(y):
            try:
                y = torch.as_tensor(y)
            except (TypeError, ValueError, RuntimeError) as exc:
                raise ValueError(f"y must be integer class labels, got {type(y).__name__} ({exc})") from None
        if y.dtype == torch.bool:
            raise ValueError("y must be integer class labels, got a boolean tensor")
        if y.ndim != 1:
            hint = " (give class indices, not one-hot rows: y.argmax(1))" if y.ndim == 2 else ""
            raise ValueError(f"y must have shape (B,), one label per image, got {tuple(y.shape)}{hint}")
        if batch is not None and len(y) != batch:
            raise ValueError(f"y has {len(y)} labels for {batch} images")
        if y.is_floating_point():
            if not torch.isfinite(y).all():
                raise ValueError("y contains NaN or infinite values; labels must be integers "
                                 f"0..{self.n_classes - 1}")
            if not torch.equal(y, y.round()):
                raise ValueError(f"y must hold whole numbers (class indices), got fractions such as "
                                 f"{float(y[y != y.round()][0]):g}")
        elif y.is_complex():
            raise ValueError("y must be integer class labels, got complex numbers")
        y = y.long()
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            raise ValueError(f"y must be between 0 and {self.n_classes - 1} (n_classes={self.n_classes}), "
                             f"got values in [{int(y.min())}, {int(y.max())}]")
        return y.to(self.device)

    def one_hot(self, y: torch.Tensor) -> torch.Tensor:
        """One-hot rows (B, n_classes) of float labels for already-checked long labels y."""
        return nn.functional.one_hot(y, self.n_classes).to(self.to_mu.weight.dtype)

    # ------------------------------------------------------------------ the two networks
    def _encode(self, x: torch.Tensor, y: torch.Tensor):
        h = self.encoder(torch.cat([x.flatten(1), self.one_hot(y)], dim=1))
        return self.to_mu(h), self.to_logvar(h)

    def _decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, self.one_hot(y)], dim=1)).view(-1, *IMAGE_SHAPE)

    def _check_x(self, x: torch.Tensor, check_range: bool = True) -> None:
        check_images(x, "x", check_range=check_range)
        if check_range and not torch.isfinite(x).all():
            raise ValueError("x contains NaN or infinite values")

    def encode(self, x: torch.Tensor, y):
        """(μ, log σ²) of q_φ(z|x, y), each (B, latent_dim)."""
        self._check_x(x, check_range=False)
        return self._encode(x, self.check_labels(y, len(x)))

    def decode(self, z: torch.Tensor, y) -> torch.Tensor:
        """Logits of p_θ(x|z, y), (B, 1, 28, 28). ``y``: labels (B,) or one integer for all rows."""
        self._check_z(z)
        if not torch.isfinite(z).all():
            raise ValueError("z contains NaN or infinite values")
        return self._decode(z, self.check_labels(y, len(z)))

    def forward(self, x: torch.Tensor, y):
        """(logits, mu, logvar) with one reparameterised z ~ q_φ(z|x, y) per image."""
        mu, logvar = self.encode(x, y)
        return self._decode(reparameterize(mu, logvar), self.check_labels(y, len(x))), mu, logvar

    @torch.no_grad()
    def decode_images(self, z: torch.Tensor, y) -> torch.Tensor:
        """Images in [0, 1] (sigmoid of p_θ(x|z, y)'s logits) for codes z (B, latent_dim) and labels y."""
        return torch.sigmoid(self.decode(z.to(self.device), y))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y, sample: bool = False) -> torch.Tensor:
        """Decode μ of q_φ(z|x, y) (or a draw, ``sample=True``) with the same labels: images in [0, 1]."""
        self._check_x(x, check_range=False)
        y = self.check_labels(y, len(x))
        mu, logvar = self._encode(x, y)
        return torch.sigmoid(self._decode(reparameterize(mu, logvar) if sample else mu, y))

    @torch.no_grad()
    def sample(self, n: int, y=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images in [0, 1] decoded from z ~ p(z) = N(0, I) with labels ``y`` (n labels or one integer).

        The model has no p(y): the caller chooses the classes (there is no default).
        """
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if y is None:
            raise ValueError("a conditional VAE samples p_θ(x|z, y) for given labels: pass y "
                             "(one integer, or n labels)")
        y = self.check_labels(y, n)
        device = generator.device if generator is not None else self.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return torch.sigmoid(self._decode(z.to(self.device), y))

    def loss_terms(self, x: torch.Tensor, y=None, beta: float = 1.0, free_bits: float = 0.0, validate: bool = True,
                   **kw) -> dict[str, torch.Tensor]:
        """Negative conditional ELBO terms in nats per image (see :func:`vae_course.losses.vae_loss`):
        'loss' = recon + β·KL with recon = −log p_θ(x|z, y) (one z ~ q_φ(z|x, y) per image) and
        KL = KL(q_φ(z|x, y) ‖ N(0, I)); also 'recon', 'kl', 'elbo', 'kl_per_dim'.

        ``y`` (labels, one per image) is required; :func:`vae_course.train.fit` passes it when given
        ``train_y`` (and ``test_y``). ``validate=False`` skips the data checks (fit checks once).
        """
        if y is None:
            raise ValueError("ConditionalVAE.loss_terms needs the labels y of the images "
                             "(with train.fit: fit(model, train_x, test_x, train_y=..., test_y=...))")
        if validate:
            self._check_x(x)
        if validate or not (torch.is_tensor(y) and y.dtype == torch.long and y.shape == (len(x),)):
            y = self.check_labels(y, len(x))
        mu, logvar = self._encode(x, y)
        logits = self._decode(reparameterize(mu, logvar, validate=False), y)
        log_px_z = bernoulli_log_likelihood(logits, x, validate=False)
        return vae_loss(log_px_z, mu, logvar, beta=beta, free_bits=free_bits, validate=validate)

"""An autoregressive model of binary images with an exact log-likelihood (lecture 11).

An autoregressive model factorises the joint distribution of the d pixels by the chain rule,

    p(x) = Π_{i=1}^{d} p(x_i | x_1, …, x_{i-1}),     log p(x) = Σ_i log p(x_i | x_<i),

and models every conditional. For binary pixels each conditional is a Bernoulli with a logit
computed from the pixels before it. Nothing is latent, so log p(x) is a finite sum: *exact*,
no bound. The price is sampling: x_i can be drawn only once x_<i is known, so generating an
image takes d passes, one pixel at a time.

:class:`MADE` (Germain et al., 2015, "Masked Autoencoder for Distribution Estimation") computes
all d conditional logits in one pass by masking the weights of an MLP so that logit i depends
on x_<i only. With ``hidden=()`` it has no hidden layer: logit_i = b_i + Σ_{j<i} W_ij x_j, one
logistic regression per pixel on the pixels before it, which is the fully visible sigmoid
belief network (FVSBN; Frey, 1998). Public names:

* :class:`MADE` (``shape``, ``hidden``): ``log_prob(x)`` exact (nats per image), ``sample(n)``
  sequential (d passes), ``conditional_logits(x)``, ``loss_terms(x)``, ``n_free_parameters()`` (so ``train.fit`` trains it).
  ``init_output_bias(x)`` starts the biases at the mean image.
* :func:`fvsbn` (``shape``): ``MADE(shape, hidden=())``.
* :func:`check_binary`: ``ValueError`` unless a tensor holds only 0s and 1s.

Pixels are taken in raster order (row by row). ``shape`` may be any number of pixels d ≥ 1
(``MADE(3)``) or an image shape (``MADE((1, 28, 28))``); ``log_prob`` accepts a batch shaped
(B, *shape) or flattened (B, d).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MADE", "fvsbn", "check_binary", "MaskedLinear"]


def check_binary(x, name: str = "x") -> None:
    """``ValueError`` naming ``name`` unless ``x`` is a tensor of finite values that are all 0 or 1."""
    if not torch.is_tensor(x):
        raise ValueError(f"{name} must be a torch tensor of binary pixels (0 or 1), got {type(x).__name__}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if x.numel() and not ((x == 0) | (x == 1)).all():
        lo, hi = float(x.min()), float(x.max())
        raise ValueError(f"{name} must be binary (every pixel 0 or 1), got values in [{lo:.4g}, {hi:.4g}] that are "
                         "not all 0/1: binarize gray images first (vae_course.data.binarize)")


class MaskedLinear(nn.Linear):
    """y = x (W ⊙ M)ᵀ + b with a fixed 0/1 mask M (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor):
        super().__init__(in_features, out_features)
        if mask.shape != (out_features, in_features):
            raise ValueError(f"mask must have shape {(out_features, in_features)}, got {tuple(mask.shape)}")
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not shape or \
            not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
        raise ValueError(f"shape must be a positive integer (the number of pixels d) or a tuple of them, got {shape!r}")
    return tuple(shape)


class MADE(nn.Module):
    """Autoregressive Bernoulli model p(x) = Π_i Bernoulli(x_i; sigmoid(logit_i(x_<i))), exact log p(x).

    ``shape``: the number of pixels d, or the shape of one image (d = its product).
    ``hidden``: widths of the masked hidden layers (ReLU); ``()`` gives the FVSBN. Every model
    also has the direct connection logit_i ∋ Σ_{j<i} W_ij x_j (a strictly lower-triangular
    matrix). Hidden unit k gets a degree m(k) ∈ {1, …, d-1} and sees inputs j ≤ m(k) (pixels
    numbered from 1); output i sees hidden units with m(k) < i. So logit_i depends on
    x_1 … x_{i-1} only, which makes the product of conditionals a normalised distribution.
    """

    def __init__(self, shape: int | Sequence[int], hidden: Sequence[int] = ()):
        super().__init__()
        self.shape = _shape(shape)
        d = self.n_pixels = math.prod(self.shape)
        hidden = [int(h) for h in hidden]
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden widths must be positive integers, got {hidden!r}")
        self.config = {"model": "MADE", "module": __name__, "shape": list(self.shape), "hidden": hidden}
        degrees_in = torch.arange(1, d + 1)
        self.direct = MaskedLinear(d, d, (degrees_in[:, None] > degrees_in[None, :]).float())
        layers: list[nn.Module] = []
        prev = degrees_in
        for width in hidden:
            deg = 1 + torch.arange(width) % max(1, d - 1)
            layers += [MaskedLinear(len(prev), width, (deg[:, None] >= prev[None, :]).float()), nn.ReLU()]
            prev = deg
        if hidden:
            out = MaskedLinear(len(prev), d, (degrees_in[:, None] > prev[None, :]).float())
            with torch.no_grad():
                out.bias.zero_()          # the direct connection carries the bias
            layers.append(out)
        self.net = nn.Sequential(*layers) if hidden else None
        with torch.no_grad():
            self.direct.weight.mul_(self.direct.mask)

    @property
    def device(self) -> torch.device:
        return self.direct.weight.device

    def n_free_parameters(self) -> int:
        """Weights the masks let through plus biases: the parameters that can affect p(x)."""
        return sum(int(m.mask.sum()) + m.out_features for m in self.modules() if isinstance(m, MaskedLinear))

    def _flat(self, x, validate: bool) -> torch.Tensor:
        if not torch.is_tensor(x):
            raise ValueError(f"x must be a torch tensor of binary pixels, got {type(x).__name__}")
        d = self.n_pixels
        if x.ndim >= 2 and tuple(x.shape[1:]) == self.shape:
            flat = x.reshape(len(x), d)
        elif x.ndim == 2 and x.shape[1] == d:
            flat = x
        else:
            raise ValueError(f"x must have shape (B, {', '.join(map(str, self.shape))}) or (B, {d}), got {tuple(x.shape)}")
        if validate:
            check_binary(flat, "x")
        return flat.to(self.direct.weight.dtype)

    def conditional_logits(self, x: torch.Tensor, validate: bool = True) -> torch.Tensor:
        """logit_i(x_<i) for every pixel i, (B, d): p(x_i = 1 | x_<i) = sigmoid(logit_i), all in one pass."""
        flat = self._flat(x, validate)
        logits = self.direct(flat)
        return logits + self.net(flat) if self.net is not None else logits

    def log_prob(self, x: torch.Tensor, validate: bool = True) -> torch.Tensor:
        """Exact log p(x) = Σ_i [x_i log p_i + (1 - x_i) log(1 - p_i)], p_i = sigmoid(logit_i(x_<i)); (B,) nats."""
        flat = self._flat(x, validate)
        logits = self.conditional_logits(flat, validate=False)
        return -F.binary_cross_entropy_with_logits(logits, flat, reduction="none").sum(-1)

    def loss_terms(self, x: torch.Tensor, validate: bool = True, **kw) -> dict[str, torch.Tensor]:
        """'loss' = 'nll' = -(1/B) Σ_b log p(x_b), nats per image (the protocol of ``train.fit``; β etc. ignored)."""
        nll = -self.log_prob(x, validate=validate).mean()
        return {"loss": nll, "nll": nll}

    @torch.no_grad()
    def init_output_bias(self, x: torch.Tensor) -> "MADE":
        """Data-dependent start: b_i = logit(mean of pixel i over ``x``), so a fresh model is the
        independent-pixel model of the mean image instead of a fair coin per pixel."""
        flat = self._flat(x, validate=False)
        p = flat.mean(0).clamp(1e-3, 1 - 1e-3).to(self.device)
        self.direct.bias.copy_(torch.log(p) - torch.log1p(-p))
        return self

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images (n, *shape) of 0s and 1s, drawn pixel by pixel: d sequential steps.

        Step i computes logit_i from the pixels drawn so far and draws x_i; it cannot start
        before step i - 1 has finished. (``log_prob``, with all pixels known, computes every
        logit in one pass.) Each step computes only the logit it needs: O(i) work for the
        FVSBN, one pass of the hidden layers for a MADE with hidden layers.
        """
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        device = self.device
        w_direct = self.direct.weight * self.direct.mask
        b_direct = self.direct.bias
        if self.net is not None:
            hidden, out = self.net[:-1], self.net[-1]
            w_out = out.weight * out.mask
        x = torch.zeros(n, self.n_pixels, device=device)
        u = torch.rand(n, self.n_pixels, generator=generator,
                       device=generator.device if generator is not None else device).to(device)
        for i in range(self.n_pixels):
            logit = b_direct[i] + x[:, :i] @ w_direct[i, :i]
            if self.net is not None:
                logit = logit + hidden(x) @ w_out[i] + out.bias[i]
            x[:, i] = (u[:, i] < torch.sigmoid(logit)).float()
        return x.reshape(n, *self.shape)


def fvsbn(shape: int | Sequence[int]) -> MADE:
    """The fully visible sigmoid belief network: logit_i = b_i + Σ_{j<i} W_ij x_j (``MADE(shape, hidden=())``)."""
    return MADE(shape, hidden=())

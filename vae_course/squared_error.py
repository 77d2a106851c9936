"""A VAE trained with squared error, in the sum form and in the "mean over everything" form (lecture 07).

Public names:

* :func:`squared_error_terms`: both ways of writing "squared error + KL" for one batch:
  the sum form  L_sum  = (1/B) Σ_b [ Σ_i (x_bi − x̂_bi)² + Σ_d KL_bd ]
  and the mean form L_mean = mean_{b,i} (x_bi − x̂_bi)² + mean_{b,d} KL_bd (each term averaged over
  every entry of its array, as in a loss written with ``mean`` over pixels and over latent dimensions).
  Since L_mean = (1/D) (1/B) Σ_b [ Σ_i (x_bi − x̂_bi)² + (D/d) Σ_d KL_bd ] with D = 784 pixels and
  d latent dimensions, the mean form is the sum form with β = D/d, scaled by 1/D.
* :class:`SquaredErrorVAE`: :class:`~vae_course.models.MLPVAE` whose ``loss_terms`` trains either form
  (``form='sum'`` or ``'mean'``) with a β in front of the KL.

Σ_i (x_i − x̂_i)² is −log N(x; x̂, σ² I) with σ² = ½, up to the constant (D/2) log π: the sum form
with β = 1 is the negative ELBO of a Gaussian decoder with that fixed variance.
"""
from __future__ import annotations

import math

import torch

from .losses import check_images, kl_per_dim
from .models import MLPVAE, register_model

__all__ = ["squared_error_terms", "SquaredErrorVAE", "FORMS"]

FORMS = ("sum", "mean")


def squared_error_terms(x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                        beta: float = 1.0, form: str = "sum") -> dict[str, torch.Tensor]:
    """Squared error and KL of one batch, in nats-like units per image, and the loss of ``form``.

    * ``sse``  = (1/B) Σ_b Σ_i (x_bi − x̂_bi)²                (summed over the D pixels)
    * ``kl``   = (1/B) Σ_b Σ_d KL(N(μ_bd, σ²_bd) ‖ N(0, 1))  (summed over the d latent dimensions, nats)
    * ``loss`` = sse + β·kl (``form='sum'``) or sse/D + β·kl/d (``form='mean'``: every term averaged
      over all of its entries, which equals (sse + β·(D/d)·kl) / D)
    * ``kl_per_dim``: (d,) the batch mean of each dimension's KL
    * ``neg_elbo``: sse + (D/2) log π + kl, the negative ELBO of the Gaussian decoder with σ² = ½
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if not (isinstance(beta, (int, float)) and not isinstance(beta, bool) and math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a number ≥ 0, got {beta!r}")
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {tuple(x.shape)} and {tuple(x_hat.shape)}")
    if mu.ndim != 2 or mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu must have shape (B, d) with B = {x.shape[0]}, got {tuple(mu.shape)}")
    n_pixels = x[0].numel()
    dims = kl_per_dim(mu, logvar)
    sse = (x - x_hat).pow(2).flatten(1).sum(1).mean()
    kl = dims.sum(1).mean()
    if form == "sum":
        loss = sse + beta * kl
    else:
        loss = sse / n_pixels + beta * kl / mu.shape[1]
    neg_elbo = sse + 0.5 * n_pixels * math.log(math.pi) + kl
    return {"loss": loss, "sse": sse, "kl": kl, "neg_elbo": neg_elbo, "kl_per_dim": dims.mean(0)}


@register_model
class SquaredErrorVAE(MLPVAE):
    """MLP VAE with x̂ = sigmoid(decoder logits) and a squared-error reconstruction term.

    ``loss_terms(x, beta, form)``: see :func:`squared_error_terms`; the form can be fixed at
    construction (``form=``) so that ``train.fit`` trains it without extra arguments.
    """

    def __init__(self, latent_dim: int = 2, hidden=(512, 256), form: str = "sum"):
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        super().__init__(latent_dim, hidden)
        self.form = form
        self.config["form"] = form

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0, free_bits: float = 0.0, validate: bool = True,
                   form: str | None = None, **kw) -> dict[str, torch.Tensor]:
        if free_bits:
            raise ValueError("SquaredErrorVAE does not implement free bits")
        check_images(x, check_range=validate)
        logits, mu, logvar = self(x)
        return squared_error_terms(x, torch.sigmoid(logits), mu, logvar, beta=beta, form=form or self.form)

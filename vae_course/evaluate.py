"""How good is a trained VAE? The test ELBO and an importance-sampled estimate of log p(x).

Public functions:

* :func:`elbo_per_image`: ELBO(x) = E_q[log p_θ(x|z)] - KL(q_φ(z|x) ‖ p(z)), one z per image, analytic KL.
* :func:`test_elbo`: the mean ELBO over a dataset (nats per image).
* :func:`log_weights`: log w_i = log p_θ(x|z_i) + log p(z_i) - log q_φ(z_i|x), z_i ~ q_φ(z|x), shape (B, k).
* :func:`iwae_bound`: L_k(x) = log (1/k) Σ_i w_i per image (Burda et al., 2016), via ``elbo.log_mean_exp``.
* :func:`log_px`: the mean of L_k over a dataset: an estimate of log p(x) (a lower bound in expectation).
* :func:`prior_coverage`: how much of the prior's mass lies near the codes of a dataset (lecture 02).
* :func:`rate_decomposition`: the rate E_x KL(q_φ(z|x) ‖ p(z)) split into I_q(x; z) + KL(q(z) ‖ p(z))
  over a finite set of images (lecture 05): the rate is an upper bound on the information.

All with the Bernoulli likelihood of the models in :mod:`vae_course.models`: a proper
log-likelihood only on binary pixels (binarize the test set, e.g. ``data.binarize(x, seed=0)``);
on gray pixels the numbers are "BCE nats", not log-likelihoods. ELBO = L_1 ≤ L_k ≤ L_k' ≤ log p(x)
for k ≤ k' (in expectation).
"""
from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from .elbo import log_mean_exp
from .losses import bernoulli_log_likelihood, check_images, kl_term
from .models import reparameterize

__all__ = ["elbo_per_image", "test_elbo", "log_weights", "iwae_bound", "log_px", "prior_coverage",
           "expected_coverage", "information_terms", "rate_decomposition"]


def _check_vae(model) -> None:
    if not (hasattr(model, "encode") and hasattr(model, "decode") and hasattr(model, "latent_dim")):
        raise ValueError(f"{type(model).__name__} is not a VAE with encode(x) -> (mu, logvar) and decode(z)")


def _encode(model, x):
    out = model.encode(x)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ValueError(f"{type(model).__name__}.encode(x) must return (mu, logvar) (a VAE); "
                         "a plain autoencoder has no q(z|x), so it has no ELBO")
    return out


@torch.no_grad()
def elbo_per_image(model, x: torch.Tensor) -> torch.Tensor:
    """ELBO(x) per image (nats), one z ~ q_φ(z|x) per image and the analytic KL."""
    _check_vae(model)
    check_images(x)
    mu, logvar = _encode(model, x)
    z = reparameterize(mu, logvar)
    return bernoulli_log_likelihood(model.decode(z), x, validate=False) - kl_term(mu, logvar)


def _device_of(model):
    return next(model.parameters()).device


@torch.no_grad()
def test_elbo(model, x: torch.Tensor, batch_size: int = 500) -> float:
    """Mean ELBO over the images ``x`` in nats per image (higher is better; -ELBO is the test loss)."""
    model.eval()
    device = _device_of(model)
    total = 0.0
    for start in range(0, len(x), batch_size):
        total += float(elbo_per_image(model, x[start:start + batch_size].to(device)).sum())
    return total / len(x)


@torch.no_grad()
def log_weights(model, x: torch.Tensor, k: int, chunk: int = 64) -> torch.Tensor:
    """log w_i = log p_θ(x|z_i) + log p(z_i) - log q_φ(z_i|x) for k draws z_i ~ q_φ(z|x): shape (B, k)."""
    _check_vae(model)
    check_images(x)
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k (number of importance samples) must be a positive integer, got {k!r}")
    mu, logvar = _encode(model, x)
    q = Normal(mu, torch.exp(0.5 * logvar))
    prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    b = len(x)
    out = []
    for start in range(0, k, chunk):
        m = min(chunk, k - start)
        z = q.sample((m,))                                   # (m, B, d)
        logits = model.decode(z.reshape(m * b, -1))           # (m*B, 1, 28, 28)
        x_rep = x.unsqueeze(0).expand(m, *x.shape).reshape(m * b, *x.shape[1:])
        log_px_z = bernoulli_log_likelihood(logits, x_rep, validate=False).view(m, b)
        log_w = log_px_z + prior.log_prob(z).sum(-1) - q.log_prob(z).sum(-1)
        out.append(log_w.T)
    return torch.cat(out, dim=1)


@torch.no_grad()
def iwae_bound(model, x: torch.Tensor, k: int, chunk: int = 64) -> torch.Tensor:
    """L_k(x) = log (1/k) Σ_{i=1}^k p_θ(x, z_i) / q_φ(z_i|x), z_i ~ q_φ(z|x); one value per image (nats)."""
    return log_mean_exp(log_weights(model, x, k, chunk), dim=1)


@torch.no_grad()
def log_px(model, x: torch.Tensor, k: int = 100, batch_size: int = 100, progress: bool = False) -> float:
    """Importance-sampled estimate of the mean log p(x) over ``x`` (nats per image): the mean of L_k.

    A stochastic lower bound that tightens as k grows (k = 1 is the ELBO). Bernoulli likelihood:
    meaningful as a log-likelihood on binarized images only.
    """
    from tqdm.auto import tqdm
    model.eval()
    device = _device_of(model)
    total = 0.0
    starts = range(0, len(x), batch_size)
    for start in tqdm(starts, disable=not progress, desc=f"IWAE k={k}", unit="batch"):
        total += float(iwae_bound(model, x[start:start + batch_size].to(device), k).sum())
    value = total / len(x)
    if not math.isfinite(value):
        raise ValueError("the log p(x) estimate is not finite: is the model trained (no NaN weights)?")
    return value


def _cells(z: torch.Tensor, bins: int) -> torch.Tensor:
    """Index of the equal-prior-mass cell of each code: u = Φ(z) is uniform on [0, 1]^d under p(z)."""
    z = torch.as_tensor(z, dtype=torch.float64).detach().cpu()
    if z.ndim != 2 or z.shape[1] < 1:
        raise ValueError(f"codes must have shape (N, latent_dim), got {tuple(z.shape)}")
    if not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an integer ≥ 2, got {bins!r}")
    if z.shape[1] > 3:
        raise ValueError("prior_coverage grids the latent space, which is only sensible for latent_dim ≤ 3")
    if not torch.isfinite(z).all():
        raise ValueError("codes contain NaN or infinite values")
    u = Normal(0.0, 1.0).cdf(z)
    idx = (u * bins).long().clamp(0, bins - 1)
    return (idx * bins ** torch.arange(z.shape[1])).sum(1)


def prior_coverage(z: torch.Tensor, bins: int = 20) -> float:
    """Fraction of the prior's mass lying in grid cells that hold at least one code.

    The latent space is cut into ``bins``^d cells of *equal prior mass* (a regular grid in
    u = Φ(z), the standard normal CDF, under which p(z) = N(0, I) is uniform). A model whose
    codes fill the prior the way samples from it would leaves few empty cells; a plain
    autoencoder's codes leave most of the prior's mass in cells no image maps to: "holes",
    where decoding z ~ p(z) produces something no image looks like.
    """
    cells = _cells(z, bins)
    return len(torch.unique(cells)) / bins ** z.shape[1]


def expected_coverage(n: int, bins: int = 20, dim: int = 2) -> float:
    """:func:`prior_coverage` expected for n codes drawn from the prior itself: 1 - (1 - 1/cells)^n."""
    cells = bins ** dim
    return 1.0 - (1.0 - 1.0 / cells) ** n


@torch.no_grad()
def information_terms(mu: torch.Tensor, logvar: torch.Tensor, samples: int = 1, chunk: int = 256,
                      generator: torch.Generator | None = None) -> dict:
    """Split the rate of N posteriors q_φ(z|x_n) = N(μ_n, diag σ_n²) over the uniform distribution of the N images.

    rate = (1/N) Σ_n KL(q_φ(z|x_n) ‖ p(z))          (analytic; the KL term of the ELBO)
         = I_q(x; z) + KL(q(z) ‖ p(z)),             q(z) = (1/N) Σ_m q_φ(z|x_m) (the aggregate posterior)
    with I_q(x; z) = E_n E_{z~q_φ(z|x_n)}[log q_φ(z|x_n) - log q(z)], estimated with ``samples`` draws
    per image (the mixture q(z) is evaluated exactly, all N components); the marginal KL is the
    difference. I_q(x; z) ≤ H(x) = log N, since x takes N values. Returns floats (nats):
    'rate', 'mutual_information', 'marginal_kl', 'log_n'.
    """
    if mu.ndim != 2 or mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must both have shape (N, latent_dim), got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive integer, got {samples!r}")
    mu, logvar = mu.double().cpu(), logvar.double().cpu()
    if not (torch.isfinite(mu).all() and torch.isfinite(logvar).all()):
        raise ValueError("mu and logvar must be finite")
    n, d = mu.shape
    std = torch.exp(0.5 * logvar)
    rate = float(kl_term(mu, logvar).mean())
    log_norm = -0.5 * d * math.log(2 * math.pi) - 0.5 * logvar.sum(1)          # (N,) log-normaliser of each q_n
    total = 0.0
    for _ in range(samples):
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        z = mu + std * eps                                                    # z_n ~ q(z|x_n)
        log_own = log_norm - 0.5 * eps.pow(2).sum(1)                          # log q(z_n|x_n)
        for start in range(0, n, chunk):
            zc = z[start:start + chunk]                                       # (c, d)
            sq = ((zc[:, None, :] - mu[None]) / std[None]).pow(2).sum(-1)     # (c, N)
            log_mix = torch.logsumexp(log_norm[None] - 0.5 * sq, dim=1) - math.log(n)   # log q(z_n)
            total += float((log_own[start:start + chunk] - log_mix).sum())
    info = total / (n * samples)
    return {"rate": rate, "mutual_information": info, "marginal_kl": rate - info, "log_n": math.log(n)}


@torch.no_grad()
def rate_decomposition(model, x: torch.Tensor, samples: int = 1, batch_size: int = 500,
                       generator: torch.Generator | None = None) -> dict:
    """:func:`information_terms` for the posteriors a VAE gives the images ``x`` (the data = those N images)."""
    _check_vae(model)
    check_images(x)
    model.eval()
    device = _device_of(model)
    mus, logvars = [], []
    for start in range(0, len(x), batch_size):
        mu, logvar = _encode(model, x[start:start + batch_size].to(device))
        mus.append(mu.cpu())
        logvars.append(logvar.cpu())
    return information_terms(torch.cat(mus), torch.cat(logvars), samples=samples, generator=generator)

"""Checks for exercises/02_autoencoders_vs_vaes: what a VAE adds to an autoencoder.

References: parameter counts of ``torch.nn.Linear`` layers built here, a recording decoder
(the z it was given, the logits it returned) for sampling from the prior, and a brute-force
loop over the cells of an equal-mass grid (``math.erf`` for the normal CDF) for coverage.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from . import Variant, as_float, call, close, fresh, multiple_choice, params, question

# ----------------------------------------------------------------------------- q1 extra parameters

#: the hidden widths a question may show: the first layer is wider than the second; never lecture 02's 512 → 256
H1 = (300, 400, 500, 600, 800, 1000, 1200)
H2 = (32, 48, 64, 96, 100, 120, 128, 150, 160, 192, 200)


def _draw_extra_params(d) -> dict:
    """784 → h1 → h2 → (μ, log σ²) heads of size d: h1 > h2, d in 3…16 (never the lecture's 512 → 256, d = 2)."""
    while True:
        h2 = d.choice(H2)
        v = {"h1": d.choice([h for h in H1 if h > h2]), "h2": h2, "d": d.integer(3, 16)}
        if (v["h2"] + 1) * v["d"] != (128 + 1) * 5:               # never the fixed variant's answer (exercises/ is public)
            return v


q = question("vae_extra_params", 1, "extra parameters of your MLP VAE over the autoencoder",
             variant=Variant({"h1": 600, "h2": 128, "d": 5}, _draw_extra_params))


def _count(layers) -> int:
    return sum(p.numel() for layer in layers for p in layer.parameters())


def _extra_params(h1: int, h2: int, d: int) -> int:
    ae = [nn.Linear(784, h1), nn.Linear(h1, h2), nn.Linear(h2, d)]                    # encoder 784→h1→h2→d
    vae = [nn.Linear(784, h1), nn.Linear(h1, h2), nn.Linear(h2, d), nn.Linear(h2, d)]  # + the log σ² head
    return _count(vae) - _count(ae)        # the decoders are identical and cancel


@q.check("agrees with counting the parameters of torch layers")
def _(answer):
    v = params("vae_extra_params")
    got = as_float(answer)
    if close(got, v.h2 * v.d, rel=0, abs_=0.5):
        return f"a Linear layer has a bias too: {v.h2}·d weights + d biases"
    if close(got, 2 * (v.h2 * v.d + v.d), rel=0, abs_=0.5):
        return "the μ head does the job of the autoencoder's last layer: only the log σ² head is extra"
    if close(got, v.h1 * v.d + v.d, rel=0, abs_=0.5):
        return f"the heads take the last hidden layer ({v.h2} units) as input, not the first ({v.h1})"
    return close(got, _extra_params(v.h1, v.h2, v.d), rel=0, abs_=0.5)


# ----------------------------------------------------------------------------- q2 sampling the prior
q = question("sample_prior_code", 2, "sample_prior(decoder, n, latent_dim, generator=None): decode z ~ N(0, I) into images")


class _Recorder(nn.Module):
    """A decoder to 784 logits that remembers the z it was given and the logits it returned."""

    def __init__(self, latent_dim: int):
        super().__init__()
        g = torch.Generator().manual_seed(11)
        self.w = torch.randn(latent_dim, 784, generator=g) * 2.0
        self.b = torch.randn(784, generator=g)
        self.zs, self.logits = [], []

    def forward(self, z):
        self.zs.append(z.detach().clone())
        out = z @ self.w + self.b
        self.logits.append(out.detach().clone())
        return out


@q.check("returns images of shape (n, 1, 28, 28) with values in [0, 1]",
         hint="the decoder returns 784 logits per sample: apply torch.sigmoid and reshape to (n, 1, 28, 28)")
def _(sp):
    x = call(sp, _Recorder(3), 7, 3)
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != (7, 1, 28, 28):
        return False
    x = x.detach()
    return bool(torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1)


@q.check("decodes z drawn from N(0, I): shape (n, latent_dim), mean 0 and variance 1 per dimension")
def _(sp):
    dec = _Recorder(4)
    call(sp, dec, 20_000, 4)
    if len(dec.zs) != 1:
        return f"call the decoder once, on all n codes (it was called {len(dec.zs)} times)"
    z = dec.zs[0].double()
    if tuple(z.shape) != (20_000, 4):
        return f"z should have shape (n, latent_dim) = (20000, 4), got {tuple(z.shape)}"
    if abs(float(z.mean()) - 0.5) < 0.02:
        return "torch.rand draws from U(0, 1); the prior is N(0, I): use torch.randn"
    return bool((z.mean(0).abs() < 0.05).all() and ((z.var(0) - 1).abs() < 0.05).all())


@q.check("the images are sigmoid(decoder(z)) for the z it drew",
         hint="the decoder outputs logits: the pixel means are torch.sigmoid(logits), not the logits or their clamp")
def _(sp):
    dec = _Recorder(2)
    x = call(sp, dec, 5, 2).detach()
    want = 1 / (1 + torch.exp(-dec.logits[-1].double()))
    return bool(torch.allclose(x.double().reshape(5, -1), want, atol=1e-5))


@q.check("the same seeded generator gives the same images; no generator, new images each call",
         hint="pass generator=generator to torch.randn, and don't reseed inside the function")
def _(sp):
    dec = _Recorder(2)
    a = call(sp, dec, 6, 2, generator=torch.Generator().manual_seed(3)).detach()
    b = call(sp, dec, 6, 2, generator=torch.Generator().manual_seed(3)).detach()
    c = call(sp, dec, 6, 2).detach()
    d = call(sp, dec, 6, 2).detach()
    return bool(torch.equal(a, b) and not torch.equal(c, d))


# ----------------------------------------------------------------------------- q3 coverage of the prior
q = question("coverage_code", 3, "coverage(codes, n_bins=20): the share of the prior's mass whose equal-mass cell holds a code")


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _ref_coverage(codes: torch.Tensor, n_bins: int) -> float:
    """Brute force: for every cell of the n_bins × n_bins grid in Φ coordinates, is some code inside?"""
    us = [(_phi(float(a)), _phi(float(b))) for a, b in codes.tolist()]
    hit = 0
    for i in range(n_bins):
        for j in range(n_bins):
            lo_i, hi_i, lo_j, hi_j = i / n_bins, (i + 1) / n_bins, j / n_bins, (j + 1) / n_bins
            if any(lo_i <= u < hi_i or (i == n_bins - 1 and u == 1.0) for u, v in us
                   if lo_j <= v < hi_j or (j == n_bins - 1 and v == 1.0)):
                hit += 1
    return hit / n_bins**2          # each cell carries prior mass 1/n_bins²


def _codes(n, scale, seed, shift=0.0):
    g = torch.Generator().manual_seed(fresh(seed))
    return torch.randn(n, 2, generator=g, dtype=torch.float64) * scale + shift


@q.check("matches a brute-force loop over the cells (codes spread like the prior)",
         hint="map each coordinate through Φ (the standard normal CDF) and bin [0, 1] into n_bins equal parts")
def _(cov):
    codes = _codes(300, 1.0, 0)
    got, ref = as_float(call(cov, codes)), _ref_coverage(codes, 20)
    if close(got, ref * 400) and not close(ref, ref * 400):
        return "that is the number of occupied cells: divide by n_bins² to get the mass"
    return close(got, ref, abs_=1e-9)


@q.check("matches a brute-force loop on clustered, shifted codes and other n_bins",
         hint="the grid is equal-mass (in Φ coordinates), not equal-width in z")
def _(cov):
    for codes, n_bins in ((_codes(200, 0.3, 1, shift=0.8), 20), (_codes(150, 1.5, 2), 7), (_codes(40, 1.0, 3), 50)):
        if not close(as_float(call(cov, codes, n_bins=n_bins)), _ref_coverage(codes, n_bins), abs_=1e-9):
            return False
    return True


@q.check("a single code covers 1/n_bins² of the mass; far-out codes still land in the edge cells",
         hint="clip the bin index to n_bins - 1: Φ(z) can round to exactly 1.0")
def _(cov):
    one = torch.zeros(1, 2, dtype=torch.float64)
    # Φ(40) rounds to 1.0 and must share the corner cell with Φ(3.5) ≈ 0.9998; Φ(-40) is the other corner
    far = torch.tensor([[40.0, 40.0], [3.5, 3.5], [-40.0, -40.0]], dtype=torch.float64)
    return close(as_float(call(cov, one, n_bins=10)), 0.01, abs_=1e-12) and \
        close(as_float(call(cov, far, n_bins=10)), 0.02, abs_=1e-12)


# ----------------------------------------------------------------------------- understanding: regularisers and holes

q = question("variational_regulariser", 1, "what the VAE's KL regulariser acts on")

REGULARISER_FEEDBACK = {
    "a": "that is an L2 (weight-decay) penalty: it shrinks the weights and says nothing about where the codes lie",
    "b": "that is a sparse autoencoder's penalty (on each input's activations, few units on): it shapes each code, "
         "not the distribution of all codes",
    "c": "that is the denoising autoencoder's regulariser: it acts on the map from a corrupted input to the clean "
         "image",
}


multiple_choice(q, "d", REGULARISER_FEEDBACK, name="the option the KL term acts on",
                hint="KL(q(z|x) ‖ p(z)) compares two distributions over z")


q = question("ae_aggregate_codes", 1, "the aggregate code distribution of a plain autoencoder")

AGGREGATE_FEEDBACK = {
    "a": "nothing in a plain autoencoder's loss refers to N(0, I): its codes sit wherever reconstruction is "
         "easiest (lecture 02: a spread of several units per axis)",
    "b": "that is the VAE's aggregate posterior, (1/N) Σ N(μ_n, diag σ_n²); an autoencoder's encoder is "
         "deterministic, one point per image",
    "d": "the codes' bounding box is not a distribution the model defines: between the codes the decoder was "
         "never trained",
}


def _point_codes_hold_no_mass() -> bool:
    """N codes hold zero prior mass: their cells shrink to nothing as the grid is refined."""
    import torch
    from vae_course.evaluate import prior_coverage
    codes = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    return prior_coverage(codes, bins=400) <= 200 / 400**2


multiple_choice(q, "c", AGGREGATE_FEEDBACK, name="the option that describes (1/N) Σ δ(z − z_n)",
                hint="a deterministic encoder gives one point per image", witness=_point_codes_hold_no_mass)

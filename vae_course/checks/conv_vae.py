"""Checks for exercises/05_conv_vae: encoder/decoder shapes, the VAE loss's reductions, and two
multiple-choice questions on what lecture 05 measured (the rate vs the information; the kernel size).
The shapes and the bits per dimension are worked out by hand with each student's own numbers
(:func:`params`).

Shapes are checked by building the layers and pushing a tensor through them; the loss
against ``torch.distributions`` (Bernoulli log-likelihood summed over pixels, Normal KL
summed over latent dimensions, mean over the batch).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, Normal, kl_divergence

from . import Variant, as_float, call, close, fresh, multiple_choice, params, question

# ----------------------------------------------------------------------------- q1 encoder shapes

#: (kernel_size, padding) of a stride-2 convolution on MNIST: 28×28 becomes 12×12 to 15×15
_CONV_LAYERS = [(3, 0), (3, 1), (4, 0), (4, 1), (4, 2), (5, 0), (5, 1), (5, 2)]
_CONV_DEFAULT = {"batch": 10, "c1": 24, "k1": 5, "p1": 1, "c2": 48, "k2": 3, "p2": 0}


def _draw_conv_shapes(d) -> dict:
    """A batch of 4–32 images, two stride-2 convolutions with their own kernel sizes, paddings and widths.

    The lecture's encoder (32 → 64 or 16 → 32 channels) is never drawn: no width is 16, 32 or 64; nor is the
    default's batch size (10), so the default's shapes are wrong for every student."""
    (k1, p1), (k2, p2) = d.choice(_CONV_LAYERS), d.choice(_CONV_LAYERS)
    c1 = d.choice([8, 12, 20, 24, 40, 48])
    return {"batch": d.choice([b for b in range(4, 33) if b not in (10, 16)]), "c1": c1, "k1": k1, "p1": p1,
            "c2": d.choice([c for c in (24, 36, 40, 56, 72, 80, 96) if c > c1]), "k2": k2, "p2": p2}


q = question("conv_shapes", 2, "shapes through your encoder, for your batch of MNIST images",
             variant=Variant(_CONV_DEFAULT, _draw_conv_shapes))


def _encoder_shapes():
    v = params("conv_shapes")
    x = torch.zeros(v.batch, 1, 28, 28)
    with torch.no_grad():
        h1 = nn.Conv2d(1, v.c1, v.k1, stride=2, padding=v.p1)(x)
        h2 = nn.Conv2d(v.c1, v.c2, v.k2, stride=2, padding=v.p2)(h1)
    return {"conv1": tuple(h1.shape), "conv2": tuple(h2.shape), "flat": tuple(h2.flatten(1).shape)}


def _shape_check(key, hint):
    def test(answer):
        if not isinstance(answer, dict) or key not in answer:
            raise TypeError(f"expected a dict with key {key!r}")
        got, ref = tuple(int(v) for v in answer[key]), _encoder_shapes()[key]
        if got == ref:
            return True
        if len(got) != len(ref) or got[0] != ref[0]:
            return "the batch axis comes first: the shape is (batch, ...), with your batch size"
        return hint
    return test


q.check("after conv1")(_shape_check(
    "conv1", "out = ⌊(n + 2p − k) / s⌋ + 1 with n = 28 and conv1's k, s, p (round down); then (batch, channels, out, out)"))
q.check("after conv2")(_shape_check(
    "conv2", "conv2 applies ⌊(n + 2p − k) / s⌋ + 1 to conv1's height with its own k and p, and has its own channels"))
q.check("flattened")(_shape_check("flat", "flatten(1) keeps the batch axis: (batch, channels·height·width) of conv2"))


# ----------------------------------------------------------------------------- q2 transposed conv

#: (kernel_size, stride, padding): padding ≥ 1 (forgetting it is a named mistake) and k − 2p ≠ s (so that
#: "n · s", the size the course's 4×4 layers give, is always wrong)
_DECONV_LAYERS = [(3, 2, 1), (5, 2, 1), (5, 2, 2), (6, 2, 1), (3, 3, 1), (4, 3, 1), (5, 3, 2), (6, 3, 1), (6, 3, 2)]
_DECONV_DEFAULT = {"c_in": 48, "c_out": 24, "k": 5, "s": 2, "p": 1, "n": 9}


def _draw_deconv(d) -> dict:
    """An n×n input (4 ≤ n ≤ 20) and a layer of the list; never lecture 05's 3×3 layer on 7×7, never the
    default's answer (19)."""
    while True:
        k, s, p = d.choice(_DECONV_LAYERS)
        c_in = d.choice([24, 40, 48, 96, 128])
        v = {"c_in": c_in, "c_out": c_in // 2, "k": k, "s": s, "p": p, "n": d.integer(4, 20)}
        if (v["n"], k, s, p) != (7, 3, 2, 1) and (v["n"] - 1) * s - 2 * p + k != 19:
            return v


q = question("deconv_size", 1, "output size of your ConvTranspose2d on its input",
             variant=Variant(_DECONV_DEFAULT, _draw_deconv))


@q.check("matches the layer's actual output", hint="out = (in - 1)·stride - 2·padding + kernel_size")
def _(answer):
    v = params("deconv_size")
    with torch.no_grad():
        out = nn.ConvTranspose2d(v.c_in, v.c_out, v.k, stride=v.s, padding=v.p)(torch.zeros(1, v.c_in, v.n, v.n))
    if close(answer, v.n * v.s):
        return (f"n·s = {v.n * v.s} is what a layer with k − 2p = s gives (lecture 05's 4×4, stride 2, padding 1); "
                "this one gives (n − 1)·s − 2p + k")
    if close(answer, (v.n - 1) * v.s + v.k):
        return "the padding crops the output on both sides: subtract 2·padding"
    if close(answer, (v.n - 1) * v.s - v.p + v.k):
        return "the padding crops the output on both sides: subtract 2·padding, not padding once"
    if close(answer, (v.n + 2 * v.p - v.k) // v.s + 1):
        return "that is the output size of a (forward) convolution; a transposed convolution enlarges: (n − 1)s − 2p + k"
    return close(answer, out.shape[-1])


# ----------------------------------------------------------------------------- q3 the VAE loss
q = question("vae_loss_code", 3, "vae_loss(x, logits, mu, logvar): negative ELBO, nats per image")


def _batch(b=6, d=5, seed=0):
    g = torch.Generator().manual_seed(fresh(seed))
    x = torch.rand(b, 1, 28, 28, generator=g)
    logits = 2 * torch.randn(b, 1, 28, 28, generator=g)
    mu, logvar = torch.randn(b, d, generator=g), torch.randn(b, d, generator=g)
    return x, logits, mu, logvar


def _ref_recon(x, logits):
    # Bernoulli.log_prob needs {0,1} values under validation; the formula holds for gray levels too
    return -Bernoulli(logits=logits, validate_args=False).log_prob(x).flatten(1).sum(1).mean()


def _ref_kl(mu, logvar):
    q_ = Normal(mu, (0.5 * logvar).exp())
    return kl_divergence(q_, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(1).mean()


def _reduction_hint(got, ref, n_sum, b):
    if close(got, ref / n_sum, rel=1e-3):
        return f"your value is {n_sum} times too small: did you average where you should sum?"
    if close(got, ref * b, rel=1e-3):
        return f"your value is {b} (the batch size) times too large: take the mean over the batch, not the sum"
    if close(got, -ref, rel=1e-3):
        return "wrong sign: the loss is the NEGATIVE ELBO"
    return None


@q.check("returns one number (a 0-d tensor)")
def _(loss):
    out = call(loss, *_batch())
    return isinstance(out, torch.Tensor) and out.dim() == 0


@q.check("reconstruction: Bernoulli NLL summed over the 784 pixels, mean over the batch")
def _(loss):
    x, logits, mu, _ = _batch()
    zero = torch.zeros_like(mu)
    got, ref = as_float(call(loss, x, logits, zero, zero)), float(_ref_recon(x, logits))
    if close(got, float(-Bernoulli(probs=torch.sigmoid(torch.sigmoid(logits)), validate_args=False)
                          .log_prob(x).flatten(1).sum(1).mean()), rel=1e-4):
        return "you applied the sigmoid twice: the decoder gives logits, use F.binary_cross_entropy_with_logits"
    return close(got, ref, rel=1e-4) or _reduction_hint(got, ref, 784, x.shape[0]) or False


@q.check("KL: summed over latent dimensions, mean over the batch")
def _(loss):
    x, logits, mu, logvar = _batch()
    zero = torch.zeros_like(mu)
    got = as_float(call(loss, x, logits, mu, logvar)) - as_float(call(loss, x, logits, zero, zero))
    ref = float(_ref_kl(mu, logvar))
    return close(got, ref, rel=1e-4) or _reduction_hint(got, ref, mu.shape[1], x.shape[0]) or False


@q.check("does not grow with the batch size (the same batch twice gives the same loss)",
         hint="a mean over the batch: duplicating the batch must not change the loss")
def _(loss):
    x, logits, mu, logvar = _batch()
    two = [torch.cat([t, t]) for t in (x, logits, mu, logvar)]
    return close(call(loss, *two), call(loss, x, logits, mu, logvar), rel=1e-5)


# ----------------------------------------------------------------------------- q4 bits per dimension

def _draw_bits(d) -> dict:
    """Nats per image in halves, 70 to 150; never near lecture 05's figures (86.8, 92.5, 93.7, 97.7), never 100."""
    lecture = (86.8, 92.5, 93.7, 97.7)
    return {"nats": d.choice([n / 2 for n in range(140, 301)
                              if n != 200 and all(abs(n / 2 - x) > 0.4 for x in lecture)])}


q = question("bits_per_dim", 1, "your loss in nats per MNIST image, in bits per dimension",
             variant=Variant({"nats": 100}, _draw_bits))


@q.check("nats per image → bits per dimension", hint="divide by the number of pixels and convert nats to bits (÷ ln 2)")
def _(answer):
    nats = params("bits_per_dim").nats
    if close(answer, nats / 784):
        return "that is nats per pixel: divide by ln 2 for bits"
    if close(answer, nats / math.log(2)):
        return "that is bits per image: divide by the 784 pixels for bits per dimension"
    if close(answer, nats * math.log(2) / 784):
        return "to turn nats into bits divide by ln 2 (1 bit = ln 2 nats), do not multiply"
    return close(answer, nats / (784 * math.log(2)))


# ----------------------------------------------------------------------------- multiple choice


# ----------------------------------------------------------------------------- q5 the rate and the information
q = question("rate_vs_information", 1, "what a KL term of 31 nats says about the information in the codes")
multiple_choice(q, 2, {
    1: "the KL term is the rate, and rate = I_q(x; z) + KL(q(z) ‖ p(z)): it equals the information only if the "
       "aggregate posterior is exactly the prior (lecture 05 measured a rate far above the information)",
    3: "wrong direction: KL(q(z) ‖ p(z)) ≥ 0 is added to I_q(x; z), so the rate is at least the information, "
       "not at most",
    4: "they are tied by an identity: E_x KL(q(z|x) ‖ p(z)) = I_q(x; z) + KL(q(z) ‖ p(z))",
})


# ----------------------------------------------------------------------------- q6 why 4×4 kernels
q = question("kernel_reason", 1, "why lecture 05's decoder uses 4×4 transposed convolutions where the notes use 3×3")
multiple_choice(q, 3, {
    1: "a 4×4 kernel has 16 weights per pair of channels, a 3×3 kernel 9: more parameters, not fewer",
    2: "it can: with output_padding=1 (question 2's missing row) a 3×3 transposed convolution of stride 2 gives 14×14, "
       "which is what the notes do",
    4: "the KL term depends only on the encoder's μ and log σ²; the decoder's kernels do not enter it",
})

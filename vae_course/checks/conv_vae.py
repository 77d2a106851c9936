"""Checks for exercises/05_conv_vae: encoder/decoder shapes, the VAE loss's reductions, and two
multiple-choice questions on what lecture 05 measured (the rate vs the information; the kernel size).

Shapes are checked by building the layers and pushing a tensor through them; the loss
against ``torch.distributions`` (Bernoulli log-likelihood summed over pixels, Normal KL
summed over latent dimensions, mean over the batch).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, Normal, kl_divergence

from . import as_float, call, close, fresh, question

# ----------------------------------------------------------------------------- q1 encoder shapes
q = question("conv_shapes", 2, "shapes through the encoder, batch of 8 MNIST images")


def _encoder_shapes():
    x = torch.zeros(8, 1, 28, 28)
    h1 = nn.Conv2d(1, 32, 4, stride=2, padding=1)(x)
    h2 = nn.Conv2d(32, 64, 4, stride=2, padding=1)(h1)
    return {"conv1": tuple(h1.shape), "conv2": tuple(h2.shape), "flat": tuple(h2.flatten(1).shape)}


def _shape_check(key, hint):
    def test(answer):
        if not isinstance(answer, dict) or key not in answer:
            raise TypeError(f"expected a dict with key {key!r}")
        return tuple(int(v) for v in answer[key]) == _encoder_shapes()[key] or hint
    return test


q.check("after conv1")(_shape_check("conv1", "out = ⌊(28 + 2·1 - 4) / 2⌋ + 1 = 14; the batch and channel axes come first"))
q.check("after conv2")(_shape_check("conv2", "conv2 halves 14×14 again and has 64 output channels"))
q.check("flattened")(_shape_check("flat", "flatten(1) keeps the batch axis: (8, channels·height·width)"))


# ----------------------------------------------------------------------------- q2 transposed conv
q = question("deconv_size", 1, "output size of ConvTranspose2d(64, 32, kernel_size=3, stride=2, padding=1) on 7×7")


@q.check("matches the layer's actual output", hint="out = (in - 1)·stride - 2·padding + kernel_size")
def _(answer):
    out = nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1)(torch.zeros(1, 64, 7, 7))
    if close(answer, 14):
        return "14 needs output_padding=1; without it the layer gives one pixel less"
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
q = question("bits_per_dim", 1, "a loss of 100 nats per MNIST image in bits per pixel")


@q.check("100 / (784 · ln 2)", hint="divide by the number of pixels and convert nats to bits (÷ ln 2)")
def _(answer):
    if close(answer, 100 / 784):
        return "that is nats per pixel: divide by ln 2 for bits"
    return close(answer, 100 / (784 * math.log(2)))


# ----------------------------------------------------------------------------- multiple choice


def choice(answer, n: int) -> int:
    """The number of the option the student chose, 1..n (an int, or a string holding one); TypeError otherwise."""
    if isinstance(answer, str) and answer.strip().isdigit():
        answer = int(answer.strip())
    if isinstance(answer, bool) or not isinstance(answer, int) or not 1 <= answer <= n:
        raise TypeError(f"answer with the number of one option, 1 to {n}")
    return answer


def _multiple_choice(q, correct: int, wrong: dict[int, str]):
    """Register the check of a multiple-choice question: True for ``correct``, else the reason that option is wrong."""
    n = len(wrong) + 1

    @q.check("the right option")
    def _(answer):
        picked = choice(answer, n)
        return True if picked == correct else wrong[picked]


# ----------------------------------------------------------------------------- q5 the rate and the information
q = question("rate_vs_information", 1, "what a KL term of 31 nats says about the information in the codes")
_multiple_choice(q, 2, {
    1: "the KL term is the rate, and rate = I_q(x; z) + KL(q(z) ‖ p(z)): it equals the information only if the "
       "aggregate posterior is exactly the prior (lecture 05 measured a rate far above the information)",
    3: "wrong direction: KL(q(z) ‖ p(z)) ≥ 0 is added to I_q(x; z), so the rate is at least the information, "
       "not at most",
    4: "they are tied by an identity: E_x KL(q(z|x) ‖ p(z)) = I_q(x; z) + KL(q(z) ‖ p(z))",
})


# ----------------------------------------------------------------------------- q6 why 4×4 kernels
q = question("kernel_reason", 1, "why lecture 05's decoder uses 4×4 transposed convolutions where the notes use 3×3")
_multiple_choice(q, 3, {
    1: "a 4×4 kernel has 16 weights per pair of channels, a 3×3 kernel 9: more parameters, not fewer",
    2: "it can: with output_padding=1 (question 2's missing row) a 3×3 transposed convolution of stride 2 gives 14×14, "
       "which is what the notes do",
    4: "the KL term depends only on the encoder's μ and log σ²; the decoder's kernels do not enter it",
})

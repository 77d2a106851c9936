"""Checks for exercises/07_beta_vae: the rate–distortion view of β.

References: brute force over the candidate models (q1), the count of averaged entries (q2),
and, for the multiple-choice items, feedback for each wrong option naming the misconception.
"""
from __future__ import annotations

import numpy as np

from . import Variant, as_float, call, close, multiple_choice, params, question

# (rate R, distortion D) in nats of four trained models; none of these numbers is in lecture 07
POINTS = [(34.0, 86.0), (21.0, 95.0), (9.5, 121.0), (2.0, 168.0)]


def _ref_best(points, beta):
    return int(np.argmin([d + beta * r for r, d in points]))


def _index(x) -> int:
    v = as_float(x)
    if v != int(v):
        raise TypeError(f"expected an index (a whole number), got {v!r}")
    return int(v)


# ----------------------------------------------------------------------------- q1 which model a β prefers
q = question("beta_choice_code", 2, "best_model(points, beta): the model a β-VAE objective D + βR prefers")


@q.check("picks the model minimising D + βR for β = 1, 4 and 0.5")
def _(f):
    for beta in (1.0, 4.0, 0.5):
        got, ref = _index(call(f, POINTS, beta)), _ref_best(POINTS, beta)
        if got != ref:
            if got == int(np.argmin([r + beta * d for r, d in POINTS])):
                return f"β = {beta:g}: you weighted the distortion by β; β multiplies the rate (the KL term)"
            if got == _ref_best(POINTS, 1.0):
                return f"β = {beta:g}: you ignored β and minimised the negative ELBO D + R"
            return f"β = {beta:g}: got model {got}, expected {ref}"
    return True


@q.check("the choice moves towards low rate as β grows",
         hint="for a larger β each nat of rate costs more, so the preferred model can only move to a lower rate")
def _(f):
    rates = [POINTS[_index(call(f, POINTS, b))][0] for b in (0.25, 1.0, 2.0, 8.0, 64.0)]
    return all(a >= b for a, b in zip(rates, rates[1:]))


# ----------------------------------------------------------------------------- q2 the implicit β

_IMPLICIT_DEFAULT = {"side": 32, "channels": 3, "d": 64}


def _implicit_variants() -> list[dict]:
    """A square colour image (side 16…128) and d latents, one pair per value of β = 3·side²/d (always above 1;
    never lecture 07's MNIST 784/20: these images have three channels), never the default's β = 48."""
    seen, kept = {3 * 32 * 32 / 64}, []
    for side in (16, 20, 24, 28, 32, 36, 40, 48, 56, 64, 72, 80, 96, 112, 128):
        for d in (8, 10, 12, 16, 20, 24, 32, 40, 48, 50, 64, 80, 96, 100, 128, 200, 256):
            if 3 * side * side / d not in seen:
                seen.add(3 * side * side / d)
                kept.append({"side": side, "channels": 3, "d": d})
    return kept


_IMPLICIT_VARIANTS = _implicit_variants()


def _draw_implicit(d) -> dict:
    return dict(d.choice(_IMPLICIT_VARIANTS))


q = question("implicit_beta", 1, "the β hidden in a loss that averages the squared error over your image's values "
             "and the KL over your latents", variant=Variant(_IMPLICIT_DEFAULT, _draw_implicit))


@q.check("β = (number of averaged image values) / (number of latent dimensions)")
def _(answer):
    v = params("implicit_beta")
    n_values = v.side * v.side * v.channels
    ref = n_values / v.d
    got = as_float(answer)
    if close(got, v.d / n_values):
        return "inverted: dividing the squared error by D and the KL by d puts D/d in front of the KL once you multiply by D"
    if close(got, v.side * v.side / v.d):
        return f"count every averaged value: {v.side}×{v.side} pixels × {v.channels} colour channels"
    if close(got, float(n_values)):
        return "that is the number of image values D; the KL was averaged too, over the d latents"
    if close(got, 1.0):
        return "averaging is not a neutral choice of units when the two terms are averaged over different counts"
    return close(got, ref) or f"got {got:g}"


# ----------------------------------------------------------------------------- q3 reconstructions vs β (multiple choice)
q = question("beta_recon_choice", 1, "what raising β from 1 to 4 does to the reconstructions (multiple choice)")

_Q3_FEEDBACK = {
    "a": "that is the lecture notes' claim, and the measurement contradicts it: a larger β widens the posterior "
         "noise, so the decoder averages over many codes and blurs",
    "c": "a larger β buys a lower rate with a higher distortion: reconstructions cannot become more accurate",
    "d": "β changes the training objective, so it changes the decoder too: the distortion term grows with β",
}


multiple_choice(q, "b", _Q3_FEEDBACK, name="the option that matches the measured rate–distortion curve and sharpness")


# ----------------------------------------------------------------------------- q4 rate vs information (multiple choice)
q = question("rate_bound_choice", 1, "what a rate of R nats says about the information I(x; z) (multiple choice)")

_Q4_FEEDBACK = {
    "a": "equality needs the aggregate posterior q(z) to equal the prior exactly; in general "
         "R = I(x; z) + KL(q(z) ‖ p(z)) and the last term is ≥ 0",
    "c": "wrong direction: R exceeds I(x; z) by KL(q(z) ‖ p(z)) ≥ 0",
    "d": "the decomposition R = I(x; z) + KL(q(z) ‖ p(z)) with both terms ≥ 0 does bound it",
}


multiple_choice(q, "b", _Q4_FEEDBACK, name="the option that follows from R = I(x; z) + KL(q(z) ‖ p(z))")

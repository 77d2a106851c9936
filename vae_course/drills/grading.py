"""Grade a typed answer: read it with the safe parser, compare within the stated tolerance, and when
it is wrong, say which common mistake produces exactly that number."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..answer_parser import AnswerError, parse_answer
from .core import LN2, TOLERANCE_TEXT, Drill, within_tolerance

__all__ = ["CheckResult", "check", "MISTAKES"]

#: mistake name -> what the feedback says (the drills compute the value each mistake produces)
MISTAKES = {
    "sigma_for_variance": "It looks like σ was used where σ² belongs (or the other way round): the formula "
                          "needs the variance σ² and log σ², while σ is the standard deviation.",
    "half_forgotten": "It looks like a factor ½ went missing (the ½ in front of ½(μ² + σ² − log σ² − 1), "
                      "the 2 in 2σ₂², or the −½ of the general formula).",
    "wrong_direction": "That is the value of the other direction. KL is not symmetric: KL(p‖q) averages "
                       "log p/q under p, the first argument.",
    "gave_bits": "That is the answer in bits (log base 2); the question asks for nats (natural log): "
                 "multiply by ln 2.",
    "gave_nats": "That is the answer in nats (natural log); the question asks for bits: divide by ln 2 "
                 "(or use log₂ throughout).",
    "log10": "It looks like log base 10 was used; nats use the natural log ln, bits use log₂.",
    "sign_slip": "It looks like a sign slip (e.g. +log σ² instead of −log σ², the −1 flipped, or the "
                 "whole answer negated). Remember that KL and entropy are never negative.",
    "averaged": "It looks like you averaged over the latent dimensions: the KL of a diagonal Gaussian is "
                "the **sum** over dimensions (averaging instead of summing).",
    "batch_sum": "It looks like you summed over the batch: the loss is per image, so take the **mean** "
                 "over the batch of the per-image sums over latent dimensions.",
    "logvar_as_logsigma": "It looks like log σ² was treated as log σ: logvar is the log of the variance, "
                          "so σ² = exp(logvar), not exp(2·logvar).",
    "forgot_entropy": "That is the cross-entropy H(p, q). KL(p‖q) = H(p, q) − H(p): subtract the entropy.",
    "gave_entropy": "That is the entropy H(p); the cross-entropy has log q(x) inside, weighted by p(x).",
    "gave_kl": "That is KL(p‖q); the cross-entropy is H(p, q) = H(p) + KL(p‖q).",
    "forgot_weights": "It looks like the weights p(x) were left out: H(p) = −Σ p(x) log p(x).",
    "gave_location": "That is the μ₂ where the minimum is reached; the question asks for the smallest KL value.",
    # mock-exam questions (drills.exam)
    "kl_added": "It looks like the KL was added: the ELBO is the reconstruction term **minus** the KL.",
    "iwae_mean_of_logs": "That is the average of the log-weights (the ELBO estimate). The IWAE bound averages the "
                         "weights themselves, then takes the log: log((1/K) Σ exp(log w_k)).",
    "iwae_no_mean": "It looks like the 1/K went missing: log Σ w_k is larger than the bound by log K.",
    "free_bits_plain_sum": "That is the plain sum of the KLs: free bits replaces each dimension's KL by max(λ, KL_j).",
    "free_bits_min": "It looks like min(λ, KL_j) was used; free bits takes max(λ, KL_j) (below λ the penalty is the constant λ).",
    "free_bits_clamped_zero": "It looks like λ was subtracted (max(KL_j − λ, 0)); free bits uses max(λ, KL_j).",
    "beta_on_distortion": "It looks like β multiplied the distortion; the β-VAE loss is D + β·R, β weights the rate (KL).",
    "beta_ignored": "That is the loss with β = 1 (the negative ELBO); the question's β weights the rate: D + β·R.",
    "vq_one_cell": "That is the rate of one grid cell (log K); every cell of the grid carries one code: multiply by H·W.",
    "vq_codes_not_log": "It looks like K itself was used; each cell costs log K (the log of the number of codes).",
    "prior_mean_ignored": "That is the KL to N(0, 1); the conditional prior here is centred on m_y.",
    "bpd_per_image": "That is bits per image; bits per dimension divides by the number of pixels as well.",
    "bpd_times_ln2": "It looks like you multiplied by ln 2; nats → bits divides by ln 2.",
}
_EXAMPLE = "a number or an expression such as 1/2*(36+16-ln(16)-1)"


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one typed answer."""

    correct: bool
    feedback: str
    value: float | None = None     # what the text was read as (None if unreadable)
    mistake: str | None = None     # the name of the recognised mistake, if any
    readable: bool = True


def _unreadable(reason: str, hint: str = _EXAMPLE) -> CheckResult:
    return CheckResult(False, f"Could not read your answer: {reason}. Type {hint}.", readable=False)


def _check_choice(drill: Drill, text) -> CheckResult:
    n = len(drill.choices)
    hint = f"the number of your choice (1–{n})"
    if not isinstance(text, str):
        return _unreadable(f"expected text, got {type(text).__name__}", hint)
    if len(text) > 200:
        return _unreadable("it is too long", hint)
    key = text.strip().lower().rstrip(".").strip()
    if key in drill.aliases:
        pick = drill.aliases[key]
    else:
        try:
            value = parse_answer(key).value
        except AnswerError as exc:
            return _unreadable(exc.reason, hint)
        if value != int(value) or not 1 <= value <= n:
            return _unreadable(f"{value:g} is not one of the choices 1–{n}", hint)
        pick = int(value)
    right = int(drill.answer)
    if pick == right:
        return CheckResult(True, f"Correct: {drill.choices[right - 1]}.", float(pick))
    extra = (drill.choice_feedback or {}).get(pick, "")
    return CheckResult(False, f"Not this one ({drill.choices[pick - 1]}). {extra}".strip(), float(pick),
                       mistake="wrong_choice")


def check(drill: Drill, text: str) -> CheckResult:
    """Grade ``text`` against ``drill``; never evaluates the text as code.

    Correct means within the stated tolerance (±0.5 % or ±0.005, whichever is larger). A unit
    written after the number (``nats``/``bits``) must match the question's.
    """
    if drill.choices:
        return _check_choice(drill, text)
    try:
        typed = parse_answer(text)
    except AnswerError as exc:
        return _unreadable(exc.reason)
    value, answer, unit = typed.value, drill.answer, drill.unit
    if typed.unit is not None and typed.unit != unit:
        converted = value * LN2 if typed.unit == "bits" else value / LN2
        note = " (and the value is right once converted)" if within_tolerance(converted, answer) else ""
        return CheckResult(False, f"You gave {typed.unit}, but the question asks for {unit}{note}: "
                                  f"{'divide' if unit == 'bits' else 'multiply'} by ln 2.", value,
                           mistake="gave_nats" if unit == "bits" else "gave_bits")
    if within_tolerance(value, answer):
        shown = f"{answer:.4f}".rstrip("0").rstrip(".")
        return CheckResult(True, f"Correct! The exact value is {shown} {unit} "
                                 f"(answers count {TOLERANCE_TEXT}).", value)
    for name, wrong in drill.mistakes:
        if math.isfinite(wrong) and not within_tolerance(wrong, answer) and within_tolerance(value, wrong):
            return CheckResult(False, f"Not quite. {MISTAKES[name]}", value, mistake=name)
    if value < 0 <= answer:
        why = ("KL divergences and entropies are never negative (Gibbs' inequality)" if drill.topic in (None, "kl")
               else "this quantity cannot be negative")
        return CheckResult(False, f"Not quite: {why}.", value, mistake="negative")
    if abs(value - answer) <= max(0.05, 0.05 * abs(answer)):
        return CheckResult(False, f"Close, but not within the tolerance ({TOLERANCE_TEXT}): "
                                  "check your rounding, keep 3–4 significant figures.", value, mistake="rounding")
    return CheckResult(False, f"Not quite (you wrote {value:.4g} {unit}). Try again, or reveal the worked solution.",
                       value)

"""The whole-lecture mock exam: questions on every topic of the course, in the lecture notes' four
problem types, each checked by :func:`vae_course.drills.check` and with a worked solution.

* :data:`TOPICS`: topic name -> :class:`Topic` (label, the lecture and section to revise, question makers).
* :data:`PROBLEM_TYPES`: the four problem types of the exam notes (004, §12).
* :func:`exam_question` (one question, reproducible from seed and index) and :func:`exam` (``n`` of them,
  cycling through the topics in a seed-dependent order, so that every topic appears once in each
  run of ``len(TOPICS)`` questions).

Every question is a :class:`~vae_course.drills.core.Drill` with ``topic`` and ``problem_type`` set.
Numeric questions are in nats or bits and carry the values a typical slip produces (``mistakes``),
like the KL drills; the others are multiple choice (``unit`` 'choice', ``answer`` the option number):
every wrong option is a known misconception and its feedback says why it is wrong. Options are
shuffled per question, so the right number differs between questions and seeds. Orderings of a
derivation's steps are asked as a choice between orderings.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable

import sympy as sp

from ..info import kl_normal
from .core import CHOICE_UNIT, Drill, kl_normal_exact, num, pick_decimal, solution_markdown, tex, to_unit
from .make import KINDS, check_n_and_seed

__all__ = ["Topic", "TOPICS", "PROBLEM_TYPES", "exam_question", "exam", "DEFAULT_EXAM_N", "choice_drill"]

#: the four problem types of the exam notes (004, §12), by the name the questions carry
PROBLEM_TYPES = {
    "explain": "explain why (choose the reason, order the argument)",
    "compute": "compute a quantity",
    "define": "what is it: definition, symptom, cause, fix",
    "components": "the parts of a formula and what each one does",
}
DEFAULT_EXAM_N = 12


@dataclass(frozen=True)
class Topic:
    """One topic of the exam: a label, where to revise it, and its question makers ``(rng, hard) -> Drill``."""

    label: str
    lecture: str            # notebook path, relative to the repository root
    section: str            # the section of that notebook to revise
    makers: tuple[Callable, ...]


# ----------------------------------------------------------------------------- multiple choice

def choice_drill(kind: str, rng: random.Random, question: str, right: str, wrong: dict[str, str],
                 why: str, hard: bool = False, params: dict | None = None) -> Drill:
    """A multiple-choice drill with shuffled options: ``right`` is the right option, ``wrong`` maps each
    wrong option (a known misconception) to the feedback saying why it is wrong; ``why`` (Markdown)
    is the worked solution's explanation."""
    options = [right, *wrong]
    rng.shuffle(options)
    k = options.index(right) + 1
    feedback = {i: wrong[o] for i, o in enumerate(options, 1) if o != right}
    body = question + "\n\n" + "\n".join(f"{i}. {o}" for i, o in enumerate(options, 1)) + \
        "\n\nAnswer with the number of your choice."
    solution = solution_markdown([(why, "")], None, float(k), CHOICE_UNIT, final=f"**Answer:** choice {k}: {right}.")
    aliases = {str(i): i for i in range(1, len(options) + 1)}
    return Drill(kind, "hard" if hard else "easy", body, sp.Integer(k), float(k), CHOICE_UNIT, solution,
                 dict(params or {}), [], [], options, feedback, aliases)


def ordering_drill(kind: str, rng: random.Random, question: str, steps: list[str], why: str,
                   hard: bool = False, n_options: int = 4) -> Drill:
    """"Put these steps in order" as a choice between orderings: the steps are shown labelled A, B, ...
    in a shuffled order; one option is the right order, the others are other orderings."""
    labels = "ABCDEFG"[:len(steps)]
    shown = list(range(len(steps)))
    rng.shuffle(shown)                                       # shown[j] = which true step has label j
    label_of = {true: labels[j] for j, true in enumerate(shown)}
    right = " → ".join(label_of[i] for i in range(len(steps)))
    wrong: dict[str, str] = {}
    while len(wrong) < n_options - 1:
        perm = list(range(len(steps)))
        rng.shuffle(perm)
        text = " → ".join(label_of[i] for i in perm)
        if text != right and text not in wrong:
            first = next(p for p, i in enumerate(perm) if i != p)
            wrong[text] = (f"Step {label_of[first]} (\"{_plain(steps[first])}\") must come before step "
                           f"{label_of[perm[first]]}: each step uses the one before it.")
    listing = "\n".join(f"- **{labels[j]}.** {steps[true]}" for j, true in enumerate(shown))
    return choice_drill(kind, rng, f"{question}\n\n{listing}\n\nWhich order is right?", right, wrong,
                        why + "\n\nIn order: " + " ".join(f"({n}) {s}" for n, s in enumerate(steps, 1)), hard)


def _plain(text: str) -> str:
    return text if len(text) < 60 else text[:57] + "..."


# ----------------------------------------------------------------------------- ELBO (lecture 03)

def _elbo_value(rng: random.Random, hard: bool) -> Drill:
    recon = pick_decimal(rng, 60, 120, 0.1 if hard else 1)        # −E_q log p(x|z), nats
    kl = pick_decimal(rng, 5, 30, 0.1 if hard else 1)
    unit = "bits" if hard and rng.random() < 0.5 else "nats"
    exact_nats = -(recon + kl)
    exact = exact_nats / sp.log(2) if unit == "bits" else exact_nats
    answer = float(exact)
    question = (f"For one image $x$, a VAE's expected reconstruction term is "
                f"$\\mathbb{{E}}_{{q_\\phi(z\\mid x)}}[\\log p_\\theta(x\\mid z)] = {tex(-recon)}$ nats and its "
                f"$\\mathrm{{KL}}(q_\\phi(z\\mid x)\\,\\|\\,p(z)) = {tex(kl)}$ nats. What is the ELBO "
                + ("in **bits**?" if unit == "bits" else "in nats?"))
    lines = [("The ELBO is reconstruction **minus** KL (lecture 03):",
              r"\mathrm{ELBO} = \mathbb{E}_{q}[\log p_\theta(x\mid z)] - \mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))"),
             ("Put in the numbers:", rf"\mathrm{{ELBO}} = {tex(-recon)} - {tex(kl)} = {tex(exact_nats)}\text{{ nats}}")]
    if unit == "bits":
        lines.append(("In bits, divide by $\\ln 2$:", rf"{tex(exact_nats)} / \ln 2 \approx {answer:.4f}\text{{ bits}}"))
    mistakes = [("kl_added", to_unit(float(-recon + kl), unit)), ("sign_slip", -answer),
                ("gave_nats" if unit == "bits" else "gave_bits",
                 float(exact_nats) if unit == "bits" else float(exact_nats) / math.log(2))]
    return Drill("elbo_value", "hard" if hard else "easy", question, exact, answer, unit,
                 solution_markdown(lines, exact, answer, unit), {"recon": num(-recon), "kl": num(kl)}, [], mistakes)


def _elbo_gap(rng: random.Random, hard: bool) -> Drill:
    log_px = pick_decimal(rng, -110, -80, 0.1 if hard else 1)
    gap = pick_decimal(rng, 1, 8, 0.1 if hard else 1)
    elbo = log_px - gap
    question = (f"For one image, the exact log-likelihood is $\\log p_\\theta(x) = {tex(log_px)}$ nats and the ELBO "
                f"of the current encoder is ${tex(elbo)}$ nats. How large is "
                r"$\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big)$, in nats?")
    lines = [("The ELBO identity (lecture 03): the log-likelihood is the ELBO plus the KL from the encoder to the "
              "true posterior,", r"\log p_\theta(x) = \mathrm{ELBO} + \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big)"),
             ("so the gap is", rf"\mathrm{{KL}} = {tex(log_px)} - ({tex(elbo)}) = {tex(gap)}"),
             ("It is never negative: that is why the ELBO is a *lower* bound.", "")]
    answer = float(gap)
    mistakes = [("sign_slip", -answer), ("gave_bits", answer / math.log(2))]
    return Drill("elbo_gap", "hard" if hard else "easy", question, gap, answer, "nats",
                 solution_markdown(lines, gap, answer, "nats"), {"log_px": num(log_px), "elbo": num(elbo)}, [], mistakes)


def _iwae(rng: random.Random, hard: bool) -> Drill:
    k = rng.randint(3, 4) if hard else 2
    logw = [pick_decimal(rng, -4, -0.5, 0.1 if hard else 0.5) for _ in range(k)]
    while len(set(logw)) < 2:
        logw[0] = pick_decimal(rng, -4, -0.5, 0.5)
    exact = sp.log(sum(sp.exp(w) for w in logw) / k)
    answer = float(exact)
    mean_log = float(sum(logw) / k)
    question = (f"Importance sampling for one image: {k} samples $z_k \\sim q_\\phi(z\\mid x)$ give the log-weights "
                f"$\\log w_k = \\log p_\\theta(x, z_k) - \\log q_\\phi(z_k\\mid x) = "
                + ", ".join(f"{tex(w)}" for w in logw) + "$. Compute the "
                f"{k}-sample IWAE estimate $\\log \\frac{{1}}{{K}}\\sum_k w_k$, in nats.")
    lines = [("The IWAE bound averages the **weights**, then takes the log (lecture 03):",
              r"\mathcal{L}_K = \log \frac{1}{K}\sum_{k=1}^K w_k = \log \frac{1}{K}\sum_k e^{\log w_k}"),
             ("Put in the numbers:", rf"\mathcal{{L}}_{k} = \log \tfrac{{1}}{{{k}}}\big("
              + " + ".join(rf"e^{{{tex(w)}}}" for w in logw) + rf"\big) \approx {answer:.4f}"),
             (f"For comparison, the average of the log-weights (the ELBO estimate from the same samples) is "
              f"{mean_log:.4f}: by Jensen's inequality the IWAE value is never below it.", "")]
    mistakes = [("iwae_mean_of_logs", mean_log), ("iwae_no_mean", answer + math.log(k)), ("sign_slip", -answer)]
    return Drill("iwae", "hard" if hard else "easy", question, exact, answer, "nats",
                 solution_markdown(lines, exact, answer, "nats"), {"logw": [num(w) for w in logw]}, [], mistakes)


def _elbo_parts(rng: random.Random, hard: bool) -> Drill:
    return choice_drill(
        "elbo_parts", rng,
        r"In $\mathrm{ELBO} = \mathbb{E}_{q_\phi(z\mid x)}[\log p_\theta(x\mid z)] - \mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))$, "
        "what does the KL term do during training?",
        "it keeps each image's code distribution close to the prior, so codes stay in the region the decoder is trained on",
        {"it makes the reconstructions sharper": "Sharpness comes from the reconstruction term; the KL term costs "
                                                 "reconstruction quality (the rate–distortion trade-off of lecture 07).",
         "it measures how far the ELBO is from log p(x)": "That gap is KL(q(z|x) ‖ p(z|x)), to the *true posterior*, "
                                                           "not the KL to the prior that appears in the ELBO.",
         "it forces every q(z|x) to equal N(0, I)": "Taken literally that is posterior collapse: the codes would carry no "
                                                     "information. The KL is traded against reconstruction; it is the "
                                                     "*aggregate* posterior that should come close to the prior."},
        "The ELBO has two parts: the reconstruction term rewards codes that let the decoder rebuild $x$; the KL term "
        "charges every bit of information the code carries about $x$ relative to the prior, which keeps the codes of all "
        "images in the region of latent space that $p(z)$ covers.", hard)


def _elbo_order(rng: random.Random, hard: bool) -> Drill:
    steps = [r"$\log p_\theta(x) = \log \int p_\theta(x, z)\,dz$",
             r"multiply and divide by $q_\phi(z\mid x)$: $\log \mathbb{E}_{q_\phi}\big[p_\theta(x, z)/q_\phi(z\mid x)\big]$",
             r"Jensen's inequality (log is concave): $\ge \mathbb{E}_{q_\phi}\big[\log p_\theta(x, z) - \log q_\phi(z\mid x)\big]$",
             r"split $p_\theta(x, z) = p_\theta(x\mid z)\,p(z)$: $\mathbb{E}_{q_\phi}[\log p_\theta(x\mid z)] - \mathrm{KL}(q_\phi\,\|\,p)$"]
    return ordering_drill("elbo_order", rng, "The ELBO derivation by Jensen's inequality (lecture 03) has four steps, "
                          "shown here out of order:", steps,
                          "Start from the marginal likelihood, bring in $q_\\phi$ as an importance distribution, move the log "
                          "inside the expectation with Jensen's inequality, then split the joint into likelihood and prior.", hard)


# ----------------------------------------------------------------------------- reparameterization (lecture 04)

def _reparam_sigma(rng: random.Random, hard: bool) -> Drill:
    return choice_drill(
        "reparam_sigma", rng,
        r"An encoder outputs $\mu$ and $\texttt{logvar} = \log\sigma^2$. With $\varepsilon \sim \mathcal{N}(0, 1)$, "
        r"which line draws $z \sim \mathcal{N}(\mu, \sigma^2)$ so that gradients reach $\mu$ and $\texttt{logvar}$?",
        r"$z = \mu + e^{\texttt{logvar}/2}\,\varepsilon$",
        {r"$z = \mu + e^{\texttt{logvar}}\,\varepsilon$": "exp(logvar) is the variance σ², not the standard deviation: "
                                                           "this samples with σ² where σ belongs.",
         r"$z = \mu + \texttt{logvar}\cdot\varepsilon$": "logvar is a log, and may be negative: σ = exp(logvar/2).",
         r"$z$ drawn with torch.normal(mu, sigma)": "Sampling inside the graph is the problem the trick solves: no "
                                                     "gradient flows through a sampling call to μ and σ."},
        r"The trick moves the randomness into $\varepsilon$, which does not depend on the parameters: "
        r"$z = \mu + \sigma\varepsilon$ is a differentiable function of $\mu$ and $\sigma = e^{\texttt{logvar}/2}$ "
        r"($\sigma^2 = e^{\texttt{logvar}}$, so $\sigma$ is its square root).", hard)


def _reparam_why(rng: random.Random, hard: bool) -> Drill:
    return choice_drill(
        "reparam_why", rng, r"Why does writing $z = \mu + \sigma\varepsilon$ with $\varepsilon \sim \mathcal{N}(0, I)$ "
        "make the encoder trainable by backpropagation?",
        r"the sample becomes a deterministic, differentiable function of $\mu$ and $\sigma$; the randomness sits in $\varepsilon$, which has no parameters",
        {"it removes the randomness from training": "z is still random: ε is drawn fresh every step. Only where the "
                                                   "randomness enters changes.",
         "it makes the gradient estimate exact, with zero variance": "The pathwise estimate is still a Monte Carlo "
                                                                     "estimate; its variance is usually much lower than "
                                                                     "the score-function estimator's, not zero.",
         "it works for any latent distribution, discrete ones included": "A discrete latent has no differentiable "
                                                                        "reparameterization (lecture 04, §5); VQ-VAE "
                                                                        "uses a straight-through estimator instead."},
        r"Sampling $z \sim q_\phi(z\mid x)$ directly gives no derivative with respect to $\phi$. Written as "
        r"$z = \mu_\phi(x) + \sigma_\phi(x)\,\varepsilon$, the chain rule applies: $\partial z/\partial\mu = 1$, "
        r"$\partial z/\partial\sigma = \varepsilon$.", hard)


# ----------------------------------------------------------------------------- autoencoders vs VAEs (lecture 02)

def _holes_why(rng: random.Random, hard: bool) -> Drill:
    return choice_drill(
        "holes_why", rng, "Why does decoding a random point of the latent space work for a VAE but often not for a "
        "plain autoencoder?",
        "the autoencoder's codes are isolated points (the aggregate code distribution has measure zero); a VAE's "
        "codes are Gaussians with full support, whose mixture covers the region the prior samples from",
        {"the VAE's decoder has more parameters": "The two models of lecture 02 have the same decoder; the difference "
                                                  "is in what the codes are.",
         "the KL term forces q(z|x) = N(0, I) for every image": "Then the codes would carry no information (posterior "
                                                                "collapse). The KL is traded against reconstruction.",
         "the VAE uses more latent dimensions": "The two models of lecture 02 use the same latent dimension: the "
                                                "holes come from point codes, whatever the dimension."},
        "An autoencoder maps each image to one point $z_i = f(x_i)$: its aggregate code distribution "
        r"$\frac1N\sum_i \delta(z - z_i)$ puts all its mass on N points, and a prior sample lands between them. "
        "A VAE's $q_\\phi(z\\mid x_i)$ is a Gaussian with full support: the mixture $\\frac1N\\sum_i q_\\phi(z\\mid x_i)$ "
        "has positive density everywhere, and the KL term keeps it where the prior puts its mass.", hard)


def _holes_order(rng: random.Random, hard: bool) -> Drill:
    steps = [r"a plain autoencoder maps each $x_i$ to one point $z_i = f(x_i)$",
             r"its aggregate code distribution $\frac1N\sum_i \delta(z - z_i)$ is a sum of point masses (measure zero)",
             r"a VAE's $q_\phi(z\mid x_i) = \mathcal{N}(\mu_i, \sigma_i^2)$ has full support, so the aggregate is a "
             "mixture of Gaussians with density everywhere",
             "the KL term keeps that mixture where the prior puts its mass: prior samples decode to data-like images"]
    return ordering_drill("holes_order", rng, "The exam's type-1 question: \"why does a VAE have no holes in its latent "
                          "space?\" Put the four steps of the argument in order:", steps,
                          "From the autoencoder's point codes, to their measure-zero aggregate, to the VAE's Gaussians "
                          "with full support, to the KL term that places them under the prior.", hard)


def _regulariser(rng: random.Random, hard: bool) -> Drill:
    return choice_drill(
        "regulariser", rng, "What does the variational regulariser (the KL term of a VAE) constrain?",
        "the distribution of the codes: each q(z|x) is pulled towards the prior",
        {"the weights of the network (like weight decay)": "Weight decay acts on the parameters; the KL term acts on "
                                                            "the codes' distribution and never sees the weights directly.",
         "how many code units are non-zero (like a sparse autoencoder)": "That is the sparsity penalty, on the code "
                                                                         "activations; the KL term penalises a "
                                                                         "distribution, not the number of active units.",
         "the input, by corrupting it (like a denoising autoencoder)": "A denoising autoencoder regularises through "
                                                                      "noise on the input; the KL term acts on the codes."},
        "Undercomplete, sparse and denoising autoencoders regularise the *map* x → z (its size, its activations, its "
        "robustness to input noise). The variational regulariser constrains the *distribution* of codes, "
        "$\\mathrm{KL}(q_\\phi(z\\mid x)\\,\\|\\,p(z))$, which is what makes sampling from the prior meaningful.", hard)


# ----------------------------------------------------------------------------- posterior collapse (lecture 08)

def _collapse_define(rng: random.Random, hard: bool) -> Drill:
    part = rng.choice(["symptom", "cause", "fix"])
    if part == "symptom":
        return choice_drill(
            "collapse_symptom", rng, "What is the symptom of posterior collapse in a VAE's training log?",
            "the KL term goes to 0: q(z|x) ≈ p(z) for every x, and the decoder ignores z",
            {"the reconstruction loss goes to 0": "A collapsed VAE reconstructs *badly* from z (it ignores it); the "
                                                  "reconstruction term does not vanish.",
             "the KL term grows without bound": "An unbounded KL is the opposite problem (an encoder that is too "
                                                "certain, σ → 0).",
             "the encoder's variances go to 0": "σ → 0 makes the KL large; collapse sends q(z|x) to the prior, σ → 1."},
            "Collapse: the decoder models $x$ without $z$, so the cheapest ELBO sets "
            "$q_\\phi(z\\mid x) = p(z)$ for all $x$: KL = 0, and $z$ carries no information about $x$.", hard)
    if part == "cause":
        return choice_drill(
            "collapse_cause", rng, "What causes posterior collapse (exam notes, problem type 3)?",
            "a decoder strong enough to model x without z (e.g. autoregressive), so the KL's cost outweighs what z adds",
            {"a learning rate that is too large": "That causes divergence, not collapse: collapse is a stable optimum "
                                                   "of the ELBO.",
             "too few latent dimensions": "Fewer dimensions limit what z can carry, but collapse happens at any latent "
                                          "size when the decoder does not need z.",
             "β smaller than 1": "A smaller β makes information in z *cheaper*; a larger β encourages collapse."},
            "Every nat of information in $z$ costs a nat of KL. If the decoder can explain $x$ alone, $z$ is not worth "
            "it and the optimum ignores it.", hard)
    return choice_drill(
        "collapse_fix", rng, "Which of these is a remedy for posterior collapse?",
        "free bits: do not penalise each latent dimension's KL below a threshold λ",
        {"a more powerful decoder": "A stronger decoder needs z *less*: it is the cause, not the cure.",
         "a larger β": "β > 1 makes information in z more expensive and pushes towards collapse.",
         "removing the KL term": "Without the KL term the model is an autoencoder: no collapse, but no prior to "
                                 "sample from either."},
        "The notes' remedies: KL annealing (start with β ≈ 0, raise it), free bits "
        r"($\sum_j \max(\lambda, \mathrm{KL}_j)$), and a weaker decoder (a smaller receptive field, or no view of "
        "previous pixels).", hard)


def _free_bits(rng: random.Random, hard: bool) -> Drill:
    d = rng.randint(4, 6) if hard else rng.randint(3, 4)
    lam = rng.choice([sp.Rational(1, 4), sp.Rational(1, 2), sp.Integer(1)])
    kls = [pick_decimal(rng, 0, 3, 0.05 if hard else 0.25) for _ in range(d)]
    if all(k >= lam for k in kls):
        kls[0] = sp.Integer(0)
    exact = sum(sp.Max(lam, k) for k in kls)
    answer = float(exact)
    question = (f"A VAE with {d} latent dimensions is trained with free bits, threshold $\\lambda = {tex(lam)}$ nats per "
                f"dimension. For one batch the per-dimension KLs are ${', '.join(tex(k) for k in kls)}$ nats. What KL "
                "penalty enters the loss (β = 1), in nats?")
    lines = [("Free bits replaces each dimension's KL by $\\max(\\lambda, \\mathrm{KL}_j)$: below λ a dimension's "
              "information is free, so the optimiser gains nothing by pushing it to 0.",
              r"\sum_j \max(\lambda, \mathrm{KL}_j) = " + " + ".join(rf"\max({tex(lam)}, {tex(k)})" for k in kls)),
             ("Evaluate:", " + ".join(tex(sp.Max(lam, k)) for k in kls) + f" = {tex(exact)}")]
    mistakes = [("free_bits_plain_sum", float(sum(kls))), ("free_bits_min", float(sum(sp.Min(lam, k) for k in kls))),
                ("free_bits_clamped_zero", float(sum(sp.Max(k - lam, 0) for k in kls)))]
    return Drill("free_bits", "hard" if hard else "easy", question, exact, answer, "nats",
                 solution_markdown(lines, exact, answer, "nats"),
                 {"free_bits": num(lam), "kl_per_dim": [num(k) for k in kls]}, [], mistakes)


# ----------------------------------------------------------------------------- β-VAE (lecture 07)

def _beta_loss(rng: random.Random, hard: bool) -> Drill:
    distortion = pick_decimal(rng, 60, 140, 0.1 if hard else 1)
    rate = pick_decimal(rng, 8, 40, 0.1 if hard else 1)
    beta = rng.choice([sp.Rational(1, 4), sp.Rational(1, 2), sp.Integer(2), sp.Integer(4)])
    exact = distortion + beta * rate
    answer = float(exact)
    question = (f"A β-VAE with $\\beta = {tex(beta)}$ has, on one image, distortion $-\\mathbb{{E}}_q[\\log p_\\theta(x\\mid z)] "
                f"= {tex(distortion)}$ nats and rate $\\mathrm{{KL}}(q_\\phi(z\\mid x)\\,\\|\\,p(z)) = {tex(rate)}$ nats. What "
                "is its training loss on that image, in nats?")
    lines = [("The β-VAE loss weights the rate by β (lecture 07):", r"\mathcal{L}_\beta = D + \beta R"),
             ("Put in the numbers:", rf"{tex(distortion)} + {tex(beta)} \cdot {tex(rate)} = {tex(exact)}"),
             ("β = 1 gives back the negative ELBO; β > 1 buys a lower rate with a higher distortion.", "")]
    mistakes = [("beta_on_distortion", float(beta * distortion + rate)), ("beta_ignored", float(distortion + rate)),
                ("sign_slip", float(distortion - beta * rate))]
    return Drill("beta_loss", "hard" if hard else "easy", question, exact, answer, "nats",
                 solution_markdown(lines, exact, answer, "nats"),
                 {"beta": num(beta), "distortion": num(distortion), "rate": num(rate)}, [], mistakes)


def _beta_effect(rng: random.Random, hard: bool) -> Drill:
    return choice_drill(
        "beta_effect", rng, "You retrain a VAE with a larger β (everything else equal). What do you expect?",
        "the rate (KL) falls and the distortion (reconstruction loss) rises: blurrier reconstructions",
        {"sharper reconstructions": "A larger β makes information in z more expensive, so reconstructions get "
                                    "*blurrier*; the lecture notes' \"β > 1 sharp\" is corrected in lecture 07.",
         "both the rate and the distortion fall": "β moves the model along a trade-off: one goes down, the other up.",
         "the rate rises": "β multiplies the rate in the loss: a larger β pushes the rate *down*."},
        r"$\mathcal{L}_\beta = D + \beta R$: increasing β raises the price of rate, so the optimum moves to a lower rate "
        "and a higher distortion (lecture 07's rate–distortion curve).", hard)


# ----------------------------------------------------------------------------- VQ-VAE (lecture 09)

def _vq_rate(rng: random.Random, hard: bool) -> Drill:
    side = rng.choice([4, 5, 6, 8, 16] if hard else [4, 8])
    codes = rng.choice([16, 32, 256, 512, 1024] if hard else [16, 32, 256])
    unit = rng.choice(["bits", "nats"]) if hard else "bits"
    exact_bits = side * side * sp.log(codes, 2)
    exact = sp.nsimplify(exact_bits) if unit == "bits" else side * side * sp.log(codes)
    answer = float(exact)
    question = (f"A VQ-VAE encodes an image as a {side}×{side} grid of indices into a codebook of $K = {codes}$ "
                f"codes. With a uniform prior over the codes, what is the rate of one image "
                + ("in **bits**?" if unit == "bits" else "in nats?"))
    lines = [("The posterior is one-hot on the chosen codes, so its KL against the uniform prior is $\\log K$ per grid "
              "cell, and the cells add up:", rf"R = H\cdot W \cdot \log K = {side}\cdot{side}\cdot\log {codes}"),
             ("Evaluate:", rf"R = {sp.latex(exact)}\text{{ {unit}}}")]
    other = float(side * side * math.log(codes)) if unit == "bits" else float(side * side * math.log2(codes))
    mistakes = [("vq_one_cell", answer / (side * side)), ("vq_codes_not_log", float(side * side * codes)),
                ("gave_nats" if unit == "bits" else "gave_bits", other)]
    return Drill("vq_rate", "hard" if hard else "easy", question, exact, answer, unit,
                 solution_markdown(lines, exact, answer, unit), {"grid": [side, side], "num_codes": codes}, [], mistakes)


def _vq_losses(rng: random.Random, hard: bool) -> Drill:
    which = rng.choice(["codebook", "commitment"])
    if which == "codebook":
        return choice_drill(
            "vq_codebook_loss", rng, r"In a VQ-VAE, what does the codebook loss $\lVert \mathrm{sg}[z_e(x)] - e_k\rVert^2$ train?",
            "the chosen codes e_k: it moves each one towards the encoder outputs assigned to it",
            {"the encoder, to stay close to its codes": "That is the commitment loss ‖z_e − sg[e]‖²: the stop-gradient "
                                                        "sits on the other side.",
             "nothing: the reconstruction loss trains the codebook through the straight-through estimator":
                 "The straight-through copy passes the decoder's gradient to z_e, the encoder output, never to the "
                 "codebook (the code was chosen by an argmin).",
             "every code, chosen or not": "Only chosen codes appear in the loss; codes that are never chosen get no "
                                          "gradient (dead codes, lecture 09)."},
            "sg[·] stops the gradient to $z_e$, so this loss only moves $e_k$: a k-means step by gradient descent.", hard)
    return choice_drill(
        "vq_commitment_loss", rng, r"In a VQ-VAE, what does the commitment loss $\beta_c\lVert z_e(x) - \mathrm{sg}[e_k]\rVert^2$ do?",
        "it keeps the encoder outputs close to their chosen codes, which nothing else would bound",
        {"it moves the codes towards the encoder outputs": "That is the codebook loss; here sg[·] stops the gradient to "
                                                           "the code, so only the encoder moves.",
         "it is the KL term of the VQ-VAE": "With a uniform prior the KL is the constant log K per cell and drops out of "
                                            "training; the commitment loss is not a KL.",
         "it revives dead codes": "Dead codes get no gradient from either loss; they need a remedy such as re-seeding."},
        "The encoder could drift away from the codebook freely (the reconstruction gradient does not stop it); the "
        "commitment loss, with sg[·] on the code, pulls the encoder back.", hard)


def _vq2_levels(rng: random.Random, hard: bool) -> Drill:
    return choice_drill(
        "vq2_levels", rng, "VQ-VAE-2 on 256×256 images has two levels of codes. Which statement is right?",
        "the top level is a 32×32 grid and holds the coarse, global structure; the bottom level is 64×64 and holds the "
        "fine detail",
        {"the top level is a 64×64 grid of coarse features, the bottom one a 32×32 grid of fine details":
             "That is the lecture notes' swap: a grid with more cells gives each code a *smaller* patch (4×4 pixels "
             "for 64×64), so it is the fine one.",
         "there are three levels: top, middle and bottom": "The 256×256 model has two levels; a third appears only in "
                                                         "the paper's 1024×1024 model.",
         "both levels hold the same information at two resolutions, for redundancy": "The levels split the work: the "
                                                                                     "bottom level adds detail the top "
                                                                                     "one lacks."},
        "Downsampling by 4 gives the bottom grid, 64×64 (each code summarises 4×4 pixels); downsampling that by 2 again "
        "gives the top grid, 32×32 (8×8 pixels per code). The coarser grid holds global shape; the finer one detail. "
        "A prior (PixelCNN) is learned over the codes of each level to generate.", hard)


# ----------------------------------------------------------------------------- conditional VAE (lecture 10)

def _cvae_parts(rng: random.Random, hard: bool) -> Drill:
    return choice_drill(
        "cvae_parts", rng, "In a conditional VAE with label y, which distributions see y?",
        "the encoder q(z|x, y) and the decoder p(x|z, y) (the prior may also depend on y)",
        {"only the decoder p(x|z, y)": "The encoder sees y too: then z need not encode the label and can hold the style.",
         "only the encoder q(z|x, y)": "A decoder that does not see y cannot be told which class to draw.",
         "only the prior p(z|y)": "Conditioning only the prior would not let the decoder use y directly; the standard "
                                  "CVAE conditions encoder and decoder."},
        "The conditional ELBO is $\\mathbb{E}_{q_\\phi(z\\mid x,y)}[\\log p_\\theta(x\\mid z,y)] - "
        "\\mathrm{KL}(q_\\phi(z\\mid x,y)\\,\\|\\,p(z\\mid y))$: y enters both networks, so z is free to encode what "
        "y does not say (style).", hard)


def _cvae_kl(rng: random.Random, hard: bool) -> Drill:
    m_y = sp.Integer(rng.choice([-2, -1, 1, 2, 3]))
    m = pick_decimal(rng, -3, 3, 0.1 if hard else 0.5, avoid={m_y})
    s = pick_decimal(rng, 0.3, 2, 0.1) if hard else rng.choice([sp.Rational(1, 2), sp.Integer(1), sp.Integer(2)])
    exact = kl_normal_exact(m, s, m_y, 1)
    answer = float(exact)
    assert abs(answer - kl_normal(num(m), num(s), num(m_y), 1.0)) < 1e-9
    question = (f"A conditional VAE uses a class-dependent prior $p(z\\mid y) = \\mathcal{{N}}(m_y, 1)$ with $m_y = {tex(m_y)}$ "
                f"for this image's class. Its encoder outputs $q_\\phi(z\\mid x, y) = \\mathcal{{N}}({tex(m)}, {tex(s)}^2)$. "
                "Compute the KL term $\\mathrm{KL}(q_\\phi(z\\mid x,y)\\,\\|\\,p(z\\mid y))$ in nats.")
    lines = [("The general Gaussian KL (lecture 01) with $\\mu_2 = m_y$, $\\sigma_2 = 1$:",
              r"\mathrm{KL} = \log\frac{\sigma_2}{\sigma_1} + \frac{\sigma_1^2 + (\mu_1-\mu_2)^2}{2\sigma_2^2} - \frac12"),
             ("Put in the numbers:", rf"\mathrm{{KL}} = {sp.latex(exact)} \approx {answer:.4f}")]
    mistakes = [("prior_mean_ignored", kl_normal(num(m), num(s))), ("sign_slip", -answer),
                ("half_forgotten", 2 * answer), ("wrong_direction", kl_normal(num(m_y), 1.0, num(m), num(s)))]
    return Drill("cvae_kl", "hard" if hard else "easy", question, exact, answer, "nats",
                 solution_markdown(lines, exact, answer, "nats"),
                 {"mu1": num(m), "sigma1": num(s), "mu2": num(m_y), "sigma2": 1.0}, [], mistakes)


# ----------------------------------------------------------------------------- the generative-model family (lecture 11)

_FAMILY = {   # property -> the family that has it
    "generates one pixel at a time, each conditioned on the previous ones (slow, sequential sampling)": "autoregressive model",
    "is a bijection: its latent has the same dimension as the data, and log p(x) is exact": "normalizing flow",
    "trains a generator against a discriminator, with no likelihood and no encoder": "GAN",
    "generates by undoing a gradual noising process over many steps": "diffusion model",
    "has a compressed latent space (d ≪ D), an encoder, and a lower bound on log p(x)": "VAE",
}
_FAMILY_WHY = {
    "autoregressive model": "the chain rule p(x) = Π p(x_i | x_<i): exact likelihood, sequential sampling.",
    "normalizing flow": "an invertible map with a tractable Jacobian: exact likelihood, but no compression.",
    "GAN": "an adversarial game: sharp samples, no likelihood, no encoder.",
    "diffusion model": "a learned reverse of a fixed noising chain: many network evaluations per sample.",
    "VAE": "an encoder to a small latent space, a decoder, and the ELBO: fast parallel sampling, a bound on log p(x).",
}


def _family(rng: random.Random, hard: bool) -> Drill:
    prop = rng.choice(sorted(_FAMILY))
    right = _FAMILY[prop]
    wrong = {fam: f"No: the {fam} is built on {_FAMILY_WHY[fam]}" for fam in rng.sample(
        [f for f in _FAMILY_WHY if f != right], 3)}
    return choice_drill("model_family", rng, f"Which family of generative models {prop}?", right, wrong,
                        f"The {right}: {_FAMILY_WHY[right]}", hard, {"property": prop})


def _bits_per_dim(rng: random.Random, hard: bool) -> Drill:
    nll = pick_decimal(rng, 70, 110, 0.1 if hard else 1)
    side = rng.choice([28, 32]) if hard else 28
    dims = side * side
    exact = nll / (dims * sp.log(2))
    answer = float(exact)
    question = (f"A model reports a negative log-likelihood of ${tex(nll)}$ nats per {side}×{side} gray-level image. "
                "Papers on larger images report **bits per dimension**: what is this figure in bits per dimension?")
    lines = [("Divide by the number of dimensions (pixels) and convert nats to bits:",
              rf"\frac{{{tex(nll)}}}{{{dims}\cdot\ln 2}} \approx {answer:.4f}\text{{ bits per dimension}}")]
    mistakes = [("gave_nats", float(nll) / dims), ("bpd_per_image", float(nll) / math.log(2)),
                ("bpd_times_ln2", float(nll) * math.log(2) / dims)]
    return Drill("bits_per_dim", "hard" if hard else "easy", question, exact, answer, "bits",
                 solution_markdown(lines, exact, answer, "bits"), {"nll_nats": num(nll), "dims": dims}, [], mistakes)


# ----------------------------------------------------------------------------- KL (lecture 01): the existing drills

def _kl(rng: random.Random, hard: bool) -> Drill:
    kind = rng.choice(list(KINDS))
    unit = "bits" if hard and rng.random() < 0.25 else "nats"
    return KINDS[kind](rng, hard, unit)


TOPICS: dict[str, Topic] = {
    "kl": Topic("KL divergence", "notebooks/01_entropy_and_kl.ipynb",
                "the Gaussian KL, derived in SymPy; KL is not symmetric", (_kl,)),
    "elbo": Topic("the ELBO and the IWAE bound", "notebooks/03_elbo.ipynb",
                  "two derivations of the ELBO; the importance-weighted bound (IWAE)",
                  (_elbo_value, _elbo_gap, _iwae, _elbo_parts, _elbo_order)),
    "reparameterization": Topic("the reparameterization trick", "notebooks/04_reparameterization.ipynb",
                                "sampling blocks gradients; the trick z = μ + σ·ε", (_reparam_sigma, _reparam_why)),
    "autoencoders": Topic("autoencoders vs VAEs (holes)", "notebooks/02_autoencoders_vs_vaes.ipynb",
                          "the autoencoder family; the two latent spaces and their holes",
                          (_holes_why, _holes_order, _regulariser)),
    "posterior_collapse": Topic("posterior collapse", "notebooks/08_posterior_collapse.ipynb",
                                "diagnostics; KL annealing, free bits and a weaker decoder", (_collapse_define, _free_bits)),
    "beta_vae": Topic("β-VAE and rate–distortion", "notebooks/07_beta_vae.ipynb", "β as a rate–distortion knob",
                      (_beta_loss, _beta_effect)),
    "vq_vae": Topic("VQ-VAE and VQ-VAE-2", "notebooks/09_vq_vae.ipynb",
                    "the two stop-gradients; the rate comparison; VQ-VAE-2", (_vq_rate, _vq_losses, _vq2_levels)),
    "conditional_vae": Topic("the conditional VAE", "notebooks/10_conditional_vae.ipynb",
                             "q(z|x, y) and p(x|z, y)", (_cvae_parts, _cvae_kl)),
    "generative_models": Topic("the generative-model family", "notebooks/11_generative_models.ipynb",
                               "the VAE beside autoregressive models, flows, GANs and diffusion", (_family, _bits_per_dim)),
}

#: the notes' problem type of each question kind (the KL drills are 'compute', their concept checks 'explain')
_TYPE_OF = {"elbo_value": "components", "elbo_gap": "compute", "iwae": "compute", "elbo_parts": "components",
            "elbo_order": "explain", "reparam_sigma": "components", "reparam_why": "explain", "holes_why": "explain",
            "holes_order": "explain", "regulariser": "components", "collapse_symptom": "define",
            "collapse_cause": "define", "collapse_fix": "define", "free_bits": "compute", "beta_loss": "compute",
            "beta_effect": "explain", "vq_rate": "compute", "vq_codebook_loss": "components",
            "vq_commitment_loss": "components", "vq2_levels": "define", "cvae_parts": "components", "cvae_kl": "compute",
            "model_family": "define", "bits_per_dim": "compute", "concept": "explain"}


def _topic_order(seed: int) -> list[str]:
    order = list(TOPICS)
    random.Random(f"vae-course-exam-order/{seed}").shuffle(order)
    return order


def exam_question(seed: int, index: int, topics=None) -> Drill:
    """Question ``index`` of the mock exam ``seed`` (the same question whatever n is asked for).

    Topics cycle in a seed-dependent order, so any ``len(topics)`` consecutive questions cover every topic.
    """
    for name, v in (("seed", seed), ("index", index)):
        if isinstance(v, bool) or not isinstance(v, int) or (name == "index" and v < 0):
            raise ValueError(f"{name} must be {'a non-negative ' if name == 'index' else 'an '}integer, got {v!r}")
    order = [t for t in _topic_order(seed) if topics is None or t in topics]
    topic = order[index % len(order)]
    rng = random.Random(f"vae-course-exam/{seed}/{index}")
    hard = rng.random() < 0.5
    drill = rng.choice(TOPICS[topic].makers)(rng, hard)
    drill.id = f"exam-{seed}-{index}"
    drill.topic = topic
    drill.problem_type = _TYPE_OF.get(drill.kind, "compute")
    return drill


def exam(n: int = DEFAULT_EXAM_N, seed: int = 0, topics=None) -> list[Drill]:
    """A mock exam of ``n`` questions (at most :data:`~vae_course.drills.make.MAX_N`) across ``topics``
    (names from :data:`TOPICS`, a list or a comma-separated string; None = all)."""
    check_n_and_seed(n, seed)
    if isinstance(topics, str):
        topics = [t.strip() for t in topics.split(",") if t.strip()]
    if topics is not None:
        unknown = [t for t in topics if t not in TOPICS]
        if unknown or not topics:
            raise ValueError(f"unknown topic(s) {unknown or topics!r}; choose from {', '.join(TOPICS)}")
    return [exam_question(seed, i, topics) for i in range(n)]

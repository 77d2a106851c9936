"""Gaussian KL drills: N(μ,σ²)‖N(0,1), the reverse direction, two general Gaussians, the diagonal
Gaussian against N(0, I), and the KL term of a VAE loss on a tiny batch.

Exact answers come from :func:`vae_course.symbolic.kl_normal_expr` / :func:`~vae_course.symbolic.kl_diag_expr`,
worked solutions from the lecture-01 derivations with the numbers substituted
(:func:`~vae_course.symbolic.substitute_steps`), and every answer is checked against the float
implementation in :mod:`vae_course.info` before the drill is handed out.
"""
from __future__ import annotations

import math
import random

import numpy as np
import sympy as sp

from .. import symbolic as S
from ..info import kl_diag_gaussian, kl_normal
from ..symbolic import Step, substitute_steps
from .core import Drill, cached_steps, kl_normal_exact, num, pick_decimal, solution_markdown, tex, to_unit

__all__ = ["standard_normal", "reverse", "two_gaussians", "diagonal", "vae_batch"]

SIG, SIG1, SIG2 = r"\sigma", r"\sigma_1", r"\sigma_2"
KL_STD = r"\mathrm{KL}\big(\mathcal{N}(\mu,\sigma^2)\,\|\,\mathcal{N}(0,1)\big)"


# ----------------------------------------------------------------------------- shared pieces

def _plug(r) -> str:
    """A number put in place of a symbol: negatives and fractions in parentheses."""
    s = tex(r)
    return rf"\left({s}\right)" if s.startswith("-") or "frac" in s else s


def _check_float(exact: sp.Expr, reference: float, what: str) -> float:
    value = float(exact)
    if not math.isclose(value, reference, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"{what}: SymPy gives {value!r}, vae_course.info gives {reference!r}")
    return value


def _unit_step(steps: list[Step], exact_nats: sp.Expr, unit: str) -> sp.Expr:
    """Append the nats → bits conversion when the drill asks for bits; return the exact answer."""
    if unit == "bits":
        exact = exact_nats / sp.log(2)
        steps.append(Step("in bits: divide by ln 2", r"\mathrm{KL}\ [\text{bits}]", exact, same_as_previous=False))
        return exact
    return exact_nats


def _unit_lines(exact_nats: sp.Expr, unit: str) -> list[tuple[str, str]]:
    if unit != "bits":
        return []
    return [("The question asks for bits: divide the value in nats by $\\ln 2$.",
             rf"\frac{{{sp.latex(exact_nats)}}}{{\ln 2}} \approx \frac{{{float(exact_nats):.4f}}}{{0.6931}}")]


def _unit_phrase(unit: str) -> str:
    return "in **bits** (log base 2)" if unit == "bits" else "in nats (natural log)"


def _k(m: float, v: float, log=math.log) -> float:
    """½(μ² + v − log v − 1): one dimension of KL(N(μ, v)‖N(0,1)) with v the variance."""
    return 0.5 * (m * m + v - log(v) - 1)


def _general(m1, s1, m2, s2, log=math.log) -> float:
    return log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def _std_mistakes(ms, vs, combine=sum) -> list[tuple[str, float]]:
    """Typical slips in Σ_j ½(μ_j² + σ_j² − log σ_j² − 1) (nats), each as the value it produces."""
    def over(f):
        return combine([f(m, v) for m, v in zip(ms, vs)])
    sd = [math.sqrt(v) for v in vs]
    sig = lambda g: combine([g(m, s) for m, s in zip(ms, sd)])  # noqa: E731
    return [
        ("sigma_for_variance", sig(lambda m, s: 0.5 * (m * m + s - math.log(s) - 1))),
        ("sigma_for_variance", sig(lambda m, s: 0.5 * (m * m + s * s - math.log(s) - 1))),
        ("sigma_for_variance", sig(lambda m, s: 0.5 * (m * m + s - math.log(s * s) - 1))),
        ("half_forgotten", over(lambda m, v: 2 * _k(m, v))),
        ("sign_slip", over(lambda m, v: 0.5 * (m * m + v + math.log(v) - 1))),
        ("sign_slip", over(lambda m, v: 0.5 * (m * m + v - math.log(v) + 1))),
        ("wrong_direction", over(lambda m, v: _general(0.0, 1.0, m, math.sqrt(v)))),
        ("log10", over(lambda m, v: _k(m, v, math.log10))),
    ]


def _general_mistakes(m1, s1, m2, s2) -> list[tuple[str, float]]:
    d2 = (m1 - m2) ** 2
    return [
        ("sigma_for_variance", math.log(s2 / s1) + (s1 + d2) / (2 * s2) - 0.5),
        ("sigma_for_variance", math.log(s2**2 / s1**2) + (s1**2 + d2) / (2 * s2**2) - 0.5),
        ("half_forgotten", math.log(s2 / s1) + (s1**2 + d2) / s2**2 - 0.5),
        ("half_forgotten", math.log(s2 / s1) + (s1**2 + d2) / (2 * s2**2)),
        ("sign_slip", math.log(s1 / s2) + (s1**2 + d2) / (2 * s2**2) - 0.5),
        ("sign_slip", math.log(s2 / s1) + (s1**2 + d2) / (2 * s2**2) + 0.5),
        ("wrong_direction", _general(m2, s2, m1, s1)),
        ("log10", _general(m1, s1, m2, s2, math.log10)),
    ]


def _finish_mistakes(mistakes, value_nats: float, unit: str) -> list[tuple[str, float]]:
    """Convert the slips to the drill's unit and add the whole-answer slips (sign, ½, log base)."""
    out = [(name, to_unit(v, unit)) for name, v in mistakes]
    answer = to_unit(value_nats, unit)
    out += [("sign_slip", -answer), ("half_forgotten", 2 * answer)]
    out.append(("gave_nats", value_nats) if unit == "bits" else ("gave_bits", value_nats / math.log(2)))
    return out


def _sigma_phrase(name: str, s, give_variance: bool) -> str:
    """'σ = 2' or 'σ² = 4' (a tutor sometimes gives the variance to see if you notice)."""
    if give_variance:
        return f"${name}^2 = {tex(s**2)}$ (the variance)"
    return f"${name} = {tex(s)}$ (the standard deviation)"


def _easy_pair(rng: random.Random) -> tuple[sp.Rational, sp.Rational]:
    while True:
        m = sp.Integer(rng.choice([-3, -2, -1, 0, 1, 2, 3, 4, 6]))
        s = rng.choice([sp.Rational(1, 2), sp.Integer(1), sp.Integer(2), sp.Integer(3), sp.Integer(4)])
        if (m, s) != (0, 1):
            return m, s


def _hard_pair(rng: random.Random) -> tuple[sp.Rational, sp.Rational]:
    return pick_decimal(rng, -4, 4, 0.1), pick_decimal(rng, 0.2, 3.5, 0.1, avoid={1})


# ----------------------------------------------------------------------------- kind 1

def standard_normal(rng: random.Random, hard: bool, unit: str, mu=None, sigma=None) -> Drill:
    """KL(N(μ, σ²) ‖ N(0, 1)) — the homework's kind (μ = 6, σ = 4 in lecture 01); μ, σ may be given."""
    m, s = _hard_pair(rng) if hard else _easy_pair(rng)
    if mu is not None or sigma is not None:
        m, s = sp.nsimplify(mu if mu is not None else m), sp.nsimplify(sigma if sigma is not None else s)
        if not s > 0:
            raise ValueError(f"sigma must be > 0 (a standard deviation), got {sigma!r}")
    give_var = hard and rng.random() < 0.5
    question = (f"The encoder's posterior for one image is $q_\\phi(z\\mid x) = \\mathcal{{N}}(\\mu, \\sigma^2)$ "
                f"with $\\mu = {tex(m)}$ and {_sigma_phrase(SIG, s, give_var)}; the prior is "
                f"$p(z) = \\mathcal{{N}}(0, 1)$. Compute ${KL_STD}$ {_unit_phrase(unit)}.")
    derivation = list(cached_steps("standard_normal"))
    steps = substitute_steps(derivation, {S.mu: m, S.sigma: s})
    exact_nats = kl_normal_exact(m, s, 0, 1)
    value_nats = _check_float(exact_nats, kl_normal(num(m), num(s)), "kl_standard_normal")
    exact = _unit_step(steps, exact_nats, unit)
    lines = [("The closed form, from lecture 01's derivation (general Gaussian KL with $\\mu_2 = 0$, $\\sigma_2 = 1$):",
              S.steps_latex(derivation))]
    if give_var:
        lines.append((f"The question gives the variance: $\\sigma^2 = {tex(s**2)}$, so $\\sigma = {tex(s)}$ — "
                      "the formula needs $\\sigma^2$ and $\\log\\sigma^2$ directly.", ""))
    plug = sp.latex(derivation[-1].expr, symbol_names={S.mu: _plug(m), S.sigma: _plug(s)})
    lines += [(f"Put in $\\mu = {tex(m)}$, $\\sigma = {tex(s)}$:", rf"{KL_STD} = {plug}"),
              ("Evaluate:", rf"{KL_STD} = {sp.latex(steps[2].expr)} \approx {value_nats:.4f}\text{{ nats}}")]
    lines += _unit_lines(exact_nats, unit)
    answer = float(exact)
    return Drill("kl_standard_normal", "hard" if hard else "easy", question, exact, answer, unit,
                 solution_markdown(lines, exact, answer, unit), {"mu": num(m), "sigma": num(s)}, steps,
                 _finish_mistakes(_std_mistakes([num(m)], [num(s) ** 2]), value_nats, unit))


# ----------------------------------------------------------------------------- kinds 2 and 3

def _gaussian_drill(kind: str, hard: bool, unit: str, m1, s1, m2, s2, question: str, pre_lines) -> Drill:
    closed = cached_steps("gaussian")[-1]
    values = {S.mu1: m1, S.sigma1: s1, S.mu2: m2, S.sigma2: s2}
    steps = substitute_steps([closed], values)
    exact_nats = kl_normal_exact(m1, s1, m2, s2)
    value_nats = _check_float(exact_nats, kl_normal(num(m1), num(s1), num(m2), num(s2)), kind)
    exact = _unit_step(steps, exact_nats, unit)
    names = {S.mu1: _plug(m1), S.sigma1: _plug(s1), S.mu2: _plug(m2), S.sigma2: _plug(s2)}
    lhs = r"\mathrm{KL}(p\,\|\,q)"
    lines = list(pre_lines) + [
        ("The closed form (lecture 01, last step of the SymPy derivation from the definition):",
         f"{closed.lhs} = {sp.latex(closed.expr)}"),
        (f"Put in $\\mu_1 = {tex(m1)}$, $\\sigma_1 = {tex(s1)}$, $\\mu_2 = {tex(m2)}$, $\\sigma_2 = {tex(s2)}$:",
         f"{lhs} = {sp.latex(closed.expr, symbol_names=names)}"),
        ("Evaluate:", rf"{lhs} = {sp.latex(exact_nats)} \approx {value_nats:.4f}\text{{ nats}}"),
    ] + _unit_lines(exact_nats, unit)
    answer = float(exact)
    params = {"mu1": num(m1), "sigma1": num(s1), "mu2": num(m2), "sigma2": num(s2)}
    return Drill(kind, "hard" if hard else "easy", question, exact, answer, unit,
                 solution_markdown(lines, exact, answer, unit), params, steps,
                 _finish_mistakes(_general_mistakes(*params.values()), value_nats, unit))


def reverse(rng: random.Random, hard: bool, unit: str) -> Drill:
    """The reverse direction KL(N(0, 1) ‖ N(μ, σ²)): the prior measured against the posterior."""
    m, s = _hard_pair(rng) if hard else _easy_pair(rng)
    question = (f"Now the other direction. With $\\mu = {tex(m)}$ and $\\sigma = {tex(s)}$, compute "
                r"$\mathrm{KL}\big(\mathcal{N}(0,1)\,\|\,\mathcal{N}(\mu,\sigma^2)\big)$ "
                f"{_unit_phrase(unit)}. (Careful: this is *not* the VAE's KL term.)")
    pre = [("Here $p = \\mathcal{N}(0, 1)$ comes first, so $\\mu_1 = 0$, $\\sigma_1 = 1$ and "
            f"$q = \\mathcal{{N}}({tex(m)}, {tex(s)}^2)$ gives $\\mu_2$, $\\sigma_2$.", "")]
    return _gaussian_drill("kl_reverse", hard, unit, sp.Integer(0), sp.Integer(1), m, s, question, pre)


def two_gaussians(rng: random.Random, hard: bool, unit: str) -> Drill:
    """KL between two general univariate Gaussians."""
    if hard:
        m1, s1 = _hard_pair(rng)
        m2, s2 = pick_decimal(rng, -3, 3, 0.5), pick_decimal(rng, 0.5, 3, 0.25)
    else:
        m1, m2 = (sp.Integer(rng.randint(-3, 3)) for _ in range(2))
        s1, s2 = (rng.choice([sp.Rational(1, 2), sp.Integer(1), sp.Integer(2), sp.Integer(3)]) for _ in range(2))
        if (m1, s1) == (m2, s2):
            m2 += 1
    give_var = hard and rng.random() < 0.5
    question = (f"Let $p = \\mathcal{{N}}(\\mu_1, \\sigma_1^2)$ with $\\mu_1 = {tex(m1)}$, "
                f"{_sigma_phrase(SIG1, s1, give_var)}, and $q = \\mathcal{{N}}(\\mu_2, \\sigma_2^2)$ with "
                f"$\\mu_2 = {tex(m2)}$, {_sigma_phrase(SIG2, s2, give_var)}. "
                f"Compute $\\mathrm{{KL}}(p\\,\\|\\,q)$ {_unit_phrase(unit)}.")
    pre = [(f"The variances are given: take square roots, $\\sigma_1 = {tex(s1)}$, $\\sigma_2 = {tex(s2)}$.", "")] \
        if give_var else []
    return _gaussian_drill("kl_two_gaussians", hard, unit, m1, s1, m2, s2, question, pre)


# ----------------------------------------------------------------------------- kinds 4 and 6

def _vector(xs) -> str:
    return r"\big(" + ",\\ ".join(tex(x) for x in xs) + r"\big)"


def _easy_logvar(rng: random.Random) -> sp.Expr:
    return sp.Integer(rng.choice([-2, -1, 0, 0, 1]))


def _per_dimension(mus, spreads, given: str) -> str:
    """One line per latent dimension: the d = 1 form of lecture 01's diagonal KL with the numbers in."""
    one = cached_steps("diag", 1)
    form = one[1] if given == "sigma" else one[2]
    (m_sym,) = one[0].extra["mus"]
    (s_sym,) = one[0].extra["sigmas"] if given == "sigma" else one[2].extra["logvars"]
    rows = []
    for j, (m, s) in enumerate(zip(mus, spreads), 1):
        plug = sp.latex(form.expr, symbol_names={m_sym: _plug(m), s_sym: _plug(s)})
        value = form.expr.subs({m_sym: m, s_sym: s})
        rows.append(rf"\mathrm{{KL}}_{{{j}}} &= {plug} = {sp.latex(value)} \approx {float(value):.4f}")
    return r"\begin{aligned}" + r"\\ ".join(rows) + r"\end{aligned}"


def diagonal(rng: random.Random, hard: bool, unit: str) -> Drill:
    """KL(N(μ, diag σ²) ‖ N(0, I)) for d = 2..5, given σ or log σ² (as an encoder outputs it)."""
    d = rng.randint(3, 5) if hard else rng.randint(2, 3)
    given = rng.choice(["sigma", "logvar"]) if hard else rng.choice(["sigma", "sigma", "logvar"])
    if hard:
        mus = [pick_decimal(rng, -2.5, 2.5, 0.1) for _ in range(d)]
        sigmas = [pick_decimal(rng, 0.2, 2.5, 0.1) for _ in range(d)]
        logvars = [pick_decimal(rng, -2, 1.5, 0.1) for _ in range(d)]
    else:
        mus = [sp.Integer(rng.randint(-2, 2)) for _ in range(d)]
        sigmas = [rng.choice([sp.Rational(1, 2), sp.Integer(1), sp.Integer(1), sp.Integer(2)]) for _ in range(d)]
        logvars = [_easy_logvar(rng) for _ in range(d)]
    derivation = cached_steps("diag", d)
    sym_mus = derivation[0].extra["mus"]
    if given == "sigma":
        logvar_exact = [sp.log(s**2) for s in sigmas]
        used = list(derivation[:2])
        values = {**dict(zip(sym_mus, mus)), **dict(zip(derivation[0].extra["sigmas"], sigmas))}
        given_text = f"standard deviations $\\sigma = {_vector(sigmas)}$"
        params = {"mu": [num(m) for m in mus], "sigma": [num(s) for s in sigmas]}
        variances = [num(s) ** 2 for s in sigmas]
    else:
        logvar_exact = logvars
        used = [derivation[2]]
        values = {**dict(zip(sym_mus, mus)), **dict(zip(derivation[2].extra["logvars"], logvars))}
        given_text = f"log-variances $\\log\\sigma^2 = {_vector(logvars)}$ (the `logvar` output)"
        params = {"mu": [num(m) for m in mus], "logvar": [num(lv) for lv in logvars]}
        variances = [math.exp(num(lv)) for lv in logvars]
    question = (f"An encoder with a {d}-dimensional latent space outputs, for one image $x$, the mean "
                f"$\\mu = {_vector(mus)}$ and the {given_text} of a diagonal Gaussian $q_\\phi(z\\mid x)$. "
                f"Compute $\\mathrm{{KL}}\\big(q_\\phi(z\\mid x)\\,\\|\\,\\mathcal{{N}}(0, I)\\big)$ {_unit_phrase(unit)}.")
    steps = substitute_steps(used, values)
    exact_nats = S.kl_diag_expr(mus, logvar_exact)
    ref = kl_diag_gaussian(np.array([num(m) for m in mus]), np.log(np.array(variances)))
    value_nats = _check_float(exact_nats, float(ref), "kl_diagonal")
    exact = _unit_step(steps, exact_nats, unit)
    last = used[-1]
    lines = [("A diagonal Gaussian and $\\mathcal{N}(0, I)$ factorise over dimensions, so the KL is a **sum** of "
              "one-dimensional KLs (lecture 01):", S.steps_latex(used)),
             ("Put in the numbers one dimension at a time:",
              _per_dimension(mus, sigmas if given == "sigma" else logvars, given)),
             ("Add them up:", rf"{last.lhs} = {sp.latex(exact_nats)} \approx {value_nats:.4f}\text{{ nats}}")]
    lines += _unit_lines(exact_nats, unit)
    ms = [num(m) for m in mus]
    mistakes = _std_mistakes(ms, variances)
    mistakes.insert(0, ("averaged", value_nats / d))
    if given == "logvar":
        mistakes.insert(1, ("logvar_as_logsigma", sum(_k(m, math.exp(2 * num(lv))) for m, lv in zip(ms, logvars))))
    answer = float(exact)
    return Drill("kl_diagonal", "hard" if hard else "easy", question, exact, answer, unit,
                 solution_markdown(lines, exact, answer, unit), params, steps,
                 _finish_mistakes(mistakes, value_nats, unit))


def _matrix(rows) -> str:
    return r"\begin{pmatrix}" + r"\\ ".join(" & ".join(tex(x) for x in row) for row in rows) + r"\end{pmatrix}"


def vae_batch(rng: random.Random, hard: bool, unit: str) -> Drill:
    """The KL term of a VAE loss on a tiny batch: mean over the batch of the per-example sums over z."""
    B, d = (rng.randint(2, 3), rng.randint(2, 3)) if hard else (2, 2)
    if hard:
        mu = [[pick_decimal(rng, -2, 2, 0.1) for _ in range(d)] for _ in range(B)]
        lv = [[pick_decimal(rng, -2, 1, 0.1) for _ in range(d)] for _ in range(B)]
    else:
        mu = [[sp.Integer(rng.randint(-2, 2)) for _ in range(d)] for _ in range(B)]
        lv = [[_easy_logvar(rng) for _ in range(d)] for _ in range(B)]
    question = (f"A VAE with a {d}-dimensional latent space sees a batch of {B} images. The encoder outputs "
                f"(one row per image)\n\n$$\n\\texttt{{mu}} = {_matrix(mu)}, \\qquad "
                f"\\texttt{{logvar}} = \\log\\sigma^2 = {_matrix(lv)}.\n$$\n\n"
                "The loss is reported per image (averaged over the batch). What is its KL term, "
                f"$\\frac{{1}}{{B}}\\sum_b \\mathrm{{KL}}\\big(q_\\phi(z\\mid x_b)\\,\\|\\,\\mathcal{{N}}(0, I)\\big)$, "
                f"{_unit_phrase(unit)}?")
    form = cached_steps("diag", d)[2]
    sym_mus, sym_lvs = form.extra["mus"], form.extra["logvars"]
    steps, per_example, lines = [], [], [
        ("Per image, the KL of a diagonal Gaussian is a **sum over latent dimensions** (lecture 01, with "
         "$l_j = \\log\\sigma_j^2$ as the encoder outputs it):", f"{form.lhs} = {sp.latex(form.expr)}")]
    for b in range(B):
        values = {**dict(zip(sym_mus, mu[b])), **dict(zip(sym_lvs, lv[b]))}
        (step,) = substitute_steps([form], values)
        kl_b = S.kl_diag_expr(mu[b], lv[b])
        steps.append(Step(f"image {b + 1}", rf"\mathrm{{KL}}_{b + 1}", step.expr, same_as_previous=False))
        per_example.append(kl_b)
        plug = sp.latex(form.expr, symbol_names={k: _plug(v) for k, v in values.items()})
        lines.append((f"Image {b + 1}:", rf"\mathrm{{KL}}_{b + 1} = {plug} = {sp.latex(kl_b)} \approx {float(kl_b):.4f}"))
    exact_nats = sp.Rational(1, B) * sum(per_example)
    steps.append(Step("the mean over the batch", r"\frac{1}{B}\sum_b \mathrm{KL}_b",
                      sp.Rational(1, B) * sum(s.expr for s in steps), same_as_previous=False))
    mu_f = np.array([[num(x) for x in row] for row in mu])
    lv_f = np.array([[num(x) for x in row] for row in lv])
    value_nats = _check_float(exact_nats, float(np.mean(kl_diag_gaussian(mu_f, lv_f))), "vae_batch")
    exact = _unit_step(steps, exact_nats, unit)
    lines.append((f"The loss averages over the **batch** (not over latent dimensions): divide the sum by $B = {B}$.",
                  rf"\frac{{1}}{{{B}}}\sum_b \mathrm{{KL}}_b = {sp.latex(exact_nats)} \approx {value_nats:.4f}\text{{ nats}}"))
    lines += _unit_lines(exact_nats, unit)
    variances = np.exp(lv_f)
    mistakes = [("batch_sum", value_nats * B), ("averaged", value_nats / d), ("averaged", value_nats / (B * d)),
                ("logvar_as_logsigma", float(np.mean([sum(_k(m, math.exp(2 * l)) for m, l in zip(mr, lr))
                                                      for mr, lr in zip(mu_f, lv_f)])))]
    mistakes += _std_mistakes(mu_f.ravel(), variances.ravel(), combine=lambda xs: sum(xs) / B)
    params = {"mu": mu_f.tolist(), "logvar": lv_f.tolist()}
    answer = float(exact)
    return Drill("vae_batch", "hard" if hard else "easy", question, exact, answer, unit,
                 solution_markdown(lines, exact, answer, unit), params, steps,
                 _finish_mistakes(mistakes, value_nats, unit))

"""Concept checks with a definite answer: which direction is larger, is KL symmetric, when is it
zero (its minimum over μ₂), what it becomes as σ → 0, 1 or ∞.

Choice questions have ``answer`` = the number of the right choice (1, 2, ...) and ``unit`` =
'choice' (it is an option, not a quantity in nats); which one is right is decided by SymPy (exact differences, ``sympy.limit``), never typed in by hand.
"""
from __future__ import annotations

import random

import sympy as sp

from .. import symbolic as S
from ..info import kl_normal
from ..symbolic import Step
from .core import CHOICE_UNIT, Drill, cached_steps, kl_normal_exact, num, pick_decimal, solution_markdown, tex

__all__ = ["concept"]

PQ = r"\mathrm{KL}(p\,\|\,q)"
QP = r"\mathrm{KL}(q\,\|\,p)"


def _choices_md(choices: list[str]) -> str:
    return "\n".join(f"{i}. {c}" for i, c in enumerate(choices, 1)) + \
        "\n\nAnswer with the number of your choice."


def _gauss(m, s) -> str:
    return rf"\mathcal{{N}}({tex(m)}, {tex(s)}^2)"


def _pair(rng: random.Random, hard: bool, equal_var: bool):
    if hard:
        m1, m2 = pick_decimal(rng, -2, 2, 0.5), pick_decimal(rng, -2, 2, 0.5)
        s1 = pick_decimal(rng, 0.5, 3, 0.5)
        s2 = s1 if equal_var else pick_decimal(rng, 0.5, 3, 0.5, avoid={s1})
    else:
        m1, m2 = sp.Integer(0), sp.Integer(rng.choice([0, 1, 2]))
        s1 = sp.Integer(1)
        s2 = s1 if equal_var else rng.choice([sp.Rational(1, 2), sp.Integer(2), sp.Integer(3)])
    if equal_var and m1 == m2:
        m2 += 1
    return m1, s1, m2, s2


def _both(m1, s1, m2, s2):
    a, b = kl_normal_exact(m1, s1, m2, s2), kl_normal_exact(m2, s2, m1, s1)
    lines = [("Compute both directions with the closed form (lecture 01):",
              rf"{PQ} = {sp.latex(a)} \approx {float(a):.4f}, \qquad {QP} = {sp.latex(b)} \approx {float(b):.4f}")]
    return a, b, lines


def _larger(rng, hard):
    while True:
        m1, s1, m2, s2 = _pair(rng, hard, equal_var=rng.random() < 0.25)
        a, b, lines = _both(m1, s1, m2, s2)
        diff = sp.simplify(a - b)
        if diff == 0 or abs(float(diff)) > 0.02:
            break
    right = 3 if diff == 0 else (1 if float(diff) > 0 else 2)
    choices = [f"${PQ}$ is larger", f"${QP}$ is larger", "they are equal"]
    question = (f"Let $p = {_gauss(m1, s1)}$ and $q = {_gauss(m2, s2)}$. Without a calculator if you can: "
                "which direction of the KL divergence is larger?\n\n" + _choices_md(choices))
    tip = ("With equal variances both directions are $(\\mu_1-\\mu_2)^2 / (2\\sigma^2)$: equal. "
           if right == 3 else
           "KL is not symmetric. KL(p‖q) is large when q is **narrow where p has mass**: the log-ratio "
           "$\\log p/q$ blows up where $q$ is tiny. ")
    feedback = {3: "KL is not symmetric: the two directions agree only in special cases (e.g. equal variances).",
                1 if right == 2 else 2: "That is the smaller one: compute both directions with the closed form."}
    if right == 3:
        feedback = {1: "Here both are equal: with equal variances KL reduces to (μ₁−μ₂)²/(2σ²) both ways.",
                    2: "Here both are equal: with equal variances KL reduces to (μ₁−μ₂)²/(2σ²) both ways."}
    params = {"subtype": "larger", "mu1": num(m1), "sigma1": num(s1), "mu2": num(m2), "sigma2": num(s2)}
    steps = [Step("KL(p‖q)", PQ, a, same_as_previous=False), Step("KL(q‖p)", QP, b, same_as_previous=False)]
    return question, choices, right, lines + [(tip, "")], params, steps, feedback, {"equal": 3}


def _symmetric(rng, hard):
    equal_var = rng.random() < 0.5
    m1, s1, m2, s2 = _pair(rng, hard, equal_var)
    a, b, lines = _both(m1, s1, m2, s2)
    right = 1 if sp.simplify(a - b) == 0 else 2
    choices = ["yes", "no"]
    question = (f"Let $p = {_gauss(m1, s1)}$ and $q = {_gauss(m2, s2)}$. Is ${PQ} = {QP}$ here?\n\n"
                + _choices_md(choices))
    tip = ("Yes — a special case: with equal variances both directions equal $(\\mu_1-\\mu_2)^2/(2\\sigma^2)$. "
           "In general KL is **not** symmetric." if right == 1 else
           "No: KL is not symmetric; with different variances the two directions differ.")
    feedback = {2: "Look again: with equal variances the log term vanishes and both directions give (μ₁−μ₂)²/(2σ²).",
                1: "KL is not symmetric in general: compute both directions and compare."}
    params = {"subtype": "symmetric", "mu1": num(m1), "sigma1": num(s1), "mu2": num(m2), "sigma2": num(s2)}
    steps = [Step("KL(p‖q)", PQ, a, same_as_previous=False), Step("KL(q‖p)", QP, b, same_as_previous=False)]
    return question, choices, right, lines + [(tip, "")], params, steps, feedback, {"yes": 1, "no": 2}


def _limit(rng, hard):
    direction = rng.choice(["forward", "reverse"]) if hard else "forward"
    target = rng.choice([0, 1, sp.oo]) if hard else rng.choice([0, 0, 1])
    m = sp.Integer(rng.choice([-2, -1, 1, 2, 3]))
    closed = cached_steps("gaussian")[-1].expr
    if direction == "forward":
        expr = closed.subs({S.mu1: m, S.sigma1: S.sigma, S.mu2: 0, S.sigma2: 1})
        what = rf"\mathrm{{KL}}\big(\mathcal{{N}}({tex(m)}, \sigma^2)\,\|\,\mathcal{{N}}(0,1)\big)"
    else:
        expr = closed.subs({S.mu1: 0, S.sigma1: 1, S.mu2: m, S.sigma2: S.sigma})
        what = rf"\mathrm{{KL}}\big(\mathcal{{N}}(0,1)\,\|\,\mathcal{{N}}({tex(m)}, \sigma^2)\big)"
    lim = sp.limit(expr, S.sigma, target, "+" if target == 0 else "+-") if target != sp.oo \
        else sp.limit(expr, S.sigma, sp.oo)
    half_m2 = sp.Rational(1, 2) * m**2
    options = [sp.Integer(0), half_m2, sp.oo]
    choices = ["it tends to $0$", f"it tends to $\\tfrac12\\mu^2 = {tex(half_m2)}$", "it grows without bound ($+\\infty$)"]
    right = options.index(lim) + 1
    arrow = {0: r"\sigma \to 0", 1: r"\sigma \to 1", sp.oo: r"\sigma \to \infty"}[target]
    question = f"What happens to ${what}$ as ${arrow}$?\n\n" + _choices_md(choices)
    lines = [("Write the closed form as a function of $\\sigma$ (lecture 01's formula with the numbers in):",
              f"{what} = {sp.latex(expr)}"),
             (f"SymPy's limit as ${arrow}$:", rf"\lim_{{{arrow}}} {sp.latex(expr)} = {sp.latex(lim)}")]
    if lim == sp.oo and target == 0:
        tip = ("As $\\sigma \\to 0$ the $-\\log\\sigma$ (or $\\mu^2/\\sigma^2$) term explodes: a posterior that "
               "collapses to a point pays an unbounded KL. That is why a VAE encoder cannot be fully certain.")
    elif lim == sp.oo:
        tip = "As $\\sigma \\to \\infty$ the $\\sigma^2$ (or $\\log\\sigma$) term grows without bound."
    else:
        tip = "At $\\sigma = 1$ only the mean term $\\mu^2/2$ is left: the two Gaussians differ only by a shift."
    feedback = {i: "Take the limit term by term in the closed form." for i in (1, 2, 3) if i != right}
    params = {"subtype": "limit", "direction": direction, "mu": num(m),
              "sigma_limit": "inf" if target == sp.oo else int(target)}
    steps = [Step("the KL as a function of σ", "KL", expr, same_as_previous=False),
             Step("its limit", "KL", lim, same_as_previous=False)]
    return question, choices, right, lines + [(tip, "")], params, steps, feedback, {}


def _zero(rng, hard) -> Drill:
    """min over μ₂ of KL(N(a, s²)‖N(μ₂, t²)): zero exactly when t = s (then q = p)."""
    m1, s1 = pick_decimal(rng, -2, 2, 0.5), rng.choice([sp.Rational(1, 2), sp.Integer(1), sp.Integer(2)])
    s2 = s1 if not hard else rng.choice([s for s in (sp.Rational(1, 2), sp.Integer(1), sp.Integer(2), sp.Integer(3))
                                         if s != s1])
    expr = kl_normal_exact(m1, s1, S.mu2, s2)
    (best,) = sp.solve(sp.diff(expr, S.mu2), S.mu2)
    exact = sp.nsimplify(expr.subs(S.mu2, best))
    answer = float(exact)
    ref = kl_normal(num(m1), num(s1), num(best), num(s2))
    assert abs(answer - ref) < 1e-9, (answer, ref)
    question = (f"Let $p = {_gauss(m1, s1)}$ and $q = \\mathcal{{N}}(\\mu_2, {tex(s2)}^2)$ with $\\mu_2$ free. "
                f"What is the **smallest** value ${PQ}$ can take over $\\mu_2$ (in nats)? "
                "(When can it be zero?)")
    lines = [("As a function of $\\mu_2$ (closed form, lecture 01):", f"{PQ} = {sp.latex(expr)}"),
             ("Only the term $(\\mu_1-\\mu_2)^2/(2\\sigma_2^2)$ depends on $\\mu_2$; it is smallest (zero) at "
              f"$\\mu_2 = \\mu_1 = {tex(best)}$ (SymPy: derivative = 0).", ""),
             ("What is left is the price of the variance mismatch:", f"{PQ}\\big|_{{\\mu_2 = {tex(best)}}} = {sp.latex(exact)}"),
             ("KL is zero exactly when $p = q$: same mean **and** same variance." +
              (" Here the variances are equal, so the minimum is 0." if s1 == s2 else
               " Here the variances differ, so even the best $\\mu_2$ leaves a positive KL."), "")]
    steps = [Step("KL as a function of μ₂", PQ, expr, same_as_previous=False),
             Step("at the minimiser μ₂ = μ₁", PQ, exact, same_as_previous=False)]
    params = {"subtype": "zero", "mu1": num(m1), "sigma1": num(s1), "sigma2": num(s2)}
    mistakes = [("gave_location", float(best)), ("sign_slip", -answer), ("half_forgotten", 2 * answer),
                ("wrong_direction", kl_normal(num(best), num(s2), num(m1), num(s1)))]
    return Drill("concept", "hard" if hard else "easy", question, exact, answer, "nats",
                 solution_markdown(lines, exact, answer, "nats"), params, steps, mistakes)


def concept(rng: random.Random, hard: bool, unit: str) -> Drill:
    subtype = rng.choice(["larger", "symmetric", "limit", "zero"])
    if subtype == "zero":
        return _zero(rng, hard)
    make = {"larger": _larger, "symmetric": _symmetric, "limit": _limit}[subtype]
    question, choices, right, lines, params, steps, feedback, words = make(rng, hard)
    exact = sp.Integer(right)
    steps.append(Step("the right choice", r"\text{choice}", exact, same_as_previous=False))
    final = f"**Answer:** choice {right}: {choices[right - 1]}."
    aliases = {str(i): i for i in range(1, len(choices) + 1)} | words
    return Drill("concept", "hard" if hard else "easy", question, exact, float(right), CHOICE_UNIT,
                 solution_markdown(lines, None, float(right), CHOICE_UNIT, final=final), params, steps,
                 [], choices, feedback, aliases)

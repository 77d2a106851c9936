"""Entropy, cross-entropy and KL of small discrete distributions, in bits or nats.

H(p) = -Σ p log p,  H(p, q) = -Σ p log q,  KL(p‖q) = Σ p log(p/q) = H(p, q) - H(p).
Exact values are SymPy expressions over rational probabilities; the float is checked against
:mod:`vae_course.info` before the drill is handed out.
"""
from __future__ import annotations

import itertools
import math
import random

import sympy as sp

from ..info import cross_entropy, entropy, kl_discrete
from ..symbolic import Step
from .core import Drill, num, solution_markdown, tex

__all__ = ["discrete"]

_R = sp.Rational
_EASY = [
    (_R(1, 2), _R(1, 2)), (_R(3, 4), _R(1, 4)), (_R(1, 2), _R(1, 4), _R(1, 4)),
    (_R(1, 4), _R(1, 4), _R(1, 4), _R(1, 4)), (_R(1, 2), _R(1, 4), _R(1, 8), _R(1, 8)),
]
_NAMES = {"entropy": "the entropy $H(p)$", "cross_entropy": "the cross-entropy $H(p, q)$",
          "kl": r"the KL divergence $\mathrm{KL}(p\,\|\,q)$"}
_DEFS = {"entropy": r"H(p) = -\sum_x p(x)\log p(x)",
         "cross_entropy": r"H(p, q) = -\sum_x p(x)\log q(x)",
         "kl": r"\mathrm{KL}(p\,\|\,q) = \sum_x p(x)\log\frac{p(x)}{q(x)} = H(p, q) - H(p)"}
_LHS = {"entropy": "H(p)", "cross_entropy": "H(p, q)", "kl": r"\mathrm{KL}(p\,\|\,q)"}


def _easy_dist(rng: random.Random, k: int) -> tuple:
    base = rng.choice([d for d in _EASY if len(d) == k])
    return tuple(rng.sample(base, k))


def _hard_dist(rng: random.Random, k: int) -> tuple:
    cuts = sorted(rng.sample(range(1, 10), k - 1))
    return tuple(_R(b - a, 10) for a, b in zip([0, *cuts], [*cuts, 10]))


def _value(quantity: str, p, q, log) -> float:
    """The quantity computed by the definition with the given log (used for the mistakes too)."""
    if quantity == "entropy":
        return -sum(pi * log(pi) for pi in p)
    if quantity == "cross_entropy":
        return -sum(pi * log(qi) for pi, qi in zip(p, q))
    return sum(pi * log(pi / qi) for pi, qi in zip(p, q))


def _terms_tex(quantity: str, p, q, unit: str) -> str:
    lg = r"\log_2" if unit == "bits" else r"\ln"
    if quantity == "entropy":
        return "-" + r"\Big(" + " + ".join(rf"{tex(a)}\,{lg}{tex(a)}" for a in p) + r"\Big)"
    if quantity == "cross_entropy":
        return "-" + r"\Big(" + " + ".join(rf"{tex(a)}\,{lg}{tex(b)}" for a, b in zip(p, q)) + r"\Big)"
    return " + ".join(rf"{tex(a)}\,{lg}\frac{{{tex(a)}}}{{{tex(b)}}}" for a, b in zip(p, q))


def _exact(nats: sp.Expr, unit: str) -> sp.Expr:
    """Tidy exact value: logs split into logs of primes (log(1/4) = -2 log 2), then in the unit asked."""
    def split(log_r):   # log(a/b) = Σ k log(prime) over a's factors − the same over b's
        r = sp.Rational(log_r.args[0])
        return (sum(k * sp.log(f) for f, k in sp.factorint(r.p).items())
                - sum(k * sp.log(f) for f, k in sp.factorint(r.q).items()))
    tidy = sp.expand(nats.replace(lambda e: isinstance(e, sp.log) and e.args[0].is_Rational, split))
    return sp.expand(tidy / sp.log(2)) if unit == "bits" else tidy


def discrete(rng: random.Random, hard: bool, unit: str) -> Drill:
    k = rng.choice([3, 4]) if hard else rng.choice([2, 3, 3, 4])
    unit = rng.choice(["bits", "nats"]) if hard else "bits"
    draw = _hard_dist if hard else _easy_dist
    p = draw(rng, k)
    q = p
    for _ in itertools.repeat(None, 50):
        q = draw(rng, k)
        if q != p:
            break
    quantity = rng.choice(["entropy", "cross_entropy", "kl", "kl"])
    raw = _value(quantity, p, q, sp.log)      # nats, straight from the definition
    exact = _exact(raw, unit)
    pf, qf = [num(a) for a in p], [num(a) for a in q]
    ref = {"entropy": lambda: entropy(pf, unit=unit), "cross_entropy": lambda: cross_entropy(pf, qf, unit=unit),
           "kl": lambda: kl_discrete(pf, qf, unit=unit)}[quantity]()
    answer = float(exact)
    if not math.isclose(answer, ref, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"discrete {quantity}: SymPy gives {answer!r}, vae_course.info gives {ref!r}")
    dist = lambda d: r"\big(" + ",\\ ".join(tex(a) for a in d) + r"\big)"  # noqa: E731
    over = f"over {k} outcomes"
    if quantity == "entropy":
        question = f"Let $p = {dist(p)}$ be a distribution {over}. Compute {_NAMES[quantity]}"
    else:
        question = f"Let $p = {dist(p)}$ and $q = {dist(q)}$ be distributions {over}. Compute {_NAMES[quantity]}"
    question += " in **bits** (log base 2)." if unit == "bits" else " in nats (natural log)."
    lhs = _LHS[quantity]
    lines = [("The definition" + (" (bits: every log is $\\log_2$):" if unit == "bits" else " (nats: natural log):"),
              _DEFS[quantity]),
             ("Put in the numbers (terms with $p(x) = 0$ would count as 0):", f"{lhs} = {_terms_tex(quantity, p, q, unit)}")]
    if quantity == "kl":
        hpq = _exact(_value("cross_entropy", p, q, sp.log), unit)
        hp = _exact(_value("entropy", p, q, sp.log), unit)
        lines.append(("Check with the identity: cross-entropy minus entropy,",
                      rf"H(p, q) - H(p) = {sp.latex(hpq)} - \left({sp.latex(hp)}\right)"))
    steps = [Step("the definition with the numbers put in", lhs, raw / sp.log(2) if unit == "bits" else raw,
                  same_as_previous=False),
             Step("simplified", lhs, exact)]
    # what a student gets from the usual slips
    f_log = (lambda a: math.log2(a)) if unit == "bits" else math.log
    other = (lambda a: math.log(a)) if unit == "bits" else math.log2
    mistakes = [("sign_slip", -answer), ("gave_nats" if unit == "bits" else "gave_bits", _value(quantity, pf, qf, other)),
                ("log10", _value(quantity, pf, qf, math.log10))]
    if quantity == "entropy":
        mistakes.append(("forgot_weights", -sum(f_log(a) for a in pf)))
    elif quantity == "cross_entropy":
        mistakes += [("wrong_direction", _value("cross_entropy", qf, pf, f_log)),
                     ("gave_entropy", _value("entropy", pf, qf, f_log)),
                     ("gave_kl", _value("kl", pf, qf, f_log))]
    else:
        mistakes += [("wrong_direction", _value("kl", qf, pf, f_log)),
                     ("forgot_entropy", _value("cross_entropy", pf, qf, f_log))]
    params = {"quantity": quantity, "p": pf} | ({} if quantity == "entropy" else {"q": qf})
    return Drill("discrete", "hard" if hard else "easy", question, exact, answer, unit,
                 solution_markdown(lines, exact, answer, unit), params, steps, mistakes)

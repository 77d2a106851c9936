"""What a drill is, and the small helpers every kind of drill shares (numbers, units, solutions)."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from .. import symbolic as S
from ..symbolic import Step

__all__ = ["Drill", "UNITS", "CHOICE_UNIT", "LN2", "REL_TOL", "ABS_TOL", "TOLERANCE_TEXT", "within_tolerance",
           "num", "tex", "kl_normal_exact", "pick_decimal", "to_unit", "solution_markdown", "cached_steps"]

LN2 = math.log(2.0)
UNITS = ("nats", "bits")
#: the ``unit`` of a multiple-choice drill: its ``answer`` is the number of the right option, not a quantity
CHOICE_UNIT = "choice"
REL_TOL = 0.005   # 0.5 %
ABS_TOL = 0.005   # enough for an answer rounded to 2 decimals
TOLERANCE_TEXT = "within ±0.5 % of the exact value or ±0.005, whichever is larger"


def within_tolerance(value: float, target: float) -> bool:
    """The stated tolerance: |value − target| ≤ max(0.005, 0.5 % of |target|)."""
    return abs(value - target) <= max(ABS_TOL, REL_TOL * abs(target))


@dataclass
class Drill:
    """One exam-style problem.

    ``question`` and ``solution`` are Markdown with LaTeX; ``exact`` is the answer as a SymPy
    expression and ``answer`` its float. Numeric drills have ``unit`` 'nats' or 'bits'; multiple-choice
    drills (``choices`` set) have ``unit`` = :data:`CHOICE_UNIT` ('choice') and ``answer`` = the
    1-based number of the right option, which :meth:`answer_text` shows as "choice 2: ...";
    ``params`` holds the numbers that define the problem under plain names (``mu``, ``sigma``,
    ``mu1`` ... ``logvar``, ``p``, ``q``); ``steps`` is the derivation with the numbers put in
    (its last expression is the answer); ``mistakes`` lists (name, value) pairs: the value a
    student who made it would get.
    """

    kind: str
    difficulty: str
    question: str
    exact: sp.Expr
    answer: float
    unit: str
    solution: str
    params: dict
    steps: list[Step] = field(default_factory=list, repr=False)
    mistakes: list[tuple[str, float]] = field(default_factory=list, repr=False)
    choices: list[str] | None = None
    choice_feedback: dict[int, str] | None = field(default=None, repr=False)
    aliases: dict[str, int] | None = field(default=None, repr=False)
    id: str = ""
    topic: str | None = None          # mock-exam questions only: a name from drills.exam.TOPICS
    problem_type: str | None = None   # mock-exam questions only: one of drills.exam.PROBLEM_TYPES

    @property
    def is_choice(self) -> bool:
        """True for a multiple-choice drill (``answer`` is an option number, not a quantity)."""
        return self.choices is not None

    def answer_text(self, digits: int = 4) -> str:
        """The answer as a person should read it: "24.1137 nats", or "choice 2 (KL(q‖p) is larger)"."""
        if self.is_choice:
            k = int(self.answer)
            return f"choice {k} ({self.choices[k - 1]})"
        return f"{self.answer:.{digits}f} {self.unit}"

    def to_dict(self) -> dict:
        """A JSON-ready dict (the CLI's ``--json`` line)."""
        d = {"id": self.id, "kind": self.kind, "difficulty": self.difficulty, "question": self.question,
             "answer": self.answer, "exact": str(self.exact), "exact_latex": sp.latex(self.exact),
             "unit": self.unit, "solution": self.solution, "params": self.params}
        if self.choices is not None:
            d["choices"] = self.choices
        if self.topic is not None:
            d["topic"] = self.topic
            d["problem_type"] = self.problem_type
        return d


# ----------------------------------------------------------------------------- numbers

def pick_decimal(rng: random.Random, lo: float, hi: float, step: float, *, avoid=()) -> sp.Rational:
    """A random multiple of ``step`` in [lo, hi], as an exact SymPy Rational (0.1 → 1/10)."""
    step_f = Fraction(str(step))
    k_lo, k_hi = math.ceil(Fraction(str(lo)) / step_f), math.floor(Fraction(str(hi)) / step_f)
    for _ in range(100):
        value = sp.Rational(rng.randint(k_lo, k_hi)) * sp.Rational(step_f.numerator, step_f.denominator)
        if value not in avoid:
            return value
    return value


def num(r) -> float:
    """A parameter as a plain float for ``params`` (exact for the decimals the drills use)."""
    return float(r)


def tex(r, paren: bool = False) -> str:
    """A number as a person writes it: 3, -0.25, 1/3 as \\tfrac13; negatives in parentheses if asked."""
    r = sp.sympify(r)
    if r.is_Integer:
        s = str(int(r))
    elif r.is_Rational:
        q = int(r.q)
        while q % 2 == 0:
            q //= 2
        while q % 5 == 0:
            q //= 5
        if q == 1:      # a terminating decimal
            s = f"{float(r):.10f}".rstrip("0").rstrip(".")
        else:
            s = ("-" if r < 0 else "") + rf"\tfrac{{{abs(int(r.p))}}}{{{int(r.q)}}}"
    else:
        s = sp.latex(r)
    return f"({s})" if paren and s.startswith("-") else s


def to_unit(value: float, unit: str) -> float:
    return value / LN2 if unit == "bits" else value


# ----------------------------------------------------------------------------- solutions

@lru_cache(maxsize=None)
def cached_steps(name: str, d: int = 0) -> tuple[Step, ...]:
    """The derivations of :mod:`vae_course.symbolic`, computed once (SymPy takes ~0.1–0.4 s each)."""
    if name == "gaussian":
        return tuple(S.kl_gaussian_steps())
    if name == "standard_normal":
        return tuple(S.kl_standard_normal_steps())
    if name == "diag":
        return tuple(S.kl_diag_steps(d))
    raise ValueError(f"unknown derivation {name!r}")


def kl_normal_exact(m1, s1, m2=0, s2=1) -> sp.Expr:
    """Exact KL(N(m1, s1²)‖N(m2, s2²)): :func:`vae_course.symbolic.kl_normal_expr` (its derivation is cached)."""
    return S.kl_normal_expr(m1, s1, m2, s2)


def solution_markdown(lines: list[tuple[str, str]], exact: sp.Expr | None, answer: float, unit: str,
                      final: str | None = None) -> str:
    """Worked solution: one paragraph per (sentence, LaTeX) line, then the exact value and its float."""
    out = []
    for sentence, latex in lines:
        out.append(sentence)
        if latex:
            out.append(f"$$\n{latex}\n$$")
    if final is not None:
        out.append(final)
    elif exact is not None:
        unit_tex = r"\text{ " + unit + "}"
        exact_tex = sp.latex(exact)
        approx = f"{answer:.4f}"
        if exact_tex == approx.rstrip("0").rstrip(".") or exact.is_Integer:
            out.append(f"**Answer:** $= {exact_tex}{unit_tex}$.")
        else:
            out.append(f"**Answer:** $= {exact_tex} \\approx {approx}{unit_tex}$.")
    return "\n\n".join(out)

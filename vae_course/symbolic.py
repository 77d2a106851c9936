"""The Gaussian KL divergence derived in SymPy, one visible step at a time.

Each derivation is a list of :class:`Step`; a step says in words what was done
and gives the quantity as a SymPy expression. Lecture 01 displays them, the
tests check that consecutive steps are equal (``simplify(a - b) == 0``), and the
drills substitute numbers into the same steps to write worked solutions.

Derivations:

* :func:`kl_gaussian_steps`: KL(N(μ₁,σ₁²)‖N(μ₂,σ₂²)) = log(σ₂/σ₁) + (σ₁² + (μ₁-μ₂)²)/(2σ₂²) - ½
* :func:`kl_standard_normal_steps`: KL(N(μ,σ²)‖N(0,1)) = ½(μ² + σ² - log σ² - 1)
* :func:`kl_diag_steps`: KL(N(μ, diag σ²)‖N(0,I)) = -½ Σ_j (1 + log σ_j² - μ_j² - σ_j²)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp
from sympy import stats

__all__ = [
    "Step", "x", "mu", "sigma", "mu1", "sigma1", "mu2", "sigma2",
    "normal_pdf", "kl_gaussian_steps", "kl_standard_normal_steps", "kl_diag_steps",
    "kl_normal_expr", "kl_diag_expr", "substitute_steps", "plug_in", "homework", "steps_latex", "show_steps",
]

x = sp.Symbol("x", real=True)
mu, mu1, mu2 = sp.symbols("mu mu_1 mu_2", real=True)
sigma, sigma1, sigma2 = sp.symbols("sigma sigma_1 sigma_2", positive=True)


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = expr``, with a sentence saying why.

    ``same_as_previous`` is True when ``expr`` is the same quantity as the step
    before it, rewritten (so the two must simplify to the same thing).
    """

    note: str
    lhs: str
    expr: sp.Expr
    same_as_previous: bool = True
    extra: dict = field(default_factory=dict, compare=False)
    #: how the step is written when SymPy's own printing would hide its form (SymPy evaluates
    #: -½Σ(1 + log σ² − μ² − σ²) into the expanded sum); built from the same terms as ``expr``
    tex: str | None = field(default=None, compare=False)

    def latex(self) -> str:
        return f"{self.lhs} = {self.tex if self.tex is not None else sp.latex(self.expr)}"


def normal_pdf(var, m, s):
    """The density N(var; m, s²) = exp(-(var-m)²/(2s²)) / (s√(2π))."""
    return sp.exp(-(var - m) ** 2 / (2 * s**2)) / (s * sp.sqrt(2 * sp.pi))


def _expect(expr, m, s):
    """E[expr(x)] for x ~ N(m, s²), computed by sympy.stats (not typed in by hand)."""
    X = stats.Normal("X", m, s)
    return sp.simplify(stats.E(expr.subs(x, X)))


def kl_gaussian_steps() -> list[Step]:
    """KL(p‖q) for p = N(μ₁,σ₁²), q = N(μ₂,σ₂²), from the definition to the closed form."""
    return list(_kl_gaussian_steps())


@lru_cache(maxsize=1)
def _kl_gaussian_steps() -> tuple[Step, ...]:
    # sympy.stats takes ~0.5 s; the derivation never changes, so it is done once per process
    p = normal_pdf(x, mu1, sigma1)
    q = normal_pdf(x, mu2, sigma2)
    log_ratio = sp.expand_log(sp.log(p) - sp.log(q), force=True)
    log_ratio_tidy = sp.log(sigma2 / sigma1) - (x - mu1) ** 2 / (2 * sigma1**2) + (x - mu2) ** 2 / (2 * sigma2**2)
    e1 = _expect((x - mu1) ** 2, mu1, sigma1)          # = σ₁²
    e2 = _expect((x - mu2) ** 2, mu1, sigma1)          # = σ₁² + (μ₁-μ₂)²
    term_by_term = sp.log(sigma2 / sigma1) - e1 / (2 * sigma1**2) + e2 / (2 * sigma2**2)
    closed = sp.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - sp.Rational(1, 2)
    E1 = sp.Symbol(r"\mathbb{E}_p[(x-\mu_1)^2]")
    E2 = sp.Symbol(r"\mathbb{E}_p[(x-\mu_2)^2]")
    return (
        Step("the first density", "p(x)", p, same_as_previous=False),
        Step("the second density", "q(x)", q, same_as_previous=False),
        Step("take logs: the √(2π) cancels, the σ's give a log-ratio, the exponents become quadratics",
             r"\log p(x) - \log q(x)", log_ratio, same_as_previous=False),
        Step("the same, tidied", r"\log p(x) - \log q(x)", log_ratio_tidy),
        Step("KL is the expectation of the log-ratio under p; expectation is linear, so take it term by term",
             r"\mathrm{KL}(p\,\|\,q)", sp.log(sigma2 / sigma1) - E1 / (2 * sigma1**2) + E2 / (2 * sigma2**2),
             same_as_previous=False, extra={"E1": E1, "E2": E2}),
        Step("under p, x − μ₁ has variance σ₁² (sympy.stats computes it)", r"\mathbb{E}_p[(x-\mu_1)^2]", e1,
             same_as_previous=False),
        Step("and x − μ₂ = (x − μ₁) + (μ₁ − μ₂): variance plus squared shift", r"\mathbb{E}_p[(x-\mu_2)^2]", e2,
             same_as_previous=False),
        Step("substitute the two expectations", r"\mathrm{KL}(p\,\|\,q)", term_by_term, same_as_previous=False),
        Step("simplify: the closed form", r"\mathrm{KL}(p\,\|\,q)", closed),
    )


def kl_standard_normal_steps() -> list[Step]:
    """KL(N(μ,σ²)‖N(0,1)): the general closed form with μ₂ = 0, σ₂ = 1."""
    general = kl_gaussian_steps()[-1].expr
    special = general.subs({mu2: 0, sigma2: 1}).subs({mu1: mu, sigma1: sigma})
    half_form = sp.Rational(1, 2) * (mu**2 + sigma**2 - sp.log(sigma**2) - 1)
    return [
        Step("the general closed form", r"\mathrm{KL}(N(\mu_1,\sigma_1^2)\,\|\,N(\mu_2,\sigma_2^2))", general,
             same_as_previous=False),
        Step("put μ₂ = 0, σ₂ = 1 (and drop the index 1)", r"\mathrm{KL}(N(\mu,\sigma^2)\,\|\,N(0,1))", special,
             same_as_previous=False),
        Step("collect: −log σ = −½ log σ²", r"\mathrm{KL}(N(\mu,\sigma^2)\,\|\,N(0,1))", half_form),
    ]


def kl_diag_steps(d: int = 3) -> list[Step]:
    """KL(N(μ, diag σ²)‖N(0, I)) in d dimensions: a sum of d univariate KLs."""
    if not isinstance(d, int) or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    mus = sp.symbols(f"mu_1:{d + 1}", real=True)
    sigmas = sp.symbols(f"sigma_1:{d + 1}", positive=True)
    logvars = sp.symbols(f"l_1:{d + 1}", real=True)   # l_j = log σ_j²
    one_dim = kl_standard_normal_steps()[-1].expr
    summed = sum(one_dim.subs({mu: m, sigma: s}) for m, s in zip(mus, sigmas))
    sigma_terms = [(sp.Integer(1), sp.log(s**2), -m**2, -s**2) for m, s in zip(mus, sigmas)]
    logvar_terms = [(sp.Integer(1), lv, -m**2, -sp.exp(lv)) for m, lv in zip(mus, logvars)]
    vae_form = -sp.Rational(1, 2) * sum(sum(t) for t in sigma_terms)
    logvar_form = -sp.Rational(1, 2) * sum(sum(t) for t in logvar_terms)
    sigma_sum = r"-\frac{1}{2}\sum_{j=1}^{%d}\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)" % d
    logvar_sum = r"-\frac{1}{2}\sum_{j=1}^{%d}\left(1 + l_j - \mu_j^2 - e^{l_j}\right)" % d
    return [
        Step("a diagonal Gaussian and N(0, I) both factorise over dimensions, so the log-ratio is a sum and so is KL",
             r"\mathrm{KL}(N(\mu,\mathrm{diag}\,\sigma^2)\,\|\,N(0,I))", summed, same_as_previous=False,
             extra={"mus": mus, "sigmas": sigmas}),
        Step("the form written in VAE papers: pull out −½ and collect each dimension's four terms",
             r"\mathrm{KL}", vae_form, tex=f"{sigma_sum} = {_minus_half_sum(sigma_terms)}"),
        Step("with l_j = log σ_j², as the encoder outputs it (σ_j² = e^{l_j})", r"\mathrm{KL}", logvar_form,
             same_as_previous=False, extra={"mus": mus, "logvars": logvars},
             tex=f"{logvar_sum} = {_minus_half_sum(logvar_terms)}"),
    ]


def _minus_half_sum(terms) -> str:
    """LaTeX of −½[(a₁ + b₁ + …) + (a₂ + …) + …] exactly as given, one bracket per dimension
    (each term a SymPy expression; signs are taken from the terms)."""
    groups = []
    for group in terms:
        text = sp.latex(group[0])
        for t in group[1:]:
            t_tex = sp.latex(t)
            text += f" - {t_tex[1:].strip()}" if t_tex.startswith("-") else f" + {t_tex}"
        groups.append(rf"\left({text}\right)")
    return r"-\frac{1}{2}\left[" + " + ".join(groups) + r"\right]"


def kl_normal_expr(m1, s1, m2=0, s2=1) -> sp.Expr:
    """The closed form KL(N(m1, s1²)‖N(m2, s2²)) with the given values (SymPy numbers stay exact)."""
    closed = kl_gaussian_steps()[-1].expr
    return closed.subs({mu1: sp.sympify(m1), sigma1: sp.sympify(s1), mu2: sp.sympify(m2), sigma2: sp.sympify(s2)})


def kl_diag_expr(mus, logvars) -> sp.Expr:
    """-½ Σ_j (1 + l_j - μ_j² - e^{l_j}) for given μ and log σ² values (exact where they are)."""
    if len(mus) != len(logvars) or len(mus) == 0:
        raise ValueError("mus and logvars must be non-empty and of the same length")
    return -sp.Rational(1, 2) * sum(1 + sp.sympify(lv) - sp.sympify(m) ** 2 - sp.exp(sp.sympify(lv))
                                    for m, lv in zip(mus, logvars))


def substitute_steps(steps: list[Step], values: dict) -> list[Step]:
    """The same steps with numbers put in (for worked solutions)."""
    return [Step(s.note, s.lhs, s.expr.subs(values), s.same_as_previous, s.extra) for s in steps]   # tex dropped: it shows symbols


def plug_in(expr: sp.Expr, values: dict) -> sp.Expr:
    """``expr`` with numbers put in but NOT simplified, e.g. 6²/2 + 4²/2 − log(4²)/2 − ½:
    the line a student writes before computing. ``float(plug_in(...))`` is the value."""
    values = {k: sp.sympify(v) for k, v in values.items()}
    with sp.evaluate(False):
        return expr.xreplace(values)


def homework() -> dict:
    """The lecture-01 homework: KL between N(μ=6, σ=4) and N(0, 1), both directions, exact and in floats."""
    forward = kl_normal_expr(6, 4, 0, 1)
    reverse = kl_normal_expr(0, 1, 6, 4)
    return {
        "forward": sp.nsimplify(forward), "reverse": sp.nsimplify(reverse),
        "forward_nats": float(forward), "reverse_nats": float(reverse),
        "forward_bits": float(forward / sp.log(2)), "reverse_bits": float(reverse / sp.log(2)),
    }


def steps_latex(steps: list[Step]) -> str:
    """All steps as one LaTeX ``aligned`` block."""
    return r"\begin{aligned}" + r"\\ ".join(
        s.latex().replace(" = ", " &= ", 1) for s in steps) + r"\end{aligned}"


def show_steps(steps: list[Step]) -> None:
    """Display each step in a notebook: the sentence, then the equation."""
    from IPython.display import Markdown, Math, display

    for i, s in enumerate(steps, 1):
        display(Markdown(f"**Step {i}.** {s.note}"))
        display(Math(s.latex()))

"""Checks for exercises/01_entropy_and_kl: entropy, discrete KL, Gaussian KL, the homework, a SymPy step.

References come from torch.distributions (Categorical, Normal), Monte Carlo, sympy.stats and
brute-force sums, never from the closed forms the student is asked to write.
"""
from __future__ import annotations

import math

import numpy as np

from . import Variant, as_float, call, close, fresh, multiple_choice, option, params, question

# torch is imported inside the checks that need it, so the first questions load fast


def _kl_cat(p, q) -> float:
    import torch
    from torch.distributions import Categorical, kl_divergence
    return float(kl_divergence(Categorical(probs=torch.tensor(p, dtype=torch.float64)),
                               Categorical(probs=torch.tensor(q, dtype=torch.float64))))


def _kl_gauss(m1, s1, m2, s2) -> float:
    import torch
    from torch.distributions import Normal, kl_divergence
    d = lambda m, s: Normal(torch.tensor(m, dtype=torch.float64), torch.tensor(s, dtype=torch.float64))
    return float(kl_divergence(d(m1, s1), d(m2, s2)))


def _pair(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise TypeError("expected a pair (forward, reverse) of numbers")
    return as_float(answer[0]), as_float(answer[1])


# ----------------------------------------------------------------------------- q1 entropy by hand

def _draw_entropy(d) -> dict:
    """Three or four different probabilities, multiples of 0.05, summing to 1 (in 20ths)."""
    k = d.choice([3, 4])
    while True:
        parts = sorted(d.sample(range(1, 17), k - 1))
        if sum(parts) < 20 and 20 - sum(parts) not in parts and sorted(parts + [20 - sum(parts)]) != [3, 5, 12]:
            break                                                  # (3, 5, 12)/20: the fixed variant's p
    twentieths = d.sample(parts + [20 - sum(parts)], k)       # a random order
    return {"p": tuple(round(t / 20, 2) for t in twentieths)}


q = question("entropy_by_hand", 1, "the entropy of your p, in bits",
             variant=Variant({"p": (0.6, 0.25, 0.15)}, _draw_entropy))


@q.check("H(p) in bits", hint="H(p) = -Σ p log₂ p: each outcome costs log₂(1/p) bits")
def _(answer):
    probs = params("entropy_by_hand").p
    ref = -sum(p * math.log2(p) for p in probs)      # brute force over the outcomes
    if close(answer, ref):                           # right first: a named slip never overrules a right answer
        return True
    if close(answer, ref * math.log(2)):
        return "that is the entropy in nats; the question asks for bits (divide by ln 2)"
    if close(answer, sum(p * math.log2(p) for p in probs)):
        return "the sign: H(p) = -Σ p log₂ p is positive (each log₂ p is negative)"
    return False


# ----------------------------------------------------------------------------- q2 KL by hand, both ways

def _kl_pairs() -> list[dict]:
    """p = (a, 1 − a), q = (b, 1 − b), a ≠ b in twentieths, where the two directions differ by at least 5 %
    (mirror pairs such as (0.1, 0.9) vs (0.9, 0.1) have KL(p‖q) = KL(q‖p): no asymmetry to show, and
    the "swapped arguments" hint would fire on the right answer)."""
    twentieths = [i / 20 for i in range(1, 20)]
    pairs = []
    for a in twentieths:
        for b in twentieths:
            p, r = (a, round(1 - a, 2)), (b, round(1 - b, 2))
            fwd = sum(x * math.log(x / y) for x, y in zip(p, r))
            rev = sum(y * math.log(y / x) for x, y in zip(p, r))
            if a != b and abs(fwd - rev) >= 0.05 * max(fwd, rev) and (p, r) != ((0.2, 0.8), (0.6, 0.4)):
                pairs.append({"p": p, "q": r})            # never the fixed variant's pair (exercises/ is public)
    return pairs


_KL_PAIRS = _kl_pairs()


def _draw_kl_pair(d) -> dict:
    return dict(d.choice(_KL_PAIRS))


q = question("kl_by_hand", 2, "KL(p‖q) and KL(q‖p) for your two-outcome p and q, in nats",
             variant=Variant({"p": (0.2, 0.8), "q": (0.6, 0.4)}, _draw_kl_pair))


@q.check("KL(p‖q)", hint="KL(p‖q) = Σ p log(p/q): the weights are p's")
def _(answer):
    v = params("kl_by_hand")
    fwd, _ = _pair(answer)
    if close(fwd, _kl_cat(v.p, v.q)):
        return True
    if close(fwd, _kl_cat(v.q, v.p)):
        return "that is KL(q‖p): you swapped the arguments (KL(p‖q) averages log(p/q) under p)"
    if close(fwd, _kl_cat(v.p, v.q) / math.log(2)):
        return "that is in bits; use the natural log (nats)"
    return False


@q.check("KL(q‖p)", hint="KL(q‖p) = Σ q log(q/p): the weights are q's")
def _(answer):
    v = params("kl_by_hand")
    _, rev = _pair(answer)
    if close(rev, _kl_cat(v.q, v.p)):
        return True
    if close(rev, _kl_cat(v.p, v.q)):
        return "that is KL(p‖q) again: KL is not symmetric"
    return False


# ----------------------------------------------------------------------------- q3 discrete KL in code
q = question("kl_code", 2, "kl_divergence(p, q) for discrete distributions, in nats")


@q.check("matches torch.distributions on random distributions")
def _(kl):
    rng = np.random.default_rng(fresh(0))
    for k in (2, 5, 10):
        p, r = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        got = as_float(call(kl, p, r))
        if close(got, _kl_cat(r, p)) and not close(got, _kl_cat(p, r)):
            return "you computed KL(q‖p): the sum is weighted by p, the first argument"
        if close(got, _kl_cat(p, r) / math.log(2)):
            return "your value is in bits; use np.log (nats)"
        if not close(got, _kl_cat(p, r)):
            return f"for k={k} outcomes you got {got:.6g}, expected {_kl_cat(p, r):.6g}: KL(p‖q) = Σ p log(p/q)"
    return True


@q.check("KL(p‖p) = 0")
def _(kl):
    p = np.array([0.2, 0.3, 0.5])
    return close(call(kl, p, p.copy()), 0.0)


@q.check("outcomes with p(x) = 0 contribute 0 (0·log 0 = 0)",
         hint="with p(x) = 0, p·log(p/q) is 0·(-inf) = nan in NumPy: sum only where p > 0")
def _(kl):
    p, r = np.array([0.0, 0.5, 0.5]), np.array([0.2, 0.4, 0.4])
    return close(call(kl, p, r), _kl_cat(p, r))


@q.check("infinite when q(x) = 0 < p(x)", hint="log(p/0) = +inf: KL(p‖q) is infinite when q misses p's support")
def _(kl):
    with np.errstate(divide="ignore", invalid="ignore"):
        got = as_float(call(kl, np.array([0.5, 0.5]), np.array([1.0, 0.0])))
    return math.isinf(got) and got > 0


# ----------------------------------------------------------------------------- q4 Gaussian KL in code
q = question("gauss_kl_code", 2, "kl_gauss(mu1, sigma1, mu2, sigma2): KL(N(μ₁,σ₁²)‖N(μ₂,σ₂²)) in nats")
CASES = [(0.0, 1.0, 0.0, 1.0), (1.0, 2.0, -0.5, 0.7), (6.0, 4.0, 0.0, 1.0), (-2.0, 0.3, 1.0, 3.0)]


@q.check("matches torch.distributions.kl_divergence")
def _(kl):
    for m1, s1, m2, s2 in CASES:
        got = as_float(call(kl, m1, s1, m2, s2))
        if close(got, _kl_gauss(m2, s2, m1, s1)) and not close(got, _kl_gauss(m1, s1, m2, s2)):
            return "you computed KL(N(μ₂,σ₂²)‖N(μ₁,σ₁²)): the arguments are swapped"
        if s1 != 1.0 and close(got, _kl_gauss(m1, math.sqrt(s1), m2, math.sqrt(s2))):
            return "you treated sigma as a variance: the arguments are standard deviations (variance = sigma²)"
        if not close(got, _kl_gauss(m1, s1, m2, s2)):
            return (f"KL(N({m1},{s1}²)‖N({m2},{s2}²)): got {got:.6g}, expected {_kl_gauss(m1, s1, m2, s2):.6g}; "
                    "check log(σ₂/σ₁) and the ½")
    return True


@q.check("agrees with a Monte Carlo estimate E_p[log p(x) - log q(x)]")
def _(kl):
    import torch
    from torch.distributions import Normal
    g = torch.Generator().manual_seed(0)
    p, r = Normal(torch.tensor(1.0, dtype=torch.float64), 2.0), Normal(torch.tensor(-0.5, dtype=torch.float64), 1.5)
    x = p.loc + p.scale * torch.randn(200_000, generator=g, dtype=torch.float64)
    mc = float((p.log_prob(x) - r.log_prob(x)).mean())
    return abs(as_float(call(kl, 1.0, 2.0, -0.5, 1.5)) - mc) < 0.02


# ----------------------------------------------------------------------------- q5 the homework, other numbers

def _draw_homework(d) -> dict:
    """μ in ±{0.5, 1, …, 5.5}, σ in {0.5, 1.5, 2, 2.5, 3, 3.5, 4.5, 5, 6}: never the lecture's μ = 6, σ = 4,
    never σ = 1 (where "σ read as the variance" gives the right answer)."""
    while True:
        mu = d.choice([s * k / 2 for k in range(1, 12) for s in (1, -1)])
        sigma = d.choice([0.5, 1.5, 2.0, 2.5, 3.0, 3.5, 4.5, 5.0, 6.0])
        if (mu, sigma) != (3.0, 2.5):                              # never the fixed variant's (exercises/ is public)
            return {"mu": mu, "sigma": sigma}


q = question("homework", 2, "the homework with your μ, σ: KL(N(μ,σ²)‖N(0,1)) and KL(N(0,1)‖N(μ,σ²))",
             variant=Variant({"mu": 3.0, "sigma": 2.5}, _draw_homework))


@q.check("KL(N(μ, σ²) ‖ N(0, 1)) for your μ, σ")
def _(answer):
    v = params("homework")
    fwd, _ = _pair(answer)
    if close(fwd, _kl_gauss(v.mu, v.sigma, 0.0, 1.0)):
        return True
    if close(fwd, _kl_gauss(v.mu, math.sqrt(v.sigma), 0.0, 1.0)):
        return f"σ = {v.sigma:g} is the standard deviation: the variance is σ² = {v.sigma**2:g}, not {v.sigma:g}"
    if close(fwd, _kl_gauss(0.0, 1.0, v.mu, v.sigma)):
        return "that is the reverse direction KL(N(0,1)‖N(μ,σ²))"
    return False


@q.check("KL(N(0, 1) ‖ N(μ, σ²)) for your μ, σ")
def _(answer):
    v = params("homework")
    _, rev = _pair(answer)
    if close(rev, _kl_gauss(0.0, 1.0, v.mu, v.sigma)):
        return True
    if close(rev, _kl_gauss(v.mu, v.sigma, 0.0, 1.0)):
        return "that is the forward direction again: KL is not symmetric"
    if close(rev, _kl_gauss(0.0, 1.0, v.mu, math.sqrt(v.sigma))):
        return f"σ = {v.sigma:g} is the standard deviation: the variance is σ² = {v.sigma**2:g}, not {v.sigma:g}"
    return False


# ----------------------------------------------------------------------------- q6 one SymPy step
q = question("sympy_step", 2, "E_{x~N(μ₁,σ₁²)}[(x - μ₂)²] as a SymPy expression")


def _sympy_reference():
    import sympy as sp
    from sympy import stats
    from vae_course.symbolic import mu1, mu2, sigma1
    X = stats.Normal("X", mu1, sigma1)
    return sp, stats.E((X - mu2) ** 2), (mu1, mu2, sigma1)


@q.check("a SymPy expression in μ₁, σ₁, μ₂ only (x integrated out)",
         hint="use the symbols mu1, sigma1, mu2 from vae_course.symbolic; the answer must not contain x")
def _(expr):
    sp, _, allowed = _sympy_reference()
    expr = sp.sympify(expr)
    return bool(expr.free_symbols) and expr.free_symbols <= set(allowed)


@q.check("equals the expectation computed by sympy.stats",
         hint="write x - μ₂ = (x - μ₁) + (μ₁ - μ₂) and expand: the cross term has expectation 0")
def _(expr):
    sp, ref, (m1, m2, s1) = _sympy_reference()
    diff = sp.simplify(sp.sympify(expr) - ref)
    if diff == 0:
        return True
    if sp.simplify(sp.sympify(expr) - (s1**2 + m1**2 - m2**2)) == 0:
        return "(μ₁ - μ₂)² is not μ₁² - μ₂²: the cross term -2μ₁μ₂ is missing"
    return False


# ----------------------------------------------------------------------------- understanding: multiple choice

q = question("reverse_kl_fit", 1, "fitting one Gaussian to two modes by the reverse KL(q‖p): what comes out")

#: why each wrong option is wrong (the misconception it stands for)
REVERSE_FIT_FEEDBACK = {
    "a": "covering both modes is what the forward KL(p‖q) does: it pays −log q wherever p has mass, so q must "
         "spread over both. The reverse KL averages log(q/p) under q and pays where q puts mass that p lacks, "
         "between the modes",
    "c": "KL is not symmetric: KL(q‖p) and KL(p‖q) have different minimisers (lecture 01, sections 4 and 5)",
    "d": "KL(q‖p) = 0 needs q = p, and a single Gaussian cannot have two modes: the best q in the family still "
         "has KL > 0",
}


def _one_mode_beats_the_middle() -> bool:
    """By quadrature: the reverse KL of q on one mode is below that of the moment-matched q between them."""
    z = np.linspace(-12.0, 12.0, 24_001)
    normal = lambda m, s: np.exp(-0.5 * ((z - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    p = 0.5 * normal(-2.5, 0.8) + 0.5 * normal(2.5, 0.8)
    reverse_kl = lambda q: float(np.sum(q * (np.log(q + 1e-300) - np.log(p + 1e-300))) * (z[1] - z[0]))
    return reverse_kl(normal(2.5, 0.8)) < reverse_kl(normal(0.0, math.sqrt(2.5**2 + 0.8**2)))


multiple_choice(q, "b", REVERSE_FIT_FEEDBACK, name="the option that describes the reverse-KL fit",
                hint="reverse KL(q‖p) = E_q[log q − log p]: where is q punished?", witness=_one_mode_beats_the_middle)


q = question("kl_slip_0443", 1, "which slip turns KL(N(0, 1) ‖ N(0, σ² = 2)) into the notes' 0.443")


def _slip_values() -> dict[str, float]:
    """What each option computes, for p = N(0, 1) and q = N(0, variance 2)."""
    s1, s2 = 1.0, math.sqrt(2.0)
    return {
        "a": _kl_gauss(0.0, s2, 0.0, s1),                                          # arguments swapped
        "b": math.log(s2**2 / s1**2) + s1**2 / (2 * s2**2) - 0.5,                  # log of the variance ratio
        "c": _kl_gauss(0.0, s1, 0.0, 2.0),                                         # σ₂ = 2 read as the sd
        "d": math.log(s2 / s1) + s1**2 / (2 * s2**2),                              # the −½ forgotten
    }


@q.check("the option whose arithmetic gives 0.443",
         hint="compute what each slip gives: only one lands on 0.443")
def _(answer):
    letter = option(answer, "abcd")
    values = _slip_values()
    if abs(values[letter] - 0.443) < 5e-4:
        return True
    return f"that slip gives {values[letter]:.4f} nats, not 0.443"

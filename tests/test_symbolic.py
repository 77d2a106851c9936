"""Every SymPy derivation step is checked: rewrites simplify to the previous step, results to independent values."""
import math

import mpmath
import pytest
import sympy as sp

from vae_course import symbolic as S
from vae_course.info import kl_normal


def _assert_chain(steps):
    for before, after in zip(steps, steps[1:]):
        if after.same_as_previous:
            assert sp.simplify(before.expr - after.expr) == 0, f"step '{after.note}' does not follow"


def test_general_gaussian_kl_steps_follow_one_from_another():
    steps = S.kl_gaussian_steps()
    _assert_chain(steps)
    log_ratio, term_by_term = steps[2].expr, steps[4]
    # the expanded log-ratio is log p − log q of the densities
    p, q = steps[0].expr, steps[1].expr
    assert sp.simplify(sp.expand_log(sp.log(p / q), force=True) - log_ratio) == 0
    # the expectations that were substituted are the ones sympy.stats computes
    assert sp.simplify(steps[5].expr - S.sigma1**2) == 0
    assert sp.simplify(steps[6].expr - (S.sigma1**2 + (S.mu1 - S.mu2) ** 2)) == 0
    substituted = term_by_term.expr.subs({term_by_term.extra["E1"]: steps[5].expr, term_by_term.extra["E2"]: steps[6].expr})
    assert sp.simplify(substituted - steps[7].expr) == 0
    assert sp.simplify(steps[7].expr - steps[8].expr) == 0


@pytest.mark.parametrize("m1, s1, m2, s2", [(0.3, 1.7, -1.1, 0.6), (6, 4, 0, 1), (0, 1, 6, 4), (-2, 0.5, 1, 3)])
def test_closed_form_equals_numerical_integral(m1, s1, m2, s2):
    closed = S.kl_gaussian_steps()[-1].expr
    value = float(closed.subs({S.mu1: m1, S.sigma1: s1, S.mu2: m2, S.sigma2: s2}))

    def integrand(t):
        p = mpmath.npdf(t, m1, s1)
        return p * (mpmath.log(p) - mpmath.log(mpmath.npdf(t, m2, s2)))

    numeric = float(mpmath.quad(integrand, [-mpmath.inf, m1 - 5 * s1, m1, m1 + 5 * s1, mpmath.inf]))
    assert value == pytest.approx(numeric, rel=1e-9)
    assert value == pytest.approx(kl_normal(m1, s1, m2, s2), rel=1e-12)


def test_standard_normal_special_case():
    steps = S.kl_standard_normal_steps()
    _assert_chain(steps)
    assert sp.simplify(steps[1].expr - steps[0].expr.subs({S.mu2: 0, S.sigma2: 1, S.mu1: S.mu, S.sigma1: S.sigma})) == 0
    assert float(steps[-1].expr.subs({S.mu: 6, S.sigma: 4})) == pytest.approx(24.1137, abs=1e-4)


@pytest.mark.parametrize("d", [1, 2, 4])
def test_diagonal_multivariate_sum(d):
    steps = S.kl_diag_steps(d)
    _assert_chain(steps)
    mus, sigmas = steps[0].extra["mus"], steps[0].extra["sigmas"]
    logvars = steps[2].extra["logvars"]
    # the log-variance form is the σ form with l_j = log σ_j²
    assert sp.simplify(steps[2].expr.subs({l: sp.log(s**2) for l, s in zip(logvars, sigmas)}) - steps[1].expr) == 0
    values = {m: 0.3 * (i + 1) for i, m in enumerate(mus)} | {s: 0.5 + 0.2 * i for i, s in enumerate(sigmas)}
    expected = sum(kl_normal(values[m], values[s]) for m, s in zip(mus, sigmas))
    assert float(steps[0].expr.subs(values)) == pytest.approx(expected)


def test_kl_diag_steps_rejects_bad_dimension():
    with pytest.raises(ValueError, match="positive integer"):
        S.kl_diag_steps(0)


def test_homework_exact_forms_and_values():
    hw = S.homework()
    assert sp.simplify(hw["forward"] - sp.Rational(1, 2) * (36 + 16 - sp.log(16) - 1)) == 0
    assert sp.simplify(hw["reverse"] - (sp.log(4) + sp.Rational(37, 32) - sp.Rational(1, 2))) == 0
    assert hw["forward_nats"] == pytest.approx(24.1137, abs=1e-4)
    assert hw["reverse_nats"] == pytest.approx(2.0425, abs=1e-4)
    assert hw["forward_bits"] == pytest.approx(hw["forward_nats"] / math.log(2))


def test_kl_diag_expr_matches_info():
    from vae_course.info import kl_diag_gaussian
    mus, logvars = [0.5, -1, 2], [0.1, -0.3, 0]
    assert float(S.kl_diag_expr(mus, logvars)) == pytest.approx(kl_diag_gaussian(mus, logvars))
    with pytest.raises(ValueError):
        S.kl_diag_expr([1], [])


def test_plug_in_keeps_the_numbers_visible_and_the_value_right():
    worked = S.plug_in(S.kl_standard_normal_steps()[-1].expr, {S.mu: 6, S.sigma: 4})
    assert "6^{2}" in sp.latex(worked) and "4^{2}" in sp.latex(worked)
    assert float(worked) == pytest.approx(kl_normal(6, 4))


@pytest.mark.parametrize("d", [1, 3])
def test_vae_paper_form_is_shown_as_minus_half_sum(d):
    """Step 2 is written −½Σ_j(1 + log σ_j² − μ_j² − σ_j²), not the expanded sum of step 1 (SymPy
    would print both the same), and what it shows is the expression it carries."""
    steps = S.kl_diag_steps(d)
    shown, first = steps[1].latex(), steps[0].latex()
    assert shown.split(" = ", 1)[1] != first.split(" = ", 1)[1]
    assert r"-\frac{1}{2}\sum_{j=1}^{%d}\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)" % d in shown
    for j in range(1, d + 1):
        bracket = (rf"\left(1 + \log{{\left(\sigma_{{{j}}}^{{2}} \right)}} - \mu_{{{j}}}^{{2}} - "
                   rf"\sigma_{{{j}}}^{{2}}\right)")
        assert bracket in shown
    mus, sigmas = steps[0].extra["mus"], steps[0].extra["sigmas"]
    written = -sp.Rational(1, 2) * sum(1 + sp.log(s**2) - m**2 - s**2 for m, s in zip(mus, sigmas))
    assert sp.simplify(written - steps[1].expr) == 0
    assert r"1 + l_j - \mu_j^2 - e^{l_j}" in steps[2].latex()
    # numbers put in: the symbolic form is no longer shown
    (plugged,) = S.substitute_steps([steps[1]], {m: 1 for m in mus} | {s: 2 for s in sigmas})
    assert r"\sum" not in plugged.latex()
    assert float(plugged.expr) == pytest.approx(d * kl_normal(1, 2))

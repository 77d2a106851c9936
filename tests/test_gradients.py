"""Lecture 04: hand gradients vs autograd; both estimators unbiased; their variances as claimed.

Exact means and per-sample variances of the estimators come from SymPy (sympy.stats expectations
over ε ~ N(0, 1)); estimates use fixed seeds and tolerances of several standard errors.
"""
import math

import pytest
import sympy as sp
import torch
from sympy import stats

from vae_course.gradients import (
    autograd_dkl, autograd_dz, categorical_grad, categorical_grad_exact, estimator_variance,
    grad_estimates, gumbel_max_sample, hand_dkl, hand_dz, pathwise_samples, quadratic, score_samples, sine,
)

MU, LOGVAR, C = 0.5, math.log(0.25), 1.0      # the setting lecture 04 plots


def _sympy_per_sample(c=C, mu=MU, sigma2=math.exp(LOGVAR)):
    """Mean and variance of one sample of each estimator for f(z) = (z - c)², by SymPy, exactly."""
    eps = stats.Normal("eps", 0, 1)
    m, lv = sp.symbols("mu logvar", real=True)
    z = m + sp.exp(lv / 2) * eps
    f = (z - c) ** 2
    score = {"mu": f * eps / sp.exp(lv / 2), "logvar": f * (eps**2 - 1) / 2}
    pathwise = {"mu": sp.diff(f, m), "logvar": sp.diff(f, lv)}
    subs = {m: mu, lv: sp.log(sp.nsimplify(sigma2))}
    out = {}
    for name, est in (("score", score), ("pathwise", pathwise)):
        for p in ("mu", "logvar"):
            mean = stats.E(est[p]).subs(subs)
            var = stats.E(est[p] ** 2).subs(subs) - mean**2
            out[name, p] = (float(mean), float(var))
    return out


EXACT = _sympy_per_sample()


def test_test_functions_know_their_expectations():
    torch.manual_seed(0)
    z = MU + math.exp(0.5 * LOGVAR) * torch.randn(1_000_000, dtype=torch.float64)
    for fn in (quadratic(C), sine(1.0), sine(5.0)):
        mc = fn(z)
        exact = float(fn.expectation(torch.tensor(MU), torch.tensor(LOGVAR)))
        assert float(mc.mean()) == pytest.approx(exact, abs=4 * float(mc.std()) / 1000)
    assert quadratic(C).exact_grad(MU, LOGVAR) == pytest.approx((2 * (MU - C), math.exp(LOGVAR)))
    assert (EXACT["pathwise", "mu"][0], EXACT["pathwise", "logvar"][0]) == pytest.approx(quadratic(C).exact_grad(MU, LOGVAR))
    assert (EXACT["score", "mu"][0], EXACT["score", "logvar"][0]) == pytest.approx(quadratic(C).exact_grad(MU, LOGVAR))


def test_hand_derived_gradients_match_autograd():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(1000, generator=g, dtype=torch.float64) * 3
    logvar = torch.randn(1000, generator=g, dtype=torch.float64) * 2
    eps = torch.randn(1000, generator=g, dtype=torch.float64)
    for hand, auto in zip(hand_dz(mu, logvar, eps), autograd_dz(mu, logvar, eps)):
        torch.testing.assert_close(hand, auto, rtol=1e-12, atol=1e-12)
    for hand, auto in zip(hand_dkl(mu, logvar), autograd_dkl(mu, logvar)):
        torch.testing.assert_close(hand, auto, rtol=1e-12, atol=1e-12)
    assert bool((hand_dz(mu, logvar, eps)[0] == 1).all())
    torch.testing.assert_close(hand_dkl(mu, logvar)[0], mu)


def test_per_sample_gradients_are_the_textbook_formulas():
    eps = torch.randn(50, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    sigma = math.exp(0.5 * LOGVAR)
    z = MU + sigma * eps
    f = quadratic(C)
    g_mu, g_lv = pathwise_samples(f, MU, LOGVAR, eps)
    torch.testing.assert_close(g_mu, 2 * (z - C))
    torch.testing.assert_close(g_lv, 2 * (z - C) * 0.5 * sigma * eps)
    s_mu, s_lv = score_samples(f, MU, LOGVAR, eps)
    torch.testing.assert_close(s_mu, (z - C) ** 2 * eps / sigma)
    torch.testing.assert_close(s_lv, (z - C) ** 2 * 0.5 * (eps**2 - 1))


@pytest.mark.parametrize("fn", [quadratic(C), sine(1.0), sine(5.0)], ids=lambda f: f.name)
@pytest.mark.parametrize("method", ["pathwise", "score"])
def test_both_estimators_are_unbiased(fn, method):
    torch.manual_seed(0)
    est = grad_estimates(fn, MU, 0.0, n=100, method=method, repeats=4000)
    exact = torch.tensor(fn.exact_grad(MU, 0.0), dtype=torch.float64)
    se = est.std(0) / math.sqrt(len(est))
    assert bool(((est.mean(0) - exact).abs() < 4 * se).all()), (est.mean(0), exact, se)


def test_variances_match_sympy_fall_as_one_over_n_and_are_ordered():
    torch.manual_seed(0)
    ns = [1, 10, 100]
    measured = {m: estimator_variance(quadratic(C), MU, LOGVAR, ns, m, repeats=4000) for m in ("pathwise", "score")}
    for m in ("pathwise", "score"):
        for j, p in enumerate(("mu", "logvar")):
            for i, n in enumerate(ns):
                assert float(measured[m][i, j]) * n == pytest.approx(EXACT[m, p][1], rel=0.15)
    # the claim of the lecture for this f: the score function is several times noisier, at every n
    assert EXACT["score", "mu"][1] > 5 * EXACT["pathwise", "mu"][1]
    assert EXACT["score", "logvar"][1] > 5 * EXACT["pathwise", "logvar"][1]
    assert bool((measured["score"] > 3 * measured["pathwise"]).all())


def test_pathwise_is_not_always_better():
    # for a fast-wiggling f the pathwise gradient f'(z) = k cos(kz) is large; the score function wins
    torch.manual_seed(0)
    fn = sine(5.0)
    v_path = estimator_variance(fn, MU, 0.0, [10], "pathwise", repeats=4000)[0]
    v_score = estimator_variance(fn, MU, 0.0, [10], "score", repeats=4000)[0]
    assert bool((v_path > 5 * v_score).all())


LOGITS = torch.tensor([0.5, -0.3, 0.2, 0.0], dtype=torch.float64)
CODES = torch.tensor([-1.0, 0.0, 1.0, 2.0], dtype=torch.float64)


def codebook_loss(y):
    """(v_z - 0.7)²: pick one value of a small codebook, squared error to a target (nonlinear in y)."""
    return (y @ CODES - 0.7) ** 2


def test_categorical_exact_gradient_is_the_formula():
    pi = torch.softmax(LOGITS, 0)
    f = (CODES - 0.7) ** 2
    torch.testing.assert_close(categorical_grad_exact(LOGITS, codebook_loss), pi * (f - (pi * f).sum()))


def test_gumbel_max_draws_the_categorical():
    torch.manual_seed(0)
    n = 200_000
    freq = torch.bincount(gumbel_max_sample(LOGITS, n), minlength=4).double() / n
    pi = torch.softmax(LOGITS, 0)
    assert bool(((freq - pi).abs() < 4 * (pi * (1 - pi) / n).sqrt()).all())


def test_discrete_estimators_score_unbiased_relaxations_biased():
    torch.manual_seed(0)
    exact = categorical_grad_exact(LOGITS, codebook_loss)
    results = {}
    for method, tau in (("score", 1.0), ("straight_through", 1.0), ("gumbel_softmax", 1.0), ("gumbel_softmax", 0.1)):
        est = categorical_grad(LOGITS, codebook_loss, n=1, method=method, tau=tau, repeats=100_000)
        se = est.std(0) / math.sqrt(len(est))
        results[method, tau] = ((est.mean(0) - exact).norm().item(), (4 * se).norm().item(), est.var(0).sum().item())
    bias, noise, _ = results["score", 1.0]
    assert bias < noise
    for key in (("straight_through", 1.0), ("gumbel_softmax", 1.0)):
        assert results[key][0] > 10 * results[key][1], key
    # Gumbel-softmax at τ = 1 is much less noisy than the score function
    assert results["gumbel_softmax", 1.0][2] < results["score", 1.0][2] / 3
    # lower temperature: smaller bias, larger variance
    assert results["gumbel_softmax", 0.1][0] < results["gumbel_softmax", 1.0][0] / 3
    assert results["gumbel_softmax", 0.1][2] > 10 * results["gumbel_softmax", 1.0][2]


@pytest.mark.parametrize("call, message", [
    (lambda: grad_estimates(quadratic(), 0.0, 0.0, n=0), "n must be ≥ 1"),
    (lambda: grad_estimates(quadratic(), 0.0, 0.0, n=3, method="magic"), "method must be one of"),
    (lambda: grad_estimates(quadratic(), float("nan"), 0.0, n=3), "mu must be a finite number"),
    (lambda: estimator_variance(quadratic(), 0.0, 0.0, [], "score"), "at least one"),
    (lambda: estimator_variance(quadratic(), 0.0, 0.0, [10], "score", repeats=1), "repeats must be ≥ 2"),
    (lambda: estimator_variance(quadratic(), 0.0, 0.0, [0], "score"), "n must be ≥ 1"),
    (lambda: categorical_grad(LOGITS, codebook_loss, n=1, method="gumbel_softmax", tau=0.0), "tau must be"),
    (lambda: categorical_grad(LOGITS, codebook_loss, n=1, method="reinforce"), "method must be one of"),
    (lambda: categorical_grad(torch.tensor([1.0]), codebook_loss, n=1), "at least 2 categories"),
    (lambda: gumbel_max_sample(LOGITS, 0), "n must be ≥ 1"),
])
def test_bad_input_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_reparameterized_draws_have_the_moments_of_the_normal():
    torch.manual_seed(0)
    n, mu, sigma = 400_000, 1.0, 2.0
    from vae_course.models import reparameterize
    z = reparameterize(torch.full((n,), mu, dtype=torch.float64), torch.full((n,), math.log(sigma**2), dtype=torch.float64))
    c = z - z.mean()
    var = c.pow(2).mean()
    assert float(z.mean()) == pytest.approx(mu, abs=4 * sigma / math.sqrt(n))
    assert float(var) == pytest.approx(sigma**2, abs=4 * sigma**2 * math.sqrt(2 / n))
    assert float(c.pow(3).mean() / var**1.5) == pytest.approx(0.0, abs=4 * math.sqrt(6 / n))
    assert float(c.pow(4).mean() / var**2 - 3) == pytest.approx(0.0, abs=4 * math.sqrt(24 / n))


def test_torch_normal_passes_zero_gradient_and_sample_detaches():
    mu = torch.tensor(1.0, requires_grad=True)
    sigma = torch.tensor(2.0, requires_grad=True)
    torch.normal(mu, sigma).backward()
    assert float(mu.grad) == 0.0 and float(sigma.grad) == 0.0
    assert not torch.distributions.Normal(mu, sigma).sample().requires_grad


def test_exact_variance_ratios_quoted_by_the_lecture():
    assert EXACT["score", "mu"][1] / EXACT["pathwise", "mu"][1] == pytest.approx(7.5)
    assert EXACT["score", "logvar"][1] / EXACT["pathwise", "logvar"][1] == pytest.approx(34 / 3)

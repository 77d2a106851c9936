"""Lecture 03 on the linear-Gaussian model, against independent computations.

Exact values come from torch.distributions (the joint of (z, x) is a 2-D Gaussian), numerical
integration, and Monte Carlo with fixed seeds; none of them reuses the closed forms under test.
"""
import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal

from vae_course.elbo import LinearGaussian, log_mean_exp

MODELS = [LinearGaussian(2.0, 0.5, 0.8), LinearGaussian(-0.7, -1.0, 1.5), LinearGaussian(3.0, 0.0, 0.2)]


def _grid_log_px(model, x):
    """log ∫ p(x|z) p(z) dz by the trapezoidal rule on a wide grid (independent of the closed form)."""
    z = torch.linspace(-12, 12, 200_001, dtype=torch.float64)
    integrand = torch.exp(Normal(0.0, 1.0).log_prob(z) + Normal(model.w * z + model.b, model.s).log_prob(torch.tensor(x, dtype=torch.float64)))
    return math.log(float(torch.trapezoid(integrand, z)))


@pytest.mark.parametrize("model", MODELS)
def test_log_px_and_posterior_match_the_joint_gaussian(model):
    # (z, x) is jointly Gaussian: mean (0, b), cov [[1, w], [w, w² + s²]]; condition and marginalise it.
    cov = torch.tensor([[1.0, model.w], [model.w, model.w**2 + model.s**2]], dtype=torch.float64)
    for x in (-2.0, 0.3, 4.0):
        assert float(model.log_px(x)) == pytest.approx(float(Normal(model.b, cov[1, 1].sqrt()).log_prob(torch.tensor(x, dtype=torch.float64))), abs=1e-12)
        assert float(model.log_px(x)) == pytest.approx(_grid_log_px(model, x), abs=1e-8)
        mu, logvar = model.posterior(x)
        assert float(mu) == pytest.approx(float(cov[0, 1] / cov[1, 1] * (x - model.b)), abs=1e-12)
        assert math.exp(float(logvar)) == pytest.approx(float(cov[0, 0] - cov[0, 1] ** 2 / cov[1, 1]), abs=1e-12)
        joint = MultivariateNormal(torch.tensor([0.0, model.b], dtype=torch.float64), cov)
        z = torch.tensor(0.37, dtype=torch.float64)
        assert float(model.log_joint(x, z)) == pytest.approx(float(joint.log_prob(torch.stack([z, torch.tensor(x, dtype=torch.float64)]))), rel=1e-12)


def test_elbo_plus_kl_is_log_px_on_random_parameters():
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        w, b = (float(v) for v in torch.randn(2, generator=g) * 2)
        s = float(torch.rand(1, generator=g)) * 2 + 0.05
        model = LinearGaussian(w, b, s)
        x = torch.randn(50, generator=g, dtype=torch.float64) * 3
        mu = torch.randn(50, generator=g, dtype=torch.float64) * 2
        logvar = torch.randn(50, generator=g, dtype=torch.float64) * 2
        total = model.elbo(x, mu, logvar) + model.kl_to_posterior(x, mu, logvar)
        torch.testing.assert_close(total, model.log_px(x), rtol=0, atol=1e-9)
        assert bool((model.kl_to_posterior(x, mu, logvar) >= 0).all())


def test_elbo_terms_match_monte_carlo_with_torch_distributions():
    model, x, mu, logvar = MODELS[0], 1.3, -0.4, math.log(0.3)
    torch.manual_seed(0)
    q = Normal(torch.tensor(mu, dtype=torch.float64), math.exp(0.5 * logvar))
    z = q.sample((400_000,))
    rec = Normal(model.w * z + model.b, model.s).log_prob(torch.tensor(x, dtype=torch.float64)).mean()
    kl = torch.distributions.kl_divergence(q, Normal(torch.tensor(0.0, dtype=torch.float64), 1.0))
    assert float(model.expected_log_likelihood(x, mu, logvar)) == pytest.approx(float(rec), abs=5e-3)
    assert float(model.kl_prior(mu, logvar)) == pytest.approx(float(kl), abs=1e-12)


def test_monte_carlo_elbo_converges_to_the_exact_elbo():
    model, x, mu, logvar = MODELS[0], 2.0, -1.0, 0.0
    exact = float(model.elbo(x, mu, logvar))
    g = torch.Generator().manual_seed(0)
    errors = [abs(float(model.elbo_mc(x, mu, logvar, n, generator=g)) - exact) for n in (10, 1_000, 100_000)]
    # a single seeded run per n: the error of the largest sample is small and well below the smallest's
    spread = float(model.log_weights(x, mu, logvar, k=1, n=100_000, generator=g).std())
    assert errors[2] < 4 * spread / math.sqrt(100_000)
    assert errors[2] < errors[0]


def test_elbo_peaks_exactly_at_the_true_posterior():
    model, x = MODELS[1], 0.8
    post_mu, post_logvar = model.posterior(x)
    m = post_mu.clone().requires_grad_()
    lv = post_logvar.clone().requires_grad_()
    value = model.elbo(x, m, lv)
    grads = torch.autograd.grad(value, (m, lv))
    assert all(abs(float(gr)) < 1e-12 for gr in grads)
    assert float(value.detach()) == pytest.approx(float(model.log_px(x)), abs=1e-12)
    g = torch.Generator().manual_seed(3)
    others_mu = post_mu + torch.randn(200, generator=g, dtype=torch.float64)
    others_lv = post_logvar + torch.randn(200, generator=g, dtype=torch.float64)
    assert bool((model.elbo(x, others_mu, others_lv) < float(value.detach())).all())


def test_iwae_bounds_are_ordered_and_below_log_px():
    model, x, mu, logvar = MODELS[0], 2.0, -0.5, 0.5   # q far from the posterior: a visible gap
    g = torch.Generator().manual_seed(0)
    n = 4000
    ks = [1, 2, 8, 64, 512]
    means, sems = [], []
    for k in ks:
        est = model.iwae_estimates(x, mu, logvar, k=k, n=n, generator=g)
        means.append(float(est.mean()))
        sems.append(float(est.std()) / math.sqrt(n))
    log_px, elbo = float(model.log_px(x)), float(model.elbo(x, mu, logvar))
    assert means[0] == pytest.approx(elbo, abs=4 * sems[0])
    for i in range(len(ks) - 1):
        assert means[i] < means[i + 1] + 3 * (sems[i] + sems[i + 1])
    assert means[-1] > means[0] + 1.0              # the bound tightens a lot, not by noise
    assert means[-1] < log_px + 3 * sems[-1]
    assert means[-1] < log_px                        # still below the truth at k = 512


def test_iwae_is_exact_when_q_is_the_posterior():
    model, x = MODELS[2], -1.5
    mu, logvar = model.posterior(x)
    est = model.iwae_estimates(x, mu, logvar, k=5, n=10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(est, model.log_px(x).expand(10), rtol=0, atol=1e-10)


def test_log_mean_exp_is_stable_and_right():
    a = torch.tensor([1000.0, 1000.0 + math.log(3.0)], dtype=torch.float64)
    assert float(log_mean_exp(a)) == pytest.approx(1000.0 + math.log(2.0), abs=1e-12)
    b = torch.randn(7, 3, dtype=torch.float64)
    torch.testing.assert_close(log_mean_exp(b, dim=0), torch.log(torch.exp(b).mean(0)))


def test_best_shared_q_maximises_the_expected_elbo():
    model = MODELS[0]
    _, x = model.sample(400_000, generator=torch.Generator().manual_seed(0))
    mu, logvar = 0.3, -0.2
    assert float(model.expected_elbo(mu, logvar)) == pytest.approx(float(model.elbo(x, mu, logvar).mean()), abs=0.03)
    m0, lv0 = model.best_shared_q()
    m = torch.tensor(m0, dtype=torch.float64, requires_grad=True)
    lv = torch.tensor(lv0, dtype=torch.float64, requires_grad=True)
    grads = torch.autograd.grad(model.expected_elbo(m, lv), (m, lv))
    assert all(abs(float(gr)) < 1e-12 for gr in grads)
    for dm, dlv in ((0.1, 0), (-0.1, 0), (0, 0.1), (0, -0.1)):
        assert float(model.expected_elbo(m0 + dm, lv0 + dlv)) < float(model.expected_elbo(m0, lv0))


@pytest.mark.parametrize("call, message", [
    (lambda: LinearGaussian(1.0, 0.0, 0.0), "s must be > 0"),
    (lambda: LinearGaussian(1.0, 0.0, -1.0), "s must be > 0"),
    (lambda: LinearGaussian(0.0, 0.0, 1.0), "w must be non-zero"),
    (lambda: LinearGaussian(float("nan"), 0.0, 1.0), "finite"),
    (lambda: LinearGaussian(1.0, "b", 1.0), "finite number"),
    (lambda: MODELS[0].iwae(1.0, 0.0, 0.0, k=0), "k must be ≥ 1"),
    (lambda: MODELS[0].iwae(1.0, 0.0, 0.0, k=2.5), "k must be a whole number"),
    (lambda: MODELS[0].elbo_mc(1.0, 0.0, 0.0, n=0), "n must be ≥ 1"),
    (lambda: MODELS[0].sample(-3), "n must be ≥ 1"),
    (lambda: MODELS[0].elbo(1.0, float("inf"), 0.0), "mu contains NaN or infinite"),
    (lambda: MODELS[0].elbo("one", 0.0, 0.0), "x must be a number"),
    (lambda: MODELS[0].kl_to_posterior(1.0, 0.0, -1e6), "logvar is out of range"),
    (lambda: log_mean_exp(torch.zeros(0)), "at least one sample"),
])
def test_bad_input_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_elbo_explorer_slider_closes_the_gap():
    from vae_course.widgets import ELBOExplorer

    model, x = MODELS[0], 2.0
    ex = ELBOExplorer(model, x=x, mu=-1.0, logvar=0.0)
    t, png, renders = ex.terms(), ex.figure.widget.value, ex.figure.renders
    assert t["elbo"] + t["kl"] == pytest.approx(t["log_px"], abs=1e-9) and t["kl"] > 1
    assert f"{t['elbo']:.4f}" in ex.readout.value
    post_mu, post_logvar = (round(float(v), 2) for v in model.posterior(x))
    ex.sliders["mu"].value = post_mu
    assert ex.figure.renders == renders + 1 and ex.figure.widget.value != png
    ex.set(logvar=post_logvar)
    assert ex.terms()["kl"] < 1e-3
    assert ex.terms()["elbo"] == pytest.approx(float(model.log_px(x)), abs=1e-3)
    for bad, message in (({"mu": 9.0}, "between"), ({"logvar": "x"}, "must be a number"), ({"sigma": 1.0}, "unknown")):
        with pytest.raises(ValueError, match=message):
            ex.set(**bad)


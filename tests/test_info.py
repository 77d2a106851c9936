"""vae_course.info against independent computations: torch.distributions, Monte Carlo, hand values."""
import math

import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Normal, kl_divergence

from vae_course.info import (cross_entropy, entropy, kl_diag_gaussian, kl_discrete, kl_monte_carlo, kl_normal,
                             mutual_information, normal_pdf)


# ----------------------------------------------------------------------------- discrete

def test_entropy_of_fair_coin_is_one_bit():
    assert entropy([0.5, 0.5], unit="bits") == pytest.approx(1.0)
    assert entropy([0.5, 0.5]) == pytest.approx(math.log(2))


def test_entropy_of_certain_outcome_is_zero():
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    assert f"{entropy([1.0, 0.0]):.4f}" == "0.0000"   # not "-0.0000"


def test_discrete_values_match_torch_categorical():
    rng = np.random.default_rng(0)
    for _ in range(50):
        k = rng.integers(2, 8)
        p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        P, Q = Categorical(probs=torch.tensor(p)), Categorical(probs=torch.tensor(q))
        assert entropy(p) == pytest.approx(P.entropy().item(), rel=1e-10)
        assert kl_discrete(p, q) == pytest.approx(kl_divergence(P, Q).item(), rel=1e-9)
        assert cross_entropy(p, q) == pytest.approx(-(p * np.log(q)).sum(), rel=1e-10)


def test_cross_entropy_decomposes_into_entropy_plus_kl():
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(5), size=10), rng.dirichlet(np.ones(5), size=10)
    np.testing.assert_allclose(cross_entropy(p, q), entropy(p) + kl_discrete(p, q), rtol=1e-12)


def test_kl_is_zero_iff_equal_and_asymmetric():
    p, q = [0.9, 0.1], [0.5, 0.5]
    assert kl_discrete(p, p) == 0.0
    assert kl_discrete(p, q) > 0 and kl_discrete(q, p) > 0
    assert kl_discrete(p, q) != pytest.approx(kl_discrete(q, p))


def test_bits_are_nats_over_ln2():
    p, q = [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]
    assert kl_discrete(p, q, unit="bits") == pytest.approx(kl_discrete(p, q) / math.log(2))


def test_zero_q_where_p_positive_gives_inf_and_zero_p_terms_vanish():
    assert kl_discrete([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert cross_entropy([0.5, 0.5], [1.0, 0.0]) == math.inf
    # p(x) = 0 where q(x) = 0: the term is 0·log(0/0) := 0, KL stays finite
    assert kl_discrete([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert kl_discrete([1.0, 0.0], [1.0, 0.0]) == 0.0


def test_discrete_on_torch_tensors_batches_and_keeps_type():
    p = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    q = torch.tensor([[0.25, 0.75], [0.5, 0.5]])
    out = kl_discrete(p, q)
    assert isinstance(out, torch.Tensor) and out.shape == (2,)
    expected = kl_divergence(Categorical(probs=p), Categorical(probs=q))
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("p, q, message", [
    ([0.5, 0.6], [0.5, 0.5], "sum to 1"),
    ([1.2, -0.2], [0.5, 0.5], "negative"),
    ([0.5, float("nan")], [0.5, 0.5], "NaN"),
    ([0.5, 0.5], [0.2, 0.3, 0.5], "same shape"),
    ([], [], "empty"),
    (0.5, 0.5, "vector"),
    (["a", "b"], [0.5, 0.5], "numeric"),
])
def test_bad_discrete_input_raises_value_error(p, q, message):
    with pytest.raises(ValueError, match=message):
        kl_discrete(p, q)


# ----------------------------------------------------------------------------- Gaussian

def test_kl_normal_homework_values():
    # KL(N(6, 4²) ‖ N(0, 1)) = ½(36 + 16 − ln 16 − 1); the reverse = ln 4 + 37/32 − ½
    assert kl_normal(6.0, 4.0) == pytest.approx(0.5 * (36 + 16 - math.log(16) - 1))
    assert kl_normal(6.0, 4.0) == pytest.approx(24.1137, abs=1e-4)
    assert kl_normal(0.0, 1.0, 6.0, 4.0) == pytest.approx(math.log(4) + 37 / 32 - 0.5)
    assert kl_normal(0.0, 1.0, 6.0, 4.0) == pytest.approx(2.0425, abs=1e-4)


def test_kl_normal_matches_torch_distributions_with_broadcasting():
    g = torch.Generator().manual_seed(0)
    mu1, mu2 = torch.randn(20, 1, generator=g, dtype=torch.float64), torch.randn(1, 7, generator=g, dtype=torch.float64)
    s1 = torch.rand(20, 1, generator=g, dtype=torch.float64) * 3 + 0.1
    s2 = torch.rand(1, 7, generator=g, dtype=torch.float64) * 3 + 0.1
    ours = kl_normal(mu1, s1, mu2, s2)
    assert ours.shape == (20, 7)
    torch.testing.assert_close(ours, kl_divergence(Normal(mu1, s1), Normal(mu2, s2)))
    # NumPy arrays give NumPy arrays with the same values
    np.testing.assert_allclose(kl_normal(mu1.numpy(), s1.numpy(), mu2.numpy(), s2.numpy()), ours.numpy())


def test_kl_normal_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mu1, s1, mu2, s2 = 0.7, 1.3, -0.4, 0.8
    x = rng.normal(mu1, s1, size=2_000_000)
    log_ratio = (np.log(s2 / s1) - (x - mu1) ** 2 / (2 * s1**2) + (x - mu2) ** 2 / (2 * s2**2))
    assert kl_normal(mu1, s1, mu2, s2) == pytest.approx(log_ratio.mean(), abs=4 * log_ratio.std() / np.sqrt(x.size))


def test_lecture_notes_asymmetry_numbers_are_wrong():
    # The notes claim KL(N(0,1)‖N(0,2)) ≈ 0.443 and the reverse ≈ 0.693. Neither reading of "2" gives that.
    variance_two = (kl_normal(0, 1, 0, math.sqrt(2)), kl_normal(0, math.sqrt(2), 0, 1))
    sigma_two = (kl_normal(0, 1, 0, 2), kl_normal(0, 2, 0, 1))
    assert variance_two == pytest.approx((0.5 * math.log(2) - 0.25, 0.5 - 0.5 * math.log(2)))
    assert sigma_two == pytest.approx((math.log(2) - 0.375, 1.5 - math.log(2)))
    for pair in (variance_two, sigma_two):
        assert pair != pytest.approx((0.443, 0.693), abs=1e-2)


def test_kl_normal_returns_float_for_scalars_and_tensor_for_tensors():
    assert isinstance(kl_normal(1.0, 2.0), float)
    assert isinstance(kl_normal(torch.tensor(1.0), 2.0), torch.Tensor)


@pytest.mark.parametrize("args, message", [
    ((0.0, 0.0), "sigma1 must be > 0"),
    ((0.0, -1.0), "sigma1 must be > 0"),
    ((0.0, 1.0, 0.0, 0.0), "sigma2 must be > 0"),
    ((float("nan"), 1.0), "mu1 contains NaN"),
    ((0.0, float("inf")), "sigma1 contains NaN or infinite"),
    ((np.zeros(3), np.ones(2)), "do not broadcast"),
    (("a", 1.0), "mu1 must be numeric"),
    ((torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])), "sigma1 must be > 0"),
])
def test_kl_normal_bad_input_raises_value_error(args, message):
    with pytest.raises(ValueError, match=message):
        kl_normal(*args)


# ----------------------------------------------------------------------------- the VAE term

def test_kl_diag_gaussian_matches_torch_sum_over_latent_dims():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    q = Normal(mu, torch.exp(0.5 * logvar))
    expected = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    ours = kl_diag_gaussian(mu, logvar)
    assert ours.shape == (8,)
    torch.testing.assert_close(ours, expected)
    # it is the sum of univariate KLs, one per latent dimension
    torch.testing.assert_close(ours, kl_normal(mu, torch.exp(0.5 * logvar)).sum(-1))


def test_kl_diag_gaussian_is_zero_at_the_prior():
    assert kl_diag_gaussian(np.zeros(4), np.zeros(4)) == 0.0


@pytest.mark.parametrize("mu, logvar, message", [
    (np.zeros(3), np.zeros(4), "same shape"),
    (0.0, 0.0, "latent dimension"),
    (np.array([0.0, np.nan]), np.zeros(2), "mu contains NaN"),
])
def test_kl_diag_gaussian_bad_input(mu, logvar, message):
    with pytest.raises(ValueError, match=message):
        kl_diag_gaussian(mu, logvar)


def test_normal_pdf_matches_torch_and_rejects_bad_sigma():
    x = torch.linspace(-4, 4, 9, dtype=torch.float64)
    torch.testing.assert_close(normal_pdf(x, 0.5, 2.0), Normal(0.5, 2.0).log_prob(x).exp().double())
    np.testing.assert_allclose(normal_pdf(x.numpy(), 0.5, 2.0), normal_pdf(x, 0.5, 2.0).numpy())
    assert normal_pdf(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        normal_pdf(0.0, 0.0, 0.0)


# ----------------------------------------------------------------------------- hostile input

def test_extreme_but_valid_sigmas_give_the_finite_answer():
    # log σ₂ − log σ₁ = 600·ln 10, the other terms vanish: 1381.05 nats (σ₂/σ₁ = 1e600 overflows)
    expected = 600 * math.log(10) - 0.5
    assert kl_normal(0.0, 1e-300, 0.0, 1e300) == pytest.approx(expected, rel=1e-12)
    assert kl_normal(0.0, 1e-300) == pytest.approx(300 * math.log(10) - 0.5, rel=1e-12)
    t = kl_normal(torch.tensor([0.0], dtype=torch.float64), torch.tensor([1e-300], dtype=torch.float64), 0.0, 1e300)
    assert torch.isfinite(t).all() and float(t) == pytest.approx(expected, rel=1e-12)
    # where the true value is not representable, inf is the right float answer
    assert kl_normal(0.0, 1e300, 0.0, 1e-300) == math.inf
    # the density in log space: a tiny σ gives its (finite) peak, not inf/nan
    assert normal_pdf(0.0, 0.0, 1e-300) == pytest.approx(1 / (1e-300 * math.sqrt(2 * math.pi)), rel=1e-12)


def test_nan_and_inf_arguments_are_refused_by_name_everywhere():
    with pytest.raises(ValueError, match="x contains NaN"):
        normal_pdf(float("nan"))
    with pytest.raises(ValueError, match="mu contains NaN"):
        normal_pdf(np.zeros(3), np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="sigma contains NaN or infinite"):
        normal_pdf(torch.zeros(2), 0.0, torch.tensor([1.0, float("inf")]))
    with pytest.raises(ValueError, match="mu2 contains NaN"):
        kl_normal(0.0, 1.0, float("nan"), 1.0)
    with pytest.raises(ValueError, match="logvar contains NaN"):
        kl_diag_gaussian(torch.zeros(2, 3), torch.full((2, 3), float("nan")))
    with pytest.raises(ValueError, match="q contains NaN"):
        kl_discrete([0.5, 0.5], [float("nan"), 1.0])


@pytest.mark.parametrize("atol, error", [(-1e-6, ValueError), (float("nan"), ValueError), (0.5, ValueError),
                                         (1.0, ValueError), (True, TypeError), ("1e-6", TypeError)])
def test_atol_must_be_a_small_non_negative_number(atol, error):
    for fn, args in ((entropy, ([0.5, 0.5],)), (kl_discrete, ([0.5, 0.5], [0.5, 0.5])),
                     (cross_entropy, ([0.5, 0.5], [0.5, 0.5]))):
        with pytest.raises(error, match="atol"):
            fn(*args, atol=atol)
    # the largest accepted tolerance still refuses a vector summing to 1.01
    with pytest.raises(ValueError, match="sum to 1"):
        entropy([0.51, 0.5], atol=1e-3)


def test_numpy_scalars_are_numbers_and_bools_are_not():
    assert kl_normal(np.float32(6.0), np.float32(4.0)) == pytest.approx(kl_normal(6.0, 4.0), rel=1e-6)
    assert normal_pdf(np.float64(0.0), np.int64(0), np.float32(1.0)) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert entropy([0.5, 0.5], atol=np.float32(1e-4)) == pytest.approx(math.log(2))
    for args in ((True, 1.0), (0.0, np.bool_(True)), (np.array([True, False]), 1.0)):
        with pytest.raises(TypeError, match="must be numeric, got booleans"):
            kl_normal(*args)
    with pytest.raises(TypeError, match="p must be numeric"):
        entropy([True, False])
    with pytest.raises(TypeError, match="sigma1 must be real"):
        kl_normal(0.0, 1j)


def test_empty_batches_give_empty_results():
    for p in (np.zeros((0, 3)), torch.zeros(0, 3)):
        assert tuple(entropy(p).shape) == (0,)
        assert tuple(kl_discrete(p, p).shape) == (0,)
    assert tuple(kl_diag_gaussian(torch.zeros(0, 4), torch.zeros(0, 4)).shape) == (0,)
    assert tuple(kl_normal(np.zeros(0), np.ones(0)).shape) == (0,)


def test_tensors_on_different_devices_name_both_arguments():
    cpu, meta = torch.zeros(3), torch.ones(3, device="meta")
    with pytest.raises(ValueError, match="mu1 is on cpu but sigma1 is on meta"):
        kl_normal(cpu, meta)
    with pytest.raises(ValueError, match="p is on meta but q is on cpu"):
        kl_discrete(torch.full((2,), 0.5, device="meta"), torch.full((2,), 0.5))
    with pytest.raises(ValueError, match="mu is on cpu but logvar is on meta"):
        kl_diag_gaussian(cpu, meta)
    with pytest.raises(ValueError, match="x is on cpu but sigma is on meta"):
        normal_pdf(cpu, 0.0, meta)
    # mixed float dtypes on one device are promoted, as torch does
    assert kl_normal(torch.tensor(6.0), torch.tensor(4.0, dtype=torch.float64)).dtype == torch.float64


# ----------------------------------------------------------------------------- Monte Carlo KL, independence

def test_kl_monte_carlo_agrees_with_closed_form_within_its_error():
    p, q = Normal(torch.tensor(0.5, dtype=torch.float64), 0.8), Normal(torch.tensor(-0.3, dtype=torch.float64), 1.5)
    est, se = kl_monte_carlo(p, q, n=200_000, seed=1)
    exact = kl_normal(0.5, 0.8, -0.3, 1.5)
    assert 0 < se < 0.01
    assert abs(est - exact) < 4 * se
    assert kl_monte_carlo(p, q, n=1000, seed=3) == kl_monte_carlo(p, q, n=1000, seed=3)   # seeded


def test_kl_monte_carlo_is_invariant_under_an_invertible_map():
    """KL(T#p‖T#q) = KL(p‖q): the Jacobian of T cancels in the log-ratio."""
    from torch.distributions import TransformedDistribution
    from torch.distributions.transforms import AffineTransform, ExpTransform, SigmoidTransform
    p, q = Normal(torch.tensor(0.5, dtype=torch.float64), 0.8), Normal(torch.tensor(-0.3, dtype=torch.float64), 1.5)
    exact = kl_normal(0.5, 0.8, -0.3, 1.5)
    for transforms in ([ExpTransform()], [AffineTransform(1.0, 0.5), SigmoidTransform()]):
        pt, qt = TransformedDistribution(p, transforms), TransformedDistribution(q, transforms)
        est, se = kl_monte_carlo(pt, qt, n=100_000, seed=2)
        assert abs(est - exact) < 4 * se


def test_kl_monte_carlo_infinite_where_q_has_no_mass_and_bad_input():
    from torch.distributions import Uniform
    narrow = Uniform(0.0, 1.0, validate_args=False)
    assert kl_monte_carlo(Uniform(0.0, 2.0), narrow, n=1000) == (math.inf, math.inf)
    with pytest.raises(TypeError, match="p must be"):
        kl_monte_carlo([0.5, 0.5], Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="n must be"):
        kl_monte_carlo(Normal(0.0, 1.0), Normal(0.0, 2.0), n=1)
    with pytest.raises(ValueError, match="Independent"):
        kl_monte_carlo(Normal(torch.zeros(2), 1.0), Normal(torch.zeros(2), 2.0), n=10)


def test_kl_is_additive_over_independent_parts_and_mutual_information_is_the_excess():
    p1, q1 = np.array([0.2, 0.5, 0.3]), np.array([0.4, 0.4, 0.2])
    p2, q2 = np.array([0.1, 0.6, 0.3]), np.array([0.3, 0.3, 0.4])
    product_kl = kl_discrete(np.outer(p1, p2).ravel(), np.outer(q1, q2).ravel())
    assert product_kl == pytest.approx(kl_discrete(p1, q1) + kl_discrete(p2, q2), rel=1e-12)
    assert mutual_information(np.outer(p1, p2)) == pytest.approx(0.0, abs=1e-12)
    # a dependent joint with marginals p1, p2: the joint KL exceeds the sum by I(X1; X2), computed directly
    joint = np.outer(p1, p2) + 0.03 * np.array([[1, -1, 0], [-1, 1, 0], [0, 0, 0]])
    assert np.allclose(joint.sum(1), p1) and np.allclose(joint.sum(0), p2)
    mi = sum(joint[i, j] * math.log(joint[i, j] / (p1[i] * p2[j])) for i in range(3) for j in range(3))
    assert mi > 0
    assert mutual_information(joint) == pytest.approx(mi, rel=1e-12)
    joint_kl = kl_discrete(joint.ravel(), np.outer(q1, q2).ravel())
    assert joint_kl == pytest.approx(kl_discrete(p1, q1) + kl_discrete(p2, q2) + mi, rel=1e-12)
    with pytest.raises(ValueError, match="2-D"):
        mutual_information([0.5, 0.5])
    with pytest.raises(ValueError, match="sum to 1"):
        mutual_information([[0.5, 0.5], [0.5, 0.5]])

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from vae_course.metrics import (active_units, active_units_callback, correlation_matrix, sharpness, discretize, encoder_means, factor_entropies,
                                mig, mutual_info, mutual_info_matrix, unit_activity)


def test_active_units_on_encoder_means_with_known_variance():
    torch.manual_seed(0)
    stds = torch.tensor([1.0, 0.3, 0.05, 0.0])          # variances 1, 0.09, 0.0025, 0
    mu = torch.randn(20_000, 4) * stds + torch.tensor([3.0, -1.0, 0.5, 2.0])
    torch.testing.assert_close(unit_activity(mu), stds**2, rtol=0.05, atol=1e-4)
    assert active_units(mu).tolist() == [True, True, False, False]
    assert active_units(mu, threshold=0.001).tolist() == [True, True, True, False]


class _LinearEncoder(nn.Module):
    """mu = scale * x[:, :3 pixels]; logvar = 0: the activity of unit d is scale_d² · Var(x)."""

    def __init__(self, scale):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))

    def encode(self, x):
        mu = x.flatten(1)[:, :3] * self.scale
        return mu, torch.zeros_like(mu)


def test_encoder_means_then_active_units_on_a_synthetic_encoder():
    torch.manual_seed(1)
    x = torch.rand(6000, 1, 28, 28)                      # Var(U[0,1]) = 1/12
    enc = _LinearEncoder([1.0, 0.2, 0.0])
    mu = encoder_means(enc, x, batch_size=1000)
    assert mu.shape == (6000, 3)
    torch.testing.assert_close(unit_activity(mu), torch.tensor([1 / 12, 0.04 / 12, 0.0]), rtol=0.06, atol=1e-6)
    assert active_units(mu).tolist() == [True, False, False]   # 0.0833 > 0.01 > 0.0033


def test_mutual_info_known_answers():
    a = np.array([0, 1] * 50)
    assert mutual_info(a, a) == pytest.approx(math.log(2))
    # a perfectly balanced product table: exactly independent
    assert mutual_info(np.repeat([0, 1, 2], 4), np.tile([0, 1, 2, 3], 3)) == pytest.approx(0.0, abs=1e-12)
    # joint [[.4, .1], [.1, .4]] with uniform marginals
    a = np.array([0] * 50 + [1] * 50)
    b = np.array([0] * 40 + [1] * 10 + [0] * 10 + [1] * 40)
    expected = 2 * 0.4 * math.log(0.4 / 0.25) + 2 * 0.1 * math.log(0.1 / 0.25)
    assert mutual_info(a, b) == pytest.approx(expected)
    with pytest.raises(ValueError, match="integer labels"):
        mutual_info(np.array([0.5, 1.0]), np.array([0, 1]))


def test_discretize_keeps_discrete_factors_and_bins_continuous_ones():
    v = np.stack([np.array([2.0, 0.0, 1.0, 2.0]), np.array([0.0, 0.25, 0.5, 1.0])], 1)
    d = discretize(v, bins=2)
    assert d[:, 0].tolist() == [1, 0, 1, 1]               # 3 distinct values > 2 bins: binned on [0, 2]
    d = discretize(v, bins=4)
    assert d[:, 0].tolist() == [2, 0, 1, 2]               # ≤ 4 distinct values: labels kept
    assert d[:, 1].tolist() == [0, 1, 2, 3]


def test_mig_is_one_for_an_axis_aligned_code_and_zero_for_a_duplicated_one():
    rng = np.random.default_rng(0)
    n = 20_000
    factors = np.stack([rng.integers(0, 3, n), rng.uniform(0, 1, n)], 1).astype(float)
    noise = rng.normal(size=n)
    aligned = np.stack([factors[:, 1] * 5, noise, factors[:, 0] + 0.01 * rng.normal(size=n)], 1)
    assert mig(aligned, factors) > 0.9
    assert correlation_matrix(aligned, factors).argmax(0).tolist() == [2, 0]
    # the same factor copied into two latents: the gap is exactly 0 for that factor
    duplicated = np.stack([factors[:, 1], factors[:, 1], noise], 1)
    gaps = mig(duplicated, factors, per_factor=True)
    assert gaps[1] == pytest.approx(0.0, abs=1e-12)


def test_mig_is_low_for_a_rotated_code():
    rng = np.random.default_rng(1)
    f = rng.uniform(-1, 1, size=(20_000, 2))
    z = np.stack([f[:, 0] + f[:, 1], f[:, 0] - f[:, 1]], 1)     # 45° rotation: every latent mixes both
    assert mig(z, f) < 0.15
    assert mig(f, f) > 0.95
    mi = mutual_info_matrix(f, f)
    np.testing.assert_allclose(np.diag(mi), factor_entropies(f), rtol=1e-12)


def test_correlation_matrix_values_and_constant_latent():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(1000, 2))
    z = np.stack([2 * f[:, 0] + 1, -f[:, 1], np.zeros(1000)], 1)
    c = correlation_matrix(z, f)
    np.testing.assert_allclose(c[:2], [[1, abs(np.corrcoef(f.T)[0, 1])], [abs(np.corrcoef(f.T)[0, 1]), 1]], atol=1e-9)
    assert c[2].tolist() == [0.0, 0.0]


def test_metric_errors():
    with pytest.raises(ValueError, match="NaN"):
        active_units(torch.tensor([[0.0], [float("nan")]]))
    with pytest.raises(ValueError, match="at least 2 latent"):
        mig(np.random.rand(10, 1), np.random.rand(10, 2))
    with pytest.raises(ValueError, match="same number of rows"):
        correlation_matrix(np.random.rand(10, 2), np.random.rand(9, 2))
    with pytest.raises(ValueError, match="bins"):
        discretize(np.random.rand(10, 2), bins=1)


def test_active_units_callback_records_one_count_per_epoch():
    from vae_course.train import History
    x = torch.rand(500, 1, 28, 28)
    enc = _LinearEncoder([1.0, 0.2, 0.0])
    h = History()
    cb = active_units_callback(enc, x)
    cb(1, h)
    with torch.no_grad():
        enc.scale[1] = 1.0                      # now two units move with x
    cb(2, h)
    assert h.train["active_units"] == [1.0, 2.0]


def test_sharpness_known_values_and_blur():
    assert sharpness(torch.zeros(3, 1, 8, 8)) == 0.0
    checker = ((torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2).float().reshape(1, 1, 8, 8)
    assert sharpness(checker) == pytest.approx(2 * 8 * 7 / 64)          # every neighbour pair differs by 1
    torch.manual_seed(0)
    x = (torch.rand(4, 1, 28, 28) > 0.7).float()
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    assert sharpness(blurred) < 0.5 * sharpness(x)
    with pytest.raises(ValueError, match="shape"):
        sharpness(torch.zeros(28, 28))

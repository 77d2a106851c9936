"""Lecture 06's latent-space helpers: lerp, slerp, class means, arithmetic, the Gaussian-quantile grid,
and the load-or-train fallback."""
import math
from statistics import NormalDist

import numpy as np
import pytest
import torch
from torch import nn

from vae_course.latent import (class_means, decode_images, encode_mean, gaussian_grid, latent_arithmetic, lerp,
                               manifold_grid, nearest_class_mean, slerp)
from vae_course.train import load_or_train


def _angle(a, b):
    return math.acos(max(-1.0, min(1.0, float(a @ b / (a.norm() * b.norm())))))


# ----------------------------------------------------------------------------- lerp / slerp

def test_lerp_endpoints_midpoint_and_shapes():
    z0, z1 = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([3.0, 2.0, -1.0])
    torch.testing.assert_close(lerp(z0, z1, 0.0), z0)
    torch.testing.assert_close(lerp(z0, z1, 1.0), z1)
    torch.testing.assert_close(lerp(z0, z1, 0.25), torch.tensor([1.5, -1.0, 2.0]))
    path = lerp(z0, z1, torch.linspace(0, 1, 5))
    assert path.shape == (5, 3)
    torch.testing.assert_close(path[2], (z0 + z1) / 2)
    assert lerp([0.0, 0.0], [2.0, 4.0], [0.5]).shape == (1, 2)


def test_slerp_on_the_unit_circle_is_a_rotation():
    e1, e2 = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    for t in (0.0, 0.1, 1 / 3, 0.5, 0.9, 1.0):
        expected = torch.tensor([math.cos(t * math.pi / 2), math.sin(t * math.pi / 2)], dtype=torch.float64)
        torch.testing.assert_close(slerp(e1, e2, t), expected)


def test_slerp_endpoints_norms_and_equal_angles():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 16, generator=g, dtype=torch.float64)
    torch.testing.assert_close(slerp(z0, z1, 0.0), z0)
    torch.testing.assert_close(slerp(z0, z1, 1.0), z1)
    # equal norms: every point keeps that norm, and equal steps in t sweep equal angles
    z1 = z1 * z0.norm() / z1.norm()
    ts = torch.linspace(0, 1, 11, dtype=torch.float64)
    path = slerp(z0, z1, ts)
    torch.testing.assert_close(path.norm(dim=1), torch.full((11,), float(z0.norm()), dtype=torch.float64))
    omega = _angle(z0, z1)
    for t, z in zip(ts, path):
        assert _angle(z0, z) == pytest.approx(float(t) * omega, abs=1e-6)
    # ... while the lerp midpoint is shorter: cos(Ω/2)·‖z₀‖
    assert float(lerp(z0, z1, 0.5).norm()) == pytest.approx(math.cos(omega / 2) * float(z0.norm()), rel=1e-9)


def test_lerp_and_slerp_midpoints_of_orthogonal_vectors():
    z0, z1 = torch.zeros(64, dtype=torch.float64), torch.zeros(64, dtype=torch.float64)
    z0[0], z1[1] = 8.0, 8.0
    assert float(lerp(z0, z1, 0.5).norm()) == pytest.approx(math.sqrt(128) / 2)
    assert float(slerp(z0, z1, 0.5).norm()) == pytest.approx(8.0)


def test_slerp_parallel_falls_back_to_lerp_and_bad_input_is_a_clear_error():
    z0 = torch.ones(8, dtype=torch.float64)
    torch.testing.assert_close(slerp(z0, 2 * z0, 0.5), 1.5 * z0)
    with pytest.raises(ValueError, match="opposite"):
        slerp(z0, -z0, 0.5)
    with pytest.raises(ValueError, match="non-zero"):
        slerp(torch.zeros(8), z0, 0.5)
    with pytest.raises(ValueError, match="same length"):
        slerp(torch.ones(3), torch.ones(4), 0.5)
    with pytest.raises(ValueError, match="same length"):
        lerp(torch.ones(2, 3), torch.ones(2, 3), 0.5)
    with pytest.raises(ValueError, match="finite"):
        lerp(torch.tensor([1.0, float("nan")]), torch.ones(2), 0.5)
    with pytest.raises(ValueError, match="t must be finite"):
        slerp(torch.ones(2), torch.tensor([1.0, 0.0]), float("inf"))


# ----------------------------------------------------------------------------- class means and arithmetic

def test_class_means_match_a_direct_computation():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 3))
    labels = rng.integers(0, 4, 50)
    means = class_means(torch.tensor(z), torch.tensor(labels))
    assert sorted(means) == sorted(set(labels.tolist()))
    for c, m in means.items():
        np.testing.assert_allclose(m.numpy(), z[labels == c].mean(axis=0))
    assert sorted(class_means(torch.tensor(z), torch.tensor(labels), classes=[1, 3])) == [1, 3]


def test_class_means_errors():
    z, labels = torch.zeros(4, 2), torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match="class 7 has no example"):
        class_means(z, labels, classes=[7])
    with pytest.raises(ValueError, match="4 rows but labels has 3"):
        class_means(z, labels[:3])
    with pytest.raises(ValueError, match="latent_dim"):
        class_means(torch.zeros(4), labels)


def test_latent_arithmetic_adds_the_class_difference():
    means = {1: torch.tensor([1.0, 0.0]), 7: torch.tensor([0.0, 2.0])}
    z = torch.tensor([0.5, 0.5])
    torch.testing.assert_close(latent_arithmetic(z, means, 1, 7), torch.tensor([-0.5, 2.5]))
    torch.testing.assert_close(latent_arithmetic(z, means, 1, 7, alpha=0.5), torch.tensor([0.0, 1.5]))
    torch.testing.assert_close(latent_arithmetic(z, means, 1, 7, alpha=0.0), z)
    batch = latent_arithmetic(torch.zeros(3, 2), means, 7, 1)
    torch.testing.assert_close(batch, torch.tensor([[1.0, -2.0]] * 3))
    # the arithmetic of class means: the mean of 1s moved by (m7 - m1) is exactly the mean of 7s
    torch.testing.assert_close(latent_arithmetic(means[1], means, 1, 7), means[7])
    with pytest.raises(ValueError, match="no class mean for 3"):
        latent_arithmetic(z, means, 3, 7)
    with pytest.raises(ValueError, match="alpha"):
        latent_arithmetic(z, means, 1, 7, alpha=float("nan"))
    with pytest.raises(ValueError, match="3 latent dimensions"):
        latent_arithmetic(torch.zeros(3), means, 1, 7)


def test_nearest_class_mean_classifies_by_pixel_distance():
    a, b = torch.zeros(1, 28, 28), torch.ones(1, 28, 28)
    x = torch.stack([torch.full((1, 28, 28), 0.2), torch.full((1, 28, 28), 0.9), torch.full((1, 28, 28), 0.4)])
    assert nearest_class_mean(x, {3: a, 7: b}).tolist() == [3, 7, 3]
    with pytest.raises(ValueError, match="pixels"):
        nearest_class_mean(torch.zeros(2, 10), {3: a})
    with pytest.raises(ValueError, match="empty"):
        nearest_class_mean(x, {})


# ----------------------------------------------------------------------------- Gaussian-quantile grid

def test_gaussian_grid_is_the_inverse_cdf_of_a_regular_grid():
    n = 5
    grid = gaussian_grid(n)
    q = [NormalDist().inv_cdf(u) for u in np.linspace(0.05, 0.95, n)]
    assert grid.shape == (n * n, 2)
    for r in range(n):
        for c in range(n):
            assert grid[r * n + c, 0].item() == pytest.approx(q[c], abs=1e-6)          # z1 left → right
            assert grid[r * n + c, 1].item() == pytest.approx(q[n - 1 - r], abs=1e-6)  # z2 top → bottom decreasing
    assert grid[0, 0].item() == pytest.approx(-1.6449, abs=1e-4)   # Φ⁻¹(0.05)
    assert gaussian_grid(3, 0.25, 0.75)[4].tolist() == pytest.approx([0.0, 0.0], abs=1e-7)


@pytest.mark.parametrize("kw, message", [({"n": 1}, "n must be"), ({"n": 2.5}, "n must be"),
                                         ({"n": 4, "lo": 0.0}, "0 < lo < hi < 1"),
                                         ({"n": 4, "lo": 0.6, "hi": 0.5}, "0 < lo < hi < 1")])
def test_gaussian_grid_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        gaussian_grid(**kw)


class CodeDecoder(nn.Module):
    """Decodes z to a flat image whose every pixel has logit z₁ (top half) or z₂ (bottom half)."""

    def __init__(self, latent_dim=2):
        super().__init__()
        self.latent_dim = latent_dim
        self.scale = nn.Parameter(torch.ones(()))

    def decode(self, z):
        top = z[:, :1, None, None].expand(-1, 1, 14, 28)
        bottom = z[:, 1:2, None, None].expand(-1, 1, 14, 28)
        return self.scale * torch.cat([top, bottom], dim=2)

    def encode(self, x):
        m = x.flatten(1).mean(1, keepdim=True)
        mu = torch.cat([m, -m], dim=1)
        return mu, torch.zeros_like(mu)


def test_manifold_grid_puts_each_decoded_code_in_its_tile():
    n = 4
    model = CodeDecoder()
    image = manifold_grid(model, n)
    assert image.shape == (n * 28, n * 28)
    grid = gaussian_grid(n)
    for r in range(n):
        for c in range(n):
            tile = image[28 * r:28 * (r + 1), 28 * c:28 * (c + 1)]
            z1, z2 = grid[r * n + c]
            assert tile[:14].mean().item() == pytest.approx(torch.sigmoid(z1).item(), abs=1e-6)
            assert tile[14:].mean().item() == pytest.approx(torch.sigmoid(z2).item(), abs=1e-6)
    with pytest.raises(ValueError, match="2-D latent"):
        manifold_grid(CodeDecoder(3))


def test_decode_images_and_encode_mean():
    model = CodeDecoder()
    images = decode_images(model, torch.tensor([0.0, 2.0]))
    assert images.shape == (1, 1, 28, 28) and images.device.type == "cpu"
    assert images[0, 0, 20, 3].item() == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item())
    with pytest.raises(ValueError, match="latent_dim is 2"):
        decode_images(model, torch.zeros(1, 3))
    x = torch.rand(7, 1, 28, 28)
    mu = encode_mean(model, x, batch_size=3)
    torch.testing.assert_close(mu, model.encode(x)[0].detach())
    with pytest.raises(ValueError, match="1, 28, 28"):
        encode_mean(model, torch.rand(7, 784))
    model.to("meta")
    with pytest.raises(ValueError, match="meta"):
        decode_images(model, torch.zeros(1, 2))


# ----------------------------------------------------------------------------- load or train

def _bars(n=64, seed=0):
    """A small set of simple images (vertical and horizontal bars) to exercise training code paths."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 28, 28)
    pos = torch.randint(4, 24, (n,), generator=g)
    for i in range(n):
        if i % 2:
            x[i, 0, :, pos[i] - 2:pos[i] + 2] = 1.0
        else:
            x[i, 0, pos[i] - 2:pos[i] + 2, :] = 1.0
    return x


def test_load_or_train_trains_when_there_is_no_file_and_saves(tmp_path):
    from vae_course.train import load_checkpoint
    path = tmp_path / "conv_vae.pt"
    x = _bars()
    model, message = load_or_train(path, 2, x, epochs=1, model_class="MLPVAE", progress=False, save=True, seed=0)
    assert model.latent_dim == 2 and not model.training
    assert "no checkpoint" in message and "trained" in message and "saved" in message
    loaded, _ = load_checkpoint(path)
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        torch.testing.assert_close(a.cpu(), b)
    # now the file fits: it is loaded, not retrained
    again, message = load_or_train(path, 2, x, epochs=1, model_class="MLPVAE", progress=False)
    assert message.startswith("loaded MLPVAE (latent_dim=2)")
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a.cpu(), b)


def test_load_or_train_retrains_on_latent_mismatch_and_on_a_corrupt_file(tmp_path):
    from vae_course.models import MLPVAE
    from vae_course.train import save_checkpoint
    path = tmp_path / "conv_vae.pt"
    save_checkpoint(MLPVAE(3), path)
    model, message = load_or_train(path, 2, _bars(), epochs=1, model_class="MLPVAE", progress=False)
    assert model.latent_dim == 2
    assert "latent_dim=3" in message and "needs latent_dim=2" in message and "trained" in message
    path.write_bytes(b"not a checkpoint")
    model, message = load_or_train(path, 2, _bars(), epochs=1, model_class="MLPVAE", progress=False)
    assert "could not be read" in message and model.latent_dim == 2


def test_load_or_train_accepts_a_range_of_latent_sizes(tmp_path):
    from vae_course.models import MLPVAE
    from vae_course.train import save_checkpoint
    path = tmp_path / "conv_vae.pt"
    save_checkpoint(MLPVAE(12), path)
    model, message = load_or_train(path, range(8, 21), _bars(), train_latent_dim=16, model_class="MLPVAE", progress=False)
    assert model.latent_dim == 12 and message.startswith("loaded")
    model, message = load_or_train(path, range(2, 5), _bars(), train_latent_dim=3, epochs=1, model_class="MLPVAE",
                                   progress=False)
    assert model.latent_dim == 3 and "needs latent_dim in 2..4" in message


def test_load_or_train_default_is_the_conv_vae_and_errors(tmp_path):
    model, message = load_or_train(tmp_path / "missing.pt", 4, _bars(16), epochs=1, progress=False, batch_size=8)
    assert type(model).__name__ == "ConvVAE" and model.latent_dim == 4
    with pytest.raises(ValueError, match="must be an integer to train"):
        load_or_train(tmp_path / "missing.pt", range(8, 21), _bars(16), epochs=1, progress=False)
    with pytest.raises(ValueError, match="no 'NoSuchVAE'"):
        load_or_train(tmp_path / "missing.pt", 2, _bars(16), epochs=1, model_class="NoSuchVAE", progress=False)


def test_encode_posterior_and_aggregate_moments():
    from vae_course.latent import aggregate_moments, encode_posterior
    from vae_course.models import MLPVAE

    torch.manual_seed(0)
    model = MLPVAE(3, hidden=(16,))
    x = torch.rand(7, 1, 28, 28)
    mu, logvar = encode_posterior(model, x, batch_size=3)
    with torch.no_grad():
        mu_ref, logvar_ref = model.encode(x)
    assert torch.allclose(mu, mu_ref, atol=1e-6) and torch.allclose(logvar, logvar_ref, atol=1e-6)
    # the aggregate's second moment against a Monte Carlo estimate from samples of the mixture
    m = aggregate_moments(mu, logvar)
    g = torch.Generator().manual_seed(1)
    z = mu.double()[None] + (0.5 * logvar.double()).exp()[None] * torch.randn(20000, 7, 3, generator=g, dtype=torch.float64)
    assert torch.allclose(m["total"], z.pow(2).mean((0, 1)), rtol=0.03)
    assert torch.allclose(m["total"], m["mu_sq"] + m["sigma_sq"])
    with pytest.raises(ValueError, match="shape"):
        aggregate_moments(mu, logvar[:, :2])
    with pytest.raises(ValueError, match="mu, logvar"):
        encode_posterior(_ae(), x)


def _ae():
    from vae_course.models import Autoencoder
    return Autoencoder(2, hidden=(8,))


def test_decoder_steps_measure_the_pixel_change_of_a_small_step():
    from vae_course.latent import decoder_steps

    class Linear(nn.Module):                      # decode(z) = logit of a known image: sigmoid(W z) per pixel
        latent_dim = 2

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(784, 2))
            with torch.no_grad():
                self.w[:, 0] = 1.0

        def decode(self, z):
            return (z @ self.w.T).view(-1, 1, 28, 28)

    model = Linear()
    z = torch.zeros(5, 2)
    steps = decoder_steps(model, z, step=1e-3, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    u = torch.randn(5, 2, generator=g)
    u = u / u.norm(dim=1, keepdim=True)
    # sigmoid'(0) = 1/4: every pixel moves by 1/4 · step · u_1, so the RMS change is that too
    assert torch.allclose(steps, 0.25 * 1e-3 * u[:, 0].abs(), rtol=1e-2)
    with pytest.raises(ValueError, match="step"):
        decoder_steps(model, z, step=0)
    with pytest.raises(ValueError, match="shape"):
        decoder_steps(model, torch.zeros(2))

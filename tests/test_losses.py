import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal, kl_divergence

from vae_course import losses
from vae_course.info import kl_diag_gaussian


def batch(b=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(b, 1, 28, 28, generator=g) > 0.5).float()
    logits = torch.randn(b, 1, 28, 28, generator=g) * 2
    mu = torch.randn(b, 8, generator=g)
    logvar = torch.randn(b, 8, generator=g)
    return x, logits, mu, logvar


def test_bernoulli_log_likelihood_matches_torch_distributions():
    x, logits, _, _ = batch()
    expected = Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(losses.bernoulli_log_likelihood(logits, x), expected, atol=1e-4)


def test_gaussian_log_likelihood_and_where_mse_comes_from():
    x, logits, _, _ = batch()
    x_hat = torch.sigmoid(logits)
    for sigma in (0.1, 1.0, math.sqrt(0.5)):
        expected = Normal(x_hat, sigma).log_prob(x).flatten(1).sum(1)
        got = losses.gaussian_log_likelihood(x_hat, x, sigma)
        assert torch.allclose(got, expected, rtol=1e-5)
        assert torch.allclose(losses.mse_as_gaussian_nll(x_hat, x, sigma), -expected, rtol=1e-5)
    # σ² = 1/2: -log N = summed squared error + (D/2) log π
    sse = (x - x_hat).pow(2).flatten(1).sum(1)
    assert torch.allclose(-losses.gaussian_log_likelihood(x_hat, x, math.sqrt(0.5)), sse + 392 * math.log(math.pi), rtol=1e-5)
    with pytest.raises(ValueError, match="sigma"):
        losses.gaussian_log_likelihood(x_hat, x, 0.0)


def test_kl_matches_torch_distributions_and_info():
    _, _, mu, logvar = batch()
    q, p = Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)
    expected = kl_divergence(q, p)
    assert torch.allclose(losses.kl_per_dim(mu, logvar), expected, atol=1e-5)
    assert torch.allclose(losses.kl_term(mu, logvar), expected.sum(1), atol=1e-4)
    assert torch.allclose(losses.kl_term(mu, logvar), kl_diag_gaussian(mu, logvar), atol=1e-5)


def test_loss_sums_over_pixels_and_latents_and_averages_over_the_batch():
    x, logits, mu, logvar = batch(b=6)
    terms = losses.vae_loss(losses.bernoulli_log_likelihood(logits, x), mu, logvar)
    bce_sum = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    bce_mean = F.binary_cross_entropy_with_logits(logits, x, reduction="mean")
    assert torch.allclose(terms["recon"], bce_sum / 6, rtol=1e-5)              # nats per image
    assert torch.allclose(terms["recon"], bce_mean * 784, rtol=1e-5)           # not per pixel
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    assert torch.allclose(terms["kl"], kl.sum() / 6, rtol=1e-5)
    assert torch.allclose(terms["loss"], terms["recon"] + terms["kl"])
    assert torch.allclose(terms["elbo"], -terms["loss"])
    assert terms["kl_per_dim"].shape == (8,)
    # per image: duplicating the batch changes nothing
    doubled = losses.vae_loss(losses.bernoulli_log_likelihood(logits.repeat(2, 1, 1, 1), x.repeat(2, 1, 1, 1)),
                              mu.repeat(2, 1), logvar.repeat(2, 1))
    for k in ("loss", "recon", "kl"):
        assert torch.allclose(doubled[k], terms[k], rtol=1e-5)


def test_beta_weights_only_the_kl():
    x, logits, mu, logvar = batch()
    ll = losses.bernoulli_log_likelihood(logits, x)
    t = losses.vae_loss(ll, mu, logvar, beta=4.0)
    assert torch.allclose(t["loss"], t["recon"] + 4.0 * t["kl"])
    assert torch.allclose(t["elbo"], -(t["recon"] + t["kl"]))       # the ELBO is β-free
    with pytest.raises(ValueError, match="beta"):
        losses.vae_loss(ll, mu, logvar, beta=-1.0)


def test_free_bits_floor_the_batch_mean_kl_per_dimension():
    kl_dims = torch.tensor([[0.1, 2.0, 0.0], [0.3, 4.0, 0.0]], requires_grad=True)   # batch means 0.2, 3.0, 0.0
    assert torch.allclose(losses.free_bits_kl(kl_dims, 0.0), torch.tensor(3.2))
    value = losses.free_bits_kl(kl_dims, 0.5)
    assert torch.allclose(value, torch.tensor(0.5 + 3.0 + 0.5))
    value.backward()
    # dimensions under the floor get no gradient, the others the plain 1/B
    assert torch.allclose(kl_dims.grad, torch.tensor([[0.0, 0.5, 0.0], [0.0, 0.5, 0.0]]))
    with pytest.raises(ValueError, match="free_bits"):
        losses.free_bits_kl(kl_dims, -1.0)


def test_free_bits_in_vae_loss():
    x, logits, mu, logvar = batch()
    ll = losses.bernoulli_log_likelihood(logits, x)
    t = losses.vae_loss(ll, mu, logvar, free_bits=2.0)
    floor = torch.clamp(losses.kl_per_dim(mu, logvar).mean(0), min=2.0).sum()
    assert torch.allclose(t["loss"], t["recon"] + floor)
    assert torch.allclose(t["kl"], losses.kl_term(mu, logvar).mean())    # the reported KL is the true one


def test_bad_inputs_raise_value_errors():
    x, logits, mu, logvar = batch()
    with pytest.raises(ValueError, match="same shape"):
        losses.bernoulli_log_likelihood(logits[:, :, :27], x)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.bernoulli_log_likelihood(logits, x * 255)
    with pytest.raises(ValueError, match="same shape"):
        losses.kl_term(mu, logvar[:, :3])
    with pytest.raises(ValueError, match="one value per image"):
        losses.vae_loss(torch.zeros(3), mu, logvar)
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\).*unsqueeze"):
        losses.check_images(x[:, 0])
    with pytest.raises(ValueError, match="255"):
        losses.check_images((x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.check_images(x - 0.5)

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


# ----------------------------------------------------------------------------- hostile input

def _with(t, value, at=(0,)):
    t = t.clone()
    t.view(-1)[at[0]] = value
    return t


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_and_inf_arguments_are_refused_by_name(bad):
    x, logits, mu, logvar = batch()
    ll = losses.bernoulli_log_likelihood(logits, x)
    word = "NaN" if bad != bad else "infinite"
    cases = [
        (lambda: losses.bernoulli_log_likelihood(_with(logits, bad), x), "logits"),
        (lambda: losses.bernoulli_log_likelihood(logits, _with(x, bad)), "x"),
        (lambda: losses.gaussian_log_likelihood(_with(x, bad), x, 1.0), "x_hat"),
        (lambda: losses.mse_as_gaussian_nll(x, _with(x, bad), 1.0), "x"),
        (lambda: losses.kl_per_dim(_with(mu, bad), logvar), "mu"),
        (lambda: losses.kl_term(mu, _with(logvar, bad)), "logvar"),
        (lambda: losses.vae_loss(ll, mu, _with(logvar, bad)), "logvar"),
        (lambda: losses.vae_loss(_with(ll, bad), mu, logvar), "log_px_z"),
        (lambda: losses.check_images(_with(x, bad), "images"), "images"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=f"^{name} contains {word}"):
            call()


def test_training_loops_can_skip_the_value_checks():
    x, logits, mu, logvar = batch()
    nan_logvar = _with(logvar, float("nan"))
    out = losses.vae_loss(losses.bernoulli_log_likelihood(logits, x, validate=False), mu, nan_logvar, validate=False)
    assert torch.isnan(out["loss"])                      # computed, not checked: the caller validated at its boundary


def test_out_of_range_and_wrongly_typed_parameters():
    import numpy as np
    x, logits, mu, logvar = batch()
    x_hat = torch.sigmoid(logits)
    for fn in (losses.gaussian_log_likelihood, losses.mse_as_gaussian_nll):
        for sigma in (0.0, -1.0, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="sigma"):
                fn(x_hat, x, sigma)
        for sigma in (True, "1.0", None, torch.ones(2)):
            with pytest.raises(TypeError, match="sigma must be a number"):
                fn(x_hat, x, sigma)
        # NumPy scalars and 0-d tensors are numbers
        expected = fn(x_hat, x, 0.5)
        for sigma in (np.float32(0.5), np.float64(0.5), torch.tensor(0.5)):
            torch.testing.assert_close(fn(x_hat, x, sigma), expected)
    ll = losses.bernoulli_log_likelihood(logits, x)
    with pytest.raises(TypeError, match="beta must be a number"):
        losses.vae_loss(ll, mu, logvar, beta=True)
    with pytest.raises(ValueError, match="free_bits"):
        losses.vae_loss(ll, mu, logvar, free_bits=float("nan"))
    torch.testing.assert_close(losses.vae_loss(ll, mu, logvar, beta=np.float32(2.0))["loss"],
                               losses.vae_loss(ll, mu, logvar, beta=2.0)["loss"])


def test_empty_batches_give_empty_results_or_a_clear_error():
    x, logits, mu, logvar = batch()
    assert losses.bernoulli_log_likelihood(logits[:0], x[:0]).shape == (0,)
    assert losses.kl_per_dim(mu[:0], logvar[:0]).shape == (0, 8)
    assert losses.kl_term(mu[:0], logvar[:0]).shape == (0,)
    with pytest.raises(ValueError, match="non-empty batch"):
        losses.vae_loss(torch.zeros(0), mu[:0], logvar[:0])
    with pytest.raises(ValueError, match="x is empty"):
        losses.check_images(x[:0])
    with pytest.raises(ValueError, match="kl_dims"):
        losses.free_bits_kl(torch.zeros(0, 3), 1.0)


def test_different_devices_name_both_arguments_and_dtypes_are_promoted():
    x, logits, mu, logvar = batch()
    meta = logits.to("meta")                              # a second device that every machine has
    with pytest.raises(ValueError, match="logits is on meta but x is on cpu"):
        losses.bernoulli_log_likelihood(meta, x)
    with pytest.raises(ValueError, match="mu is on cpu but logvar is on meta"):
        losses.kl_per_dim(mu, logvar.to("meta"))
    # float dtypes are promoted as in torch (lecture 03 feeds float64 pixels with float32 logits)
    torch.testing.assert_close(losses.bernoulli_log_likelihood(logits, x.double()),
                               losses.bernoulli_log_likelihood(logits.double(), x.double()))
    assert losses.kl_per_dim(mu, logvar.double()).dtype == torch.float64
    with pytest.raises(TypeError, match="logits must be a torch tensor"):
        losses.bernoulli_log_likelihood(logits.numpy(), x)

import math

import pytest
import torch

from vae_course.squared_error import SquaredErrorVAE, squared_error_terms


def _batch(d=5, b=4):
    torch.manual_seed(0)
    x = torch.rand(b, 1, 28, 28)
    x_hat = torch.rand(b, 1, 28, 28)
    mu, logvar = torch.randn(b, d), torch.randn(b, d) * 0.3
    return x, x_hat, mu, logvar


def test_mean_form_is_the_sum_form_with_beta_pixels_over_latents():
    x, x_hat, mu, logvar = _batch(d=5)
    # the mean form written out as a loss over whole arrays (independent of the function under test)
    seed_loss = ((x - x_hat) ** 2).mean() + 0.5 * (logvar.exp() + mu**2 - 1 - logvar).mean()
    mean_form = squared_error_terms(x, x_hat, mu, logvar, form="mean")["loss"]
    torch.testing.assert_close(mean_form, seed_loss)
    sum_form = squared_error_terms(x, x_hat, mu, logvar, beta=784 / 5, form="sum")["loss"]
    torch.testing.assert_close(mean_form * 784, sum_form)


def test_neg_elbo_is_a_gaussian_decoder_with_variance_one_half():
    x, x_hat, mu, logvar = _batch()
    terms = squared_error_terms(x, x_hat, mu, logvar)
    nll = -torch.distributions.Normal(x_hat, math.sqrt(0.5)).log_prob(x).flatten(1).sum(1).mean()
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(terms["kl"], kl)
    torch.testing.assert_close(terms["neg_elbo"], nll + kl)
    torch.testing.assert_close(terms["kl_per_dim"].sum(), kl)


def test_model_trains_with_its_form():
    torch.manual_seed(0)
    model = SquaredErrorVAE(3, hidden=(16,), form="mean")
    x = torch.rand(6, 1, 28, 28)
    terms = model.loss_terms(x)
    assert set(terms) >= {"loss", "sse", "kl", "neg_elbo", "kl_per_dim"}
    assert model.config["form"] == "mean"


@pytest.mark.parametrize("kw", [dict(form="median"), dict(beta=-1.0), dict(beta=float("nan"))])
def test_bad_arguments(kw):
    x, x_hat, mu, logvar = _batch()
    with pytest.raises(ValueError):
        squared_error_terms(x, x_hat, mu, logvar, **kw)
    with pytest.raises(ValueError):
        SquaredErrorVAE(2, form="median")

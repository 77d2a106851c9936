import pytest
import torch

from vae_course.models import reparameterize


def test_reparameterize_is_mu_plus_sigma_eps_and_differentiable():
    mu = torch.tensor([0.5, -1.0], requires_grad=True)
    logvar = torch.tensor([0.0, 2.0], requires_grad=True)
    eps = torch.tensor([1.0, -0.5])
    z = reparameterize(mu, logvar, eps)
    torch.testing.assert_close(z, mu.detach() + torch.exp(0.5 * logvar.detach()) * eps)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones(2))
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)


def test_reparameterize_has_the_right_moments():
    torch.manual_seed(0)
    mu, logvar = torch.full((200_000,), 2.0), torch.full((200_000,), torch.log(torch.tensor(9.0)).item())
    z = reparameterize(mu, logvar)
    assert z.mean().item() == pytest.approx(2.0, abs=0.03)
    assert z.std().item() == pytest.approx(3.0, abs=0.03)


def test_reparameterize_shape_errors():
    with pytest.raises(ValueError, match="same shape"):
        reparameterize(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="eps"):
        reparameterize(torch.zeros(3), torch.zeros(3), torch.zeros(4))


def test_log_mean_exp_is_stable_and_exact():
    from vae_course.elbo import log_mean_exp
    a = torch.tensor([[1000.0, 1000.0], [1000.0 + torch.log(torch.tensor(3.0)).item(), 1000.0]])
    torch.testing.assert_close(log_mean_exp(a, dim=0), torch.tensor([1000.0 + torch.log(torch.tensor(2.0)).item(), 1000.0]))
    with pytest.raises(ValueError):
        log_mean_exp(torch.zeros(0, 3), dim=0)


def test_reparameterize_refuses_nan_wrong_types_and_mixed_devices_by_name():
    mu, logvar = torch.zeros(2, 3), torch.zeros(2, 3)
    with pytest.raises(ValueError, match="logvar contains NaN"):
        reparameterize(mu, torch.full((2, 3), float("nan")))
    with pytest.raises(ValueError, match="eps contains infinite values"):
        reparameterize(mu, logvar, torch.full((2, 3), float("inf")))
    with pytest.raises(TypeError, match="mu must be a float tensor"):
        reparameterize([0.0, 1.0], logvar)
    with pytest.raises(ValueError, match="mu is on cpu but logvar is on meta"):
        reparameterize(mu, logvar.to("meta"))
    assert reparameterize(mu, logvar.double()).dtype == torch.float64          # promoted, as in torch
    assert reparameterize(mu[:0], logvar[:0]).shape == (0, 3)          # an empty batch: an empty draw
    # the models' forward pass skips the value check (no GPU synchronisation per step)
    assert torch.isnan(reparameterize(mu, torch.full((2, 3), float("nan")), torch.ones(2, 3), validate=False)).all()


def test_latent_helpers_accept_numpy_numbers_and_empty_batches():
    import numpy as np
    from vae_course.latent import gaussian_grid, latent_arithmetic, nearest_class_mean
    means = {1: torch.zeros(2), 7: torch.ones(2)}
    torch.testing.assert_close(latent_arithmetic(torch.zeros(2), means, 1, 7, alpha=np.float32(0.5)), torch.full((2,), 0.5))
    with pytest.raises(TypeError, match="alpha"):
        latent_arithmetic(torch.zeros(2), means, 1, 7, alpha=True)
    with pytest.raises(ValueError, match="z contains NaN"):
        latent_arithmetic(torch.tensor([0.0, float("nan")]), means, 1, 7)
    assert gaussian_grid(np.int64(3)).shape == (9, 2)
    with pytest.raises(ValueError, match="n must be an integer"):
        gaussian_grid(10**6)
    assert nearest_class_mean(torch.zeros(0, 1, 28, 28), {0: torch.zeros(784), 1: torch.ones(784)}).shape == (0,)

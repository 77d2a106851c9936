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

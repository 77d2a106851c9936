import math
import os
from pathlib import Path

import pytest
import torch
from torch.distributions import Bernoulli, Normal

from vae_course import evaluate
from vae_course.data import binarize, load_mnist
from vae_course.elbo import log_mean_exp
from vae_course.models import Autoencoder, MLPVAE
from vae_course.train import fit

MNIST_DIR = Path(os.environ.get("VAE_COURSE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")


@pytest.fixture(scope="module")
def trained():
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST test split (../shared/data/mnist) is not here")
    data = load_mnist(MNIST_DIR, n_train=2000, n_test=200)
    torch.manual_seed(0)
    model = MLPVAE(8, hidden=(256,))
    fit(model, data.train_x, epochs=3, binarize=True, progress=False, device="cpu", seed=0)
    return model, binarize(data.test_x, seed=0)


def test_log_weights_match_an_independent_computation(trained):
    model, x = trained
    x = x[:3]
    torch.manual_seed(1)
    log_w = evaluate.log_weights(model, x, k=5, chunk=2)
    assert log_w.shape == (3, 5)
    torch.manual_seed(1)                        # replay the same draws
    mu, logvar = model.encode(x)
    q = Normal(mu, torch.exp(0.5 * logvar))
    expected = []
    for m in (2, 2, 1):                         # the draws come in chunks of 2
        z = q.sample((m,))
        for j in range(m):
            lik = Bernoulli(logits=model.decode(z[j])).log_prob(x).flatten(1).sum(1)
            expected.append(lik + Normal(0.0, 1.0).log_prob(z[j]).sum(1) - q.log_prob(z[j]).sum(1))
    assert torch.allclose(log_w, torch.stack(expected, 1), atol=1e-3)


def test_iwae_is_at_least_the_average_weight(trained):
    # Jensen on the same draws: log mean w ≥ mean log w, exactly
    model, x = trained
    log_w = evaluate.log_weights(model, x[:50], k=20)
    assert (log_mean_exp(log_w, dim=1) >= log_w.mean(1) - 1e-5).all()


def test_elbo_le_iwae_k_le_iwae_kprime(trained):
    model, x = trained
    torch.manual_seed(0)
    elbo = evaluate.test_elbo(model, x)
    l1 = evaluate.log_px(model, x, k=1)
    l10 = evaluate.log_px(model, x, k=10)
    l100 = evaluate.log_px(model, x, k=100)
    assert abs(elbo - l1) < 1.0                 # L_1 is the ELBO (two MC estimates of it)
    assert elbo < l10 - 0.5 and l10 < l100      # the bound tightens with k
    assert l100 < 0


def test_evaluate_needs_a_vae():
    with pytest.raises(ValueError, match="autoencoder"):
        evaluate.test_elbo(Autoencoder(2), torch.rand(4, 1, 28, 28))
    with pytest.raises(ValueError, match="k"):
        evaluate.iwae_bound(MLPVAE(2), torch.rand(4, 1, 28, 28), k=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluate.log_px(MLPVAE(2), torch.rand(4, 1, 28, 28) * 3)


def test_prior_coverage_against_its_closed_form():
    z = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
    expected = evaluate.expected_coverage(1000, bins=20, dim=2)
    assert expected == pytest.approx(1 - (399 / 400) ** 1000)
    assert evaluate.prior_coverage(z, bins=20) == pytest.approx(expected, abs=0.03)
    assert evaluate.prior_coverage(torch.zeros(50, 2) + 0.01, bins=20) == 1 / 400   # all in one cell
    assert evaluate.prior_coverage(z * 20, bins=20) < 0.2                          # far too spread out
    with pytest.raises(ValueError, match=r"\(N, latent_dim\)"):
        evaluate.prior_coverage(torch.zeros(5))
    with pytest.raises(ValueError, match="latent_dim ≤ 3"):
        evaluate.prior_coverage(torch.zeros(5, 8))


def test_information_terms_against_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 3, generator=g), 0.5 * torch.randn(5, 3, generator=g)
    out = evaluate.information_terms(mu, logvar, samples=4000, generator=torch.Generator().manual_seed(1))
    # independent: q(z) as a torch mixture, KLs from torch.distributions, I by Monte Carlo
    from torch.distributions import Categorical, Independent, MixtureSameFamily, kl_divergence
    comps = Independent(Normal(mu.double(), torch.exp(0.5 * logvar.double())), 1)
    mix = MixtureSameFamily(Categorical(torch.ones(5, dtype=torch.float64)), comps)
    prior = Independent(Normal(torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)), 1)
    rate = float(kl_divergence(comps, Independent(Normal(torch.zeros_like(mu.double()), torch.ones_like(mu.double())), 1)).mean())
    torch.manual_seed(2)
    z = comps.sample((4000,))                                     # (S, 5, 3): z ~ q(z|x_n) for every n
    info = float((comps.log_prob(z) - mix.log_prob(z)).mean())
    marginal = float((mix.log_prob(z) - prior.log_prob(z)).mean())
    assert out["rate"] == pytest.approx(rate, rel=1e-9)
    assert out["mutual_information"] == pytest.approx(info, abs=0.03)
    assert out["marginal_kl"] == pytest.approx(marginal, abs=0.05)
    assert out["log_n"] == pytest.approx(math.log(5))


def test_information_terms_limits():
    # the same posterior for every image: the code says nothing about which image, I = 0, rate = marginal KL
    mu, logvar = torch.full((4, 2), 0.7), torch.full((4, 2), -1.0)
    same = evaluate.information_terms(mu, logvar, samples=10)
    assert same["mutual_information"] == pytest.approx(0.0, abs=1e-9)
    assert same["marginal_kl"] == pytest.approx(same["rate"])
    # far-apart, narrow posteriors: z identifies the image, I = log N, and the rate is far above it
    far = evaluate.information_terms(torch.arange(6.0)[:, None] * 50, torch.full((6, 1), -4.0), samples=10)
    assert far["mutual_information"] == pytest.approx(math.log(6), abs=1e-6)
    assert far["rate"] > far["mutual_information"] + 1000
    with pytest.raises(ValueError, match="mu and logvar"):
        evaluate.information_terms(torch.zeros(3, 2), torch.zeros(3, 1))
    with pytest.raises(ValueError, match="samples"):
        evaluate.information_terms(torch.zeros(3, 2), torch.zeros(3, 2), samples=0)
    with pytest.raises(ValueError, match="finite"):
        evaluate.information_terms(torch.tensor([[float("nan")]]), torch.zeros(1, 1))


def test_rate_decomposition_of_a_trained_model(trained):
    model, x = trained
    out = evaluate.rate_decomposition(model, x, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mu, logvar = model.encode(x)
    assert out["rate"] == pytest.approx(float(evaluate.kl_term(mu, logvar).mean()), rel=1e-5)
    assert 0 <= out["mutual_information"] <= math.log(len(x)) + 1e-6
    assert out["marginal_kl"] >= 0

import itertools
import math

import pytest
import torch
from torch.distributions import Bernoulli

from vae_course.autoregressive import MADE, check_binary, fvsbn
from vae_course.train import fit


def _all_binary(d):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=d)))


def _randomise(model, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g))
    return model


@pytest.mark.parametrize("d", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("hidden", [(), (6,), (4, 7)])
def test_probabilities_of_all_binary_images_sum_to_one(d, hidden):
    model = _randomise(MADE(d, hidden=hidden), seed=d)
    logp = model.log_prob(_all_binary(d)).detach()
    assert logp.shape == (2 ** d,)
    assert torch.all(logp < 0)
    assert abs(float(torch.logsumexp(logp.double(), 0))) < 1e-5


def test_image_shaped_inputs_sum_to_one_too():
    model = _randomise(MADE((1, 2, 3), hidden=(5,)))
    x = _all_binary(6)
    assert torch.allclose(model.log_prob(x.reshape(-1, 1, 2, 3)), model.log_prob(x))
    assert abs(float(torch.logsumexp(model.log_prob(x).detach().double(), 0))) < 1e-5


@pytest.mark.parametrize("hidden", [(), (16, 16)])
def test_each_logit_depends_only_on_earlier_pixels(hidden):
    d = 7
    model = _randomise(MADE(d, hidden=hidden), seed=1)
    x = torch.bernoulli(torch.full((d,), 0.5), generator=torch.Generator().manual_seed(0))
    jac = torch.autograd.functional.jacobian(lambda v: model.conditional_logits(v[None], validate=False)[0], x)
    assert torch.all(jac.triu() == 0)                       # ∂logit_i/∂x_j = 0 for j ≥ i
    assert torch.any(jac.tril(-1) != 0)                     # but the earlier pixels do matter


def test_fvsbn_log_prob_matches_a_loop_of_logistic_regressions():
    d = 6
    model = _randomise(fvsbn(d), seed=3)
    W, b = model.direct.weight.detach(), model.direct.bias.detach()
    x = _all_binary(d)
    expected = torch.zeros(len(x))
    for i in range(d):
        logit = b[i] + (x[:, :i] * W[i, :i]).sum(1)
        expected += Bernoulli(logits=logit).log_prob(x[:, i])
    assert torch.allclose(model.log_prob(x), expected, atol=1e-5)


@pytest.mark.parametrize("hidden", [(), (8,)])
def test_samples_follow_the_model_distribution(hidden):
    d = 3
    model = _randomise(MADE(d, hidden=hidden), seed=4, scale=0.7)
    probs = model.log_prob(_all_binary(d)).detach().exp()
    n = 20_000
    x = model.sample(n, generator=torch.Generator().manual_seed(0))
    assert x.shape == (n, d) and set(x.unique().tolist()) <= {0.0, 1.0}
    index = (x * torch.tensor([4.0, 2.0, 1.0])).sum(1).long()      # the row of _all_binary(3)
    freq = torch.bincount(index, minlength=8).float() / n
    se = (probs * (1 - probs) / n).sqrt()
    assert torch.all((freq - probs).abs() < 5 * se + 1e-3)


def test_sample_has_the_image_shape_and_is_repeatable():
    model = _randomise(MADE((1, 3, 4), hidden=(5,)))
    a = model.sample(4, generator=torch.Generator().manual_seed(1))
    b = model.sample(4, generator=torch.Generator().manual_seed(1))
    assert a.shape == (4, 1, 3, 4) and torch.equal(a, b)


def test_init_output_bias_gives_the_mean_image_model():
    d = 5
    model = fvsbn(d)
    with torch.no_grad():
        model.direct.weight.zero_()
    x = torch.tensor([[1.0, 0, 0, 1, 1], [1, 1, 0, 0, 1], [1, 0, 0, 0, 0], [0, 1, 0, 1, 1]])
    model.init_output_bias(x)
    p = x.mean(0).clamp(1e-3, 1 - 1e-3)
    assert torch.allclose(model.log_prob(x), Bernoulli(probs=p).log_prob(x).sum(1), atol=1e-4)


def test_free_parameters_count_the_unmasked_weights():
    d = 10
    assert fvsbn(d).n_free_parameters() == d * (d - 1) // 2 + d


def test_bad_inputs_raise_clear_errors():
    model = MADE(4, hidden=(3,))
    with pytest.raises(ValueError, match="binary"):
        model.log_prob(torch.tensor([[0.0, 0.5, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(torch.tensor([[0.0, float("nan"), 1.0, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="x must be a torch tensor"):
        model.log_prob([[0, 1, 0, 1]])
    for bad in (0, -3, (2, 0), "784", 2.5, True):
        with pytest.raises(ValueError, match="shape"):
            MADE(bad)
    with pytest.raises(ValueError, match="hidden"):
        MADE(4, hidden=(0,))
    for n in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n must"):
            model.sample(n)
    with pytest.raises(ValueError, match="x"):
        check_binary(torch.tensor([2.0]))


def test_fit_trains_it_on_binary_images():
    g = torch.Generator().manual_seed(0)
    proto = (torch.rand(1, 1, 28, 28, generator=g) < 0.2).float()
    x = (proto.expand(64, -1, -1, -1) + (torch.rand(64, 1, 28, 28, generator=g) < 0.02)).clamp(max=1.0)
    model = fvsbn((1, 28, 28))
    start = float(-model.log_prob(x).mean())
    history = fit(model, x, x, epochs=3, batch_size=32, lr=1e-2, progress=False, device="cpu", seed=0)
    assert set(history.test) == {"loss", "nll"}
    assert history.test["loss"][-1] < start
    assert math.isclose(history.test["loss"][-1], float(-model.log_prob(x).mean()), rel_tol=1e-4)

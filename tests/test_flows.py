import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from vae_course.flows import RealNVP, grid_density, train_flow, two_moons


def _randomise(flow, seed=0, scale=0.3):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return flow


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_inverse_undoes_forward(dim):
    flow = _randomise(RealNVP(dim, n_layers=6, hidden=16), seed=dim)
    x = torch.randn(500, dim, generator=torch.Generator().manual_seed(1)) * 2
    with torch.no_grad():
        z, _ = flow(x)
        assert not torch.allclose(z, x, atol=1e-2)              # the map really moves the points
        assert torch.allclose(flow.inverse(z), x, rtol=1e-4, atol=1e-4)     # float32 round-off
        flow64, x64 = flow.double(), x.double()
        assert torch.allclose(flow64.inverse(flow64(x64)[0]), x64, rtol=0, atol=1e-10)
        assert torch.allclose(flow64(flow64.inverse(x64))[0], x64, rtol=0, atol=1e-10)


def test_log_det_is_the_log_abs_det_of_the_jacobian():
    flow = _randomise(RealNVP(3, n_layers=4, hidden=8), seed=2).double()
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    _, log_det = flow(x)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[i])
        assert torch.allclose(log_det[i], torch.linalg.slogdet(jac).logabsdet, atol=1e-8)


def test_a_fresh_flow_is_the_standard_normal():
    flow = RealNVP(2)
    x = torch.randn(100, 2)
    base = MultivariateNormal(torch.zeros(2), torch.eye(2))
    assert torch.allclose(flow.log_prob(x), base.log_prob(x), atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_density_integrates_to_one_over_a_grid(seed):
    flow = _randomise(RealNVP(2, n_layers=6, hidden=16), seed=seed).double()
    x = flow.sample(2000, generator=torch.Generator().manual_seed(seed))
    lim = float(x.abs().max()) * 2 + 3
    _, _, dens, area = grid_density(flow, (-lim, lim), (-lim, lim), n=600)
    assert abs(float(dens.sum() * area) - 1.0) < 0.01


def test_trained_flow_density_integrates_to_one_and_beats_the_base():
    x = two_moons(2000, noise=0.08, seed=0)
    flow = RealNVP(2, n_layers=6, hidden=32)
    before = float(flow.log_prob(x).detach().mean())
    losses = train_flow(flow, x, steps=300, batch_size=256, lr=3e-3, seed=0, device="cpu")
    assert len(losses) == 300
    with torch.no_grad():
        after = float(flow.log_prob(x).mean())
    assert after > before + 0.5
    _, _, dens, area = grid_density(flow, (-4, 5), (-4, 4.5), n=500)
    assert abs(float(dens.sum() * area) - 1.0) < 0.01


def test_samples_are_finite_and_repeatable():
    flow = _randomise(RealNVP(2))
    a = flow.sample(50, generator=torch.Generator().manual_seed(3))
    b = flow.sample(50, generator=torch.Generator().manual_seed(3))
    assert a.shape == (50, 2) and torch.equal(a, b) and torch.isfinite(a).all()


def test_two_moons_is_repeatable_and_lies_on_two_arcs():
    a, b = two_moons(1000, noise=0.0, seed=5), two_moons(1000, noise=0.0, seed=5)
    assert torch.equal(a, b) and a.shape == (1000, 2)
    r_upper = a.norm(dim=1)                                  # upper arc: radius 1 around (0, 0)
    r_lower = (a - torch.tensor([1.0, 0.5])).norm(dim=1)     # lower arc: radius 1 around (1, 0.5)
    assert torch.all(torch.minimum((r_upper - 1).abs(), (r_lower - 1).abs()) < 1e-5)


def test_bad_inputs_raise_clear_errors():
    flow = RealNVP(2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        flow.log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="NaN"):
        flow.log_prob(torch.tensor([[0.0, math.nan]]))
    with pytest.raises(ValueError, match="z must have shape"):
        flow.inverse(torch.zeros(4))
    with pytest.raises(ValueError, match="float"):
        flow.log_prob(torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="dim"):
        RealNVP(1)
    with pytest.raises(ValueError, match="n_layers"):
        RealNVP(2, n_layers=0)
    with pytest.raises(ValueError, match="n must"):
        flow.sample(0)
    with pytest.raises(ValueError, match="noise"):
        two_moons(10, noise=-1)
    with pytest.raises(ValueError, match="steps"):
        train_flow(flow, torch.zeros(10, 2), steps=0)
    with pytest.raises(ValueError, match="2-D"):
        grid_density(RealNVP(3))

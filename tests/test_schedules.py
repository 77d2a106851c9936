import math

import pytest

from vae_course.schedules import Constant, Cyclical, LinearWarmup, Step, as_schedule, values


def test_linear_warmup_values():
    assert values(LinearWarmup(beta_max=1.0, warmup_epochs=4), 6) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    s = LinearWarmup(beta_max=2.0, warmup_epochs=2, start=0.5, delay=3)
    assert values(s, 7) == [0.5, 0.5, 0.5, 0.5, 1.25, 2.0, 2.0]
    assert values(LinearWarmup(beta_max=3.0, warmup_epochs=0), 3) == [3.0, 3.0, 3.0]


def test_cyclical_values_restart_every_period():
    s = Cyclical(beta_max=1.0, period=4, ratio=0.5)
    assert values(s, 9) == [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0, 1.0, 0.0]
    assert values(Cyclical(beta_max=4.0, period=3, ratio=1.0), 4) == pytest.approx([0.0, 4 / 3, 8 / 3, 0.0])


def test_step_and_constant_and_as_schedule():
    assert values(Step(high=8.0, until=2, low=1.0), 4) == [8.0, 8.0, 1.0, 1.0]
    assert values(Constant(0.25), 3) == [0.25] * 3
    assert values(4, 2) == [4.0, 4.0]            # a number is a constant schedule
    f = lambda e: 0.1 * e
    assert as_schedule(f) is f
    assert "warmup_epochs=4" in repr(LinearWarmup(1.0, 4))


@pytest.mark.parametrize("make, match", [
    (lambda: LinearWarmup(beta_max=-1.0), "beta_max"),
    (lambda: LinearWarmup(beta_max=1.0, warmup_epochs=2.5), "whole"),
    (lambda: Cyclical(period=0), "period"),
    (lambda: Cyclical(ratio=0.0), "ratio"),
    (lambda: Cyclical(ratio=1.5), "ratio"),
    (lambda: Constant(math.nan), "beta"),
    (lambda: Step(until=-1), "until"),
])
def test_bad_settings_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_epoch_raises():
    with pytest.raises(ValueError, match="epoch"):
        LinearWarmup()(-1)
    with pytest.raises(ValueError, match="epoch"):
        Constant()(1.5)


def test_free_bits_floors_the_per_dimension_kl_and_plain_kl_does_not():
    """Minimising only the KL penalty: plain KL drives every dimension to 0 nats, free bits stops at λ."""
    import torch
    from vae_course.losses import free_bits_kl, kl_per_dim

    lam = 0.5
    final = {}
    for fb in (0.0, lam):
        torch.manual_seed(0)
        mu = torch.randn(64, 4).mul(2.0).requires_grad_()
        logvar = torch.zeros(64, 4, requires_grad=True)
        opt = torch.optim.SGD([mu, logvar], lr=0.05)
        for _ in range(1500):
            opt.zero_grad()
            (free_bits_kl(kl_per_dim(mu, logvar), fb) * 64).backward()
            opt.step()
        final[fb] = kl_per_dim(mu, logvar).mean(0).detach()
    assert float(final[0.0].max()) < 1e-3                       # collapsed to the prior
    assert float(final[lam].min()) > 0.85 * lam                 # held up at λ (less one small SGD step)
    assert float(final[lam].max()) < lam + 0.3                   # ...and no higher than needed
    # below λ a dimension gets no gradient from the penalty at all
    mu = torch.full((8, 2), 0.1, requires_grad=True)
    free_bits_kl(kl_per_dim(mu, torch.zeros(8, 2)), lam).backward()
    assert float(mu.grad.abs().max()) == 0.0

import math

import pytest
import torch

from vae_course.kl_fit import Mixture, fit_gaussian, grid_kl
from vae_course.info import kl_normal


def test_grid_kl_matches_closed_form():
    xs = torch.linspace(-15, 15, 6001, dtype=torch.float64)
    a = Mixture((1.0,), (0.3,), (1.2,)).log_pdf(xs)
    b = Mixture((1.0,), (-0.5,), (2.0,)).log_pdf(xs)
    assert float(grid_kl(a, b, xs)) == pytest.approx(kl_normal(0.3, 1.2, -0.5, 2.0), rel=1e-6)


def test_forward_kl_fit_is_moment_matching():
    p = Mixture()
    fit = fit_gaussian(p, "forward")
    assert fit.mu == pytest.approx(p.mean(), abs=1e-3)
    assert fit.sigma == pytest.approx(math.sqrt(p.var()), rel=1e-3)


@pytest.mark.parametrize("start, mode", [(1.5, 2.5), (-1.5, -2.5)])
def test_reverse_kl_fit_locks_onto_the_nearest_mode(start, mode):
    p = Mixture()
    fit = fit_gaussian(p, "reverse", init=(start, 0.5))
    assert fit.mu == pytest.approx(mode, abs=0.05)
    assert fit.sigma == pytest.approx(0.8, abs=0.05)
    # mode-seeking: the reverse fit is much narrower than the forward (mass-covering) fit
    assert fit.sigma < 0.5 * fit_gaussian(p, "forward").sigma


def test_bad_arguments():
    with pytest.raises(ValueError, match="direction"):
        fit_gaussian(Mixture(), "sideways")
    with pytest.raises(ValueError, match="sum to 1"):
        Mixture((0.5, 0.6), (0, 1), (1, 1))
    with pytest.raises(ValueError, match="sigmas"):
        Mixture((0.5, 0.5), (0, 1), (1, 0))


def test_reverse_kl_mode_fit_beats_the_broad_local_optimum():
    p = Mixture()
    broad = fit_gaussian(p, "reverse", init=(0.0, 1.0))
    locked = fit_gaussian(p, "reverse", init=(1.5, 0.5))
    assert abs(broad.mu) < 0.05 and broad.sigma > 2.0
    assert locked.kl < broad.kl

"""The KL explorer driven from Python, as a slider move would drive it."""
import pytest

from vae_course.info import kl_normal
from vae_course.widgets import KLExplorer


def test_slider_move_updates_readout_and_image():
    ex = KLExplorer(mu1=0.0, sigma1=1.0, mu2=1.0, sigma2=2.0)
    text, png, renders = ex.readout.value, ex.figure.widget.value, ex.figure.renders
    assert f"{kl_normal(0, 1, 1, 2):.4f}" in text and f"{kl_normal(1, 2, 0, 1):.4f}" in text
    ex.sliders["mu1"].value = 2.5
    assert ex.figure.renders == renders + 1
    assert ex.readout.value != text and ex.figure.widget.value != png
    assert ex.kl() == pytest.approx((kl_normal(2.5, 1, 1, 2), kl_normal(1, 2, 2.5, 1)))
    assert f"{kl_normal(2.5, 1, 1, 2):.4f}" in ex.readout.value


def test_set_from_code_redraws_once():
    ex = KLExplorer()
    before = ex.figure.renders
    ex.set(mu1=1.0, sigma1=0.5, mu2=-1.0)
    assert ex.figure.renders == before + 1
    assert ex.values == {"mu1": 1.0, "sigma1": 0.5, "mu2": -1.0, "sigma2": 2.0}


def test_equal_distributions_show_zero():
    ex = KLExplorer(mu1=1.0, sigma1=2.0, mu2=1.0, sigma2=2.0)
    assert ex.kl() == (0.0, 0.0)


@pytest.mark.parametrize("values, message", [
    ({"sigma1": 0.0}, "between"), ({"mu1": "two"}, "must be a number"),
    ({"mu2": float("nan")}, "between"), ({"tau": 1.0}, "unknown parameter"), ({"mu1": 99.0}, "between"),
])
def test_bad_values_from_code_are_clear_errors(values, message):
    ex = KLExplorer()
    with pytest.raises(ValueError, match=message):
        ex.set(**values)
    if set(values) <= set(KLExplorer.RANGES):
        with pytest.raises(ValueError, match=message):
            KLExplorer(**values)

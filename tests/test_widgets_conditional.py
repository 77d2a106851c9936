"""Lecture 10's conditional explorer driven from Python, as the class toggle, sliders and buttons drive it."""
import numpy as np
import pytest
import torch
from torch import nn

from vae_course.models import MLPVAE, ConditionalVAE
from vae_course.widgets import ConditionalExplorer
from vae_course.widgets.latent import png_to_array


def model(latent_dim=2, seed=0):
    torch.manual_seed(seed)
    return ConditionalVAE(latent_dim, hidden=(16,)).eval()


def expected(m, z, k):
    """What the explorer must show for (z, y = k), computed directly: uint8 of sigmoid(decode(z, k))."""
    with torch.no_grad():
        p = torch.sigmoid(m.decode(torch.tensor([z], dtype=torch.float32), torch.tensor([k])))[0, 0]
    return np.clip(np.rint(p.numpy() * 255), 0, 255).astype(np.uint8)


def close(a, b):
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1      # float32 rounding, batch of 1 vs 10


def test_slider_and_class_toggle_show_the_decode_of_z_and_y():
    m = model()
    ex = ConditionalExplorer(m, label=3, z=(0.5, -1.0), throttle_ms=0)
    close(png_to_array(ex.digit.value, 6), expected(m, [0.5, -1.0], 3))
    renders = ex.renders
    ex.sliders[0].value = 2.0
    assert ex.renders == renders + 1
    close(ex.image, expected(m, [2.0, -1.0], 3))
    ex.class_toggle.value = 8                                   # a click on "8"
    assert ex.renders == renders + 2 and ex.label == 8
    close(png_to_array(ex.digit.value, 6), expected(m, [2.0, -1.0], 8))
    assert "class y = 8" in ex.readout.value
    # the row: the same z under every class, 10 digits of 28 px with 2-px gaps, shown at scale 2
    row = png_to_array(ex.row.value, 2)
    assert row.shape == (28, 10 * 30 - 2)
    for k in range(10):
        close(row[:, 30 * k:30 * k + 28], expected(m, [2.0, -1.0], k))
    ex.set(z=[-3.0, 1.5], label=1)
    assert ex.renders == renders + 3                            # three widgets changed, one redraw
    close(ex.image, expected(m, [-3.0, 1.5], 1))
    assert ex.z.tolist() == [-3.0, 1.5] and ex.label == 1


def test_css_classes_for_browser_tests():
    ex = ConditionalExplorer(model(3))
    assert {"latent-explorer", "latent-explorer-conditional"} <= set(ex.widget._dom_classes)
    assert "latent-class" in ex.class_toggle._dom_classes and "latent-decoded" in ex.digit._dom_classes
    assert "latent-classes-row" in ex.row._dom_classes and "latent-status" in ex.status._dom_classes
    assert len(ex.sliders) == 3 and all("latent-slider" in s._dom_classes for s in ex.sliders)
    assert "latent-slider-2" in ex.sliders[2]._dom_classes
    assert "latent-reset" in ex.reset_button._dom_classes and "latent-prior" in ex.prior_button._dom_classes


@pytest.mark.parametrize("kwargs, message", [
    (dict(z=[0.0, "a"]), "must be a number"), (dict(z=[0.0, float("nan")]), "finite"),
    (dict(z=[9.0, 0.0]), "outside the sliders' range"), (dict(z=[0.0, 0.0, 0.0]), "must have 2 values"),
    (dict(z="00"), "sequence of 2 numbers"), (dict(label=10), "label must be between 0 and 9"),
    (dict(label=-1), "label must be between 0 and 9"), (dict(label=2.0), "label must be an integer"),
    (dict(label=True), "label must be an integer"), (dict(z=[1.0, 1.0], label=12), "label"),
])
def test_bad_values_from_code_are_clear_errors_and_change_nothing(kwargs, message):
    ex = ConditionalExplorer(model(), label=4, throttle_ms=0)
    before, renders = (ex.z.copy(), ex.label), ex.renders
    with pytest.raises(ValueError, match=message):
        ex.set(**kwargs)
    assert (ex.z.tolist(), ex.label) == (before[0].tolist(), before[1]) and ex.renders == renders


def test_needs_a_conditional_model_and_valid_options():
    with pytest.raises(ValueError, match=r"decode\(z, y\)"):
        ConditionalExplorer(MLPVAE(2, hidden=(8,)))
    with pytest.raises(ValueError, match="decode"):
        ConditionalExplorer(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="label must be between 0 and 9"):
        ConditionalExplorer(model(), label=10)
    with pytest.raises(ValueError, match="must have 2 values"):
        ConditionalExplorer(model(), z=[0.0])
    with pytest.raises(ValueError, match="class_names must have 10"):
        ConditionalExplorer(model(), class_names=["a", "b"])
    with pytest.raises(ValueError, match="at most 16"):
        ConditionalExplorer(model(17))
    with pytest.raises(ValueError, match="throttle_ms"):
        ConditionalExplorer(model(), throttle_ms=-1)
    with pytest.raises(ValueError, match="meta"):
        ConditionalExplorer(model().to("meta"))


def test_buttons_reset_and_prior_sample():
    m = model(seed=1)
    ex = ConditionalExplorer(m, z=(1.0, -0.5), throttle_ms=0, seed=3)
    ex.prior_button.click()
    g = torch.Generator().manual_seed(3)
    drawn = np.clip(torch.randn(2, generator=g, dtype=torch.float64).numpy(), -ex.limit, ex.limit)
    np.testing.assert_allclose(ex.z, drawn, atol=0.025 + 1e-9)      # at most half a slider step away
    assert "prior" in ex.status.value
    ex.reset_button.click()
    assert ex.z.tolist() == [1.0, -0.5] and "reset" in ex.status.value
    close(ex.image, expected(m, [1.0, -0.5], 0))


def test_a_failing_decoder_is_a_message_in_the_widget_and_an_error_from_code():
    m = model()
    ex = ConditionalExplorer(m, throttle_ms=0)

    def broken(z, y):
        raise RuntimeError("decoder exploded")
    m.decode = broken
    ex.class_toggle.value = 5                               # must not raise out of the callback
    assert "decoder exploded" in ex.status.value
    with pytest.raises(ValueError, match="decoding failed"):
        ex.set(z=[0.5, 0.5])
    del m.decode                                            # the class's own decode again
    ex.sliders[1].value = 1.0
    assert ex.status.value == "" and ex.label == 5

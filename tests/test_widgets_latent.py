"""Lecture 06's latent explorers driven from Python, as slider moves and button clicks drive them."""
import asyncio
import time

import numpy as np
import pytest
import torch
from torch import nn

from vae_course.latent import slerp
from vae_course.widgets import InterpolationExplorer, LatentDimExplorer, LatentExplorer2D
from vae_course.plots import plot_arithmetic, plot_interpolation, plot_latent_scatter, plot_manifold, plot_traversal
from vae_course.widgets.latent import digit_png, png_to_array, to_uint8


class Tiny(nn.Module):
    """A stand-in VAE: linear encoder to (μ, log σ²), linear decoder to 28×28 logits."""

    def __init__(self, latent_dim=2, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.latent_dim = latent_dim
        self.enc = nn.Linear(784, 2 * latent_dim)
        self.dec = nn.Linear(latent_dim, 784)
        self.broken = False

    def encode(self, x):
        h = 3 * self.enc(x.flatten(1))
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def decode(self, z):
        if self.broken:
            raise RuntimeError("decoder exploded")
        return (3 * self.dec(z)).view(-1, 1, 28, 28)


def expected_image(model, z):
    """What the explorer must show for z, computed directly: uint8 of sigmoid(decode(z))."""
    with torch.no_grad():
        p = torch.sigmoid(model.decode(torch.tensor(np.asarray(z), dtype=torch.float32)[None]))[0, 0]
    return np.clip(np.rint(p.numpy() * 255), 0, 255).astype(np.uint8)


def close(a, b):
    """Equal up to one gray level (float32 rounding of z computed two ways)."""
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def shown(image_widget, scale=6):
    return png_to_array(image_widget.value, scale)


def images(n=6, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_digit_png_round_trips():
    a = np.random.default_rng(0).random((28, 28))
    png = digit_png(a, scale=6)
    back = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(__import__("io").BytesIO(png)))
    assert back.shape == (168, 168)
    np.testing.assert_array_equal(png_to_array(png, 6), to_uint8(a))
    with pytest.raises(ValueError, match="one gray image"):
        to_uint8(np.zeros((2, 28, 28)))


# ----------------------------------------------------------------------------- 2-D explorer

def test_2d_slider_move_shows_decode_of_z_and_moves_the_marker():
    model = Tiny(2)
    pts, labels = torch.randn(100, 2), torch.randint(0, 10, (100,))
    ex = LatentExplorer2D(model, pts, labels, z=(0.5, -1.0), throttle_ms=0)
    np.testing.assert_array_equal(shown(ex.digit), expected_image(model, [0.5, -1.0]))
    digit, marker_map, renders = ex.digit.value, ex.map.widget.value, ex.renders
    ex.sliders[0].value = 2.0
    assert ex.renders == renders + 1
    assert ex.digit.value != digit and ex.map.widget.value != marker_map
    np.testing.assert_array_equal(shown(ex.digit), expected_image(model, [2.0, -1.0]))
    np.testing.assert_array_equal(ex.image, expected_image(model, [2.0, -1.0]))
    assert "+2.00" in ex.readout.value and "-1.00" in ex.readout.value
    ex.set([-3.0, 1.5])
    assert ex.renders == renders + 2                       # two sliders, one redraw
    np.testing.assert_array_equal(shown(ex.digit), expected_image(model, [-3.0, 1.5]))
    assert ex.z.tolist() == [-3.0, 1.5]


def test_2d_css_classes_for_browser_tests():
    ex = LatentExplorer2D(Tiny(2))
    assert {"latent-explorer", "latent-explorer-2d"} <= set(ex.widget._dom_classes)
    assert "latent-decoded" in ex.digit._dom_classes and "latent-map" in ex.map.widget._dom_classes
    assert all("latent-slider" in s._dom_classes for s in ex.sliders)
    assert "latent-slider-1" in ex.sliders[1]._dom_classes


@pytest.mark.parametrize("z, message", [
    ([0.0, "a"], "must be a number"), ([0.0, float("nan")], "finite"), ([9.0, 0.0], "outside the sliders' range"),
    ([0.0, 0.0, 0.0], "must have 2 values"), ("00", "sequence of 2 numbers"), (3.0, "sequence of 2 numbers"),
    ([True, 0.0], "must be a number"),
])
def test_2d_bad_values_from_code_are_clear_errors(z, message):
    ex = LatentExplorer2D(Tiny(2), throttle_ms=0)
    before = ex.z.copy()
    with pytest.raises(ValueError, match=message):
        ex.set(z)
    assert ex.z.tolist() == before.tolist()


def test_2d_needs_a_2d_latent_and_a_decoder():
    with pytest.raises(ValueError, match="2-D latent, but this model has latent_dim=16"):
        LatentExplorer2D(Tiny(16))
    with pytest.raises(ValueError, match="decode"):
        LatentExplorer2D(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"points must be \(N, 2\)"):
        LatentExplorer2D(Tiny(2), points=torch.zeros(5, 3))
    with pytest.raises(ValueError, match="meta"):
        LatentExplorer2D(Tiny(2).to("meta"))
    with pytest.raises(ValueError, match="throttle_ms"):
        LatentExplorer2D(Tiny(2), throttle_ms=-1)


def test_a_failing_decoder_during_a_slider_move_is_a_message_not_a_traceback():
    model = Tiny(2)
    ex = LatentExplorer2D(model, throttle_ms=0)
    model.broken = True
    ex.sliders[0].value = 1.0                        # must not raise out of the callback
    assert "decoder exploded" in ex.status.value
    with pytest.raises(ValueError, match="decoding failed"):
        ex.set([0.5, 0.5])                           # from code: a clear ValueError
    model.broken = False
    ex.sliders[1].value = 1.0
    assert ex.status.value == ""


def test_fast_slider_events_are_coalesced_and_the_last_one_is_drawn():
    model = Tiny(2)

    async def burst():
        ex = LatentExplorer2D(model, throttle_ms=200)
        ex._throttle._last = time.perf_counter()     # as if it had just drawn
        renders = ex.renders
        for v in np.linspace(-1, 1, 10):
            ex.sliders[0].value = float(v)
        assert ex.renders == renders and ex._throttle.pending
        for _ in range(500):                          # the deferred draw comes from the event loop
            if not ex._throttle.pending:
                break
            await asyncio.sleep(0.01)
        assert ex.renders == renders + 1
        np.testing.assert_array_equal(shown(ex.digit), expected_image(model, [1.0, 0.0]))

    asyncio.run(burst())


# ----------------------------------------------------------------------------- per-dimension explorer

def test_dims_start_at_the_encoding_and_sliders_drive_the_image():
    model, x = Tiny(8), images()
    ex = LatentDimExplorer(model, x, labels=torch.arange(6), index=2, throttle_ms=0)
    mu = model.encode(x[2:3])[0][0].detach().double().numpy()
    np.testing.assert_allclose(ex.z, np.clip(mu, -4, 4))
    np.testing.assert_array_equal(shown(ex.digit), expected_image(model, ex.z))
    np.testing.assert_array_equal(shown(ex.original, 4), to_uint8(x[2, 0]))
    before = ex.digit.value
    ex.sliders[5].value = 3.0
    assert ex.digit.value != before
    np.testing.assert_array_equal(shown(ex.digit), expected_image(model, ex.z))
    assert ex.z[5] == 3.0
    assert len(ex.sliders) == 8 and all("latent-slider" in s._dom_classes for s in ex.sliders)
    assert {"latent-explorer", "latent-explorer-dims"} <= set(ex.widget._dom_classes)
    assert "latent-decoded" in ex.digit._dom_classes


def test_dims_reset_prior_and_picking_another_image():
    model, x = Tiny(10), images()
    ex = LatentDimExplorer(model, x, index=0, seed=3, throttle_ms=0)
    start = ex.z.copy()
    ex.sliders[0].value = -2.5
    ex.reset_button.click()
    np.testing.assert_allclose(ex.z, start)
    ex.prior_button.click()
    draw = torch.randn(10, generator=torch.Generator().manual_seed(3), dtype=torch.float64).numpy()
    np.testing.assert_allclose(ex.z, np.clip(draw, -4, 4))
    assert "prior" in ex.status.value
    np.testing.assert_array_equal(shown(ex.digit), expected_image(model, ex.z))
    ex.index_slider.value = 4
    mu4 = np.clip(model.encode(x[4:5])[0][0].detach().double().numpy(), -4, 4)
    np.testing.assert_allclose(ex.z, mu4)
    np.testing.assert_array_equal(shown(ex.digit), expected_image(model, mu4))
    ex.select(1)
    assert ex.index_slider.value == 1


def test_dims_clipping_is_said_and_bad_input_is_a_clear_error():
    model, x = Tiny(8), images()
    with torch.no_grad():
        model.enc.bias[0] = 50.0                       # μ₁ far outside the sliders
    ex = LatentDimExplorer(model, x, throttle_ms=0)
    assert ex.z[0] == 4.0 and "z₁ clipped" in ex.status.value
    with pytest.raises(ValueError, match="must have 8 values"):
        ex.set([0.0] * 7)
    with pytest.raises(ValueError, match=r"z\[3\] = -7.0 is outside"):
        ex.set([0, 0, 0, -7.0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="between 0 and 5"):
        ex.select(6)
    with pytest.raises(ValueError, match="at most 32"):
        LatentDimExplorer(Tiny(40), x)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        LatentDimExplorer(model, torch.zeros(3, 784))
    with pytest.raises(ValueError, match="6 labels for 6 images|5 labels for 6 images"):
        LatentDimExplorer(model, x, labels=torch.arange(5))


# ----------------------------------------------------------------------------- interpolation

def test_interpolation_t_slider_endpoints_and_strip():
    model, x = Tiny(6), images()
    ex = InterpolationExplorer(model, x, a=1, b=3, steps=5, throttle_ms=0)
    mu = model.encode(x)[0].detach()
    ex.t_slider.value = 0.0
    np.testing.assert_array_equal(shown(ex.digit_lerp), expected_image(model, mu[1]))
    close(shown(ex.digit_slerp), expected_image(model, mu[1]))    # sin Ω / sin Ω: equal up to rounding
    ex.set(t=1.0)
    np.testing.assert_array_equal(shown(ex.digit_lerp), expected_image(model, mu[3]))
    close(shown(ex.digit_slerp), expected_image(model, mu[3]))
    ex.t_slider.value = 0.5
    close(shown(ex.digit_lerp), expected_image(model, (mu[1] + mu[3]) / 2))
    close(shown(ex.digit_slerp), expected_image(model, slerp(mu[1].double(), mu[3].double(), 0.5)))
    assert "t = 0.50" in ex.readout.value
    strip = png_to_array(ex.strip.value, 2)
    assert strip.shape == (28 + 2 + 28, 5 * 28 + 4 * 2)     # 2 rows, 5 steps, 2-pixel white gaps
    np.testing.assert_array_equal(ex.strip_images[0][0], expected_image(model, mu[1]))
    np.testing.assert_array_equal(ex.strip_images[1][-1], expected_image(model, mu[3]))
    old = ex.strip.value
    ex.set(b=4)
    assert ex.strip.value != old
    np.testing.assert_array_equal(ex.strip_images[0][-1], expected_image(model, mu[4]))
    for bad, message in (({"t": 1.5}, r"t must be a number in \[0, 1\]"), ({"a": 99}, "a must be between"),
                         ({"b": "x"}, "b must be an integer")):
        with pytest.raises(ValueError, match=message):
            ex.set(**bad)
    with pytest.raises(ValueError, match="steps"):
        InterpolationExplorer(model, x, steps=1)


# ----------------------------------------------------------------------------- static figures

def test_static_figures():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    model = Tiny(2)
    fig = plot_manifold(model, n=5)
    assert fig.axes[0].images[0].get_array().shape == (140, 140)
    fig2 = plot_latent_scatter(torch.randn(50, 2), torch.randint(0, 10, (50,)))
    assert len(fig2.axes[0].collections) >= 1
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_latent_scatter(torch.randn(50, 3))
    fig3 = plot_interpolation(Tiny(4), torch.ones(4), torch.tensor([1.0, -1.0, 2.0, 0.0]), steps=6)
    assert len(fig3.axes) == 2 * 6 + 1
    means = {1: torch.zeros(4), 7: torch.ones(4)}
    fig4 = plot_arithmetic(Tiny(4), torch.zeros(3, 4), means, 1, 7, alphas=(0, 1))
    assert len(fig4.axes) == 6
    plt.close("all")


def test_traversal_figure_varies_one_dimension_per_row():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    model = Tiny(5)
    fig = plot_traversal(model, torch.zeros(5), dims=[1, 3], values=(-1.0, 0.0, 2.0))
    assert len(fig.axes) == 6
    z = torch.zeros(5)
    z[3] = 2.0
    shown_img = fig.axes[5].images[0].get_array()
    np.testing.assert_allclose(np.asarray(shown_img), torch.sigmoid(model.decode(z[None]))[0, 0].detach().numpy(),
                               rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="dimension 7 does not exist"):
        plot_traversal(model, torch.zeros(5), dims=[7])
    with pytest.raises(ValueError, match="latent_dim is 5"):
        plot_traversal(model, torch.zeros(4))
    plt.close("all")


def test_dims_and_interpolation_failures_in_callbacks_are_messages():
    model, x = Tiny(8), images()
    ex = LatentDimExplorer(model, x, throttle_ms=0)
    interp = InterpolationExplorer(model, x, throttle_ms=0)
    model.broken = True
    ex.sliders[2].value = 1.0
    assert "decoder exploded" in ex.status.value
    ex.prior_button.click()
    assert "decoder exploded" in ex.status.value
    interp.index_b.value = 4
    assert "decoder exploded" in interp.status.value
    model.broken = False
    ex.sliders[2].value = 1.5
    assert "exploded" not in ex.status.value
    np.testing.assert_array_equal(shown(ex.digit), expected_image(model, ex.z))

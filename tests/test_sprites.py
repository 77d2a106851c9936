import math

import numpy as np
import pytest
import torch

from vae_course.sprites import FACTOR_NAMES, factor_traversal, make_sprites, render


def test_make_sprites_shapes_ranges_and_factor_columns():
    data = make_sprites(300, seed=1)
    images, factors, names = data
    assert images.shape == (300, 1, 28, 28) and images.dtype == torch.float32
    assert factors.shape == (300, 5) and names == FACTOR_NAMES
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    assert set(factors[:, 0].tolist()) == {0.0, 1.0, 2.0}
    assert float(factors[:, 1].min()) >= 0.5 and float(factors[:, 1].max()) <= 1.0
    assert float(factors[:, 2].min()) >= 0.0 and float(factors[:, 2].max()) <= math.pi / 3
    # every sprite draws something, and nothing touches the border (the shape stays inside)
    assert (images.flatten(1).sum(1) > 1).all()
    border = torch.cat([images[..., 0, :], images[..., -1, :], images[..., :, 0], images[..., :, -1]], -1)
    assert float(border.max()) == 0.0


def test_same_seed_same_sprites_other_seed_other_sprites():
    a, b, c = make_sprites(50, seed=3), make_sprites(50, seed=3), make_sprites(50, seed=4)
    assert torch.equal(a.images, b.images) and torch.equal(a.factors, b.factors)
    assert not torch.equal(a.images, c.images)


def test_images_follow_their_factors():
    data = make_sprites(20, seed=0, size=32)
    again = render(*data.factors.numpy().T, size=32)
    assert torch.equal(again, data.images)
    # area grows with scale²; the centre of mass follows x and y
    small, big = render([1, 1], [0.5, 1.0], [0, 0], [0.5, 0.5], [0.5, 0.5])
    assert float(big.sum() / small.sum()) == pytest.approx(4.0, rel=0.1)
    left, right = render([0, 0], [0.6, 0.6], [0, 0], [0.0, 1.0], [0.5, 0.5])
    cols = torch.arange(28.0)
    com = lambda im: float((im[0].sum(0) * cols).sum() / im.sum())
    assert com(left) < 10 < 18 < com(right)
    # an ellipse is wider than tall at rotation 0 and taller than wide at π/2
    flat, upright = render([1, 1], [1, 1], [0, math.pi / 2], [0.5, 0.5], [0.5, 0.5])
    width = lambda im: int((im[0].sum(0) > 0.5).sum())
    height = lambda im: int((im[0].sum(1) > 0.5).sum())
    assert width(flat) > height(flat) and height(upright) > width(upright)


def test_three_shapes_differ():
    sq, el, he = render([0, 1, 2], 1.0, 0.0, 0.5, 0.5)
    assert float((sq - el).abs().sum()) > 10 and float((el - he).abs().sum()) > 10
    # a heart is not symmetric top-to-bottom
    assert float((he - he.flip(-2)).abs().sum()) > 10


@pytest.mark.parametrize("kwargs, match", [
    (dict(shape=3, scale=1, rotation=0, x=0.5, y=0.5), "shape"),
    (dict(shape=0, scale=0, rotation=0, x=0.5, y=0.5), "scale"),
    (dict(shape=0, scale=1, rotation=0, x=1.5, y=0.5), "x must"),
    (dict(shape=0, scale=1, rotation=np.nan, x=0.5, y=0.5), "NaN"),
    (dict(shape=[0, 1], scale=[1, 1, 1], rotation=0, x=0.5, y=0.5), "one length"),
])
def test_render_rejects_bad_factors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        render(**kwargs)


def test_make_sprites_rejects_bad_arguments():
    with pytest.raises(ValueError, match="positive integer"):
        make_sprites(0)
    with pytest.raises(ValueError, match="scale_range"):
        make_sprites(10, scale_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="size"):
        make_sprites(10, size=4)


def test_factor_traversal_changes_one_factor_per_row():
    t = factor_traversal(steps=5)
    assert t.shape == (5, 5, 1, 28, 28)
    torch.testing.assert_close(t[3, 0], render(2, 0.8, 0.5, 0.0, 0.5)[0])       # x row starts at x = 0
    torch.testing.assert_close(t[1, -1], render(2, 1.0, 0.5, 0.5, 0.5)[0])      # scale row ends at scale 1
    assert [float(t[0, i].sum() - t[0, (i + 3) % 5].sum()) for i in range(2)] == [0.0, 0.0]  # shapes cycle
    with pytest.raises(ValueError, match="steps"):
        factor_traversal(steps=1)

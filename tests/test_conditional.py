"""Lecture 10: ConditionalVAE, labels through train.fit, and the measurements of vae_course.conditional."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from vae_course import conditional as C
from vae_course.losses import bernoulli_log_likelihood
from vae_course.models import MLPVAE, ConditionalVAE, build_model, count_parameters
from vae_course.train import fit, load_checkpoint, mean_terms, save_checkpoint


def images(b=6, seed=0):
    return torch.rand(b, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def labels(b=6):
    return torch.arange(b) % 10


# ----------------------------------------------------------------------------- the model

def test_same_z_different_labels_decode_differently():
    torch.manual_seed(0)
    model = ConditionalVAE(3, hidden=(64, 32)).eval()
    z = torch.randn(1, 3).repeat(10, 1)                     # one code, every class
    logits = model.decode(z, torch.arange(10))
    flat = logits.flatten(1)
    gaps = torch.cdist(flat, flat)                          # pairwise distances between the 10 images
    assert (gaps + torch.eye(10) * 1e9).min() > 1e-3        # no two classes decode z alike
    # ... and the decoder is exactly MLP(z ⊕ onehot(y)): the label enters as a one-hot input
    by_hand = model.decoder(torch.cat([z, torch.eye(10)], 1)).view(-1, 1, 28, 28)
    torch.testing.assert_close(logits, by_hand)
    # one integer label stands for the whole batch
    torch.testing.assert_close(model.decode(z[:4], 7), model.decode(z[:4], torch.full((4,), 7)))


def test_encoder_sees_the_label_and_the_shapes():
    torch.manual_seed(1)
    model = ConditionalVAE(4, n_classes=3, hidden=(32,))
    x = images(5)
    mu0, logvar0 = model.encode(x, torch.zeros(5, dtype=torch.long))
    mu1, _ = model.encode(x, torch.ones(5, dtype=torch.long))
    assert mu0.shape == logvar0.shape == (5, 4) and not torch.allclose(mu0, mu1)
    h = model.encoder(torch.cat([x.flatten(1), nn.functional.one_hot(torch.zeros(5, dtype=torch.long), 3).float()], 1))
    torch.testing.assert_close(mu0, model.to_mu(h))
    assert model.sample(4, y=2).shape == (4, 1, 28, 28)
    out = model.reconstruct(x, [0, 1, 2, 0, 1])
    assert out.shape == x.shape and 0 <= float(out.min()) and float(out.max()) <= 1


def test_loss_terms_are_the_conditional_elbo():
    torch.manual_seed(2)
    model = ConditionalVAE(2, hidden=(32,))
    x, y = (images() > 0.5).float(), labels()
    torch.manual_seed(5)
    terms = model.loss_terms(x, y)
    # the same with the networks called by hand and the same ε
    torch.manual_seed(5)
    mu, logvar = model.encode(x, y)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    recon = -bernoulli_log_likelihood(model.decode(z, y), x).mean()
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1).mean()
    torch.testing.assert_close(terms["recon"], recon)
    torch.testing.assert_close(terms["kl"], kl)
    torch.testing.assert_close(terms["elbo"], -(recon + kl))
    with pytest.raises(ValueError, match="needs the labels y"):
        model.loss_terms(x)


@pytest.mark.parametrize("y, message", [
    (torch.tensor([0, 1, 2, 3, 4, 10]), r"between 0 and 9"),
    (torch.tensor([0, 1, 2, 3, 4, -1]), r"between 0 and 9"),
    (torch.tensor([0, 1, 2]), "3 labels for 6 images"),
    (torch.zeros(6, 10), r"shape \(B,\).*one-hot"),
    (torch.tensor([0.0, 1, 2, 3, float("nan"), 5]), "NaN"),
    (torch.tensor([0.0, 1, 2, 3, 4, 5.5]), "whole numbers"),
    (torch.ones(6, dtype=torch.bool), "boolean"),
    ("abc", "integer class labels|shape"),
    (None, "labels"),
    (True, "labels"),
])
def test_bad_labels_are_clear_errors(y, message):
    model = ConditionalVAE(2, hidden=(16,))
    x = images()
    for call in (lambda: model.encode(x, y), lambda: model.loss_terms(x, y),
                 lambda: model.decode(torch.zeros(6, 2), y)):
        with pytest.raises(ValueError, match=message):
            call()


def test_bad_images_codes_and_sizes_are_clear_errors():
    model = ConditionalVAE(2, hidden=(16,))
    y = labels()
    bad = images()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model.loss_terms(bad, y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.loss_terms(images() * 3, y)
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model.encode(images().view(6, 784), y)
    with pytest.raises(ValueError, match=r"z must have shape \(B, 2\)"):
        model.decode(torch.zeros(6, 3), y)
    with pytest.raises(ValueError, match="z contains NaN"):
        model.decode(torch.full((6, 2), float("nan")), y)
    with pytest.raises(ValueError, match="pass y"):
        model.sample(3)
    with pytest.raises(ValueError, match="n_classes"):
        ConditionalVAE(2, n_classes=1)
    with pytest.raises(ValueError, match="latent_dim"):
        ConditionalVAE(0)


def test_rebuilt_from_config_and_checkpoint(tmp_path):
    torch.manual_seed(3)
    model = ConditionalVAE(3, n_classes=4, hidden=(32, 16))
    clone = build_model(model.config)
    assert type(clone) is ConditionalVAE and clone.config == model.config
    lin = lambda a, b: a * b + b
    expected = (lin(784 + 4, 32) + lin(32, 16) + 2 * lin(16, 3)          # encoder: [x, onehot(y)] → heads
                + lin(3 + 4, 16) + lin(16, 32) + lin(32, 784))           # decoder: [z, onehot(y)] → logits
    assert count_parameters(clone) == expected
    assert count_parameters(model) - count_parameters(MLPVAE(3, hidden=(32, 16))) == 4 * (32 + 16)
    path = save_checkpoint(model, tmp_path / "cvae.pt")
    loaded, _ = load_checkpoint(path)
    z = torch.randn(4, 3)
    torch.testing.assert_close(loaded.decode(z, torch.arange(4)), model.eval().decode(z, torch.arange(4)))


# ----------------------------------------------------------------------------- labels through train.fit

class LabelSpy(nn.Module):
    """A 'model' whose loss checks that each batch's labels belong to its images (label = the image's value × 10)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.seen = 0

    def loss_terms(self, x, y=None, beta=1.0, free_bits=0.0, validate=True, **kw):
        assert y is not None and y.dtype == torch.long and y.shape == (len(x),)
        torch.testing.assert_close(x[:, 0, 0, 0] * 10, y.float())
        self.seen += len(x)
        loss = (self.w - 1) ** 2
        return {"loss": loss, "labels": y.float().mean()}


def spy_data(n, offset=0):
    y = (torch.arange(n) + offset) % 10
    return y[:, None, None, None].float().div(10).expand(n, 1, 28, 28).contiguous(), y


def test_fit_passes_each_batch_its_own_labels():
    (x, y), (xt, yt) = spy_data(100), spy_data(30, offset=3)
    spy = LabelSpy()
    h = fit(spy, x, xt, train_y=y, test_y=yt, epochs=2, batch_size=16, progress=False, device="cpu")
    assert h.status == "completed" and spy.seen == 2 * (100 + 30)
    # the recorded means are the label means of the two sets (each batch weighted by its size)
    assert h.train["labels"][-1] == pytest.approx(float(y.float().mean()))
    assert h.test["labels"][-1] == pytest.approx(float(yt.float().mean()))
    assert mean_terms(spy, xt, 7, y=yt)["labels"] == pytest.approx(float(yt.float().mean()))


def test_fit_rejects_bad_labels():
    (x, y), (xt, yt) = spy_data(20), spy_data(10)
    with pytest.raises(ValueError, match="train_y has 19 labels for 20 images"):
        fit(LabelSpy(), x, xt, train_y=y[:19], test_y=yt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="both sets"):
        fit(LabelSpy(), x, xt, train_y=y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="integer tensor"):
        fit(LabelSpy(), x, xt, train_y=y.float(), test_y=yt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="takes no labels"):
        fit(MLPVAE(2, hidden=(8,)), x, xt, train_y=y, test_y=yt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="between 0 and 9"):
        fit(ConditionalVAE(2, hidden=(8,)), x, xt, train_y=y + 5, test_y=yt, epochs=1, progress=False)


def test_fit_trains_a_conditional_vae():
    torch.manual_seed(0)
    x, y = (images(256, seed=1) > 0.7).float(), torch.arange(256) % 10
    x[:, :, :3] = (y[:, None, None, None] % 2).float()      # the top rows show the label's parity
    model = ConditionalVAE(2, hidden=(64,))
    h = fit(model, x[:200], x[200:], train_y=y[:200], test_y=y[200:], epochs=4, batch_size=32, lr=3e-3,
            progress=False, device="cpu", seed=0)
    assert h.status == "completed" and h.test["loss"][-1] < h.test["loss"][0]
    assert set(h.test) >= {"loss", "recon", "kl", "elbo"}


# ----------------------------------------------------------------------------- vae_course.conditional

def test_class_style_grid_and_style_transfer_decode_what_they_say():
    torch.manual_seed(4)
    model = ConditionalVAE(2, hidden=(16,)).eval()
    z = torch.randn(3, 2)
    grid = C.class_style_grid(model, z)
    assert grid.shape == (10, 3, 1, 28, 28)
    for k in (0, 7):
        for j in range(3):
            torch.testing.assert_close(grid[k, j], torch.sigmoid(model.decode(z[j:j + 1], torch.tensor([k])))[0])
    assert C.class_style_grid(model, z, classes=[2, 5]).shape == (2, 3, 1, 28, 28)
    x, y = images(2), torch.tensor([3, 8])
    out = C.style_transfer(model, x, y)
    assert out.shape == (2, 10, 1, 28, 28)
    mu, _ = model.encode(x[1:], y[1:])
    torch.testing.assert_close(out[1, 4], torch.sigmoid(model.decode(mu, 4))[0])
    torch.testing.assert_close(C.encode_codes(model, x, y), model.encode(x, y)[0].detach())
    with pytest.raises(ValueError, match="conditional model"):
        C.class_style_grid(MLPVAE(2, hidden=(8,)), z)
    with pytest.raises(ValueError, match="classes"):
        C.class_style_grid(model, z, classes=[10])
    with pytest.raises(ValueError, match=r"z must be a \(n, 2\)"):
        C.class_style_grid(model, torch.zeros(3, 5))


def test_linear_probe_finds_a_linear_label_and_not_a_random_one():
    g = torch.Generator().manual_seed(0)
    centres = 4 * torch.randn(5, 3, generator=g)
    y = torch.randint(0, 5, (600,), generator=g)
    f = centres[y] + torch.randn(600, 3, generator=g)
    # an independent reference: the Bayes classifier knows the centres (nearest centre)
    bayes = float((torch.cdist(f[400:], centres).argmin(1) == y[400:]).float().mean())
    acc = C.probe_accuracy(f[:400], y[:400], f[400:], y[400:], n_classes=5)
    assert acc >= bayes - 0.03 and acc > 0.8
    noise = torch.randn(600, 3, generator=g)
    assert C.probe_accuracy(noise[:400], y[:400], noise[400:], y[400:], n_classes=5) < 0.35   # chance 0.2
    with pytest.raises(ValueError, match="NaN"):
        C.fit_linear_probe(torch.full((4, 2), float("nan")), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        C.fit_linear_probe(f, y.float())


def test_ink_correlation():
    g = torch.Generator().manual_seed(0)
    ink = torch.rand(12, generator=g)                      # one "style" per column
    same = ink[None, :, None].expand(4, 12, 10) * torch.tensor([1.0, 2.0, 0.5, 3.0])[:, None, None]
    assert C.ink_correlation(same) == pytest.approx(1.0)
    anti = torch.stack([ink, 1 - ink])[:, :, None]
    assert C.ink_correlation(anti) == pytest.approx(-1.0)
    # against numpy's Pearson correlation, on random rows
    rows = torch.rand(3, 20, 5, generator=g)
    r = np.corrcoef(rows.double().sum(2).numpy())
    assert C.ink_correlation(rows) == pytest.approx((r.sum() - 3) / 6)
    with pytest.raises(ValueError, match="same ink"):
        C.ink_correlation(torch.ones(2, 5, 3))


# ----------------------------------------------------------------------------- exercise 10's checks

def _results(qid, answer):
    from vae_course import checks
    return [c.test(answer) for c in checks.get(qid).checks]


def test_exercise_checks_accept_right_answers_and_name_the_misconceptions():
    def swap(encode, decode, x, y, new_y):
        with torch.no_grad():
            return torch.sigmoid(decode(encode(x, y)[0], new_y))

    def swap_wrong_label(encode, decode, x, y, new_y):
        with torch.no_grad():
            return torch.sigmoid(decode(encode(x, new_y)[0], new_y))

    def swap_sampled(encode, decode, x, y, new_y):
        with torch.no_grad():
            mu, logvar = encode(x, y)
            return torch.sigmoid(decode(mu + torch.exp(0.5 * logvar) * torch.randn_like(mu), new_y))

    assert _results("style_swap_code", swap) == [True, True]
    assert "encoded with the new label" in _results("style_swap_code", swap_wrong_label)[0]
    assert _results("style_swap_code", swap_sampled)[1] is False
    assert _results("grid_column", "B") == [True] and _results("grid_column", " b ") == [True]
    assert "swaps the roles" in _results("grid_column", "C")[0]
    assert "one of the letters" in _results("grid_column", "E")[0]      # what to type, not a traceback
    # the fixed variant (exercises/): ELBO -118 nats, C = 26 classes
    assert _results("bound_log_px", -118 - math.log(26)) == [True] and _results("bound_log_px", -121.2581) == [True]
    assert "log p(x|y)" in _results("bound_log_px", -118)[0]
    assert "sign" in _results("bound_log_px", -118 + math.log(26))[0]
    assert "natural" in _results("bound_log_px", -118 - math.log2(26))[0]
    assert _results("bound_log_px", -140 - math.log(10)) == [False]      # the old numbers, near the lecture's
    truth = count_parameters(ConditionalVAE(2)) - count_parameters(MLPVAE(2))
    assert _results("extra_parameters", truth) == [True] and truth == 7680
    assert "256 wide" in _results("extra_parameters", 10240)[0]
    assert _results("extra_parameters", 7000) == [False]


def test_bound_log_px_under_a_students_own_numbers():
    from vae_course import variants
    from vae_course.checks import params
    v = params("bound_log_px", "alice")
    assert (v.elbo, v.C) != (-118, 26) and v.C != 10 and -190 <= v.elbo <= -80
    with variants.of("alice"):
        assert _results("bound_log_px", v.elbo + math.log(1 / v.C)) == [True]
        assert "log p(x|y)" in _results("bound_log_px", v.elbo)[0]
        assert "sign" in _results("bound_log_px", v.elbo + math.log(v.C))[0]
        assert _results("bound_log_px", -118 - math.log(26)) == [False]     # the exercise's answer
    assert len({params("bound_log_px", f"s{i}")["elbo"] - math.log(params("bound_log_px", f"s{i}")["C"])
                for i in range(200)}) >= 150

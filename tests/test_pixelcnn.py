import pytest
import torch

from vae_course.losses import bernoulli_log_likelihood
from vae_course.models import build_model
from vae_course.pixelcnn import MaskedConv2d, PixelCNNVAE, pretrain_decoder
from vae_course.train import fit


def _dependence(model, r, c):
    """Which input pixels the logit at (r, c) depends on (gradient ≠ 0), random positive weights."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand_like(p) + 0.1)
    x = torch.rand(1, 1, 28, 28, requires_grad=True)
    z = torch.zeros(1, model.latent_dim)
    (g,) = torch.autograd.grad(model.decode(z, x)[0, 0, r, c], x)
    return g[0, 0] != 0


@pytest.mark.parametrize("context,ar_hidden", [(3, 0), (7, 0), ("full", 0), ("full", 16)])
def test_each_logit_depends_only_on_earlier_pixels(context, ar_hidden):
    model = PixelCNNVAE(4, hidden=8, context=context, ar_hidden=ar_hidden)
    for r, c in [(0, 0), (14, 14), (27, 27), (3, 25)]:
        dep = _dependence(model, r, c)
        order = torch.arange(28 * 28).view(28, 28)
        assert not dep[order >= r * 28 + c].any(), (r, c)
    assert not _dependence(model, 0, 0).any()          # the first pixel sees nothing


def test_receptive_field_counts_previous_pixels():
    # 3×3 type A: left, up-left, up, up-right; 7×7 type A: 3 full rows of 7 and 3 to the left;
    # full: every pixel before (14, 14) in raster order
    assert PixelCNNVAE(4, hidden=8, context=3).receptive_field() == 4
    assert PixelCNNVAE(4, hidden=8, context=7).receptive_field() == 24
    assert PixelCNNVAE(4, hidden=8, context="full").receptive_field() == 14 * 28 + 14
    assert PixelCNNVAE(4, hidden=8, context=0).receptive_field() == 0


def test_without_pixel_view_logits_ignore_x():
    torch.manual_seed(0)
    model = PixelCNNVAE(3, hidden=8, context=0)
    z = torch.randn(2, 3)
    a = model.decode(z, torch.rand(2, 1, 28, 28))
    b = model.decode(z)
    torch.testing.assert_close(a, b)


def test_loss_terms_are_bernoulli_nll_plus_gaussian_kl():
    torch.manual_seed(0)
    model = PixelCNNVAE(3, hidden=8)
    with torch.no_grad():
        model.weight.normal_(0, 0.05)              # not the zero start: the pixel view must count
    x = (torch.rand(5, 1, 28, 28) > 0.5).float()
    torch.manual_seed(1)
    terms = model.loss_terms(x)
    torch.manual_seed(1)
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    logits = model.decode(z, x)
    nll = -torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1).mean()
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(terms["recon"], nll)
    torch.testing.assert_close(terms["kl"], kl)
    torch.testing.assert_close(terms["loss"], nll + kl)


def test_sample_and_reconstruct_are_binary_images_drawn_pixel_by_pixel():
    torch.manual_seed(0)
    model = PixelCNNVAE(2, hidden=8, context=3)
    s = model.sample(3, generator=torch.Generator().manual_seed(0))
    assert s.shape == (3, 1, 28, 28) and set(s.unique().tolist()) <= {0.0, 1.0}
    again = model.sample(3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(s, again)
    r = model.reconstruct((torch.rand(2, 1, 28, 28) > 0.5).float())
    assert r.shape == (2, 1, 28, 28)
    plain = PixelCNNVAE(2, hidden=8, context=0)
    m = plain.sample(2)
    assert ((m > 0) & (m < 1)).all()                       # Bernoulli means, one pass


def test_trains_and_rebuilds_from_config():
    torch.manual_seed(0)
    x = (torch.rand(64, 1, 28, 28) > 0.7).float()
    model = PixelCNNVAE(2, hidden=16, context=5)
    h = fit(model, x, x[:16], epochs=2, batch_size=32, progress=False, seed=0, lr=3e-3)
    assert h.status == "completed" and h.test["loss"][-1] < h.test["loss"][0]
    clone = build_model(model.config)
    assert isinstance(clone, PixelCNNVAE) and clone.config == model.config


@pytest.mark.parametrize("kw", [dict(context=4), dict(context=-3), dict(context="all"), dict(context=True),
                                dict(hidden=0), dict(latent_dim=0), dict(context=3, ar_hidden=4),
                                dict(ar_hidden=-1)])
def test_bad_settings_are_refused(kw):
    args = dict(latent_dim=2, hidden=8)
    args.update(kw)
    with pytest.raises((ValueError, TypeError)):
        PixelCNNVAE(**args)


def test_decode_needs_x_when_it_sees_pixels():
    model = PixelCNNVAE(2, hidden=8)
    with pytest.raises(ValueError, match="needs the images"):
        model.decode(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="same number"):
        model.decode(torch.zeros(2, 2), torch.zeros(3, 1, 28, 28))
    with pytest.raises(ValueError):
        MaskedConv2d(1, 1, 3, "C")


def test_pretrain_decoder_trains_the_decoder_alone():
    torch.manual_seed(0)
    x = (torch.rand(64, 1, 28, 28) > 0.7).float()
    model = PixelCNNVAE(2, hidden=16, context="full")
    encoder_before = [p.detach().clone() for p in model.encoder.parameters()]
    weight_before = model.weight.detach().clone()
    h = pretrain_decoder(model, x, 2, batch_size=32, progress=False, seed=0, lr=1e-2)
    assert model.z_off is False                                   # the code is switched back on
    assert all(torch.equal(a, b) for a, b in zip(encoder_before, model.encoder.parameters()))
    assert not torch.equal(weight_before, model.weight)           # the pixel path learned
    assert h.beta == [0.0, 0.0]
    with pytest.raises(TypeError):
        pretrain_decoder(torch.nn.Linear(2, 2), x, 1)

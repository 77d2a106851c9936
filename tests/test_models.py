import math

import pytest
import torch

from vae_course import models
from vae_course.models import MLPVAE, Autoencoder, ConvVAE, build_model, count_parameters

ALL = [lambda: Autoencoder(2), lambda: MLPVAE(3), lambda: ConvVAE(4)]


def images(b=4, seed=0):
    return torch.rand(b, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("make", ALL)
def test_interface_shapes_and_ranges(make):
    torch.manual_seed(0)
    model = make()
    x = images()
    code = model.encode(x)
    if isinstance(model, Autoencoder):
        assert code.shape == (4, 2)
        z = code
    else:
        mu, logvar = code
        assert mu.shape == logvar.shape == (4, model.latent_dim)
        z = mu
    assert model.decode(z).shape == (4, 1, 28, 28)
    for out in (model.sample(5), model.reconstruct(x)):
        assert out.shape[1:] == (1, 28, 28) and float(out.min()) >= 0 and float(out.max()) <= 1
    terms = model.loss_terms(x)
    assert terms["loss"].ndim == 0 and torch.isfinite(terms["loss"])
    assert "recon" in terms


def test_vae_terms_and_a_fixed_generator():
    torch.manual_seed(0)
    model = ConvVAE(4)
    terms = model.loss_terms(images(), beta=2.0)
    assert set(terms) >= {"loss", "recon", "kl", "elbo", "kl_per_dim"}
    assert torch.allclose(terms["loss"], terms["recon"] + 2.0 * terms["kl"])
    assert terms["kl_per_dim"].shape == (4,)
    a = model.sample(3, generator=torch.Generator().manual_seed(5))
    b = model.sample(3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize("make", ALL)
def test_build_model_rebuilds_from_config(make):
    model = make()
    clone = build_model(model.config)
    assert type(clone) is type(model) and clone.config == model.config
    assert count_parameters(clone) == count_parameters(model)


def test_conv_vae_parameter_count_matches_the_architecture():
    l, c1, c2, h = 16, 32, 64, 256
    conv = lambda cin, cout: cin * cout * 16 + cout          # 4x4 kernels
    lin = lambda a, b: a * b + b
    expected = (conv(1, c1) + conv(c1, c2) + lin(c2 * 49, h) + 2 * lin(h, l)     # encoder
                + lin(l, h) + lin(h, c2 * 49) + conv(c2, c1) + c1 * 1 * 16 + 28 * 28)  # decoder + pixel bias
    assert count_parameters(ConvVAE(l, (c1, c2), h)) == expected == 1_689_072
    shapes = dict(ConvVAE(l).shapes())
    assert shapes["enc Conv2d"] == (64, 7, 7) and shapes["dec ConvTranspose2d"] == (1, 28, 28)


def test_mlp_vae_matches_the_pytorch_examples_size():
    # 784-400-20: fc1, fc21, fc22, fc3, fc4 of the PyTorch examples VAE
    assert count_parameters(MLPVAE(20, hidden=(400,))) == (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)


@pytest.mark.parametrize("make", ALL)
def test_bad_images_raise_value_error(make):
    model = make()
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model.encode(torch.rand(4, 784))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model.loss_terms(torch.rand(4, 3, 28, 28))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.loss_terms(images() * 255)
    with pytest.raises(ValueError, match="z must have shape"):
        model.decode(torch.zeros(2, model.latent_dim + 1))


def test_bad_configs():
    with pytest.raises(ValueError, match="latent_dim"):
        ConvVAE(0)
    with pytest.raises(ValueError, match="unknown model"):
        build_model({"model": "NoSuchVAE"})
    with pytest.raises(ValueError, match="cannot build"):
        build_model({"model": "MLPVAE", "latent_dim": 2, "colour": "red"})
    assert "ConvVAE" in models.MODELS


@pytest.mark.parametrize("make", [lambda: MLPVAE(2), lambda: ConvVAE(2, (4, 8), None)])
def test_init_output_bias_starts_from_the_mean_image(make):
    x = images(64)
    model = make()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()                      # decoder output = bias only
    model.init_output_bias(x)
    mean = x.mean(0, keepdim=True).clamp(1e-3, 1 - 1e-3)
    assert torch.allclose(model.decode_images(torch.zeros(1, 2)), mean, atol=1e-5)


def test_conv_vae_options_activation_and_extra_convs():
    l, c1, c2 = 4, 8, 16
    plain, deeper = ConvVAE(l, (c1, c2), None), ConvVAE(l, (c1, c2), None, act="silu", extra_convs=2)
    # each extra 3x3 convolution at 7x7 adds c2*c2*9 + c2 parameters, once in the encoder and once in the decoder
    assert count_parameters(deeper) - count_parameters(plain) == 2 * 2 * (c2 * c2 * 9 + c2)
    assert sum(isinstance(m, torch.nn.SiLU) for m in deeper.modules()) == (2 + 2) + (1 + 2 + 1)   # encoder, decoder
    assert not any(isinstance(m, torch.nn.ReLU) for m in deeper.modules())
    shapes = deeper.shapes()
    assert [s for name, s in shapes if name == "enc Conv2d"] == [(c1, 14, 14), (c2, 7, 7), (c2, 7, 7), (c2, 7, 7)]
    assert deeper.config["act"] == "silu" and deeper.config["extra_convs"] == 2
    assert "act" not in plain.config                       # defaults keep the old config (old checkpoints rebuild)
    clone = build_model(deeper.config)
    assert count_parameters(clone) == count_parameters(deeper)
    x = images()
    assert deeper.decode(deeper.encode(x)[0]).shape == (4, 1, 28, 28)
    with pytest.raises(ValueError, match="act must be one of"):
        ConvVAE(l, act="tanh")
    split = ConvVAE(l, (c1, c2), None, extra_convs=(2, 0))           # encoder only
    assert count_parameters(split) - count_parameters(plain) == 2 * (c2 * c2 * 9 + c2)
    assert len([s for name, s in split.shapes() if name == "enc Conv2d"]) == 4
    assert build_model(split.config).config == split.config
    for bad in (-1, (1,), (1, -1), 1.5):
        with pytest.raises(ValueError, match="extra_convs"):
            ConvVAE(l, extra_convs=bad)


def test_inputs_on_another_device_or_dtype_name_the_argument():
    model = MLPVAE(2, hidden=(8,))
    with pytest.raises(ValueError, match="x is on meta but the model's weights are on cpu"):
        model.encode(torch.zeros(2, 1, 28, 28, device="meta"))
    with pytest.raises(ValueError, match="x has dtype torch.float64 but the model's weights have torch.float32"):
        model.encode(torch.zeros(2, 1, 28, 28, dtype=torch.float64))
    with pytest.raises(ValueError, match="z is on meta"):
        model.decode(torch.zeros(2, 2, device="meta"))
    with pytest.raises(ValueError, match="x is empty"):
        model.encode(torch.zeros(0, 1, 28, 28))
    with pytest.raises(ValueError, match="x contains NaN"):
        model.loss_terms(torch.full((2, 1, 28, 28), float("nan")))
    import numpy as np
    assert model.sample(np.int64(3)).shape == (3, 1, 28, 28)
    with pytest.raises(TypeError, match="n must be an integer"):
        model.sample(True)
    assert model.decode_images(torch.zeros(1, 2, dtype=torch.float64)).dtype == torch.float32   # converted for you


# ----------------------------------------------------------------------------- lecture 02's additions

def test_denoising_autoencoder_corrupts_the_input_and_scores_the_clean_image():
    from vae_course.losses import bernoulli_log_likelihood
    from vae_course.models import DenoisingAutoencoder, build_model
    torch.manual_seed(0)
    model = DenoisingAutoencoder(latent_dim=3, hidden=(16,), noise=0.4)
    x = torch.rand(5, 1, 28, 28)
    g = torch.Generator().manual_seed(1)
    noisy = model.corrupt(x, generator=g)
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    assert torch.equal(noisy, (x + 0.4 * eps).clamp(0, 1)) and noisy.min() >= 0 and noisy.max() <= 1
    # the loss is the clean image's likelihood under the reconstruction of a fresh corruption
    torch.manual_seed(3)
    loss = model.loss_terms(x)["loss"]
    torch.manual_seed(3)
    expected = -bernoulli_log_likelihood(model(model.corrupt(x)), x).mean()
    assert torch.allclose(loss, expected)
    # noise = 0 is the plain autoencoder's loss
    quiet = DenoisingAutoencoder(latent_dim=3, hidden=(16,), noise=0.0)
    assert torch.allclose(quiet.loss_terms(x)["loss"], -bernoulli_log_likelihood(quiet(x), x).mean())
    rebuilt = build_model(model.config)
    assert isinstance(rebuilt, DenoisingAutoencoder) and rebuilt.noise == 0.4 and rebuilt.config == model.config
    for bad in (-0.1, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match="noise"):
            DenoisingAutoencoder(noise=bad)


def test_aggregate_posterior_is_the_equal_weight_mixture_of_the_encoder_gaussians():
    from vae_course.models import aggregate_posterior
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 2, generator=g, dtype=torch.float64), torch.randn(7, 2, generator=g, dtype=torch.float64)
    q = aggregate_posterior(mu, logvar)
    z = torch.randn(11, 2, generator=g, dtype=torch.float64)
    # by hand: log (1/N) Σ_n Π_j N(z_j; μ_nj, σ_nj²)
    sd = torch.exp(0.5 * logvar)
    log_n = (-0.5 * ((z[:, None, :] - mu[None]) / sd[None]) ** 2 - torch.log(sd[None]) - 0.5 * math.log(2 * math.pi)).sum(-1)
    expected = torch.logsumexp(log_n, 1) - math.log(7)
    assert torch.allclose(q.log_prob(z), expected)
    assert torch.isfinite(q.log_prob(torch.full((1, 2), 30.0, dtype=torch.float64))).all()   # positive density far out
    assert q.sample((4,)).shape == (4, 2)
    with pytest.raises(ValueError, match="same shape"):
        aggregate_posterior(mu, logvar[:3])
    with pytest.raises(ValueError, match="NaN"):
        aggregate_posterior(mu * float("nan"), logvar)

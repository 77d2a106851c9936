import os
from pathlib import Path

import pytest
import torch

from vae_course import config, train
from vae_course.data import load_mnist
from vae_course.models import MLPVAE, Autoencoder, ConvVAE
from vae_course.train import History, fit, load_checkpoint, save_checkpoint

MNIST_DIR = Path(os.environ.get("VAE_COURSE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")


@pytest.fixture(scope="module")
def mnist():
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST test split (../shared/data/mnist) is not here")
    return load_mnist(MNIST_DIR, n_train=1024, n_test=256)


def test_fit_learns_and_records_every_term(mnist):
    model = MLPVAE(4, hidden=(128,))
    h = fit(model, mnist.train_x, mnist.test_x, epochs=3, batch_size=64, lr=2e-3, device="cpu", seed=0,
            beta=lambda e: 0.5 * (e + 1), progress=False)
    assert h.status == "completed" and len(h) == 3 and h.epochs == [1, 2, 3] and h.device == "cpu"
    assert h.beta == [0.5, 1.0, 1.5]
    assert h["recon"][-1] < h["recon"][0] and h.test["recon"][-1] < h.test["recon"][0]
    for key in ("loss", "recon", "kl", "elbo"):
        assert len(h.train[key]) == len(h.test[key]) == 3
    assert h.stack("kl_per_dim").shape == (3, 4)
    # the recorded epoch mean is the mean of the per-batch means weighted by batch size
    assert h.train["loss"][-1] == pytest.approx(h.train["recon"][-1] + 1.5 * h.train["kl"][-1], rel=1e-4)
    assert "3 epochs" in repr(h)


def test_fit_dynamic_binarization_and_autoencoder(mnist):
    h = fit(Autoencoder(2, hidden=(64,)), mnist.train_x, mnist.test_x, epochs=1, binarize=True, progress=False, device="cpu")
    assert set(h.train) == {"loss", "recon"} and len(h.test["loss"]) == 1


def test_device_selection(monkeypatch, mnist):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(config, "_mps_available", lambda: False)
    h = fit(MLPVAE(2, hidden=(32,)), mnist.train_x[:128], epochs=1, progress=False)
    assert h.device == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        fit(MLPVAE(2), mnist.train_x[:128], epochs=1, progress=False, device="cuda")


def test_fit_rejects_bad_input(mnist):
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        fit(MLPVAE(2), mnist.train_x.view(-1, 784), epochs=1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fit(MLPVAE(2), mnist.train_x * 255, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        fit(MLPVAE(2), mnist.train_x, epochs=0)


class BreaksAt(MLPVAE):
    """An MLPVAE whose loss_terms misbehaves on call number `at` and after."""

    def __init__(self, at, what):
        super().__init__(2, hidden=(32,))
        self.calls, self.at, self.what = 0, at, what

    def loss_terms(self, x, **kw):
        self.calls += 1
        terms = super().loss_terms(x, **kw)
        if self.calls >= self.at:
            if self.what == "interrupt":
                raise KeyboardInterrupt
            terms["loss"] = terms["loss"] * float("nan")
        return terms


def test_nan_loss_stops_and_keeps_the_last_good_weights(mnist):
    model = BreaksAt(at=8 + 3, what="nan")          # 8 batches per epoch: breaks in epoch 2
    snapshots = []
    with pytest.warns(RuntimeWarning, match="NaN or infinite in batch 3 of epoch 2"):
        h = fit(model, mnist.train_x, epochs=5, progress=False, device="cpu",
                callback=lambda e, hist: snapshots.append({k: v.clone() for k, v in model.state_dict().items()}))
    assert h.status == "diverged" and len(h) == 1 and "epoch 1" in h.note
    for k, v in model.state_dict().items():
        assert torch.isfinite(v).all()
        assert torch.equal(v, snapshots[0][k])      # the weights at the end of epoch 1


def test_keyboard_interrupt_keeps_model_and_history(mnist, capsys):
    model = BreaksAt(at=8 + 4, what="interrupt")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    h = fit(model, mnist.train_x, mnist.test_x, epochs=5, progress=False, device="cpu")
    assert h.status == "interrupted" and len(h) == 1 and len(h.test["loss"]) == 1
    assert "interrupted during epoch 2" in capsys.readouterr().out
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())   # training was kept


def test_checkpoint_round_trip(tmp_path, mnist):
    torch.manual_seed(0)
    model = ConvVAE(3, channels=(4, 8), hidden=16)
    h = fit(model, mnist.train_x[:256], mnist.test_x[:64], epochs=1, progress=False, device="cpu")
    path = save_checkpoint(model, tmp_path / "sub" / "conv.pt", history=h, note="hello", epochs=1)
    assert [p.name for p in path.parent.iterdir()] == ["conv.pt"]          # no temporary file left
    loaded, ckpt = load_checkpoint(path)
    assert isinstance(loaded, ConvVAE) and loaded.config == model.config and not loaded.training
    z = torch.randn(5, 3)
    assert torch.equal(loaded.decode(z), model.decode(z))
    assert isinstance(ckpt["history"], History) and ckpt["history"].train["loss"] == h.train["loss"]
    assert ckpt["extra"] == {"note": "hello", "epochs": 1}
    save_checkpoint(loaded, path)                                          # overwrite in place
    assert load_checkpoint(path)[1]["history"] is None


def test_checkpoint_faults(tmp_path):
    path = save_checkpoint(MLPVAE(2, hidden=(8,)), tmp_path / "m.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    blob = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="corrupted"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="corrupted"):
        load_checkpoint(tmp_path / "text.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a vae_course checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["config"]["latent_dim"] = 3                                       # config and weights disagree
    ckpt["checksum"]["sha256"] = train.checkpoint_checksum(ckpt["config"], ckpt["state_dict"])   # consistently
    torch.save(ckpt, tmp_path / "mismatch.pt")
    with pytest.raises(ValueError, match="do not match"):
        load_checkpoint(tmp_path / "mismatch.pt")
    with pytest.raises(ValueError, match="config"):
        save_checkpoint(torch.nn.Linear(2, 2), tmp_path / "x.pt")


def test_failed_save_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(MLPVAE(2, hidden=(8,)), tmp_path / "m.pt")
    good = path.read_bytes()

    def broken_save(obj, f):
        Path(f).write_bytes(b"half")
        raise KeyboardInterrupt
    monkeypatch.setattr(train.torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(MLPVAE(2, hidden=(8,)), path)
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["m.pt"]


class Thing:
    pass


def test_checkpoint_extras_must_load_back_safely(tmp_path):
    with pytest.raises(ValueError, match="plain Python values"):
        save_checkpoint(MLPVAE(2, hidden=(8,)), tmp_path / "m.pt", thing=Thing())
    torch.save({"format": train.CHECKPOINT_FORMAT, "thing": Thing()}, tmp_path / "pickled.pt")
    with pytest.raises(ValueError, match="not allowed in a checkpoint"):
        load_checkpoint(tmp_path / "pickled.pt")
    (tmp_path / "pickled.pt").unlink()
    assert list(tmp_path.iterdir()) == []


class RecordsBeta(MLPVAE):
    def __init__(self):
        super().__init__(2, hidden=(16,))
        self.betas = []

    def loss_terms(self, x, beta=1.0, **kw):
        self.betas.append(beta)
        return super().loss_terms(x, beta=beta, **kw)


def test_kl_warmup_ramps_beta_per_step(mnist):
    model = RecordsBeta()
    fit(model, mnist.train_x[:512], epochs=2, batch_size=128, beta=2.0, kl_warmup=1.0, progress=False, device="cpu")
    assert model.betas == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.0, 2.0, 2.0, 2.0])


def test_cosine_schedule_warms_up_then_decays():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = train._scheduler(opt, "cosine", 1000)       # warm-up: max(5%, min(100 steps, 20%))
    lrs = []
    for _ in range(1000):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.01) and max(lrs) == pytest.approx(1.0) and lrs[-1] < 0.001
    assert lrs.index(max(lrs)) == 99
    assert lrs[550] == pytest.approx(0.5, abs=0.01)                # half-way through the decay
    with pytest.raises(ValueError, match="schedule"):
        train._scheduler(opt, "linear", 10)


def test_ema_is_the_warmed_up_running_average():
    # a toy "model" of one parameter that SGD moves to 1, 2, 3, ...: the average follows the formula
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    avg = train.EMA(model, 0.9)
    expected = 0.0
    for t in range(1, 30):
        with torch.no_grad():
            model.weight.fill_(float(t))
        avg.update(model)
        d = min(0.9, (1 + t) / (10 + t))
        expected = d * expected + (1 - d) * t
        assert avg.params[0].item() == pytest.approx(expected, rel=1e-6)
    assert avg.rate(1) == pytest.approx(2 / 11) and avg.rate(1000) == 0.9
    with avg.swapped_into(model):
        assert model.weight.item() == pytest.approx(expected, rel=1e-6)
    assert model.weight.item() == 29.0                       # its own weight is back
    with pytest.raises(ValueError, match="decay"):
        train.EMA(model, 1.0)


class RecordsWeights(MLPVAE):
    """Records its weights at every loss_terms call: training steps and test evaluations apart."""

    def __init__(self):
        super().__init__(2, hidden=(8,))
        self.steps, self.evals = [], []

    def loss_terms(self, x, **kw):
        (self.steps if self.training else self.evals).append([p.detach().clone() for p in self.parameters()])
        return super().loss_terms(x, **kw)


def test_fit_with_ema_evaluates_and_ends_with_the_average(mnist):
    torch.manual_seed(0)
    model = RecordsWeights()
    raw = []                                      # the callback runs after evaluation: the model's own weights
    fit(model, mnist.train_x[:256], mnist.test_x[:64], epochs=2, batch_size=64, lr=1e-2, ema=0.5, progress=False,
        device="cpu", callback=lambda e, h: raw.append([p.detach().clone() for p in model.parameters()]))
    assert len(model.steps) == 8 and len(model.evals) == 2
    after_step = model.steps[1:] + [raw[-1]]      # weights after optimiser steps 1..8
    assert all(torch.equal(a, b) for a, b in zip(after_step[3], raw[0]))
    avg, averages = model.steps[0], []
    for t, w in enumerate(after_step, start=1):
        d = min(0.5, (1 + t) / (10 + t))
        avg = [d * a + (1 - d) * p for a, p in zip(avg, w)]
        averages.append(avg)
    close = lambda xs, ys: all(torch.allclose(a, b, atol=1e-6) for a, b in zip(xs, ys))
    assert close(model.evals[0], averages[3]) and close(model.evals[1], averages[7])   # tested with the average
    assert close(list(model.parameters()), averages[7])                                # and ends with it
    assert not close(averages[7], raw[-1])
    with pytest.raises(ValueError, match="ema"):
        fit(MLPVAE(2), mnist.train_x[:64], epochs=1, ema=1.5, progress=False)


def test_from_recipe_builds_the_benchmark_model_and_its_fit_arguments():
    from vae_course.models import count_parameters
    from vae_course.train import RECIPES, from_recipe

    x = torch.rand(32, 1, 28, 28)
    model, kwargs = from_recipe("conv", x)
    recipe = RECIPES["conv"]
    assert model.config["act"] == recipe["model"]["act"] and model.latent_dim == recipe["model"]["latent_dim"]
    assert kwargs == {k: v for k, v in recipe.items() if k not in ("model", "init_output_bias")}
    # the recipe's initialisation was applied: the untrained decoder draws the mean training image
    mean = x.mean(0, keepdim=True).clamp(1e-3, 1 - 1e-3)
    with torch.no_grad():
        assert torch.allclose(torch.sigmoid(model.pixel_bias), mean, atol=1e-5)
    assert count_parameters(from_recipe("reference")[0]) > 0      # no output-bias init: no data needed
    with pytest.raises(ValueError, match="pass train_x"):
        from_recipe("conv")
    with pytest.raises(ValueError, match="unknown recipe"):
        from_recipe("resnet")


def test_from_recipe_changes_one_ingredient_at_a_time():
    from vae_course.train import RECIPES, from_recipe

    x = torch.rand(32, 1, 28, 28)
    model, kwargs = from_recipe("conv", x, act="relu", channels=[8, 16], ema=0, init_output_bias=False, batch_size=128)
    assert any(isinstance(m, torch.nn.ReLU) for m in model.modules()) and model.config["channels"] == [8, 16]
    assert not any(isinstance(m, torch.nn.SiLU) for m in model.modules())
    assert kwargs["ema"] == 0 and kwargs["batch_size"] == 128 and kwargs["lr"] == RECIPES["conv"]["lr"]
    assert torch.all(model.pixel_bias == 0)                 # no output-bias initialisation
    assert RECIPES["conv"]["model"]["act"] == "silu" and RECIPES["conv"]["ema"] > 0      # the recipe itself is untouched
    for bad in ({"colour": "red"}, {"epochs": 3}):
        with pytest.raises(ValueError, match="cannot change"):
            from_recipe("conv", x, **bad)


def test_fused_adam_makes_the_same_steps_as_plain_adam():
    from vae_course.train import _adam

    torch.manual_seed(0)
    a, b = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = _adam(a.parameters(), lr=1e-2), torch.optim.Adam(b.parameters(), lr=1e-2, foreach=False)
    assert opt_a.defaults["fused"] is True              # CPU has the fused kernel
    for _ in range(5):
        x = torch.randn(8, 5)
        for net, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            net(x).pow(2).sum().backward()
            opt.step()
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.allclose(a.weight, torch.nn.Linear(5, 3).weight)


def test_fit_refuses_bad_data_and_arguments_once_at_the_start(mnist):
    x = mnist.train_x[:64].clone()
    bad = x.clone()
    bad[3, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="train_x contains NaN"):
        fit(MLPVAE(2), bad, epochs=1, progress=False)
    with pytest.raises(ValueError, match="test_x contains NaN"):
        fit(MLPVAE(2), x, bad, epochs=1, progress=False)
    bad[3, 0, 5, 5] = float("inf")
    with pytest.raises(ValueError, match="train_x contains infinite values"):
        fit(MLPVAE(2), bad, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"train_x must have values in \[0, 1\]"):
        fit(MLPVAE(2), x - 0.5, epochs=1, progress=False)
    with pytest.raises(ValueError, match="train_x is empty"):
        fit(MLPVAE(2), x[:0], epochs=1, progress=False)
    with pytest.raises(TypeError, match="train_x must be a torch tensor"):
        fit(MLPVAE(2), x.numpy(), epochs=1, progress=False)
    for kw, error, name in [(dict(lr=True), TypeError, "lr"), (dict(lr=float("nan")), ValueError, "lr is NaN"),
                            (dict(lr=-1e-3), ValueError, "lr"), (dict(epochs=2.0), TypeError, "epochs"),
                            (dict(batch_size=0), ValueError, "batch_size"), (dict(beta=-1), ValueError, "beta"),
                            (dict(beta="1"), TypeError, "beta"), (dict(free_bits=float("inf")), ValueError, "free_bits"),
                            (dict(clip_grad=0), ValueError, "clip_grad"), (dict(ema=1.0), ValueError, "ema"),
                            (dict(seed=-1), ValueError, "seed"), (dict(kl_warmup=False), TypeError, "kl_warmup"),
                            (dict(beta=lambda e: float("nan")), ValueError, r"beta\(0\) is NaN")]:
        kw = {"epochs": 1, **kw}
        with pytest.raises(error, match=name):
            fit(MLPVAE(2), x, progress=False, device="cpu", **kw)
    # NumPy numbers count as numbers; float64 images train a float32 model
    import numpy as np
    h = fit(MLPVAE(2, hidden=(8,)), x.double(), epochs=np.int64(1), lr=np.float32(1e-3), beta=np.float64(1.0),
            progress=False, device="cpu")
    assert h.status == "completed"

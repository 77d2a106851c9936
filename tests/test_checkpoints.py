"""Checkpoints from anyone: loading never runs code, catches flipped bytes and NaN weights, reads the
previous format version, and load_or_train says why it refuses a file and never overwrites it silently."""
import zipfile

import pytest
import torch

from vae_course import info, models, train
from vae_course.models import MLPVAE, ConvVAE
from vae_course.train import checkpoint_checksum, load_checkpoint, load_or_train, save_checkpoint


def small():
    torch.manual_seed(0)
    return MLPVAE(2, hidden=(8,))


def write(path, ckpt, fix_checksum=True):
    """torch.save a hand-made checkpoint; with a checksum that matches, as a careful attacker would write."""
    if fix_checksum and ckpt.get("version") == 2:
        config = {k: v for k, v in ckpt["config"].items() if k != "module"}    # a loader ignores 'module'
        ckpt["checksum"] = {"sha256": checkpoint_checksum(config, ckpt["state_dict"])}
    torch.save(ckpt, path)
    return path


def crafted(config, version=2):
    state = {k: v.clone() for k, v in small().state_dict().items()}
    return {"format": train.CHECKPOINT_FORMAT, "version": version, "config": config, "state_dict": state,
            "history": None, "extra": {}}


def bars(n=64):
    x = torch.zeros(n, 1, 28, 28)
    for i in range(n):
        x[i, 0, :, (i % 20) + 2:(i % 20) + 6] = 1.0
    return x


CANARY = "vae_course_canary_file"


def hostile_configs(canary):
    code = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    return [
        {"model": "sympify", "module": "sympy", "a": code},                       # parses its string as Python
        {"model": "sympify", "module": "vae_course.symbolic", "a": code},
        {"model": "kl_normal", "module": "vae_course.info", "mu1": 0.0, "sigma1": 1.0},   # a vae_course function
        {"model": "build_model", "module": "vae_course.models", "config": code},
        {"model": "load_checkpoint", "module": "vae_course.train", "path": str(canary)},
        {"model": "__class__", "module": "vae_course.models"},
        {"model": ["MLPVAE"], "latent_dim": 2},
        {"model": "MLPVAE", "latent_dim": 2, "hidden": [8], "__init__": code},   # an option no constructor has
        {"model": "MLPVAE", "latent_dim": 2, "hidden": {"eval": code}},           # a value of the wrong kind
    ]


@pytest.mark.parametrize("version", [1, 2])
def test_a_crafted_config_is_refused_without_importing_or_calling_anything(tmp_path, monkeypatch, version):
    canary = tmp_path / CANARY
    calls = []
    monkeypatch.setattr(info, "kl_normal", lambda *a, **k: calls.append(a))
    for i, config in enumerate(hostile_configs(canary)):
        path = write(tmp_path / f"evil{i}.pt", crafted(config, version))
        with pytest.raises(ValueError, match=r"config cannot be built: .*(unknown model in config\['model'\]|"
                                              r"not one of its options|config\['hidden'\] must be)"):
            with pytest.warns(UserWarning) if version == 1 else _nothing():
                load_checkpoint(path)
        assert not canary.exists() and calls == []
    assert set(p.name for p in tmp_path.iterdir()) == {f"evil{i}.pt" for i in range(len(hostile_configs(canary)))}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_build_model_builds_only_registered_classes_and_caps_the_size():
    with pytest.raises(ValueError, match=r"config\['model'\].*'kl_normal'.*only registered"):
        models.build_model({"model": "kl_normal", "module": "vae_course.info"})
    # a config asking for ~10^12 numbers is refused before allocating (this would need terabytes)
    with pytest.raises(ValueError, match="cap"):
        models.build_model({"model": "MLPVAE", "latent_dim": 2, "hidden": [1_000_000, 1_000_000]})
    with pytest.raises(ValueError, match="max_parameters"):
        models.build_model({"model": "MLPVAE", "latent_dim": 2, "hidden": [8]}, max_parameters=0)
    assert models.count_parameters(models.build_model({"model": "MLPVAE", "latent_dim": 2, "hidden": [8]})) > 0
    # every value is type- and range-checked, and the message names it
    for config, error, name in [
        ({"model": "MLPVAE", "latent_dim": True}, TypeError, "latent_dim"),
        ({"model": "MLPVAE", "latent_dim": 2.5}, TypeError, "latent_dim"),
        ({"model": "MLPVAE", "latent_dim": -3}, ValueError, "latent_dim"),
        ({"model": "MLPVAE", "latent_dim": 2, "hidden": "512"}, TypeError, "hidden"),
        ({"model": "MLPVAE", "latent_dim": 2, "hidden": [8, 0]}, ValueError, r"hidden\[1\]"),
        ({"model": "MLPVAE", "latent_dim": 2, "hidden": []}, ValueError, "hidden"),
        ({"model": "ConvVAE", "latent_dim": 2, "channels": [4]}, ValueError, "channels"),
        ({"model": "ConvVAE", "latent_dim": 2, "act": ["relu"]}, ValueError, "act"),
        ({"model": "ConvVAE", "latent_dim": 2, "hidden": float("nan")}, ValueError, "hidden"),
        ({"model": "MLPVAE", "latent_dim": 2, "hidden": [8] * 1000}, ValueError, "hidden"),
        ({"model": "MLPVAE", "latent_dim": 2**40}, ValueError, "latent_dim"),
        ({"model": "ConvVAE", "latent_dim": 2, "extra_convs": 10**6}, ValueError, "extra_convs"),   # not a million layers
    ]:
        with pytest.raises(error, match=name):
            models.build_model(config)


def test_register_model_keeps_working_as_a_decorator():
    @models.register_model
    class TinyVAE(MLPVAE):
        def __init__(self, latent_dim: int = 2):
            super().__init__(latent_dim, hidden=(4,))
            self._set_config(latent_dim=latent_dim)
    try:
        built = models.build_model({"model": "TinyVAE", "latent_dim": 3})
        assert isinstance(built, TinyVAE) and built.latent_dim == 3
    finally:
        models.MODELS.pop("TinyVAE")
    with pytest.raises(TypeError, match="register_model"):
        models.register_model(info.kl_normal)


def test_flipped_bytes_in_the_weights_fail_the_checksum(tmp_path):
    model = small()
    with torch.no_grad():
        model.decoder[-1].bias.copy_(torch.linspace(-1, 1, 784))       # bytes we can find in the file
    path = save_checkpoint(model, tmp_path / "m.pt")
    blob = bytearray(path.read_bytes())
    at = blob.find(model.decoder[-1].bias.detach().numpy().tobytes())
    assert at > 0
    blob[at + 1001] ^= 0x10                                              # one bit of one weight
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="checksum"):
        load_checkpoint(flipped)
    # the config is covered too: change it and keep the old checksum
    ckpt = torch.load(path, weights_only=True)
    ckpt["config"]["hidden"] = [9]
    with pytest.raises(ValueError, match="checksum"):
        load_checkpoint(write(tmp_path / "config.pt", ckpt, fix_checksum=False))
    del ckpt["checksum"]
    with pytest.raises(ValueError, match="without its sha256 checksum"):
        load_checkpoint(write(tmp_path / "nosum.pt", ckpt, fix_checksum=False))
    loaded, _ = load_checkpoint(path)                                    # the intact file loads, equal
    assert torch.equal(loaded.decoder[-1].bias, model.decoder[-1].bias)


def test_the_checksum_is_sha256_of_config_and_weights_in_a_fixed_order():
    import hashlib
    import json
    config = {"model": "X", "latent_dim": 2}
    state = {"b": torch.tensor([1.0, 2.0]), "a": torch.tensor([3], dtype=torch.int64)}
    h = hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
    for key in ("a", "b"):
        t = state[key]
        h.update(f"{key}\0{t.dtype}\0{tuple(t.shape)}\0".encode() + t.numpy().tobytes())
    assert checkpoint_checksum(config, state) == h.hexdigest()
    assert checkpoint_checksum(config, dict(reversed(list(state.items())))) == h.hexdigest()


def test_nan_or_inf_weights_are_refused(tmp_path):
    model = small()
    with torch.no_grad():
        model.to_mu.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"weight 'to_mu.weight' contains NaN"):
        save_checkpoint(model, tmp_path / "nan.pt")
    assert list(tmp_path.iterdir()) == []
    ckpt = crafted(small().config)
    ckpt["state_dict"]["to_logvar.bias"][0] = float("inf")
    with pytest.raises(ValueError, match=r"weight 'to_logvar.bias' contains infinite values"):
        load_checkpoint(write(tmp_path / "inf.pt", ckpt))


def test_previous_format_version_still_loads_with_a_warning_others_are_refused(tmp_path):
    model = small()
    old = {"format": train.CHECKPOINT_FORMAT, "version": 1, "config": dict(model.config),   # as version 1 wrote it
           "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
           "history": None, "extra": {"note": "old"}, "torch_version": "2.1.0"}
    assert old["config"]["module"] == "vae_course.models"
    path = write(tmp_path / "v1.pt", old)
    with pytest.warns(UserWarning, match="version-1 checkpoint.*Save it again"):
        loaded, ckpt = load_checkpoint(path)
    assert torch.equal(loaded.to_mu.weight, model.to_mu.weight) and ckpt["extra"] == {"note": "old"}
    # re-saving upgrades it: version 2, checksum, no warning
    save_checkpoint(loaded, path)
    assert torch.load(path, weights_only=True)["version"] == train.CHECKPOINT_VERSION == 2
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_checkpoint(path)
    for version in (0, 3, "2", True, None):
        bad = dict(old, version=version)
        with pytest.raises(ValueError, match=r"checkpoint version.*re-create it: run lecture 05"):
            load_checkpoint(write(tmp_path / "bad.pt", bad))


def test_oversized_and_damaged_files_are_refused_before_unpacking(tmp_path, monkeypatch):
    path = save_checkpoint(small(), tmp_path / "m.pt")
    monkeypatch.setattr(train, "MAX_CHECKPOINT_BYTES", 1000)
    with pytest.raises(ValueError, match="larger than any vae_course checkpoint"):
        load_checkpoint(path)
    monkeypatch.setattr(train, "MAX_CHECKPOINT_BYTES", path.stat().st_size)
    declared = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    if declared > path.stat().st_size:
        with pytest.raises(ValueError, match="declares"):
            load_checkpoint(path)
    monkeypatch.undo()
    ckpt = crafted(small().config)
    ckpt["state_dict"] = {"to_mu.weight": [1.0, 2.0]}          # not tensors
    with pytest.raises(ValueError, match="damaged"):
        load_checkpoint(write(tmp_path / "d.pt", ckpt, fix_checksum=False))


def test_load_or_train_says_why_before_training_and_moves_a_refused_file_aside(tmp_path, capsys):
    canary = tmp_path / CANARY
    path = write(tmp_path / "conv_vae.pt", crafted({"model": "sympify", "module": "sympy",
                                                     "a": f"__import__('pathlib').Path({str(canary)!r}).touch()"}))
    evil = path.read_bytes()

    seen = {}

    def before_training(epoch, history):
        seen.setdefault("out", capsys.readouterr().out)
    model, message = load_or_train(path, 2, bars(), epochs=1, model_class="MLPVAE", progress=False, seed=0,
                                   callback=before_training)
    assert "Not using the checkpoint" in seen["out"] and "unknown model" in seen["out"]   # said before epoch 1 ended
    assert "stays as it is" in seen["out"] and path.read_bytes() == evil                   # save=False: untouched
    assert "could not be read" in message and model.latent_dim == 2 and not canary.exists()

    model, message = load_or_train(path, 2, bars(), epochs=1, model_class="MLPVAE", progress=False, seed=0, save=True)
    out = capsys.readouterr().out
    aside = tmp_path / "conv_vae.pt.refused"
    assert "will be moved to conv_vae.pt.refused" in out
    assert f"moved the refused file to {aside}" in message and "saved it to" in message
    assert aside.read_bytes() == evil and not canary.exists()
    loaded, _ = load_checkpoint(path)                          # the new file is the trained model
    assert torch.equal(loaded.to_mu.weight, model.to_mu.weight.cpu())

    # a good checkpoint that does not fit is moved aside too, never overwritten silently
    save_checkpoint(MLPVAE(3, hidden=(8,)), path)
    good = path.read_bytes()
    model, message = load_or_train(path, 2, bars(), epochs=1, model_class="MLPVAE", progress=False, save=True)
    assert "latent_dim=3" in message and "moved the refused file" in message and aside.read_bytes() == good


def test_load_or_train_builds_only_registered_models(tmp_path):
    for name in ("build_model", "torch", "reparameterize", "__class__", 3):
        with pytest.raises(ValueError, match="registered models"):
            load_or_train(tmp_path / "none.pt", 2, bars(), epochs=1, model_class=name, progress=False)
    with pytest.raises(TypeError, match="latent_dim"):
        load_or_train(tmp_path / "none.pt", "2", bars(), train_latent_dim=2, epochs=1, progress=False)
    assert not (tmp_path / "none.pt").exists()


def test_round_trip_of_every_registered_kind(tmp_path):
    for model in (small(), ConvVAE(3, channels=(4, 8), hidden=None, act="silu", extra_convs=(1, 0))):
        path = save_checkpoint(model, tmp_path / "m.pt")
        loaded, ckpt = load_checkpoint(path)
        assert type(loaded) is type(model) and loaded.config == model.config and "module" not in ckpt["config"]
        z = torch.randn(2, model.latent_dim)
        assert torch.equal(loaded.decode(z), model.decode(z))

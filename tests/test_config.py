import numpy as np
import pytest
import torch

from vae_course import config


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)])
def test_fast_mode_reads_environment(monkeypatch, value, expected):
    monkeypatch.setenv(config.FAST_ENV, value)
    assert config.fast_mode() is expected
    assert config.pick("normal", "fast") == ("fast" if expected else "normal")


def test_fast_mode_unset_is_off(monkeypatch):
    monkeypatch.delenv(config.FAST_ENV, raising=False)
    assert config.fast_mode() is False


def test_fast_mode_rejects_nonsense(monkeypatch):
    monkeypatch.setenv(config.FAST_ENV, "maybe")
    with pytest.raises(ValueError, match="VAE_COURSE_FAST"):
        config.fast_mode()


def test_device_order_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(config, "_mps_available", lambda: True)
    assert config.get_device().type == "mps"
    monkeypatch.setattr(config, "_mps_available", lambda: False)
    assert config.get_device().type == "cpu"


def test_requesting_a_missing_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        config.get_device("cuda")
    assert config.get_device("cpu").type == "cpu"


def test_seeding_repeats_draws():
    config.seed_everything(123)
    a = (torch.rand(3), np.random.rand(3))
    config.seed_everything(123)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError):
        config.seed_everything(-1)


def test_setup_prints_device_and_mode(monkeypatch, capsys):
    monkeypatch.setenv(config.FAST_ENV, "1")
    config.setup()
    out = capsys.readouterr().out
    assert "device:" in out and "fast mode: ON" in out

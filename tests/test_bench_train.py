import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MNIST_DIR = Path(os.environ.get("VAE_COURSE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
REPO = Path(__file__).resolve().parents[1]


def bench(*args):
    return subprocess.run([sys.executable, "-m", "vae_course.bench", "train", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="the MNIST test split (../shared/data/mnist) is not here")
@pytest.mark.parametrize("model", ["reference", "conv"])
def test_bench_train_prints_one_json_line_per_epoch(model):
    out = bench("--model", model, "--epochs", "1", "--data-dir", str(MNIST_DIR), "--seed", "0", "--threads", "1")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]   # stdout: JSON lines and nothing else
    assert len(lines) == 1
    assert "9,000" in out.stderr      # the split notice goes to stderr
    row = lines[0]
    assert row["epoch"] == 1 and row["device"] == "cpu" and row["n_train"] == 9000 and row["n_test"] == 1000
    assert 80 < row["test_loss"] < 400 and row["train_images_per_s"] > 0 and row["elapsed_s"] > 0


def test_bench_train_unknown_model_says_what_exists():
    out = bench("--model", "nope", "--epochs", "1")
    assert out.returncode != 0 and "reference" in out.stderr


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="the MNIST test split (../shared/data/mnist) is not here")
def test_bench_train_set_changes_the_recipe_and_rejects_unknown_keys():
    bad = bench("--model", "conv", "--epochs", "1", "--data-dir", str(MNIST_DIR), "--set", "colour=red")
    assert bad.returncode != 0 and "cannot change 'colour'" in bad.stderr and "Traceback" not in bad.stderr
    zero = bench("--model", "conv", "--epochs", "1", "--data-dir", str(MNIST_DIR), "--set", "batch_size=0")
    assert zero.returncode != 0 and "batch_size" in zero.stderr and "Traceback" not in zero.stderr
    malformed = bench("--model", "conv", "--epochs", "1", "--set", "act")
    assert malformed.returncode != 0 and "KEY=VALUE" in malformed.stderr


def test_bench_setting_reads_json_values_and_falls_back_to_text():
    from vae_course.bench import _setting

    assert _setting("channels=[32, 64]") == ("channels", [32, 64])
    assert _setting("ema=0") == ("ema", 0) and _setting("hidden=null") == ("hidden", None)
    assert _setting("act=relu") == ("act", "relu")


def test_every_row_of_the_recipe_study_is_a_valid_command():
    import shlex

    import torch

    from vae_course.bench import RECIPE_STUDY, command, settings
    from vae_course.train import from_recipe

    assert RECIPE_STUDY[0][1] == "conv" and RECIPE_STUDY[0][2] == []          # the first row is the recipe itself
    x = torch.rand(8, 1, 28, 28)
    for label, model, sets, after1, after10, seconds in RECIPE_STUDY:
        argv = shlex.split(command(model, sets))
        assert argv[:4] == ["python", "-m", "vae_course.bench", "train"] and argv[argv.index("--model") + 1] == model
        assert [argv[i + 1] for i, a in enumerate(argv) if a == "--set"] == list(sets)
        from_recipe(model, x, **settings(sets))                                   # every change is one the recipe accepts
        assert after10 <= after1 and seconds > 0
    assert settings(["batch_size=128", "lr=1e-3", "hidden=null"]) == {"batch_size": 128, "lr": 1e-3, "hidden": None}


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="the MNIST test split (../shared/data/mnist) is not here")
def test_train_recipe_measures_what_the_command_measures():
    from vae_course.data import load_mnist
    from vae_course.train import train_recipe

    out = bench("--model", "reference", "--epochs", "1", "--data-dir", str(MNIST_DIR), "--seed", "3", "--threads", "1",
                "--set", "batch_size=256")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout.splitlines()[0])
    data = load_mnist(MNIST_DIR)
    import torch
    torch.set_num_threads(1)
    _, history = train_recipe("reference", data.train_x, data.test_x, epochs=1, seed=3, device="cpu", batch_size=256)
    assert history.test["loss"][-1] == pytest.approx(row["test_loss"], abs=2e-3)
    with pytest.raises(ValueError, match="loss"):
        train_recipe("reference", data.train_x[:10], data.test_x[:10], epochs=1, loss="mse")

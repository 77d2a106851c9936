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

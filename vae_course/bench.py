"""Benchmarks that print figures (JSON), never pass/fail: speed goals live here, not in tests.

    python -m vae_course.bench train --model conv --epochs N --data-dir DIR --seed S [--loss bce] [--set KEY=VALUE ...]
    python -m vae_course.bench slider
    python -m vae_course.bench grade [--n 30] [--jobs 2] [--assignment 01_entropy_and_kl] [--no-sandbox]

``train`` prints one JSON object per epoch (``epoch``, ``test_loss``,
``train_images_per_s``, ``elapsed_s``, ``device``, ...); ``slider`` prints one
object with ``median_ms`` and ``p95_ms`` for the 2-D latent slider's update path, and
``conditional_median_ms``, ``conditional_p95_ms`` for lecture 10's conditional explorer; ``grade`` grades
N copies of a solved exercise and prints ``submissions_per_min`` and ``peak_worker_rss_mb``.
"""
from __future__ import annotations

import argparse
import json
import sys


#: What each ingredient of lecture 05's recipe is worth: rows measured earlier (not at notebook run
#: time) with ``command(row)``, in the benchmark's setting: BCE on gray pixels, the 9,000 / 1,000 split
#: of the MNIST test file, seed 0, one CPU thread, two runs at a time on a 2-core machine. Columns:
#: what changed, the ``--model``, the ``--set`` arguments, test loss (nats per image) after 1 and
#: after 10 epochs, and seconds per epoch. The appendix notebook shows them and re-measures one.
RECIPE_STUDY = [
    ("the recipe (all of lecture 05's choices)", "conv", [], 123.1, 103.0, 2.5),
    ("the lecture notes' widths, 32 → 64 channels", "conv", ["channels=[32,64]"], 119.8, 103.0, 4.9),
    ("ReLU instead of SiLU", "conv", ["act=relu"], 212.4, 212.4, 2.4),
    ("output bias not initialised", "conv", ["init_output_bias=false"], 152.1, 104.0, 2.4),
    ("the PyTorch example's batch 128 and lr 10⁻³", "conv", ["batch_size=128", "lr=1e-3"], 155.1, 107.8, 2.2),
    ("batch 32", "conv", ["batch_size=32"], 119.0, 103.3, 3.3),
    ("batch 128", "conv", ["batch_size=128"], 134.0, 104.0, 2.2),
    ("no weight average", "conv", ["ema=0"], 126.9, 106.9, 2.5),
    ("lr warm-up, then cosine decay to 0", "conv", ["schedule=cosine"], 127.4, 104.5, 2.4),
    ("KL warm-up: β from 0 to 1 over half an epoch", "conv", ["kl_warmup=0.5"], 123.9, 104.2, 2.6),
    ("latent size 32 instead of 16", "conv", ["latent_dim=32"], 130.3, 103.6, 2.5),
    ("no 256-unit layers, an extra 3×3 convolution at 7×7 instead", "conv", ["hidden=null", "extra_convs=1"], 123.6, 106.2, 2.4),
    ("the notes' model as written (32 → 64, ReLU), batch 128, lr 10⁻³, with output-bias init and KL warm-up",
     "conv-lecture", [], 153.5, 110.4, 4.8),
    ("the reference: the PyTorch examples MLP VAE", "reference", [], 205.3, 123.4, 0.7),
]
#: The recipe's test loss after 10 epochs with seeds 0, 1, 2 (same setting): the noise floor.
RECIPE_SEEDS = {0: 103.0, 1: 102.9, 2: 103.6}


def command(model: str, sets=(), epochs: int = 10, seed: int = 0) -> str:
    """The shell command that measures one row of :data:`RECIPE_STUDY`."""
    extra = "".join(f" --set {s}" for s in sets)
    return f"python -m vae_course.bench train --model {model} --loss bce --epochs {epochs} --seed {seed} --threads 1{extra}"


def settings(sets) -> dict:
    """``['batch_size=128', 'lr=1e-3']`` → ``{'batch_size': 128, 'lr': 0.001}``, read as the command line reads them."""
    return dict(_setting(s) for s in sets)


def _setting(text: str) -> tuple[str, object]:
    """'KEY=VALUE' → (key, value), the value read as JSON where it is JSON ('0', 'null', '[32, 64]'), else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. act=relu, ema=0, channels=[32,64]), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train on MNIST, one JSON line per epoch")
    train.add_argument("--model", default="conv", help="conv (default: lecture 05's recipe), conv-lecture (the lecture notes' architecture), mlp, or reference (the PyTorch-examples MLP VAE)")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--data-dir", default=None, help="folder of MNIST IDX files (default: $VAE_COURSE_DATA or download)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--loss", default="bce", help="bce (gray pixels, the PyTorch examples loss) or bernoulli (dynamic binarization)")
    train.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    train.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice; 1 is steadier on a shared machine)")
    train.add_argument("--set", type=_setting, action="append", metavar="KEY=VALUE",
                       help="change one ingredient of the recipe, repeatable: a model option (act=relu, "
                            "channels=[32,64], hidden=null) or a fit argument (ema=0, batch_size=128, kl_warmup=0, "
                            "init_output_bias=false); the appendix's table (appendix_training_recipe) of what each choice is worth was measured this way")

    slider = sub.add_parser("slider", help="time the latent sliders' update (decode + redraw): lecture 06's 2-D "
                                           "explorer and lecture 10's conditional explorer")
    slider.add_argument("--n", type=int, default=200, help="number of slider moves to time")
    slider.add_argument("--seed", type=int, default=0)

    grade = sub.add_parser("grade", help="grade N copies of a solved exercise; submissions per minute, peak memory")
    grade.add_argument("--n", type=int, default=30, help="number of submissions (default 30)")
    grade.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    grade.add_argument("--assignment", default="01_entropy_and_kl", help="a notebook of solutions/ (default 01)")
    grade.add_argument("--no-sandbox", action="store_true", help="without bubblewrap (to compare)")

    args = parser.parse_args(argv)
    if args.command == "grade":
        from .grade import bench
        return bench(args)
    if args.command == "train":
        from .train import benchmark_train
        return benchmark_train(args)
    return benchmark_slider(args)


def _percentiles(times: list[float], prefix: str = "") -> dict:
    """median, p95, mean and max of a list of milliseconds, under ``prefix``-ed names."""
    import math
    import statistics

    times = sorted(times)
    p95 = times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]
    return {f"{prefix}median_ms": round(statistics.median(times), 3), f"{prefix}p95_ms": round(p95, 3),
            f"{prefix}mean_ms": round(statistics.fmean(times), 3), f"{prefix}max_ms": round(times[-1], 3)}


def _time_conditional(n: int, seed: int) -> list[float]:
    """Milliseconds per event of lecture 10's conditional explorer (decode one z under every class,
    two PNGs, readout): a random walk of the two latent sliders, every fifth event a class change."""
    import time

    import numpy as np
    import torch

    from .models import ConditionalVAE
    from .plots import LIMIT
    from .widgets.conditional import ConditionalExplorer
    from .widgets.latent import STEP

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    model = ConditionalVAE(2).eval()          # lecture 10's size (784-512-256-2), random weights
    explorer = ConditionalExplorer(model, throttle_ms=0)
    walk = np.clip(np.cumsum(rng.normal(0, 0.15, (n + 10, 2)), axis=0), -LIMIT, LIMIT)
    times = []
    for i in range(n + 10):
        if i % 5 == 4:                        # a click on another class
            widget, value = explorer.class_toggle, int((explorer.label + rng.integers(1, 10)) % 10)
        else:
            widget = explorer.sliders[i % 2]
            value = round(float(walk[i, i % 2]) / STEP) * STEP
            if widget.value == value:
                value = value + STEP if value + STEP <= LIMIT else value - STEP
        start = time.perf_counter()
        widget.value = value
        if i >= 10:                            # the first ten are warm-up
            times.append((time.perf_counter() - start) * 1000.0)
    if explorer.renders < n + 10:
        raise RuntimeError("some conditional explorer events were not drawn")
    return times


def benchmark_slider(args) -> int:
    """Time the 2-D explorer's update path — decode one z, encode the digit PNG, blit the map
    marker, update the readout — over ``args.n`` slider moves of a random walk; print one JSON
    object with ``median_ms`` and ``p95_ms`` (throttling off, so every move is drawn).
    The same for lecture 10's conditional explorer (``conditional_median_ms``,
    ``conditional_p95_ms``, ...): ``args.n`` events, slider moves and class clicks."""
    import os
    import time

    import numpy as np
    import torch

    from .latent import model_device
    from .models import ConvVAE
    from .plots import LIMIT
    from .widgets.latent import STEP, LatentExplorer2D

    n = int(getattr(args, "n", 200))
    if n < 1:
        raise SystemExit("--n must be at least 1")
    seed = int(getattr(args, "seed", 0))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model, name = ConvVAE(2), "ConvVAE (random weights: speed does not depend on them)"
    model.eval()
    points = rng.standard_normal((5000, 2))
    labels = rng.integers(0, 10, 5000)
    explorer = LatentExplorer2D(model, points, labels, throttle_ms=0)
    walk = np.clip(np.cumsum(rng.normal(0, 0.15, (n + 10, 2)), axis=0), -LIMIT, LIMIT)
    for z in walk[:10]:                                  # warm-up
        explorer.sliders[0].value, explorer.sliders[1].value = float(z[0]), float(z[1])
    times = []
    for i, z in enumerate(walk[10:]):
        slider = explorer.sliders[i % 2]                  # one slider moves per event, as in the browser
        value = round(float(z[i % 2]) / STEP) * STEP
        if slider.value == value:
            value = value + STEP if value + STEP <= LIMIT else value - STEP
        start = time.perf_counter()
        slider.value = value
        times.append((time.perf_counter() - start) * 1000.0)
    if explorer.renders < n:
        raise RuntimeError("some slider moves were not drawn")
    conditional = _time_conditional(n, seed)
    print(json.dumps({
        **_percentiles(times), "n": n,
        "what": "2-D explorer: decode one z + digit PNG + map marker blit + readout",
        "model": name, "device": str(model_device(model)),
        **_percentiles(conditional, "conditional_"),
        "conditional_what": "conditional explorer (lecture 10): decode one z under all 10 classes + digit PNG "
                            "+ row PNG + readout; 4 slider moves per class click",
        "conditional_model": "ConditionalVAE(2), 784-512-256 (random weights)",
        "torch_threads": torch.get_num_threads(),
        "load_avg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

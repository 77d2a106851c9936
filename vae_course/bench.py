"""Benchmarks that print figures (JSON), never pass/fail: speed goals live here, not in tests.

    python -m vae_course.bench train --model conv --epochs N --data-dir DIR --seed S [--loss bce] [--set KEY=VALUE ...]
    python -m vae_course.bench slider
    python -m vae_course.bench grade [--n 30] [--jobs 2] [--assignment 01_entropy_and_kl] [--no-sandbox]

``train`` prints one JSON object per epoch (``epoch``, ``test_loss``,
``train_images_per_s``, ``elapsed_s``, ``device``, ...); ``slider`` prints one
object with ``median_ms`` and ``p95_ms`` for the latent slider's update path; ``grade`` grades
N copies of a solved exercise and prints ``submissions_per_min`` and ``peak_worker_rss_mb``.
"""
from __future__ import annotations

import argparse
import json
import sys


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
                            "init_output_bias=false); lecture 05's table of what each choice is worth was measured this way")

    slider = sub.add_parser("slider", help="time the latent slider's update (decode + redraw)")
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
    from .widgets.latent import benchmark_slider
    return benchmark_slider(args)


if __name__ == "__main__":
    sys.exit(main())

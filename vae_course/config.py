"""Run-time settings shared by every notebook: fast mode, device, seeding.

Fast mode (``VAE_COURSE_FAST=1``) is what CI uses: fewer epochs, smaller samples
and sweeps, so the whole course executes in minutes on two CPU cores. Every
notebook calls :func:`setup` in its first cell, which seeds the random number
generators and prints the device and whether fast mode is on.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

FAST_ENV = "VAE_COURSE_FAST"
DATA_ENV = "VAE_COURSE_DATA"
CHECKPOINT_ENV = "VAE_COURSE_CHECKPOINTS"
DEFAULT_SEED = 0

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

T = TypeVar("T")


def fast_mode() -> bool:
    """True when ``VAE_COURSE_FAST`` is set to 1/true/yes/on (read on every call)."""
    value = os.environ.get(FAST_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{FAST_ENV}={value!r} is not understood; use 1 (fast mode) or 0 (normal mode)")


def pick(normal: T, fast: T) -> T:
    """``fast`` in fast mode, ``normal`` otherwise: ``epochs = pick(20, 2)``."""
    return fast if fast_mode() else normal


def get_device(device: str | torch.device | None = None) -> torch.device:
    """The training device: ``device`` if given, else CUDA, then Apple MPS, then CPU."""
    if device is not None:
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was requested but CUDA is not available here")
        if dev.type == "mps" and not _mps_available():
            raise ValueError("device 'mps' was requested but Apple MPS is not available here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))


def checkpoint_dir() -> Path:
    """Where trained models are saved and found again (lecture 05 saves, lecture 06 loads).

    ``VAE_COURSE_CHECKPOINTS`` if set; otherwise ``checkpoints/`` at the top of the
    course checkout; for an installed (non-editable) package, ``~/.cache/vae-course/checkpoints``.
    """
    if os.environ.get(CHECKPOINT_ENV):
        path = Path(os.environ[CHECKPOINT_ENV]).expanduser()
    else:
        repo = Path(__file__).resolve().parents[1]
        path = repo / "checkpoints" if (repo / "pyproject.toml").exists() else Path.home() / ".cache" / "vae-course" / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path


def describe() -> str:
    """One line: device, fast mode, torch version."""
    mode = (f"ON ({FAST_ENV}=1): fewer epochs and smaller samples, numbers will be rougher"
            if fast_mode() else f"off (set {FAST_ENV}=1 for a quick run)")
    return f"device: {get_device()} | fast mode: {mode} | torch {torch.__version__}"


def _inline_figures() -> None:
    """In a Jupyter kernel, draw matplotlib figures inline even when ``MPLBACKEND`` names a backend that shows
    nothing (e.g. ``Agg``, set for scripts and tests): otherwise ``plt.show()`` would leave no figure in the notebook."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return
    import matplotlib
    if "inline" not in matplotlib.get_backend():
        dpi = matplotlib.rcParams["figure.dpi"]
        shell.run_line_magic("matplotlib", "inline")
        matplotlib.rcParams["figure.dpi"] = dpi        # the notebook's own choice, set before setup()


def setup(seed: int = DEFAULT_SEED) -> torch.device:
    """First call of every notebook: seed everything, show figures inline, print device and mode, return the device."""
    _inline_figures()
    seed_everything(seed)
    print(describe())
    return get_device()

"""One training loop for every notebook, checkpoints, and the training benchmark.

Public names:

* :func:`fit`: train any model with ``loss_terms(x, **kw) -> {'loss', ...}`` on image tensors;
  returns a :class:`History`. Device automatic (CUDA → MPS → CPU) or given; tqdm progress bar;
  a NaN/inf loss stops training and restores the last good weights; Ctrl-C / "interrupt kernel"
  stops training and keeps the model and the history so far.
* :class:`EMA`: an exponential moving average of the weights (``fit(..., ema=0.998)``): the test
  loss is measured with it and the model ends training holding it.
* :class:`History`: per-epoch means of every term ``loss_terms`` returns (train), the same on the
  test set, seconds, β, and a ``note`` saying why training stopped early, if it did.
* :func:`mean_terms`: average the terms of ``loss_terms`` over a dataset (no gradients).
* :func:`save_checkpoint` / :func:`load_checkpoint`: atomic save (temporary file, then rename)
  with the config that rebuilds the model and a sha256 checksum of config and weights; loading
  never runs code from the file (see :func:`load_checkpoint` for what it guarantees) and gives
  clear errors for missing, corrupted, altered or mismatched files.
* :func:`checkpoint_checksum`: the checksum a checkpoint stores.
* :func:`load_or_train`: lecture 05's checkpoint if it fits, otherwise a small model trained now
  (saying first why the file was not used; a refused file is moved aside, never silently overwritten).
* :func:`from_recipe` / :func:`train_recipe`: a recipe of :data:`RECIPES` built, or built and trained,
  with single ingredients changed (what ``bench train --set KEY=VALUE`` runs).
* :func:`benchmark_train`: ``python -m vae_course.bench train ...`` (JSON line per epoch).

Speed notes: the dataset lives on the training device as one tensor and batches are slices of
a random permutation (no DataLoader). Mixed precision and ``torch.compile`` are *off*: they were
not measured to help for these small models (the course machine has no GPU), and the course's
rule is "measured, not assumed".
"""
from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import pickle
import sys
import tempfile
import time
import warnings
import zipfile
import contextlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from .config import get_device, seed_everything
from .losses import check_images
from .validation import ArgumentTypeError, check_finite, integer, number

__all__ = ["fit", "EMA", "History", "mean_terms", "save_checkpoint", "load_checkpoint", "checkpoint_checksum",
           "load_or_train", "from_recipe", "train_recipe", "benchmark_train", "CHECKPOINT_FORMAT", "CHECKPOINT_VERSION",
           "RECIPES"]

CHECKPOINT_FORMAT = "vae_course.checkpoint"
#: Version 2 (this code) stores a sha256 checksum of config and weights; version 1 (before it) is
#: still read, checked every other way, with a warning that it has no checksum.
CHECKPOINT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
#: The largest checkpoint file load_checkpoint opens (its uncompressed content, as the file's own
#: table of contents declares it): 1 GiB, far above any model build_model accepts.
MAX_CHECKPOINT_BYTES = 1 << 30


# ----------------------------------------------------------------------------- history

def _to_record(v: torch.Tensor):
    """A scalar tensor → float; anything else → a CPU tensor."""
    v = v.detach()
    return float(v) if v.numel() == 1 and v.ndim == 0 else v.cpu()


@dataclass
class History:
    """What happened during :func:`fit`, one entry per completed epoch.

    ``train[name]`` / ``test[name]``: per-epoch means of each term of ``loss_terms`` (floats for
    scalars, CPU tensors for e.g. 'kl_per_dim'); ``history['kl']`` is ``history.train['kl']``.
    ``status``: 'completed', 'interrupted' or 'diverged'; ``note`` explains an early stop.
    """
    train: dict[str, list] = field(default_factory=dict)
    test: dict[str, list] = field(default_factory=dict)
    epochs: list[int] = field(default_factory=list)
    beta: list[float] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    elapsed_seconds: list[float] = field(default_factory=list)
    device: str = ""
    status: str = "running"
    note: str = ""

    def __len__(self) -> int:
        return len(self.epochs)

    def __getitem__(self, name: str) -> list:
        if name not in self.train:
            raise KeyError(f"no training term {name!r} recorded (have: {', '.join(self.train)})")
        return self.train[name]

    def stack(self, name: str, split: str = "train") -> torch.Tensor:
        """All epochs of one term as a tensor (epochs, ...): e.g. ``stack('kl_per_dim')``."""
        values = (self.train if split == "train" else self.test)[name]
        return torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in values]) if values else torch.empty(0)

    def _add(self, epoch: int, beta: float, train: dict, test: dict, train_s: float, elapsed: float) -> None:
        self.epochs.append(epoch)
        self.beta.append(float(beta))
        for store, terms in ((self.train, train), (self.test, test)):
            for k, v in terms.items():
                store.setdefault(k, []).append(v)
        self.train_seconds.append(train_s)
        self.elapsed_seconds.append(elapsed)

    def to_dict(self) -> dict:
        """Plain Python/tensor content (loadable with ``torch.load(weights_only=True)``)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def plot(self, keys=("recon", "kl"), ax=None):
        """Loss curves (train solid, test dashed); see :func:`vae_course.plots.plot_history`."""
        from .plots import plot_history
        return plot_history(self, keys=keys, ax=ax)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.2f}" for k, v in self.train.items() if v and isinstance(v[-1], float))
        test = f", test loss={self.test['loss'][-1]:.2f}" if self.test.get("loss") else ""
        return f"History({len(self)} epochs, {self.status}, device={self.device}: {last}{test})"


# ----------------------------------------------------------------------------- fitting

def _accepts(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


@torch.no_grad()
def mean_terms(model, x: torch.Tensor, batch_size: int = 1000, y: torch.Tensor | None = None, **kw) -> dict:
    """Mean over all images of each term of ``model.loss_terms(x, **kw)`` (each batch weighted by its size).

    ``y``: labels, one per image, passed batch by batch as ``loss_terms(x_b, y=y_b, ...)`` (a
    conditional model). Scalars come back as floats, others (e.g. 'kl_per_dim') as CPU tensors.
    Eval mode, no gradients.
    """
    batch_size = integer(batch_size, "batch_size", low=1)
    if not torch.is_tensor(x) or len(x) == 0:
        raise ValueError(f"x must be a non-empty tensor of images, got "
                         f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")
    if y is not None and len(y) != len(x):
        raise ValueError(f"y has {len(y)} labels for {len(x)} images")
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    try:
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            labels = {} if y is None else {"y": y[start:start + batch_size]}
            for k, v in model.loss_terms(xb, **labels, **kw).items():
                v = v.detach() * len(xb)
                sums[k] = sums[k] + v if k in sums else v
    finally:
        model.train(was_training)
    return {k: _to_record(v / len(x)) for k, v in sums.items()}


def _scheduler(opt, schedule, total_steps):
    """None: constant lr. 'cosine': linear warm-up over the first 5% of steps (at least 100 steps, or
    a fifth of a short run: full-size first Adam steps can kill every ReLU of an encoder), then
    cosine decay to 0."""
    if schedule is None:
        return None
    if schedule == "cosine":
        warm = max(1, round(0.05 * total_steps), min(100, total_steps // 5))

        def factor(step):
            if step < warm:
                return (step + 1) / warm
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total_steps - warm))))
        return torch.optim.lr_scheduler.LambdaLR(opt, factor)
    raise ValueError(f"schedule must be None or 'cosine', got {schedule!r}")


def _adam(params, **kw) -> torch.optim.Adam:
    """Adam, with torch's fused kernel where the device has one (CPU, CUDA, MPS): the same update
    in one pass over all parameters instead of a loop of small operations per tensor. Measured
    on CPU, one thread, lecture 05's model at batch 16: 10.4 → 8.6 ms per step."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **kw)
    except (RuntimeError, ValueError):          # a device or dtype without the fused kernel
        return torch.optim.Adam(params, **kw)


class EMA:
    """Exponential moving average of a model's parameters (Polyak averaging), for evaluation.

    ``update(model)`` after optimiser step t (counted from 1): θ̄_t = d_t·θ̄_{t-1} + (1 - d_t)·θ_t,
    d_t = min(decay, (1 + t) / (10 + t)), starting from θ̄_0 = the weights at creation: early on
    an average over roughly the last tenth of the steps so far, later (once d_t reaches the cap)
    over the last ~1/(1 - decay) steps. The average sits nearer the bottom of the loss valley than
    the last noisy iterate. Measured on the 9,000-image benchmark with lecture 05's recipe (constant
    lr 4e-3, batch 64): ≈ 4 nats better after the first epoch and after the tenth; at the end of
    a cosine schedule (lr → 0) the two agree within 0.1 nat. (With decay 0.998 the cap is reached
    after ~4,500 steps; the recipe's 10 epochs are 1,410.)
    Buffers (e.g. batch-norm statistics) are not averaged: ``copy_to`` leaves them as they are.
    """

    def __init__(self, model, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay!r}")
        self.decay = float(decay)
        self.steps = 0
        self.params = [p.detach().clone() for p in model.parameters()]

    def rate(self, t: int) -> float:
        """d_t for step t."""
        return min(self.decay, (1 + t) / (10 + t))

    @torch.no_grad()
    def update(self, model) -> None:
        self.steps += 1
        torch._foreach_lerp_(self.params, [p.detach() for p in model.parameters()], 1.0 - self.rate(self.steps))

    @torch.no_grad()
    def copy_to(self, model) -> None:
        """Put the averaged weights into ``model``."""
        for p, a in zip(model.parameters(), self.params):
            p.copy_(a)

    @contextmanager
    def swapped_into(self, model):
        """``with ema.swapped_into(model):`` the model holds the average inside, its own weights after."""
        saved = [p.detach().clone() for p in model.parameters()]
        self.copy_to(model)
        try:
            yield model
        finally:
            with torch.no_grad():
                for p, s in zip(model.parameters(), saved):
                    p.copy_(s)

    def state_dict(self) -> dict:
        return {"steps": self.steps, "params": [a.clone() for a in self.params]}

    def load_state_dict(self, state: dict) -> None:
        self.steps = state["steps"]
        self.params = [a.clone() for a in state["params"]]


def _check_positive_int(name, value) -> int:
    return integer(value, name, low=1)


def _check_labels(model, y, x, name: str):
    """Labels for :func:`fit`: None, or a long tensor (N,) with one integer label per image of x."""
    if y is None:
        return None
    if x is None:
        raise ValueError(f"{name} was given without its images")
    if not _accepts(model.loss_terms, "y"):
        raise ValueError(f"{name} was given but {type(model).__name__}.loss_terms takes no labels y "
                         "(only a conditional model uses them)")
    if not torch.is_tensor(y) or y.ndim != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        what = f"a {y.dtype} tensor of shape {tuple(y.shape)}" if torch.is_tensor(y) else type(y).__name__
        raise ValueError(f"{name} must be a 1-D integer tensor of labels, one per image, got {what}")
    if len(y) != len(x):
        raise ValueError(f"{name} has {len(y)} labels for {len(x)} images")
    if hasattr(model, "check_labels"):          # the model's own range check, once (batches skip it)
        model.check_labels(y, len(x))
    return y.long()


def fit(model, train_x: torch.Tensor, test_x: torch.Tensor | None = None, *, epochs: int, batch_size: int = 128,
        lr: float = 1e-3, device=None, beta: float | Callable[[int], float] = 1.0, free_bits: float = 0.0,
        progress: bool = True, binarize: bool = False, schedule: str | None = None, seed: int | None = None,
        weight_decay: float = 0.0, kl_warmup: float = 0.0, clip_grad: float | None = None, test_batch_size: int = 1000,
        ema: float = 0.0, callback: Callable[[int, "History"], None] | None = None,
        train_y: torch.Tensor | None = None, test_y: torch.Tensor | None = None, **loss_kw) -> History:
    """Train ``model`` with Adam on images ``train_x`` (N, 1, 28, 28) in [0, 1]; return a :class:`History`.

    Each step minimises ``model.loss_terms(x_batch, beta=β, free_bits=λ, **loss_kw)['loss']``
    (nats per image, mean over the batch). ``beta`` may be a function of the epoch (0-based),
    e.g. KL annealing ``lambda e: min(1.0, e / 10)``. ``binarize=True``: dynamic binarization
    (a fresh Bernoulli draw of every training image each epoch; the test set is binarized once,
    seed 0). ``schedule``: None (constant ``lr``) or 'cosine' (warm-up to ``lr``, then
    cosine decay to 0; see :func:`_scheduler`). ``kl_warmup``: number of epochs (may be fractional) over
    which β rises linearly from 0 to its value, step by step (KL annealing against posterior
    collapse). ``clip_grad``: clip the gradient norm to this value. After every epoch the test set
    (if given) is evaluated with the epoch's β and λ and ``callback(epoch, history)`` is called;
    ``history.test['elbo']`` (when the model reports it) is the β-free test ELBO.
    ``ema``: decay d of an exponential moving average (Polyak averaging) of the weights, e.g.
    0.999; 0 (default) turns it off. After every optimiser step t (1-based) the average becomes
    θ̄_t = d_t·θ̄_{t-1} + (1 - d_t)·θ_t with d_t = min(d, (1 + t) / (10 + t)) (a short warm-up so
    the average does not drag the initial weights along); the test set is evaluated with θ̄ and
    the model ends training holding θ̄ (see :class:`EMA`).
    ``train_y`` / ``test_y``: labels, one per image (a conditional model such as
    :class:`vae_course.models.ConditionalVAE`): each batch's labels go with its images as
    ``loss_terms(x_batch, y=y_batch, ...)``. A model whose ``loss_terms`` has no ``y`` argument
    gets a ValueError rather than silently ignored labels.

    Inputs are checked once, here, never per step (a per-step check would synchronise a GPU):
    ``train_x``/``test_x`` must be non-empty float images (N, 1, 28, 28) with finite values in
    [0, 1] (``ValueError`` naming the argument, e.g. "train_x contains NaN"); numbers must be numbers
    in range (NumPy scalars count; a bool or a string raises
    :class:`~vae_course.validation.ArgumentTypeError`, a ``TypeError`` that is also a ``ValueError``).
    Images are converted to the model's dtype.

    Faults: a NaN/inf loss stops training, restores the weights from the end of the last good
    epoch and says so (``history.status == 'diverged'``); KeyboardInterrupt (Ctrl-C, "interrupt
    the kernel") stops training, keeps the model as it is and returns the history of the
    completed epochs (``history.status == 'interrupted'``).
    """
    from .data import binarize as draw_binary

    epochs = _check_positive_int("epochs", epochs)
    batch_size = _check_positive_int("batch_size", batch_size)
    test_batch_size = _check_positive_int("test_batch_size", test_batch_size)
    lr = number(lr, "lr", low=0, low_open=True)
    try:
        ema = number(ema, "ema", low=0, high=1, high_open=True)
    except ValueError as exc:
        raise type(exc)(f"{exc} (ema is a decay in [0, 1), 0 = off)") from None
    if not callable(beta):
        beta = number(beta, "beta", low=0)
    free_bits = number(free_bits, "free_bits", low=0)
    weight_decay = number(weight_decay, "weight_decay", low=0)
    kl_warmup = number(kl_warmup, "kl_warmup", low=0)
    if clip_grad is not None:
        clip_grad = number(clip_grad, "clip_grad", low=0, low_open=True)
    if seed is not None:
        seed = integer(seed, "seed", low=0)
    if callback is not None and not callable(callback):
        raise ArgumentTypeError(f"callback must be callable (epoch, history) -> None, got {type(callback).__name__}")
    if not hasattr(model, "loss_terms") or not hasattr(model, "parameters"):
        raise ValueError(f"{type(model).__name__} has no loss_terms(x, **kw) method; fit needs it")
    check_images(train_x, "train_x")              # once, here: shape, dtype, non-empty, finite, in [0, 1]
    if test_x is not None:
        check_images(test_x, "test_x")
    train_y = _check_labels(model, train_y, train_x, "train_y")
    test_y = _check_labels(model, test_y, test_x, "test_y")
    if (train_y is None) != (test_y is None) and test_x is not None:
        raise ValueError("give labels for both sets (train_y and test_y) or for neither")
    if seed is not None:
        seed_everything(seed)
    device = get_device(device)
    model.to(device)
    weight = next(iter(model.parameters()), None)
    dtype = weight.dtype if weight is not None and weight.is_floating_point() else train_x.dtype
    train_x = train_x.to(device, dtype)              # the model's dtype: float64 images train a float32 model
    if train_y is not None:
        train_y = train_y.to(device)
    if test_y is not None:
        test_y = test_y.to(device)
    if test_x is not None:
        test_x = test_x.to(device, dtype)
        if binarize:
            test_x = draw_binary(test_x, seed=0)
    if _accepts(model.loss_terms, "validate"):
        loss_kw.setdefault("validate", False)      # the data were checked once above

    n = len(train_x)
    steps = math.ceil(n / batch_size)
    opt = _adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = _scheduler(opt, schedule, epochs * steps)
    history = History(device=str(device))
    averaged = EMA(model, ema) if ema else None
    check_each_batch = device.type == "cpu"      # free on CPU; on a GPU it would synchronise every step
    bar = tqdm(total=epochs * steps, disable=not progress, unit="batch", desc=f"{type(model).__name__} on {device.type}")
    t0 = time.perf_counter()
    epoch = 0
    try:
        for epoch in range(epochs):
            good = {k: v.detach().clone() for k, v in model.state_dict().items()}
            good_avg = averaged.state_dict() if averaged is not None else None
            b = number(beta(epoch), f"beta({epoch})", low=0) if callable(beta) else beta
            model.train()
            t_epoch = time.perf_counter()
            x_epoch = draw_binary(train_x) if binarize else train_x
            perm = torch.randperm(n, device=device)
            sums: dict[str, torch.Tensor] = {}
            bad_batch = None
            for i in range(steps):
                idx = perm[i * batch_size:(i + 1) * batch_size]
                xb = x_epoch[idx]
                labels = {} if train_y is None else {"y": train_y[idx]}
                b_step = b * min(1.0, (epoch + (i + 1) / steps) / kl_warmup) if kl_warmup else b
                terms = model.loss_terms(xb, beta=b_step, free_bits=free_bits, **labels, **loss_kw)
                loss = terms["loss"]
                if check_each_batch and not torch.isfinite(loss):
                    bad_batch = i + 1
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if clip_grad is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                opt.step()
                if sched is not None:
                    sched.step()
                if averaged is not None:
                    averaged.update(model)
                for k, v in terms.items():
                    v = v.detach() * len(xb)
                    sums[k] = sums[k] + v if k in sums else v
                bar.update(1)
            means = {k: _to_record(v / n) for k, v in sums.items()}
            train_s = time.perf_counter() - t_epoch
            if bad_batch is not None or not math.isfinite(means.get("loss", float("nan"))):
                model.load_state_dict(good)
                if averaged is not None:
                    averaged.load_state_dict(good_avg)
                where = f"batch {bad_batch} of epoch {epoch + 1}" if bad_batch else f"epoch {epoch + 1}"
                history.status = "diverged"
                history.note = (f"training stopped: the loss became NaN or infinite in {where}. The model keeps the "
                                f"weights from the end of epoch {epoch} ({'the initial weights' if epoch == 0 else 'the last good epoch'}); "
                                f"history has the {len(history)} completed epochs. Try a smaller lr (now {lr:g}) "
                                "or check the inputs.")
                warnings.warn(history.note, RuntimeWarning, stacklevel=2)
                break
            if test_x is None:
                test = {}
            elif averaged is None:
                test = mean_terms(model, test_x, test_batch_size, y=test_y, beta=b, free_bits=free_bits, **loss_kw)
            else:
                with averaged.swapped_into(model):
                    test = mean_terms(model, test_x, test_batch_size, y=test_y, beta=b, free_bits=free_bits, **loss_kw)
            history._add(epoch + 1, b, means, test, train_s, time.perf_counter() - t0)
            post = {"loss": f"{means['loss']:.2f}"}
            if test:
                post["test"] = f"{test['loss']:.2f}"
            bar.set_postfix(post, refresh=False)
            if callback is not None:
                callback(epoch + 1, history)
        else:
            history.status = "completed"
    except KeyboardInterrupt:
        history.status = "interrupted"
        history.note = (f"training interrupted during epoch {epoch + 1}: the model keeps its current weights and "
                        f"the history its {len(history)} completed epochs.")
        print(history.note)
    finally:
        bar.close()
        if averaged is not None and averaged.steps:
            averaged.copy_to(model)
        model.eval()
    return history


# ----------------------------------------------------------------------------- checkpoints

def checkpoint_checksum(config: dict, state_dict: dict) -> str:
    """sha256 (hex) of a model's config and weights, the content a checkpoint stores.

    Hashed in a fixed order: the config as canonical JSON (sorted keys), then for every tensor of
    the state dict, by name in sorted order: its name, dtype, shape and raw bytes. Any flipped
    byte in the weights, or any change to the config, changes it.
    """
    h = hashlib.sha256()
    try:
        h.update(json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"config must hold plain values (numbers, strings, None, lists): {exc}") from None
    for key in sorted(state_dict):
        t = state_dict[key]
        if not isinstance(key, str) or not torch.is_tensor(t):
            raise ValueError(f"state_dict must map names to tensors, got {type(key).__name__} -> {type(t).__name__}")
        t = t.detach().cpu().contiguous()
        h.update(f"{key}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def _check_finite_weights(state_dict: dict, where: str) -> None:
    for key, t in state_dict.items():
        try:
            check_finite(t, f"weight {key!r}")
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}; a model with NaN/inf weights computes nothing useful "
                             "(retrain it, e.g. with a smaller lr)") from None


def save_checkpoint(model, path, history: History | None = None, **extra) -> Path:
    """Save weights + the config that rebuilds the model (+ history, + ``extra``) atomically.

    Written to a temporary file in the same folder, then renamed over ``path`` (``os.replace``),
    so an interrupted save never leaves a half-written checkpoint. Stores a sha256 checksum of
    config and weights (:func:`checkpoint_checksum`) that :func:`load_checkpoint` verifies. A
    model whose weights contain NaN or inf is refused (``ValueError``). ``extra`` values should be
    plain Python values or tensors (they are loaded with ``weights_only=True``).
    """
    config = getattr(model, "config", None)
    if not isinstance(config, dict) or "model" not in config:
        raise ValueError(f"{type(model).__name__} has no config dict with a 'model' entry, so it could not be rebuilt")
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _check_finite_weights(state, f"not saving {type(model).__name__} to {path}")
    config = {k: v for k, v in config.items() if k != "module"}     # the class name is all a loader uses
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "config": config,
            "state_dict": state, "checksum": {"sha256": checkpoint_checksum(config, state)},
            "history": history.to_dict() if history is not None else None,
            "extra": extra, "torch_version": str(torch.__version__)}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)            # mkstemp makes it private; a checkpoint is an ordinary file
    try:
        try:
            torch.save(ckpt, tmp)
            torch.load(tmp, map_location="cpu", weights_only=True)      # it must load back safely
        except (pickle.PicklingError, pickle.UnpicklingError, AttributeError, TypeError) as exc:
            raise ValueError("checkpoint extras must be plain Python values or tensors "
                             f"(they are loaded with weights_only=True): {str(exc).splitlines()[-1]}") from exc
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_RECREATE = ("re-create it: run lecture 05 (it saves checkpoints/conv_vae.pt), or train a model and call "
             "vae_course.train.save_checkpoint(model, path)")


def _open_checkpoint(path: Path, map_location) -> dict:
    """torch.load(weights_only=True) of a zip checkpoint no larger than MAX_CHECKPOINT_BYTES."""
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise ValueError(f"{path} is {size:,} bytes, larger than any vae_course checkpoint "
                         f"(at most {MAX_CHECKPOINT_BYTES:,}); refused without reading it")
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable checkpoint (truncated or corrupted? {exc}); "
                         f"delete it and {_RECREATE}") from exc
    if declared > MAX_CHECKPOINT_BYTES:
        raise ValueError(f"{path} declares {declared:,} bytes of content, more than any vae_course checkpoint "
                         f"(at most {MAX_CHECKPOINT_BYTES:,}); refused without unpacking it")
    try:
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):
            raise ValueError(f"{path} holds Python objects that are not allowed in a checkpoint (only tensors and "
                             "plain values are loaded, for safety); it was not written by vae_course.train") from exc
        raise ValueError(f"{path} is not a readable checkpoint (truncated or corrupted? {exc}); "
                         f"delete it and {_RECREATE}") from exc
    except Exception as exc:
        raise ValueError(f"{path} is not a readable checkpoint (truncated or corrupted? "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                         f"delete it and {_RECREATE}") from exc


def load_checkpoint(path, map_location=None):
    """``(model, checkpoint)``: the rebuilt model with its weights (eval mode), and the saved dict
    (``checkpoint['history']`` as a :class:`History` or None, ``checkpoint['extra']``, ...).

    What loading guarantees, for a file from anyone:

    * no code from the file runs: it is read with ``torch.load(weights_only=True)`` (tensors and
      plain values only), and the model is built by :func:`vae_course.models.build_model`, which
      only builds registered model classes and never imports or calls a name found in the file;
    * every config value is type- and range-checked, and a model larger than
      ``vae_course.models.MAX_PARAMETERS`` (or a file larger than :data:`MAX_CHECKPOINT_BYTES`)
      is refused before its memory is allocated;
    * the weights are the ones that were saved: the sha256 checksum of config and weights stored
      at save time must match (flipped bytes are caught), and weights with NaN or inf are refused;
    * the weights fit the config exactly (names and shapes).

    Version-1 checkpoints (written before checksums) still load, checked in every other way, with
    a ``UserWarning`` (save the model again to add a checksum); other versions are refused with a
    message saying how to re-create the file. ``FileNotFoundError`` when there is no file;
    ``ValueError`` for everything else that is wrong.
    """
    from .models import build_model

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (train and save one first, e.g. run lecture 05)")
    ckpt = _open_checkpoint(path, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a vae_course checkpoint (no '{CHECKPOINT_FORMAT}' format tag)")
    version = ckpt.get("version")
    if isinstance(version, bool) or version not in _READABLE_VERSIONS:
        raise ValueError(f"{path} has checkpoint version {str(version)[:20]!r}; this code reads versions "
                         f"{', '.join(map(str, _READABLE_VERSIONS))}. To use it, {_RECREATE}")
    config, state = ckpt.get("config"), ckpt.get("state_dict")
    if not isinstance(config, dict) or not isinstance(state, dict) \
            or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise ValueError(f"{path} is damaged: it needs a 'config' dict and a 'state_dict' of named tensors; {_RECREATE}")
    config = {k: v for k, v in config.items() if k != "module"}     # older files name a module: never used
    if version >= 2:
        stored = ckpt.get("checksum")
        stored = stored.get("sha256") if isinstance(stored, dict) else None
        if not isinstance(stored, str):
            raise ValueError(f"{path} is a version-{version} checkpoint without its sha256 checksum; {_RECREATE}")
        actual = checkpoint_checksum(config, state)
        if actual != stored:
            raise ValueError(f"{path} failed its checksum (sha256 of config and weights is {actual[:16]}..., the file "
                             f"recorded {stored[:16]}...): it was corrupted or altered after saving; {_RECREATE}")
    else:
        warnings.warn(f"{path} is a version-1 checkpoint, written before checkpoints carried a checksum: its config "
                      "and weights were checked (known model, sizes in range, finite weights that fit the config) "
                      "but corrupted weights cannot be detected. Save it again with save_checkpoint to add a checksum.",
                      UserWarning, stacklevel=2)
    _check_finite_weights(state, f"{path} is refused")
    try:
        model = build_model(config)
    except ValueError as exc:
        raise ValueError(f"{path}: its config cannot be built: {exc}") from exc
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()
        raise ValueError(f"{path}: the saved weights do not match the saved config {config} "
                         f"({' '.join(s.strip() for s in first[:3])})") from exc
    if map_location is not None:
        model.to(map_location)
    model.eval()
    ckpt["config"] = config
    history = ckpt.get("history")
    if history is not None:
        if not isinstance(history, dict):
            raise ValueError(f"{path} is damaged: its 'history' is not a dict")
        ckpt["history"] = History.from_dict(history)
    return model, ckpt


# ----------------------------------------------------------------------------- benchmark

#: Training recipes for ``python -m vae_course.bench train --model NAME``.
RECIPES = {
    # The PyTorch examples VAE: 784-400-20, Adam 1e-3, batch 128, constant lr.
    "reference": dict(model={"model": "MLPVAE", "latent_dim": 20, "hidden": [400]}, batch_size=128, lr=1e-3, schedule=None),
    "mlp": dict(model={"model": "MLPVAE", "latent_dim": 20, "hidden": [512, 256]}, batch_size=128, lr=1e-3, schedule=None),
    # Lecture 05's convolutional VAE: the lecture's architecture at half the channels (16 → 32),
    # SiLU, output bias initialised to logit(mean image), Adam at a constant 4e-3, batch 64, test
    # loss from an EMA of the weights. What each choice is worth (measured with
    # `bench train --set KEY=VALUE`): the table in notebooks/appendix_training_recipe.ipynb (data: bench.RECIPE_STUDY).
    "conv": dict(model={"model": "ConvVAE", "latent_dim": 16, "channels": [16, 32], "hidden": 256, "act": "silu"},
                 batch_size=64, lr=4e-3, schedule=None, init_output_bias=True, ema=0.998),
    # The lecture notes' architecture as written (32 → 64 channels, 256-unit dense layers).
    "conv-lecture": dict(model={"model": "ConvVAE", "latent_dim": 16, "channels": [32, 64], "hidden": 256},
                         batch_size=128, lr=1e-3, schedule=None, init_output_bias=True, kl_warmup=0.5),
}


def from_recipe(name: str, train_x: torch.Tensor | None = None, **changes):
    """The model of ``RECIPES[name]``, initialised as the recipe says, and the recipe's :func:`fit` arguments.

    Returns ``(model, fit_kwargs)``: ``fit(model, train_x, test_x, epochs=..., **fit_kwargs)``
    trains it the way the benchmark does. ``train_x`` is needed when the recipe initialises the
    decoder's output bias from the mean training image. ``changes`` replace single ingredients,
    for measuring what each is worth: model options by name (``act='relu'``,
    ``channels=[32, 64]``), anything else as a :func:`fit` argument or initialisation
    (``batch_size=128``, ``ema=0``, ``init_output_bias=False``).
    """
    from .models import MODELS, build_model

    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    recipe = dict(RECIPES[name])
    model_config = dict(recipe.pop("model"))
    model_options = set(inspect.signature(MODELS[model_config["model"]]).parameters)
    fit_options = set(inspect.signature(fit).parameters) | {"init_output_bias"}
    for key, value in changes.items():
        if key in model_options:
            model_config[key] = value
        elif key in fit_options and key not in ("model", "train_x", "test_x", "epochs"):
            recipe[key] = value
        else:
            raise ValueError(f"cannot change {key!r} in recipe {name!r}: not an option of "
                             f"{model_config['model']} ({', '.join(sorted(model_options))}) nor of fit")
    model = build_model(model_config)
    if recipe.pop("init_output_bias", False):
        if train_x is None:
            raise ValueError(f"recipe {name!r} initialises the output bias from the training images: pass train_x")
        model.init_output_bias(train_x)
    return model, recipe


def benchmark_train(args) -> int:
    """``python -m vae_course.bench train``: one JSON object per epoch on stdout.

    Fields: epoch, test_loss (negative ELBO, nats/image, one z per image), train_loss,
    train_images_per_s, elapsed_s (wall seconds since training began, evaluation included),
    cpu_s (CPU seconds of this process since then: steadier than wall time on a shared machine
    when run with ``--threads 1``), device, model, loss, n_train, n_test. ``--loss bce``: BCE on gray pixels summed over
    pixels + analytic KL (the PyTorch-examples loss); ``--loss bernoulli``: dynamic binarization.
    """
    from .data import load_mnist
    from .models import count_parameters

    if args.model not in RECIPES:
        raise SystemExit(f"unknown --model {args.model!r}; choose one of {', '.join(RECIPES)}")
    if args.loss not in ("bce", "bernoulli"):
        raise SystemExit(f"unknown --loss {args.loss!r}; choose bce (gray pixels) or bernoulli (dynamic binarization)")
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    try:
        with contextlib.redirect_stdout(sys.stderr):      # stdout carries JSON lines only
            data = load_mnist(args.data_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(str(exc)) from None
    changes = dict(getattr(args, "set", None) or {})
    try:
        model, recipe = from_recipe(args.model, data.train_x, **changes)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    n_train, n_test = len(data.train_x), len(data.test_x)
    extra = {"model": args.model, "loss": args.loss, "n_train": n_train, "n_test": n_test,
             "batch_size": recipe["batch_size"], "lr": recipe["lr"], "schedule": recipe["schedule"],
             "kl_warmup": recipe.get("kl_warmup", 0.0),
             "ema": recipe.get("ema", 0.0),
             "parameters": count_parameters(model), **({"changes": changes} if changes else {}),
             "threads": torch.get_num_threads()}

    def report(epoch, history):
        test_loss = -history.test["elbo"][-1] if "elbo" in history.test else history.test["loss"][-1]
        print(json.dumps({"epoch": epoch, "test_loss": round(test_loss, 3),
                          "train_loss": round(history.train["loss"][-1], 3),
                          "train_images_per_s": round(n_train / history.train_seconds[-1], 1),
                          "elapsed_s": round(history.elapsed_seconds[-1], 3),
                          "cpu_s": round(time.process_time() - cpu0, 3),
                          "device": history.device, **extra}), flush=True)

    cpu0 = time.process_time()
    try:
        history = fit(model, data.train_x, data.test_x, epochs=args.epochs, device=args.device,
                      binarize=args.loss == "bernoulli", progress=False, callback=report, **recipe)
    except ValueError as exc:          # a bad --set value (e.g. batch_size=0): say so, no traceback
        raise SystemExit(str(exc)) from None
    return 0 if history.status == "completed" else 1


def train_recipe(name: str, train_x: torch.Tensor, test_x: torch.Tensor, *, epochs: int, seed: int = 0,
                 loss: str = "bce", device=None, progress: bool = False, **changes):
    """What ``python -m vae_course.bench train --model NAME --loss LOSS --seed S --set KEY=VALUE ...`` does.

    Seeds everything with ``seed``, builds ``from_recipe(name, train_x, **changes)`` and trains it with
    :func:`fit` for ``epochs`` epochs: ``loss='bce'`` on the gray pixels as they are (the PyTorch
    examples loss: BCE summed over pixels + analytic KL, "BCE nats"), ``loss='bernoulli'`` with dynamic
    binarization. Returns ``(model, history)``; ``history.test['loss']`` is the test loss per epoch (nats
    per image), ``history.elapsed_seconds`` the wall seconds since training began, evaluation included.
    """
    if loss not in ("bce", "bernoulli"):
        raise ValueError(f"loss must be 'bce' (gray pixels) or 'bernoulli' (dynamic binarization), got {loss!r}")
    seed_everything(seed)
    model, recipe = from_recipe(name, train_x, **changes)
    history = fit(model, train_x, test_x, epochs=epochs, device=device, binarize=loss == "bernoulli",
                  progress=progress, **recipe)
    return model, history


# ----------------------------------------------------------------------------- a lecture's model, loaded or trained

def _fits(latent_dim, wanted) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, int):
        return latent_dim == wanted
    return latent_dim in wanted


def _describe(wanted) -> str:
    if isinstance(wanted, range):
        return f"latent_dim in {wanted.start}..{wanted.stop - 1}"
    return f"latent_dim={wanted}" if isinstance(wanted, int) else f"latent_dim in {list(wanted)}"


def load_or_train(path, latent_dim, train_x: torch.Tensor, test_x: torch.Tensor | None = None, *,
                  epochs: int = 5, device=None, model_class: str = "ConvVAE", train_latent_dim: int | None = None,
                  progress: bool = True, save: bool = False, **fit_kw):
    """Lecture 05's checkpoint at ``path`` if it exists and fits; otherwise a model trained now.

    A model fits when its ``latent_dim`` equals ``latent_dim`` (an int), is in it (a range or
    collection, e.g. ``range(8, 21)``), or always (``None``). Otherwise a fresh
    ``<model_class>(train_latent_dim or latent_dim)`` (a registered class of
    :mod:`vae_course.models`) is trained with ``train.fit`` for ``epochs`` epochs (tqdm bar;
    ``fit_kw`` such as ``seed``, ``batch_size`` go to ``fit``) and, if ``save``, saved to ``path``.

    Never fails for lack of a file, nor for an unreadable or refused one (see
    :func:`load_checkpoint` for what is refused): it prints why it does not use the file *before*
    training. A refused file is never overwritten silently: with ``save=True`` it is first moved
    to ``<path>.refused`` (replacing an older one there), and the message says so.
    Returns ``(model, message)``; the message says which happened and why.
    """
    from .models import model_classes

    if train_latent_dim is None:
        train_latent_dim = latent_dim if isinstance(latent_dim, int) and not isinstance(latent_dim, bool) else None
    if train_latent_dim is None:
        raise ValueError("latent_dim (or train_latent_dim) must be an integer to train a model when no checkpoint fits")
    train_latent_dim = integer(train_latent_dim, "train_latent_dim", low=1)
    if not (latent_dim is None or isinstance(latent_dim, (int, range, list, tuple, set, frozenset))) \
            or isinstance(latent_dim, bool):
        raise ArgumentTypeError(f"latent_dim must be an int, a range or collection of ints, or None, got {latent_dim!r}")
    registry = model_classes()                                      # the allow-list
    if not isinstance(model_class, str) or model_class not in registry:
        raise ValueError(f"vae_course.models has no {model_class!r} among its registered models "
                         f"({', '.join(sorted(registry))})")
    path = Path(path)
    reason, refused = f"no checkpoint at {path}", False
    if path.exists():
        try:
            model, _ = load_checkpoint(path, map_location="cpu")
        except (ValueError, OSError) as exc:   # unreadable, altered, unsafe or foreign: refused, lecture goes on
            reason, refused = f"the checkpoint at {path} could not be read ({exc})", True
        else:
            if _fits(model.latent_dim, latent_dim):
                model = model.to(device if device is not None else "cpu").eval()
                return model, f"loaded {type(model).__name__} (latent_dim={model.latent_dim}) from {path}"
            reason, refused = (f"the checkpoint at {path} has latent_dim={model.latent_dim}, "
                               f"this part needs {_describe(latent_dim)}"), True
        print(f"Not using the checkpoint: {reason}. Training a fresh {model_class}(latent_dim={train_latent_dim}) "
              "instead" + (f"; {path} stays as it is." if not save else
                           f"; {path} will be moved to {path.name}.refused before the new model is saved."))
    model = registry[model_class](train_latent_dim)
    fit_kw.setdefault("progress", progress)
    fit(model, train_x, test_x, epochs=epochs, device=device, **fit_kw)
    model.eval()
    message = f"{reason}: trained a {model_class}(latent_dim={train_latent_dim}) for {epochs} epoch(s) now"
    if save:
        if refused and path.exists():
            aside = path.with_name(path.name + ".refused")
            os.replace(path, aside)
            message += f", moved the refused file to {aside}"
        save_checkpoint(model, path)
        message += f" and saved it to {path}"
    return model, message

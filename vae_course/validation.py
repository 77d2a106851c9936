"""Argument checks for the functions students call: one home for "a clear answer to every bad input".

The rules, applied at the boundary (the public function a student calls), never per training step:

* A wrong **value** (NaN, out of range, empty, shapes that disagree, tensors on different devices)
  raises ``ValueError``. Float dtypes that differ are promoted, as torch's elementwise operations
  do; a model's input must have its weights' dtype (``ValueError`` naming it otherwise).
* A wrong **type** (a string or a list where a number is meant, and ``True``/``False`` where a number
  is meant) raises :class:`ArgumentTypeError`, which is both a ``TypeError`` and a ``ValueError``:
  ``except TypeError`` and ``except ValueError`` both catch it (older code of the course raised a
  plain ``ValueError`` for wrong types, and that keeps working).
* Every message starts with the argument's name, e.g. ``"logvar contains NaN"``.
* NumPy scalars (``np.float32(0.5)``, ``np.int64(3)``) and 0-d tensors are numbers like Python's.

Public names: :class:`ArgumentTypeError`, :func:`number`, :func:`integer`, :func:`check_finite`,
:func:`check_same_device`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = ["ArgumentTypeError", "number", "integer", "check_finite", "check_same_device"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (e.g. a bool or a string where a number is meant)."""


def _scalar(value, name: str):
    """A Python int/float from a Python, NumPy or 0-d-tensor number; ArgumentTypeError otherwise."""
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be a number, got the bool {value!r}")
    if torch.is_tensor(value):
        if value.numel() != 1 or value.ndim != 0 or value.dtype == torch.bool or value.is_complex():
            raise ArgumentTypeError(f"{name} must be a number, got a tensor of shape {tuple(value.shape)} "
                                    f"and dtype {value.dtype}")
        return value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ArgumentTypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")


def number(value, name: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """``float(value)`` after checking it is a real number (not a bool), not NaN, finite (unless
    ``finite=False``) and within [low, high] (``low_open``/``high_open``: that end excluded)."""
    v = float(_scalar(value, name))
    if math.isnan(v):
        raise ValueError(f"{name} is NaN")
    if finite and math.isinf(v):
        raise ValueError(f"{name} must be finite, got {v}")
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {lo}, {hi}, got {v:g}")
    return v


def integer(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """``int(value)`` after checking it is an integer (Python, NumPy or 0-d tensor; not a bool, not a
    float such as 3.0) within [low, high]."""
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be an integer, got the bool {value!r}")
    v = _scalar(value, name)
    if not isinstance(v, int):
        raise ArgumentTypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if (low is not None and v < low) or (high is not None and v > high):
        span = (f"≥ {low}" if high is None else f"≤ {high}" if low is None else f"in [{low}, {high}]")
        raise ValueError(f"{name} must be an integer {span}, got {v}")
    return v


def check_finite(x, name: str) -> None:
    """``ValueError("<name> contains NaN")`` / ``"... infinite values"`` for a tensor or array that has them.

    Reads the values: on a GPU this synchronises, so call it once at a boundary, not every step.
    """
    if torch.is_tensor(x):
        if x.numel() == 0 or not (x.is_floating_point() or x.is_complex()):
            return
        bad = ~torch.isfinite(x.detach())
        if not bool(bad.any()):
            return
        has_nan = bool(torch.isnan(x.detach()).any())
    else:
        a = np.asarray(x)
        if a.size == 0 or not np.issubdtype(a.dtype, np.inexact):
            return
        if bool(np.isfinite(a).all()):
            return
        has_nan = bool(np.isnan(a).any())
    raise ValueError(f"{name} contains NaN" if has_nan else f"{name} contains infinite values")


def check_same_device(**tensors) -> None:
    """``ValueError`` naming the two arguments when torch tensors among ``tensors`` sit on different devices."""
    seen = [(n, t) for n, t in tensors.items() if torch.is_tensor(t)]
    for (n0, t0), (n1, t1) in zip(seen, seen[1:]):
        if t0.device != t1.device:
            raise ValueError(f"{n0} is on {t0.device} but {n1} is on {t1.device}; move them to one device "
                             f"(e.g. {n1}.to({n0}.device))")

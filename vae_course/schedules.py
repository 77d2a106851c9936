"""Schedules for β: callables ``epoch -> β`` to pass as ``train.fit(..., beta=schedule)`` (lecture 08).

Epochs count from 0 (the first epoch trains with ``schedule(0)``).

* :class:`Constant`:      β(e) = β
* :class:`LinearWarmup`:  β(e) = start + (β_max - start) · min(1, max(0, e - delay) / warmup_epochs)
  (KL annealing, Bowman et al., 2016: start near 0 so the decoder learns to use z
  before the KL term pushes q_φ(z|x) towards the prior)
* :class:`Cyclical`:      the warm-up repeated every ``period`` epochs, rising during the first
  ``ratio`` of each cycle and then held at β_max (Fu et al., 2019)
* :class:`Step`:          β(e) = high for e < until, low afterwards (a "large β early" schedule,
  one way to *cause* posterior collapse)

Each schedule prints as its formula (``repr``) and refuses bad settings with a ``ValueError``.

    >>> s = LinearWarmup(beta_max=1.0, warmup_epochs=4)
    >>> [s(e) for e in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
"""
from __future__ import annotations

import math

__all__ = ["Constant", "LinearWarmup", "Cyclical", "Step", "as_schedule", "values"]


def _number(value, name: str, minimum: float = 0.0, strict: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < minimum or (strict and value == minimum):
        sign = ">" if strict else "≥"
        raise ValueError(f"{name} must be a finite number {sign} {minimum:g}, got {value!r}")
    return float(value)


def _epoch(epoch) -> int:
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        try:
            import numpy as np
            if isinstance(epoch, np.integer) and epoch >= 0:
                return int(epoch)
        except ImportError:  # pragma: no cover
            pass
        raise ValueError(f"epoch must be an integer ≥ 0 (epochs count from 0), got {epoch!r}")
    return epoch


class Constant:
    """β(e) = β for every epoch."""

    def __init__(self, beta: float = 1.0):
        self.beta = _number(beta, "beta")

    def __call__(self, epoch: int) -> float:
        _epoch(epoch)
        return self.beta

    def __repr__(self) -> str:
        return f"Constant(beta={self.beta:g})"


class LinearWarmup:
    """KL annealing: β rises linearly from ``start`` to ``beta_max`` over ``warmup_epochs`` epochs.

    β(e) = start + (β_max - start) · min(1, max(0, e - delay) / warmup_epochs); ``delay`` epochs
    at ``start`` come first. ``warmup_epochs=0`` jumps straight to β_max (after the delay).
    """

    def __init__(self, beta_max: float = 1.0, warmup_epochs: int = 10, start: float = 0.0, delay: int = 0):
        self.beta_max = _number(beta_max, "beta_max")
        self.start = _number(start, "start")
        self.warmup_epochs = int(_number(warmup_epochs, "warmup_epochs"))
        self.delay = int(_number(delay, "delay"))
        if self.warmup_epochs != warmup_epochs or self.delay != delay:
            raise ValueError(f"warmup_epochs and delay must be whole numbers of epochs, got {warmup_epochs!r}, {delay!r}")

    def __call__(self, epoch: int) -> float:
        e = _epoch(epoch) - self.delay
        if e < 0:
            return self.start
        frac = 1.0 if self.warmup_epochs == 0 else min(1.0, e / self.warmup_epochs)
        return self.start + (self.beta_max - self.start) * frac

    def __repr__(self) -> str:
        return (f"LinearWarmup(beta_max={self.beta_max:g}, warmup_epochs={self.warmup_epochs}, "
                f"start={self.start:g}, delay={self.delay})")


class Cyclical:
    """Cyclical annealing (Fu et al., 2019): every ``period`` epochs β restarts at 0, rises linearly
    to ``beta_max`` during the first ``ratio`` of the cycle, then stays there.

    β(e) = β_max · min(1, (e mod period) / (ratio · period))
    """

    def __init__(self, beta_max: float = 1.0, period: int = 10, ratio: float = 0.5):
        self.beta_max = _number(beta_max, "beta_max")
        self.period = int(_number(period, "period", 1))
        if self.period != period:
            raise ValueError(f"period must be a whole number of epochs ≥ 1, got {period!r}")
        self.ratio = _number(ratio, "ratio", 0.0, strict=True)
        if self.ratio > 1:
            raise ValueError(f"ratio must be in (0, 1] (the rising part of each cycle), got {ratio!r}")

    def __call__(self, epoch: int) -> float:
        t = (_epoch(epoch) % self.period) / (self.ratio * self.period)
        return self.beta_max * min(1.0, t)

    def __repr__(self) -> str:
        return f"Cyclical(beta_max={self.beta_max:g}, period={self.period}, ratio={self.ratio:g})"


class Step:
    """β(e) = ``high`` for the first ``until`` epochs, then ``low`` ("large β early")."""

    def __init__(self, high: float = 10.0, until: int = 5, low: float = 1.0):
        self.high = _number(high, "high")
        self.low = _number(low, "low")
        self.until = int(_number(until, "until"))
        if self.until != until:
            raise ValueError(f"until must be a whole number of epochs, got {until!r}")

    def __call__(self, epoch: int) -> float:
        return self.high if _epoch(epoch) < self.until else self.low

    def __repr__(self) -> str:
        return f"Step(high={self.high:g}, until={self.until}, low={self.low:g})"


def as_schedule(beta) -> Constant | LinearWarmup | Cyclical | Step:
    """A number becomes :class:`Constant`; a callable is returned unchanged."""
    if callable(beta):
        return beta
    return Constant(beta)


def values(schedule, epochs: int) -> list[float]:
    """[β(0), β(1), ..., β(epochs-1)]: what a schedule will do over a run (for plots)."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer ≥ 0, got {epochs!r}")
    schedule = as_schedule(schedule)
    return [float(schedule(e)) for e in range(epochs)]

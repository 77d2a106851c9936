"""Instant feedback in the exercise notebooks, and the scores the class grader reads.

In a student notebook::

    from vae_course import grading
    grading.check("kl_code", kl_divergence)

runs question ``kl_code``'s public checks (:mod:`vae_course.checks`, independent computations),
prints ✔ or ✘ per check with a hint naming the likely mistake, and returns the points earned
as a :class:`Score`. It never raises: a wrong answer, an unfinished stub (``...``), a
function that crashes, or one that loops (stopped after ``time_limit`` seconds per check) all
just score 0 for the checks they fail.

Points are split over the checks by weight (partial credit). The instructor's copy
(``solutions/``) registers hidden checks with :func:`hidden` between ``### BEGIN HIDDEN TESTS``
and ``### END HIDDEN TESTS`` in the same cell; the student's copy has none, so the points shown
to a student count the public checks only.

A :class:`Score` is a float: the number is the cell's ``text/plain`` output, which
nbgrader (≥ 0.6) reads as partial credit for an autograder cell. The per-check details travel
in the same output under :data:`MIME` for ``python -m vae_course.grade``.
"""
from __future__ import annotations

import contextlib
import io
import signal
import threading
import traceback
import warnings
from typing import Any, Callable

from . import checks as _checks
from .checks import Check, NoReturnValue

__all__ = ["check", "hidden", "Score", "MIME", "dataset", "questions"]

MIME = "application/vnd.vae-course.score+json"
CHECK_TIME_LIMIT = 30.0     # seconds per check (POSIX main thread; elsewhere no limit)
_HIDDEN: dict[str, dict[str, Check]] = {}


class CheckTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt a check that runs too long (a student's infinite loop) with :class:`CheckTimeout`."""
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise CheckTimeout()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Score(float):
    """Points earned on one question (a float), with the per-check results in ``.details``."""

    def __new__(cls, earned: float, details: dict):
        obj = super().__new__(cls, earned)
        obj.details = details
        return obj

    def __repr__(self) -> str:
        return f"{float(self):g}"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": repr(self), MIME: self.details}


def hidden(qid: str, name: str, test: Callable[[Any], Any], hint: str = "", weight: float = 1.0) -> None:
    """Register a hidden check for question ``qid`` (instructor notebooks only); :func:`check` runs it."""
    _HIDDEN.setdefault(qid, {})[name] = Check(name, test, hint, weight)


def dataset(name: str) -> dict:
    """The synthetic data an exercise works on, e.g. ``dataset("collapse_history")``."""
    return _checks.dataset(name)


def questions() -> dict:
    """All graded questions: id → (points, title)."""
    return {q.qid: (q.points, q.title) for q in _checks.all_questions().values()}


def _run_one(c: Check, answer, time_limit: float) -> tuple[bool, str]:
    """Run one check; (passed, message). Student output and warnings are swallowed."""
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                _time_limit(time_limit):
            warnings.simplefilter("ignore")
            result = c.test(answer)
    except NoReturnValue:
        return False, "your function returned None: finish it, and don't forget `return`"
    except CheckTimeout:
        return False, f"stopped after {time_limit:g} s: is there an infinite loop?"
    except (Exception, SystemExit) as exc:  # the student's code may raise anything
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return False, f"raised {type(exc).__name__}: {exc} (line {where.lineno} of {where.name})"
    if result is True or (result is not False and not isinstance(result, str) and bool(result)):
        return True, ""
    return False, result if isinstance(result, str) else c.hint


def check(qid: str, answer: Any, *, show: bool = True, time_limit: float = CHECK_TIME_LIMIT) -> Score:
    """Run question ``qid``'s checks on ``answer``; print feedback; return the points earned."""
    try:
        q = _checks.get(qid)
    except KeyError as exc:
        print(f"✘ {exc.args[0]}")
        return Score(0.0, {"qid": qid, "points": 0.0, "earned": 0.0, "checks": []})
    all_checks = [(c, False) for c in q.checks] + [(c, True) for c in _HIDDEN.get(qid, {}).values()]
    total_weight = sum(c.weight for c, _ in all_checks)
    results, passed_weight = [], 0.0
    unanswered = answer is Ellipsis
    for c, is_hidden in all_checks:
        ok, msg = (False, "not answered yet") if unanswered else _run_one(c, answer, time_limit)
        passed_weight += c.weight if ok else 0.0
        results.append({"name": c.name, "passed": ok, "hidden": is_hidden, "message": msg})
    earned = round(q.points * passed_weight / total_weight, 4) if total_weight else 0.0
    if show:
        print(f"{q.qid}: {q.title}")
        if unanswered:
            print("  … not answered yet: replace the `...` with your answer")
        else:
            for r in results:
                tag = " (hidden)" if r["hidden"] else ""
                line = f"  ✔ {r['name']}{tag}" if r["passed"] else f"  ✘ {r['name']}{tag}: {r['message']}"
                print(line)
        print(f"  points: {earned:g} / {q.points:g}")
    details = {"qid": q.qid, "points": q.points, "earned": earned, "checks": results}
    return Score(earned, details)

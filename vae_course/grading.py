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
nbgrader (≥ 0.6) reads as partial credit for an autograder cell (the per-check details are
also in the output, under :data:`MIME`).

This feedback is advisory: it runs in the student's kernel. ``python -m vae_course.grade``
computes its own verdicts with :func:`evaluate`, in the grader's process, on the answers it
collected from the sandbox as data.
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

__all__ = ["check", "evaluate", "report", "hidden", "Score", "MIME", "dataset", "questions", "params", "use_variant"]

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


def hidden(qid: str, name: str, test: Callable[[Any], Any], hint: str = "", weight: float = 1.0,
           registry: dict | None = None) -> None:
    """Register a hidden check for question ``qid`` (instructor notebooks only); :func:`check` runs it.

    The class grader runs the instructor's hidden-test code in its own process with ``registry``
    set to a fresh dict per submission (``grade.HiddenTests``), never in the sandbox."""
    (_HIDDEN if registry is None else registry).setdefault(qid, {})[name] = Check(name, test, hint, weight)


def params(qid: str):
    """The numbers of by-hand question ``qid`` in this notebook's variant (``v = grading.params("homework"); v.mu``)."""
    return _checks.params(qid)


def use_variant(student: str | None) -> None:
    """Check this notebook's by-hand answers against ``student``'s numbers (``None``: the fixed variant).

    The setup cell of a notebook written by ``python -m vae_course.assign --roster`` calls it; the
    class grader ignores it and takes the student from the submission's file name."""
    from . import variants
    variants.use(student)


def dataset(name: str) -> dict:
    """The synthetic data an exercise works on, e.g. ``dataset("collapse_history")``."""
    return _checks.dataset(name)


def questions() -> dict:
    """All graded questions: id → (points, title)."""
    return {q.qid: (q.points, q.title) for q in _checks.all_questions().values()}


def _run_one(c: Check, answer, time_limit: float, capture: bool = True) -> tuple[bool, str]:
    """Run one check; (passed, message). Student output and warnings are swallowed (``capture``;
    the grader, whose threads share sys.stdout, passes False: the student's prints stay in the sandbox)."""
    sink = io.StringIO()
    quiet = (contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink)) if capture else ()
    try:
        with warnings.catch_warnings(), contextlib.ExitStack() as stack, _time_limit(time_limit):
            for cm in quiet:
                stack.enter_context(cm)
            warnings.simplefilter("ignore")
            result = c.test(answer)
    except NoReturnValue:
        return False, "your function returned None: finish it, and don't forget `return`"
    except CheckTimeout:
        return False, f"stopped after {time_limit:g} s: is there an infinite loop?"
    except (Exception, SystemExit) as exc:  # the student's code may raise anything
        if hasattr(exc, "remote_type"):     # raised by the student's function in the grader's sandbox
            return False, f"raised {exc.remote_type}: {exc}"
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return False, f"raised {type(exc).__name__}: {exc} (line {where.lineno} of {where.name})"
    if result is True or (result is not False and not isinstance(result, str) and bool(result)):
        return True, ""
    return False, result if isinstance(result, str) else c.hint


def evaluate(qid: str, answer: Any, hidden_checks: dict[str, Check] | None = None,
             time_limit: float = CHECK_TIME_LIMIT, capture: bool = True) -> Score:
    """Question ``qid``'s public checks and ``hidden_checks`` on ``answer``, without printing.

    Points = q.points · (weight of the passed checks) / (total weight): partial credit.
    ``hidden_checks`` defaults to those registered with :func:`hidden` in this process. The
    class grader calls this in its own process, with the answer as data (or a stand-in for the
    student's function that runs it in the sandbox)."""
    q = _checks.get(qid)
    hidden_checks = _HIDDEN.get(qid, {}) if hidden_checks is None else hidden_checks
    all_checks = [(c, False) for c in q.checks] + [(c, True) for c in hidden_checks.values()]
    total_weight = sum(c.weight for c, _ in all_checks)
    results, passed_weight = [], 0.0
    unanswered = answer is Ellipsis
    for c, is_hidden in all_checks:
        ok, msg = (False, "not answered yet") if unanswered else _run_one(c, answer, time_limit, capture)
        passed_weight += c.weight if ok else 0.0
        results.append({"name": c.name, "passed": ok, "hidden": is_hidden, "message": msg})
    earned = round(q.points * passed_weight / total_weight, 4) if total_weight else 0.0
    details = {"qid": q.qid, "title": q.title, "points": q.points, "earned": earned, "checks": results,
               "unanswered": unanswered}
    return Score(earned, details)


def report(score: Score) -> str:
    """The feedback text of one question: ✔ or ✘ per check with its hint, and the points."""
    d = score.details
    lines = [f"{d['qid']}: {d.get('title', '')}"]
    if d.get("unanswered"):
        lines.append("  … not answered yet: replace the `...` with your answer")
    else:
        for r in d["checks"]:
            tag = " (hidden)" if r["hidden"] else ""
            lines.append(f"  ✔ {r['name']}{tag}" if r["passed"] else f"  ✘ {r['name']}{tag}: {r['message']}")
    lines.append(f"  points: {d['earned']:g} / {d['points']:g}")
    return "\n".join(lines)


def check(qid: str, answer: Any, *, show: bool = True, time_limit: float = CHECK_TIME_LIMIT) -> Score:
    """Run question ``qid``'s checks on ``answer``; print feedback; return the points earned.

    Advisory: in a student's notebook it runs in the student's own kernel, where the student can
    change anything. The class grader never trusts it (see :mod:`vae_course.grade`)."""
    try:
        score = evaluate(qid, answer, time_limit=time_limit)
    except KeyError as exc:
        print(f"✘ {exc.args[0]}")
        return Score(0.0, {"qid": qid, "points": 0.0, "earned": 0.0, "checks": []})
    if show:
        print(report(score))
    return score

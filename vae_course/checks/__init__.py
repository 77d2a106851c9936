"""Each graded question's public checks: independent computations, never the solution copied.

A question (:class:`Question`) has an id (the nbgrader ``grade_id`` of its test cell),
points, and a list of :class:`Check`. A check is a function of the student's answer that
returns ``True`` when it passes, or ``False`` / a string (a hint naming the likely mistake)
when it fails; if it raises, the check fails and the error is reported.

The references are computed another way than the exercise asks the student to: with
``torch.distributions``, Monte Carlo with fixed seeds, numerical quadrature, brute force,
or SymPy. One module per exercise notebook registers its questions with :func:`question`.

**Adding a module** (a new exercise): write ``vae_course/checks/<topic>.py`` with
``q = question("qid", points, "title")`` and ``@q.check("what it checks", hint=...)`` functions of
the answer, and add ``<topic>`` to :data:`MODULES`. The answer a check receives is what the
student's check cell names (``grading.check("qid", answer)``). In the class grader it arrives as
data (numbers, tuples, lists, dicts, tensors, NumPy arrays, SymPy expressions), or, for a function,
as a stand-in that runs the student's function in the sandbox on the arguments the check passes
(tensors, arrays, numbers, generators, and functions of the check's own, such as a decoder, which
stay in the grader and are called back); results come back as data, and autograd works through
them. So a check must only *call* a student's function and inspect what it returns: no
attributes of it, no ``isinstance(fn, nn.Module)``. Draw random inputs with a seed ``fresh(base)``
where the check holds for any draw. A by-hand question whose numbers differ per student passes ``variant=Variant(default, draw)``
(:mod:`vae_course.variants`); its checks read the numbers with :func:`params` (never module
constants), its solution computes the answer from ``grading.params(qid)``, and its text in the
solution notebook names them ``{{qid.name}}``. Hidden checks go in the solution notebook's check cell,
between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, as ``grading.hidden(qid, name,
test)``: the grader runs that code in its own process, never in the sandbox.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import variants as _variants
from ..variants import Draw, Variant

__all__ = ["Check", "Question", "question", "get", "all_questions", "close", "call", "NoReturnValue",
           "dataset", "fresh", "set_run_seed", "params", "render", "Variant", "Draw", "option", "multiple_choice"]

# the modules that register questions, in lecture order
MODULES = ["entropy_kl", "autoencoders", "elbo", "reparam", "conv_vae", "latent", "beta_vae", "collapse", "vq",
           "conditional", "generative"]


@dataclass
class Check:
    name: str
    test: Callable[[Any], Any]
    hint: str = ""
    weight: float = 1.0


@dataclass
class Question:
    qid: str
    points: float
    title: str
    checks: list[Check] = field(default_factory=list)
    variant: Variant | None = None

    def check(self, name: str, hint: str = "", weight: float = 1.0):
        """Decorator: register ``fn(answer) -> True | False | hint`` as one of this question's checks."""
        def register(fn):
            self.checks.append(Check(name, fn, hint, weight))
            return fn
        return register


_REGISTRY: dict[str, Question] = {}
_DATASETS: dict[str, Callable[[], dict]] = {}


def question(qid: str, points: float, title: str, variant: Variant | None = None) -> Question:
    """Register question ``qid``; ``variant``: its numbers differ per student (see :func:`params`)."""
    if qid in _REGISTRY:
        raise ValueError(f"question id {qid!r} is registered twice")
    _REGISTRY[qid] = Question(qid, float(points), title, variant=variant)
    return _REGISTRY[qid]


def _load_all() -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")


def get(qid: str) -> Question:
    """The question with id ``qid``; ``KeyError`` names the known ids."""
    for name in MODULES:          # import only as far as needed: the first notebooks load fast
        if qid in _REGISTRY:
            break
        importlib.import_module(f"{__name__}.{name}")
    if qid not in _REGISTRY:
        raise KeyError(f"no question {qid!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[qid]


def all_questions() -> dict[str, Question]:
    _load_all()
    return dict(_REGISTRY)


def register_dataset(name: str):
    def register(fn):
        _DATASETS[name] = fn
        return fn
    return register


def dataset(name: str) -> dict:
    """Synthetic data an exercise works on (e.g. ``"collapse_history"``), the same on every machine."""
    _load_all()
    if name not in _DATASETS:
        raise KeyError(f"no dataset {name!r}; known: {', '.join(sorted(_DATASETS))}")
    return _DATASETS[name]()


# ----------------------------------------------------------------------------- per-student numbers

def params(qid: str, student: str | None | type(Ellipsis) = ...) -> "_variants.Params":
    """The numbers of by-hand question ``qid`` for ``student`` (default: the current one,
    :func:`vae_course.variants.current`; ``None``: the fixed variant of ``exercises/``)."""
    q = get(qid)
    if q.variant is None:
        raise KeyError(f"question {qid!r} has the same numbers for everyone (no variant)")
    return q.variant.numbers(qid, _variants.current() if student is ... else student)


def render(text: str, student: str | None = None) -> str:
    """``text`` with every ``{{qid.name}}`` replaced by that number of ``student``'s variant
    (``ValueError`` naming an unknown question or number: a typo in a solution notebook)."""
    def number(m) -> str:
        qid, name = m.group(1), m.group(2)
        try:
            values = params(qid, student)
        except KeyError as exc:
            raise ValueError(f"placeholder {m.group(0)}: {exc.args[0]}") from None
        if name not in values:
            raise ValueError(f"placeholder {m.group(0)}: question {qid!r} has no number {name!r} "
                             f"(it has {', '.join(values)})")
        return _variants.fmt(values[name])
    return _variants.PLACEHOLDER.sub(number, text)


def varied_questions() -> dict[str, Question]:
    """The questions whose numbers differ per student."""
    return {qid: q for qid, q in all_questions().items() if q.variant is not None}


# ----------------------------------------------------------------------------- helpers for checks

_RUN_SEED = 0


def fresh(base: int) -> int:
    """The seed of a check's random inputs: ``base`` in a student's notebook; in the class grader,
    ``base`` shifted by a number drawn once per grading run (:func:`set_run_seed`), so a submission
    cannot carry answers precomputed for known inputs. Use it for inputs whose checks hold for any draw."""
    return (int(base) + _RUN_SEED) % 2**62


def set_run_seed(value: int) -> None:
    """Called by ``python -m vae_course.grade`` once per run with a random number (0: the notebook's inputs)."""
    global _RUN_SEED
    _RUN_SEED = int(value)


class NoReturnValue(Exception):
    """The student's function returned None (usually: still the stub, or a missing ``return``)."""


def call(fn, *args, **kwargs):
    """Call the student's function; a None result becomes :class:`NoReturnValue`."""
    if not callable(fn):
        raise TypeError(f"expected a function, got {type(fn).__name__}")
    out = fn(*args, **kwargs)
    if out is None:
        raise NoReturnValue()
    return out


def as_float(x) -> float:
    """A Python float from a number, 0-d array or one-element tensor (TypeError otherwise)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
        if x.numel() != 1:
            raise TypeError(f"expected one number, got a tensor of shape {tuple(x.shape)}")
        return float(x.reshape(()))
    if hasattr(x, "shape") and getattr(x, "size", 1) != 1:
        raise TypeError(f"expected one number, got an array of shape {x.shape}")
    if x is Ellipsis or x is None:
        raise TypeError("no answer yet")
    return float(x)


def close(a, b, rel: float = 1e-3, abs_: float = 1e-4) -> bool:
    """|a - b| small, for numbers (a may be the student's answer of any numeric kind)."""
    a, b = as_float(a), float(b)
    if math.isinf(b):
        return a == b
    return math.isfinite(a) and abs(a - b) <= max(abs_, rel * abs(b))


# ----------------------------------------------------------------------------- multiple choice

def option(answer, options) -> str | int:
    """The option a multiple-choice answer names, one of ``options`` (letters ``"a"``… or numbers 1…).

    Letters: a string, case and spaces and brackets ignored (``" (B) "`` is ``"b"``). Numbers: an int
    (a NumPy integer or a string of digits too, never a bool or a float). Anything else raises
    ``TypeError`` saying what to type."""
    options = list(options)
    shown = ", ".join(repr(o) for o in options)
    got = "no answer yet" if answer is None or answer is Ellipsis else f"got {answer!r}"
    if all(isinstance(o, str) for o in options):
        by_letter = {o.lower(): o for o in options}
        if isinstance(answer, str) and answer.strip().strip("()").strip().lower() in by_letter:
            return by_letter[answer.strip().strip("()").strip().lower()]
        raise TypeError(f"answer with one of the letters {shown} (a string); {got}")
    if isinstance(answer, str) and answer.strip().strip("()").strip().isdigit():
        answer = int(answer.strip().strip("()").strip())          # "2" names option 2 unambiguously
    if not isinstance(answer, bool) and hasattr(answer, "__index__") and int(answer) in options:
        return int(answer)
    raise TypeError(f"answer with one option number, {shown} (an int); {got}")


def multiple_choice(q: Question, right, why_wrong: dict, name: str = "the right option", hint: str = "",
                    witness: Callable[[], bool] | None = None) -> None:
    """Register the check of a multiple-choice question: ``right`` passes, every other option of
    ``why_wrong`` gets the reason it is wrong (the misconception it stands for). ``witness``: an
    independent computation that the right option is right, run when it is chosen (a check that
    can fail if the question's premise ever stops holding)."""
    if right in why_wrong:
        raise ValueError(f"{q.qid}: the right option {right!r} also has a reason to be wrong")
    options = sorted([right, *why_wrong])

    @q.check(name, hint=hint or "compute or recall what each option claims; the feedback says why an option is wrong")
    def _(answer):
        try:
            picked = option(answer, options)
        except TypeError as exc:
            return str(exc)                          # what to type, as the hint (not a traceback)
        if picked != right:
            return why_wrong[picked]
        return True if witness is None else bool(witness())


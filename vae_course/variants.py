"""Per-student numbers for the by-hand questions: one seed per (question, student), the same on every machine.

A by-hand question (one the student answers with a number worked out on paper) declares a
:class:`Variant` in its checks module (:mod:`vae_course.checks`): the ``default`` numbers, which
``exercises/`` (self-study) and ``solutions/`` use, and a ``draw`` function that picks another
set from a :class:`Draw`. A student's numbers are ``draw(Draw(key))`` with ``key`` derived from
the question id and the student id (:func:`seed_key`), so:

* ``python -m vae_course.assign --roster ROSTER.csv --out DIR`` writes each student a notebook
  whose question texts carry that student's numbers (placeholders ``{{qid.name}}`` in
  ``solutions/``, filled in by :func:`render`), and whose setup cell calls
  ``grading.use_variant("<student>")`` so that the notebook's own checks use them;
* ``python -m vae_course.grade`` derives the numbers again from the student id of each
  submission's file name (never from the notebook) and checks the answers against them.

:class:`Draw` is built on SHA-256, not on ``random`` or NumPy, so a variant never changes with a
Python or NumPy release: an instructor may write the notebooks on one machine and grade on another.
Two students share a question's numbers with probability 1/(number of variants of that question);
``assign --roster`` reports such pairs.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

__all__ = ["Draw", "Variant", "Params", "seed_key", "check_student_id", "use", "of", "current", "fmt",
           "PLACEHOLDER"]

#: the students' ids: letters, digits and ``. _ @ + -``, not starting with a dot or a dash (they are folder names)
_ID = re.compile(r"[A-Za-z0-9_@+][A-Za-z0-9._@+-]{0,63}")

#: ``{{qid.name}}`` in a solution notebook's Markdown: the number ``name`` of question ``qid``'s variant
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def check_student_id(student: Any, what: str = "student") -> str:
    """``student`` stripped, or ``ValueError`` naming ``what`` (it must be usable as a folder name)."""
    if not isinstance(student, str):
        raise TypeError(f"{what} must be a string, got {type(student).__name__}")
    s = student.strip()
    if not _ID.fullmatch(s):
        raise ValueError(f"{what} {student!r} is not a usable student id: use 1–64 letters, digits or . _ @ + - "
                         "(not starting with . or -)")
    return s


def _student(student: Any) -> str:
    """Any non-empty id (the grader takes it from a file name, which a roster may not have vetted)."""
    if not isinstance(student, str):
        raise TypeError(f"student must be a string or None, got {type(student).__name__}")
    if not student.strip():
        raise ValueError("student must not be empty")
    return student.strip()


def seed_key(qid: str, student: str) -> str:
    """What a student's numbers for question ``qid`` are drawn from (ids compare case-insensitively)."""
    return f"vae-course/{qid}/{_student(student).casefold()}"


class Draw:
    """Deterministic choices from ``key``: SHA-256 of ``key`` and a counter, 64 bits at a time."""

    def __init__(self, key: str):
        self._key = key.encode("utf-8")
        self._n = 0

    def _u64(self) -> int:
        self._n += 1
        return int.from_bytes(hashlib.sha256(self._key + b"/" + str(self._n).encode()).digest()[:8], "big")

    def integer(self, low: int, high: int) -> int:
        """A whole number in [low, high], both included."""
        if high < low:
            raise ValueError(f"empty range [{low}, {high}]")
        return low + self._u64() % (high - low + 1)     # bias < 2⁻⁵⁰ for the small ranges used here

    def choice(self, options: Sequence):
        """One of ``options``."""
        if not options:
            raise ValueError("no options to choose from")
        return options[self.integer(0, len(options) - 1)]

    def sample(self, options: Sequence, k: int) -> list:
        """``k`` different options, in the order drawn."""
        pool = list(options)
        if not 0 <= k <= len(pool):
            raise ValueError(f"cannot draw {k} of {len(pool)} options")
        return [pool.pop(self.integer(0, len(pool) - 1)) for _ in range(k)]


class Params(dict):
    """A question's numbers: a read-only dict whose keys are also attributes (``v.mu``)."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"this question has no number {name!r}; it has {', '.join(self)}") from None

    def _readonly(self, *args, **kwargs):
        raise TypeError("a question's numbers are read-only")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly


@dataclass(frozen=True)
class Variant:
    """A by-hand question's numbers: ``default`` (``exercises/``, ``solutions/``) and ``draw`` (one student's)."""
    default: dict
    draw: Callable[[Draw], dict]

    def numbers(self, qid: str, student: str | None) -> Params:
        if student is None:
            return Params(self.default)
        return Params(self.draw(Draw(seed_key(qid, student))))


# ----------------------------------------------------------------------------- whose numbers

_PROCESS_STUDENT: str | None = None
_CONTEXT_STUDENT: contextvars.ContextVar = contextvars.ContextVar("vae_course_student", default=Ellipsis)


def use(student: str | None) -> None:
    """The numbers of ``student`` from now on, in this process (``None``: the fixed variant of ``exercises/``).

    A notebook generated by ``assign --roster`` calls it in its setup cell. Called from a thread
    other than the main one (the grader's in-process worker), it sets that thread's numbers only."""
    global _PROCESS_STUDENT
    student = None if student is None else _student(student)
    if threading.current_thread() is threading.main_thread():
        _PROCESS_STUDENT = student
    _CONTEXT_STUDENT.set(student)


@contextlib.contextmanager
def of(student: str | None) -> Iterator[None]:
    """The numbers of ``student`` inside the ``with`` block, in this thread only (the grader's threads)."""
    token = _CONTEXT_STUDENT.set(None if student is None else _student(student))
    try:
        yield
    finally:
        _CONTEXT_STUDENT.reset(token)


def current() -> str | None:
    """The student whose numbers the checks use now (``None``: the fixed variant)."""
    s = _CONTEXT_STUDENT.get()
    return _PROCESS_STUDENT if s is Ellipsis else s


# ----------------------------------------------------------------------------- text

def fmt(value: Any) -> str:
    """A number as a question text shows it: 3, 0.25, 1/8, (1/2, 1/4)."""
    if isinstance(value, bool):
        raise TypeError("a question's number cannot be a bool")
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(fmt(v) for v in value) + ")"
    raise TypeError(f"cannot show a {type(value).__name__} in a question")

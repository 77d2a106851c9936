"""Exam-prep KL drills: endless fresh problems, answers checked with mistake-aware feedback,
worked solutions from the lecture-01 SymPy derivation.

>>> from vae_course import drills
>>> d = drills.generate(1, seed=0)[0]
>>> drills.check(d, f"{d.answer:.4f}").correct
True

* :func:`generate` (``generate(n, seed, kinds=None)``): n drills (at most :data:`MAX_N`), reproducible
  from the seed; kinds in :data:`KINDS` (seven, each with an easy and a hard setting). A multiple-choice
  drill has ``unit`` 'choice' and ``answer`` = the number of the right option.
* :func:`check` (``check(drill, text)``): grades typed text ({tol}); the text is read by
  :mod:`vae_course.answer_parser`, never evaluated as code.
* :func:`exam` (``exam(n, seed, topics=None)``): the whole-lecture mock exam, questions on every topic
  (:data:`TOPICS`) in the notes' four problem types (:data:`PROBLEM_TYPES`), each graded by :func:`check`.
* :func:`write_sheet`: a printable exam sheet (Markdown + HTML whose math is rendered to MathML at build
  time: it prints offline, no script, no CDN).
* CLI: ``python -m vae_course.drills --n N --seed S --json`` (one JSON object per line),
  ``--sheet sheet.md``, and ``--exam`` for the mock exam.
"""
from .core import ABS_TOL, REL_TOL, TOLERANCE_TEXT, Drill, within_tolerance
from .grading import MISTAKES, CheckResult, check
from .make import DIFFICULTIES, KIND_LABELS, KINDS, MAX_N, generate, homework_drill, make_drill
from .exam import DEFAULT_EXAM_N, PROBLEM_TYPES, TOPICS, exam, exam_question
from .sheet import latex_mathml, markdown_html, sheet_html, sheet_markdown, show_drill, write_sheet

__doc__ = __doc__.replace("{tol}", TOLERANCE_TEXT)
__all__ = [
    "Drill", "CheckResult", "KINDS", "KIND_LABELS", "MAX_N", "DIFFICULTIES", "MISTAKES", "TOLERANCE_TEXT", "REL_TOL",
    "ABS_TOL", "generate", "make_drill", "homework_drill", "check", "within_tolerance", "markdown_html",
    "show_drill", "sheet_markdown", "sheet_html", "write_sheet", "latex_mathml", "exam", "exam_question", "TOPICS",
    "PROBLEM_TYPES", "DEFAULT_EXAM_N",
]

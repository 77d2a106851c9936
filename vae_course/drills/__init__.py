"""Exam-prep KL drills: endless fresh problems, answers checked with mistake-aware feedback,
worked solutions from the lecture-01 SymPy derivation.

>>> from vae_course import drills
>>> d = drills.generate(1, seed=0)[0]
>>> drills.check(d, f"{d.answer:.4f}").correct
True

* :func:`generate` (``generate(n, seed, kinds=None)``): n drills, reproducible from the seed;
  kinds in :data:`KINDS` (seven, each with an easy and a hard setting).
* :func:`check` (``check(drill, text)``): grades typed text ({tol}); the text is read by
  :mod:`vae_course.answer_parser`, never evaluated as code.
* :func:`write_sheet`: a printable exam sheet (Markdown + HTML with MathJax).
* CLI: ``python -m vae_course.drills --n N --seed S --json`` (one JSON object per line) and
  ``--sheet sheet.md``.
"""
from .core import ABS_TOL, REL_TOL, TOLERANCE_TEXT, Drill, within_tolerance
from .grading import MISTAKES, CheckResult, check
from .make import DIFFICULTIES, KIND_LABELS, KINDS, MAX_N, generate, homework_drill, make_drill
from .sheet import markdown_html, sheet_html, sheet_markdown, show_drill, write_sheet

__doc__ = __doc__.replace("{tol}", TOLERANCE_TEXT)
__all__ = [
    "Drill", "CheckResult", "KINDS", "KIND_LABELS", "MAX_N", "DIFFICULTIES", "MISTAKES", "TOLERANCE_TEXT", "REL_TOL",
    "ABS_TOL", "generate", "make_drill", "homework_drill", "check", "within_tolerance", "markdown_html",
    "show_drill", "sheet_markdown", "sheet_html", "write_sheet",
]

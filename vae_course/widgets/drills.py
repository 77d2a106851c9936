"""Lecture 12's drill session: pick kinds and difficulty, get a problem, type an answer, get
feedback that names the likely mistake, reveal the worked solution, keep a running score."""
from __future__ import annotations

import html
import random

import ipywidgets as widgets

from ..drills import (DIFFICULTIES, KIND_LABELS, KINDS, TOLERANCE_TEXT, CheckResult, Drill, check, make_drill,
                      markdown_html)

__all__ = ["DrillSession", "KIND_LABELS"]



class DrillSession:
    """An endless drill session; display it as the last expression of a cell.

    Everything the buttons do can be done from code (that is how the tests drive it):
    ``new_problem()``, ``submit(text)``, ``reveal()``, ``set_kinds([...])``, ``set_difficulty('hard')``.
    ``seed=None`` draws a new seed (shown in the score line), so every session gets fresh problems.
    The score counts a problem as solved when it is answered correctly before its solution is revealed.
    """

    def __init__(self, seed: int | None = None, kinds=None, difficulty: str = "mixed"):
        if seed is None:       # fresh problems every time the notebook runs
            seed = random.SystemRandom().randrange(1_000_000)
        self.seed, self.index = seed, 0
        self.kind_select = widgets.SelectMultiple(
            options=[(label, kind) for kind, label in KIND_LABELS.items()], rows=len(KINDS),
            description="kinds", layout=widgets.Layout(width="420px"))
        self.difficulty = widgets.ToggleButtons(options=list(DIFFICULTIES), value="mixed", description="level",
                                                style={"button_width": "70px"})
        self.new_button = widgets.Button(description="New problem", button_style="primary", icon="refresh")
        self.question = widgets.HTMLMath()
        self.answer_box = widgets.Text(placeholder="your answer, e.g. 1/2*(36+16-ln(16)-1) or 24.11",
                                       layout=widgets.Layout(width="420px"))
        self.check_button = widgets.Button(description="Check", button_style="success", icon="check")
        self.reveal_button = widgets.Button(description="Show solution", icon="eye")
        self.feedback = widgets.HTML()
        self.solution = widgets.HTMLMath(layout=widgets.Layout(display="none"))
        self.score_label = widgets.HTML()
        self.solved = self.attempted = 0
        self.drill: Drill | None = None
        self.last: CheckResult | None = None
        self._done = self._revealed = False
        self.new_button.on_click(lambda _: self.new_problem())
        self.check_button.on_click(lambda _: self.submit())
        self.reveal_button.on_click(lambda _: self.reveal())
        self.set_kinds(kinds if kinds is not None else list(KINDS))
        self.set_difficulty(difficulty)
        self.widget = widgets.VBox([
            widgets.HBox([self.kind_select, widgets.VBox([self.difficulty, self.new_button, self.score_label])]),
            self.question, widgets.HBox([self.answer_box, self.check_button, self.reveal_button]),
            self.feedback, self.solution,
            widgets.HTML(f"<small>Answers count {html.escape(TOLERANCE_TEXT)}. Type numbers, fractions, "
                         "+ − × ÷ ^, ln/log (natural), log2, exp, sqrt, pi, e.</small>")])
        self.widget.add_class("drill-session")
        self.new_problem()

    # ------------------------------------------------------------------ actions
    def set_kinds(self, kinds) -> None:
        kinds = list(kinds)
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"unknown drill kind(s) {unknown or kinds!r}; choose from {', '.join(KINDS)}")
        self.kind_select.value = tuple(kinds)

    def set_difficulty(self, difficulty: str) -> None:
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
        self.difficulty.value = difficulty

    def new_problem(self) -> Drill:
        """Draw the next drill of this session's seed from the chosen kinds and difficulty."""
        kinds = list(self.kind_select.value) or list(KINDS)
        self.drill = make_drill(self.seed, self.index, kinds, self.difficulty.value)
        self.index += 1
        self.attempted += 1
        self._done = self._revealed = False
        self.last = None
        self.question.value = markdown_html(self.drill.question)
        self.answer_box.value = ""
        self.feedback.value = ""
        self.solution.value = markdown_html(self.drill.solution)
        self.solution.layout.display = "none"
        self._show_score()
        return self.drill

    def submit(self, text: str | None = None) -> CheckResult:
        """Grade ``text`` (default: what is in the answer box) and show the feedback."""
        if text is not None:
            self.answer_box.value = text
        result = check(self.drill, self.answer_box.value)
        self.last = result
        if result.correct and not self._done and not self._revealed:
            self.solved += 1
        self._done = self._done or result.correct
        color = "#1a7f37" if result.correct else ("#9a6700" if not result.readable else "#cf222e")
        self.feedback.value = f"<div style='color:{color}'><b>{'✔' if result.correct else '✘'}</b> " \
                              f"{html.escape(result.feedback).replace('**', '')}</div>"
        self._show_score()
        return result

    def reveal(self) -> str:
        """Show the worked solution (a problem revealed before it was solved does not score)."""
        self._revealed = True
        self.solution.layout.display = None
        return self.drill.solution

    @property
    def score(self) -> tuple[int, int]:
        """(problems solved, problems seen) in this session."""
        return self.solved, self.attempted

    def _show_score(self) -> None:
        self.score_label.value = (f"<b>score:</b> {self.solved} / {self.attempted} solved"
                                  f" <small>(seed {self.seed}, problem {self.index})</small>")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

"""Lecture 12's widgets. :class:`DrillSession`: pick kinds and difficulty, get a problem, type an answer,
get feedback that names the likely mistake, reveal the worked solution, keep a running score.
:class:`MockExam`: the whole-lecture mock exam, with an optional time limit, a score per topic and
what to revise."""
from __future__ import annotations

import html
import math
import random
import time

import ipywidgets as widgets

from ..drills import (DIFFICULTIES, KIND_LABELS, KINDS, TOLERANCE_TEXT, CheckResult, Drill, check, make_drill,
                      markdown_html)

__all__ = ["DrillSession", "MockExam", "KIND_LABELS"]



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


class MockExam:
    """The whole-lecture mock exam (lecture 12): ``n`` questions across every topic, one answer each,
    instant feedback and worked solutions, an optional time limit, and at the end a score per topic
    and a list of what to revise (lecture and section). Display it as the last expression of a cell.

    Everything can be driven from code (the tests do): ``answer(text)``, ``next()``, ``previous()``,
    ``go(i)``, ``reveal()``, ``finish()``, ``scores()``, ``to_revise()``. The first answer to a question
    is the one that counts (as in an exam); answers typed after the time limit are not counted.
    ``time_limit`` is in minutes (None: untimed); ``clock`` returns seconds (injectable for tests).
    """

    def __init__(self, n: int | None = None, seed: int | None = None, topics=None,
                 time_limit: float | None = None, clock=time.monotonic):
        from ..drills import DEFAULT_EXAM_N, TOPICS, exam

        if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, (int, float))
                                       or not math.isfinite(time_limit) or time_limit <= 0):
            raise ValueError(f"time_limit must be None or a positive number of minutes, got {time_limit!r}")
        if seed is None:
            seed = random.SystemRandom().randrange(1_000_000)
        self.seed, self.topics_info = seed, TOPICS
        self.questions = exam(DEFAULT_EXAM_N if n is None else n, seed, topics)
        if not self.questions:
            raise ValueError("n must be at least 1 for a mock exam")
        self.time_limit, self.clock = time_limit, clock
        self.started = clock()
        self.results: dict[int, CheckResult] = {}
        self.late: set[int] = set()
        self.revealed: set[int] = set()
        self.index, self.finished = 0, False

        self.progress = widgets.HTML()
        self.question = widgets.HTMLMath()
        self.answer_box = widgets.Text(placeholder="a number, an expression, or the number of your choice",
                                       layout=widgets.Layout(width="420px"))
        self.check_button = widgets.Button(description="Answer", button_style="success", icon="check")
        self.reveal_button = widgets.Button(description="Show solution", icon="eye")
        self.prev_button = widgets.Button(description="Previous", icon="arrow-left")
        self.next_button = widgets.Button(description="Next", icon="arrow-right")
        self.finish_button = widgets.Button(description="Finish and score", button_style="warning", icon="flag")
        self.feedback = widgets.HTML()
        self.solution = widgets.HTMLMath(layout=widgets.Layout(display="none"))
        self.report = widgets.HTML()
        self.check_button.on_click(lambda _: self.answer())
        self.reveal_button.on_click(lambda _: self.reveal())
        self.prev_button.on_click(lambda _: self.previous())
        self.next_button.on_click(lambda _: self.next())
        self.finish_button.on_click(lambda _: self.finish())
        self.widget = widgets.VBox([
            self.progress, self.question,
            widgets.HBox([self.answer_box, self.check_button, self.reveal_button]),
            self.feedback, self.solution,
            widgets.HBox([self.prev_button, self.next_button, self.finish_button]), self.report,
            widgets.HTML(f"<small>Numeric answers count {html.escape(TOLERANCE_TEXT)}; the first answer to each "
                         "question counts. The clock is updated at every click.</small>")])
        self.widget.add_class("mock-exam")
        self._show()

    # ------------------------------------------------------------------ state
    @property
    def drill(self) -> Drill:
        return self.questions[self.index]

    def time_left(self) -> float | None:
        """Seconds left (None when untimed; never below 0)."""
        if self.time_limit is None:
            return None
        return max(0.0, 60 * self.time_limit - (self.clock() - self.started))

    def _out_of_time(self) -> bool:
        left = self.time_left()
        return left is not None and left <= 0

    # ------------------------------------------------------------------ actions
    def answer(self, text: str | None = None) -> CheckResult:
        """Grade the current question (``text`` or the answer box); only the first answer counts."""
        if text is not None:
            self.answer_box.value = text
        result = check(self.drill, self.answer_box.value)
        if not result.readable:             # unreadable text is not an answer: say why, let them retype
            self.feedback.value = f"<div style='color:#9a6700'>{html.escape(result.feedback)}</div>"
            return result
        if self.finished or self._out_of_time():
            self.late.add(self.index)
            self.feedback.value = ("<div style='color:#9a6700'>Time is up (or the exam is finished): this answer is "
                                   f"not counted. {html.escape(result.feedback).replace('**', '')}</div>")
            return result
        first = self.index not in self.results and self.index not in self.revealed
        if first:
            self.results[self.index] = result
        counted = self.results.get(self.index)
        note = "" if first else (" (not counted: the first answer to a question counts"
                                 + (", and the solution was shown first)" if counted is None else ")"))
        color = "#1a7f37" if result.correct else "#cf222e"
        self.feedback.value = (f"<div style='color:{color}'><b>{'✔' if result.correct else '✘'}</b> "
                               f"{html.escape(result.feedback).replace('**', '')}{note}</div>")
        self._show_progress()
        return result

    def reveal(self) -> str:
        """Show the worked solution (a question revealed before it is answered scores nothing)."""
        self.revealed.add(self.index)
        self.solution.layout.display = None
        return self.drill.solution

    def go(self, i: int) -> Drill:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.questions):
            raise ValueError(f"i must be a question number in 0..{len(self.questions) - 1}, got {i!r}")
        self.index = i
        self._show()
        return self.drill

    def next(self) -> Drill:
        return self.go(min(self.index + 1, len(self.questions) - 1))

    def previous(self) -> Drill:
        return self.go(max(self.index - 1, 0))

    def scores(self) -> dict[str, tuple[int, int]]:
        """topic -> (questions answered correctly, questions asked), in the order topics first appear."""
        out: dict[str, list[int]] = {}
        for i, d in enumerate(self.questions):
            got = out.setdefault(d.topic, [0, 0])
            got[1] += 1
            got[0] += int(i in self.results and self.results[i].correct)
        return {t: (a, b) for t, (a, b) in out.items()}

    def to_revise(self) -> list[tuple[str, str, str]]:
        """(topic label, lecture notebook, section) for every topic with a question not answered correctly."""
        return [(self.topics_info[t].label, self.topics_info[t].lecture, self.topics_info[t].section)
                for t, (right, asked) in self.scores().items() if right < asked]

    def finish(self) -> str:
        """End the exam: later answers do not count; show the score per topic and what to revise (HTML)."""
        self.finished = True
        rows = "".join(f"<tr><td>{html.escape(self.topics_info[t].label)}</td><td>{a} / {b}</td></tr>"
                       for t, (a, b) in self.scores().items())
        total = sum(a for a, _ in self.scores().values())
        revise = "".join(
            f"<li>{html.escape(label)}: <a href='{html.escape(lecture.rsplit('/', 1)[-1])}' target='_blank'>"
            f"{html.escape(lecture.rsplit('/', 1)[-1])}</a>, {html.escape(section)}</li>"
            for label, lecture, section in self.to_revise())
        self.report.value = (f"<h4>Score: {total} / {len(self.questions)}</h4>"
                             f"<table><tr><th>topic</th><th>correct</th></tr>{rows}</table>"
                             + (f"<p><b>What to revise</b></p><ul>{revise}</ul>" if revise else
                                "<p>Every topic answered correctly.</p>"))
        self._show_progress()
        return self.report.value

    # ------------------------------------------------------------------ display
    def _show(self) -> None:
        d = self.drill
        from ..drills import PROBLEM_TYPES
        self.question.value = (f"<p><b>Question {self.index + 1} of {len(self.questions)}</b> · "
                               f"{html.escape(self.topics_info[d.topic].label)} · "
                               f"{html.escape(PROBLEM_TYPES[d.problem_type])}</p>" + markdown_html(d.question))
        self.answer_box.value = ""
        res = self.results.get(self.index)
        self.feedback.value = "" if res is None else \
            f"<div>You answered this one: {'✔ right' if res.correct else '✘ wrong'}.</div>"
        self.solution.value = markdown_html(d.solution)
        self.solution.layout.display = None if self.index in self.revealed else "none"
        self._show_progress()

    def _show_progress(self) -> None:
        left = self.time_left()
        clock = "" if left is None else f" · time left {int(left // 60)}:{int(left % 60):02d}" + \
            (" (time is up)" if left <= 0 else "")
        self.progress.value = (f"<b>mock exam</b> (seed {self.seed}) · answered {len(self.results)} of "
                               f"{len(self.questions)}{clock}" + (" · finished" if self.finished else ""))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

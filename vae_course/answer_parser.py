"""Read a number a student typed, safely: a whitelist tokenizer and a small recursive-descent parser.

The text is never evaluated as Python (no ``eval``, no ``sympify``): only these pieces are understood

* numbers: ``3``, ``0.25``, ``.5``, ``0,25`` (comma decimal), ``1.5e-3`` (scientific), and
  thousands separators where they cannot be a decimal comma: ``1,000,000`` and ``1,000.5``. A lone
  group of three digits after a comma (``1,000``, ``12,345``) could be either, so it is refused with
  a message asking for ``1000`` or ``1.000``, never read silently as one or the other
  (``0,250`` starts with 0, so it is a decimal comma: 0.25);
* operators: ``+ - * / ^ **`` and the typeset ``− × · ÷``; ``²`` and ``³`` as powers; ``½ ¼ ¾``;
* parentheses ``( ) [ ]``; implicit products such as ``2pi``, ``3 ln 2``, ``1/2(36+16)``;
* functions ``ln``, ``log`` (both natural), ``log2``, ``log10``, ``exp``, ``sqrt`` / ``√``, with or
  without parentheses: ``ln 4`` is ``ln(4)``, ``ln 4^2`` is ``ln(16)``, ``ln(4)^2`` is ``(ln 4)²``;
* constants ``pi`` / ``π`` and ``e``;
* optionally a unit word at the end: ``nats`` / ``nat`` / ``bits`` / ``bit``.

Grammar (usual precedence; ``^`` binds right, ``-2^2 = -4``)::

    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/') unary | <implicit ×> power)*
    unary   := ('+' | '-') unary | power
    power   := primary ('^' unary)?
    primary := NUMBER | CONST | '(' expr ')' | FUNC '(' expr ')' | FUNC unary

Everything is computed in floating point, so no input can make the computation slow; the text is
capped at :data:`MAX_LENGTH` characters and :data:`MAX_DEPTH` levels of nesting. Anything else
(code, letters, ``nan``, ``inf``, overflow, log of a negative number, ...) raises
:class:`AnswerError`, a ``ValueError`` whose message starts with "could not read your answer".
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["AnswerError", "Answer", "parse_answer", "evaluate", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 200     # characters; a KL answer is never longer than a line
MAX_DEPTH = 40       # nested parentheses / unary signs / function calls
MAX_TOKENS = 120

_FUNCS = {
    "ln": math.log, "log": math.log, "log2": math.log2, "log10": math.log10,
    "exp": math.exp, "sqrt": math.sqrt,
}
_CONSTS = {"pi": math.pi, "e": math.e}
_UNITS = {"nat": "nats", "nats": "nats", "bit": "bits", "bits": "bits"}
# typeset characters mapped to what the parser reads
_TRANSLATE = str.maketrans({
    "−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "⋅": "*", "∙": "*", "÷": "/", "∕": "/",
    "²": "^2", "³": "^3", "π": " pi ", "√": " sqrt ", "½": "(1/2)", "¼": "(1/4)", "¾": "(3/4)",
    "[": "(", "]": ")", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
})
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<grouped>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,.]))
  | (?P<number>(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+(?![.\d]))?)
  | (?P<word>log_?(?:2|10)(?![\d.,])|[A-Za-z]+)
  | (?P<op>\*\*|[-+*/^()])
""", re.VERBOSE | re.ASCII)


class AnswerError(ValueError):
    """The text could not be read as a number; the message says why, for the student."""

    def __init__(self, reason: str):
        super().__init__(f"could not read your answer: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    """A parsed answer: its value and the unit word typed after it (None when there was none)."""

    value: float
    unit: str | None = None


@dataclass(frozen=True)
class _Tok:
    kind: str      # 'num', 'const', 'func', 'op', 'end'
    text: str
    pos: int
    value: float = 0.0


def _grouped_number(s: str) -> str:
    """Digits with commas between groups of three: thousands separators, or an ambiguous decimal comma."""
    head, *groups = s.split(",")
    if head == "0":                                   # 0,250: a decimal comma (no one writes 0,250 for 250)
        return s.replace(",", ".", 1) if len(groups) == 1 else _refuse_grouped(s)
    if len(groups) == 1 and "." not in s:             # 1,000: a thousand, or one with a decimal comma?
        raise AnswerError(f"{s!r} is ambiguous: write {head}{groups[0]} for the whole number, "
                          f"or {head}.{groups[0]} with a decimal point")
    return s.replace(",", "")                         # 1,000,000 or 1,000.5: thousands separators


def _refuse_grouped(s: str) -> str:
    raise AnswerError(f"{s!r} is not a number: use a decimal point, e.g. 0.25")


def _tokenize(text: str) -> tuple[list[_Tok], str | None]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise AnswerError(f"the character {text[pos]!r} (position {pos + 1}) is not allowed; "
                              "use numbers, + - * / ^, parentheses, ln/log/exp/sqrt, pi and e")
        kind, s = m.lastgroup, m.group()
        if kind == "grouped":
            kind, s = "number", _grouped_number(s)
        if kind == "number":
            value = float(s.replace(",", "."))
            if not math.isfinite(value):
                raise AnswerError(f"the number {s!r} is too large")
            tokens.append(_Tok("num", s, pos, value))
        elif kind == "word":
            w = s.lower().replace("_", "")
            if w in _FUNCS:
                tokens.append(_Tok("func", w, pos))
            elif w in _CONSTS:
                tokens.append(_Tok("const", w, pos, _CONSTS[w]))
            elif w in _UNITS:
                tokens.append(_Tok("unit", _UNITS[w], pos))
            else:
                raise AnswerError(f"unknown word {s!r}; only ln, log, log2, log10, exp, sqrt, pi, e "
                                  "(and a unit, nats or bits) are understood")
        elif kind == "op":
            tokens.append(_Tok("op", "^" if s == "**" else s, pos))
        pos = m.end()
        if len(tokens) > MAX_TOKENS:
            raise AnswerError("the expression is too long")
    unit = None
    if tokens and tokens[-1].kind == "unit":
        unit = tokens.pop().text
    if any(t.kind == "unit" for t in tokens):
        raise AnswerError("a unit (nats or bits) may only come at the very end")
    tokens.append(_Tok("end", "", len(text)))
    return tokens, unit


class _Parser:
    def __init__(self, tokens: list[_Tok]):
        self.tokens, self.i, self.depth = tokens, 0, 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise AnswerError("the expression is nested too deeply")

    def parse(self) -> float:
        if self.tok.kind == "end":
            raise AnswerError("it is empty")
        value = self.expr()
        if self.tok.kind != "end":
            raise AnswerError(f"unexpected {self.tok.text!r} at position {self.tok.pos + 1}")
        return value

    def expr(self) -> float:
        value = self.term()
        while self.is_op("+", "-"):
            op = self.take().text
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> float:
        value = self.unary()
        while True:
            if self.is_op("*", "/"):
                op = self.take().text
                rhs = self.unary()
                if op == "*":
                    value = value * rhs
                elif rhs == 0:
                    raise AnswerError("it divides by zero")
                else:
                    value = value / rhs
            elif self.tok.kind in ("const", "func") or self.is_op("("):
                value = value * self.power()          # implicit product: 2pi, 3 ln 2, 1/2(…)
            else:
                return value

    def unary(self) -> float:
        if self.is_op("+", "-"):
            self.enter()
            op = self.take().text
            value = self.unary()
            self.depth -= 1
            return -value if op == "-" else value
        return self.power()

    def power(self) -> float:
        base = self.primary()
        if self.is_op("^"):
            self.take()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return _call("^", lambda: math.pow(base, exponent))
        return base

    def primary(self) -> float:
        t = self.tok
        if t.kind in ("num", "const"):
            self.take()
            return t.value
        if self.is_op("("):
            self.enter()
            self.take()
            if self.is_op(")"):
                raise AnswerError(f"empty parentheses at position {t.pos + 1}")
            value = self.expr()
            if not self.is_op(")"):
                raise AnswerError(f"a '(' at position {t.pos + 1} is never closed")
            self.take()
            self.depth -= 1
            return value
        if t.kind == "func":
            self.take()
            self.enter()
            arg = self.primary() if self.is_op("(") else self.unary()
            self.depth -= 1
            return _call(t.text, lambda: _FUNCS[t.text](arg))
        if t.kind == "end":
            raise AnswerError("it ends too early (a number is missing at the end)")
        raise AnswerError(f"unexpected {t.text!r} at position {t.pos + 1}")


def _call(name: str, fn) -> float:
    try:
        value = fn()
    except OverflowError:
        raise AnswerError(f"the number is too large ({name} overflows)") from None
    except (ValueError, ZeroDivisionError):
        why = {"^": "that power is not a real number (e.g. a negative number to a fractional power, or 0 to a "
                    "negative power)", "sqrt": "the square root of a negative number is not real"}
        raise AnswerError(why.get(name, f"{name} is only defined for positive numbers")) from None
    if not math.isfinite(value):
        raise AnswerError(f"the number is too large ({name} overflows)")
    return value


def parse_answer(text: str) -> Answer:
    """Parse typed text into an :class:`Answer` (value, unit); raises :class:`AnswerError`.

    >>> parse_answer("1/2*(36+16-log(16)-1)").value   # doctest: +ELLIPSIS
    24.113...
    >>> parse_answer("ln 4 + 37/32 - 1/2").value      # doctest: +ELLIPSIS
    2.0415...
    """
    if not isinstance(text, str):
        raise AnswerError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise AnswerError(f"it is too long (more than {MAX_LENGTH} characters)")
    text = text.translate(_TRANSLATE).strip()
    if text.endswith("."):
        text = text[:-1]               # "0.5." at the end of a sentence
    if not text:
        raise AnswerError("it is empty")
    tokens, unit = _tokenize(text)
    value = _Parser(tokens).parse()
    if not math.isfinite(value):
        raise AnswerError("the result is not a finite number")
    return Answer(float(value), unit)


def evaluate(text: str) -> float:
    """The value of the typed text (see :func:`parse_answer`)."""
    return parse_answer(text).value

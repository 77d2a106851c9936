"""The answer parser reads what students type, and refuses anything else quickly and clearly."""
import builtins
import math
import random
import time

import pytest
import sympy

from vae_course.answer_parser import MAX_LENGTH, AnswerError, evaluate, parse_answer

ACCEPTED = [
    ("24.1137", 24.1137), ("0,25", 0.25), (",5", 0.5), (".5", 0.5), ("3/4", 0.75), ("-3/4", -0.75),
    ("1/2*(36+16-log(16)-1)", 0.5 * (36 + 16 - math.log(16) - 1)),
    ("ln 4 + 37/32 - 1/2", math.log(4) + 37 / 32 - 0.5),
    ("1/2(36+16-ln16-1)", 0.5 * (36 + 16 - math.log(16) - 1)),      # implicit product, ln without space
    ("½·(36 + 16 − ln 16 − 1)", 0.5 * (36 + 16 - math.log(16) - 1)),  # typeset characters
    ("3×4÷2", 6.0), ("2^10", 1024.0), ("2**10", 1024.0), ("2^-1", 0.5), ("2^3^2", 2.0**9), ("-2^2", -4.0),
    ("4²", 16.0), ("ln(4)^2", math.log(4) ** 2), ("ln 4^2", math.log(16)), ("log(e)", 1.0), ("LN(E)", 1.0),
    ("log2(8)", 3.0), ("log_2 8", 3.0), ("ln16", math.log(16)), ("1e", math.e), ("log10 1000", 3.0), ("exp(-1)", math.exp(-1)), ("e^-1", math.exp(-1)),
    ("sqrt(2)", math.sqrt(2)), ("sqrt 2", math.sqrt(2)), ("√2", math.sqrt(2)), ("2pi", 2 * math.pi),
    ("π/2", math.pi / 2), ("3 ln 2", 3 * math.log(2)), ("1.5e-3", 0.0015), ("2E3", 2000.0), ("[1+2]*3", 9.0),
    ("  0.5  ", 0.5), ("0.5.", 0.5), ("((((((1))))))", 1.0), ("+3", 3.0), ("--3", 3.0),
    ("log(10/21) + 591/100", math.log(10 / 21) + 5.91),                # SymPy's str() of an answer
]

HOSTILE = [
    "", "   ", "import os", "__import__('os').system('ls')", "os.system('rm -rf /')", "lambda: 1",
    "open('/etc/passwd').read()", "exec('1')", "eval('1')", "1; 2", "1 if 1 else 2", "x + 1", "mu**2",
    "[x for x in range(10**9)]", "9**9**9**9", "9^9^9^9^9", "10^400", "2^1000000", "exp(1e6)", "1e999",
    "-1e999", "nan", "NaN", "inf", "-inf", "Infinity", "float('nan')", "0/0", "1/0", "ln(0)", "log(-1)",
    "sqrt(-1)", "(-8)^(1/3)", "0^-1", "(" * 100 + "1" + ")" * 100, "(" * 30 + "1", "1" + ")" * 5,
    "1" * 10_000, "1+" * 5_000 + "1", "-" * 150 + "1", "sqrt " * 45 + "2", "sqrt(" * 41 + "2" + ")" * 41, "e" * 190, "1" * 199 + "x",
    "1 2", "2 3 4", "()", "(1+)", "*3", "3*", "3/", "ln", "ln()", "sqrt()", "1,2,3", "1..2", "\x00",
    "１２", "1\u200b2", "<script>alert(1)</script>", "${7*7}", "{{7*7}}", "%s%s%s", "\\frac{1}{2}",
    "1 nats bits", "bits 1", "e e e e x", "1e-999999999999x", "0x1F", "0b101", "1_000",
    "1/3" * 100, "1" + "0" * 400, "2^" * 60 + "2", "sqrt(" * 45 + "2" + ")" * 45,
]


@pytest.mark.parametrize("text,expected", ACCEPTED)
def test_accepts_what_students_type(text, expected):
    assert parse_answer(text).value == pytest.approx(expected, rel=1e-12)


def test_unit_word_at_the_end_is_returned():
    assert parse_answer("0.5 nats") == parse_answer("0.5nat") == parse_answer("1/2 nats")
    assert parse_answer("0.5 nats").unit == "nats"
    assert parse_answer("3 bits").unit == "bits"
    assert parse_answer("3").unit is None


def test_scientific_notation_and_the_constant_e_do_not_clash():
    assert evaluate("2e") == pytest.approx(2 * math.e)      # 2·e
    assert evaluate("2e-3") == pytest.approx(0.002)         # scientific
    assert evaluate("2 e - 3") == pytest.approx(2 * math.e - 3)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_or_malformed_input_is_refused_quickly(text):
    start = time.perf_counter()
    with pytest.raises(AnswerError, match="^could not read your answer: .+"):
        parse_answer(text)
    assert time.perf_counter() - start < 1.0, "guard against hangs (generous bound)"


def test_non_text_is_refused():
    for value in (None, 3, 2.5, b"1", ["1"]):
        with pytest.raises(AnswerError, match="expected text"):
            parse_answer(value)


def test_errors_say_why():
    assert "too long" in str(pytest.raises(AnswerError, parse_answer, "1" * (MAX_LENGTH + 1)).value)
    assert "empty" in str(pytest.raises(AnswerError, parse_answer, "").value)
    assert "too large" in str(pytest.raises(AnswerError, parse_answer, "10^400").value)
    assert "nested too deeply" in str(pytest.raises(AnswerError, parse_answer, "(" * 45 + "1" + ")" * 45).value)
    assert "'import'" in str(pytest.raises(AnswerError, parse_answer, "import os").value)
    assert "divides by zero" in str(pytest.raises(AnswerError, parse_answer, "1/(2-2)").value)
    assert "positive" in str(pytest.raises(AnswerError, parse_answer, "ln(-1)").value)
    assert isinstance(AnswerError("x"), ValueError)


def test_never_evaluates_text_as_code(monkeypatch):
    """With eval/exec/sympify/parse_expr booby-trapped, parsing still works: none of them is used."""
    def trap(*args, **kwargs):
        raise AssertionError("the parser must not evaluate text as code")
    for obj, name in ((builtins, "eval"), (builtins, "exec"), (sympy, "sympify"), (sympy, "parse_expr")):
        monkeypatch.setattr(obj, name, trap)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", trap)
    assert evaluate("1/2*(36+16-log(16)-1)") == pytest.approx(24.11370563888011)
    with pytest.raises(AnswerError):
        parse_answer("__import__('os')")


def test_random_strings_give_a_number_or_a_clear_error():
    """Fuzz: 3,000 random strings over the parser's own alphabet never crash it (no RecursionError etc.)."""
    rng = random.Random(0)
    alphabet = list("0123456789.,+-*/^() eE") + ["ln", "log", "exp", "sqrt", "pi", "**", "²", "−", " nats"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        try:
            value = parse_answer(text).value
        except AnswerError as exc:
            assert str(exc).startswith("could not read your answer: ")
        else:
            assert math.isfinite(value)


# ----------------------------------------------------------------------------- thousands separators vs decimal commas

@pytest.mark.parametrize("text, value", [("1,000,000", 1_000_000.0), ("1,000.5", 1000.5), ("12,345,678.25", 12_345_678.25),
                                         ("2 * 1,000,000", 2_000_000.0), ("0,25", 0.25), ("0,250", 0.25),
                                         ("24,1137", 24.1137), ("1,5", 1.5), ("-0,5", -0.5)])
def test_thousands_separators_and_decimal_commas(text, value):
    assert parse_answer(text).value == pytest.approx(value)


@pytest.mark.parametrize("text", ["1,000", "12,345", "-1,000", "1,000 nats", "999,999"])
def test_an_ambiguous_comma_is_refused_never_read_as_a_decimal(text):
    with pytest.raises(AnswerError) as exc:
        parse_answer(text)
    assert isinstance(exc.value, ValueError) and "ambiguous" in str(exc.value)
    number = text.lstrip("-").split()[0]
    assert repr(number) in str(exc.value)               # names what it could not read
    head, tail = number.split(",")
    assert f"{head}{tail}" in str(exc.value) and f"{head}.{tail}" in str(exc.value)   # says how to write it

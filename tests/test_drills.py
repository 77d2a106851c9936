"""Drills: answers against independent computations (torch.distributions, numerical integration),
worked solutions that end at the answer, grading with mistake-aware feedback, the CLI and the sheet."""
import json
import math
import subprocess
import sys

import numpy as np

_trapezoid = getattr(np, "trapezoid", None) or np.trapz   # numpy < 2.0 names it trapz
import pytest
import sympy as sp
import torch
from torch.distributions import Categorical, Independent, Normal, kl_divergence

from vae_course import drills
from vae_course import symbolic as S
from vae_course.drills.__main__ import main as cli_main
from vae_course.drills.core import kl_normal_exact

LN2 = math.log(2)
N_PER_KIND = 24          # × 7 kinds, easy and hard mixed, over many seeds


def _normal(mu, sigma):
    return Normal(torch.tensor(mu, dtype=torch.float64), torch.tensor(sigma, dtype=torch.float64))


def _kl_normal(m1, s1, m2, s2) -> float:
    return float(kl_divergence(_normal(m1, s1), _normal(m2, s2)))


def _kl_diag(mu, sigma) -> float:
    q = Independent(_normal(mu, sigma), 1)
    p = Independent(_normal([0.0] * len(mu), [1.0] * len(mu)), 1)
    return float(kl_divergence(q, p))


def independent_answer(kind: str, params: dict, unit: str) -> float:
    """The answer recomputed from the JSON params only, with torch.distributions (not vae_course)."""
    P = params
    if kind == "kl_standard_normal":
        nats = _kl_normal(P["mu"], P["sigma"], 0.0, 1.0)
    elif kind in ("kl_reverse", "kl_two_gaussians"):
        nats = _kl_normal(P["mu1"], P["sigma1"], P["mu2"], P["sigma2"])
    elif kind == "kl_diagonal":
        sigma = P["sigma"] if "sigma" in P else np.exp(np.array(P["logvar"]) / 2).tolist()
        nats = _kl_diag(P["mu"], sigma)
    elif kind == "vae_batch":
        nats = float(np.mean([_kl_diag(m, np.exp(np.array(lv) / 2).tolist()) for m, lv in zip(P["mu"], P["logvar"])]))
    elif kind == "discrete":
        p = Categorical(probs=torch.tensor(P["p"], dtype=torch.float64))
        if P["quantity"] == "entropy":
            nats = float(p.entropy())
        else:
            q = Categorical(probs=torch.tensor(P["q"], dtype=torch.float64))
            kl = float(kl_divergence(p, q))
            nats = kl if P["quantity"] == "kl" else kl + float(p.entropy())
    elif kind == "concept":
        return _concept_answer(P)
    else:
        raise AssertionError(kind)
    return nats / LN2 if unit == "bits" else nats


def _concept_answer(P: dict) -> float:
    sub = P["subtype"]
    if sub in ("larger", "symmetric"):
        a = _kl_normal(P["mu1"], P["sigma1"], P["mu2"], P["sigma2"])
        b = _kl_normal(P["mu2"], P["sigma2"], P["mu1"], P["sigma1"])
        if sub == "symmetric":
            return 1.0 if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) else 2.0
        return 3.0 if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) else (1.0 if a > b else 2.0)
    if sub == "zero":     # minimise over a fine grid of μ₂ (the grid contains every multiple of 0.005)
        grid = torch.linspace(-6, 6, 2401, dtype=torch.float64)
        kl = kl_divergence(Normal(torch.tensor(P["mu1"], dtype=torch.float64), torch.tensor(P["sigma1"], dtype=torch.float64)),
                           Normal(grid, torch.tensor(P["sigma2"], dtype=torch.float64)))
        return float(kl.min())
    if sub == "limit":    # evaluate close to the limit point; classify as 0, μ²/2 or +∞
        near, nearer = {0: (1e-8, 1e-16), 1: (1 + 1e-9, 1 + 1e-12), "inf": (1e8, 1e16)}[P["sigma_limit"]]
        m = P["mu"]
        kl = (lambda s: _kl_normal(m, s, 0.0, 1.0)) if P["direction"] == "forward" else \
            (lambda s: _kl_normal(0.0, 1.0, m, s))
        value = kl(near)
        if kl(nearer) - value > 5:        # still growing by a lot: unbounded
            return 3.0
        return 1.0 if abs(value) < 1e-6 else (2.0 if abs(value - m * m / 2) < 1e-6 else -1.0)
    raise AssertionError(sub)


@pytest.fixture(scope="module")
def by_kind():
    return {kind: [drills.make_drill(seed, i, [kind]) for seed, i in zip(range(100, 100 + N_PER_KIND), range(N_PER_KIND))]
            for kind in drills.KINDS}


@pytest.mark.parametrize("kind", list(drills.KINDS))
def test_answers_match_torch_distributions(by_kind, kind):
    seen = set()
    for d in by_kind[kind]:
        seen.add(d.difficulty)
        # numeric drills are in nats or bits; a multiple-choice drill's answer is an option number
        assert d.unit == ("choice" if d.choices else d.unit) and d.unit in ("nats", "bits", "choice")
        assert (d.unit == "choice") == (d.choices is not None)
        assert d.answer == pytest.approx(independent_answer(kind, d.params, d.unit), rel=1e-9, abs=1e-9), d.question
        assert json.loads(json.dumps(d.params)) == d.params        # plain JSON numbers/lists
    assert seen == {"easy", "hard"}


def test_standard_normal_answers_match_numerical_integration(by_kind):
    """KL(N(μ,σ²)‖N(0,1)) = ∫ p log(p/q) dx by the trapezoid rule, independent of any closed form."""
    for d in by_kind["kl_standard_normal"][:8]:
        mu, sigma = d.params["mu"], d.params["sigma"]
        x = np.linspace(mu - 12 * sigma, mu + 12 * sigma, 200_001)
        log_p = -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))
        log_q = -0.5 * x**2 - 0.5 * math.log(2 * math.pi)
        nats = _trapezoid(np.exp(log_p) * (log_p - log_q), x)
        assert d.answer == pytest.approx(nats / LN2 if d.unit == "bits" else nats, rel=1e-7)


def test_exact_answer_and_worked_solution_end_at_the_answer(by_kind):
    for kind, ds in by_kind.items():
        for d in ds:
            assert float(d.exact) == pytest.approx(d.answer, rel=1e-12, abs=1e-12)
            assert float(d.steps[-1].expr) == pytest.approx(d.answer, rel=1e-9, abs=1e-12), (kind, d.steps[-1])
            assert d.solution.strip() and d.question.strip()
            if d.choices:
                assert f"choice {int(d.answer)}" in d.solution
            else:
                assert f"{d.answer:.4f}" in d.solution or sp.latex(d.exact) in d.solution


def test_gaussian_solutions_reuse_the_lecture_derivation(by_kind):
    """The solution shows the lecture-01 closed form, and the numbers put into it give the answer."""
    closed = sp.latex(S.kl_standard_normal_steps()[-1].expr)
    d = next(d for d in by_kind["kl_standard_normal"] if d.unit == "nats")
    assert closed in d.solution
    assert float(d.steps[-1].expr) == pytest.approx(d.answer)
    general = sp.latex(S.kl_gaussian_steps()[-1].expr)
    assert general in by_kind["kl_two_gaussians"][0].solution


def test_cached_closed_form_is_kl_normal_expr():
    for args in [(6, 4, 0, 1), (0, 1, 6, 4), (sp.Rational(-3, 10), sp.Rational(17, 10), sp.Rational(1, 2), 2)]:
        assert sp.simplify(kl_normal_exact(*args) - S.kl_normal_expr(*args)) == 0


def test_homework_drill_values():
    """The homework numbers through the same machinery: 24.1137 nats forward."""
    assert float(kl_normal_exact(6, 4)) == pytest.approx(24.11370563888011)


def test_generate_is_reproducible_and_prefix_stable():
    a, b = drills.generate(6, seed=3), drills.generate(6, seed=3)
    assert [d.to_dict() for d in a] == [d.to_dict() for d in b]
    assert [d.question for d in drills.generate(3, seed=3)] == [d.question for d in a[:3]]
    assert [d.question for d in drills.generate(6, seed=4)] != [d.question for d in a]
    assert {d.kind for d in drills.generate(10, 0, kinds=["discrete"])} == {"discrete"}
    assert {d.kind for d in drills.generate(10, 0, kinds="kl_reverse,concept")} <= {"kl_reverse", "concept"}
    assert {d.difficulty for d in drills.generate(8, 0, difficulty="easy")} == {"easy"}


@pytest.mark.parametrize("bad", [dict(n=-1, seed=0), dict(n=2.5, seed=0), dict(n=2, seed="x"),
                                 dict(n=2, seed=0, kinds=["nope"]), dict(n=2, seed=0, kinds=[]),
                                 dict(n=2, seed=0, difficulty="medium")])
def test_generate_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        drills.generate(**bad)


def test_easy_numbers_are_nice():
    for d in drills.generate(30, 1, kinds=["kl_standard_normal", "kl_two_gaussians"], difficulty="easy"):
        for v in d.params.values():
            assert v * 2 == int(v * 2), d.params       # integers and halves only
    for d in drills.generate(10, 1, kinds=["discrete"], difficulty="easy"):
        assert d.unit == "bits" and all((v * 8).is_integer() for v in d.params["p"])


# ----------------------------------------------------------------------------- grading

def _numeric(by_kind):
    return [d for ds in by_kind.values() for d in ds if not d.choices]


def test_check_accepts_right_answers_in_many_forms(by_kind):
    for d in _numeric(by_kind):
        assert drills.check(d, f"{d.answer:.4f}").correct
        assert drills.check(d, f"{d.answer:.4f}".replace(".", ",")).correct
        assert drills.check(d, f"{d.answer:.6g} {d.unit}").correct
        text = str(d.exact)                          # SymPy's own spelling: log(...), **, /, E, sqrt
        if len(text) <= 200:
            assert drills.check(d, text).correct, text
        assert not drills.check(d, f"{d.answer + 0.5 + abs(d.answer) * 0.1:.4f}").correct


def test_check_states_the_tolerance():
    d = drills.generate(1, 0, kinds=["kl_standard_normal"])[0]
    ok = drills.check(d, f"{d.answer * (1 + 0.004):.6f}")
    assert ok.correct and "0.5 %" in ok.feedback
    far = drills.check(d, f"{d.answer * 1.02 + 0.02:.6f}")
    assert not far.correct


def _first(by_kind, kind, pred=lambda d: True):
    return next(d for d in by_kind[kind] if pred(d))


def _isolated(d, value):
    """True when value is clearly away from the answer and from every other listed mistake value."""
    close = [n for n, v in d.mistakes if drills.within_tolerance(value, v)]
    return not drills.within_tolerance(value, d.answer) and len(set(close)) <= 1


def _expect_mistake(d, value, name):
    result = drills.check(d, f"{value:.6f}")
    assert not result.correct
    assert result.mistake == name, (d.params, value, result)
    assert result.feedback == f"Not quite. {drills.MISTAKES[name]}"


def test_mistakes_in_the_univariate_kl_are_named(by_kind):
    d = _first(by_kind, "kl_standard_normal",
               lambda d: d.unit == "nats" and abs(d.params["mu"]) > 0.5 and abs(d.params["sigma"] - 1) > 0.3)
    mu, sigma = d.params["mu"], d.params["sigma"]
    crafted = {
        "sigma_for_variance": 0.5 * (mu**2 + sigma - math.log(sigma) - 1),
        "half_forgotten": mu**2 + sigma**2 - math.log(sigma**2) - 1,
        "wrong_direction": _kl_normal(0.0, 1.0, mu, sigma),
        "gave_bits": d.answer / LN2,
        "sign_slip": -d.answer,
    }
    for name, value in crafted.items():
        assert _isolated(d, value), name
        _expect_mistake(d, value, name)


def test_mistakes_in_bits_questions_are_named(by_kind):
    d = _first(by_kind, "discrete", lambda d: d.unit == "bits" and d.params["quantity"] == "kl")
    kl_nats = float(kl_divergence(Categorical(probs=torch.tensor(d.params["p"])), Categorical(probs=torch.tensor(d.params["q"]))))
    _expect_mistake(d, kl_nats, "gave_nats")
    reverse = float(kl_divergence(Categorical(probs=torch.tensor(d.params["q"])), Categorical(probs=torch.tensor(d.params["p"]))))
    if _isolated(d, reverse / LN2):
        _expect_mistake(d, reverse / LN2, "wrong_direction")
    cross = float(Categorical(probs=torch.tensor(d.params["p"])).entropy()) + kl_nats
    _expect_mistake(d, cross / LN2, "forgot_entropy")


def test_averaging_instead_of_summing_is_named(by_kind):
    d = _first(by_kind, "kl_diagonal", lambda d: d.unit == "nats")
    _expect_mistake(d, d.answer / len(d.params["mu"]), "averaged")
    b = _first(by_kind, "vae_batch", lambda d: d.unit == "nats" and _isolated(d, d.answer * len(d.params["mu"])))
    _expect_mistake(b, b.answer * len(b.params["mu"]), "batch_sum")
    mu, lv = np.array(b.params["mu"]), np.array(b.params["logvar"])
    per_dim_mean = float(np.mean(-0.5 * (1 + lv - mu**2 - np.exp(lv))))
    _expect_mistake(b, per_dim_mean * 1.0, "averaged")


def test_logvar_read_as_log_sigma_is_named(by_kind):
    d = _first(by_kind, "kl_diagonal", lambda d: "logvar" in d.params and d.unit == "nats"
               and any(abs(v) > 0.5 for v in d.params["logvar"]))
    mu, lv = np.array(d.params["mu"]), np.array(d.params["logvar"])
    wrong = float(np.sum(-0.5 * (1 + 2 * lv - mu**2 - np.exp(2 * lv))))
    _expect_mistake(d, wrong, "logvar_as_logsigma")


def test_wrong_unit_word_is_caught(by_kind):
    d = _first(by_kind, "kl_standard_normal", lambda d: d.unit == "nats")
    result = drills.check(d, f"{d.answer / LN2:.5f} bits")
    assert not result.correct and "asks for nats" in result.feedback and "right once converted" in result.feedback


def test_unmatched_wrong_answer_gets_a_plain_not_quite(by_kind):
    d = _first(by_kind, "kl_two_gaussians")
    value = d.answer * 3.7 + 11.0
    result = drills.check(d, f"{value:.3f}")
    assert not result.correct and result.mistake is None and result.feedback.startswith("Not quite")


def test_choice_questions(by_kind):
    for d in by_kind["concept"]:
        if not d.choices:
            continue
        right = int(d.answer)
        # shown as an option, never as a quantity ("answer = 2.0000 nats" was the bug)
        assert d.unit == "choice" and d.answer_text() == f"choice {right} ({d.choices[right - 1]})"
        assert "nats" not in d.answer_text() and "nats" not in d.solution.rsplit("**Answer:**", 1)[-1]
        assert drills.check(d, str(right)).correct
        assert drills.check(d, f" {right}. ").correct
        wrong = 1 if right != 1 else 2
        assert not drills.check(d, str(wrong)).correct
        out_of_range = drills.check(d, str(len(d.choices) + 1))
        assert not out_of_range.correct and not out_of_range.readable
        if d.choices == ["yes", "no"]:
            assert drills.check(d, ["yes", "no"][right - 1].upper()).correct


HOSTILE = ["", "   ", "import os", "__import__('os').system('echo hi')", "9**9**9**9", "1e999", "nan", "inf",
           "(" * 500, "1" * 100_000, "x" * 1000, "1/0", "ln(-3)", "\x00\x01", "{{7*7}}", "drop table"]


def test_hostile_answers_are_refused_quickly(by_kind):
    import time
    for d in (by_kind["kl_standard_normal"][0], next(d for d in by_kind["concept"] if d.choices)):
        for text in HOSTILE:
            start = time.perf_counter()
            result = drills.check(d, text)
            assert time.perf_counter() - start < 1.0, "guard against hangs (generous bound)"
            assert not result.correct and not result.readable
            assert result.feedback.startswith("Could not read your answer")


# ----------------------------------------------------------------------------- CLI and sheet

REQUIRED = {"kind", "question", "answer", "unit", "solution", "params"}
PLAIN_NAMES = {"mu", "sigma", "mu1", "sigma1", "mu2", "sigma2", "logvar", "p", "q",
               "quantity", "subtype", "direction", "sigma_limit"}


def test_cli_json_lines_match_generate_and_recompute_from_params(capsys):
    assert cli_main(["--n", "25", "--seed", "7", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 25
    expected = drills.generate(25, 7)
    for row, d in zip(rows, expected):
        assert REQUIRED <= row.keys()
        assert isinstance(row["answer"], float)
        assert row["unit"] == "choice" if "choices" in row else row["unit"] in ("nats", "bits")
        assert set(row["params"]) <= PLAIN_NAMES
        assert (row["kind"], row["question"], row["answer"]) == (d.kind, d.question, d.answer)
        assert row["answer"] == pytest.approx(independent_answer(row["kind"], row["params"], row["unit"]), rel=1e-9, abs=1e-9)


def test_cli_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "vae_course.drills", "--n", "3", "--seed", "7", "--json"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert [json.loads(line)["question"] for line in out.splitlines()] == [d.question for d in drills.generate(3, 7)]


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["--n", "2", "--kinds", "nope", "--json"])
    assert exc.value.code == 2 and "unknown drill kind" in capsys.readouterr().err


def test_cli_writes_the_sheet(tmp_path, capsys):
    assert cli_main(["--n", "3", "--seed", "1", "--sheet", str(tmp_path / "exam.md")]) == 0
    assert (tmp_path / "exam.md").exists() and (tmp_path / "exam.html").exists()
    assert "wrote" in capsys.readouterr().out


def test_sheet_markdown_and_html(tmp_path):
    ds = drills.generate(5, 2)
    md_path, html_path = drills.write_sheet(ds, tmp_path / "sheet.md", seed=2)
    md, page = md_path.read_text(), html_path.read_text()
    assert md.index("## Problem 5") < md.index("page-break") < md.index("# Answer key")
    assert md.count("## Problem") == 10                       # 5 questions + 5 answers
    for d in ds:
        assert d.question in md and d.solution in md
    assert "page-break-after: always" in page
    assert "<math" in page and "<script" not in page and "MathJax" not in page      # math rendered at build time
    assert page.index("Problem 5") < page.index("class='page-break'") < page.index("Answer key")
    assert "<script>" not in drills.markdown_html("<script>alert(1)</script> $x_1$")
    with pytest.raises(ValueError, match=".md"):
        drills.write_sheet(ds, tmp_path / "sheet.txt")


# ----------------------------------------------------------------------------- homework and the widget

def test_homework_drill_names_the_lecture_01_slips():
    hw = drills.homework_drill()
    assert hw.params == {"mu": 6.0, "sigma": 4.0} and hw.answer == pytest.approx(24.11370563888011)
    assert drills.check(hw, "1/2*(36+16-log(16)-1)").correct
    assert drills.check(hw, "1/2*(36+4-ln 4-1)").mistake == "sigma_for_variance"     # ≈ 18.81, lecture 01
    assert drills.check(hw, "48.23").mistake == "half_forgotten"
    assert drills.check(hw, "ln 4 + 37/32 - 1/2").mistake == "wrong_direction"
    assert drills.homework_drill("bits").answer == pytest.approx(24.11370563888011 / LN2)
    with pytest.raises(ValueError):
        drills.homework_drill("bans")


def test_drill_session_widget_round_trip():
    from vae_course.widgets import DrillSession

    s = DrillSession(seed=4, kinds=["kl_standard_normal"], difficulty="easy")
    d = s.drill
    assert d.kind == "kl_standard_normal" and d.difficulty == "easy" and s.question.value
    assert s.solution.layout.display == "none"
    wrong = s.submit(f"{2 * d.answer + 1:.4f}")
    assert not wrong.correct and s.score == (0, 1) and "✘" in s.feedback.value
    right = s.submit(f"{d.answer:.4f}")
    assert right.correct and s.score == (1, 1) and "✔" in s.feedback.value
    s.submit(f"{d.answer:.4f}")                        # answering again does not score twice
    assert s.score == (1, 1)
    d2 = s.new_problem()
    assert d2.question != d.question and s.answer_box.value == "" and s.feedback.value == ""
    s.reveal()
    assert s.solution.layout.display is None
    assert s.submit(f"{d2.answer:.4f}").correct and s.score == (1, 2)   # revealed first: no point
    s.set_kinds(["discrete"])
    s.set_difficulty("hard")
    assert s.new_problem().kind == "discrete"
    unreadable = s.submit("import os")
    assert not unreadable.readable and "Could not read" in s.feedback.value
    with pytest.raises(ValueError, match="unknown drill kind"):
        s.set_kinds(["nope"])
    with pytest.raises(ValueError, match="difficulty"):
        s.set_difficulty("medium")
    assert DrillSession(seed=4, kinds=["kl_standard_normal"], difficulty="easy").drill.question == d.question


# ----------------------------------------------------------------------------- hostile CLI input (issue 14)

def test_cli_refuses_a_huge_n_before_generating_anything(capsys, monkeypatch):
    import vae_course.drills.__main__ as cli

    def boom(*args, **kwargs):
        raise AssertionError("generate must not be called for a refused --n")
    monkeypatch.setattr(cli, "generate", boom)
    for n in ("1000000000", str(drills.MAX_N + 1), "-1"):
        with pytest.raises(SystemExit) as exc:
            cli_main(["--n", n, "--json"])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and "--n" in err and f"{drills.MAX_N:,}" in err
    with pytest.raises(ValueError, match=r"\bn must be at most"):
        drills.generate(drills.MAX_N + 1, 0)


def test_check_refuses_a_thousands_separator_it_cannot_read():
    d = drills.homework_drill()
    result = drills.check(d, "24,113")          # a decimal comma with three digits: ambiguous, not 24113 and not silently 24.113
    assert not result.correct and not result.readable and "ambiguous" in result.feedback
    assert drills.check(d, "24,1137").correct    # four digits after the comma: a decimal comma


def test_a_failed_sheet_write_leaves_no_tmp_file(tmp_path, capsys):
    ds = drills.generate(2, 0)
    (tmp_path / "sheet.html").mkdir()            # the HTML target is a folder: moving the file there fails
    with pytest.raises(OSError):
        drills.write_sheet(ds, tmp_path / "sheet.md")
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(SystemExit) as exc:
        cli_main(["--n", "2", "--sheet", str(tmp_path / "sheet.md")])
    assert exc.value.code == 2 and "--sheet" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.tmp"))


# ----------------------------------------------------------------------------- the whole-lecture mock exam (issue 17)

EXAM_SEEDS = range(6)
EXAM_N = 45            # five rounds through the nine topics per seed


@pytest.fixture(scope="module")
def exam_questions():
    return [d for seed in EXAM_SEEDS for d in drills.exam(EXAM_N, seed)]


def _exam_answer(d) -> float:
    """Each numeric exam question recomputed from its params with torch, independently of the package."""
    P = d.params
    t = lambda x: torch.tensor(x, dtype=torch.float64)   # noqa: E731
    if d.kind == "elbo_value":
        nats = P["recon"] - P["kl"]
    elif d.kind == "elbo_gap":
        nats = P["log_px"] - P["elbo"]
    elif d.kind == "iwae":
        nats = float(torch.logsumexp(t(P["logw"]), 0) - math.log(len(P["logw"])))
    elif d.kind == "free_bits":
        nats = float(torch.clamp(t(P["kl_per_dim"]), min=P["free_bits"]).sum())
    elif d.kind == "beta_loss":
        nats = P["distortion"] + P["beta"] * P["rate"]
    elif d.kind == "vq_rate":
        cell = Categorical(probs=torch.full((P["num_codes"],), 1.0 / P["num_codes"], dtype=torch.float64))
        nats = float(cell.entropy()) * P["grid"][0] * P["grid"][1]
    elif d.kind == "cvae_kl":
        nats = _kl_normal(P["mu1"], P["sigma1"], P["mu2"], P["sigma2"])
    elif d.kind == "bits_per_dim":
        nats = P["nll_nats"] / P["dims"]
    elif d.kind in drills.KINDS:
        return independent_answer(d.kind, P, d.unit)
    else:
        raise AssertionError(f"no independent computation for {d.kind}")
    return nats / LN2 if d.unit == "bits" else nats


def test_exam_covers_every_topic_in_every_round_and_the_four_problem_types(exam_questions):
    assert set(drills.TOPICS) == {"kl", "elbo", "reparameterization", "autoencoders", "posterior_collapse",
                                  "beta_vae", "vq_vae", "conditional_vae", "generative_models"}
    for seed in EXAM_SEEDS:
        qs = drills.exam(len(drills.TOPICS), seed)
        assert sorted(d.topic for d in qs) == sorted(drills.TOPICS)        # any 9 consecutive: all topics
    assert {d.problem_type for d in exam_questions} == set(drills.PROBLEM_TYPES)
    assert {d.topic for d in exam_questions if d.problem_type == "compute"} >= {"kl", "elbo", "vq_vae", "beta_vae"}
    kinds = {d.kind for d in exam_questions}
    assert {"iwae", "elbo_order", "holes_order", "holes_why", "vq2_levels", "free_bits", "cvae_kl"} <= kinds


def test_exam_is_deterministic_for_a_seed_and_differs_between_seeds():
    a, b = drills.exam(20, 4), drills.exam(20, 4)
    assert [d.to_dict() for d in a] == [d.to_dict() for d in b]
    assert [d.question for d in drills.exam(8, 4)] == [d.question for d in a[:8]]     # prefix-stable
    assert [d.question for d in drills.exam(20, 5)] != [d.question for d in a]


def test_exam_answers_match_independent_computations(exam_questions):
    for d in exam_questions:
        if d.choices:
            assert d.unit == "choice" and float(d.answer).is_integer() and 1 <= d.answer <= len(d.choices)
            continue
        assert d.unit in ("nats", "bits")
        assert d.answer == pytest.approx(_exam_answer(d), rel=1e-9, abs=1e-9), d.question


def test_every_exam_answer_typed_back_is_accepted_and_every_wrong_option_explained(exam_questions):
    for d in exam_questions:
        assert d.solution and d.question and "**Answer:**" in d.solution
        if d.choices:
            right = int(d.answer)
            assert drills.check(d, str(right)).correct
            assert f"choice {right}" in d.solution
            for k in range(1, len(d.choices) + 1):
                if k != right:
                    res = drills.check(d, str(k))
                    assert not res.correct and res.mistake == "wrong_choice"
                    assert len(res.feedback) > len(f"Not this one ({d.choices[k - 1]}).") + 10   # says why
        else:
            assert drills.check(d, f"{d.answer:.6g}").correct
            assert drills.check(d, f"{d.answer:.6g} {d.unit}").correct
            for name, wrong in d.mistakes:            # every named slip, typed, is recognised (or within tolerance)
                if math.isfinite(wrong) and not drills.within_tolerance(wrong, d.answer):
                    res = drills.check(d, f"{wrong:.6g}")
                    assert not res.correct and res.mistake is not None and name in drills.MISTAKES


def test_exam_misconceptions_the_course_corrects():
    qs = [d for seed in range(40) for d in drills.exam(9, seed) if d.kind == "vq2_levels"]
    assert qs
    for d in qs:
        right = d.choices[int(d.answer) - 1]
        assert "top level is a 32×32" in right and "coarse" in right           # the notes' swap, corrected
        swapped = next(i for i, c in enumerate(d.choices, 1) if c.startswith("the top level is a 64×64"))
        assert "swap" in drills.check(d, str(swapped)).feedback
    import random

    from vae_course.drills.exam import ordering_drill
    d = ordering_drill("t", random.Random(3), "Order:", ["s1", "s2", "s3", "s4"], "why")
    right = d.choices[int(d.answer) - 1].split(" → ")
    listing = dict(line[4:].split(".** ") for line in d.question.splitlines() if line.startswith("- **"))
    assert [listing[label] for label in right] == ["s1", "s2", "s3", "s4"]


def test_exam_json_rows_carry_topic_and_keep_the_drill_fields(capsys):
    assert cli_main(["--exam", "--n", "18", "--seed", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 18
    for row, d in zip(rows, drills.exam(18, 2)):
        assert REQUIRED | {"topic", "problem_type"} <= row.keys()
        assert row["topic"] in drills.TOPICS and row["problem_type"] in drills.PROBLEM_TYPES
        assert isinstance(row["answer"], float) and (row["question"], row["answer"]) == (d.question, d.answer)
        assert row["unit"] == ("choice" if "choices" in row else row["unit"]) and row["unit"] in ("nats", "bits", "choice")
    assert cli_main(["--n", "5", "--seed", "2", "--json"]) == 0                 # the plain drills: no topic field
    assert all("topic" not in json.loads(line) for line in capsys.readouterr().out.splitlines())
    for bad, says in ((["--exam", "--topics", "nope"], "unknown topic"), (["--topics", "kl"], "--topics needs --exam"),
                      (["--exam", "--kinds", "concept"], "--kinds")):
        with pytest.raises(SystemExit) as exc:
            cli_main(bad)
        assert exc.value.code == 2 and says in capsys.readouterr().err
    with pytest.raises(ValueError, match="topic"):
        drills.exam(3, 0, topics="kl,nope")
    with pytest.raises(ValueError, match=r"\bn must be"):
        drills.exam(drills.MAX_N + 1, 0)


def test_the_exam_sheet_prints_offline(tmp_path, capsys):
    assert cli_main(["--exam", "--n", "27", "--seed", "1", "--sheet", str(tmp_path / "exam.md")]) == 0
    page = (tmp_path / "exam.html").read_text(encoding="utf-8")
    import re
    assert not re.search(r"(?:https?:|ftp:)?//[\w.-]+\.\w", page), "no external URL (CDN, font, script)"
    assert "<script" not in page and "<link" not in page and "@import" not in page and "src=" not in page
    assert page.count("<math") >= 27 and "<mfrac>" in page and "<msup>" in page          # math rendered to MathML
    outside_math = re.sub(r"<math.*?</math>", "", page, flags=re.S)
    assert "$" not in outside_math and "\\frac" not in outside_math and "class='latex'" not in page
    assert "Revise:" in page and "Answer key" in page
    md = (tmp_path / "exam.md").read_text(encoding="utf-8")
    assert md.count("## Problem") == 2 * 27 and "Mock exam" in md


def test_every_formula_the_drills_write_renders_to_mathml():
    import re
    ds = drills.generate(120, 21) + drills.exam(120, 21)
    page = drills.sheet_html(ds)
    assert "class='latex'" not in page                       # no formula fell back to source
    leftovers = re.findall(r"<m(?:i|o|n|text)[^>]*>([^<]*\\[^<]*)</m", page)
    assert leftovers == [], leftovers[:5]                     # no unknown \command left as text
    assert "<mi>&</mi>" not in page


def test_mock_exam_widget_scores_per_topic_and_says_what_to_revise():
    from vae_course.widgets.drills import MockExam

    now = [0.0]
    exam = MockExam(n=9, seed=3, time_limit=10, clock=lambda: now[0])
    assert len(exam.questions) == 9 and {d.topic for d in exam.questions} == set(drills.TOPICS)
    right_topic, wrong_topic = exam.questions[0].topic, exam.questions[1].topic
    d0 = exam.drill
    assert exam.answer(str(int(d0.answer)) if d0.choices else f"{d0.answer:.6g}").correct
    exam.next()
    d1 = exam.drill
    wrong = str(int(d1.answer) % len(d1.choices) + 1) if d1.choices else f"{d1.answer * 3 + 7:.4f}"
    assert not exam.answer(wrong).correct
    assert exam.answer(str(int(d1.answer)) if d1.choices else f"{d1.answer:.6g}").correct
    assert not exam.results[1].correct                       # the first answer is the one that counts
    assert exam.answer("import os").readable is False and 1 in exam.results
    exam.next()
    exam.reveal()
    d2 = exam.drill
    exam.answer(str(int(d2.answer)) if d2.choices else f"{d2.answer:.6g}")
    assert 2 not in exam.results                              # revealed first: scores nothing
    now[0] = 601.0                                            # past the 10-minute limit
    exam.next()
    d3 = exam.drill
    exam.answer(str(int(d3.answer)) if d3.choices else f"{d3.answer:.6g}")
    assert 3 not in exam.results and 3 in exam.late and exam.time_left() == 0
    scores = exam.scores()
    assert scores[right_topic] == (1, 1) and scores[wrong_topic] == (0, 1) and sum(b for _, b in scores.values()) == 9
    revise = {label for label, _, _ in exam.to_revise()}
    assert drills.TOPICS[wrong_topic].label in revise and drills.TOPICS[right_topic].label not in revise
    report = exam.finish()
    assert "Score: 1 / 9" in report and "What to revise" in report
    assert drills.TOPICS[wrong_topic].lecture.rsplit("/", 1)[-1] in report
    with pytest.raises(ValueError, match="time_limit"):
        MockExam(n=3, seed=0, time_limit=-1)
    with pytest.raises(ValueError, match=r"\bi must"):
        exam.go(99)

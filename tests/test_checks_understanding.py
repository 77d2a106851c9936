"""The multiple-choice and by-hand questions of exercises 05 and 06: every option is graded, every wrong
option gets its own reason, and the numeric answers agree with an independent closed form."""
import math

import pytest

from vae_course import checks, grading, variants
from vae_course.checks import params


def _hints(qid, answer):
    q = checks.get(qid)
    return [c.test(answer) for c in q.checks]


@pytest.mark.parametrize("qid, correct, n", [("rate_vs_information", 2, 4), ("kernel_reason", 3, 4), ("nearby_codes", 2, 4)])
def test_multiple_choice_right_option_and_a_reason_for_each_wrong_one(qid, correct, n, capsys):
    assert grading.check(qid, correct) == 1.0
    assert grading.check(qid, str(correct)) == 1.0          # "2" typed as text counts too
    reasons = set()
    for option in range(1, n + 1):
        if option != correct:
            (hint,) = _hints(qid, option)
            assert isinstance(hint, str) and len(hint) > 20   # a reason, not just "wrong"
            reasons.add(hint)
            assert grading.check(qid, option) == 0.0
    assert len(reasons) == n - 1                             # each wrong option has its own reason
    for bad in (0, n + 1, True, 2.5, "two", None):
        assert grading.check(qid, bad) == 0.0
    capsys.readouterr()


def test_matched_mu_norm_against_the_closed_form_and_its_slips(capsys):
    assert grading.check("matched_mu_norm", 32 * (1 - 0.15)) == 1.0
    for slip, words in ((32.0, "prior"), (32 * 1.15, "subtract"), (0.85, "sum over all d"), (32 * 0.15, "Σ E σ²")):
        (hint,) = _hints("matched_mu_norm", slip)
        assert words in hint
    capsys.readouterr()


def test_lerp_quarter_point_against_the_closed_form_and_its_slips(capsys):
    assert grading.check("lerp_norm", 64 * (0.75 ** 2 + 0.25 ** 2)) == 1.0
    for slip, words in ((32.0, "midpoint"), (64.0, "variances add"), (36.0, "z₀'s share")):
        (hint,) = _hints("lerp_norm", slip)
        assert words in hint
    assert math.isclose(64 * (0.75 ** 2 + 0.25 ** 2), 40.0)
    capsys.readouterr()


@pytest.mark.parametrize("student", ["alice", "bob", "carol", "dave"])
def test_by_hand_slips_are_named_with_every_students_numbers(student, capsys):
    """The hints name the same mistakes whatever the student's numbers, and the default's answers earn nothing."""
    with variants.of(student):
        v = params("matched_mu_norm")
        assert grading.check("matched_mu_norm", v.d * (1 - v.sigma2)) == 1.0
        assert grading.check("matched_mu_norm", 32 * (1 - 0.15)) == 0.0
        for slip, words in ((v.d, "prior"), (v.d * (1 + v.sigma2), "subtract"), (1 - v.sigma2, "sum over all d"),
                            (v.d * v.sigma2, "Σ E σ²")):
            (hint,) = _hints("matched_mu_norm", slip)
            assert words in hint
        w = params("lerp_norm")
        assert grading.check("lerp_norm", w.d * ((1 - w.t) ** 2 + w.t ** 2)) == 1.0
        for slip, words in ((w.d / 2, "midpoint"), (w.d, "variances add"), ((1 - w.t) ** 2 * w.d, "z₀'s share")):
            (hint,) = _hints("lerp_norm", slip)
            assert words in hint
    capsys.readouterr()

"""The checks of exercise 07 (β-VAE) accept the right answers and name the usual mistakes."""
import numpy as np
import pytest

from vae_course import grading, variants
from vae_course.checks import params
from vae_course.checks.beta_vae import POINTS


def failed(score):
    return {c["name"]: c["message"] for c in score.details["checks"] if not c["passed"]}


def _best(points, beta):
    return int(np.argmin([d + beta * r for r, d in points]))


def test_beta_choice_accepts_the_minimiser_and_names_swapped_weights():
    assert grading.check("beta_choice_code", _best) == 2.0
    swapped = failed(grading.check("beta_choice_code", lambda p, b: int(np.argmin([r + b * d for r, d in p]))))
    assert any("distortion by β" in m for m in swapped.values())
    ignored = failed(grading.check("beta_choice_code", lambda p, b: int(np.argmin([r + d for r, d in p]))))
    assert any("ignored β" in m for m in ignored.values())
    # an independent sanity check of the data: β = 1 and β = 4 prefer different models
    assert _best(POINTS, 1.0) != _best(POINTS, 4.0)


def test_implicit_beta():
    assert grading.check("implicit_beta", 48.0) == 1.0          # 32·32·3 / 64
    assert "inverted" in failed(grading.check("implicit_beta", 64 / 3072)).popitem()[1]
    assert "colour" in failed(grading.check("implicit_beta", 16.0)).popitem()[1]
    assert "number of image values" in failed(grading.check("implicit_beta", 3072.0)).popitem()[1]


@pytest.mark.parametrize("student", ["alice", "bob", "carol"])
def test_implicit_beta_with_a_students_numbers(student):
    with variants.of(student):
        v = params("implicit_beta")
        values = v.side * v.side * v.channels
        assert grading.check("implicit_beta", values / v.d) == 1.0
        assert grading.check("implicit_beta", 48.0) == 0.0         # the default's answer
        assert "inverted" in failed(grading.check("implicit_beta", v.d / values)).popitem()[1]
        assert "colour" in failed(grading.check("implicit_beta", v.side * v.side / v.d)).popitem()[1]


def test_multiple_choice_feedback_names_the_misconception():
    assert grading.check("beta_recon_choice", "b") == 1.0
    assert "notes' claim" in failed(grading.check("beta_recon_choice", "a")).popitem()[1]
    assert grading.check("rate_bound_choice", "(b)") == 1.0
    assert "aggregate posterior" in failed(grading.check("rate_bound_choice", "a")).popitem()[1]
    assert "one of the letters" in failed(grading.check("rate_bound_choice", "maybe")).popitem()[1]

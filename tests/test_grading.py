"""Instant feedback: vae_course.grading.check and the question checks in vae_course.checks.

Each question is checked against a right answer (full points), typical wrong answers (0 points
on the checks they break, and the hint that names the mistake), and answers that crash.
"""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vae_course import grading, variants
from vae_course.checks import all_questions, params


@pytest.fixture(autouse=True)
def no_hidden_checks():
    grading._HIDDEN.clear()
    yield
    grading._HIDDEN.clear()


# exercise 01's fixed variant (exercises/): p = (0.6, 0.25, 0.15); p = (0.2, 0.8), q = (0.6, 0.4); μ = 3, σ = 2.5
H_FIXED = -(0.6 * math.log2(0.6) + 0.25 * math.log2(0.25) + 0.15 * math.log2(0.15))


def failed(score):
    return {c["name"]: c["message"] for c in score.details["checks"] if not c["passed"]}


# ----------------------------------------------------------------------------- the mechanism

def test_score_is_a_float_that_nbgrader_reads_and_carries_details(capsys):
    s = grading.check("entropy_by_hand", H_FIXED)
    assert isinstance(s, float) and s == 1.0
    bundle = s._repr_mimebundle_()
    assert float(bundle["text/plain"]) == 1.0                 # nbgrader: a number = partial credit
    details = json.loads(json.dumps(bundle[grading.MIME]))    # JSON-serialisable for the notebook
    assert details["qid"] == "entropy_by_hand" and details["earned"] == 1.0
    assert "points: 1 / 1" in capsys.readouterr().out


def test_unanswered_stub_scores_zero_with_a_message(capsys):
    assert grading.check("homework", ...) == 0.0
    assert "not answered yet" in capsys.readouterr().out


def test_a_crashing_answer_never_raises(capsys):
    def boom(*args):
        raise ZeroDivisionError("division by zero")
    s = grading.check("kl_code", boom)
    assert s == 0.0
    assert all("raised ZeroDivisionError" in m for m in failed(s).values())


def test_an_answer_that_loops_or_exits_is_stopped():
    def loops(p, q):
        while True:
            pass
    s = grading.check("kl_code", loops, time_limit=0.2)
    assert s == 0.0 and all("infinite loop" in m for m in failed(s).values())

    def exits(p, q):
        raise SystemExit(1)
    assert grading.check("kl_code", exits) == 0.0


def test_stub_function_returning_none_is_named():
    def stub(p, q):
        ...
    s = grading.check("kl_code", stub)
    assert s == 0.0 and all("returned None" in m for m in failed(s).values())


def test_wrong_types_and_unknown_questions_score_zero(capsys):
    assert grading.check("homework", "24.1") == 0.0
    assert grading.check("homework", [1, 2, 3]) == 0.0
    assert grading.check("no_such_question", 1.0) == 0.0
    assert "no question 'no_such_question'" in capsys.readouterr().out


def test_student_output_and_warnings_do_not_leak(capsys):
    def noisy(p, q):
        print("debug " * 100)
        import warnings
        warnings.warn("careful")
        return float(np.sum(np.asarray(p) * np.log(np.asarray(p) / np.asarray(q))))
    grading.check("kl_code", noisy)
    captured = capsys.readouterr()
    assert "debug" not in captured.out and captured.err == ""


def test_partial_credit_is_split_over_checks_including_hidden_ones():
    # three public checks pass out of four → 1.5 of 2 points
    def kl_naive(p, q):
        p, q = np.asarray(p, float), np.asarray(q, float)
        with np.errstate(all="ignore"):
            return float(np.sum(p * np.log(p / q)))
    assert grading.check("kl_code", kl_naive) == pytest.approx(1.5)
    grading.hidden("kl_code", "always fails", lambda f: False)
    s = grading.check("kl_code", kl_naive)
    assert s == pytest.approx(2 * 3 / 5)
    assert [c["hidden"] for c in s.details["checks"]] == [False] * 4 + [True]
    grading.hidden("kl_code", "always fails", lambda f: False)   # registering again replaces, no duplicates
    assert len(grading.check("kl_code", kl_naive).details["checks"]) == 5


def test_every_question_has_points_a_title_and_checks():
    qs = all_questions()
    assert len(qs) >= 20
    for q in qs.values():
        assert q.points > 0 and q.title and q.checks, q.qid


# ----------------------------------------------------------------------------- lecture 01

def kl_right(p, q):
    p, q = np.asarray(p, float), np.asarray(q, float)
    s = p > 0
    return math.inf if np.any(q[s] == 0) else float(np.sum(p[s] * np.log(p[s] / q[s])))


def kl_gauss_right(m1, s1, m2, s2):
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def test_entropy_in_nats_gets_the_units_hint():
    s = grading.check("entropy_by_hand", H_FIXED * math.log(2))
    assert s == 0 and "bits" in failed(s)["H(p) in bits"]


def test_kl_by_hand_swapped_is_named():
    right = (0.2 * math.log(0.2 / 0.6) + 0.8 * math.log(0.8 / 0.4), 0.6 * math.log(0.6 / 0.2) + 0.4 * math.log(0.4 / 0.8))
    assert grading.check("kl_by_hand", right) == 2.0
    s = grading.check("kl_by_hand", right[::-1])
    assert s == 0 and "swapped" in failed(s)["KL(p‖q)"]


def test_kl_code_right_and_swapped():
    assert grading.check("kl_code", kl_right) == 2.0
    s = grading.check("kl_code", lambda p, q: kl_right(q, p))
    assert "KL(q‖p)" in failed(s)["matches torch.distributions on random distributions"]


def test_gauss_kl_right_and_variance_confusion():
    assert grading.check("gauss_kl_code", kl_gauss_right) == 2.0
    s = grading.check("gauss_kl_code", lambda m1, s1, m2, s2: kl_gauss_right(m1, math.sqrt(s1), m2, math.sqrt(s2)))
    assert "standard deviations" in failed(s)["matches torch.distributions.kl_divergence"]


def test_homework_values_both_directions():
    # μ = 3, σ = 2.5: ½(σ² + μ² − 1 − ln σ²) and ln σ + (1 + μ²)/(2σ²) − ½, worked out by hand
    assert grading.check("homework", (6.2087, 1.2163)) == 2.0
    assert grading.check("homework", (kl_gauss_right(3, 2.5, 0, 1), kl_gauss_right(0, 1, 3, 2.5))) == 2.0
    s = grading.check("homework", (kl_gauss_right(3, math.sqrt(2.5), 0, 1), 1.2163))    # σ = 2.5 used as the variance
    assert s == 1.0 and "variance" in next(iter(failed(s).values()))
    assert grading.check("homework", (24.1137, 2.0425)) == 0.0                       # the lecture's μ = 6, σ = 4


def test_homework_against_a_students_own_numbers():
    from vae_course import variants
    with variants.of("alice"):                                                       # μ = -2, σ = 3
        assert grading.check("homework", (kl_gauss_right(-2, 3, 0, 1), kl_gauss_right(0, 1, -2, 3))) == 2.0
        assert grading.check("homework", (6.2087, 1.2163)) == 0.0                    # the fixed variant's answer


def test_sympy_step():
    from vae_course.symbolic import mu1, mu2, sigma1, x
    assert grading.check("sympy_step", sigma1**2 + (mu1 - mu2) ** 2) == 2.0
    assert grading.check("sympy_step", sigma1**2 + mu1**2 - 2 * mu1 * mu2 + mu2**2) == 2.0
    s = grading.check("sympy_step", sigma1**2 + mu1**2 - mu2**2)
    assert s == 1.0 and "cross term" in failed(s)["equals the expectation computed by sympy.stats"]
    assert grading.check("sympy_step", (x - mu2) ** 2) == 0.0


# ----------------------------------------------------------------------------- lecture 02

def test_vae_extra_params_and_its_mistakes():
    # the fixed variant: 784 → 600 → 128 → d = 5; only the log σ² head is extra: 128·5 + 5
    assert dict(params("vae_extra_params", None)) == {"h1": 600, "h2": 128, "d": 5}
    assert grading.check("vae_extra_params", 645) == 1.0
    for wrong, hint in ((640, "bias"), (1290, "only the log σ² head"), (3005, "last hidden layer")):
        s = grading.check("vae_extra_params", wrong)
        assert s == 0.0 and hint in next(iter(failed(s).values())), wrong
    with variants.of("alice"):
        v = params("vae_extra_params")
        assert grading.check("vae_extra_params", (v.h2 + 1) * v.d) == 1.0
        assert (v.h1, v.h2, v.d) == (800, 160, 6)
        assert grading.check("vae_extra_params", 645) == 0.0          # the fixed variant's answer is wrong for alice


# ----------------------------------------------------------------------------- lecture 03

def log_px(x, w, b, s):
    v = w**2 + s**2
    return -0.5 * math.log(2 * math.pi * v) - (x - b) ** 2 / (2 * v)


def posterior(x, w, b, s):
    v = s**2 / (w**2 + s**2)
    return w * (x - b) / (w**2 + s**2), v


def elbo(x, m, v, w, b, s):
    return (-0.5 * math.log(2 * math.pi * s**2) - ((x - w * m - b) ** 2 + w**2 * v) / (2 * s**2)
            - 0.5 * math.log(2 * math.pi) - (m**2 + v) / 2 + 0.5 * math.log(2 * math.pi * math.e * v))


def test_elbo_questions():
    assert grading.check("elbo_log_px", log_px) == 2.0
    assert grading.check("elbo_posterior", posterior) == 2.0
    assert grading.check("elbo_value", elbo) == 2.0
    for student in (None, "alice", "bob"):          # the fixed numbers x = -2.5, w = 3, b = -0.5, s = 2, and two students'
        with variants.of(student):
            p = params("elbo_gap")
            m, v = posterior(p.x, p.w, p.b, p.s)
            gap = log_px(p.x, p.w, p.b, p.s) - elbo(p.x, 0.0, 1.0, p.w, p.b, p.s)
            kl = 0.5 * math.log(v) + (1 + m**2) / (2 * v) - 0.5
            assert gap == pytest.approx(kl, abs=1e-12)      # the identity itself
            assert grading.check("elbo_gap", kl) == 1.0
    assert dict(params("elbo_gap", None)) == {"x": -2.5, "w": 3.0, "b": -0.5, "s": 2.0}
    # the fixed variant's gap, worked out by hand: posterior N(-6/13, 4/13)
    m, v = -6 / 13, 4 / 13
    assert grading.check("elbo_gap", 0.5 * (math.log(v) + (1 + m**2) / v - 1)) == 1.0
    assert grading.check("elbo_gap", 0.5 * (math.log(v) + (1 + m**2) / v - 1) + 0.01) == 0.0


def test_elbo_mistakes_are_named():
    s = grading.check("elbo_log_px", lambda x, w, b, s: -0.5 * math.log(2 * math.pi * (abs(w) + s**2))
                      - (x - b) ** 2 / (2 * (abs(w) + s**2)))
    assert "w²" in failed(s)["matches numerical integration of p(x|z) p(z) over z"]
    s = grading.check("elbo_posterior", lambda *a: (posterior(*a)[0], math.sqrt(posterior(*a)[1])))
    assert s == 1.0 and "standard deviation" in failed(s)["posterior variance matches Bayes' rule on a grid"]
    # forgetting the w²v term of E_q[(x - wz - b)²]
    s = grading.check("elbo_value", lambda x, m, v, w, b, s_: elbo(x, m, v, w, b, s_) + w**2 * v / (2 * s_**2))
    assert "Monte Carlo" in failed(s)["matches a Monte Carlo estimate of E_q[log p(x,z) - log q(z)]"]
    # the gap in the wrong direction, KL(p(z|x)‖q), and the posterior's standard deviation used as its variance
    m, v = -6 / 13, 4 / 13
    name = "equals KL(q‖posterior) by numerical integration (= log p(x) - ELBO)"
    s = grading.check("elbo_gap", 0.5 * (-math.log(v) + v + m**2 - 1))
    assert s == 0 and "other direction" in failed(s)[name]
    s = grading.check("elbo_gap", 0.5 * (math.log(math.sqrt(v)) + (1 + m**2) / math.sqrt(v) - 1))
    assert s == 0 and "standard deviation" in failed(s)[name]


# ----------------------------------------------------------------------------- lecture 04

def test_reparameterize_right_and_wrong():
    assert grading.check("reparam_code", lambda mu, lv, eps: mu + torch.exp(0.5 * lv) * eps) == 3.0
    s = grading.check("reparam_code", lambda mu, lv, eps: mu + torch.exp(lv) * eps)
    assert "σ²" in failed(s)["z sits at ε's quantile of N(μ, σ²) with σ = exp(½ logvar)"]
    s = grading.check("reparam_code", lambda mu, lv, eps: (mu + torch.exp(0.5 * lv) * eps).detach())
    assert list(failed(s)) == ["gradients reach mu and logvar (checked by finite differences)"]


def test_reparam_values():
    # the fixed variant: mu = (-1.5, 2.5), logvar = (log 9, log 2.25), eps = (-0.5, 2): σ = (3, 1.5)
    assert dict(params("reparam_by_hand", None))["var"] == (9.0, 2.25)
    assert grading.check("reparam_by_hand", [-3.0, 5.5]) == 1.0
    s = grading.check("reparam_by_hand", [-6.0, 7.0])                                 # σ² as the scale
    assert s == 0.0 and "variance" in next(iter(failed(s).values()))
    s = grading.check("reparam_by_hand", [-1.5 - 0.5 * math.log(9), 2.5 + 2 * math.log(2.25)])   # logvar as σ
    assert s == 0.0 and "log σ²" in next(iter(failed(s).values()))
    # μ = -2.5, σ = 1.5
    assert grading.check("reparam_gradient", (-5.0, 3.0)) == 2.0
    s = grading.check("reparam_gradient", (-5.0, 2.25))
    assert s == 1.0 and "σ² itself" in next(iter(failed(s).values()))
    s = grading.check("reparam_gradient", (-5.0, 1.0))
    assert s == 1.0 and "∂/∂(σ²)" in next(iter(failed(s).values()))
    assert grading.check("reparam_gradient", (-5.0, 3.0), show=False) == 2.0


@pytest.mark.parametrize("student", ["alice", "bob", "s017"])
def test_reparam_values_of_a_student(student):
    with variants.of(student):
        v, g = params("reparam_by_hand"), params("reparam_gradient")
        z = [m + math.sqrt(var) * e for m, var, e in zip(v.mu, v.var, v.eps)]
        assert grading.check("reparam_by_hand", z) == 1.0
        assert grading.check("reparam_gradient", (2 * g.mu, 2 * g.sigma)) == 2.0
        assert grading.check("reparam_gradient", (2 * g.mu + 0.2, 2 * g.sigma + 0.2)) == 0.0
    with variants.of(None):
        assert grading.check("reparam_by_hand", z) == 0.0           # another student's numbers: wrong here


# ----------------------------------------------------------------------------- lecture 05

def vae_loss(x, logits, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
    return (recon + kl) / x.shape[0]


def test_shapes():
    # the default: a batch of 10, Conv2d(1, 24, 5, 2, 1) on 28×28 gives ⌊25/2⌋ + 1 = 13, Conv2d(24, 48, 3, 2, 0) ⌊10/2⌋ + 1 = 6
    right = {"conv1": (10, 24, 13, 13), "conv2": (10, 48, 6, 6), "flat": (10, 1728)}
    assert grading.check("conv_shapes", right) == 2.0
    assert grading.check("conv_shapes", dict(right, flat=(1728,))) == pytest.approx(4 / 3, abs=1e-4)
    assert "round down" in failed(grading.check("conv_shapes", dict(right, conv1=(10, 24, 14, 14))))["after conv1"]
    # the lecture's encoder (batch 8, 4×4 kernels, 32 → 64 channels) is not the question's
    assert grading.check("conv_shapes", {"conv1": (8, 32, 14, 14), "conv2": (8, 64, 7, 7), "flat": (8, 3136)}) == 0.0
    # ConvTranspose2d(48, 24, 5, stride 2, padding 1) on 9×9: 8·2 − 2 + 5 = 19; n·s = 18 is the 4×4 layers' size
    assert grading.check("deconv_size", 19) == 1.0
    assert "k − 2p = s" in failed(grading.check("deconv_size", 18))["matches the layer's actual output"]
    assert "2·padding" in failed(grading.check("deconv_size", 21))["matches the layer's actual output"]
    assert grading.check("deconv_size", 13) == 0.0          # lecture 05's 3×3 layer on 7×7


@pytest.mark.parametrize("student", ["alice", "bob", "carol"])
def test_shapes_with_a_students_numbers(student):
    with variants.of(student):
        v = params("conv_shapes")
        size = lambda n, k, p: (n + 2 * p - k) // 2 + 1                     # noqa: E731
        h1 = size(28, v.k1, v.p1)
        h2 = size(h1, v.k2, v.p2)
        right = {"conv1": (v.batch, v.c1, h1, h1), "conv2": (v.batch, v.c2, h2, h2), "flat": (v.batch, v.c2 * h2 * h2)}
        assert grading.check("conv_shapes", right) == 2.0
        assert grading.check("conv_shapes", {"conv1": (10, 24, 13, 13), "conv2": (10, 48, 6, 6), "flat": (10, 1728)}) == 0.0
        w = params("deconv_size")
        assert grading.check("deconv_size", (w.n - 1) * w.s - 2 * w.p + w.k) == 1.0
        assert grading.check("deconv_size", 19) == 0.0                      # the default's answer


def test_vae_loss_right():
    assert grading.check("vae_loss_code", vae_loss) == 3.0


def test_vae_loss_averaging_over_pixels_is_diagnosed():
    def mean_pixels(x, logits, mu, logvar):
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).mean(1)
        kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), 1)
        return (recon + kl).mean()
    s = grading.check("vae_loss_code", mean_pixels)
    assert "did you average where you should sum?" in failed(s)[
        "reconstruction: Bernoulli NLL summed over the 784 pixels, mean over the batch"]


def test_vae_loss_summing_over_batch_and_averaging_kl_are_diagnosed():
    s = grading.check("vae_loss_code", lambda *a: vae_loss(*a) * a[0].shape[0])
    assert any("batch size" in m for m in failed(s).values())
    assert "duplicating" in failed(s)["does not grow with the batch size (the same batch twice gives the same loss)"]

    def kl_mean_dims(x, logits, mu, logvar):
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        return recon - 0.5 * torch.mean(1 + logvar - mu**2 - logvar.exp())
    s = grading.check("vae_loss_code", kl_mean_dims)
    assert "average where you should sum" in failed(s)["KL: summed over latent dimensions, mean over the batch"]


def test_bits_per_dim():
    assert grading.check("bits_per_dim", 100 / (784 * math.log(2))) == 1.0
    assert grading.check("bits_per_dim", 100 / 784) == 0.0
    assert "divide by the 784 pixels" in failed(grading.check("bits_per_dim", 100 / math.log(2))).popitem()[1]
    with variants.of("alice"):
        nats = params("bits_per_dim").nats
        assert nats != 100
        assert grading.check("bits_per_dim", nats / 784 / math.log(2)) == 1.0
        assert grading.check("bits_per_dim", 100 / (784 * math.log(2))) == 0.0


# ----------------------------------------------------------------------------- lecture 06

def slerp(z0, z1, t):
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    if torch.sin(omega).abs() < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def test_slerp_right_and_lerp_wrong():
    assert grading.check("slerp_code", slerp) == 3.0
    s = grading.check("slerp_code", lambda a, b, t: (1 - t) * a + t * b)
    assert set(failed(s)) == {"between unit vectors, every point has norm 1 (it stays on the sphere)",
                              "equal steps in t sweep equal angles (vectors of equal norm)"}


def test_slerp_without_the_parallel_fallback_loses_that_check():
    def no_fallback(z0, z1, t):
        omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
        return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    assert list(failed(grading.check("slerp_code", no_fallback))) == [
        "(almost) parallel vectors give finite output, not NaN"]


def test_latent_values():
    assert grading.check("lerp_norm", 40.0) == 1.0            # 64·((3/4)² + (1/4)²)
    assert grading.check("lerp_norm", 32.0) == 0.0            # the midpoint's d/2
    assert grading.check("midpoint_norms", (math.sqrt(128) / 2, 8.0)) == 1.0
    assert grading.check("midpoint_norms", (8.0, 8.0)) == 0.0


@pytest.mark.parametrize("student", ["alice", "bob", "carol"])
def test_latent_values_with_a_students_numbers(student):
    with variants.of(student):
        v = params("lerp_norm")
        assert grading.check("lerp_norm", v.d * ((1 - v.t) ** 2 + v.t ** 2)) == 1.0
        assert grading.check("lerp_norm", 40.0) == 0.0        # the default's answer
        w = params("midpoint_norms")
        # two vectors of norm r at angle Ω, built in the plane: the lerp midpoint and z₀ turned by Ω/2
        z0 = torch.tensor([w.r, 0.0], dtype=torch.float64)
        z1 = w.r * torch.tensor([math.cos(math.radians(w.angle)), math.sin(math.radians(w.angle))], dtype=torch.float64)
        assert grading.check("midpoint_norms", (float(((z0 + z1) / 2).norm()), float(z0.norm()))) == 1.0
        assert grading.check("midpoint_norms", (math.sqrt(128) / 2, 8.0)) == 0.0


# ----------------------------------------------------------------------------- lecture 08

def test_active_units_variance_not_std():
    assert grading.check("active_units_code", lambda mu, threshold=0.01: int((np.var(mu, 0) > threshold).sum())) == 2.0
    s = grading.check("active_units_code", lambda mu, threshold=0.01: int((np.std(mu, 0) > threshold).sum()))
    assert "standard deviation" in failed(s)["counts the active units of the synthetic history"]
    s = grading.check("active_units_code", lambda mu, threshold=0.01: int((np.var(mu, 1) > threshold).sum()))
    assert "varies over the data (axis 0), not over the latent dimensions" in failed(s)


def test_collapse_dataset_and_answers():
    data = grading.dataset("collapse_history")
    assert data["mu"].shape == (500, 8) and data["kl_per_dim"].shape == (20, 8)
    assert np.array_equal(data["mu"], grading.dataset("collapse_history")["mu"])   # the same every call
    assert grading.check("kl_floor", 0.03) == 1.0
    assert "½" in failed(grading.check("kl_floor", 0.06)).popitem()[1]
    assert "variance" in failed(grading.check("kl_floor", 0.06 ** 0.5)).popitem()[1]
    assert "cannot be free" in failed(grading.check("kl_floor", 0.0)).popitem()[1]


def test_kl_floor_under_a_students_own_activity():
    from vae_course import variants
    from vae_course.checks import params
    with variants.of("alice"):
        a_d = grading.params("kl_floor").A_d
        assert a_d != 0.06 and 0.01 < a_d < 1
        assert grading.check("kl_floor", a_d / 2) == 1.0
        assert "½" in failed(grading.check("kl_floor", a_d)).popitem()[1]
        assert "variance" in failed(grading.check("kl_floor", 0.5 * a_d ** 0.5)).popitem()[1]
        assert grading.check("kl_floor", 0.03) == 0.0                          # the exercise's answer
    drawn = {params("kl_floor", f"s{i}").A_d for i in range(300)}
    assert len(drawn) >= 60
    # never the lecture's numbers (the threshold 0.01 and its floor 0.005, 0.1, 0.2, 0.4, 0.5), nor the default
    assert not drawn & {0.01, 0.02, 0.06, 0.1, 0.2, 0.4, 0.5, 0.8, 1.0}


def test_free_bits():
    assert grading.check("free_bits_code", lambda kl, lam: torch.clamp(kl, min=lam).sum()) == 2.0
    s = grading.check("free_bits_code", lambda kl, lam: torch.clamp(kl.sum(), min=lam))
    assert "each dimension" in failed(s)["matches a loop over the dimensions"]


# ----------------------------------------------------------------------------- exercise 01: understanding

def test_reverse_kl_fit_multiple_choice_names_each_misconception():
    assert grading.check("reverse_kl_fit", "b", show=False) == 1.0
    assert grading.check("reverse_kl_fit", " B ", show=False) == 1.0
    hints = {"a": "forward", "c": "not symmetric", "d": "two modes"}
    for letter, word in hints.items():
        s = grading.check("reverse_kl_fit", letter, show=False)
        assert s == 0 and word in failed(s)["the option that describes the reverse-KL fit"]
    for bad in ("e", 2, None, "ab"):
        s = grading.check("reverse_kl_fit", bad, show=False)
        assert s == 0 and "one of the letters" in failed(s)["the option that describes the reverse-KL fit"]


def test_kl_slip_0443_accepts_only_the_slip_that_gives_0443():
    # independently: ln(variance ratio) + σ₁²/(2σ₂²) − ½ with σ₂² = 2
    assert round(math.log(2) + 1 / 4 - 1 / 2, 3) == 0.443
    assert grading.check("kl_slip_0443", "b", show=False) == 1.0
    expected = {"a": "0.1534", "c": "0.3181", "d": "0.5966"}     # swapped / σ₂ = 2 / the −½ forgotten
    for letter, value in expected.items():
        s = grading.check("kl_slip_0443", letter, show=False)
        assert s == 0 and value in failed(s)["the option whose arithmetic gives 0.443"]


# ----------------------------------------------------------------------------- exercises 02-04: understanding

@pytest.mark.parametrize("qid, right, hints", [
    ("variational_regulariser", "d", {"a": "weight", "b": "sparse", "c": "denoising"}),
    ("ae_aggregate_codes", "c", {"a": "N(0, I)", "b": "VAE", "d": "bounding box"}),
    ("score_vs_pathwise", "b", {"a": "unbiased", "c": "sin(5z)", "d": "different levels"}),
    ("iwae_behaviour", "b", {"a": "lower bound", "c": "the bound itself moves", "d": "never hurt"}),
    ("sampling_gradient", "b", {"a": "detaches", "c": "score-function", "d": "continuous latents"}),
])
def test_multiple_choice_understanding_questions(qid, right, hints):
    assert grading.check(qid, right, show=False) == 1.0
    for letter, word in hints.items():
        s = grading.check(qid, letter, show=False)
        assert s == 0 and any(word in m for m in failed(s).values()), (letter, failed(s))
    s = grading.check(qid, "e", show=False)
    assert s == 0 and "one of the letters" in " ".join(failed(s).values())


def test_score_vs_pathwise_witness_matches_the_exact_per_sample_variances():
    """For f = (z − 1)², μ = 0.5, σ = 0.5: Var f'(z) = 4σ² = 1; the score sample (z − 1)²(z − μ)/σ² has
    variance 7.5 (lecture 04's SymPy result, 7.5× the pathwise one)."""
    from vae_course.checks.reparam import _per_sample_variances
    m_path, v_path, m_score, v_score = _per_sample_variances()
    assert m_path == pytest.approx(-1, abs=0.02) and v_path == pytest.approx(1.0, rel=0.02)
    assert m_score == pytest.approx(-1, abs=0.05) and v_score == pytest.approx(7.5, rel=0.05)


def test_elbo_steps_order_names_the_misplaced_step():
    assert grading.check("elbo_steps_order", "RTSPQ", show=False) == 1.0
    assert grading.check("elbo_steps_order", "r, t, s, p, q", show=False) == 1.0
    wrong = {"TRSPQ": "log p(x)", "RTPSQ": "Jensen", "RSTPQ": "multiply and divide", "RTSQP": "after Jensen"}
    for order, word in wrong.items():
        s = grading.check("elbo_steps_order", order, show=False)
        assert s == 0 and word in failed(s)["each step follows from the one before"], order
    for bad in ("RTSP", "RTSPQQ", 12345):
        assert grading.check("elbo_steps_order", bad, show=False) == 0


# ----------------------------------------------------------------------------- the shared multiple-choice check

def test_option_reads_letters_and_numbers_and_refuses_the_rest():
    from vae_course.checks import option
    assert option(" (B) ", "abcd") == "b" and option(np.int64(3), [1, 2, 3, 4]) == 3 and option(" 2 ", [1, 2]) == 2
    assert option("b", "ABCD") == "B"
    for bad, options, words in [("e", "abcd", "one of the letters"), (2, "abcd", "one of the letters"),
                                (True, [1, 2], "option number"), ("two", [1, 2], "option number"),
                                (2.0, [1, 2], "option number"),
                                (5, [1, 2], "option number"), (None, "ab", "no answer yet")]:
        with pytest.raises(TypeError, match=words):
            option(bad, options)


def test_multiple_choice_gives_each_wrong_option_its_reason_and_runs_the_witness():
    from vae_course.checks import Question, multiple_choice
    q = Question("mc_demo", 1.0, "demo")
    multiple_choice(q, 2, {1: "one is too few", 3: "three is too many"}, witness=lambda: 1 + 1 == 2)
    test = q.checks[0].test
    assert test(2) is True and test(1) == "one is too few" and test(3) == "three is too many"
    assert "option number" in test("two")               # what to type, as the hint
    q2 = Question("mc_premise_broken", 1.0, "demo")
    multiple_choice(q2, "a", {"b": "no"}, witness=lambda: False)
    assert q2.checks[0].test("a") is False                  # the question's premise no longer holds: it fails
    with pytest.raises(ValueError, match="also has a reason"):
        multiple_choice(Question("bad", 1.0, ""), "a", {"a": "?", "b": "?"})

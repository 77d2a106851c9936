"""The checks of exercises/11_generative_models: right answers pass, the usual mistakes get named."""
import math

import torch
import torch.nn.functional as F

from vae_course.checks import get


def _run(qid, answer):
    """(passed, messages) over the public checks of one question."""
    results = []
    for c in get(qid).checks:
        try:
            out = c.test(answer)
        except Exception as exc:      # a raising check fails
            out = f"error: {exc}"
        results.append(out)
    return all(r is True for r in results), [r for r in results if r is not True]


def fvsbn_right(W, b, x):
    return -F.binary_cross_entropy_with_logits(x @ torch.tril(W, -1).T + b, x, reduction="none").sum(-1)


def test_fvsbn_right_and_usual_mistakes():
    assert _run("fvsbn_log_prob", fvsbn_right)[0]
    with_diagonal = lambda W, b, x: -F.binary_cross_entropy_with_logits(   # noqa: E731
        x @ torch.tril(W, 0).T + b, x, reduction="none").sum(-1)
    ok, msgs = _run("fvsbn_log_prob", with_diagonal)
    assert not ok and any("diagonal" in str(m) for m in msgs)
    unmasked = lambda W, b, x: -F.binary_cross_entropy_with_logits(x @ W.T + b, x, reduction="none").sum(-1)  # noqa: E731
    ok, msgs = _run("fvsbn_log_prob", unmasked)
    assert not ok
    ok, msgs = _run("fvsbn_log_prob", lambda W, b, x: -fvsbn_right(W, b, x))
    assert not ok and any("negative" in str(m) for m in msgs)
    assert not _run("fvsbn_log_prob", lambda W, b, x: None)[0]


def test_flow_log_prob_value_and_mistakes():
    x1, x2 = 0.5, -1.0
    z1, z2 = x1, x2 * math.exp(0.8 * x1) + 0.3 * x1
    log_base = -math.log(2 * math.pi) - 0.5 * (z1 ** 2 + z2 ** 2)
    assert _run("flow_log_prob", log_base + 0.4)[0]
    ok, msgs = _run("flow_log_prob", log_base)
    assert not ok and "log |det" in msgs[0]
    ok, msgs = _run("flow_log_prob", log_base - 0.4)
    assert not ok and "added" in msgs[0]
    assert not _run("flow_log_prob", ...)[0]


def test_flow_log_prob_under_a_students_own_numbers():
    from vae_course import variants
    from vae_course.checks import params

    def right(v):
        (x1, x2), z2 = v.x, v.x[1] * math.exp(v.a * v.x[0]) + v.b * v.x[0]
        return -math.log(2 * math.pi) - 0.5 * (x1 ** 2 + z2 ** 2) + v.a * x1, v.a * x1

    for student in ("alice", "bob"):
        v = params("flow_log_prob", student)
        assert (v.a, v.b, v.x) != (0.8, 0.3, (0.5, -1.0)) and v.a * v.x[0] != 0
        assert v.b_term == (f"+ {v.b:g}\\,x_1" if v.b > 0 else f"- {-v.b:g}\\,x_1")
        answer, log_det = right(v)
        with variants.of(student):
            assert _run("flow_log_prob", answer)[0]
            ok, msgs = _run("flow_log_prob", answer - log_det)
            assert not ok and "log |det" in msgs[0]
            assert not _run("flow_log_prob", right(params("flow_log_prob", None))[0])[0]   # the exercise's answer
    # some students' maps squeeze x₂ at their point (a·x₁ < 0), others stretch it
    signs = {params("flow_log_prob", f"s{i}").a * params("flow_log_prob", f"s{i}").x[0] > 0 for i in range(40)}
    assert signs == {True, False}


def test_multiple_choice_feedback_names_the_misconception():
    assert _run("flow_no_compression", "a")[0] and _run("flow_no_compression", " (A) ")[0]
    for wrong in "bcd":
        ok, msgs = _run("flow_no_compression", wrong)
        assert not ok and len(msgs[0]) > 30
    assert _run("vae_blur", "c")[0]
    ok, msgs = _run("vae_blur", "d")
    assert not ok and "diffusion" in msgs[0]
    assert _run("bound_vs_exact", "vae")[0]
    ok, msgs = _run("bound_vs_exact", "ar")
    assert not ok and "95 < 97" in msgs[0]
    assert not _run("bound_vs_exact", "maybe")[0]
    assert not _run("vae_blur", 3)[0]

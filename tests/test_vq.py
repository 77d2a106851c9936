import math

import pytest
import torch

from vae_course.models import build_model
from vae_course.vq import VQVAE, VectorQuantizer, perplexity


def _quantizer(codebook, **kw):
    vq = VectorQuantizer(num_codes=codebook.shape[0], code_dim=codebook.shape[1], **kw)
    with torch.no_grad():
        vq.codebook.copy_(codebook)
    return vq


def test_nearest_code_matches_brute_force():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=32, code_dim=5)
    flat = torch.randn(500, 5) * 0.1
    expected = torch.cdist(flat, vq.codebook.detach()).argmin(1)
    assert torch.equal(vq.nearest(flat), expected)
    # a hand-made case: codes on the axes, each input next to one of them
    vq = _quantizer(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    z_e = torch.tensor([[0.9, 0.2], [0.1, -0.1], [0.2, 0.7], [0.6, 0.5]]).T.reshape(1, 2, 2, 2)
    out = vq.eval()(z_e)
    assert out.indices.reshape(-1).tolist() == [1, 0, 2, 1]
    # the forward value is exactly the chosen code
    torch.testing.assert_close(out.z_q.permute(0, 2, 3, 1).reshape(-1, 2), vq.codebook.detach()[[1, 0, 2, 1]])


def test_straight_through_gradient_and_stop_gradients():
    codebook = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    vq = _quantizer(codebook).eval()
    z_e = torch.tensor([[[[0.9]], [[0.2]]], [[[0.1]], [[0.8]]]], requires_grad=True)   # (2, 2, 1, 1)
    w = torch.tensor([[[[2.0]], [[-3.0]]], [[[0.5]], [[4.0]]]])
    out = vq(z_e)
    # straight-through: ∂(w·z_q)/∂z_e = w (the quantizer's Jacobian is taken as the identity)
    (g,) = torch.autograd.grad((w * out.z_q).sum(), z_e)
    torch.testing.assert_close(g, w)
    assert torch.autograd.grad((w * out.z_q).sum(), vq.codebook, allow_unused=True)[0] is None
    e = codebook[[1, 2]].reshape(2, 2, 1, 1)
    # commitment loss ‖z_e − sg[e]‖² reaches the encoder only: ∂/∂z_e = 2 (z_e − e) / B
    g_ze, g_cb = torch.autograd.grad(out.commitment_loss, (z_e, vq.codebook), allow_unused=True)
    torch.testing.assert_close(g_ze, (z_e.detach() - e))     # 2 (z_e − e) / B with B = 2
    assert g_cb is None
    # codebook loss ‖sg[z_e] − e‖² reaches the codebook only: ∂/∂e_k = Σ_{i→k} 2 (e_k − z_e,i) / B
    g_ze, g_cb = torch.autograd.grad(out.codebook_loss, (z_e, vq.codebook), allow_unused=True)
    assert g_ze is None
    expected = torch.zeros(3, 2)
    expected[1] = codebook[1] - torch.tensor([0.9, 0.2])
    expected[2] = codebook[2] - torch.tensor([0.1, 0.8])
    torch.testing.assert_close(g_cb, expected)
    torch.testing.assert_close(out.codebook_loss, torch.tensor(((0.1**2 + 0.2**2) + (0.1**2 + 0.2**2)) / 2))


def test_perplexity_counts_effective_codes():
    assert float(perplexity(torch.arange(8).repeat(5), 8)) == pytest.approx(8.0)
    assert float(perplexity(torch.full((40,), 3), 8)) == pytest.approx(1.0)
    idx = torch.tensor([0, 0, 1, 1])                              # two codes equally: perplexity 2
    assert float(perplexity(idx, 16)) == pytest.approx(2.0)


def test_dead_codes_are_reseeded_onto_encoder_outputs():
    torch.manual_seed(0)
    codebook = torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, 50.0]])   # codes 1, 2 never win
    vq = _quantizer(codebook, reseed_every=1).train()
    z_e = torch.randn(4, 2, 3, 3) * 0.1
    vq(z_e)
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, 2)
    assert vq.reseeded == 2
    torch.testing.assert_close(vq.codebook.detach()[0], torch.zeros(2))        # the live code stays
    for k in (1, 2):                                                             # dead ones now sit on data
        assert torch.cdist(vq.codebook.detach()[k:k + 1], flat).min() < 1e-6
    # without re-seeding nothing moves
    vq = _quantizer(codebook).train()
    vq(z_e)
    assert vq.reseeded == 0 and torch.equal(vq.codebook.detach(), codebook)


def test_vqvae_loss_terms_train_and_rebuild():
    torch.manual_seed(0)
    model = VQVAE(num_codes=16, code_dim=4, hidden=8)
    x = torch.rand(8, 1, 28, 28)
    terms = model.loss_terms(x, beta=4.0, free_bits=1.0)          # VAE keywords are accepted and ignored
    assert {"loss", "recon", "codebook", "commitment", "perplexity", "codes_used"} <= set(terms)
    torch.testing.assert_close(terms["loss"], terms["recon"] + terms["codebook"] + 0.25 * terms["commitment"])
    terms["loss"].backward()
    for name in ("encoder.0.weight", "decoder.0.weight", "quantizer.codebook"):
        assert dict(model.named_parameters())[name].grad.abs().sum() > 0, name
    assert model.reconstruct(x).shape == (8, 1, 28, 28)
    idx = model.codes(x)
    assert idx.shape == (8, 7, 7) and idx.max() < 16
    assert model.decode_indices(idx).shape == (8, 1, 28, 28)
    again = build_model(model.config)
    assert isinstance(again, VQVAE) and again.config == model.config


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_codes"):
        VectorQuantizer(num_codes=0)
    with pytest.raises(ValueError, match="reseed_every"):
        VectorQuantizer(reseed_every=0)
    with pytest.raises(ValueError, match="shape"):
        VectorQuantizer(code_dim=4)(torch.zeros(2, 3, 7, 7))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        VQVAE().loss_terms(torch.zeros(2, 28, 28))


# ----------------------------------------------------------------------------- dead codes, learned prior, VQ-VAE-2

def test_dead_codes_counts_codes_no_image_chooses():
    from vae_course.vq import dead_codes
    torch.manual_seed(0)
    model = VQVAE(num_codes=8, code_dim=4, hidden=8).eval()
    x = torch.rand(5, 1, 28, 28)
    used = set(model.codes(x).reshape(-1).tolist())
    assert dead_codes(model, x) == 8 - len(used)
    with pytest.raises(TypeError, match="model"):
        dead_codes(torch.nn.Linear(2, 2), x)


def test_code_prior_matches_counting_by_hand():
    from vae_course.vq import CodePrior
    grids = torch.tensor([[[0, 1]], [[0, 2]], [[1, 2]]])          # N=3 grids of 1×2 cells, K=3
    prior = CodePrior(grids, num_codes=3, alpha=1.0)
    # cell 0 saw codes 0,0,1 -> (2+1, 1+1, 0+1)/6; cell 1 saw 1,2,2 -> (1, 2, 3)/6
    expected = -(math.log(3 / 6) + math.log(3 / 6))             # grid [[0, 2]]
    assert prior.rate(torch.tensor([[[0, 2]]])).item() == pytest.approx(expected)
    assert prior.uniform_rate() == pytest.approx(2 * math.log(3))
    # probabilities of each cell sum to one: the rate of every possible grid, as probabilities, sums to 1
    every = torch.tensor([[[a, b]] for a in range(3) for b in range(3)])
    assert torch.exp(-prior.rate(every)).sum().item() == pytest.approx(1.0)
    draws = prior.sample(4000, generator=torch.Generator().manual_seed(0))
    assert draws.shape == (4000, 1, 2)
    assert (draws[:, 0, 0] == 0).float().mean().item() == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("bad, match", [(torch.zeros(2, 3), "indices"), (torch.zeros(0, 2, 2, dtype=torch.long), "indices"),
                                        (torch.full((1, 2, 2), 5), "indices")])
def test_code_prior_rejects_bad_grids(bad, match):
    from vae_course.vq import CodePrior
    with pytest.raises(ValueError, match=match):
        CodePrior(bad, num_codes=4)
    with pytest.raises(ValueError, match="alpha"):
        CodePrior(torch.zeros(1, 2, 2, dtype=torch.long), num_codes=4, alpha=float("nan"))


def test_hierarchy_levels_of_vq_vae_2():
    from vae_course.vq import hierarchy_levels
    bottom, top = hierarchy_levels(256, (4, 2))
    assert (bottom["level"], bottom["grid"], bottom["codes"], bottom["pixels_per_code"]) == ("bottom", 64, 4096, 4)
    assert (top["level"], top["grid"], top["codes"], top["pixels_per_code"]) == ("top", 32, 1024, 8)
    assert [lv["grid"] for lv in hierarchy_levels(1024, (8, 2, 2))] == [128, 64, 32]
    with pytest.raises(ValueError, match="image_size"):
        hierarchy_levels(30, (4, 2))
    with pytest.raises(ValueError, match="factors"):
        hierarchy_levels(256, (1,))


@pytest.mark.parametrize("qid, right", [("vq_loss_roles", 2), ("dead_code_gradient", 1)])
def test_vq_understanding_questions_explain_every_wrong_option(qid, right):
    from vae_course.checks import get
    (check,) = get(qid).checks
    assert check.test(right) is True
    hints = {k: check.test(k) for k in (1, 2, 3, 4) if k != right}
    assert all(isinstance(h, str) and len(h) > 40 for h in hints.values()) and len(set(hints.values())) == 3
    assert check.test(str(right)) is True                  # "2" names option 2
    for bad in (True, 2.0, "two", 0, 5):
        assert "option number" in check.test(bad)


def test_a_never_chosen_code_gets_no_gradient():
    """The fact behind exercise 09's predict-then-measure question, measured independently here."""
    vq = _quantizer(torch.tensor([[0.0, 0.0], [1.0, 1.0], [9.0, 9.0]]))
    z_e = (torch.rand(4, 2, 2, 2, generator=torch.Generator().manual_seed(1)) - 0.2).requires_grad_()
    out = vq(z_e)
    ((out.z_q ** 2).sum() + out.codebook_loss + 0.25 * out.commitment_loss).backward()
    assert 2 not in out.indices.unique().tolist()
    assert float(vq.codebook.grad[2].abs().sum()) == 0.0 and float(vq.codebook.grad[:2].abs().sum()) > 0


def test_vq_rate_check_the_fixed_and_a_students_numbers():
    """Exercise 09's rate: h·w·ln K nats for an h×w grid of K codes; bits and a single cell are named."""
    from vae_course import variants
    from vae_course.checks import get, params

    def run(answer):
        return [c.test(answer) for c in get("vq_rate").checks]

    assert dict(params("vq_rate", None)) == {"h": 6, "w": 6, "K": 512}
    assert run(36 * math.log(512)) == [True] and run(324 * math.log(2)) == [True]
    assert "bits" in run(324.0)[0] and "one cell" in run(math.log(512))[0]
    assert run(49 * math.log(128)) == [False]                            # the lecture's 7×7 grid of 128 codes
    v = params("vq_rate", "alice")
    assert (v.h, v.w) != (7, 7) and v.K != 128 and v.h * v.w * math.log2(v.K) != 324
    with variants.of("alice"):
        assert run(v.h * v.w * math.log(v.K)) == [True]
        assert "bits" in run(v.h * v.w * math.log2(v.K))[0]
        assert run(36 * math.log(512)) == [False]

"""Checks for exercises/09_vq_vae: nearest codes, the straight-through estimator, perplexity, the rate.

References: brute-force Python loops over the codebook, autograd Jacobians
(``torch.autograd.functional.jacobian``), NumPy histograms, and ``torch.distributions.Categorical``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.distributions import Categorical

from . import Variant, as_float, call, close, fresh, multiple_choice, params, question

# ----------------------------------------------------------------------------- q1 nearest code
q = question("nearest_code", 2, "nearest_code(z, codebook): the index of the nearest codebook row for each row of z")


def _data(n=60, k=16, d=4, seed=0, spread=True):
    g = torch.Generator().manual_seed(fresh(seed))
    z = torch.randn(n, d, generator=g, dtype=torch.float64)
    # codes with very different norms: the largest dot product is then not the nearest code
    scale = torch.rand(k, 1, generator=g, dtype=torch.float64) * 3 + 0.1 if spread else 1.0
    return z, torch.randn(k, d, generator=g, dtype=torch.float64) * scale


def _brute(z, codebook):
    out = []
    for row in z.tolist():
        dists = [sum((a - b) ** 2 for a, b in zip(row, code)) for code in codebook.tolist()]
        out.append(min(range(len(dists)), key=dists.__getitem__))
    return out


@q.check("returns N integer indices that match a brute-force search over the codebook")
def _(nc):
    z, cb = _data()
    idx = call(nc, z, cb)
    if not isinstance(idx, torch.Tensor) or tuple(idx.shape) != (z.shape[0],):
        return f"expected a tensor of shape (N,) = ({z.shape[0]},)"
    if idx.is_floating_point():
        return "return integer indices (argmin gives a LongTensor)"
    got, ref = idx.tolist(), _brute(z, cb)
    if got == [max(range(len(cb)), key=lambda j: float(r @ cb[j])) for r in z]:
        return "the largest dot product is not the nearest code when codes differ in norm: minimise ‖z − e‖²"
    if got == [max(range(len(cb)), key=lambda j: float(((r - cb[j]) ** 2).sum())) for r in z]:
        return "that is the farthest code: use argmin of the distance, not argmax"
    return got == ref


@q.check("every chosen code is at least as close as every other code (other sizes, float32)",
         hint="the distance is over the code dimension: z is (N, D), codebook is (K, D), distances are (N, K)")
def _(nc):
    z, cb = (t.float() for t in _data(n=200, k=37, d=9, seed=1))
    idx = call(nc, z, cb).long()
    for i, row in enumerate(z.tolist()):
        best = min(sum((a - b) ** 2 for a, b in zip(row, code)) for code in cb.tolist())
        mine = sum((a - b) ** 2 for a, b in zip(row, cb[int(idx[i])].tolist()))
        if mine > best + 1e-4:
            return False
    return True


# ----------------------------------------------------------------------------- q2 straight-through
q = question("straight_through", 2, "straight_through(z, z_q): forward value z_q, gradient copied to z")


def _pair(seed=0):
    g = torch.Generator().manual_seed(fresh(seed))
    return torch.randn(3, 4, generator=g, dtype=torch.float64), torch.randn(3, 4, generator=g, dtype=torch.float64)


@q.check("the output's value is z_q", hint="forward: z + (z_q − z) = z_q")
def _(st):
    z, zq = _pair()
    return bool(torch.allclose(call(st, z, zq).detach(), zq, atol=1e-12))


@q.check("its Jacobian with respect to z is the identity (autograd)",
         hint="detach the difference (z_q − z), so that only the z term carries a gradient")
def _(st):
    z, zq = _pair(1)
    jac = torch.autograd.functional.jacobian(lambda a: call(st, a, zq), z)
    return bool(torch.allclose(jac.reshape(12, 12), torch.eye(12, dtype=torch.float64)))


@q.check("no gradient flows into z_q through it",
         hint="z_q gets its gradient from the codebook loss, not through the straight-through path: detach (z_q − z)")
def _(st):
    z, zq = _pair(2)
    z.requires_grad_()
    zq = zq.clone().requires_grad_()
    call(st, z, zq).sum().backward()
    return zq.grad is None or bool((zq.grad == 0).all())


# ----------------------------------------------------------------------------- q3 perplexity
q = question("perplexity_code", 2, "perplexity(indices, K): exp of the entropy of the code-usage histogram")


def _np_perplexity(indices: np.ndarray, k: int) -> float:
    p = np.bincount(indices.ravel(), minlength=k) / indices.size
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


@q.check("uniform usage of K codes gives K; a single code gives 1")
def _(pp):
    uniform = torch.arange(64).repeat(10)
    single = torch.full((100,), 5, dtype=torch.long)
    got_u, got_1 = as_float(call(pp, uniform, 64)), as_float(call(pp, single, 64))
    if close(got_u, math.log(64)):
        return "that is the entropy: the perplexity is exp(entropy)"
    if not math.isfinite(got_1):
        return "unused codes have p = 0 and contribute 0·log 0 = 0: leave them out (or use torch.special.xlogy)"
    return close(got_u, 64) and close(got_1, 1)


@q.check("matches NumPy on random code grids", hint="p_k = count_k / number of indices; perplexity = exp(−Σ p_k log p_k)")
def _(pp):
    rng = np.random.default_rng(fresh(0))
    for k, shape, probs in ((16, (8, 7, 7), None), (64, (4, 7, 7), rng.dirichlet(np.full(64, 0.3)))):
        idx = rng.choice(k, size=shape, p=probs)
        got = as_float(call(pp, torch.as_tensor(idx), k))
        if close(got, len(np.unique(idx))) and not close(got, _np_perplexity(idx, k)):
            return "that is the number of codes used; perplexity weighs them by how often they are used"
        if not close(got, _np_perplexity(idx, k)):
            return False
    return True


# ----------------------------------------------------------------------------- q4 rate

def _draw_vq_rate(d) -> dict:
    """An h×w grid (3 to 12 cells a side, never the lecture's 7×7) and K = 2^a codes (16 to 4096, never the
    lecture's 128): nats and bits always differ, and so do one cell and the grid (h·w > 1). Never the default's
    rate (6·6·log₂ 512 = 324 bits), so the answer of exercises/ is wrong for every student."""
    while True:
        h, w = d.integer(3, 12), d.integer(3, 12)
        bits_per_cell = d.choice([4, 5, 6, 8, 9, 10, 11, 12])
        if (h, w) != (7, 7) and h * w * bits_per_cell != 6 * 6 * 9:
            return {"h": h, "w": w, "K": 2 ** bits_per_cell}


q = question("vq_rate", 1, "the rate of your grid of codes under a uniform prior over your K codes, in nats",
             variant=Variant({"h": 6, "w": 6, "K": 512}, _draw_vq_rate))


@q.check("−log p(grid) under a uniform categorical prior",
         hint="each cell of the grid costs log K nats")
def _(answer):
    v = params("vq_rate")
    got = as_float(answer)
    cells = v.h * v.w
    grid = torch.randint(0, v.K, (cells,), generator=torch.Generator().manual_seed(0))
    ref = float(-Categorical(logits=torch.zeros(v.K, dtype=torch.float64)).log_prob(grid).sum())
    if close(got, cells * math.log2(v.K)):
        return f"that is in bits: in nats it is {v.h}·{v.w}·ln {v.K}"
    if close(got, math.log(v.K)):
        return f"that is one cell: the grid has {v.h}·{v.w} of them"
    return close(got, ref)


# ----------------------------------------------------------------------------- q5, q6: understanding, multiple choice
q = question("vq_loss_roles", 1, "what the codebook loss ‖sg[z_e] − e_k‖² trains (multiple choice)")
multiple_choice(q, 2, {
    1: "keeping the encoder near its code is the commitment loss ‖z_e − sg[e_k]‖²; here the stop-gradient sits on z_e, "
       "so the encoder gets no gradient from this loss",
    3: "the decoder is trained by the reconstruction term; the codebook loss does not involve the decoder at all",
    4: "only the chosen code e_k appears in the loss; a code no encoder output chooses gets no gradient (a dead code)",
})

q = question("dead_code_gradient", 1, "predict, then measure: the gradient a never-chosen code receives")
multiple_choice(q, 1, {
    2: "the codebook loss ‖sg[z_e] − e_k‖² only contains the chosen codes e_k: an unchosen code is not in it",
    3: "the straight-through estimator copies the decoder's gradient to z_e, the encoder output, never to the codebook",
    4: "the commitment loss has sg[e_k]: it sends no gradient to any code, chosen or not",
})

"""Checks for exercises/10_conditional_vae: style swap, what a column of the class × style grid
holds, the bound on log p(x) from a conditional ELBO, and the CVAE's extra parameters.

References: for the style swap, :func:`vae_course.conditional.style_transfer` (the class × style
grid path) on a small ConditionalVAE with fixed random weights; for the bound, the inequality
log p(x) ≥ log p(y) + log p(x|y) evaluated by brute force on a small discrete joint distribution
as well as by formula; for the parameter count, both models built and counted.
"""
from __future__ import annotations

import math

import torch

from . import Variant, as_float, call, close, multiple_choice, params, question

# ----------------------------------------------------------------------------- q1 style swap
q = question("style_swap_code", 2, "style_swap(encode, decode, x, y, new_y): encode with the own label, decode with new_y")


def _setup(seed: int = 0, n: int = 6):
    from ..models import ConditionalVAE
    torch.manual_seed(seed)
    model = ConditionalVAE(2, hidden=(32,)).eval()
    g = torch.Generator().manual_seed(seed + 1)
    x = (torch.rand(n, 1, 28, 28, generator=g) > 0.7).float()
    y = torch.randint(0, 10, (n,), generator=g)
    new_y = (y + 1 + torch.randint(0, 9, (n,), generator=g)) % 10          # always another label
    return model, x, y, new_y


def _reference(model, x, y, new_y) -> torch.Tensor:
    from ..conditional import style_transfer
    every = style_transfer(model, x, y)                                   # (n, 10, 1, 28, 28)
    return every[torch.arange(len(x)), new_y]


def _as_images(out, n) -> torch.Tensor:
    if not torch.is_tensor(out):
        raise TypeError(f"expected a tensor of images, got {type(out).__name__}")
    out = out.detach().cpu().float()
    if out.shape != (n, 1, 28, 28):
        raise TypeError(f"expected images of shape ({n}, 1, 28, 28), got {tuple(out.shape)}")
    return out


@q.check("matches encoding with the own label (μ of q(z|x, y)) and decoding with the new one",
         hint="z = μ of q_φ(z|x, y) with the digit's own label y; images = sigmoid(decode(z, new_y))")
def _(style_swap):
    model, x, y, new_y = _setup()
    out = _as_images(call(style_swap, model.encode, model.decode, x, y, new_y), len(x))
    with torch.no_grad():
        mu_new, _ = model.encode(x, new_y)
        wrong_label = torch.sigmoid(model.decode(mu_new, new_y))
        logits = model.decode(model.encode(x, y)[0], new_y)
    if torch.allclose(out, wrong_label, atol=1e-5):
        return "you encoded with the new label: q_φ(z|x, y) needs the digit's true label, only the decoder gets new_y"
    if torch.allclose(out, logits, atol=1e-5):
        return "these are logits: return images in [0, 1] (sigmoid of the decoder's output)"
    return bool(torch.allclose(out, _reference(model, x, y, new_y), atol=1e-5))


@q.check("uses the mean μ, not a random draw (the same answer twice)",
         hint="a draw z = μ + σ·ε changes every call; take μ (the first output of encode)")
def _(style_swap):
    model, x, y, new_y = _setup(seed=3)
    a = _as_images(call(style_swap, model.encode, model.decode, x, y, new_y), len(x))
    b = _as_images(call(style_swap, model.encode, model.decode, x, y, new_y), len(x))
    return bool(torch.equal(a, b)) and bool(torch.allclose(a, _reference(model, x, y, new_y), atol=1e-5))


# ----------------------------------------------------------------------------- q2 what a column holds
q = question("grid_column", 1, "the class × style grid: what stays the same down a column?")

#: option → why it is wrong (None for the right one)
GRID_OPTIONS = {
    "A": "no: z is not a random seed that is thrown away. The same z was decoded each time, and the decoder "
         "p(x|z, y) is a smooth function of z: the same z gives related images.",
    "B": None,
    "C": "no, that swaps the roles: the label y is an input that decides the class (rows change class); z is what "
         "the label does not say: the handwriting style.",
    "D": "no: the class changes down a column, so the pixels must change; what is kept is the style (stroke weight, "
         "slant, width), not the image.",
}


multiple_choice(q, "B", {k: v for k, v in GRID_OPTIONS.items() if v is not None},
                name="the style (what the label does not say) stays the same")


# ----------------------------------------------------------------------------- q3 bound on log p(x)

#: the lecture's test ELBOs (-138.53, -155.66) and bound (-140.83), rounded both ways, and the old default -140
_LECTURE_ELBOS = {-138, -139, -140, -141, -155, -156}


def _draw_bound(d) -> dict:
    """A conditional ELBO of -80 to -190 nats (never the lecture's) and C equally frequent classes, never the
    lecture's 10 (so log C is never log 10): C > 1, so ln C, log₂ C and log₁₀ C always differ, and so do ±ln C.
    No two C have ln C₁ − ln C₂ within 0.06 of a whole number, so two different draws' answers differ by ≥ 0.06."""
    while True:
        elbo = -d.integer(80, 190)
        classes = d.choice([2, 3, 4, 5, 12, 16, 20, 26, 47, 50])
        if elbo not in _LECTURE_ELBOS and (elbo, classes) != (-118, 26):
            return {"elbo": elbo, "C": classes}


q = question("bound_log_px", 2, "a lower bound on log p(x) from your CVAE's ELBO and your p(y) = 1/C",
             variant=Variant({"elbo": -118, "C": 26}, _draw_bound))


def _brute_force_gap(classes: int) -> float:
    """On a random discrete joint p(x, y) (20 x-values, ``classes`` labels, p(y) uniform): the smallest value of
    log p(x) - [log p(x|y) + log p(y)] over all (x, y); it is ≥ 0, i.e. log p(x) ≥ log p(y) + log p(x|y)."""
    g = torch.Generator().manual_seed(0)
    p_x_given_y = torch.rand(classes, 20, generator=g, dtype=torch.float64)
    p_x_given_y /= p_x_given_y.sum(1, keepdim=True)
    p_y = torch.full((classes, 1), 1 / classes, dtype=torch.float64)
    p_x = (p_y * p_x_given_y).sum(0, keepdim=True)
    return float((p_x.log() - (p_x_given_y.log() + p_y.log())).min())


@q.check("log p(x) ≥ log p(y) + ELBO(x|y) with p(y) = 1/C",
         hint="p(x) = Σ_y' p(y') p(x|y') ≥ p(y) p(x|y): add log p(y) = log(1/C) to the conditional bound")
def _(answer):
    v = params("bound_log_px")
    a = as_float(answer)
    if _brute_force_gap(v.C) < 0:                                      # the inequality the answer rests on
        raise AssertionError("reference failed")
    log_py = float(torch.distributions.Categorical(probs=torch.full((v.C,), 1 / v.C, dtype=torch.float64))
                   .log_prob(torch.tensor(0)))                         # log p(y) of any label
    if close(a, v.elbo, rel=1e-4, abs_=1e-3):
        return f"{v.elbo} bounds log p(x|y), the image given its label; the label itself has probability 1/{v.C}"
    if close(a, v.elbo - log_py, rel=1e-4, abs_=1e-3):
        return f"wrong sign: log p(y) = log(1/{v.C}) is negative, so the bound on log p(x) is lower than {v.elbo}"
    if close(a, v.elbo - math.log2(v.C), rel=1e-4, abs_=1e-3) or close(a, v.elbo - math.log10(v.C), rel=1e-4, abs_=1e-3):
        return "the ELBO is in nats: use the natural logarithm"
    return close(a, v.elbo + log_py, rel=1e-4, abs_=1e-3)


# ----------------------------------------------------------------------------- q4 predict the extra parameters
q = question("extra_parameters", 1, "predict: how many more parameters does ConditionalVAE(2) have than MLPVAE(2)?")


@q.check("the label adds 10 inputs to the first layer of each network (784+10 → 512, 2+10 → 256)",
         hint="only the first Linear of the encoder (width 512) and of the decoder (width 256) see the one-hot label")
def _(answer):
    from ..models import ConditionalVAE, MLPVAE, count_parameters
    truth = count_parameters(ConditionalVAE(2, hidden=(512, 256))) - count_parameters(MLPVAE(2, hidden=(512, 256)))
    a = as_float(answer)
    if a == 2 * 10 * 512:
        return "the decoder's first layer is 256 wide (784-512-256-2, mirrored: 2 → 256 → 512 → 784)"
    if a == 10 * 784 or a == 10 * (784 + 2):
        return "the label is an input, not an output: it adds weights where it enters (the first layers)"
    if a == 10:
        return "each of the 10 one-hot inputs connects to every unit of the layer it enters"
    return a == truth

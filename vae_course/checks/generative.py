"""Checks for exercises/11_generative_models.

References: brute-force enumeration of all binary images (normalisation) and a loop of
``torch.distributions.Bernoulli`` conditionals for the autoregressive likelihood; autograd's
Jacobian with ``torch.linalg.slogdet`` and ``MultivariateNormal`` for the flow's change of
variables. The multiple-choice questions name the misconception behind each wrong option.
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import torch
from torch.distributions import Bernoulli, MultivariateNormal, Normal

from . import Variant, as_float, call, close, multiple_choice, params, question

# ----------------------------------------------------------------------------- q1 FVSBN log-likelihood
q = question("fvsbn_log_prob", 3, "fvsbn_log_prob(W, b, x): exact log p(x) of a fully visible sigmoid belief network")


def _params(d: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(d, d, generator=g, dtype=torch.float64),      # full: the student must mask it
            torch.randn(d, generator=g, dtype=torch.float64))


def _all_binary(d: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=d)), dtype=torch.float64)


def _reference(W, b, x, include_diagonal=False):
    """Σ_i log Bernoulli(x_i; sigmoid(b_i + Σ_{j<i} W_ij x_j)), one conditional at a time."""
    out = torch.zeros(len(x), dtype=torch.float64)
    for i in range(x.shape[1]):
        upto = i + 1 if include_diagonal else i
        logit = b[i] + (x[:, :upto] * W[i, :upto]).sum(1)
        out += Bernoulli(logits=logit).log_prob(x[:, i])
    return out


def _student(fn, W, b, x):
    return torch.as_tensor(call(fn, W.clone(), b.clone(), x.clone()), dtype=torch.float64).detach().flatten()


@q.check("returns one log-probability per image, shape (B,)")
def _(fn):
    W, b = _params(4, 0)
    x = _all_binary(4)
    return _student(fn, W, b, x).shape == (len(x),)


@q.check("the probabilities of all 2^d images sum to 1 (d = 5, any W)",
         hint="logit i may use only the pixels before it: Σ_{j<i} W_ij x_j (mask W to its strictly lower triangle)")
def _(fn):
    W, b = _params(5, 1)
    x = _all_binary(5)
    logp = _student(fn, W, b, x)
    return bool(abs(float(torch.logsumexp(logp, 0))) < 1e-6)


@q.check("agrees with the chain rule computed one conditional at a time")
def _(fn):
    W, b = _params(6, 2)
    x = _all_binary(6)[::3]
    got = _student(fn, W, b, x)
    if torch.allclose(got, _reference(W, b, x, include_diagonal=True), atol=1e-6):
        return "you included the diagonal W_ii x_i: pixel i may not see itself (j < i, not j ≤ i)"
    if torch.allclose(got, -_reference(W, b, x), atol=1e-6):
        return "that is the negative log-likelihood; return log p(x)"
    return bool(torch.allclose(got, _reference(W, b, x), atol=1e-6))


# ----------------------------------------------------------------------------- q2 change of variables

def _signed_term(coef: float) -> str:
    """``+ 0.3\\,x_1`` or ``- 0.3\\,x_1``: the shift b·x₁ as the question's formula shows it."""
    return f"{'-' if coef < 0 else '+'} {abs(coef):g}\\,x_1"


def _flow_numbers(a: float, b: float, x1: float, x2: float) -> dict:
    return {"a": a, "b": b, "b_term": _signed_term(b), "x": (x1, x2)}


def _log_normal(*values: float) -> float:
    return sum(-0.5 * v * v - 0.5 * math.log(2 * math.pi) for v in values)


#: the fixed variant (exercises/): a, b, x₁, x₂
_FLOW_DEFAULT = (0.8, 0.3, 0.5, -1.0)


def _flow_by_hand(a: float, b: float, x1: float, x2: float) -> float:
    """Only to keep the draws apart (flipping the signs of a, b, x₁, or of b, x₂, gives the same answer)."""
    return _log_normal(x1, x2 * math.exp(a * x1) + b * x1) + a * x1


def _draw_flow(d) -> dict:
    """a, b in ±{0.2, 0.3, …, 0.9} and ±{0.1, …, 0.5}, x in ±{0.5, 1, 1.5}²: the stretch e^{a·x₁} is never 1 (a·x₁ ≠ 0,
    and it may squeeze as well as stretch), and the right answer stays away from every named mistake."""
    while True:
        a = d.choice([s * k / 10 for k in range(2, 10) for s in (1, -1)])
        b = d.choice([s * k / 10 for k in (1, 2, 3, 4, 5) for s in (1, -1)])
        x1, x2 = d.choice([-1.5, -1.0, -0.5, 0.5, 1.0, 1.5]), d.choice([-1.5, -1.0, -0.5, 0.5, 1.0, 1.5])
        right = _flow_by_hand(a, b, x1, x2)
        if abs(right - _log_normal(x1, x2)) > 0.05 and abs(right - _flow_by_hand(*_FLOW_DEFAULT)) > 0.01:
            return _flow_numbers(a, b, x1, x2)      # nor the default's answer, up to sign flips


q = question("flow_log_prob", 2, "log p(x) at your x for the coupling flow z = (x₁, x₂·exp(a·x₁) + b·x₁)",
             variant=Variant(_flow_numbers(*_FLOW_DEFAULT), _draw_flow))


def _f(x, a: float, b: float):
    return torch.stack([x[0], x[1] * torch.exp(a * x[0]) + b * x[0]])


@lru_cache(maxsize=None)
def _flow_parts(a: float, b: float, x1: float, x2: float):
    x = torch.tensor((x1, x2), dtype=torch.float64)
    z = _f(x, a, b)
    log_det = float(torch.linalg.slogdet(torch.autograd.functional.jacobian(lambda t: _f(t, a, b), x)).logabsdet)
    log_base = float(MultivariateNormal(torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)).log_prob(z))
    return log_base, log_det, float(Normal(0.0, 1.0).log_prob(x).sum())


@q.check("log N(f(x); 0, I) + log |det ∂f/∂x| (Jacobian by autograd)")
def _(answer):
    v = params("flow_log_prob")
    log_base, log_det, log_x = _flow_parts(v.a, v.b, *v.x)
    got = as_float(answer)
    if close(got, log_base, rel=1e-4):
        return f"you have log N(f(x); 0, I) only: add log |det ∂f/∂x| (here {v.a:g}·x₁)"
    if close(got, log_base - log_det, rel=1e-4):
        return "the log-determinant of ∂f/∂x (f: data → latent) is added, not subtracted"
    if close(got, log_x, rel=1e-4):
        return "that is the base density at x itself; evaluate it at z = f(x) and add the log-determinant"
    return close(got, log_base + log_det, rel=1e-4)


# ----------------------------------------------------------------------------- multiple choice

q = question("flow_no_compression", 2, "why a RealNVP flow for MNIST cannot have a 16-dimensional z")
_FLOW_FEEDBACK = {
    "a": True,
    "b": "speed is not the obstacle: a coupling layer costs about as much as an MLP layer. A map from 784 to 16 "
         "numbers cannot be inverted, so no density on x can be computed by change of variables",
    "c": "a flow has no KL term and no encoder distribution: it is trained by the exact log-likelihood",
    "d": "no number of layers helps: every layer is a bijection, so each keeps the dimension, and so does their composition",
}


multiple_choice(q, "a", {k: v for k, v in _FLOW_FEEDBACK.items() if v is not True}, name="the right reason",
                hint="think about what the change-of-variables formula needs")


q = question("vae_blur", 2, "why the means a VAE decodes look blurry")
_BLUR_FEEDBACK = {
    "a": "the noise σ⊙ε is added to z, not to the image; the decoder's output for a given z is deterministic",
    "b": "a bigger decoder does not remove it: with pixels independent given z, the best probability for a pixel "
         "z leaves open is still an average over the possible images",
    "c": True,
    "d": "a bound is not the cause: diffusion models also maximise a variational bound and their samples are sharp",
}


multiple_choice(q, "c", {k: v for k, v in _BLUR_FEEDBACK.items() if v is not True}, name="the right explanation",
                hint="what is the best per-pixel probability when z leaves a stroke's position open?")


q = question("bound_vs_exact", 2, "-ELBO 100, -IWAE 95, exact autoregressive NLL 97: who gives x the higher probability?")
_BOUND_FEEDBACK = {
    "vae": True,
    "ar": "an exact number does not beat a bound by being exact: -log p_VAE(x) ≤ -L_k = 95 < 97",
    "undetermined": "the bound goes the right way here: -log p_VAE(x) ≤ 95, which is already below the "
                    "autoregressive model's 97",
}


@q.check("the right model", hint="-log p(x) ≤ -L_k ≤ -ELBO for the VAE")
def _(answer):
    if answer is None or answer is Ellipsis:
        raise TypeError("no answer yet")
    if not isinstance(answer, str) or answer.strip().lower() not in _BOUND_FEEDBACK:
        raise ValueError(f"answer 'vae', 'ar' or 'undetermined'; got {answer!r}")
    return _BOUND_FEEDBACK[answer.strip().lower()]

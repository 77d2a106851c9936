"""The drill generator: reproducible from a seed, one independent random stream per drill."""
from __future__ import annotations

import random

from .concept import concept
from .core import Drill
from .discrete import discrete
from .gaussian import diagonal, reverse, standard_normal, two_gaussians, vae_batch

__all__ = ["KINDS", "KIND_LABELS", "DIFFICULTIES", "MAX_N", "make_drill", "generate", "homework_drill"]

#: kind name -> maker(rng, hard, unit) (in the order of the issue)
KINDS = {
    "kl_standard_normal": standard_normal,   # KL(N(μ,σ²)‖N(0,1)), the homework's kind
    "kl_reverse": reverse,                   # KL(N(0,1)‖N(μ,σ²))
    "kl_two_gaussians": two_gaussians,       # KL(N(μ₁,σ₁²)‖N(μ₂,σ₂²))
    "kl_diagonal": diagonal,                 # KL(N(μ, diag σ²)‖N(0,I)), d = 2..5
    "discrete": discrete,                    # H(p), H(p,q), KL(p‖q) of small distributions
    "vae_batch": vae_batch,                  # the KL term of a VAE loss on a tiny batch
    "concept": concept,                      # larger direction, symmetry, zero, limits
}
DIFFICULTIES = ("easy", "hard", "mixed")
#: the most drills one call may ask for (each takes milliseconds of SymPy; a larger n is refused at once)
MAX_N = 10_000
#: short human-readable names (widget, exam sheet)
KIND_LABELS = {
    "kl_standard_normal": "KL(N(μ,σ²) ‖ N(0,1))",
    "kl_reverse": "KL(N(0,1) ‖ N(μ,σ²))",
    "kl_two_gaussians": "KL between two Gaussians",
    "kl_diagonal": "diagonal Gaussian vs N(0,I)",
    "discrete": "entropy / cross-entropy / KL (discrete)",
    "vae_batch": "VAE loss KL term (batch)",
    "concept": "concept checks",
}


def _check_kinds(kinds) -> list[str]:
    if kinds is None:
        return list(KINDS)
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    kinds = list(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown drill kind(s) {unknown or kinds!r}; choose from {', '.join(KINDS)}")
    return kinds


def make_drill(seed: int, index: int, kinds=None, difficulty: str = "mixed") -> Drill:
    """Drill number ``index`` of the stream ``seed``: the same drill whatever n is asked for."""
    kinds = _check_kinds(kinds)
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    rng = random.Random(f"vae-course-drill/{seed}/{index}")
    kind = rng.choice(kinds)
    hard = rng.random() < 0.5 if difficulty == "mixed" else difficulty == "hard"
    unit = "bits" if hard and rng.random() < 0.25 else "nats"
    drill = KINDS[kind](rng, hard, unit)
    drill.id = f"{seed}-{index}"
    return drill


def check_n_and_seed(n, seed) -> None:
    """``ValueError`` naming the argument unless ``n`` is a whole number in 0…:data:`MAX_N` and ``seed`` an integer
    (the drills' and the mock exam's arguments)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if n > MAX_N:
        raise ValueError(f"n must be at most {MAX_N:,} (got {n:,}); ask for several batches with different seeds")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")


def generate(n: int, seed: int = 0, kinds=None, difficulty: str = "mixed") -> list[Drill]:
    """``n`` drills from the stream ``seed`` (the CLI prints the same ones for the same seed).

    ``kinds``: a list (or comma-separated string) of names from :data:`KINDS`; None = all.
    ``difficulty``: 'easy', 'hard' or 'mixed'. ``n`` is at most :data:`MAX_N`.
    """
    check_n_and_seed(n, seed)
    kinds = _check_kinds(kinds)
    return [make_drill(seed, i, kinds, difficulty) for i in range(n)]


def homework_drill(unit: str = "nats") -> Drill:
    """Lecture 01's homework as a drill: KL(N(6, 4²) ‖ N(0, 1)) (≈ 24.1137 nats)."""
    if unit not in ("nats", "bits"):
        raise ValueError(f"unit must be 'nats' or 'bits', got {unit!r}")
    drill = standard_normal(random.Random(0), False, unit, mu=6, sigma=4)
    drill.id = "homework"
    return drill

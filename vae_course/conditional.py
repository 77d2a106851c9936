"""What lecture 10 measures on a conditional VAE (and on an unconditional one, for comparison).

* :func:`encode_codes`: μ of q_φ(z|x) or, given labels, of q_φ(z|x, y), for a whole data set.
* :func:`class_style_grid`: the same codes z decoded with every class: p_θ(x|z, y) for all (y, z).
* :func:`style_transfer`: encode images with their own labels, decode with every label.
* :func:`fit_linear_probe`, :func:`probe_accuracy`: multinomial logistic regression (a linear
  classifier) on features: "how much of the class can a linear read-out find in z?", and a
  pixel classifier that judges which digit a generated image shows.
* :func:`ink_correlation`: does a code keep its style (here: how much ink) across classes?
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from .latent import model_device

__all__ = ["encode_codes", "class_style_grid", "style_transfer", "LinearProbe", "fit_linear_probe",
           "probe_accuracy", "ink_correlation"]


def _check_conditional(model) -> int:
    n = getattr(model, "n_classes", None)
    if isinstance(n, bool) or not isinstance(n, int) or n < 2 or not hasattr(model, "decode"):
        raise ValueError(f"this needs a conditional model with n_classes and decode(z, y) "
                         f"(e.g. vae_course.models.ConditionalVAE), got {type(model).__name__}")
    return n


def _check_batch(x, name: str = "x") -> torch.Tensor:
    if not torch.is_tensor(x) or x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{name} must be a (N, 1, 28, 28) tensor of images, got {getattr(x, 'shape', type(x).__name__)}")
    return x


@contextmanager
def _eval(model):
    """The model in eval mode without gradients inside the block; its training mode restored after."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was)


def encode_codes(model, x: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 500) -> torch.Tensor:
    """μ of q_φ(z|x) (``y`` None) or of q_φ(z|x, y) (a conditional model), (N, latent_dim) on the CPU."""
    _check_batch(x)
    if y is not None:
        _check_conditional(model)
        if not torch.is_tensor(y) or y.shape != (len(x),):
            raise ValueError(f"y must be a tensor of {len(x)} labels, got {getattr(y, 'shape', type(y).__name__)}")
    device = model_device(model)
    out = []
    with _eval(model):
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size].to(device)
            code = model.encode(xb) if y is None else model.encode(xb, y[start:start + batch_size])
            out.append((code[0] if isinstance(code, (tuple, list)) else code).float().cpu())
    return torch.cat(out) if out else torch.empty(0, model.latent_dim)


def class_style_grid(model, z: torch.Tensor, classes=None) -> torch.Tensor:
    """Images in [0, 1] of shape (n_rows, n_z, 1, 28, 28): row r decodes every code of ``z``
    (n_z, latent_dim) with label ``classes[r]`` (default: all classes 0..n_classes-1), i.e. the
    means of p_θ(x|z_j, y_r). Down a column the code is fixed and only the label changes."""
    n = _check_conditional(model)
    classes = list(range(n)) if classes is None else [int(c) for c in classes]
    if not classes or min(classes) < 0 or max(classes) >= n:
        raise ValueError(f"classes must be labels between 0 and {n - 1}, got {classes!r}")
    if not torch.is_tensor(z) or z.ndim != 2 or z.shape[1] != model.latent_dim or len(z) == 0:
        raise ValueError(f"z must be a (n, {model.latent_dim}) tensor of codes, got {getattr(z, 'shape', type(z).__name__)}")
    device = model_device(model)
    zz = z.float().to(device).repeat(len(classes), 1)                              # row-major: class, then code
    yy = torch.tensor(classes, device=device).repeat_interleave(len(z))
    with _eval(model):
        images = torch.sigmoid(model.decode(zz, yy)).float().cpu()
    return images.view(len(classes), len(z), 1, 28, 28)


def style_transfer(model, x: torch.Tensor, y: torch.Tensor, classes=None) -> torch.Tensor:
    """(N, n_classes, 1, 28, 28): each image x_i encoded with its own label (μ of q_φ(z|x_i, y_i))
    and decoded with every label: entry [i, k] is the mean of p_θ(x | μ_i, k)."""
    codes = encode_codes(model, _check_batch(x), y)
    return class_style_grid(model, codes, classes).transpose(0, 1).contiguous()


class LinearProbe(torch.nn.Module):
    """Multinomial logistic regression p(y|f) = softmax(W·standardise(f) + b) on feature vectors f."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, n_classes: int):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.linear = torch.nn.Linear(len(mean), n_classes)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes)."""
        return self.linear((f.flatten(1).float() - self.mean) / self.std)

    @torch.no_grad()
    def predict(self, f: torch.Tensor) -> torch.Tensor:
        """The most probable class of each row."""
        return self(f.to(self.mean.device)).argmax(1)

    @torch.no_grad()
    def accuracy(self, f: torch.Tensor, y: torch.Tensor) -> float:
        """Fraction of rows whose predicted class is y."""
        return float((self.predict(f).cpu() == y.cpu()).float().mean())


def _check_features(f, y, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not torch.is_tensor(f) or f.ndim < 2 or len(f) == 0:
        raise ValueError(f"{name} features must be a non-empty tensor (N, ...), got {getattr(f, 'shape', type(f).__name__)}")
    if not torch.is_tensor(y) or y.shape != (len(f),) or y.is_floating_point():
        raise ValueError(f"{name} labels must be an integer tensor of {len(f)} labels, got {getattr(y, 'shape', type(y).__name__)}")
    f = f.detach().flatten(1).float().cpu()
    if not torch.isfinite(f).all():
        raise ValueError(f"{name} features contain NaN or infinite values")
    return f, y.detach().long().cpu()


def fit_linear_probe(features: torch.Tensor, labels: torch.Tensor, n_classes: int = 10, *, weight_decay: float = 1e-3,
                     steps: int = 100) -> LinearProbe:
    """Fit a :class:`LinearProbe` by full-batch L-BFGS on the mean cross-entropy
    −(1/N) Σ_i log softmax(W f_i + b)[y_i] + weight_decay·‖W‖² (features standardised with their
    training mean and standard deviation). Deterministic: zero initial weights, no sampling."""
    f, y = _check_features(features, labels, "training")
    if int(y.min()) < 0 or int(y.max()) >= n_classes:
        raise ValueError(f"labels must be between 0 and {n_classes - 1}")
    probe = LinearProbe(f.mean(0), f.std(0).clamp_min(1e-6), n_classes)
    torch.nn.init.zeros_(probe.linear.weight)
    torch.nn.init.zeros_(probe.linear.bias)
    opt = torch.optim.LBFGS(probe.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-6, tolerance_change=1e-9, history_size=20)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(probe(f), y) + weight_decay * probe.linear.weight.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return probe.eval()


def probe_accuracy(train_features: torch.Tensor, train_labels: torch.Tensor, test_features: torch.Tensor,
                   test_labels: torch.Tensor, n_classes: int = 10, **kw) -> float:
    """Test accuracy of a :func:`fit_linear_probe` trained on the training features: how much of
    the label a linear classifier can read from the features (chance: about 1/n_classes)."""
    f, y = _check_features(test_features, test_labels, "test")
    return fit_linear_probe(train_features, train_labels, n_classes, **kw).accuracy(f, y)


def ink_correlation(grid: torch.Tensor) -> float:
    """Mean Pearson correlation, over all pairs of rows of a (rows, columns, ...) grid of images, of
    the images' total ink (sum of pixel values) across the columns.

    For :func:`class_style_grid` (rows = classes, columns = codes): near 1 when a code that draws
    a heavy digit in one class draws heavy digits in every class (the code holds the style), near
    0 when ink in one class says nothing about ink in another.
    """
    if not torch.is_tensor(grid) or grid.ndim < 3 or grid.shape[0] < 2 or grid.shape[1] < 3:
        raise ValueError(f"grid must be (rows ≥ 2, columns ≥ 3, ...) images, got {getattr(grid, 'shape', type(grid).__name__)}")
    ink = grid.detach().flatten(2).double().sum(2)                       # (rows, columns)
    ink = ink - ink.mean(1, keepdim=True)
    norm = ink.norm(dim=1, keepdim=True)
    if (norm == 0).any():
        raise ValueError("a row of the grid has the same ink in every column: its correlation is undefined")
    corr = (ink / norm) @ (ink / norm).T
    r = len(corr)
    return float((corr.sum() - corr.diagonal().sum()) / (r * (r - 1)))

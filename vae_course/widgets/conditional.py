"""Lecture 10's conditional sliders: pick the class y with a toggle, move the code z with sliders,
and watch p_θ(x|z, y) of a conditional VAE change live.

* :class:`ConditionalExplorer`: a class toggle, one slider per latent dimension, the decoded digit
  for (z, y), and a row with the same z decoded under every class (style held, class changed).

It reuses lecture 06's explorer machinery (:mod:`vae_course.widgets.latent`): the same sliders,
validation, throttling, error messages in a status line, and PNG images without matplotlib. One
update decodes the code once per class in a single batch (n_classes rows) and encodes two PNGs.
Timed by ``python -m vae_course.bench slider`` (``conditional_median_ms``, ``conditional_p95_ms``).

CSS classes, for browser tests, in the style of the other explorers: the explorer
``latent-explorer`` and ``latent-explorer-conditional``; the class toggle ``latent-class``; latent
sliders ``latent-slider`` (and ``latent-slider-0``, ...); the decoded digit ``latent-decoded``;
the row of all classes ``latent-classes-row``; the readout ``latent-readout``; messages
``latent-status``; the buttons ``latent-reset`` and ``latent-prior``.
"""
from __future__ import annotations

import inspect
import math

import ipywidgets as widgets
import numpy as np
import torch

from ..latent import model_device
from ..plots import LIMIT
from .latent import _check_index, _check_z, _digit_widget, _Explorer, _single_thread, _slider, _strip, digit_png, to_uint8

__all__ = ["ConditionalExplorer"]


def _check_conditional_model(model) -> int:
    """n_classes of a conditional model with decode(z, y), or a ValueError saying what is missing."""
    n = getattr(model, "n_classes", None)
    decode = getattr(model, "decode", None)
    takes_label = False
    if callable(decode):
        try:
            params = [p for p in inspect.signature(decode).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
            takes_label = len(params) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)
        except (TypeError, ValueError):
            takes_label = False
    if isinstance(n, bool) or not isinstance(n, int) or n < 2 or not takes_label:
        raise ValueError(f"the conditional explorer needs a conditional model with an integer n_classes ≥ 2 and "
                         f"decode(z, y) (e.g. vae_course.models.ConditionalVAE); {type(model).__name__} has "
                         f"n_classes={n!r} and {'decode(z, y)' if takes_label else 'no decode(z, y)'}")
    return n


class ConditionalExplorer(_Explorer):
    """Class toggle + one slider per latent dimension for a conditional VAE: shows the mean of
    p_θ(x|z, y) for the chosen class y and code z, and the same z decoded with every class.

    ``explorer.set(z=[...], label=k)`` changes either or both from code with one redraw
    (ValueError for bad values); ``explorer.z``, ``explorer.label``; ``explorer.image`` is the
    uint8 digit on display, ``explorer.row_images`` the n_classes digits of the row.
    "reset" returns to ``z`` as given, "sample from the prior" draws z ~ N(0, I) (clipped to the
    sliders' range, and the status line says so).
    """

    MAX_DIMS = 16

    def __init__(self, model, label: int = 0, z=None, *, class_names=None, limit: float = LIMIT, seed: int = 0,
                 throttle_ms: float = 30.0, columns: int = 2):
        super().__init__(model, None, throttle_ms, "the conditional explorer")
        self.n_classes = _check_conditional_model(model)
        if self.latent_dim > self.MAX_DIMS:
            raise ValueError(f"latent_dim={self.latent_dim} would need {self.latent_dim} sliders; "
                             f"this explorer shows at most {self.MAX_DIMS}")
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit < math.inf:
            raise ValueError(f"limit must be a positive number, got {limit!r}")
        self.limit = float(limit)
        label = _check_index(label, self.n_classes, "label")
        z = np.zeros(self.latent_dim) if z is None else _check_z(z, self.latent_dim, self.limit)
        names = [str(k) for k in range(self.n_classes)] if class_names is None else [str(c) for c in class_names]
        if len(names) != self.n_classes:
            raise ValueError(f"class_names must have {self.n_classes} names (one per class), got {len(names)}")
        self.class_names = names
        self.start = z.copy()
        self._gen = torch.Generator().manual_seed(int(seed))
        self.class_toggle = widgets.ToggleButtons(options=[(name, k) for k, name in enumerate(names)], value=label,
                                                  description="class y", style={"button_width": "2.6em"})
        self.class_toggle.add_class("latent-class")
        self.sliders = [_slider(i, v, self.limit) for i, v in enumerate(z)]
        self.reset_button = widgets.Button(description="reset", icon="undo", layout=widgets.Layout(width="120px"))
        self.reset_button.add_class("latent-reset")
        self.prior_button = widgets.Button(description="sample from the prior", icon="random",
                                           layout=widgets.Layout(width="200px"))
        self.prior_button.add_class("latent-prior")
        self.digit = _digit_widget()
        self.row = widgets.Image(format="png")
        self.row.add_class("latent-classes-row")
        self.readout = widgets.HTML()
        self.readout.add_class("latent-readout")
        grid = widgets.GridBox(self.sliders, layout=widgets.Layout(
            grid_template_columns=f"repeat({max(1, int(columns))}, 260px)"))
        self.widget = widgets.VBox([
            self.class_toggle,
            widgets.HBox([widgets.VBox([widgets.HTML("decoded p<sub>θ</sub>(x|z, y)"), self.digit]),
                          widgets.VBox([grid, widgets.HBox([self.reset_button, self.prior_button])])]),
            widgets.HTML("the same z with every class y:"), self.row, self.readout, self.status])
        self.widget.add_class("latent-explorer")
        self.widget.add_class("latent-explorer-conditional")
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.class_toggle.observe(self._on_change, names="value")
        self.reset_button.on_click(lambda _: self._guard(self.reset))
        self.prior_button.on_click(lambda _: self._guard(self.sample_prior))
        self.image = None
        self.row_images = None
        self._throttle.flush(self.update)

    def _guard(self, fn) -> None:
        try:
            fn()
        except Exception as exc:  # a button: a message, never a traceback
            self.status.value = f"{self._ERROR}{type(exc).__name__}: {exc}</span>"

    @property
    def z(self) -> np.ndarray:
        return np.array([s.value for s in self.sliders])

    @property
    def label(self) -> int:
        return int(self.class_toggle.value)

    def decode_all(self, z) -> torch.Tensor:
        """Means of p_θ(x|z, y) for y = 0..n_classes-1 (n_classes, 28, 28), in [0, 1], on the CPU.

        One batch of n_classes rows on the model's device (one CPU thread, as in lecture 06's explorers).
        """
        device = model_device(self.model)
        zz = torch.as_tensor(np.asarray(z), dtype=torch.float32).reshape(1, -1).repeat(self.n_classes, 1).to(device)
        labels = torch.arange(self.n_classes, device=device)
        was_training = self.model.training
        self.model.eval()
        try:
            with _single_thread(device), torch.no_grad():
                return torch.sigmoid(self.model.decode(zz, labels)).float().cpu()[:, 0]
        except RuntimeError as exc:
            raise ValueError(f"decoding failed on the model's device {self.device}: {exc}") from exc
        finally:
            self.model.train(was_training)

    def set(self, z=None, label=None) -> None:
        """Set the code z (one value per latent dimension) and/or the class from code; one redraw."""
        values = None if z is None else _check_z(z, self.latent_dim, self.limit)
        label = None if label is None else _check_index(label, self.n_classes, "label")
        self._batch = True
        try:
            if label is not None:
                self.class_toggle.value = label
            if values is not None:
                for s, v in zip(self.sliders, values):
                    s.value = float(v)
        finally:
            self._batch = False
        self._throttle.flush(self.update)
        self.status.value = ""

    def reset(self) -> None:
        """Back to the starting code."""
        self.set(z=self.start)
        self.status.value = "reset to the starting code"

    def sample_prior(self) -> None:
        """z ~ p(z) = N(0, I), clipped to the sliders' range."""
        z = torch.randn(self.latent_dim, generator=self._gen, dtype=torch.float64).numpy()
        clipped = np.clip(z, -self.limit, self.limit)
        self.set(z=clipped)
        note = "" if np.allclose(clipped, z) else f" (clipped to the sliders' range ±{self.limit:g})"
        self.status.value = "a sample from the prior N(0, I)" + note

    def update(self) -> None:
        z, label = self.z, self.label
        images = [to_uint8(im) for im in self.decode_all(z)]
        self.image = images[label]
        self.row_images = images
        self.digit.value = digit_png(self.image)
        self.row.value = digit_png(_strip([images]), scale=2)
        self.readout.value = (f"class y = {self.class_names[label]} &nbsp; ‖z‖ = {np.linalg.norm(z):.2f} "
                              f"(a prior sample has ‖z‖ ≈ √{self.latent_dim} = {math.sqrt(self.latent_dim):.2f})")
        self.renders += 1

"""Lecture 06's latent-space explorers: sliders that move a code z and show p_θ(x|z) live.

* :class:`LatentExplorer2D`: sliders z₁, z₂; the decoded digit beside a map of the latent plane
  (encoded test digits coloured by label, contours of the prior p(z) = N(0, I)) whose marker follows z.
* :class:`LatentDimExplorer`: one slider per latent dimension, starting at the encoding μ of a
  chosen test image; "reset" and "sample from the prior" buttons.
* :class:`InterpolationExplorer`: lerp and slerp between two test images, as a strip and with a t slider.
The static figures of the same things (no kernel needed) live in :mod:`vae_course.plots`; the
slider benchmark (``python -m vae_course.bench slider``) in :mod:`vae_course.bench`.

Speed: an update decodes one z and pushes PNG bytes into ``ipywidgets.Image`` widgets. The
28×28 digit is encoded straight to PNG (upscaled by repeating pixels, no matplotlib); the map
is drawn once and only its marker is redrawn (Agg blitting). Slider events that arrive faster
than ``throttle_ms`` are coalesced: the latest value is drawn when the interval has passed.
(The ipywidgets frontend also holds back new values while the kernel is busy.)

CSS classes, for browser tests: every explorer ``latent-explorer`` (plus ``latent-explorer-2d``,
``-dims``, ``-interp``); decoded images ``latent-decoded``; latent sliders ``latent-slider``
(and ``latent-slider-0``, ``latent-slider-1``, ... by dimension); the map ``latent-map``;
the readout ``latent-readout``; messages ``latent-status``; buttons ``latent-reset``,
``latent-prior``; image pickers ``latent-index`` (``latent-index-a``, ``latent-index-b``);
the interpolation ``latent-t`` slider and ``latent-strip`` image.
"""
from __future__ import annotations

import asyncio
import io
import json
import math
import os
import statistics
import time
from typing import Callable, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image as PILImage

from ..latent import decode_images, encode_mean, lerp, model_device, slerp
from ..plots import _SUB, LIMIT, draw_latent_plane
from .base import FigureImage

__all__ = ["LatentExplorer2D", "LatentDimExplorer", "InterpolationExplorer", "digit_png", "png_to_array",
           "to_uint8"]

SCALE = 6          # a 28×28 digit is shown as 168×168 pixels
STEP = 0.05


# ----------------------------------------------------------------------------- images as PNG bytes

def to_uint8(image) -> np.ndarray:
    """A [0, 1] image (tensor or array, any leading 1-sized axes) as uint8 gray levels (H, W)."""
    a = image.detach().cpu().numpy() if torch.is_tensor(image) else np.asarray(image)
    a = np.squeeze(a)
    if a.ndim != 2:
        raise ValueError(f"expected one gray image, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def digit_png(image, scale: int = SCALE) -> bytes:
    """PNG bytes of a gray image in [0, 1], each pixel repeated ``scale``×``scale`` (crisp, ~1 ms)."""
    a = to_uint8(image)
    if scale > 1:
        a = np.repeat(np.repeat(a, scale, axis=0), scale, axis=1)
    buf = io.BytesIO()
    PILImage.fromarray(a, mode="L").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def png_to_array(png: bytes, scale: int = 1) -> np.ndarray:
    """Decode PNG bytes back to a uint8 array, taking every ``scale``-th pixel (the inverse of :func:`digit_png`)."""
    a = np.asarray(PILImage.open(io.BytesIO(png)))
    return a[::scale, ::scale]


def _digit_widget(css: str = "latent-decoded", scale: int = SCALE) -> widgets.Image:
    w = widgets.Image(format="png", width=f"{28 * scale}px", height=f"{28 * scale}px")
    w.add_class(css)
    return w


def _slider(i: int | str, value: float, limit: float, description: str | None = None) -> widgets.FloatSlider:
    s = widgets.FloatSlider(value=float(np.clip(value, -limit, limit)), min=-limit, max=limit, step=STEP,
                            description=description or f"z{str(i + 1).translate(_SUB)}", continuous_update=True,
                            readout_format=".2f", style={"description_width": "2.5em"},
                            layout=widgets.Layout(width="250px"))
    s.add_class("latent-slider")
    if isinstance(i, int):
        s.add_class(f"latent-slider-{i}")
    return s


# ----------------------------------------------------------------------------- validation

def _check_model(model, latent_dim: int | None = None, what: str = "this explorer") -> torch.device:
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "decode"):
        raise ValueError(f"{what} needs a model with decode(z) -> logits (B, 1, 28, 28), got {type(model).__name__}")
    dim = getattr(model, "latent_dim", None)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"the model has no valid latent_dim attribute (got {dim!r})")
    if latent_dim is not None and dim != latent_dim:
        raise ValueError(f"{what} needs a model with a {latent_dim}-D latent, but this model has latent_dim={dim}; "
                         f"train or load a model with latent_dim={latent_dim}")
    return model_device(model)


def _check_z(z, dim: int, limit: float) -> np.ndarray:
    """z as float64 (dim,), or a ValueError that says what is wrong."""
    if torch.is_tensor(z):
        z = z.detach().cpu().reshape(-1).tolist()
    elif isinstance(z, np.ndarray):
        z = z.reshape(-1).tolist()
    if isinstance(z, (str, bytes)) or not isinstance(z, Sequence):
        raise ValueError(f"z must be a sequence of {dim} numbers, got {z!r}")
    if len(z) != dim:
        raise ValueError(f"z must have {dim} values (one per latent dimension), got {len(z)}")
    for i, v in enumerate(z):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"z[{i}] must be a number, got {v!r}")
        if not math.isfinite(v):
            raise ValueError(f"z[{i}] must be finite, got {v!r}")
        if not -limit <= v <= limit:
            raise ValueError(f"z[{i}] = {v} is outside the sliders' range [{-limit}, {limit}]")
    return np.asarray(z, dtype=np.float64)


def _check_index(index, n: int, name: str = "index") -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {index!r}")
    if not 0 <= index < n:
        raise ValueError(f"{name} must be between 0 and {n - 1}, got {index}")
    return int(index)


def _check_images(images) -> torch.Tensor:
    if not torch.is_tensor(images) or images.ndim != 4 or images.shape[1:] != (1, 28, 28) or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, 1, 28, 28) tensor, got {getattr(images, 'shape', type(images))}")
    return images.detach().cpu()


# ----------------------------------------------------------------------------- throttling

class _single_thread:
    """Run torch on one CPU thread inside the block (restored afterwards); no-op off the CPU."""

    def __init__(self, device: torch.device):
        self.active = device.type == "cpu"

    def __enter__(self):
        if self.active:
            self.saved = torch.get_num_threads()
            if self.saved != 1:
                torch.set_num_threads(1)

    def __exit__(self, *exc):
        if self.active and self.saved != 1:
            torch.set_num_threads(self.saved)
        return False


class _Throttle:
    """Call ``fn`` at most once per ``interval_s``; a call that comes too soon is deferred to the
    end of the interval (only the latest state is drawn). Without a running event loop (plain
    Python, tests) every call runs at once."""

    def __init__(self, fn: Callable[[], None], interval_s: float):
        self.fn, self.interval = fn, float(interval_s)
        self._last = -math.inf
        self._handle = None

    def __call__(self) -> None:
        wait = self._last + self.interval - time.perf_counter()
        if wait <= 0:
            self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._handle is None:
            self._handle = loop.call_later(wait, self.flush)

    @property
    def pending(self) -> bool:
        return self._handle is not None

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def flush(self, fn: Callable[[], None] | None = None) -> None:
        """Run now (``fn`` instead of the usual function, e.g. one that raises), dropping any deferred call."""
        self.cancel()
        self._last = time.perf_counter()
        (fn or self.fn)()


class _Explorer:
    """What the explorers share: a status line, slider-driven updates that never raise into the
    widget machinery, display as the last expression of a cell."""

    def __init__(self, model, latent_dim: int | None, throttle_ms: float, what: str):
        self.model = model
        self.device = _check_model(model, latent_dim, what)
        self.latent_dim = model.latent_dim
        if isinstance(throttle_ms, bool) or not isinstance(throttle_ms, (int, float)) or not 0 <= throttle_ms < 10_000:
            raise ValueError(f"throttle_ms must be a number of milliseconds ≥ 0, got {throttle_ms!r}")
        self.status = widgets.HTML()
        self.status.add_class("latent-status")
        self._batch = False
        self._throttle = _Throttle(self._safe_update, throttle_ms / 1000.0)
        self.renders = 0

    def decode(self, z) -> torch.Tensor:
        """p_θ(x|z)'s mean image (28, 28) in [0, 1] for one code, decoded on the model's device.

        On the CPU one code is decoded with one thread: for a single 28×28 image the thread pool
        only adds waiting, and on a busy machine it makes slow outliers (p95 ~100 ms instead of ~1 ms).
        """
        try:
            with _single_thread(model_device(self.model)):
                return decode_images(self.model, torch.as_tensor(np.asarray(z), dtype=torch.float32))[0, 0]
        except RuntimeError as exc:
            raise ValueError(f"decoding failed on the model's device {self.device}: {exc}") from exc

    def _on_change(self, change=None) -> None:
        if not self._batch:
            self._throttle()

    _ERROR = "<span class='latent-error' style='color:#b00'>"

    def _safe_update(self) -> None:
        try:
            self.update()
        except Exception as exc:  # shown in the widget, never a traceback from a callback
            self.status.value = f"{self._ERROR}could not update: {type(exc).__name__}: {exc}</span>"
        else:
            if self.status.value.startswith(self._ERROR):
                self.status.value = ""

    def flush(self) -> None:
        """Draw a deferred slider update now (if one is waiting)."""
        if self._throttle.pending:
            self._throttle.flush()

    def _set_sliders(self, sliders, values) -> None:
        """Move several sliders at once, redrawing once (errors are raised: this is the path from code)."""
        self._batch = True
        try:
            for s, v in zip(sliders, values):
                s.value = float(v)
        finally:
            self._batch = False
        self._throttle.flush(self.update)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


# ----------------------------------------------------------------------------- 2-D explorer

class _LatentMap:
    """The latent plane (scatter of codes by label, prior contours) drawn once; only the marker moves."""

    def __init__(self, points: np.ndarray | None, labels: np.ndarray | None, limit: float, size: float = 3.3):
        self.figure = FigureImage(figsize=(size, size), dpi=80)
        fig = self.figure.fig
        ax = fig.add_axes([0.14, 0.12, 0.83, 0.83])
        draw_latent_plane(ax, points, labels, limit, legend=False)
        (self.marker,) = ax.plot([0.0], [0.0], marker="o", ms=11, mfc="none", mec="k", mew=2.2, animated=True)
        (self.dot,) = ax.plot([0.0], [0.0], marker="+", ms=14, color="k", mew=1.5, animated=True)
        self.ax = ax
        self.canvas = fig.canvas
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)
        self.widget = self.figure.widget
        self.widget.format = "jpeg"
        self.widget.add_class("latent-map")

    def move(self, z1: float, z2: float) -> None:
        self.canvas.restore_region(self.background)
        for artist in (self.marker, self.dot):
            artist.set_data([z1], [z2])
            self.ax.draw_artist(artist)
        rgba = np.asarray(self.canvas.buffer_rgba())
        buf = io.BytesIO()   # JPEG: ~0.5 ms and ~20 kB here, where PNG takes ~7 ms for a scatter plot
        PILImage.fromarray(rgba[..., :3]).save(buf, format="JPEG", quality=90)
        self.widget.value = buf.getvalue()
        self.figure.renders += 1


class LatentExplorer2D(_Explorer):
    """Two sliders (z₁, z₂) move a code through a 2-D latent; the decoded digit p_θ(x|z) and a
    map of the plane (``points`` — e.g. encoded test digits — coloured by ``labels``, contours
    of p(z) = N(0, I)) with a marker at z update live.

    ``explorer.set([z1, z2])`` moves it from code (ValueError for bad values); ``explorer.image``
    is the uint8 image on display, ``explorer.z`` the current code.
    """

    def __init__(self, model, points=None, labels=None, z=(0.0, 0.0), *, limit: float = LIMIT, throttle_ms: float = 30.0):
        super().__init__(model, 2, throttle_ms, "the 2-D latent explorer")
        self.limit = float(limit)
        z = _check_z(z, 2, self.limit)
        pts = None if points is None else np.asarray(torch.as_tensor(points).detach().cpu(), dtype=np.float64)
        if pts is not None and (pts.ndim != 2 or pts.shape[1] != 2):
            raise ValueError(f"points must be (N, 2) latent codes, got shape {pts.shape}")
        lab = None if labels is None else np.asarray(torch.as_tensor(labels).detach().cpu()).reshape(-1)
        if lab is not None and (pts is None or len(lab) != len(pts)):
            raise ValueError("labels need points of the same length")
        self.sliders = [_slider(i, v, self.limit) for i, v in enumerate(z)]
        self.digit = _digit_widget()
        self.map = _LatentMap(pts, lab, self.limit)
        self.readout = widgets.HTML()
        self.readout.add_class("latent-readout")
        left = widgets.VBox([*self.sliders, self.digit, self.readout])
        self.widget = widgets.VBox([widgets.HBox([left, self.map.widget]), self.status])
        self.widget.add_class("latent-explorer")
        self.widget.add_class("latent-explorer-2d")
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.image = None
        self._throttle.flush(self.update)

    @property
    def z(self) -> np.ndarray:
        return np.array([s.value for s in self.sliders])

    def set(self, z) -> None:
        """Move to z = (z₁, z₂) from code, exactly as the sliders would (one redraw)."""
        self._set_sliders(self.sliders, _check_z(z, 2, self.limit))

    def update(self) -> None:
        z = self.z
        image = to_uint8(self.decode(z))
        self.digit.value = digit_png(image)
        self.image = image
        self.map.move(*z)
        log_p = -0.5 * float(z @ z) - math.log(2 * math.pi)
        self.readout.value = (f"z = ({z[0]:+.2f}, {z[1]:+.2f}) &nbsp; ‖z‖ = {np.linalg.norm(z):.2f}"
                              f" &nbsp; log p(z) = {log_p:.2f}")
        self.status.value = ""
        self.renders += 1


# ----------------------------------------------------------------------------- one slider per dimension

class LatentDimExplorer(_Explorer):
    """One slider per latent dimension. Pick a test image (index slider): its encoding μ of
    q_φ(z|x) sets the sliders; move them and watch p_θ(x|z) change. "reset" goes back to the
    image's encoding, "sample from the prior" draws z ~ N(0, I).

    Codes beyond the sliders' range (±``limit``) are clipped, and the status line says so.
    """

    MAX_DIMS = 32

    def __init__(self, model, images, labels=None, index: int = 0, *, limit: float = LIMIT, seed: int = 0,
                 throttle_ms: float = 30.0, columns: int = 2):
        super().__init__(model, None, throttle_ms, "the per-dimension explorer")
        if self.latent_dim > self.MAX_DIMS:
            raise ValueError(f"latent_dim={self.latent_dim} would need {self.latent_dim} sliders; "
                             f"this explorer shows at most {self.MAX_DIMS}")
        if not hasattr(model, "encode"):
            raise ValueError("the per-dimension explorer needs a model with encode(x)")
        self.images = _check_images(images)
        self.labels = None if labels is None else torch.as_tensor(labels).detach().cpu().reshape(-1)
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.labels)} labels for {len(self.images)} images")
        index = _check_index(index, len(self.images))
        self.limit = float(limit)
        self._gen = torch.Generator().manual_seed(int(seed))
        self.index_slider = widgets.IntSlider(value=index, min=0, max=len(self.images) - 1, description="image",
                                              continuous_update=False, layout=widgets.Layout(width="330px"))
        self.index_slider.add_class("latent-index")
        self.sliders = [_slider(i, 0.0, self.limit) for i in range(self.latent_dim)]
        self.reset_button = widgets.Button(description="reset", icon="undo", layout=widgets.Layout(width="120px"))
        self.reset_button.add_class("latent-reset")
        self.prior_button = widgets.Button(description="sample from the prior", icon="random",
                                           layout=widgets.Layout(width="200px"))
        self.prior_button.add_class("latent-prior")
        self.original = _digit_widget("latent-original", scale=4)
        self.digit = _digit_widget()
        self.readout = widgets.HTML()
        self.readout.add_class("latent-readout")
        grid = widgets.GridBox(self.sliders, layout=widgets.Layout(
            grid_template_columns=f"repeat({max(1, int(columns))}, 260px)"))
        pictures = widgets.HBox([widgets.VBox([widgets.HTML("input x"), self.original]),
                                 widgets.VBox([widgets.HTML("decoded p<sub>θ</sub>(x|z)"), self.digit])])
        self.widget = widgets.VBox([widgets.HBox([self.index_slider, self.reset_button, self.prior_button]),
                                    widgets.HBox([pictures, grid]), self.readout, self.status])
        self.widget.add_class("latent-explorer")
        self.widget.add_class("latent-explorer-dims")
        for s in self.sliders:
            s.observe(self._on_change, names="value")
        self.index_slider.observe(lambda change: self._guard(self.select, change["new"]), names="value")
        self.reset_button.on_click(lambda _: self._guard(self.reset))
        self.prior_button.on_click(lambda _: self._guard(self.sample_prior))
        self.image = None
        self.code = None
        self.select(index)

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a button or the image picker: a message, never a traceback
            self.status.value = f"{self._ERROR}{type(exc).__name__}: {exc}</span>"

    @property
    def z(self) -> np.ndarray:
        return np.array([s.value for s in self.sliders])

    def _go(self, z: np.ndarray, what: str) -> None:
        clipped = np.clip(z, -self.limit, self.limit)
        note = ""
        if not np.allclose(clipped, z):
            dims = ", ".join(f"z{str(i + 1).translate(_SUB)}" for i in np.flatnonzero(clipped != z))
            note = f" ({dims} clipped to the sliders' range ±{self.limit:g})"
        self._set_sliders(self.sliders, clipped)
        self.status.value = what + note

    def select(self, index: int) -> None:
        """Show test image ``index`` and start from its encoding μ."""
        index = _check_index(index, len(self.images))
        x = self.images[index:index + 1]
        self.code = encode_mean(self.model, x)[0].double().numpy()
        self.original.value = digit_png(x[0, 0], scale=4)
        if self.index_slider.value != index:
            self.index_slider.value = index   # re-enters select once, harmless
            return
        label = "" if self.labels is None else f" (a {int(self.labels[index])})"
        self._go(self.code, f"start: the encoding μ of test image {index}{label}")

    def reset(self) -> None:
        """Back to the encoding of the chosen image."""
        self._go(self.code, "reset to the encoding μ")

    def sample_prior(self) -> None:
        """z ~ p(z) = N(0, I)."""
        z = torch.randn(self.latent_dim, generator=self._gen, dtype=torch.float64).numpy()
        self._go(z, "a sample from the prior N(0, I)")

    def set(self, z) -> None:
        """Set all latent values from code (ValueError for bad values), one redraw."""
        self._set_sliders(self.sliders, _check_z(z, self.latent_dim, self.limit))
        self.status.value = ""

    def update(self) -> None:
        z = self.z
        image = to_uint8(self.decode(z))
        self.digit.value = digit_png(image)
        self.image = image
        if self.code is not None:
            self.readout.value = (f"‖z‖ = {np.linalg.norm(z):.2f} (a prior sample has ‖z‖ ≈ √{self.latent_dim} = "
                                  f"{math.sqrt(self.latent_dim):.2f}); distance from the start ‖z − μ‖ = "
                                  f"{np.linalg.norm(z - self.code):.2f}")
        self.renders += 1


# ----------------------------------------------------------------------------- interpolation

def _strip(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Tile rows of uint8 28×28 images into one array with ``gap``-pixel white gaps."""
    lines = []
    for row in rows:
        cells = []
        for img in row:
            cells += [img, np.full((28, gap), 255, np.uint8)]
        lines += [np.concatenate(cells[:-1], axis=1), np.full((gap, len(row) * (28 + gap) - gap), 255, np.uint8)]
    return np.concatenate(lines[:-1], axis=0)


class InterpolationExplorer(_Explorer):
    """Between the codes μ_a, μ_b of two test images: the lerp path (1 − t)μ_a + tμ_b and the
    slerp path (constant angular speed on the great circle), as a strip of ``steps`` images and
    live at the ``t`` slider."""

    def __init__(self, model, images, a: int = 0, b: int = 1, *, steps: int = 9, throttle_ms: float = 30.0):
        super().__init__(model, None, throttle_ms, "the interpolation explorer")
        self.images = _check_images(images)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= 20:
            raise ValueError(f"steps must be an integer between 2 and 20, got {steps!r}")
        self.steps = steps
        n = len(self.images)
        self.index_a = widgets.IntSlider(value=_check_index(a, n, "a"), min=0, max=n - 1, description="image a",
                                         continuous_update=False)
        self.index_b = widgets.IntSlider(value=_check_index(b, n, "b"), min=0, max=n - 1, description="image b",
                                         continuous_update=False)
        for w, css in ((self.index_a, "latent-index-a"), (self.index_b, "latent-index-b")):
            w.add_class("latent-index")
            w.add_class(css)
        self.t_slider = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, description="t",
                                            continuous_update=True, readout_format=".2f")
        self.t_slider.add_class("latent-t")
        self.t_slider.add_class("latent-slider")
        self.digit_lerp = _digit_widget("latent-decoded")
        self.digit_lerp.add_class("latent-decoded-lerp")
        self.digit_slerp = _digit_widget("latent-decoded")
        self.digit_slerp.add_class("latent-decoded-slerp")
        self.strip = widgets.Image(format="png")
        self.strip.add_class("latent-strip")
        self.readout = widgets.HTML()
        self.readout.add_class("latent-readout")
        live = widgets.HBox([widgets.VBox([widgets.HTML("lerp"), self.digit_lerp]),
                             widgets.VBox([widgets.HTML("slerp"), self.digit_slerp])])
        self.widget = widgets.VBox([widgets.HBox([self.index_a, self.index_b]),
                                    widgets.HTML(f"strip, t = 0 … 1 in {steps} steps: top lerp, bottom slerp"),
                                    self.strip, self.t_slider, live, self.readout, self.status])
        self.widget.add_class("latent-explorer")
        self.widget.add_class("latent-explorer-interp")
        self.t_slider.observe(self._on_change, names="value")
        self.index_a.observe(self._on_index, names="value")
        self.index_b.observe(self._on_index, names="value")
        self.images_lerp = self.images_slerp = None
        self._endpoints_changed()

    def _on_index(self, change=None) -> None:
        if not self._batch:
            try:
                self._endpoints_changed()
            except Exception as exc:  # shown in the widget, never a traceback from a callback
                self.status.value = f"{self._ERROR}{type(exc).__name__}: {exc}</span>"

    def _endpoints_changed(self) -> None:
        codes = encode_mean(self.model, self.images[[self.index_a.value, self.index_b.value]]).double()
        self.z_a, self.z_b = codes[0], codes[1]
        ts = torch.linspace(0, 1, self.steps, dtype=torch.float64)
        rows = []
        for path in (lerp(self.z_a, self.z_b, ts), self._slerp(ts)):
            rows.append([to_uint8(im) for im in decode_images(self.model, path.float())])
        self.strip_images = rows
        self.strip.value = digit_png(_strip(rows), scale=2)
        self.status.value = ""
        self._throttle.flush(self.update)

    def _slerp(self, t):
        try:
            return slerp(self.z_a, self.z_b, t)
        except ValueError:   # opposite or zero codes: no great circle, show the straight line
            return lerp(self.z_a, self.z_b, t)

    def set(self, t: float | None = None, a: int | None = None, b: int | None = None) -> None:
        """Set t (in [0, 1]) and/or the two image indices from code."""
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1):
            raise ValueError(f"t must be a number in [0, 1], got {t!r}")
        n = len(self.images)
        a = None if a is None else _check_index(a, n, "a")
        b = None if b is None else _check_index(b, n, "b")
        self._batch = True
        try:
            if t is not None:
                self.t_slider.value = float(t)
            if a is not None:
                self.index_a.value = a
            if b is not None:
                self.index_b.value = b
        finally:
            self._batch = False
        self._endpoints_changed()

    def update(self) -> None:
        t = self.t_slider.value
        z_lin, z_sph = lerp(self.z_a, self.z_b, t), self._slerp(t)
        pair = decode_images(self.model, torch.stack([z_lin, z_sph]).float())
        self.images_lerp, self.images_slerp = to_uint8(pair[0]), to_uint8(pair[1])
        self.digit_lerp.value = digit_png(self.images_lerp)
        self.digit_slerp.value = digit_png(self.images_slerp)
        self.image = self.images_lerp
        self.readout.value = (f"t = {t:.2f}: ‖z‖ lerp = {z_lin.norm():.2f}, slerp = {z_sph.norm():.2f} "
                              f"(endpoints {self.z_a.norm():.2f} and {self.z_b.norm():.2f})")
        self.renders += 1

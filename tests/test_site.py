"""The static site's pieces that do not need a browser: math to MathML, the widget replacement, the latent tiles.
(The built site itself is opened offline in Chromium by tests/browser/test_site.py.)"""
import pytest
import torch

pytest.importorskip("latex2mathml", reason="the site extra is not installed (pip install -e '.[site]')")

from vae_course.site import WIDGET_MIME, _strip_widgets, _widget_notes, _with_explorer  # noqa: E402
from vae_course.site.latent_tiles import tile_sheet  # noqa: E402
from vae_course.mathml import to_mathml  # noqa: E402


def test_math_becomes_mathml_including_aligned_blocks():
    inline = to_mathml(r"\mathrm{KL}(q_\phi(z|x)\,\|\,p(z))")
    assert inline.startswith("<math") and "<msub>" in inline and 'display="inline"' in inline
    block = to_mathml(r"\begin{aligned} a &= b \\ c &= d \end{aligned}", "block")
    assert "<mtable" in block and "<mi>&</mi>" not in block and 'display="block"' in block
    assert to_mathml(r"\frac{1}{") is None            # unconvertible input is reported, not half-rendered


def _nb():
    widget = {"output_type": "display_data", "metadata": {},
              "data": {WIDGET_MIME: {"model_id": "x"}, "text/plain": "VBox(...)"}}
    return {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
        {"cell_type": "code", "metadata": {}, "source": "KLExplorer(mu1=0.0)", "outputs": [widget]},
        {"cell_type": "code", "metadata": {}, "source": "ELBOExplorer()", "outputs": [dict(widget)]},
        {"cell_type": "code", "metadata": {}, "source": "print(1)",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]},
    ]}


def test_live_widgets_are_replaced_by_a_static_explorer_or_a_note():
    nb = _nb()
    _widget_notes(nb, "KLExplorer(")
    assert _with_explorer(nb, "KLExplorer(", "<div class='static-kl-explorer'></div>")
    assert _strip_widgets(nb) == 2
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert "static-kl-explorer" in sources[2]                       # right after the KL explorer's cell
    assert sum("live widget appears here" in s for s in sources) == 1   # the ELBO explorer gets a note
    assert all(WIDGET_MIME not in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
    assert nb["cells"][-1]["outputs"][0]["text"] == "1\n"           # other outputs stay
    assert not _with_explorer(_nb(), "NoSuchExplorer(", "<div></div>")


class _Plane(torch.nn.Module):
    """A decoder whose image is bright in the top-left corner iff z₁ < 0 and z₂ > 0 (to check orientation)."""
    latent_dim = 2

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def decode(self, z):
        out = torch.full((len(z), 1, 28, 28), -20.0)
        out[:, 0, 0, 0] = torch.where((z[:, 0] < 0) & (z[:, 1] > 0), 20.0, -20.0)
        return out


def test_tile_sheet_rows_go_down_in_z2_and_columns_right_in_z1():
    sheet = tile_sheet(_Plane(), n=5, lo=-2.0, hi=2.0)
    assert sheet.shape == (140, 140) and sheet.dtype.name == "uint8"
    corners = sheet[::28, ::28]                                     # pixel (0, 0) of each tile
    assert corners[0, 0] == 255                                     # top-left: z = (−2, +2)
    assert corners[4, 4] == 0 and corners[0, 4] == 0 and corners[4, 0] == 0
    with pytest.raises(ValueError, match="2-D latent"):
        tile_sheet(torch.nn.Linear(3, 3))

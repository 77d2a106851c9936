"""Interactive widgets (ipywidgets) used by the lectures; notebook cells only call these.

Each widget owns one matplotlib figure (or a PNG image) and updates it in place on a slider
move (see :class:`FigureImage`), so moves feel immediate.

* :class:`KLExplorer` (lecture 01): two Gaussians, four sliders, both KL directions live.
* :class:`ELBOExplorer` (lecture 03): q's mean and log-variance; log p(x) = ELBO + gap.
* :class:`LatentExplorer2D`, :class:`LatentDimExplorer`, :class:`InterpolationExplorer`
  (lecture 06): sliders through a trained VAE's latent space.
* :class:`ConditionalExplorer` (lecture 10): class toggle + latent sliders for a conditional VAE.
* :class:`DrillSession` (lecture 12): exam-prep KL drills with instant feedback.
* :class:`FigureImage`: a matplotlib figure re-rendered in place into an ``ipywidgets.Image``.
"""
from .base import FigureImage
from .conditional import ConditionalExplorer
from .drills import DrillSession
from .elbo import ELBOExplorer
from .kl import KLExplorer
from .latent import InterpolationExplorer, LatentDimExplorer, LatentExplorer2D

__all__ = ["FigureImage", "KLExplorer", "ELBOExplorer", "LatentExplorer2D", "LatentDimExplorer",
           "InterpolationExplorer", "ConditionalExplorer", "DrillSession"]

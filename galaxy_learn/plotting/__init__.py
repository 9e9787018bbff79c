"""Matplotlib displays in scikit-learn's style (``from_estimator`` / ``from_predictions``).

Each display stores its data, draws in :meth:`plot` and keeps ``figure_`` and ``ax_`` (or
``axes_``) so the figure can be adjusted and saved.
"""
from ._common import make_rgb
from ._confusion import plot_confusion_matrices
from ._feature_maps import FeatureMapDisplay
from ._images import ImageGridDisplay, ReconstructionDisplay, SegmentationOverlayDisplay, plot_cutouts
from ._latent import LatentSpaceDisplay
from ._manifold import embed_2d
from ._roc import RocCurvesDisplay

__all__ = [
    "FeatureMapDisplay",
    "ImageGridDisplay",
    "LatentSpaceDisplay",
    "ReconstructionDisplay",
    "RocCurvesDisplay",
    "SegmentationOverlayDisplay",
    "make_rgb",
    "plot_confusion_matrices",
    "plot_cutouts",
    "embed_2d",
]

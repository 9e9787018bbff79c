"""Manifold learning at survey scale."""
from ._landmark_isomap import LandmarkIsomap

__all__ = ["LandmarkIsomap"]

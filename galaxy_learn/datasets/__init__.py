"""Simulators (make_*) and survey loaders (load_*)."""
from ._morphology import MORPHOLOGIES, make_galaxy_images

__all__ = [
    "MORPHOLOGIES",
    "make_galaxy_images",
]

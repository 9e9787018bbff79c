"""Aperture photometry and classical morphology measures (concentration index)."""
from ._aperture import aperture_flux, aperture_weights, concentration_index, find_centers

__all__ = [
    "aperture_flux",
    "aperture_weights",
    "concentration_index",
    "find_centers",
]

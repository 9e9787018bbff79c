"""Simulated and survey datasets: SDSS-like cutouts and fields, loaders for survey formats."""
from ._cutouts import make_star_galaxy_cutouts
from ._fields import make_sky_field

__all__ = [
    "make_star_galaxy_cutouts",
    "make_sky_field",
]

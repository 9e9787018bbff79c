"""Datasets: simulators (``make_*``) and readers of survey formats (``load_*``), flux units."""
from ._cutouts import make_star_galaxy_cutouts
from ._fits import load_fits_cutouts
from ._galaxy_zoo import load_galaxy_zoo, load_galaxy_zoo_catalog
from ._sdss import load_sdss_npy
from ._units import (
    SDSS_SOFTENING,
    ab_mag_to_nanomaggies,
    asinh_mag_to_nanomaggies,
    nanomaggies_to_ab_mag,
    nanomaggies_to_asinh_mag,
)
from ._morphology import MORPHOLOGIES, make_galaxy_images
from ._fields import make_sky_field

__all__ = [
    "make_star_galaxy_cutouts",
    "SDSS_SOFTENING",
    "ab_mag_to_nanomaggies",
    "asinh_mag_to_nanomaggies",
    "load_fits_cutouts",
    "load_galaxy_zoo",
    "load_galaxy_zoo_catalog",
    "load_sdss_npy",
    "nanomaggies_to_ab_mag",
    "nanomaggies_to_asinh_mag",
    "MORPHOLOGIES",
    "make_galaxy_images",
    "make_sky_field",
]
from ._frames import SurveyField, iter_survey_fields, load_survey_field  # noqa: E402

__all__ += ["SurveyField", "iter_survey_fields", "load_survey_field"]
from ._matched import make_matched_cutouts  # noqa: E402

__all__ += ["make_matched_cutouts"]

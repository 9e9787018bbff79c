"""Aperture photometry and classical morphology measures (concentration index)."""
from ._aperture import aperture_flux, aperture_weights, concentration_index, find_centers
from ._concentration import ConcentrationIndex

__all__ = [
    "ConcentrationIndex",
    "aperture_flux",
    "aperture_weights",
    "concentration_index",
    "find_centers",
]
from ._profile_features import profile_features  # noqa: E402
from ._psf_size import estimate_psf_fwhm  # noqa: E402
from ._sky_noise import border_noise  # noqa: E402
from ._spread_model import render_psf, spread_model  # noqa: E402

__all__ += ["border_noise", "estimate_psf_fwhm", "profile_features", "render_psf",
            "spread_model"]

"""Flux and magnitude units of SDSS-like surveys.

* Nanomaggies: SDSS's linear flux unit; 1 nanomaggy is an AB magnitude of 22.5
  (``f / f0 = 1e-9 * nanomaggies``, ``f0`` = 3631 Jy).
* AB magnitudes: ``m = 22.5 - 2.5 log10(nanomaggies)``; undefined for non-positive flux.
* Asinh magnitudes ("luptitudes", Lupton, Gunn & Szalay 1999, AJ 118, 1406), which SDSS
  catalogues report::

      m = -(2.5 / ln 10) * [asinh((f / f0) / (2 b)) + ln b]

  with a per-band softening ``b`` (in maggies, about the 1-sigma sky noise of a PSF flux). They
  are defined for zero and negative flux and equal AB magnitudes for bright objects
  (``f >> b f0``).
"""
import numpy as np

__all__ = [
    "SDSS_SOFTENING",
    "ab_mag_to_nanomaggies",
    "asinh_mag_to_nanomaggies",
    "nanomaggies_to_ab_mag",
    "nanomaggies_to_asinh_mag",
]

#: SDSS asinh-magnitude softening parameters ``b`` per band, in maggies (SDSS DR documentation,
#: "asinh magnitudes" table; zero-flux magnitudes 24.63, 25.11, 24.80, 24.36, 22.83).
SDSS_SOFTENING = {"u": 1.4e-10, "g": 0.9e-10, "r": 1.2e-10, "i": 1.8e-10, "z": 7.4e-10}

_POGSON = 2.5 / np.log(10.0)
_NANO = 1e-9


def _softening(band, softening):
    """Softening ``b`` in maggies: a scalar, or one value per band along the last axis."""
    if softening is not None:
        b = np.asarray(softening, dtype=np.float64)
        if np.any(~(b > 0)):
            msg = f"The 'softening' parameter must be positive (maggies). Got {softening!r}."
            raise ValueError(msg)
        return b
    if band is None:
        msg = "Give band (one of 'ugriz', or e.g. 'ugriz' for the last axis) or softening."
        raise ValueError(msg)
    if not isinstance(band, str) or not band or any(c not in SDSS_SOFTENING for c in band):
        msg = (
            f"The 'band' parameter must be SDSS band letters from 'ugriz' (one letter, or one "
            f"per element of the last axis). Got {band!r}."
        )
        raise ValueError(msg)
    values = [SDSS_SOFTENING[c] for c in band]
    return np.float64(values[0]) if len(values) == 1 else np.asarray(values)


def nanomaggies_to_asinh_mag(flux, band=None, *, softening=None):
    """SDSS asinh magnitude (luptitude) of a flux in nanomaggies.

    Parameters
    ----------
    flux : array-like
        Flux in nanomaggies; zero and negative values are allowed.
    band : str, default=None
        SDSS band (``"r"``) or one band letter per element of the last axis of ``flux``
        (``"ugriz"`` for an ``(n, 5)`` array); selects ``b`` from :data:`SDSS_SOFTENING`.
    softening : float or array-like, default=None
        Softening ``b`` in maggies, overriding ``band``.

    Returns
    -------
    mag : ndarray
        ``-(2.5 / ln 10) * (asinh(1e-9 * flux / (2 b)) + ln b)``.

    Examples
    --------
    >>> from galaxy_learn.datasets import nanomaggies_to_asinh_mag
    >>> round(float(nanomaggies_to_asinh_mag(0.0, "r")), 2)  # SDSS zero-flux magnitude in r
    24.8
    >>> round(float(nanomaggies_to_asinh_mag(100.0, "r")), 3)  # = AB 17.5 when bright
    17.5
    """
    b = _softening(band, softening)
    maggies = _NANO * np.asarray(flux, dtype=np.float64)
    return -_POGSON * (np.arcsinh(maggies / (2.0 * b)) + np.log(b))


def asinh_mag_to_nanomaggies(mag, band=None, *, softening=None):
    """Flux in nanomaggies of an SDSS asinh magnitude (inverse of the luptitude).

    Parameters
    ----------
    mag : array-like
        Asinh magnitudes.
    band : str, default=None
        As in :func:`nanomaggies_to_asinh_mag`.
    softening : float or array-like, default=None
        Softening ``b`` in maggies, overriding ``band``.

    Returns
    -------
    flux : ndarray
        ``1e9 * 2 b sinh(-mag / (2.5 / ln 10) - ln b)`` nanomaggies.

    Examples
    --------
    >>> from galaxy_learn.datasets import asinh_mag_to_nanomaggies
    >>> round(float(asinh_mag_to_nanomaggies(17.5, "r")), 3)
    100.0
    """
    b = _softening(band, softening)
    mag = np.asarray(mag, dtype=np.float64)
    return 2.0 * b * np.sinh(-mag / _POGSON - np.log(b)) / _NANO


def nanomaggies_to_ab_mag(flux):
    """AB magnitude ``22.5 - 2.5 log10(flux)`` of a flux in nanomaggies.

    Non-positive fluxes have no magnitude and give NaN (no warning); use
    :func:`nanomaggies_to_asinh_mag` for faint or negative fluxes.

    Examples
    --------
    >>> from galaxy_learn.datasets import nanomaggies_to_ab_mag
    >>> float(nanomaggies_to_ab_mag(1.0))
    22.5
    """
    flux = np.asarray(flux, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = 22.5 - 2.5 * np.log10(flux)
    return np.where(flux > 0, mag, np.nan)


def ab_mag_to_nanomaggies(mag):
    """Flux in nanomaggies ``10 ** ((22.5 - mag) / 2.5)`` of an AB magnitude.

    Examples
    --------
    >>> from galaxy_learn.datasets import ab_mag_to_nanomaggies
    >>> float(ab_mag_to_nanomaggies(20.0))
    10.0
    """
    mag = np.asarray(mag, dtype=np.float64)
    return 10.0 ** ((22.5 - mag) / 2.5)

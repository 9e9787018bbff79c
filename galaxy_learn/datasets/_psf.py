"""Point-spread functions (Moffat, Kolmogorov) and per-object, per-band seeing.

Both PSFs are circular and parametrised by their full width at half maximum (FWHM):

* **Moffat** ``I(r) ∝ (1 + (r/alpha)^2) ** -beta`` with ``alpha = FWHM / (2 sqrt(2^(1/beta) - 1))``.
  The default ``beta = 4.765`` is the value that best matches a Kolmogorov atmosphere
  (Trujillo et al. 2001, MNRAS 328, 977). Its Fourier transform (untruncated) is analytic,
  ``M(k) = 2^(1-nu) / Gamma(nu) (k alpha)^nu K_nu(k alpha)`` with ``nu = beta - 1``.
* **Kolmogorov** long-exposure PSF: optical transfer function ``exp(-3.44 (lambda k / 2 pi r0)^(5/3))``
  (Fried 1966) with ``FWHM = 0.975865 lambda / r0`` (the same relation GalSim uses).

Seeing (:func:`sample_seeing`): the r-band FWHM of each object's exposure is lognormal around
``seeing`` (default median 1.35", sigma of ln FWHM 0.14, i.e. 10–90% range 1.13–1.62", clipped to
0.8–2.0"), typical of SDSS survey-quality imaging (median r-band seeing ~1.3–1.4" with few fields
worse than 2"; Stoughton et al. 2002, AJ 123, 485; Abazajian et al. 2009, ApJS 182, 543). Other bands scale
as ``FWHM ∝ lambda^-0.2`` (Kolmogorov turbulence; Fried 1966) with a 3% per-band jitter for
focus/tracking differences between the CCD columns.
"""
import functools

import numpy as np
from scipy import special

from ._photometry_constants import EFFECTIVE_WAVELENGTH, PIXEL_SCALE

__all__ = ["moffat_alpha", "psf_fourier", "sample_seeing", "DEFAULT_BETA"]

DEFAULT_BETA = 4.765
KOLMOGOROV_FWHM_FACTOR = 0.975865  # FWHM = factor * lambda / r0


def moffat_alpha(fwhm, beta=DEFAULT_BETA):
    """Moffat scale radius ``alpha`` for a given FWHM."""
    return np.asarray(fwhm, dtype=float) / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))


@functools.lru_cache(maxsize=8)
def _moffat_table(beta):
    nu = beta - 1.0
    x = np.linspace(0.0, 120.0, 60001)
    with np.errstate(invalid="ignore", over="ignore"):
        vals = 2.0 ** (1.0 - nu) / special.gamma(nu) * x**nu * special.kv(nu, x)
    vals[0] = 1.0
    vals = np.nan_to_num(vals, nan=0.0)
    return x[1] - x[0], vals.astype(np.float32)


def psf_fourier(k, fwhm, *, psf="moffat", beta=DEFAULT_BETA):
    """Optical transfer function of a circular PSF, normalised to 1 at ``k = 0``.

    Parameters
    ----------
    k : ndarray
        Wave number ``|k|`` in radians per pixel (any shape).
    fwhm : ndarray
        FWHM in pixels, broadcastable against ``k``.
    psf : {"moffat", "kolmogorov"}
    beta : float
        Moffat index.
    """
    if psf == "moffat":
        dx, table = _moffat_table(float(beta))
        alpha = moffat_alpha(fwhm, beta).astype(np.float32)
        x = k * alpha
        return np.interp(x, np.arange(table.size, dtype=np.float32) * dx, table).astype(
            np.float32, copy=False
        )
    if psf == "kolmogorov":
        lam_over_r0 = np.asarray(fwhm, dtype=np.float32) / KOLMOGOROV_FWHM_FACTOR
        return np.exp(-3.44 * (k * lam_over_r0 / (2 * np.pi)) ** (5.0 / 3.0)).astype(np.float32)
    msg = f"The 'psf' parameter must be 'moffat' or 'kolmogorov'. Got {psf!r}."
    raise ValueError(msg)


def sample_seeing(n, bands, rng, seeing=1.35, *, scatter=0.14, band_jitter=0.03,
                  limits=(0.8, 2.0)):
    """Draw per-object, per-band PSF FWHM in **arcsec**.

    Parameters
    ----------
    n : int
        Number of exposures (objects).
    bands : str
        Band letters.
    rng : numpy Generator
    seeing : float or (float, float)
        Median r-band FWHM in arcsec; a pair ``(low, high)`` draws it uniformly instead; a float
        with ``scatter=0`` fixes it.
    scatter : float
        Sigma of ln FWHM_r.
    band_jitter : float
        Fractional per-band scatter around the lambda^-0.2 scaling.

    Returns
    -------
    fwhm : ndarray of shape (n, len(bands))
    fwhm_r : ndarray of shape (n,)
    """
    if np.ndim(seeing) == 1 and len(seeing) == 2:
        fwhm_r = rng.uniform(seeing[0], seeing[1], size=n)
    else:
        fwhm_r = float(seeing) * np.exp(scatter * rng.standard_normal(n))
        if scatter > 0:
            fwhm_r = np.clip(fwhm_r, *limits)
    scale = np.array([(EFFECTIVE_WAVELENGTH[b] / EFFECTIVE_WAVELENGTH["r"]) ** -0.2 for b in bands])
    jitter = np.exp(band_jitter * rng.standard_normal((n, len(bands))))
    jitter[:, [i for i, b in enumerate(bands) if b == "r"]] = 1.0
    return fwhm_r[:, None] * scale[None, :] * jitter, fwhm_r


def arcsec_to_pixels(value):
    """Convert arcseconds to SDSS pixels (0.396 arcsec)."""
    return np.asarray(value, dtype=float) / PIXEL_SCALE


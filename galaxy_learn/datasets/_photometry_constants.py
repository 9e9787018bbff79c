"""SDSS-like photometric constants per band, with their sources.

All fluxes in galaxy_learn are in **nanomaggies** (nmgy): an AB magnitude ``m`` corresponds to
``f = 10 ** (-0.4 * (m - 22.5))`` nmgy, i.e. 1 nmgy = 22.5 AB (Finkbeiner et al. 2004; SDSS DR8+
"frame" images are calibrated in nmgy per pixel). SDSS u and z are close to, but not exactly, AB
(u_AB = u_SDSS - 0.04, z_AB = z_SDSS + 0.02; SDSS DR7 documentation): we treat all bands as AB.

Values (typical, they vary per camera column and night):

* Effective wavelengths (Angstrom), Fukugita et al. (1996, AJ 111, 1748), Table 2a.
* Counts (DN) per nanomaggy: the inverse of the ``NMGYPERCOUNT`` keyword of SDSS DR8+ frame
  headers, typical values 0.0101, 0.00383, 0.00481, 0.00645, 0.0310 nmgy/DN for u, g, r, i, z.
* Gain (electrons per DN) and dark variance (read noise + dark current, DN^2 per pixel): SDSS DR7
  "Photometric flux calibration" table, camera column 1: gains 1.62, 3.32, 4.71, 5.165, 4.745;
  dark variances 9.61, 15.6025, 1.8225, 7.84, 0.81.
* Dark-sky surface brightness (AB mag / arcsec^2): typical SDSS values at high galactic latitude
  and new moon, u 22.0, g 22.1, r 21.2, i 20.4, z 19.0 (Stoughton et al. 2002, AJ 123, 485;
  SDSS DR7 image-quality pages).
* Pixel scale 0.396 arcsec (Gunn et al. 1998, AJ 116, 3040); frames are 2048 x 1489 pixels.
"""
import numpy as np

__all__ = [
    "BANDS",
    "PIXEL_SCALE",
    "FRAME_SHAPE",
    "EFFECTIVE_WAVELENGTH",
    "COUNTS_PER_NMGY",
    "GAIN",
    "DARK_VARIANCE",
    "SKY_MAG",
    "mag_to_nmgy",
    "nmgy_to_mag",
    "band_indices",
]

BANDS = "ugriz"
PIXEL_SCALE = 0.396  # arcsec / pixel
FRAME_SHAPE = (1489, 2048)  # (rows, columns) of an SDSS frame

EFFECTIVE_WAVELENGTH = {"u": 3551.0, "g": 4686.0, "r": 6166.0, "i": 7480.0, "z": 8932.0}
COUNTS_PER_NMGY = {"u": 1 / 0.0101, "g": 1 / 0.00383, "r": 1 / 0.00481, "i": 1 / 0.00645,
                   "z": 1 / 0.0310}
GAIN = {"u": 1.62, "g": 3.32, "r": 4.71, "i": 5.165, "z": 4.745}
DARK_VARIANCE = {"u": 9.61, "g": 15.6025, "r": 1.8225, "i": 7.84, "z": 0.81}
SKY_MAG = {"u": 22.0, "g": 22.1, "r": 21.2, "i": 20.4, "z": 19.0}


def mag_to_nmgy(mag):
    """AB magnitude to flux in nanomaggies (1 nmgy = 22.5 AB)."""
    return 10.0 ** (-0.4 * (np.asarray(mag, dtype=float) - 22.5))


def nmgy_to_mag(flux):
    """Flux in nanomaggies to AB magnitude; non-positive fluxes give ``inf``."""
    flux = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, 22.5 - 2.5 * np.log10(np.where(flux > 0, flux, 1.0)), np.inf)


def band_indices(bands, *, name="bands"):
    """Validate a band string such as ``"gri"`` (letters of ``ugriz``, no repeats)."""
    if not isinstance(bands, str) or len(bands) == 0:
        msg = f"The '{name}' parameter must be a non-empty string of letters from 'ugriz'. Got {bands!r}."
        raise ValueError(msg)
    bad = [b for b in bands if b not in BANDS]
    if bad or len(set(bands)) != len(bands):
        msg = (
            f"The '{name}' parameter must use each of the letters 'ugriz' at most once. "
            f"Got {bands!r}."
        )
        raise ValueError(msg)
    return [BANDS.index(b) for b in bands]

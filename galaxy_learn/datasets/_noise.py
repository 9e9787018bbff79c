"""Sky background, Poisson and read noise in electrons, returned in sky-subtracted nanomaggies.

For band ``b`` a pixel holding ``s`` nmgy of source light on a sky of ``S`` nmgy/pixel collects
``lambda = (s + S) * e_b`` electrons, ``e_b = COUNTS_PER_NMGY[b] * GAIN[b]``. The recorded value is
a Poisson draw of ``lambda`` plus Gaussian read noise of variance ``DARK_VARIANCE[b] * GAIN[b]^2``
electrons^2, converted back to nmgy and sky-subtracted (SDSS frames are sky-subtracted and
calibrated in nmgy). The Poisson draw is exact (``numpy`` Poisson) where ``lambda < 30`` and
its normal limit ``N(lambda, lambda)`` above (identical mean and variance; only the skewness,
< 0.18, differs) -- this keeps 10,000 five-band cutouts fast.
"""
import numpy as np

from ._photometry_constants import (COUNTS_PER_NMGY, DARK_VARIANCE, GAIN, PIXEL_SCALE,
                                    SKY_MAG, mag_to_nmgy)

__all__ = ["sky_level", "electrons_per_nmgy", "read_noise_e2", "add_noise", "resolve_sky",
           "matched_filter_snr"]

_EXACT_POISSON_BELOW = 30.0


def electrons_per_nmgy(bands):
    return np.array([COUNTS_PER_NMGY[b] * GAIN[b] for b in bands])


def read_noise_e2(bands):
    return np.array([DARK_VARIANCE[b] * GAIN[b] ** 2 for b in bands])


def sky_level(sky_mag):
    """Sky per pixel in nmgy from a surface brightness in AB mag / arcsec^2."""
    return mag_to_nmgy(sky_mag) * PIXEL_SCALE**2


def resolve_sky(sky, bands, *, name="sky"):
    """``sky`` parameter → surface brightness (mag/arcsec^2) per band, as an array."""
    if sky is None or (isinstance(sky, str) and sky == "sdss"):
        return np.array([SKY_MAG[b] for b in bands])
    if isinstance(sky, dict):
        missing = [b for b in bands if b not in sky]
        if missing:
            msg = f"The '{name}' dict must give a sky brightness for bands {missing}. Got keys {sorted(sky)}."
            raise ValueError(msg)
        return np.array([float(sky[b]) for b in bands])
    arr = np.atleast_1d(np.asarray(sky, dtype=float))
    if arr.size == 1:
        # One number: an offset in mag/arcsec^2 applied to the SDSS dark sky in every band.
        return np.array([SKY_MAG[b] for b in bands]) + arr[0]
    if arr.shape != (len(bands),):
        msg = (
            f"The '{name}' parameter must be None/'sdss', a dict band->mag/arcsec^2, one offset "
            f"in mag/arcsec^2, or {len(bands)} values (one per band). Got {sky!r}."
        )
        raise ValueError(msg)
    return arr


def matched_filter_snr(model, band, sky_mag):
    """Ideal (matched-filter) S/N of noiseless models (n, H, W) in nmgy on the given sky.

    ``sqrt(sum_pixels s^2 / (s + sky + read))`` with everything in electrons.
    """
    e = electrons_per_nmgy(band)[0]
    s_e = np.maximum(model, 0.0) * e
    var_bg = sky_level(sky_mag) * e + read_noise_e2(band)[0]
    return np.sqrt((s_e**2 / (s_e + var_bg)).sum(axis=(-2, -1)))


def add_noise(images, bands, sky_mag, rng):
    """Return a noisy, sky-subtracted copy of ``images`` (n, C, H, W) in nmgy (float32).

    Also returns the per-band sky level (nmgy / pixel) and the per-band electrons per nmgy.
    """
    e_per = electrons_per_nmgy(bands).astype(np.float32)
    read = read_noise_e2(bands).astype(np.float32)
    sky = sky_level(sky_mag).astype(np.float32)
    out = np.empty(images.shape, dtype=np.float32)
    for c in range(images.shape[1]):
        src = np.maximum(images[:, c], 0.0)
        low = (src + sky[c]) * e_per[c] < _EXACT_POISSON_BELOW
        # Normal limit: value = image + sqrt(variance in nmgy^2) * N(0, 1).
        std = src
        std += sky[c] + read[c] / e_per[c]
        std *= 1.0 / e_per[c]
        np.sqrt(std, out=std)
        std *= rng.standard_normal(std.shape, dtype=np.float32)
        np.add(images[:, c], std, out=out[:, c])
        if low.any():
            lam = (np.maximum(images[:, c][low], 0.0) + sky[c]) * e_per[c]
            draw = rng.poisson(lam) + np.sqrt(read[c]) * rng.standard_normal(lam.size)
            out[:, c][low] = (draw / e_per[c] - sky[c]).astype(np.float32)
    return out, sky, e_per


"""The physical column joined to the VAE codes: SPREAD_MODEL against the training set's own PSF.

A star *is* the PSF. A VAE's code is free to spend itself on brightness, size, shape, neighbours
and seeing, and on real survey data the manifold coordinate of the codes alone loses to a
fixed-aperture concentration index. SPREAD_MODEL (Desai et al. 2012) compares each object with
the PSF itself; the PSF width is measured without labels on the training cutouts' bright point
sources (:func:`~galaxy_learn.photometry.estimate_psf_fwhm`), so no number is asked of the user.
"""
import numpy as np

from ..photometry import estimate_psf_fwhm, spread_model

__all__ = ["PSF_STATISTICS", "estimate_widths", "location", "psf_statistic", "spread_values"]

PSF_STATISTICS = ("spread_model",)
# the smallest stamp on which a PSF-scale window (>= 3 px on each side) fits
_MIN_STAMP = 9


def _bands(n_bands):
    """g, r, i, z of ugriz (u is noisy and its PSF is the widest); every band otherwise."""
    return [1, 2, 3, 4] if n_bands == 5 else None


def applies_to(input_shape):
    """Whether the statistic can be measured on inputs of this shape (images, not tabular)."""
    return len(input_shape) == 3 and min(input_shape[1:]) >= _MIN_STAMP


def estimate_widths(X):
    """PSF FWHM per band (pixels) of the cutouts ``X``, measured on their bright point sources.

    Where a band has too few (fewer than 5 objects at S/N >= 30, e.g. a few faint cutouts), the
    10th percentile of every measurable object size is used, and where nothing is measurable,
    2.5 pixels.

    Returns
    -------
    fwhm : ndarray of shape (n_bands,)
    measured : ndarray of bool, shape (n_bands,)
        Whether each band's width came from the stellar locus.
    """
    n_bands = X.shape[1]
    fwhm = np.empty(n_bands)
    measured = np.zeros(n_bands, dtype=bool)
    for b in range(n_bands):
        width, sizes = estimate_psf_fwhm(X[:, b])
        if np.isfinite(width):
            fwhm[b], measured[b] = width, True
            continue
        _, sizes = estimate_psf_fwhm(X[:, b], min_snr=0.0)
        sizes = sizes[np.isfinite(sizes) & (sizes > 0.5)]
        fwhm[b] = np.percentile(sizes, 10) if sizes.size else 2.5
    return fwhm, measured


def spread_values(X, fwhm):
    """SPREAD_MODEL of each cutout (NaN-masked pixels count as 0; 0 where unmeasurable);
    ``fwhm`` in pixels, per band or per cutout and band."""
    X = np.asarray(X)
    finite = np.isfinite(X)
    if not finite.all():  # a copy only where pixels are masked
        X = np.where(finite, X, 0.0)
    values = spread_model(X, fwhm, bands=_bands(X.shape[1]))
    return np.nan_to_num(values, nan=0.0)


def location(values):
    """Median and standard deviation (1 when the values are constant) of the training values."""
    scale = float(np.std(values))
    return float(np.median(values)), scale if scale > 0 else 1.0


def psf_statistic(values, center, scale, weight):
    """The column joined to the codes: ``weight * arcsinh((spread_model - center) / scale)``.

    The arcsinh keeps the ranking and the resolution near the stellar locus, and compresses the
    long tail of large galaxies (tens of standard deviations), which would otherwise leave them
    disconnected from the rest in a k-nearest-neighbour graph (Isomap).
    """
    return (weight * np.arcsinh((values - center) / scale))[:, None].astype(np.float32)

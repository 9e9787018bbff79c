"""Robust statistics shared by the preprocessing, segmentation, photometry and encoder code.

:func:`robust_sigma` is the one implementation of the MAD noise estimate in the toolkit
(``galaxy_learn.segmentation.robust_sigma`` is the same function with a sub-sampling default
suited to whole survey frames). :func:`border_sigma` is the per-band sky noise of a stack of
cutouts, measured on their outer pixel ring.
"""
import numpy as np

__all__ = [
    "MAD_TO_SIGMA",
    "MAX_STAT_PIXELS",
    "band_pixels",
    "border_mask",
    "border_sigma",
    "robust_sigma",
    "sample_stride",
]

#: ``1 / Phi^{-1}(3/4)``: the median absolute deviation of a Gaussian times this is its sigma.
MAD_TO_SIGMA = 1.482602218505602
#: Robust statistics over a stack of images (median, MAD, percentiles) use at most this many
#: pixels per band; above it a regular (deterministic) subset of the samples is used.
MAX_STAT_PIXELS = 2**22


def robust_sigma(values, *, max_samples=None):
    """Gaussian-equivalent standard deviation ``1.4826 * MAD`` of ``values`` (e.g. sky noise).

    Falls back to the standard deviation when the MAD is 0, then to 1 (also for no values).

    Parameters
    ----------
    values : array-like
        Any shape; flattened.
    max_samples : int, default=None
        Use a regular sub-grid of at most this many values (speed on large fields); None uses
        all.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.utils import robust_sigma
    >>> x = np.random.default_rng(0).normal(scale=2.0, size=100_000)
    >>> round(robust_sigma(x), 1)
    2.0
    >>> robust_sigma(np.zeros(5))
    1.0
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if max_samples is not None and v.size > max_samples:
        v = v[:: int(np.ceil(v.size / max_samples))]
    if v.size == 0:
        return 1.0
    sigma = MAD_TO_SIGMA * np.median(np.abs(v - np.median(v)))
    if not sigma > 0:
        sigma = np.std(v)
    return float(sigma) if sigma > 0 else 1.0


def border_mask(height, width):
    """Boolean ``(height, width)`` mask of the outer ring of a cutout: its sky.

    The ring is 1/8 of the short side wide (at least 1 pixel); images too small to have a centre
    inside it are all border.

    Examples
    --------
    >>> from galaxy_learn.utils import border_mask
    >>> border_mask(8, 8).sum()  # an 8x8 cutout less its central 6x6
    np.int64(28)
    """
    w = max(1, min(height, width) // 8)
    if height <= 2 * w or width <= 2 * w:
        return np.ones((height, width), dtype=bool)
    mask = np.ones((height, width), dtype=bool)
    mask[w:-w, w:-w] = False
    return mask


def sample_stride(n_samples, pixels_per_sample, *, max_pixels=MAX_STAT_PIXELS):
    """Step over samples that keeps at most ``max_pixels`` pixels per band."""
    return max(1, int(np.ceil(n_samples * pixels_per_sample / max_pixels)))


def band_pixels(X, band, mask=None, *, max_pixels=MAX_STAT_PIXELS):
    """Pixels of one band of images ``X`` (float64, flattened) over a deterministic subset.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_bands, height, width)
        Images (a memmap is read only where sampled).
    band : int
        Band index.
    mask : ndarray of bool of shape (height, width), default=None
        Pixels kept in each image; None keeps all.
    max_pixels : int, default=MAX_STAT_PIXELS
        Pixel budget (see :func:`sample_stride`).

    Returns
    -------
    values : ndarray of float64 of shape (n_values,)
        Every :func:`sample_stride`-th sample's pixels, so that at most about ``max_pixels``
        values are returned.
    """
    per_sample = int(mask.sum()) if mask is not None else X.shape[2] * X.shape[3]
    stride = sample_stride(X.shape[0], per_sample, max_pixels=max_pixels)
    values = np.asarray(X[::stride, band], dtype=np.float64)
    values = values[:, mask] if mask is not None else values.reshape(len(values), -1)
    return values.ravel()


def border_sigma(X, *, max_pixels=MAX_STAT_PIXELS):
    """Per-band sky noise of images ``X``: :func:`robust_sigma` of each band's outer ring.

    Over a deterministic subset of the samples (:func:`band_pixels`), non-finite pixels ignored.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_bands, height, width)
    max_pixels : int, default=MAX_STAT_PIXELS
        Pixel budget per band (see :func:`sample_stride`).

    Returns
    -------
    sigma : ndarray of float64 of shape (n_bands,)

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.utils import border_sigma
    >>> X = np.random.default_rng(0).normal(scale=[[[1.0]], [[3.0]]], size=(200, 2, 16, 16))
    >>> np.round(border_sigma(X), 1)
    array([1., 3.])
    """
    mask = border_mask(X.shape[2], X.shape[3])
    sigma = []
    for band in range(X.shape[1]):
        pix = band_pixels(X, band, mask, max_pixels=max_pixels)
        sigma.append(robust_sigma(pix[np.isfinite(pix)]))
    return np.asarray(sigma)

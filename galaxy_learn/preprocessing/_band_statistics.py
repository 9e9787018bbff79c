"""The per-band statistics :class:`~galaxy_learn.preprocessing.ImageScaler` fits, one function each.

``(center, scale)`` of each method: mean and standard deviation (``"zscore"``), percentiles
(``"minmax"``), median and IQR / 1.349 of the arcsinh-stretched pixels (``"asinh"``); the floor of
the central flux of the peak methods; the median sky value that fills NaN pixels. The scaler
validates its parameters and prepares (fills, crops) the images; these functions trust their
inputs. Robust statistics read at most ``max_pixels`` pixels per band (``band_pixels``).
"""
import numpy as np

from ..utils import band_pixels, border_mask

# IQR / 1.349 is the standard deviation of a Gaussian.
_IQR_TO_SIGMA = 1.3489795003921634
# Central flux floor of the "peak" methods, in units of the noise of that central sum.
_PEAK_FLOOR_SIGMA = 5.0
# Half-width of the central box summed by the "peak" methods (1 -> 3x3 pixels).
_PEAK_HALF_BOX = 1
# Samples processed at a time: keeps memory bounded for memory-mapped inputs.
_CHUNK = 256


def chunks(n, size=_CHUNK):
    """Slices of ``size`` samples covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def handle_zeros(scale, center=None):
    """Replace (near-)zero scales by 1 so constant bands are centred, not blown up."""
    scale = np.asarray(scale, dtype=np.float64).copy()
    ref = np.ones_like(scale) if center is None else np.maximum(1.0, np.abs(center))
    scale[~(scale > 10 * np.finfo(np.float64).eps * ref)] = 1.0
    return scale


def central_box(height, width):
    """Row and column slices of the central box the peak methods sum (3x3 where it fits)."""
    h = min(_PEAK_HALF_BOX, (height - 1) // 2)
    w = min(_PEAK_HALF_BOX, (width - 1) // 2)
    return (slice(height // 2 - h, height // 2 + h + 1), slice(width // 2 - w, width // 2 + w + 1))


def zscore_statistics(prepared_chunks, n_bands, count):
    """Mean and population standard deviation per band, in two passes over the chunks.

    ``prepared_chunks()`` returns a new iterator over the prepared 4-D chunks; ``count`` is the
    number of pixels per band.
    """
    total = np.zeros(n_bands)
    for Xb in prepared_chunks():
        total += np.asarray(Xb, dtype=np.float64).sum(axis=(0, 2, 3))
    center = total / count
    sq = np.zeros(n_bands)
    for Xb in prepared_chunks():
        diff = np.asarray(Xb, dtype=np.float64) - center[None, :, None, None]
        sq += (diff**2).sum(axis=(0, 2, 3))
    return center, handle_zeros(np.sqrt(sq / count), center)


def minmax_statistics(X, low, high, *, max_pixels):
    """The ``low`` percentile and the ``high - low`` percentile range of each band."""
    n_bands = X.shape[1]
    center, scale = np.zeros(n_bands), np.ones(n_bands)
    for b in range(n_bands):
        pix = band_pixels(X, b, max_pixels=max_pixels)
        center[b], top = np.percentile(pix, [low, high])
        scale[b] = top - center[b]
    return center, handle_zeros(scale, center)


def asinh_statistics(X, softening, *, max_pixels):
    """Median and IQR / 1.349 of ``arcsinh(x / softening_band)`` per band."""
    n_bands = X.shape[1]
    center, scale = np.zeros(n_bands), np.ones(n_bands)
    for b in range(n_bands):
        pix = band_pixels(X, b, max_pixels=max_pixels)
        pix = np.arcsinh(pix / softening[b])
        q25, center[b], q75 = np.percentile(pix, [25, 50, 75])
        scale[b] = (q75 - q25) / _IQR_TO_SIGMA
    return center, handle_zeros(scale, center)


def peak_floor(softening, side, *, per_band):
    """Floor of the central flux: 5 times its noise, per band or for the sum over bands."""
    rows, cols = central_box(*side)
    n_box = (rows.stop - rows.start) * (cols.stop - cols.start)
    if per_band:
        return _PEAK_FLOOR_SIGMA * np.sqrt(n_box) * softening
    return float(_PEAK_FLOOR_SIGMA * np.sqrt(n_box * np.sum(softening**2)))


def border_medians(X, *, max_pixels):
    """Median of the finite border (sky) pixels of each band (0 for a band with none)."""
    mask = border_mask(X.shape[2], X.shape[3])
    values = []
    for band in range(X.shape[1]):
        pix = band_pixels(X, band, mask, max_pixels=max_pixels)
        pix = pix[np.isfinite(pix)]
        values.append(float(np.median(pix)) if pix.size else 0.0)
    return np.asarray(values)

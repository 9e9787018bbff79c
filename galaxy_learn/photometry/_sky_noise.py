"""Sky noise of centred cutouts, measured on their border."""
import warnings

import numpy as np

from ..utils import MAD_TO_SIGMA

__all__ = ["border_noise"]


def border_noise(images, width=4):
    """Robust sky noise of each image: 1.4826 x the median absolute deviation of its outer ring.

    The object of a centred cutout rarely reaches its outer ``width`` pixels, and the median
    absolute deviation ignores the neighbours that do, so the ring's spread is the sky's noise
    (Poisson sky plus read noise for a sky-subtracted survey cutout).

    Parameters
    ----------
    images : array-like of shape (..., H, W)
        Sky-subtracted images (any leading dimensions: cutouts, bands). NaN pixels (masked) are
        ignored.
    width : int, default=4
        Width of the ring in pixels; ``2 * width`` must be smaller than ``H`` and ``W``.

    Returns
    -------
    sigma : ndarray of shape (...)
        Noise per image in the images' units; NaN where the ring holds no finite pixel.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 2:
        msg = f"border_noise needs images of shape (..., H, W); got shape {images.shape}."
        raise ValueError(msg)
    h, w = images.shape[-2:]
    if int(width) < 1 or 2 * int(width) >= min(h, w):
        msg = (f"width={width} leaves no interior in {h}x{w} images "
               f"(needs 1 <= 2 * width < {min(h, w)}).")
        raise ValueError(msg)
    ring = np.zeros((h, w), dtype=bool)
    ring[:width], ring[-width:], ring[:, :width], ring[:, -width:] = True, True, True, True
    v = images[..., ring]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN ring gives NaN
        med = np.nanmedian(v, axis=-1, keepdims=True)
        return MAD_TO_SIGMA * np.nanmedian(np.abs(v - med), axis=-1)

"""PSF width measured on the images themselves: adaptive moments and the stellar locus.

A field's point sources all share the PSF, galaxies are wider: the PSF FWHM is the lower edge of
the size distribution of bright objects, measured without labels from a frame (with object
positions) or from a stack of cutouts (each centred on its object).
"""
import numpy as np

from ..utils import robust_sigma

__all__ = ["estimate_psf_fwhm"]

_SIGMA_TO_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))


def estimate_psf_fwhm(image, x=None, y=None, *, flux=None, window=7, max_objects=200, min_snr=30.0,
                      saturation=None):
    """PSF FWHM of a frame, measured on its own point sources (no labels).

    Each object's size is the FWHM of the Gaussian with its adaptive second moments (an elliptical
    Gaussian weight iterated to the object's own shape, as SDSS photo and HSM measure it; the
    Gaussian-equivalent FWHM is ``2.3548 * (det M)^(1/4)``). Point sources all share the PSF's
    size, galaxies are larger: the PSF is the lower edge of the size distribution of high-S/N
    objects. It is estimated as the median of the objects within 10% of the 10th percentile
    size (the stellar locus), which is robust to a galaxy-dominated sample and to cosmic rays
    (sizes below 0.5 * that percentile are dropped first).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (n_cutouts, h, w)
        Sky-subtracted frame, or a stack of one-band cutouts each centred on its object (then
        ``x`` and ``y`` are None and each cutout's central pixel ``(w // 2, h // 2)`` is its
        position).
    x, y : array-like of float, default=None
        Pixel positions (0-based, pixel centres at integers) of candidate objects in a frame.
    flux : array-like of float, default=None
        Their fluxes *in this image*: the ``max_objects`` brightest unsaturated ones are
        measured. None measures them (sum of the 5x5 pixels around each position), so that in a
        band other than the detection band the objects bright *there* are used.
    window : int, default=7
        Half-size of the measurement box (pixels).
    max_objects : int, default=200
    min_snr : float, default=30.0
        Only objects whose 5x5-pixel flux is at least this many times its noise (the frame's
        robust sky sigma times 5) are measured: faint objects' noisy moments scatter below the
        PSF size and would pull the locus down.
    saturation : float, default=None
        Objects with a pixel above this are skipped (saturated cores are too wide).

    Returns
    -------
    fwhm : float
        PSF FWHM in pixels (NaN when fewer than 5 objects could be measured).
    sizes : ndarray
        FWHM of every measured object (pixels, NaN where the moments failed).

    References
    ----------
    Bernstein & Jarvis 2002, AJ 123, 583 (adaptive moments); Hirata & Seljak 2003 (HSM).
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and x is None and y is None:
        n, h, w = image.shape  # cutouts side by side: one frame, positions at their centres
        image = image.transpose(1, 0, 2).reshape(h, n * w)
        x, y = np.arange(n) * w + w // 2, np.full(n, h // 2)
        window = min(window, (min(h, w) - 1) // 2)
    if image.ndim != 2 or x is None or y is None:
        msg = (
            "estimate_psf_fwhm takes a 2-D frame with positions x, y, or a 3-D stack of "
            f"cutouts without positions; got an array of shape {image.shape}."
        )
        raise ValueError(msg)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    H, W = image.shape
    if flux is None:
        ix = np.clip(np.round(x).astype(np.int64), 2, W - 3)
        iy = np.clip(np.round(y).astype(np.int64), 2, H - 3)
        flux = sum(image[iy + j, ix + i] for j in range(-2, 3) for i in range(-2, 3))
    flux = np.nan_to_num(np.asarray(flux, dtype=float), nan=-np.inf)
    noise = 5.0 * robust_sigma(image[np.isfinite(image)], max_samples=200_000)
    order = np.argsort(-flux, kind="stable")
    order = order[flux[order] >= min_snr * noise]
    yy, xx = np.mgrid[-window:window + 1, -window:window + 1].astype(np.float64)
    sizes = []
    for i in order:
        if len(sizes) >= max_objects:
            break
        xi, yi = int(round(x[i])), int(round(y[i]))
        if not (window <= xi < W - window and window <= yi < H - window):
            continue
        box = image[yi - window:yi + window + 1, xi - window:xi + window + 1]
        if not np.all(np.isfinite(box)) or (saturation is not None and box.max() >= saturation):
            continue
        sizes.append(_adaptive_fwhm(box, xx - (x[i] - xi), yy - (y[i] - yi)))
    sizes = np.asarray(sizes, dtype=np.float64)
    good = sizes[np.isfinite(sizes)]
    if good.size < 5:
        return float("nan"), sizes
    p10 = np.percentile(good, 10)
    good = good[good >= 0.5 * p10]
    p10 = np.percentile(good, 10)
    locus = good[np.abs(good - p10) <= 0.1 * p10]
    return float(np.median(locus)), sizes


def _adaptive_fwhm(box, dx, dy, n_iter=20):
    """Gaussian-equivalent FWHM from adaptive (elliptical Gaussian-weighted) second moments."""
    mxx = myy = 2.0
    mxy = 0.0
    cx = cy = 0.0
    for _ in range(n_iter):
        det = mxx * myy - mxy**2
        if not np.isfinite(det) or det <= 0:
            return float("nan")
        ix, iy = dx - cx, dy - cy
        q = (myy * ix**2 - 2 * mxy * ix * iy + mxx * iy**2) / det
        w = box * np.exp(-0.5 * q)
        s = w.sum()
        if not s > 0:
            return float("nan")
        cx += (w * ix).sum() / s
        cy += (w * iy).sum() / s
        ix, iy = dx - cx, dy - cy
        # the weighted moments of a Gaussian source times a Gaussian weight of the same shape
        # are half the source's: the adaptive fixed point is M = 2 * weighted moments
        nxx = 2 * (w * ix**2).sum() / s
        nyy = 2 * (w * iy**2).sum() / s
        nxy = 2 * (w * ix * iy).sum() / s
        if abs(nxx - mxx) < 1e-4 and abs(nyy - myy) < 1e-4:
            mxx, myy, mxy = nxx, nyy, nxy
            break
        mxx, myy, mxy = nxx, nyy, nxy
        if mxx <= 0 or myy <= 0 or mxx > 100 or myy > 100:
            return float("nan")
    det = mxx * myy - mxy**2
    return float(_SIGMA_TO_FWHM * det**0.25) if det > 0 else float("nan")

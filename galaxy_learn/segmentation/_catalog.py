"""Measurements of labelled objects: positions, the isophotal S/N cut, footprint trimming and
the catalogue table."""
import numpy as np
import pandas as pd
from scipy import ndimage

__all__ = ["make_catalog", "object_positions", "trim_footprints"]


def labelled_max(values, labels, ids):
    """Maximum of ``values`` over each object ``ids`` of ``labels`` and the flat index of the
    (first) pixel holding it; only labelled pixels are visited (``ndimage.maximum`` sorts the
    whole image)."""
    flat = np.flatnonzero(labels)
    lab = labels.ravel()[flat]
    val = values.ravel()[flat]
    n = int(labels.max()) + 1 if labels.size else 1
    best = np.full(n, -np.inf)
    np.maximum.at(best, lab, val)
    at = np.flatnonzero(val == best[lab])
    first_lab, first = np.unique(lab[at], return_index=True)
    where = np.zeros(n, dtype=np.intp)
    where[first_lab] = flat[at[first]]
    return best[ids], where[ids]


def object_positions(labels, detection, *, sigma=1.0, window=2):
    """Positions ``(x, y)`` of labelled objects: centroid in a small window around the peak.

    The peak is the brightest pixel of the Gaussian-smoothed ``detection`` within the object; the
    flux-weighted centroid of the ``(2 * window + 1)**2`` pixels around it (object pixels only,
    negative fluxes clipped) refines it. Unlike the isophotal barycentre, this does not drift
    towards a neighbour sharing the segment.

    Returns
    -------
    xy : ndarray of shape (n_objects, 2)
    ids : ndarray of int
        Labels of the rows (increasing).
    """
    detection = np.asarray(detection, dtype=np.float32)
    smooth = ndimage.gaussian_filter(detection, sigma) if sigma else detection
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if ids.size == 0:
        return np.zeros((0, 2)), ids
    _, at = labelled_max(smooth, labels, ids)
    peaks = np.stack(np.unravel_index(at, labels.shape), axis=1).astype(np.intp)
    # every object pixel within ``window`` of its own object's peak, labelled by its object
    lut = np.zeros((int(labels.max()) + 1, 2), dtype=np.intp)
    lut[ids] = peaks
    yy, xx = np.indices(labels.shape)
    near = np.abs(yy - lut[labels, 0]) <= window
    near &= np.abs(xx - lut[labels, 1]) <= window
    windowed = np.where(near & (labels > 0), labels, 0)
    w = np.clip(detection, 0, None)
    tot = np.asarray(ndimage.sum(w, windowed, ids), dtype=np.float64)
    sx = np.asarray(ndimage.sum(w * xx, windowed, ids), dtype=np.float64)
    sy = np.asarray(ndimage.sum(w * yy, windowed, ids), dtype=np.float64)
    xy = peaks[:, ::-1].astype(np.float64)
    ok = tot > 0
    xy[ok, 0] = sx[ok] / tot[ok]
    xy[ok, 1] = sy[ok] / tot[ok]
    return xy, ids


def _drop_faint(labels, detection, min_snr):
    """Remove objects whose isophotal S/N, ``sum(detection) / sqrt(area)`` on a detection image
    in sky-sigma units, is below ``min_snr``; renumber the rest 1..n."""
    n = int(labels.max())
    if n == 0:
        return labels
    ids = np.arange(1, n + 1)
    area = ndimage.sum(np.ones(labels.shape), labels, ids)
    snr = ndimage.sum(detection, labels, ids) / np.sqrt(np.maximum(area, 1))
    keep = (snr >= min_snr) & (area > 0)
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[ids[keep]] = np.arange(1, keep.sum() + 1)
    return lut[labels]


def trim_footprints(labels, significance, threshold, *, min_pixels=5):
    """Shrink each object's footprint to its pixels with ``significance >= threshold``.

    Detection and footprint answer different questions: a faint object is *found* on the pixels
    that rise just above the noise, but its footprint (the isophote) is better bounded higher up,
    where the smoothing of the detection image no longer spreads the object over the surrounding
    sky -- SExtractor's distinct detection and analysis thresholds. An object never loses all its
    pixels: one with fewer than ``min_pixels`` pixels above ``threshold`` keeps its
    ``min_pixels`` most significant ones (all of them when it has fewer), so labels, catalogue
    rows and object count are unchanged.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Objects, 0 = background.
    significance : ndarray of float, shape (H, W)
        Per-pixel detection significance (sky sigmas).
    threshold : float
        Footprint threshold (same units).
    min_pixels : int, default=5

    Returns
    -------
    ndarray of int32, shape (H, W)
        ``labels`` with the trimmed pixels set to 0.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.segmentation import trim_footprints
    >>> lab = np.array([[1, 1, 1, 0, 2, 2]])
    >>> sig = np.array([[1.0, 5.0, 2.0, 0.0, 0.5, 0.4]])
    >>> trim_footprints(lab, sig, 3.0, min_pixels=1)
    array([[0, 1, 0, 0, 2, 0]], dtype=int32)
    """
    labels = np.asarray(labels)
    significance = np.asarray(significance)
    keep = (labels > 0) & (significance >= threshold)
    n = int(labels.max()) if labels.size else 0
    if n == 0:
        return labels.astype(np.int32)
    short = np.bincount(labels[keep], minlength=n + 1) < min_pixels
    short[0] = False
    if short.any():
        # objects with too few pixels above the threshold keep their most significant pixels
        idx = np.flatnonzero(short[labels])
        lab = labels.ravel()[idx]
        order = np.lexsort((-significance.ravel()[idx], lab))
        idx, lab = idx[order], lab[order]
        rank = np.arange(idx.size) - np.searchsorted(lab, lab, side="left")
        keep.ravel()[idx[rank < min_pixels]] = True
    return np.where(keep, labels, 0).astype(np.int32)


def make_catalog(labels, detection, flux_image, *, image_index=0):
    """Catalogue of the objects of one labelled image.

    Returns
    -------
    pandas.DataFrame
        One row per object: ``image`` (``image_index``), ``label``, ``x``, ``y``
        (:func:`object_positions` on ``detection``), ``area`` (pixels) and ``flux`` (sum of
        ``flux_image`` over the object).
    """
    xy, ids = object_positions(labels, detection)
    return pd.DataFrame({
        "image": np.full(len(ids), image_index, dtype=int),
        "label": ids.astype(int),
        "x": xy[:, 0],
        "y": xy[:, 1],
        "area": np.bincount(labels.ravel())[ids].astype(int) if len(ids) else [],
        "flux": ndimage.sum(flux_image, labels, ids) if len(ids) else [],
    })

"""Deblending: split touching objects with a watershed from prominent peaks.

Greyscale reconstruction by dilation gives the h-maxima transform (the peaks rising at least
``h`` above their saddle), and a priority-flood (Meyer) watershed from those peaks divides each
blended component -- SExtractor's deblending criterion written with peak heights instead of
integrated fluxes. A companion on the wing of a brighter object is often no local maximum at
all; it is found as a peak of the residual above the brighter object's point-symmetric
template (``min(I(x), I(2c - x))`` about its peak ``c``, the template of SDSS photo's deblender,
Lupton 2005): galaxies and stars are point-symmetric to first order, a companion is not.
"""
import heapq

import numpy as np
from scipy import ndimage

from ._background import robust_sigma

__all__ = ["deblend_watershed"]

_SKY_SAMPLES = 50_000


def _reconstruct_by_dilation(marker, mask, max_iter=10_000):
    """Greyscale reconstruction by dilation of ``marker`` under ``mask`` (8-connectivity)."""
    rec = np.minimum(marker, mask)
    for _ in range(max_iter):
        nxt = np.minimum(ndimage.grey_dilation(rec, size=(3, 3)), mask)
        if np.array_equal(nxt, rec):
            break
        rec = nxt
    return rec


def _prominent_peaks(smooth, comp, h):
    """Pixels of the peaks of ``smooth`` (inside ``comp``) rising at least ``h`` above their
    saddle: the h-maxima transform, ``smooth - R(smooth - h) >= h``."""
    f = np.asarray(smooth, dtype=np.float64)
    f = np.where(comp, f, f[comp].min())
    rec = _reconstruct_by_dilation(f - h, f)
    return comp & (f - rec >= h * (1 - 1e-9))


def _symmetric_residual_peaks(smooth, sm, comp, box, noise, k, min_distance):
    """Local maxima of the residual of ``sm`` (a component's box of ``smooth``) above the
    point-symmetric template about the component's brightest pixel, at least ``k`` times the
    residual's noise (``sqrt(2) * noise``) and ``min_distance`` px from that pixel."""
    py, px = np.unravel_index(np.argmax(np.where(comp, sm, -np.inf)), sm.shape)
    gy, gx = py + box[0].start, px + box[1].start
    yy, xx = np.mgrid[box]
    ry, rx = 2 * gy - yy, 2 * gx - xx
    inside = (ry >= 0) & (ry < smooth.shape[0]) & (rx >= 0) & (rx < smooth.shape[1])
    mirror = np.array(sm, dtype=np.float64)  # no mirror pixel (image edge): no evidence
    mirror[inside] = smooth[ry[inside], rx[inside]]
    res = np.where(comp, np.maximum(sm - mirror, 0.0), 0.0)
    far = np.hypot(yy - gy, xx - gx) >= min_distance
    return (comp & far & (res >= k * np.sqrt(2.0) * noise)
            & (res == ndimage.maximum_filter(res, size=3)))


def _flood(image, region, markers):
    """Marker-based watershed (Meyer's priority flooding) of ``region``, brightest pixels first:
    each unlabelled pixel joins the label of the neighbour from which the flood reached it."""
    out = np.where(region, markers, 0).astype(np.int32)
    H, W = image.shape
    heap = [(-float(image[y, x]), y, x) for y, x in zip(*np.nonzero(out))]
    heapq.heapify(heap)
    queued = out > 0
    queued |= ~region
    offsets = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    while heap:
        _, y, x = heapq.heappop(heap)
        lab = out[y, x]
        for dy, dx in offsets:
            v, u = y + dy, x + dx
            if 0 <= v < H and 0 <= u < W and not queued[v, u]:
                queued[v, u] = True
                out[v, u] = lab
                heapq.heappush(heap, (-float(image[v, u]), v, u))
    return out


def deblend_watershed(labels, detection, *, sigma=1.0, nsigma=3.0, contrast=0.005,
                      noise=None, min_area=5, significance=None, min_significance=None,
                      symmetry=None, symmetry_min_distance=4.0):
    """Split touching objects of a labelled map with a watershed from prominent peaks.

    Within every labelled component, the peaks of the Gaussian-smoothed ``detection`` image that
    rise above their saddle point by at least ``max(nsigma * noise, contrast * peak)`` (the
    h-maxima transform; ``peak`` is the component's maximum) seed a watershed on the inverted
    smoothed image restricted to the component (priority flooding from the peaks). This is
    SExtractor's deblending criterion expressed with peak heights rather than integrated fluxes.
    Pieces smaller than ``min_area`` pixels are merged back into their neighbour.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        Connected components, 0 = background.
    detection : ndarray of float, shape (H, W)
        Detection image in linear flux, sky subtracted.
    sigma : float, default=1.0
        Gaussian smoothing of ``detection`` (pixels).
    nsigma : float, default=3.0
        Minimum prominence in units of ``noise``.
    contrast : float, default=0.005
        Minimum prominence as a fraction of the component's peak.
    noise : float, default=None
        Noise of the smoothed detection image; None estimates it (:func:`robust_sigma`).
    min_area : int, default=5
    significance : ndarray of float, shape (H, W), default=None
        Detection significance; with ``min_significance``, a peak whose significance is below
        ``min_significance`` seeds no piece of its own (its pixels go to the neighbouring
        pieces), so that every deblended object reaches the detection threshold as the blend
        did.
    min_significance : float, default=None
    symmetry : float, default=None
        Also seed a piece at each local maximum of the residual above the point-symmetric
        template of the component's brightest peak that rises at least ``symmetry`` times the
        residual's noise (``sqrt(2) * noise``): a companion on a brighter object's wing that
        forms no peak of its own. None: off.
    symmetry_min_distance : float, default=4.0
        Residual peaks closer than this (pixels) to the brightest peak are ignored.

    Returns
    -------
    ndarray of int32, shape (H, W)
        Relabelled map, objects numbered from 1.
    """
    detection = np.asarray(detection, dtype=np.float32)
    smooth = ndimage.gaussian_filter(detection, sigma) if sigma else detection
    if noise is None:
        noise = robust_sigma(smooth, max_samples=_SKY_SAMPLES)
    out = np.zeros(labels.shape, dtype=np.int32)
    next_label = 1
    for idx, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        comp = labels[box] == idx
        if comp.sum() < 2 * min_area:
            out[box][comp] = next_label
            next_label += 1
            continue
        sm = smooth[box]
        h = max(nsigma * noise, contrast * float(sm[comp].max()), 1e-12)
        peaks = _prominent_peaks(sm, comp, h)
        if symmetry is not None:
            peaks |= _symmetric_residual_peaks(smooth, sm, comp, box, noise, symmetry,
                                               symmetry_min_distance)
        markers, n_markers = ndimage.label(peaks, structure=np.ones((3, 3)))
        if n_markers > 1 and significance is not None and min_significance is not None:
            top = ndimage.maximum(significance[box], markers, np.arange(1, n_markers + 1))
            keep = np.asarray(top) >= min_significance
            if not keep.any():
                keep[np.argmax(top)] = True
            lut = np.zeros(n_markers + 1, dtype=np.int32)
            lut[1:][keep] = np.arange(1, keep.sum() + 1)
            markers, n_markers = lut[markers], int(keep.sum())
        if n_markers <= 1:
            out[box][comp] = next_label
            next_label += 1
            continue
        ws = _flood(sm, comp, markers)
        # merge pieces smaller than min_area into the largest touching piece
        areas = np.bincount(ws.ravel(), minlength=n_markers + 1)
        for k in np.flatnonzero(areas[1:] < min_area) + 1:
            piece = ws == k
            if not piece.any():
                continue
            ring = ndimage.binary_dilation(piece, structure=np.ones((3, 3))) & comp & ~piece
            neigh = ws[ring]
            neigh = neigh[(neigh > 0) & (neigh != k)]
            ws[piece] = np.bincount(neigh).argmax() if neigh.size else 0
        sub = out[box]
        for k in np.unique(ws[comp]):
            if k == 0:
                continue
            sub[ws == k] = next_label
            next_label += 1
    return out

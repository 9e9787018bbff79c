"""Matched-filter detection with a calibrated false-positive rate.

1. Each detection band is background-subtracted (:func:`estimate_background`) and the bands are
   combined into a detection image ``d`` of unit noise per pixel, weighting each band by the
   expected source flux over its variance: ``d = sum_b s_b (x_b - bkg_b) / rms_b**2 /
   sqrt(sum_b s_b**2 / rms_b**2)`` (:func:`detection_image`), the linear combination of
   highest S/N for sources of SED ``s`` (Szalay, Connolly & Szokoly 1999). ``s = 1`` is the
   inverse-variance sum; the segmenter takes ``s`` as the median SED of the objects found on
   that sum (:func:`object_sed`). Any ``s`` leaves ``d`` with unit Gaussian noise, so the
   false-positive rate below holds whatever the weights.
2. ``d`` is smoothed by a Gaussian of ``smoothing`` pixels (the PSF scale: a matched filter for
   faint point sources). For white noise the smoothed image has noise ``sqrt(sum(k**2))`` (``k``
   the discrete kernel, restricted to valid pixels near edges and masks); the noise is also
   *measured* on the smoothed image's empty sky (MAD away from pixels above 3 sigma,
   :func:`sky_noise_scale`) and the larger of the two is used, so correlated noise (resampled
   images) never makes the significance over-confident, while the sources of a crowded field
   are not taken for noise.
3. Objects are the 8-connected regions of significance ``>= footprint_threshold`` that hold at
   least ``min_area`` pixels and whose peak reaches ``threshold`` (hysteresis: a high threshold
   to *find* an object, a lower one for its footprint, as SExtractor's detection and analysis
   thresholds).

False detections on a noise-only frame are then local maxima of a smoothed Gaussian random field
above ``threshold``; their expected number is the Euler characteristic of the excursion set
(Adler 1981; Worsley et al. 1996):
``E = A * lambda / (2 pi)**1.5 * t * exp(-t**2 / 2) + P * sqrt(lambda) / (4 pi) * exp(-t**2 / 2)
+ Phi(-t)``, with ``A`` the area, ``P`` the perimeter and ``lambda = 1 / (2 s**2)`` the variance
of the field's derivative for white noise smoothed by a Gaussian of ``s`` pixels
(:func:`expected_false_detections`).
"""
import math

import numpy as np
from scipy import ndimage
from scipy.special import ndtr

from ._background import estimate_background, robust_sigma
from ._catalog import labelled_max

__all__ = ["band_residuals", "detect_sources", "detection_image", "expected_false_detections",
           "object_sed", "sky_noise_scale", "smoothed_significance"]

_SKY_SAMPLES = 50_000


def kernel_norm(smoothing):
    """``sqrt(sum(k**2))`` of the discrete Gaussian kernel that ``ndimage.gaussian_filter``
    applies with ``sigma=smoothing``: the noise of a smoothed unit white-noise image."""
    if not smoothing:
        return 1.0
    radius = int(4.0 * smoothing + 0.5)
    delta = np.zeros((2 * radius + 1,) * 2)
    delta[radius, radius] = 1.0
    k = ndimage.gaussian_filter(delta, smoothing, mode="constant")
    return float(np.sqrt((k**2).sum()))


def expected_false_detections(shape, threshold, smoothing):
    """Expected number of noise peaks above ``threshold`` on a noise-only frame.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` of the frame.
    threshold : float
        Peak threshold in units of the noise of the smoothed image.
    smoothing : float
        Gaussian sigma (pixels) of the matched filter applied to white noise.

    Returns
    -------
    float
        The expected Euler characteristic of the excursion set above ``threshold`` (for high
        thresholds, the expected number of components, hence of false detections; an upper bound
        once ``min_area`` is also required).

    Examples
    --------
    >>> from galaxy_learn.segmentation import expected_false_detections
    >>> round(expected_false_detections((1489, 2048), 5.5, 1.5), 3)
    0.064
    """
    H, W = shape
    t = float(threshold)
    lam = 1.0 / (2.0 * max(float(smoothing), 0.5) ** 2)
    tail = math.exp(-t * t / 2.0)
    return float(H * W * lam / (2 * math.pi) ** 1.5 * t * tail
                 + 2 * (H + W) * math.sqrt(lam) / (4 * math.pi) * tail + ndtr(-t))


def band_residuals(bands, bad, *, mesh_size=64, filter_size=3):
    """Background-subtracted bands and their RMS maps: ``(residuals, rms)``, each ``(B, H, W)``,
    residuals 0 on ``bad`` pixels. A band without measurable noise (constant, or fully masked)
    has an RMS map of zeros and takes no part in the detection image."""
    residuals = np.zeros(bands.shape)
    rms_maps = np.zeros(bands.shape)
    for b, band in enumerate(bands):
        bkg, rms = estimate_background(band, mask=bad, mesh_size=mesh_size,
                                       filter_size=filter_size)
        residuals[b] = np.where(bad, 0.0, band - bkg)
        positive = rms[rms > 0]
        if positive.size == 0:
            # clipping can leave only equal values on a handful of pixels: fall back to the
            # plain standard deviation; a band without any is constant (no noise)
            spread = float(np.std(band[~bad])) if (~bad).any() else 0.0
            if not spread > 0:
                continue
            rms = positive = np.full(band.shape, spread)
        rms_maps[b] = np.where(rms > 0, rms, np.median(positive))
    return residuals, rms_maps


def detection_image(residuals, rms, bad, sed=None):
    """Unit-noise detection image of background-subtracted bands ``residuals`` ``(B, H, W)``
    with RMS maps ``rms``: ``d = sum_b s_b r_b / rms_b**2 / sqrt(sum_b s_b**2 / rms_b**2)``, the
    matched filter in colour for sources of spectral energy distribution ``s`` (flux per band,
    any normalisation; None: equal flux in every band, the inverse-variance sum). Its S/N for a
    source of that SED is ``sqrt(sum_b (f_b / rms_b)**2)``, the most any linear combination of
    the bands reaches (Szalay, Connolly & Szokoly 1999, AJ 117, 68, section 2). 0 on ``bad``
    pixels. Returns ``(d, zero_noise)``: ``zero_noise`` is True when no band has measurable noise
    (a constant or fully masked image)."""
    s = np.ones(len(residuals)) if sed is None else np.asarray(sed, dtype=np.float64)
    num = np.zeros(residuals.shape[1:])
    wsum = np.zeros(residuals.shape[1:])
    for sb, r, sigma in zip(s, residuals, rms):
        if not sb > 0 or not sigma.any():
            continue
        w = sb / sigma**2
        num += r * w
        wsum += sb * w
    if not wsum.any():
        return np.zeros(residuals.shape[1:]), True
    return np.where(bad, 0.0, num / np.sqrt(wsum)), False


def object_sed(residuals, labels):
    """Typical spectral energy distribution of the objects of ``labels``: per band, the median
    over objects of the object's flux in that band divided by its flux summed over bands (each
    object counts once, whatever its brightness); negative values are set to 0. None when no
    object has a positive summed flux."""
    ids = np.unique(labels)
    ids = ids[ids > 0]
    if ids.size == 0:
        return None
    flux = np.stack([ndimage.sum(r, labels, ids) for r in residuals], axis=1)
    total = flux.sum(axis=1)
    ok = total > 0
    if not ok.any():
        return None
    sed = np.clip(np.median(flux[ok] / total[ok, None], axis=0), 0.0, None)
    return sed if sed.any() else None


def _gauss1d(smoothing):
    radius = int(4.0 * smoothing + 0.5)
    delta = np.zeros(2 * radius + 1)
    delta[radius] = 1.0
    return ndimage.gaussian_filter1d(delta, smoothing, mode="constant")


def smoothed_significance(d, bad, smoothing):
    """Significance of the smoothed unit-noise detection image ``d``: ``(significance, scale)``.

    The image is smoothed with zeros beyond its edges and on ``bad`` pixels, and each pixel is
    divided by its own white-noise level ``sqrt(sum(k**2 * valid))`` (exact near edges and masked
    pixels, where reflecting the image would duplicate noise and inflate it), times ``scale``:
    the result's noise on the empty sky (:func:`sky_noise_scale`) when above 1 (correlated
    noise), else 1.
    """
    if not smoothing:
        sm, local = d.copy(), (~bad).astype(float)
    else:
        sm = ndimage.gaussian_filter(d, smoothing, mode="constant")
        g2 = _gauss1d(smoothing) ** 2
        local = (~bad).astype(float)
        for axis in (0, 1):
            local = ndimage.correlate1d(local, g2, axis=axis, mode="constant")
        local = np.sqrt(np.maximum(local, 0.0))
    ok = (local > 0) & ~bad
    sig = np.zeros_like(sm)
    sig[ok] = sm[ok] / local[ok]
    scale = max(1.0, sky_noise_scale(sig, ok, smoothing))
    return sig / scale, scale


def sky_noise_scale(sig, ok, smoothing, *, clip=3.0, n_iter=3):
    """Measured noise of a smoothed significance image ``sig`` on its empty sky.

    The MAD of the pixels of ``ok`` that lie farther than ``2 * max(smoothing, 1)`` pixels from
    any pixel above ``clip`` times the current estimate, iterated ``n_iter`` times from the MAD
    of all pixels: sources widen the positive side of the distribution, and counting them as
    noise would raise the effective threshold on crowded fields (by ~15 % on simulated
    SDSS-depth fields); correlated noise (resampled images) still comes out above 1. Selecting
    pixels without a high neighbour biases the estimate low by up to ~5 % when most of the
    frame is masked (tested); :func:`smoothed_significance` never uses less than the
    white-noise value.
    Returns 1.0 when fewer than 2 pixels are usable.
    """
    if ok.sum() < 2:
        return 1.0
    scale = robust_sigma(sig[ok], max_samples=_SKY_SAMPLES)
    grow = int(np.ceil(2 * max(float(smoothing), 1.0)))
    for _ in range(n_iter):
        hot = ndimage.binary_dilation(ok & (sig > clip * scale), iterations=grow)
        keep = ok & ~hot
        if keep.sum() < max(2, 0.05 * ok.sum()):
            break
        new = robust_sigma(sig[keep], max_samples=_SKY_SAMPLES)
        if not new > 0 or abs(new - scale) < 1e-3 * scale:
            scale = new if new > 0 else scale
            break
        scale = new
    return float(scale)


def detect_sources(significance, *, threshold, footprint_threshold, min_area=5,
                   fill_holes=True, mask=None):
    """Labelled objects: 8-connected regions above ``footprint_threshold`` with at least
    ``min_area`` pixels and a peak at least ``threshold``, numbered 1..n; pixels of ``mask``
    never belong to an object."""
    low = significance >= min(footprint_threshold, threshold)
    if fill_holes:
        low = ndimage.binary_fill_holes(low)
    if mask is not None:
        low &= ~mask
    lab, n = ndimage.label(low, structure=np.ones((3, 3)))
    if n == 0:
        return lab.astype(np.int32)
    ids = np.arange(1, n + 1)
    peak = labelled_max(significance, lab, ids)[0]
    area = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    keep = (peak >= threshold) & (area >= min_area)
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[ids[keep]] = np.arange(1, keep.sum() + 1)
    return lut[lab]

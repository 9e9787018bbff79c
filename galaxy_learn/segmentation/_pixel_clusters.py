"""k-means on pixel hypercolumns: stratified pixel sampling, the cluster fit, the object /
background rule and the per-pixel cluster map (the optional learned refinement of
:class:`~galaxy_learn.segmentation.HypercolumnSegmenter`, ``method="hypercolumns"``)."""
import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans

from ._fields import apply_tiled, iter_tiles

__all__ = ["cluster_map", "fit_pixel_clusters", "object_rule"]


def _stratified_sample(significance, k, bright_fraction, rng, cut=2.0):
    """Indices of ``k`` pixels, a ``bright_fraction`` of them among pixels of significance above
    ``cut`` (as many as exist), the rest uniformly among the others; plus each drawn pixel's
    weight (inverse inclusion probability) so that means over the sample stay unbiased."""
    n = len(significance)
    if k >= n:
        return np.arange(n), np.ones(n)
    bright = np.flatnonzero(significance > cut)
    faint = np.flatnonzero(significance <= cut)
    k_b = min(len(bright), int(round(bright_fraction * k)))
    k_f = min(len(faint), k - k_b)
    sel_b = rng.choice(bright, k_b, replace=False) if k_b else bright[:0]
    sel_f = rng.choice(faint, k_f, replace=False) if k_f else faint[:0]
    w_b = np.full(k_b, len(bright) / max(k_b, 1))
    w_f = np.full(k_f, len(faint) / max(k_f, 1))
    return np.concatenate([sel_b, sel_f]), np.concatenate([w_b, w_f])


def _features(extractor, tile, significance, significance_weight):
    """Hypercolumns ``(h, w, F)`` of one scaled tile ``(C, h, w)``, plus the weighted detection
    significance as one more feature when ``significance_weight > 0``."""
    hc = extractor.hypercolumns(tile[None])[0]
    if significance_weight:
        sig = (significance_weight * significance)[..., None].astype(hc.dtype)
        hc = np.concatenate([hc, sig], axis=-1)
    return hc


def fit_pixel_clusters(extractor, S, significances, *, n_clusters, max_fit_pixels,
                       bright_fraction, significance_weight, tile_size, tile_overlap, align,
                       rng, seed):
    """k-means on a stratified pixel sample of the scaled images ``S`` ``(n, C, H, W)``.

    Returns the fitted k-means and each cluster's mean significance (weighted back to the
    uniform pixel distribution; ``-inf`` for an empty cluster).
    """
    n, _, H, W = S.shape
    per_pixel = max_fit_pixels / float(n * H * W)
    feats, dets, weights = [], [], []
    for i in range(n):
        for outer, _, inner_local in iter_tiles((H, W), tile_size, tile_overlap, align=align):
            det = significances[i][outer]
            hc = _features(extractor, S[i][(slice(None),) + outer], det,
                           significance_weight)[inner_local]
            hc = hc.reshape(-1, hc.shape[-1])
            det = det[inner_local].ravel()
            sel, w = _stratified_sample(det, int(np.ceil(per_pixel * len(det))),
                                        bright_fraction, rng)
            feats.append(hc[sel])
            dets.append(det[sel])
            weights.append(w)
    Z, det, weight = np.concatenate(feats), np.concatenate(dets), np.concatenate(weights)
    # never more clusters than distinct pixels (blank or tiny images)
    k = min(n_clusters, len(np.unique(Z, axis=0)))
    if len(Z) > max_fit_pixels // 2:
        km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096)
    else:
        km = KMeans(n_clusters=k, random_state=seed, n_init=3)
    km.fit(Z)
    labels = km.labels_
    flux = np.array([np.average(det[labels == j], weights=weight[labels == j])
                     if np.any(labels == j) else -np.inf for j in range(k)])
    return km, flux


def object_rule(flux, threshold):
    """Object clusters: mean significance above ``threshold`` (``"auto"``: above the midpoint of
    the lowest and highest cluster means); the faintest cluster is always background."""
    obj = np.zeros(len(flux), dtype=bool)
    if threshold == "auto":
        finite = flux[np.isfinite(flux)]
        obj[:] = flux > 0.5 * (finite.min() + finite.max())
    else:
        obj[:] = flux > float(threshold)
    obj[np.argmin(flux)] = False
    return obj


def cluster_map(extractor, kmeans, s, significance, *, significance_weight, tile_size,
                tile_overlap, align):
    """Cluster index of every pixel of one scaled image ``s`` (C, H, W), tile by tile.

    The nearest k-means centre, ``argmax_k (c_k . h - |c_k|^2 / 2)``, is computed in float32
    on the channels-first hypercolumns (one matrix product per tile, no transposed copy).
    """
    centers = np.asarray(kmeans.cluster_centers_, dtype=np.float32)
    offset = -0.5 * np.einsum("kf,kf->k", centers, centers)
    n_learned = extractor.n_pixel_features_

    def fn(tile):
        hc = extractor._pixel_features(tile[None, :-1], channels_last=False)[0]
        score = hc.reshape(n_learned, -1).T @ centers[:, :n_learned].T
        if significance_weight:
            sig = np.float32(significance_weight) * tile[-1].reshape(-1, 1)
            score += sig * centers[:, n_learned]
        score += offset
        return np.argmax(score, axis=1).astype(np.int16).reshape(tile.shape[1:])

    stacked = np.concatenate([s, significance[None].astype(s.dtype)])
    return apply_tiled(fn, stacked, tile_size=tile_size, overlap=tile_overlap, align=align)

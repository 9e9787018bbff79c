"""Segmentation and detection scores: pixel IoU / Dice, object completeness and purity.

Pixel scores compare binary object masks (any non-zero label is "object"). Detection scores
match detected objects to true objects one-to-one by distance (a detection within ``max_distance``
pixels of a true object, nearest pairs first): completeness is the fraction of true objects
matched (per S/N bin), purity the fraction of detections matched.

Coordinates are ``(x, y)`` = (column, row) in pixels, the centre of pixel ``[row, col]`` being
``(col, row)``, as :func:`scipy.ndimage.center_of_mass` gives them (swapped) and as SEP's
``x``, ``y`` are.
"""
import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import cKDTree

__all__ = [
    "detection_scores",
    "dice_score",
    "match_objects",
    "object_centroids",
    "pixel_iou",
]


def _binary_pair(y_true, y_pred):
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.shape != p.shape:
        msg = f"y_true and y_pred must have the same shape; got {t.shape} and {p.shape}."
        raise ValueError(msg)
    return t != 0, p != 0


def pixel_iou(y_true, y_pred):
    """Intersection over union of the object pixels of two maps.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (..., H, W)
        Masks or labelled maps; non-zero means object. All images are pooled.

    Returns
    -------
    float
        ``|T & P| / |T | P|`` (1.0 when both are empty).

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.metrics import pixel_iou
    >>> pixel_iou(np.array([[1, 1, 0, 0]]), np.array([[0, 1, 1, 0]]))
    0.3333333333333333
    """
    t, p = _binary_pair(y_true, y_pred)
    union = np.count_nonzero(t | p)
    return 1.0 if union == 0 else float(np.count_nonzero(t & p) / union)


def dice_score(y_true, y_pred):
    """Dice coefficient ``2 |T & P| / (|T| + |P|)`` of the object pixels of two maps.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.metrics import dice_score
    >>> dice_score(np.array([[1, 1, 0, 0]]), np.array([[0, 1, 1, 0]]))
    0.5
    """
    t, p = _binary_pair(y_true, y_pred)
    total = np.count_nonzero(t) + np.count_nonzero(p)
    return 1.0 if total == 0 else float(2.0 * np.count_nonzero(t & p) / total)


def object_centroids(labels, image=None):
    """Centroids ``(x, y)`` of the objects of a labelled map (0 = background).

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
    image : ndarray of shape (H, W), default=None
        Weights (flux); None gives geometric centroids. Negative pixels are clipped to 0 (a
        centroid on noise falls back to the geometric one).

    Returns
    -------
    xy : ndarray of shape (n_objects, 2)
        One row per label ``1..labels.max()`` present, in increasing label order.
    ids : ndarray of int
        The labels of the rows.
    """
    labels = np.asarray(labels)
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if ids.size == 0:
        return np.zeros((0, 2)), ids
    ones = np.ones(labels.shape)
    geo = np.asarray(ndimage.center_of_mass(ones, labels, ids), dtype=float).reshape(-1, 2)
    if image is None:
        yx = geo
    else:
        w = np.clip(np.asarray(image, dtype=float), 0, None)
        tot = ndimage.sum(w, labels, ids)
        yx = geo.copy()
        ok = tot > 0
        if ok.any():
            yx[ok] = np.asarray(ndimage.center_of_mass(w, labels, ids[ok])).reshape(-1, 2)
    return yx[:, ::-1].copy(), ids


def match_objects(true_xy, pred_xy, *, max_distance=2.0):
    """One-to-one matching of detections to true objects within ``max_distance`` pixels.

    Candidate pairs closer than ``max_distance`` are accepted nearest first (greedy), each true
    object and each detection used at most once.

    Returns
    -------
    true_idx, pred_idx : ndarray of int
        Matched pairs.
    """
    t = np.asarray(true_xy, dtype=float).reshape(-1, 2)
    p = np.asarray(pred_xy, dtype=float).reshape(-1, 2)
    if len(t) == 0 or len(p) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    pairs = cKDTree(t).sparse_distance_matrix(cKDTree(p), max_distance, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    pairs = pairs[np.argsort(pairs["v"], kind="stable")]
    used_t = np.zeros(len(t), bool)
    used_p = np.zeros(len(p), bool)
    ti, pi = [], []
    for i, j, _ in pairs:
        if not used_t[i] and not used_p[j]:
            used_t[i] = used_p[j] = True
            ti.append(i)
            pi.append(j)
    return np.asarray(ti, dtype=int), np.asarray(pi, dtype=int)


def detection_scores(true_xy, pred_xy, *, true_snr=None, snr_bins=(0, 3, 5, 10, 20, 50, np.inf),
                     max_distance=2.0, min_snr=5.0):
    """Completeness per S/N bin and purity of a detection catalogue.

    Parameters
    ----------
    true_xy : array-like of shape (n_true, 2)
        True positions ``(x, y)``.
    pred_xy : array-like of shape (n_pred, 2)
        Detected positions ``(x, y)``.
    true_snr : array-like of shape (n_true,), default=None
        S/N of the true objects, for the per-bin completeness and ``completeness_above``.
    snr_bins : sequence of float
        Bin edges of S/N.
    max_distance : float, default=2.0
        Matching radius in pixels.
    min_snr : float, default=5.0
        ``completeness_above`` counts true objects with S/N above this.

    Returns
    -------
    dict with keys
        ``completeness`` (all true objects), ``completeness_above`` (S/N > ``min_snr``),
        ``purity`` (matched detections / detections), ``n_true``, ``n_pred``, ``n_matched``, and
        ``per_bin``: a DataFrame with columns ``snr_min, snr_max, n_true, n_matched,
        completeness``.

    Examples
    --------
    >>> from galaxy_learn.metrics import detection_scores
    >>> s = detection_scores([[10, 10], [30, 30]], [[11, 10], [50, 50]], true_snr=[8, 20])
    >>> s["completeness"], s["purity"]
    (0.5, 0.5)
    """
    t = np.asarray(true_xy, dtype=float).reshape(-1, 2)
    p = np.asarray(pred_xy, dtype=float).reshape(-1, 2)
    ti, pi = match_objects(t, p, max_distance=max_distance)
    matched = np.zeros(len(t), bool)
    matched[ti] = True
    out = {
        "n_true": len(t),
        "n_pred": len(p),
        "n_matched": len(ti),
        "completeness": float(matched.mean()) if len(t) else float("nan"),
        "purity": len(pi) / len(p) if len(p) else float("nan"),
    }
    rows = []
    if true_snr is not None:
        snr = np.asarray(true_snr, dtype=float).ravel()
        if snr.shape != (len(t),):
            msg = f"true_snr must have one value per true object ({len(t)}); got shape {snr.shape}."
            raise ValueError(msg)
        above = snr > min_snr
        out["completeness_above"] = float(matched[above].mean()) if above.any() else float("nan")
        for lo, hi in zip(snr_bins[:-1], snr_bins[1:]):
            sel = (snr >= lo) & (snr < hi)
            n = int(sel.sum())
            rows.append((lo, hi, n, int(matched[sel].sum()),
                         float(matched[sel].mean()) if n else float("nan")))
    out["per_bin"] = pd.DataFrame(rows, columns=["snr_min", "snr_max", "n_true", "n_matched",
                                                 "completeness"])
    return out

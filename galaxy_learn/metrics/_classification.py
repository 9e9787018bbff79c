"""Scores for classifiers trained without labels.

An unsupervised score (an Isomap coordinate, a latent dimension) has no preferred sign, and cluster
labels have no preferred names. The functions here evaluate such outputs against a truth that was
never seen in training:

* :func:`unsupervised_roc_auc` -- ROC AUC of a score whose orientation is unknown,
  ``max(AUC, 1 - AUC)``, optionally returning which orientation won.
* :func:`best_alignment_accuracy` -- accuracy of cluster labels after the best one-to-one matching
  of clusters to classes (Hungarian algorithm).
* :func:`scores_by_magnitude` -- a per-magnitude-bin table (counts, AUC, accuracy, completeness,
  purity): star/galaxy separability falls with signal-to-noise, so a single number hides where a
  method fails.
"""
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_consistent_length, column_or_1d

__all__ = ["best_alignment_accuracy", "scores_by_magnitude", "unsupervised_roc_auc"]


def _binary_truth(y_true, pos_label, name="y_true"):
    y_true = column_or_1d(y_true)
    labels = np.unique(y_true)
    if labels.size > 2:
        msg = f"{name} must hold two classes; got {labels.size}: {labels[:5].tolist()}."
        raise ValueError(msg)
    if pos_label is None:
        if labels.size == 0:
            msg = f"{name} is empty."
            raise ValueError(msg)
        pos_label = labels[-1]
    return y_true == pos_label, pos_label


def unsupervised_roc_auc(y_true, y_score, *, pos_label=None, return_orientation=False):
    """ROC AUC of a score with no preferred sign: ``max(AUC, 1 - AUC)``.

    An unsupervised coordinate (the first Isomap component, a VAE latent) separates two classes
    equally well whichever sign it has; this score is invariant to ``y_score -> -y_score``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_score : array-like of shape (n_samples,)
        Scores of any sign and scale.
    pos_label : int, float, bool or str, default=None
        The positive class. ``None`` takes the larger of the two labels, as scikit-learn does.
    return_orientation : bool, default=False
        Also return the orientation: ``+1`` if high scores indicate ``pos_label`` (AUC >= 0.5),
        ``-1`` otherwise.

    Returns
    -------
    auc : float
        ``max(AUC, 1 - AUC)``, in ``[0.5, 1]``.
    orientation : int
        Only if ``return_orientation``: ``+1`` or ``-1``.

    Examples
    --------
    >>> from galaxy_learn.metrics import unsupervised_roc_auc
    >>> unsupervised_roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], return_orientation=True)
    (1.0, -1)
    """
    is_pos, _ = _binary_truth(y_true, pos_label)
    y_score = column_or_1d(y_score)
    check_consistent_length(is_pos, y_score)
    if not np.all(np.isfinite(y_score)):
        msg = "y_score contains NaN or infinite values."
        raise ValueError(msg)
    auc = float(roc_auc_score(is_pos, y_score))
    orientation = 1 if auc >= 0.5 else -1
    auc = max(auc, 1.0 - auc)
    if return_orientation:
        return auc, orientation
    return auc


def best_alignment_accuracy(y_true, y_pred, *, return_mapping=False):
    """Accuracy of cluster labels after the best one-to-one matching of clusters to classes.

    The matching maximises the number of agreements (Hungarian algorithm,
    :func:`scipy.optimize.linear_sum_assignment` on the contingency table), so the score is
    invariant to any renaming of the clusters. With more clusters than classes, unmatched clusters
    count as errors.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Cluster labels (any names).
    return_mapping : bool, default=False
        Also return the matching as a dict ``{cluster: class}``.

    Returns
    -------
    accuracy : float
    mapping : dict
        Only if ``return_mapping``.

    Examples
    --------
    >>> from galaxy_learn.metrics import best_alignment_accuracy
    >>> best_alignment_accuracy(["s", "s", "g", "g"], [1, 1, 0, 1])
    0.75
    """
    y_true = column_or_1d(y_true)
    y_pred = column_or_1d(y_pred)
    check_consistent_length(y_true, y_pred)
    if y_true.size == 0:
        msg = "y_true is empty."
        raise ValueError(msg)
    classes, t = np.unique(y_true, return_inverse=True)
    clusters, p = np.unique(y_pred, return_inverse=True)
    table = np.zeros((clusters.size, classes.size), dtype=np.int64)
    np.add.at(table, (p, t), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    accuracy = float(table[rows, cols].sum() / y_true.size)
    if return_mapping:
        return accuracy, {clusters[r].item(): classes[c].item() for r, c in zip(rows, cols)}
    return accuracy


def _bin_scores(is_pos, pred_pos, score):
    n = is_pos.size
    n_pos = int(is_pos.sum())
    tp = int(np.sum(is_pos & pred_pos))
    fp = int(np.sum(~is_pos & pred_pos))
    fn = int(np.sum(is_pos & ~pred_pos))
    tn = n - tp - fp - fn
    both = 0 < n_pos < n
    return {
        "n": n,
        "n_positive": n_pos,
        "auc": float(roc_auc_score(is_pos, score)) if (score is not None and both) else np.nan,
        "accuracy": (tp + tn) / n if n else np.nan,
        "completeness": tp / (tp + fn) if (tp + fn) else np.nan,
        "purity": tp / (tp + fp) if (tp + fp) else np.nan,
    }


def scores_by_magnitude(
    y_true, y_pred, magnitude, *, y_score=None, bins=(14, 18, 19, 20, 21, 22, 30), pos_label=None,
    unsupervised=False,
):
    """Per-magnitude-bin table of classification scores.

    Separability of stars and galaxies falls with signal-to-noise: a method can be perfect at
    r = 17 and a coin toss at r = 22. The table reports, per bin of ``magnitude``:

    * ``n``, ``n_positive``: objects in the bin, of which of the positive class;
    * ``auc``: ROC AUC of ``y_score`` within the bin (NaN when the bin holds one class only);
    * ``accuracy``: fraction of ``y_pred`` equal to ``y_true``;
    * ``completeness``: recall of the positive class, TP / (TP + FN);
    * ``purity``: precision of the positive class, TP / (TP + FP).

    A last row ``"all"`` gives the same over every object.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels in the same label set as ``y_true``.
    magnitude : array-like of shape (n_samples,)
        Magnitude of each object (e.g. ``mag_r``); objects outside ``bins`` or with non-finite
        magnitude appear only in the ``"all"`` row.
    y_score : array-like of shape (n_samples,), default=None
        Continuous score for the AUC column (higher = more positive). ``None`` leaves AUC as NaN.
    bins : sequence of float, default=(14, 18, 19, 20, 21, 22, 30)
        Bin edges (increasing), as in :func:`pandas.cut` (right-closed bins).
    pos_label : label, default=None
        Positive class (e.g. ``"STAR"`` or ``1``); ``None`` takes the larger label of ``y_true``.
    unsupervised : bool, default=False
        If True, ``y_score`` has no known sign: its orientation is fixed ONCE on all objects
        (the sign giving AUC >= 0.5 overall) and the per-bin AUCs use that orientation. Per-bin
        ``max(AUC, 1 - AUC)`` would flatter the faint bins, where a wrong sign is the failure
        to report.

    Returns
    -------
    table : pandas.DataFrame
        Indexed by the magnitude interval (string) plus ``"all"``; columns
        ``mag_lo, mag_hi, n, n_positive, auc, accuracy, completeness, purity``.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.metrics import scores_by_magnitude
    >>> y = np.array([0, 1, 0, 1, 0, 1])
    >>> mag = np.array([17.0, 17.5, 19.5, 19.6, 21.5, 21.7])
    >>> t = scores_by_magnitude(y, [0, 1, 0, 1, 1, 0], mag, bins=[16, 18, 20, 22])
    >>> t["accuracy"].tolist()
    [1.0, 1.0, 0.0, 0.6666666666666666]
    """
    is_pos, pos_label = _binary_truth(y_true, pos_label)
    pred_pos = column_or_1d(y_pred) == pos_label
    magnitude = np.asarray(column_or_1d(magnitude), dtype=float)
    check_consistent_length(is_pos, pred_pos, magnitude)
    bins = np.asarray(bins, dtype=float)
    if bins.ndim != 1 or bins.size < 2 or np.any(np.diff(bins) <= 0):
        msg = f"The 'bins' parameter must be at least two increasing edges. Got {bins.tolist()}."
        raise ValueError(msg)
    score = None
    if y_score is not None:
        score = np.asarray(column_or_1d(y_score), dtype=float)
        check_consistent_length(is_pos, score)
        if unsupervised and 0 < is_pos.sum() < is_pos.size:
            _, sign = unsupervised_roc_auc(is_pos, score, pos_label=True, return_orientation=True)
            score = sign * score
    which = np.digitize(magnitude, bins, right=True)  # i in 1..len(bins)-1 inside the range
    rows, index = [], []
    for i in range(1, bins.size):
        sel = which == i
        row = _bin_scores(is_pos[sel], pred_pos[sel], None if score is None else score[sel])
        rows.append({"mag_lo": bins[i - 1], "mag_hi": bins[i], **row})
        index.append(f"({bins[i - 1]:g}, {bins[i]:g}]")
    rows.append({"mag_lo": np.nan, "mag_hi": np.nan, **_bin_scores(is_pos, pred_pos, score)})
    index.append("all")
    return pd.DataFrame(rows, index=pd.Index(index, name="magnitude"))

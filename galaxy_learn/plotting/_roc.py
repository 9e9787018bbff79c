"""Several ROC curves with their AUC in one figure (supervised vs unsupervised comparisons)."""
import numpy as np
from sklearn.metrics import RocCurveDisplay, auc, roc_curve

from ._common import _get_fig_ax

__all__ = ["RocCurvesDisplay"]


def _binary_scores(estimator, X, pos_label):
    """Score of the positive class: predict_proba column, else decision_function."""
    classes = getattr(estimator, "classes_", None)
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X))
        if proba.ndim == 2:
            col = 1 if pos_label is None or classes is None else list(classes).index(pos_label)
            return proba[:, col]
        return proba
    scores = np.asarray(estimator.decision_function(X))
    if classes is not None and pos_label is not None and pos_label == classes[0]:
        scores = -scores
    return scores


class RocCurvesDisplay:
    """ROC curves of several named classifiers in one axes, each labelled with its AUC.

    Each curve is a :class:`sklearn.metrics.RocCurveDisplay` (kept in ``curves_``), so every
    option of scikit-learn's display applies; this class puts them together with the chance
    diagonal and a legend sorted by AUC.

    Parameters
    ----------
    curves : dict of {str: (fpr, tpr)}
        False and true positive rates per curve name.
    roc_auc : dict of {str: float}, default=None
        Area under each curve; computed from ``fpr, tpr`` when None.
    digits : int, default=3
        Decimals of the AUC in the legend (3 tells 0.990 from 0.995).

    Attributes
    ----------
    curves_ : dict of {str: RocCurveDisplay}
        One scikit-learn display per curve (after :meth:`plot`).
    roc_auc_ : dict of {str: float}
        AUC per curve.
    figure_ : matplotlib Figure
        The figure holding the curves.
    ax_ : matplotlib Axes
        The axes the curves (and the chance diagonal) are drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.plotting import RocCurvesDisplay
    >>> y = np.array([0, 0, 1, 1])
    >>> disp = RocCurvesDisplay.from_predictions(y, {"good": [0.1, 0.2, 0.8, 0.9],
    ...                                              "weak": [0.5, 0.2, 0.4, 0.9]})
    >>> disp.roc_auc_["good"]
    1.0
    """

    def __init__(self, curves, *, roc_auc=None, digits=3):
        self.curves = curves
        self.roc_auc = roc_auc
        self.digits = digits

    def plot(self, ax=None, *, title=None, sort=True, chance_level=True, **kwargs):
        """Draw every curve; ``kwargs`` go to each :meth:`RocCurveDisplay.plot`.

        Returns
        -------
        display : RocCurvesDisplay
        """
        fig, ax = _get_fig_ax(ax, figsize=(5.5, 5))
        roc_auc = dict(self.roc_auc or {})
        for name, (fpr, tpr) in self.curves.items():
            roc_auc.setdefault(name, float(auc(fpr, tpr)))
        names = list(self.curves)
        if sort:
            names.sort(key=lambda n: -roc_auc[n])
        self.curves_ = {}
        for name in names:
            fpr, tpr = self.curves[name]
            disp = RocCurveDisplay(fpr=fpr, tpr=tpr, roc_auc=roc_auc[name], name=name)
            disp.plot(ax=ax, **kwargs)
            disp.line_.set_label(f"{name} (AUC = {roc_auc[name]:.{self.digits}f})")
            self.curves_[name] = disp
        if chance_level:
            ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label="chance (AUC = 0.5)")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.legend(loc="lower right", fontsize=8)
        if title is not None:
            ax.set_title(title)
        self.roc_auc_ = roc_auc
        self.figure_, self.ax_ = fig, ax
        return self

    @classmethod
    def from_predictions(cls, y_true, scores, *, pos_label=None, ax=None, **kwargs):
        """Build from true labels and a ``{name: scores}`` dict of positive-class scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True binary labels.
        scores : dict of {str: array-like of shape (n_samples,)}
            Score of the positive class per curve (probability, decision value, any ranking).
        pos_label : int, float, bool or str, default=None
            Positive class label; None means 1 (or True) as in scikit-learn.
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : RocCurvesDisplay
        """
        curves, roc_auc = {}, {}
        for name, s in scores.items():
            fpr, tpr, _ = roc_curve(y_true, np.asarray(s), pos_label=pos_label)
            curves[name] = (fpr, tpr)
            roc_auc[name] = float(auc(fpr, tpr))
        return cls(curves, roc_auc=roc_auc).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimators(cls, estimators, X, y, *, pos_label=None, ax=None, **kwargs):
        """Build from a ``{name: fitted binary classifier}`` dict evaluated on ``X, y``.

        The positive-class score is ``predict_proba[:, pos_label]`` when available, else
        ``decision_function``.

        Returns
        -------
        display : RocCurvesDisplay
        """
        scores = {name: _binary_scores(est, X, pos_label) for name, est in estimators.items()}
        return cls.from_predictions(y, scores, pos_label=pos_label, ax=ax, **kwargs)

    from_estimator = from_estimators

"""Several confusion matrices side by side (one per model), built on scikit-learn's display."""
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

__all__ = ["plot_confusion_matrices"]


def plot_confusion_matrices(y_true, predictions, *, labels=None, normalize="true", n_cols=3,
                            panel_size=3.2, cmap="Blues"):
    """One :class:`sklearn.metrics.ConfusionMatrixDisplay` per model in a single figure.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or dict of {str: array-like}
        True labels (or one array per model when models were evaluated on different sets).
    predictions : dict of {str: array-like of shape (n_samples,)}
        Predicted labels per model name.
    labels : array-like, default=None
        Label order (default: sorted union of true labels).
    normalize : {"true", "pred", "all"} or None, default="true"
        As in :func:`sklearn.metrics.confusion_matrix` (rows sum to one by default: the
        per-class recall is on the diagonal).
    n_cols : int, default=3
    panel_size : float, default=3.2
    cmap : str, default="Blues"

    Returns
    -------
    displays : dict of {str: ConfusionMatrixDisplay}
        Each with ``figure_`` and ``ax_`` (the shared figure).

    Examples
    --------
    >>> from galaxy_learn.plotting import plot_confusion_matrices
    >>> disps = plot_confusion_matrices([0, 1, 1], {"a": [0, 1, 0], "b": [0, 1, 1]})
    >>> sorted(disps)
    ['a', 'b']
    """
    import matplotlib.pyplot as plt

    names = list(predictions)
    n_cols = min(n_cols, len(names))
    n_rows = int(np.ceil(len(names) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                             figsize=(panel_size * n_cols, panel_size * n_rows * 0.95))
    displays = {}
    for ax, name in zip(axes.flat, names):
        yt = y_true[name] if isinstance(y_true, dict) else y_true
        disp = ConfusionMatrixDisplay.from_predictions(
            yt, predictions[name], labels=labels, normalize=normalize, ax=ax, cmap=cmap,
            colorbar=False, values_format=".2f" if normalize else "d",
        )
        ax.set_title(name, fontsize=9)
        displays[name] = disp
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return displays

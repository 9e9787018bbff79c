"""Image grids: cutouts, cluster examples, reconstructions, segmentation overlays."""
import numpy as np
from sklearn.utils import check_random_state

from ._common import _as_chw, _get_fig_ax, _show

__all__ = [
    "ImageGridDisplay",
    "ReconstructionDisplay",
    "SegmentationOverlayDisplay",
    "plot_cutouts",
]


def _as_images(X, image_shape=None):
    X = np.asarray(X)
    if X.ndim == 2:
        if image_shape is None:
            msg = "2-D X needs image_shape=(bands, height, width) to be shown as images."
            raise ValueError(msg)
        X = X.reshape((len(X),) + tuple(image_shape))
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4:
        msg = f"Images must have shape (n, bands, height, width); got {X.shape}."
        raise ValueError(msg)
    return X


class ImageGridDisplay:
    """Rows of example cutouts, one row per group (cluster, class, magnitude bin, ...).

    Parameters
    ----------
    groups : dict of {label: ndarray of shape (n_i, bands, height, width)}
        Images per row, in order.
    rgb_bands : tuple of 3 int, default=(3, 2, 1)
        Bands of the colour composites for 5-band cutouts (i, r, g of ugriz).
    band : int, default=None
        Show this single band instead of a composite.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of matplotlib Axes, shape (n_groups, n_cols)

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.plotting import ImageGridDisplay
    >>> X = np.random.default_rng(0).random((12, 1, 8, 8))
    >>> disp = ImageGridDisplay.from_predictions(X, np.arange(12) % 3, n_per_group=4)
    >>> disp.axes_.shape
    (3, 4)
    """

    def __init__(self, groups, *, rgb_bands=(3, 2, 1), band=None):
        self.groups = groups
        self.rgb_bands = rgb_bands
        self.band = band

    def plot(self, *, panel_size=1.1, titles=None):
        """Draw the grid (a new figure).

        Parameters
        ----------
        panel_size : float, default=1.1
            Size of one cutout in inches.
        titles : dict of {label: list of str}, default=None
            Titles of the individual cutouts.

        Returns
        -------
        display : ImageGridDisplay
        """
        import matplotlib.pyplot as plt

        n_rows = len(self.groups)
        n_cols = max(1, max(len(v) for v in self.groups.values()))
        fig, axes = plt.subplots(
            n_rows, n_cols, figsize=(panel_size * n_cols + 0.6, panel_size * n_rows + 0.3),
            squeeze=False,
        )
        for r, (label, imgs) in enumerate(self.groups.items()):
            for c in range(n_cols):
                ax = axes[r, c]
                if c < len(imgs):
                    title = (titles or {}).get(label, [None] * len(imgs))[c]
                    _show(ax, imgs[c], rgb_bands=self.rgb_bands, band=self.band, title=title)
                else:
                    ax.axis("off")
            axes[r, 0].set_ylabel(str(label), fontsize=9)
        fig.subplots_adjust(wspace=0.05, hspace=0.15, left=0.06, right=0.99, top=0.97, bottom=0.02)
        self.figure_, self.axes_ = fig, axes
        return self

    @classmethod
    def from_predictions(cls, X, labels, *, n_per_group=8, image_shape=None, random_state=0,
                         rgb_bands=(3, 2, 1), band=None, **kwargs):
        """Pick up to ``n_per_group`` random examples of each label (sorted labels, one row each).

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width) or (n_samples, n_features)
        labels : array-like of shape (n_samples,)
            Cluster or class labels.
        n_per_group : int, default=8
        image_shape : tuple of int, default=None
            To unflatten 2-D ``X``.
        random_state : int, RandomState instance or None, default=0
            Choice of the examples.

        Returns
        -------
        display : ImageGridDisplay
        """
        X = _as_images(X, image_shape)
        labels = np.asarray(labels)
        rng = check_random_state(random_state)
        groups = {}
        for lab in np.unique(labels):
            idx = np.flatnonzero(labels == lab)
            pick = rng.choice(idx, size=min(n_per_group, len(idx)), replace=False)
            groups[f"{lab} (n={len(idx)})"] = X[np.sort(pick)]
        return cls(groups, rgb_bands=rgb_bands, band=band).plot(**kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, *, X_images=None, **kwargs):
        """Group by the labels a fitted clusterer or classifier assigns to ``X``.

        Uses ``estimator.predict(X)``, or ``estimator.labels_`` for clusterers without
        ``predict`` (then ``X`` must be the training data). ``X_images`` (default ``X``) are the
        pictures shown, e.g. the raw cutouts when ``X`` holds latent features.

        Returns
        -------
        display : ImageGridDisplay
        """
        if hasattr(estimator, "predict"):
            labels = estimator.predict(X)
        else:
            labels = estimator.labels_
        return cls.from_predictions(X if X_images is None else X_images, labels, **kwargs)


def plot_cutouts(X, *, titles=None, n_cols=8, image_shape=None, rgb_bands=(3, 2, 1), band=None,
                 panel_size=1.3):
    """Show cutouts in a grid: ugriz as Lupton i,r,g composites, RGB as is, else one band.

    Parameters
    ----------
    X : array-like of shape (n_samples, bands, height, width) or (n_samples, n_features)
    titles : list of str, default=None
    n_cols : int, default=8
    image_shape : tuple of int, default=None
        To unflatten 2-D ``X``.
    rgb_bands : tuple of 3 int, default=(3, 2, 1)
    band : int, default=None
        Show this band in grey instead of a composite.
    panel_size : float, default=1.3

    Returns
    -------
    display : ImageGridDisplay
    """
    X = _as_images(X, image_shape)
    groups = {}
    t = {}
    for r, start in enumerate(range(0, len(X), n_cols)):
        groups[r] = X[start:start + n_cols]
        t[r] = list(titles[start:start + n_cols]) if titles is not None else [None] * len(groups[r])
    disp = ImageGridDisplay(groups, rgb_bands=rgb_bands, band=band).plot(
        panel_size=panel_size, titles=t
    )
    for ax in disp.axes_[:, 0]:
        ax.set_ylabel("")
    return disp


def _reconstruct(estimator, X):
    if hasattr(estimator, "reconstruct"):
        return estimator.reconstruct(X)
    if hasattr(estimator, "inverse_transform") and hasattr(estimator, "transform"):
        return estimator.inverse_transform(estimator.transform(X))
    if hasattr(estimator, "predict"):
        return estimator.predict(X)  # image-to-image estimators (denoisers)
    msg = (f"{type(estimator).__name__} has no reconstruct, inverse_transform or predict method "
           "to produce output images.")
    raise ValueError(msg)


class ReconstructionDisplay:
    """Inputs (top row) over outputs (second row), optionally residuals (third row).

    Input and output share the input's stretch so the comparison is honest.

    Parameters
    ----------
    inputs, outputs : ndarray of shape (n, bands, height, width)
    residuals : bool, default=True
        Add a row with ``input - output`` (single band, symmetric colour scale).
    band : int, default=None
        Band shown in grey (residuals use the middle band when None); composites otherwise.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of matplotlib Axes, shape (2 or 3, n)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from galaxy_learn.plotting import ReconstructionDisplay
    >>> X = np.random.default_rng(0).random((20, 64))
    >>> disp = ReconstructionDisplay.from_estimator(PCA(4).fit(X), X[:5], image_shape=(1, 8, 8))
    >>> disp.axes_.shape
    (3, 5)
    """

    def __init__(self, inputs, outputs, *, residuals=True, band=None, rgb_bands=(3, 2, 1)):
        self.inputs = inputs
        self.outputs = outputs
        self.residuals = residuals
        self.band = band
        self.rgb_bands = rgb_bands

    def plot(self, *, panel_size=1.3, row_labels=("input", "output", "residual")):
        """Draw the rows.

        Returns
        -------
        display : ReconstructionDisplay
        """
        import matplotlib.pyplot as plt

        X, R = np.asarray(self.inputs), np.asarray(self.outputs)
        if X.shape[1:] != R.shape[1:] or len(X) != len(R):
            msg = f"inputs {X.shape} and outputs {R.shape} must have the same shape."
            raise ValueError(msg)
        n_rows = 3 if self.residuals else 2
        fig, axes = plt.subplots(n_rows, len(X), squeeze=False,
                                 figsize=(panel_size * len(X) + 0.5, panel_size * n_rows))
        for k in range(len(X)):
            _show(axes[0, k], X[k], band=self.band, rgb_bands=self.rgb_bands)
            _show(axes[1, k], R[k], band=self.band, rgb_bands=self.rgb_bands, ref=X[k])
            if self.residuals:
                b = X.shape[1] // 2 if self.band is None else self.band
                res = _as_chw(X[k])[b] - _as_chw(R[k])[b]
                lim = np.nanpercentile(np.abs(_as_chw(X[k])[b]), 99) or 1.0
                axes[2, k].imshow(res, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim,
                                  interpolation="nearest")
                axes[2, k].set_xticks([])
                axes[2, k].set_yticks([])
        for r in range(n_rows):
            axes[r, 0].set_ylabel(row_labels[r], fontsize=9)
        fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.07, right=0.99, top=0.98, bottom=0.02)
        self.figure_, self.axes_ = fig, axes
        return self

    @classmethod
    def from_estimator(cls, estimator, X, *, n_images=8, image_shape=None, residuals=True,
                       band=None, **kwargs):
        """Reconstruct the first ``n_images`` of ``X`` with a fitted estimator.

        The output comes from ``estimator.reconstruct(X)`` when it exists, else
        ``inverse_transform(transform(X))`` (auto-encoders, PCA), else ``predict(X)``
        (image-to-image estimators such as denoisers). Flattened in/outputs are reshaped with
        ``image_shape``.

        Returns
        -------
        display : ReconstructionDisplay
        """
        X = X[:n_images]
        R = np.asarray(_reconstruct(estimator, X))
        X_img = _as_images(X, image_shape)
        R_img = R.reshape(X_img.shape) if R.size == X_img.size else _as_images(R, image_shape)
        return cls(X_img, R_img, residuals=residuals, band=band).plot(**kwargs)

    @classmethod
    def from_predictions(cls, X, X_reconstructed, **kwargs):
        """Plot given inputs and outputs (see the class parameters).

        Returns
        -------
        display : ReconstructionDisplay
        """
        plot_kw = {k: kwargs.pop(k) for k in ("panel_size", "row_labels") if k in kwargs}
        return cls(_as_images(X), _as_images(X_reconstructed), **kwargs).plot(**plot_kw)


class SegmentationOverlayDisplay:
    """A cutout with per-pixel class colours and/or the contours of a reference mask.

    Parameters
    ----------
    image : ndarray of shape (bands, height, width) or (height, width)
    labels_pred : ndarray of int of shape (height, width), default=None
        Predicted per-pixel classes (0 = background, drawn transparent), shown as coloured
        translucent regions.
    labels_true : ndarray of int of shape (height, width), default=None
        Reference mask or segmentation map, shown as contours around each non-zero label.
    class_names : dict of {int: str}, default=None
        Legend names of the predicted classes.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.plotting import SegmentationOverlayDisplay
    >>> img = np.random.default_rng(0).random((16, 16))
    >>> mask = np.zeros((16, 16), int); mask[4:9, 4:9] = 1
    >>> disp = SegmentationOverlayDisplay.from_predictions(img, mask, labels_true=mask)
    """

    def __init__(self, image, *, labels_pred=None, labels_true=None, class_names=None,
                 rgb_bands=(3, 2, 1), band=None):
        self.image = image
        self.labels_pred = labels_pred
        self.labels_true = labels_true
        self.class_names = class_names
        self.rgb_bands = rgb_bands
        self.band = band

    def plot(self, ax=None, *, alpha=0.35, contour_color="yellow", title=None):
        """Draw the overlay.

        Returns
        -------
        display : SegmentationOverlayDisplay
        """
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        fig, ax = _get_fig_ax(ax, figsize=(4.5, 4.5))
        _show(ax, self.image, rgb_bands=self.rgb_bands, band=self.band, title=title)
        handles = []
        if self.labels_pred is not None:
            lab = np.asarray(self.labels_pred).astype(int)
            classes = [c for c in np.unique(lab) if c != 0]
            colors = [f"C{k % 10}" for k in range(len(classes))]
            if classes:
                index = np.full(lab.shape, np.nan)
                for k, c in enumerate(classes):
                    index[lab == c] = k
                ax.imshow(np.ma.masked_invalid(index), origin="lower", alpha=alpha,
                          cmap=ListedColormap(colors), vmin=-0.5, vmax=len(classes) - 0.5,
                          interpolation="nearest")
                names = self.class_names or {}
                handles += [Patch(color=col, alpha=0.6, label=str(names.get(c, f"class {c}")))
                            for c, col in zip(classes, colors)]
        if self.labels_true is not None:
            true = np.asarray(self.labels_true).astype(int)
            for c in np.unique(true):
                if c == 0:
                    continue
                ax.contour((true == c).astype(float), levels=[0.5], colors=contour_color,
                           linewidths=1.0, origin="lower")
            from matplotlib.lines import Line2D

            handles.append(Line2D([], [], color=contour_color, label="reference"))
        if handles:
            ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.6)
        self.figure_, self.ax_ = fig, ax
        return self

    @classmethod
    def from_predictions(cls, image, labels_pred, *, labels_true=None, class_names=None,
                         ax=None, **kwargs):
        """Overlay given per-pixel predictions (and a reference) on ``image``.

        Returns
        -------
        display : SegmentationOverlayDisplay
        """
        return cls(image, labels_pred=labels_pred, labels_true=labels_true,
                   class_names=class_names).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, image, *, labels_true=None, class_names=None, ax=None,
                       **kwargs):
        """Segment one ``image`` ``(bands, H, W)`` with a fitted pixel classifier and overlay.

        ``estimator.predict(image[None])`` must return per-pixel labels of shape ``(1, H, W)``.

        Returns
        -------
        display : SegmentationOverlayDisplay
        """
        pred = np.asarray(estimator.predict(np.asarray(image)[None]))
        pred = pred.reshape(np.shape(image)[-2:])
        return cls.from_predictions(image, pred, labels_true=labels_true,
                                    class_names=class_names, ax=ax, **kwargs)

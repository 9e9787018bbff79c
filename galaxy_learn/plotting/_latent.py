"""Scatter of a latent space coloured by class.

The hidden-variable figures of Sun (2017, project notebook, §1.2: the two latent units of an AE or
a VAE, stars and galaxies in two colours) as a scikit-learn display.
"""
import numpy as np

from ._common import _get_fig_ax

__all__ = ["LatentSpaceDisplay"]


def _latents(estimator, X, method):
    if method == "auto":
        for name in ("transform", "embed"):
            if hasattr(estimator, name):
                method = name
                break
        else:
            msg = f"{type(estimator).__name__} has neither transform nor embed; pass method=."
            raise ValueError(msg)
    return np.asarray(getattr(estimator, method)(X))


class LatentSpaceDisplay:
    """Two latent coordinates per object, coloured by class or by a continuous quantity.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_latent)
        Latent coordinates (encoder means, embeddings, projections).
    y : array-like of shape (n_samples,), default=None
        Class labels (one colour and legend entry per class) or a continuous quantity such as
        a magnitude (colour map and colour bar).
    dims : tuple of 2 int, default=(0, 1)
        Latent dimensions on the x and y axes.
    name : str, default=None
        Title.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    scatter_ : list of matplotlib PathCollection
        One per class (one in total for continuous ``y``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from galaxy_learn.plotting import LatentSpaceDisplay
    >>> X = np.random.default_rng(0).normal(size=(50, 6))
    >>> y = np.where(X[:, 0] > 0, "star", "galaxy")
    >>> disp = LatentSpaceDisplay.from_estimator(PCA(2).fit(X), X, y)
    >>> len(disp.scatter_)
    2
    """

    def __init__(self, Z, y=None, *, dims=(0, 1), name=None):
        self.Z = Z
        self.y = y
        self.dims = dims
        self.name = name

    def plot(self, ax=None, *, s=6, alpha=0.6, cmap="viridis", categorical=None, labels=None):
        """Draw the scatter.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        s, alpha : float
            Marker size and opacity.
        cmap : str, default="viridis"
            Colour map for continuous ``y``.
        categorical : bool, default=None
            Treat ``y`` as classes; None decides from its dtype and number of distinct values
            (at most 20 distinct values, or non-float labels).
        labels : dict, default=None
            Display names of the classes (e.g. ``{0: "galaxy", 1: "star"}``).

        Returns
        -------
        display : LatentSpaceDisplay
        """
        Z = np.asarray(self.Z)
        if Z.ndim != 2 or Z.shape[1] < 2:
            msg = f"Z must have shape (n_samples, >= 2 latent dimensions); got {Z.shape}."
            raise ValueError(msg)
        i, j = self.dims
        fig, ax = _get_fig_ax(ax, figsize=(5.5, 4.5))
        self.scatter_ = []
        if self.y is None:
            self.scatter_.append(ax.scatter(Z[:, i], Z[:, j], s=s, alpha=alpha, lw=0))
        else:
            y = np.asarray(self.y)
            if categorical is None:
                categorical = y.dtype.kind not in "fc" or len(np.unique(y)) <= 20
            if categorical:
                for k, c in enumerate(np.unique(y)):
                    sel = y == c
                    label = (labels or {}).get(c, c)
                    self.scatter_.append(
                        ax.scatter(Z[sel, i], Z[sel, j], s=s, alpha=alpha, lw=0,
                                   color=f"C{k % 10}", label=f"{label} ({sel.sum()})")
                    )
                legend = ax.legend(markerscale=3, fontsize=8, loc="best")
                for handle in legend.legend_handles:
                    handle.set_alpha(1)
            else:
                sc = ax.scatter(Z[:, i], Z[:, j], c=y, s=s, alpha=alpha, lw=0, cmap=cmap)
                fig.colorbar(sc, ax=ax)
                self.scatter_.append(sc)
        ax.set_xlabel(f"latent {i}")
        ax.set_ylabel(f"latent {j}")
        if self.name:
            ax.set_title(self.name)
        self.figure_, self.ax_ = fig, ax
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, method="auto", dims=(0, 1), name=None,
                       ax=None, **kwargs):
        """Encode ``X`` with a fitted estimator (``transform``, else ``embed``) and plot.

        Parameters
        ----------
        estimator : fitted estimator
            E.g. a VAEEncoder, a PCA, or a CNNClassifier (its last hidden layer via ``embed``).
        X : array-like
            Input of the estimator.
        y : array-like of shape (n_samples,), default=None
            Colours.
        method : {"auto", "transform", "embed"} or str, default="auto"
            Method returning the latent coordinates.

        Returns
        -------
        display : LatentSpaceDisplay
        """
        Z = _latents(estimator, X, method)
        name = name if name is not None else type(estimator).__name__
        return cls(Z, y, dims=dims, name=name).plot(ax=ax, **kwargs)

    @classmethod
    def from_embedding(cls, Z, y=None, *, dims=(0, 1), name=None, ax=None, **kwargs):
        """Plot precomputed latent coordinates ``Z``.

        Returns
        -------
        display : LatentSpaceDisplay
        """
        return cls(Z, y, dims=dims, name=name).plot(ax=ax, **kwargs)

    @classmethod
    def from_manifold(cls, Z, y=None, *, method="auto", random_state=0, name=None, ax=None,
                      manifold_kwargs=None, **kwargs):
        """Map an embedding ``Z`` to 2-D with UMAP or t-SNE (:func:`embed_2d`) and plot it.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_features)
            Embedding.
        y : array-like of shape (n_samples,), default=None
            Colours (cluster labels, classes or a continuous quantity).
        method : {"auto", "umap", "tsne"}, default="auto"
            ``"auto"`` uses UMAP when umap-learn is installed, t-SNE otherwise.
        random_state : int, default=0
            Seed of the map.
        manifold_kwargs : dict, default=None
            Passed to ``umap.UMAP`` or ``TSNE``.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : LatentSpaceDisplay
            ``Z`` holds the 2-D map; ``method_`` the method used.

        Examples
        --------
        >>> import numpy as np
        >>> from galaxy_learn.plotting import LatentSpaceDisplay
        >>> Z = np.random.default_rng(0).normal(size=(40, 5))
        >>> disp = LatentSpaceDisplay.from_manifold(Z, Z[:, 0] > 0, method="tsne")
        >>> disp.ax_.get_xlabel()
        't-SNE 1'
        """
        from ._manifold import embed_2d

        Z2, used = embed_2d(Z, method=method, random_state=random_state,
                            **(manifold_kwargs or {}))
        disp = cls(Z2, y, name=name).plot(ax=ax, **kwargs)
        label = {"umap": "UMAP", "tsne": "t-SNE"}[used]
        disp.ax_.set_xlabel(f"{label} 1")
        disp.ax_.set_ylabel(f"{label} 2")
        disp.method_ = used
        return disp

"""Two-dimensional maps of an embedding for plotting: UMAP (optional) or t-SNE."""
import warnings

import numpy as np

__all__ = ["embed_2d"]

_UMAP_HINT = (
    "method='umap' needs umap-learn: pip install umap-learn "
    "(or pip install 'galaxy_learn[cluster]'); method='auto' falls back to t-SNE without it."
)


def _import_umap():
    try:
        with warnings.catch_warnings():
            # umap-learn warns on import that its optional TensorFlow-based ParametricUMAP is
            # unavailable; only umap.UMAP is used here.
            warnings.filterwarnings("ignore", message=".*Tensorflow not installed",
                                    category=ImportWarning)
            import umap
    except ImportError as exc:
        raise ImportError(_UMAP_HINT) from exc
    return umap


def embed_2d(Z, *, method="auto", random_state=0, **kwargs):
    """Map an embedding to two dimensions for a scatter plot.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Embedding (e.g. ``ContrastiveDenoiser.transform``), standardise it first if its
        dimensions have different scales.
    method : {"auto", "umap", "tsne"}, default="auto"
        ``"umap"``: :class:`umap.UMAP` (optional dependency ``umap-learn``, imported only here);
        ``"tsne"``: :class:`sklearn.manifold.TSNE` (PCA initialisation, perplexity
        ``min(30, (n_samples - 1) / 3)``); ``"auto"``: UMAP when umap-learn is installed, else
        t-SNE.
    random_state : int, default=0
        Seed of the map.
    **kwargs
        Passed to ``umap.UMAP`` or ``TSNE``.

    Returns
    -------
    Z2 : ndarray of shape (n_samples, 2)
    method : str
        The method used, ``"umap"`` or ``"tsne"``.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.plotting import embed_2d
    >>> Z = np.random.default_rng(0).normal(size=(40, 5))
    >>> Z2, used = embed_2d(Z, method="tsne")
    >>> Z2.shape, used
    ((40, 2), 'tsne')
    """
    if method not in ("auto", "umap", "tsne"):
        msg = f"The 'method' parameter must be one of 'auto', 'umap', 'tsne'. Got {method!r}."
        raise ValueError(msg)
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or len(Z) < 4:
        msg = f"Z must have shape (n_samples >= 4, n_features); got {Z.shape}."
        raise ValueError(msg)
    if method == "auto":
        try:
            _import_umap()
            method = "umap"
        except ImportError:
            method = "tsne"
    if method == "umap":
        umap = _import_umap()
        # n_jobs=1: a seeded UMAP runs single-threaded anyway (and warns unless told so).
        params = dict(n_neighbors=min(15, len(Z) - 1), random_state=random_state, n_jobs=1)
        params.update(kwargs)
        return np.asarray(umap.UMAP(**params).fit_transform(Z)), "umap"
    from sklearn.manifold import TSNE

    params = dict(init="pca", perplexity=min(30.0, (len(Z) - 1) / 3), random_state=random_state)
    params.update(kwargs)
    return TSNE(**params).fit_transform(Z), "tsne"

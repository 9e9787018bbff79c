"""Landmark Isomap: Isomap fitted on a subsample, extended out of sample in batches.

scikit-learn's :class:`~sklearn.manifold.Isomap` stores the dense ``n x n`` geodesic distance
matrix and eigendecomposes an ``n x n`` kernel: O(n^2) memory, 10,000 points already take ~20 s on
two cores and the 140,000 objects of an SDSS training set would need ~150 GB. Landmark Isomap
(de Silva & Tenenbaum 2003) keeps the geodesic structure of ``m`` landmarks only and places every
other point by triangulation from its geodesic distances to the landmarks.

This is what :meth:`sklearn.manifold.Isomap.transform` computes for a new point (shortest path
through its ``n_neighbors`` nearest landmarks, then the kernel-PCA projection of the centred
squared distances, which equals de Silva & Tenenbaum's landmark-MDS formula
``y = -1/2 L^# (delta^2 - mean delta^2)``), but scikit-learn loops over query points in Python and
allocates an ``n_queries x m`` matrix at once. :class:`LandmarkIsomap` vectorises that step over
the neighbours and processes queries in fixed-size batches, so memory is O(batch_size x m) and
1,000,000 points take seconds.
"""
import numbers
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from scipy.sparse import SparseEfficiencyWarning
from scipy.sparse.csgraph import connected_components
from sklearn.manifold import Isomap
from joblib import effective_n_jobs
from sklearn.utils import check_random_state

from ..utils._compat import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)

__all__ = ["LandmarkIsomap"]


def _geodesic_to_landmarks(dist_matrix, distances, indices, out=None, buf=None):
    """Shortest path lengths from query points to every landmark through their nearest landmarks.

    ``G[i, l] = min_j (distances[i, j] + dist_matrix[indices[i, j], l])`` computed one neighbour
    rank at a time into preallocated buffers, so memory is two ``(n_queries, n_landmarks)`` arrays
    whatever ``n_neighbors``.
    """
    n, m = indices.shape[0], dist_matrix.shape[1]
    G = np.empty((n, m), dist_matrix.dtype) if out is None else out[:n]
    np.take(dist_matrix, indices[:, 0], axis=0, out=G)
    G += distances[:, :1].astype(G.dtype)
    if indices.shape[1] > 1:
        tmp = np.empty_like(G) if buf is None else buf[:n]
        for j in range(1, indices.shape[1]):
            np.take(dist_matrix, indices[:, j], axis=0, out=tmp)
            tmp += distances[:, j:j + 1].astype(G.dtype)
            np.minimum(G, tmp, out=G)
    return G


def _landmark_mds_projection(kernel_pca):
    """Linear map of the landmark-MDS step: ``y = (g2 - mean(g2)) @ A + b`` for squared distances.

    Unrolls :meth:`sklearn.decomposition.KernelPCA.transform` for the Isomap kernel
    ``K = -g2 / 2``: centring with the training kernel's row and grand means, then projection on the
    eigenvectors scaled by ``1 / sqrt(eigenvalue)`` (de Silva & Tenenbaum's ``L^#``).
    """
    non_zero = np.flatnonzero(kernel_pca.eigenvalues_)
    A = np.zeros_like(kernel_pca.eigenvectors_)
    A[:, non_zero] = kernel_pca.eigenvectors_[:, non_zero] / np.sqrt(
        kernel_pca.eigenvalues_[non_zero]
    )
    centerer = kernel_pca._centerer
    col_sum = A.sum(axis=0)
    # K_c = K - K_fit_rows - rowmean(K) + K_fit_all;  K = -g2 / 2.
    offset = -centerer.K_fit_rows_ @ A + centerer.K_fit_all_ * col_sum
    return -0.5 * A, col_sum, offset


class LandmarkIsomap(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Isomap embedding fitted on a random landmark subsample, for survey-size catalogues.

    ``fit`` draws ``n_landmarks`` points (seeded by ``random_state``) and fits a
    :class:`sklearn.manifold.Isomap` on them; ``transform`` places any point by its geodesic
    distances to the landmarks (landmark MDS, de Silva & Tenenbaum 2003), in batches of
    ``batch_size``. With ``n_landmarks >= n_samples`` every point is a landmark and the embedding of
    the training data equals :class:`~sklearn.manifold.Isomap`'s.

    Cost: fit is that of Isomap on ``m = min(n_landmarks, n_samples)`` points, O(m^2) memory;
    transform is O(n * m * n_neighbors) time and O(batch_size * m) memory.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours of each landmark in the landmark graph, and landmarks through which an
        out-of-sample point is linked to the graph. With fewer landmarks than points each
        landmark's neighbourhood is wider than Isomap's on all data; the geodesic paths are
        coarser but the first coordinates agree closely (see ``benchmarks/bench_threshold.py``).
    n_components : int, default=2
        Number of coordinates of the embedding.
    n_landmarks : int, default=1000
        Number of landmarks (points on which Isomap is fitted). 1,000 landmarks keep an 8 MB
        geodesic matrix; the cost of ``transform`` grows linearly with it. Timings and the
        agreement with full Isomap are in the user guide, "Labels from a class-proportion
        prior" (section "Survey-sized samples: the landmark Isomap").
    eigen_solver : {"auto", "arpack", "dense"}, default="auto"
        Passed to :class:`~sklearn.manifold.Isomap`.
    path_method : {"auto", "FW", "D"}, default="auto"
        Passed to :class:`~sklearn.manifold.Isomap`.
    neighbors_algorithm : {"auto", "brute", "kd_tree", "ball_tree"}, default="auto"
        Passed to :class:`~sklearn.manifold.Isomap`.
    metric : str, default="minkowski"
        Passed to :class:`~sklearn.manifold.Isomap`.
    p : float, default=2
        Passed to :class:`~sklearn.manifold.Isomap`.
    batch_size : int, default=8192
        Points transformed at once; memory of ``transform`` is about
        ``3 * 8 * batch_size * n_landmarks`` bytes.
    n_jobs : int, default=None
        Parallel jobs for the neighbour searches, and threads sharing the batches of
        ``transform`` (``None`` means 1, ``-1`` all cores).
    random_state : int, RandomState instance or None, default=None
        Seeds the landmark draw. (Isomap's eigenvector signs are fixed by scikit-learn's
        ``svd_flip``, so the embedding is deterministic given the landmarks.)

    Attributes
    ----------
    isomap_ : sklearn.manifold.Isomap
        Isomap fitted on the landmarks.
    landmark_indices_ : ndarray of shape (`n_landmarks_`,)
        Row indices (sorted) of the landmarks in the training data.
    n_landmarks_ : int
        Number of landmarks actually used, ``min(n_landmarks, n_samples)``.
    n_connected_components_ : int
        Connected components of the landmarks' neighbour graph before Isomap joined them
        (1 = connected). Several components usually mean well-separated clusters.
    landmark_embedding_ : ndarray of shape (`n_landmarks_`, n_components)
        Embedding of the landmarks.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen during fit, when X has string column names.

    See Also
    --------
    sklearn.manifold.Isomap : the exact method, O(n^2) memory.

    References
    ----------
    V. de Silva and J. B. Tenenbaum, "Global versus local methods in nonlinear dimensionality
    reduction", NeurIPS 15 (2003); "Sparse multidimensional scaling using landmark points",
    Stanford technical report (2004).

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.manifold import LandmarkIsomap
    >>> X = np.random.default_rng(0).normal(size=(5000, 3))
    >>> emb = LandmarkIsomap(n_landmarks=300, random_state=0).fit_transform(X)
    >>> emb.shape
    (5000, 2)
    """

    _parameter_constraints = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_landmarks": [Interval(numbers.Integral, 2, None, closed="left")],
        "eigen_solver": [StrOptions({"auto", "arpack", "dense"})],
        "path_method": [StrOptions({"auto", "FW", "D"})],
        "neighbors_algorithm": [StrOptions({"auto", "brute", "kd_tree", "ball_tree"})],
        "metric": [str, callable],
        "p": [Interval(numbers.Real, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_neighbors=5,
        *,
        n_components=2,
        n_landmarks=1000,
        eigen_solver="auto",
        path_method="auto",
        neighbors_algorithm="auto",
        metric="minkowski",
        p=2,
        batch_size=8192,
        n_jobs=None,
        random_state=None,
    ):
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.n_landmarks = n_landmarks
        self.eigen_solver = eigen_solver
        self.path_method = path_method
        self.neighbors_algorithm = neighbors_algorithm
        self.metric = metric
        self.p = p
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Draw the landmarks and fit Isomap on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (e.g. VAE latent means).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        n_samples = X.shape[0]
        if self.n_neighbors >= min(self.n_landmarks, n_samples):
            msg = (
                f"n_neighbors={self.n_neighbors} must be smaller than the number of landmarks "
                f"min(n_landmarks={self.n_landmarks}, n_samples={n_samples})."
            )
            raise ValueError(msg)
        rng = check_random_state(self.random_state)
        if self.n_landmarks >= n_samples:
            idx = np.arange(n_samples)
        else:
            idx = np.sort(rng.choice(n_samples, size=self.n_landmarks, replace=False))
        self.landmark_indices_ = idx
        self.n_landmarks_ = idx.size
        self.isomap_ = Isomap(
            n_neighbors=self.n_neighbors,
            n_components=self.n_components,
            eigen_solver=self.eigen_solver,
            path_method=self.path_method,
            neighbors_algorithm=self.neighbors_algorithm,
            metric=self.metric,
            p=self.p,
            n_jobs=self.n_jobs,
        )
        with warnings.catch_warnings():
            # Separate clusters (stars vs galaxies) often leave the landmark graph disconnected;
            # Isomap then joins the components by their closest pairs, which is what we want and
            # cheap on a landmark set. Its "might be slow" warning (and scipy's sparse-efficiency
            # warning from the joining) are noise here; the count is kept in
            # n_connected_components_.
            warnings.filterwarnings("ignore", message=".*connected components.*")
            warnings.filterwarnings("ignore", category=SparseEfficiencyWarning)
            self.landmark_embedding_ = self.isomap_.fit_transform(X[idx])
        self.n_connected_components_ = int(
            connected_components(self.isomap_.nbrs_.kneighbors_graph(mode="connectivity"))[0]
        )
        # float32 geodesics halve the memory traffic of transform (relative error ~1e-7).
        self._dist_matrix32 = self.isomap_.dist_matrix_.astype(np.float32)
        self._projection = _landmark_mds_projection(self.isomap_.kernel_pca_)
        return self

    def transform(self, X):
        """Embed X through its geodesic distances to the landmarks, in batches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to embed; may be a memory-mapped array (only one batch is materialised).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            Embedding.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        starts = range(0, X.shape[0], self.batch_size)
        out = np.empty((X.shape[0], self.n_components), dtype=np.float64)
        n_threads = min(effective_n_jobs(self.n_jobs), len(starts))
        if n_threads <= 1:
            self._transform_batches(X, starts, out)
        else:  # numpy's take/minimum/matmul release the GIL: threads share the batches
            with ThreadPoolExecutor(n_threads) as pool:
                jobs = [
                    pool.submit(self._transform_batches, X, starts[i::n_threads], out)
                    for i in range(n_threads)
                ]
                for job in jobs:
                    job.result()
        return out

    def _transform_batches(self, X, starts, out):
        dist32 = self._dist_matrix32
        A, col_sum, offset = self._projection
        n_batch = min(self.batch_size, X.shape[0])
        buf_g = np.empty((n_batch, dist32.shape[1]), np.float32)
        buf_t = np.empty_like(buf_g)
        buf_64 = np.empty(buf_g.shape, np.float64)
        for start in starts:
            chunk = X[start:start + self.batch_size]
            distances, indices = self.isomap_.nbrs_.kneighbors(chunk, return_distance=True)
            G = _geodesic_to_landmarks(dist32, distances, indices, out=buf_g, buf=buf_t)
            # Square and project in float64: float32 BLAS results depend on the batch shape.
            G2 = buf_64[:G.shape[0]]
            np.square(G, out=G2)
            # y = K_c @ A' with K = -G^2/2 centred as in KernelPCA (see the helper above).
            row_mean = G2.mean(axis=1)[:, None]
            out[start:start + chunk.shape[0]] = G2 @ A + 0.5 * row_mean * col_sum + offset

    def fit_transform(self, X, y=None):
        """Fit on landmarks of X, then embed all of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            Embedding, equal to ``fit(X).transform(X)``.
        """
        return self.fit(X).transform(X)

    @property
    def _n_features_out(self):
        return self.n_components

"""ManifoldThresholdClassifier: manifold -> one coordinate -> class-proportion cut, in one estimator.

Scales the label-free cut of :class:`~galaxy_learn.classification.ThresholdClassifier` to survey
catalogues through :class:`~galaxy_learn.manifold.LandmarkIsomap` (user guide, "Labels from a
class-proportion prior").
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state

from ..manifold import LandmarkIsomap
from ..utils._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)
from ._threshold import ThresholdClassifier, _binary_classes_from_y, _CutClassifierMixin

__all__ = ["ManifoldThresholdClassifier"]


def _default_manifold(random_state):
    return LandmarkIsomap(n_components=1, random_state=random_state)


class ManifoldThresholdClassifier(_CutClassifierMixin, BaseEstimator):
    """Manifold embedding to one coordinate, then a class-proportion cut, in one estimator.

    ``method="threshold"`` (default) fits ``manifold`` on ``X`` (e.g. VAE latent means), takes
    coordinate ``component`` of the embedding as the score and cuts it with a
    :class:`ThresholdClassifier` (same ``class_prior``, ``orientation``, ``classes``; see there
    for how ``y`` and ``reference`` are used: only for the orientation).
    ``method="mixture"`` instead fits a two-component :class:`~sklearn.mixture.GaussianMixture`
    on ``X`` itself (weights initialised from the prior) and cuts its log posterior odds.
    With ``class_prior="auto"`` the inner :class:`ThresholdClassifier` estimates the fraction
    from the score (the manifold coordinate, or the log posterior odds; the Gaussian mixture of
    ``method="mixture"`` then starts from k-means); ``class_prior_`` holds it.

    The default manifold is :class:`~galaxy_learn.manifold.LandmarkIsomap` with one component,
    which equals :class:`~sklearn.manifold.Isomap` up to 1,000 objects and scales linearly beyond
    (timings up to 1,000,000 objects in the user guide, "Labels from a class-proportion
    prior"). Any transformer with ``fit`` and ``transform`` works: ``Isomap``, ``PCA``,
    ``KernelPCA``, ``umap.UMAP``. Methods without an out-of-sample ``transform``
    (``SpectralEmbedding``, ``TSNE``) cannot label new objects and are rejected.

    Parameters
    ----------
    manifold : transformer, default=None
        Unfitted transformer (cloned in fit); ``None`` means
        ``LandmarkIsomap(n_components=1, random_state=random_state)``. Used by
        ``method="threshold"`` only. A ``random_state`` parameter left at ``None`` is set to this
        estimator's ``random_state``.
    class_prior : float or "auto", default=0.5
        Fraction of objects of the positive class ``classes_[1]``, in (0, 1), or ``"auto"`` to
        estimate it from the score (see :class:`ThresholdClassifier`).
    method : {"threshold", "mixture"}, default="threshold"
        Score from the manifold coordinate, or from a two-Gaussian mixture on ``X``.
    orientation : {"auto", "high", "low", "narrow", "reference"}, default="auto"
        As in :class:`ThresholdClassifier`. With ``method="mixture"`` the "narrow" rule compares
        the mixture components' covariance determinants in the input space (the positive class
        is the compact component) and "high" means that component.
    component : int, default=0
        Which embedding coordinate is the score.
    classes : tuple of two labels, default=(0, 1)
        Class labels when fitting without ``y``.
    fit_subsample : int or None, default=100_000
        With more training objects than this, the cut (a quantile), its calibration and the
        mixture are fitted on a random subsample of this size (the manifold itself is fitted on
        all of ``X``; :class:`~galaxy_learn.manifold.LandmarkIsomap` only draws landmarks).
        The quantile of 100,000 draws is within ~0.2 percentage points of the full one, far
        below the uncertainty of any prior, and fit then costs seconds, not a pass over the
        survey. ``None`` uses every object.
    random_state : int, RandomState instance or None, default=None
        Seeds the landmark draw, the mixture and the subsamples.

    Attributes
    ----------
    manifold_ : transformer
        Fitted manifold (``method="threshold"``).
    mixture_ : sklearn.mixture.GaussianMixture
        Fitted mixture (``method="mixture"``).
    threshold_classifier_ : ThresholdClassifier
        The cut fitted on the training scores.
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the positive class.
    class_prior_ : float
        Fraction of the positive class used for the cut (``class_prior`` or its estimate).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen in fit, when X has string column names.

    See Also
    --------
    ThresholdClassifier : the cut alone, for a pipeline with its own manifold step.
    galaxy_learn.manifold.LandmarkIsomap : survey-scale Isomap.

    References
    ----------
    The "VAE + Manifold learning" baseline of Sun, Kim, Li and Brunner (2017); the full reference
    is in :class:`ThresholdClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.classification import ManifoldThresholdClassifier
    >>> rng = np.random.default_rng(0)
    >>> stars = rng.normal([0, 0], 0.2, size=(400, 2))
    >>> t = rng.uniform(0, 3, 600)
    >>> galaxies = np.c_[2 + t, np.sin(t)] + rng.normal(0, 0.2, size=(600, 2))
    >>> X, y = np.r_[stars, galaxies], np.r_[np.ones(400), np.zeros(600)]
    >>> clf = ManifoldThresholdClassifier(class_prior=0.4, random_state=0).fit(X)
    >>> float((clf.predict(X) == y).mean()) > 0.95
    True
    """

    _parameter_constraints = {
        "manifold": [HasMethods(["fit", "transform"]), None],
        "class_prior": [Interval(numbers.Real, 0, 1, closed="neither"), StrOptions({"auto"})],
        "method": [StrOptions({"threshold", "mixture"})],
        "orientation": [StrOptions({"auto", "high", "low", "narrow", "reference"})],
        "component": [Interval(numbers.Integral, 0, None, closed="left")],
        "classes": ["array-like"],
        "fit_subsample": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        manifold=None,
        *,
        class_prior=0.5,
        method="threshold",
        orientation="auto",
        component=0,
        classes=(0, 1),
        fit_subsample=100_000,
        random_state=None,
    ):
        self.manifold = manifold
        self.class_prior = class_prior
        self.method = method
        self.orientation = orientation
        self.component = component
        self.classes = classes
        self.fit_subsample = fit_subsample
        self.random_state = random_state

    def _mixture_score(self, X):
        log_resp = self.mixture_.predict_proba(X).clip(1e-300, None)
        log_resp = np.log(log_resp)
        return log_resp[:, self._positive_component] - log_resp[:, 1 - self._positive_component]

    def _score(self, X):
        if self.method == "mixture":
            return self._mixture_score(X)
        emb = self.manifold_.transform(X)
        return np.asarray(emb)[:, self.component]

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, reference=None):
        """Fit the manifold (or mixture) and the cut.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, e.g. latent means of a VAE.
        y : array-like of shape (n_samples,), default=None
            Optional labels, used only for ``classes_`` and the orientation of the cut.
        reference : array-like of shape (n_samples,), default=None
            Optional statistic higher on average for the positive class (orientation).

        Returns
        -------
        self : object
            Fitted classifier.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        if y is not None:
            y, _ = _binary_classes_from_y(y, type(self).__name__)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        inner_orientation = self.orientation
        sub = None
        if self.fit_subsample is not None and X.shape[0] > self.fit_subsample:
            sub = np.sort(rng.choice(X.shape[0], self.fit_subsample, replace=False))
            y = None if y is None else y[sub]
            if reference is not None:
                reference = np.asarray(reference)[sub]
        if self.method == "threshold":
            manifold = _default_manifold(seed) if self.manifold is None else clone(self.manifold)
            if manifold.get_params().get("random_state", 0) is None:
                manifold.set_params(random_state=seed)
            n_out = manifold.get_params().get("n_components")
            if n_out is not None and self.component >= n_out:
                msg = (
                    f"component={self.component} but the manifold has n_components={n_out}; "
                    f"expected component < {n_out}."
                )
                raise ValueError(msg)
            if sub is None:
                emb = np.asarray(manifold.fit_transform(X))
            else:
                emb = np.asarray(manifold.fit(X).transform(X[sub]))
            if self.component >= emb.shape[1]:
                msg = (
                    f"component={self.component} but the manifold returned {emb.shape[1]} "
                    "coordinate(s)."
                )
                raise ValueError(msg)
            self.manifold_ = manifold
            score = emb[:, self.component]
        else:
            weights_init = None
            if not isinstance(self.class_prior, str):
                prior = float(self.class_prior)
                weights_init = [1.0 - prior, prior]
            self.mixture_ = GaussianMixture(
                n_components=2, weights_init=weights_init, reg_covar=1e-4, random_state=seed,
            ).fit(X if sub is None else X[sub])
            dets = [np.linalg.slogdet(c)[1] for c in self.mixture_.covariances_]
            self._positive_component = int(np.argmin(dets))  # the compact component
            if self.orientation in ("auto", "narrow") and y is None and reference is None:
                inner_orientation = "high"
            elif self.orientation == "narrow":
                inner_orientation = "high"
            score = self._mixture_score(X if sub is None else X[sub])
        self.threshold_classifier_ = ThresholdClassifier(
            class_prior=self.class_prior,
            orientation=inner_orientation,
            classes=self.classes,
            random_state=seed,
        ).fit(score[:, None], y, reference=reference)
        self.classes_ = self.threshold_classifier_.classes_
        self.class_prior_ = self.threshold_classifier_.class_prior_
        return self

    def decision_function(self, X):
        """Log-odds of the positive class ``classes_[1]``; > 0 means predicted positive.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self.threshold_classifier_.decision_function(self._score(X)[:, None])

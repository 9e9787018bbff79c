"""Classification without labels: cut a one-dimensional score where a class-proportion prior says.

The recipe for star/galaxy separation of Sun et al. (2017, "Baseline: VAE + Manifold learning"):
encode the cutouts (VAE), map the latent space to one coordinate (Isomap), and cut that
coordinate so that a known fraction of objects ("about 40% of these are stars") falls on one
side. :class:`ThresholdClassifier` is the cut;
:class:`ManifoldThresholdClassifier` chains manifold -> coordinate -> cut in one estimator and
scales to survey catalogues through :class:`~galaxy_learn.manifold.LandmarkIsomap`.
With ``class_prior="auto"`` the fraction itself is estimated from the score (a two-component
Student-t mixture), so no number has to be guessed.
"""
import functools
import numbers
import warnings

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_expit
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.utils import assert_all_finite, check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ..utils._compat import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)

from ._prior import _PRIOR_MAX_SAMPLES, _fit_prior_mixture, _score_scale

# Floats next to 0.5 whose complements 1 - p are exact: probabilities of a tiny nonzero log-odds.
_HALF_UP, _HALF_DOWN = 0.5 + 2.0**-53, 0.5 - 2.0**-53

__all__ = ["ThresholdClassifier"]

# Points used to fit the calibration mixture (a random subsample above this size: the mixture of
# a 1-D score is pinned down to < 1% by 50,000 points, and a survey has millions).
_MAX_CALIBRATION_SAMPLES = 50_000
# Bounds of the logistic slope in units of the score's standard deviation: steep enough to be a
# step for well-separated classes, never flat, never a 0/1 saturation that would tie the ranks.
_SLOPE_BOUNDS = (1e-2, 10.0)
# Standardised scores further than this from the centre are left out of the calibration and
# "narrow" mixture fits: a Gaussian component would collapse onto them and flatten the slope.
# Scores standardised by their standard deviation reach it only with extreme outliers (|z| is
# at most 2 sqrt(n) ~ 450 for the 50,000 calibration points, and ~3-5 for ordinary data).
_Z_CLIP = 50.0

def _check_binary_classes(classes, name="classes"):
    classes = np.asarray(classes)
    if classes.ndim != 1 or classes.size != 2 or classes[0] == classes[1]:
        msg = (
            f"The '{name}' parameter must be two distinct labels (negative, positive), "
            f"e.g. (0, 1) or ('GALAXY', 'STAR'). Got {classes!r}."
        )
        raise ValueError(msg)
    return np.unique(classes)


def _binary_classes_from_y(y, estimator_name):
    y = column_or_1d(y, warn=True)
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")
    check_classification_targets(y)
    classes = np.unique(y)
    if classes.size != 2:
        kind = type_of_target(y)
        msg = (
            f"Only binary classification is supported. The type of the target is {kind}: "
            f"y has {classes.size} class(es) {classes[:5].tolist()}; {estimator_name} separates "
            "exactly two classes."
        )
        raise ValueError(msg)
    return y, classes


def _fit_classes(estimator, y, n_samples):
    """``(y, classes_)`` of a label-free binary classifier's fit: the two labels of ``y`` when
    given (checked against ``n_samples``), else the estimator's ``classes`` parameter."""
    if y is None:
        return None, _check_binary_classes(estimator.classes)
    y, classes = _binary_classes_from_y(y, type(estimator).__name__)
    if y.shape[0] != n_samples:
        msg = f"X has {n_samples} samples but y has {y.shape[0]}."
        raise ValueError(msg)
    return y, classes


def _rank_correlation(a, b):
    ra, rb = rankdata(a), rankdata(b)
    sa, sb = ra.std(), rb.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(np.mean((ra - ra.mean()) * (rb - rb.mean())) / (sa * sb))


def _standardise(s, center, scale):
    """``(s - center) / scale`` without the points beyond +-_Z_CLIP (no overflow warnings)."""
    with np.errstate(over="ignore", invalid="ignore"):
        z = (s - center) / scale
    return z[np.abs(z) <= _Z_CLIP]


def _two_gaussians(z, weight_pos, cut):
    """Two-component 1-D Gaussian mixture initialised from the two sides of the cut."""
    low, high = z[z <= cut], z[z > cut]
    if low.size < 2 or high.size < 2:
        return None
    means = np.array([[low.mean()], [high.mean()]])
    variances = np.array([low.var(), high.var()]) + 1e-3
    gm = GaussianMixture(
        n_components=2,
        covariance_type="full",
        weights_init=np.array([1.0 - weight_pos, weight_pos]),
        means_init=means,
        precisions_init=(1.0 / variances)[:, None, None],
        reg_covar=1e-4,
        max_iter=200,
    )
    # An EM that stops at max_iter still gives usable posteriors for the slope and the side of
    # the narrow component; its warning would only alarm (tied or near-degenerate scores).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gm.fit(z[:, None])


def _fit_slope(z, cut, weight_pos):
    """Slope of ``sigmoid(a (z - cut))`` fitted by cross-entropy to mixture posteriors."""
    gm = _two_gaussians(z, weight_pos, cut)
    if gm is None:
        return _SLOPE_BOUNDS[1]
    pos = int(np.argmax(gm.means_.ravel()))
    r = gm.predict_proba(z[:, None])[:, pos]
    dz = z - cut

    def loss(log_a):
        t = np.exp(log_a) * dz
        return -np.mean(r * log_expit(t) + (1.0 - r) * log_expit(-t))

    res = minimize_scalar(loss, bounds=np.log(_SLOPE_BOUNDS), method="bounded")
    return float(np.exp(res.x))


class _CutClassifierMixin(ClassifierMixin):
    """``predict_proba`` and ``predict`` of a two-class cut, from its log-odds decision function.

    Probabilities are ``sigmoid(decision_function)``, so ``predict_proba`` agrees with ``predict``
    (``classes_[1]`` where the decision function is positive). Where the sigmoid rounds to exactly
    0.5 (|log-odds| below ~1e-16) the probability is moved by one ulp to the predicted side, so
    ``predict_proba(X)[:, 1] > 0.5`` and ``predict(X) == classes_[1]`` agree for every input.
    """

    def predict_proba(self, X):
        """Calibrated class probabilities (logistic around the cut, mixture-fitted slope).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input of ``decision_function``.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns in the order of ``classes_``.
        """
        d = self.decision_function(X)
        p = expit(d)
        p = np.where(d > 0, np.maximum(p, _HALF_UP), p)
        p = np.where(d < 0, np.minimum(p, _HALF_DOWN), p)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """Class labels: ``classes_[1]`` beyond the cut, ``classes_[0]`` otherwise.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to label, as given to :meth:`decision_function`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        # Label-free: the cut uses one score column and learns no more than one bit from y (the
        # orientation), so scikit-learn's generic accuracy thresholds on its random multi-feature
        # test problems do not measure it.
        tags.classifier_tags.poor_score = True
        return tags


class ThresholdClassifier(_CutClassifierMixin, BaseEstimator):
    """Two-class labels from a one-dimensional score and a class-proportion prior, without labels.

    The score is the first column of ``X`` (``X[:, 0]``); further columns are ignored. This is
    deliberate: :class:`sklearn.manifold.Isomap` returns two columns by default and its first
    coordinate is the one that carries the largest geodesic variance, so
    ``Pipeline([..., Isomap(), ThresholdClassifier()])`` cuts the leading coordinate. It is also
    what scikit-learn's estimator checks require of a classifier (they fit on several feature
    columns). Columns beyond the first are never combined: to cut several features, reduce them
    to one first (``Isomap(n_components=1)``) or use :class:`ManifoldThresholdClassifier`.

    The cut is placed at the quantile that the prior implies: a fraction ``class_prior`` of the
    training objects, those with the highest *oriented* score, is assigned to the positive class
    ``classes_[1]``. The orientation -- which end of the score is the positive class -- is the
    only thing the score does not say (the sign of a manifold coordinate is arbitrary), and is
    fixed by ``orientation``:

    * ``y`` given (``fit(X, y)``): ``classes_`` are taken from ``y`` and ``y`` is used **only** to
      choose the orientation -- the end of the score where ``classes_[1]`` is more frequent (ROC
      AUC of ``X[:, 0]`` >= 0.5 or not). The threshold itself, the calibration and every other
      fitted quantity come from ``X`` and ``class_prior`` alone; ``y`` contributes one bit.
      This is what makes ``GridSearchCV(..., scoring="roc_auc").fit(X, y)`` meaningful.
    * otherwise ``reference`` given (``fit(X, reference=r)``, a fit parameter routed like any other,
      e.g. ``pipe.fit(X, thresholdclassifier__reference=concentration)``): ``r`` is a per-object
      statistic that is, on average, **higher for the positive class** (e.g. for
      ``classes=("GALAXY", "STAR")``, the fraction of flux in the PSF core). The end of the score
      whose ranks correlate positively with ``r`` (Spearman) is the positive end.
    * otherwise ``"narrow"``: a two-component Student-t mixture is fitted to the score (the one
      ``class_prior="auto"`` fits, see below); the positive class is the end of the **narrower**
      component (smaller interquartile range). Physical motivation: stars are
      point sources, images of one PSF differing only by flux and noise, so an encoder maps them
      to a compact region; galaxies span sizes, shapes and profiles and spread out. Name the
      positive class accordingly (``classes=("GALAXY", "STAR")``). This is a heuristic, and the
      weakest rule: an encoder that keeps flux (stars span 6 magnitudes) can spread stars more
      than galaxies -- on a PCA encoding of ``make_star_galaxy_cutouts`` it picks the wrong end,
      and on the concentration index of simulated sets where faint, noisy stars dominate it
      picks the galaxy end. With the t mixture it finds the star end of the SPREAD_MODEL column
      and of the concentration index on real SDSS and ZTF cutouts, where a Gaussian mixture
      initialised at the prior's cut found it in half the cases on SDSS (user guide, "Labels
      from a class-proportion prior").
      Pass ``reference`` (e.g. :func:`galaxy_learn.photometry.concentration_index`, higher for
      point sources) whenever you can; check ``orientation_source_``.

    ``orientation="high"`` / ``"low"`` fix the positive end by hand; ``"auto"`` (default) applies
    the list above in order; ``"narrow"`` or ``"reference"`` force that rule (``y`` then only names
    the classes).

    ``class_prior="auto"`` estimates the fraction from the score itself, without labels: a
    two-component Student-t mixture is fitted to the score (standardised by its median and
    interquartile range, clipped at 30 such units; EM from five starts, the most likely run to
    convergence; degrees of freedom fitted per component, so heavy tails and outliers do not
    pull a component; at most 20,000 scores, a random subsample beyond)
    and the positive fraction is the weight of the component on the positive side (the
    orientation rules above are unchanged). The estimate is only as good as the
    score's two modes are visible: on the concentration index of real ZTF cutouts it is within
    0.03 of the true star fraction from 0.2 to 0.8; where one class is skewed or long-tailed
    and the other small (fraction 0.1-0.3), the mixture splits the skewed class and the estimate
    can be off by 0.2-0.6 (see the user guide's "Estimating the class prior" section). A
    prior you know (from a catalogue, from number counts) is better than the estimate, which is
    why the default stays ``0.5`` rather than ``"auto"``: the default cut is then predictable
    and never depends on a mixture fit. ``class_prior_`` holds the fraction used.

    Probabilities: a logistic ``p = sigmoid(a (s - threshold_))`` centred on the prior cut (so
    ``predict_proba`` agrees with ``predict`` and ``decision_function > 0``), whose slope ``a`` is
    fitted by cross-entropy to the posteriors of a two-component 1-D Gaussian mixture on the score
    (initialised with the prior as weights). Overlapping classes give a shallow slope, well
    separated ones a steep slope. ``decision_function`` is the log-odds ``a (s - threshold_)``.
    The score is standardised by its standard deviation for these fits, or by a robust scale
    (IQR) where a few extreme scores dominate the standard deviation, so one score of 1e30 does
    not flatten the calibration.

    Parameters
    ----------
    class_prior : float or "auto", default=0.5
        Fraction of objects of the positive class ``classes_[1]`` (e.g. ``0.4`` stars), in
        (0, 1); ``"auto"`` estimates it from the score (see above).
    orientation : {"auto", "high", "low", "narrow", "reference"}, default="auto"
        Which end of the score is the positive class; see above.
    classes : tuple of two labels, default=(0, 1)
        Class labels when fitting without ``y`` (stored sorted in ``classes_``, as in
        scikit-learn; the prior refers to the larger label ``classes_[1]``, e.g. ``"STAR"`` in
        ``("GALAXY", "STAR")``). Ignored when ``y`` is given.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsample used for calibration when there are more than 50,000 objects.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the positive class (fraction ``class_prior_``).
    class_prior_ : float
        Fraction of the positive class used for the cut: ``class_prior`` itself, or the estimate
        when ``class_prior="auto"``.
    orientation_ : int
        +1 if high scores are the positive class, -1 if low scores are.
    orientation_source_ : str
        Which rule set ``orientation_``: ``"y"``, ``"reference"``, ``"narrow"``, ``"high"`` or
        ``"low"``.
    threshold_ : float
        Cut on the oriented score ``orientation_ * X[:, 0]``.
    slope_ : float
        Slope of the calibration logistic, per unit of the raw score.
    n_features_in_ : int
        Number of columns seen in fit (only the first is used).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X has string column names.

    See Also
    --------
    ManifoldThresholdClassifier : manifold embedding and cut in one estimator.
    galaxy_learn.metrics.unsupervised_roc_auc : AUC of a score with unknown orientation.

    References
    ----------
    .. [1] D. Peel and G. J. McLachlan, "Robust mixture modelling using the t distribution",
       Statistics and Computing 10, 339-348 (2000).
    .. [2] C. Liu and D. B. Rubin, "ML estimation of the t distribution using EM and its
       extensions, ECM and ECME", Statistica Sinica 5, 19-39 (1995).
    .. [3] H. Sun, E. J. Kim, S. Li and R. J. Brunner, "Unsupervised star-galaxy segmentation
       and classification", summary report, LCDM, University of Illinois at Urbana-Champaign
       (2017), "Baseline: VAE + Manifold learning".

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.classification import ThresholdClassifier
    >>> rng = np.random.default_rng(0)
    >>> score = np.r_[rng.normal(0, 0.3, 400), rng.normal(3, 1.0, 600)][:, None]
    >>> clf = ThresholdClassifier(class_prior=0.4, classes=("GALAXY", "STAR")).fit(score)
    >>> clf.orientation_source_, clf.orientation_
    ('narrow', -1)
    >>> (clf.predict(score)[:400] == "STAR").mean() > 0.95
    np.True_

    Without a prior, the star fraction (0.4 here) is estimated from the score:

    >>> auto = ThresholdClassifier(class_prior="auto", classes=("GALAXY", "STAR")).fit(score)
    >>> round(auto.class_prior_, 2)
    0.4
    """

    _parameter_constraints = {
        "class_prior": [Interval(numbers.Real, 0, 1, closed="neither"), StrOptions({"auto"})],
        "orientation": [StrOptions({"auto", "high", "low", "narrow", "reference"})],
        "classes": ["array-like"],
        "random_state": ["random_state"],
    }

    def __init__(self, class_prior=0.5, *, orientation="auto", classes=(0, 1), random_state=None):
        self.class_prior = class_prior
        self.orientation = orientation
        self.classes = classes
        self.random_state = random_state

    def _orient(self, s, y, reference, mixture):
        """Orientation (+1: high scores are ``classes_[1]``) and the rule that set it.

        ``mixture()`` returns the two-component t mixture of the score (fitted once, on demand):
        the "narrow" rule takes the side of its component with the smaller interquartile range.
        """
        rule = self.orientation
        if rule == "auto":
            rule = "y" if y is not None else ("reference" if reference is not None else "narrow")
        if rule == "high":
            return 1, "high"
        if rule == "low":
            return -1, "low"
        if rule == "y":
            auc = roc_auc_score(y == self.classes_[1], s)
            return (1 if auc >= 0.5 else -1), "y"
        if rule == "reference":
            if reference is None:
                msg = (
                    "orientation='reference' needs a reference statistic: call "
                    "fit(X, reference=r) with r higher on average for the positive class."
                )
                raise ValueError(msg)
            return (1 if _rank_correlation(s, reference) >= 0 else -1), "reference"
        return mixture().narrow_side(), "narrow"

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, reference=None):
        """Place the cut at the prior's quantile and calibrate the probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Scores; only the first column is used. It must not be constant.
        y : array-like of shape (n_samples,), default=None
            Optional labels, used **only** for ``classes_`` and the orientation of the cut.
        reference : array-like of shape (n_samples,), default=None
            Optional statistic higher on average for the positive class, used for the
            orientation when ``y`` is not given (``orientation="auto"`` or ``"reference"``).

        Returns
        -------
        self : object
            Fitted classifier.
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        y, self.classes_ = _fit_classes(self, y, X.shape[0])
        if reference is not None:
            reference = np.asarray(column_or_1d(reference), dtype=np.float64)
            if reference.shape[0] != X.shape[0] or not np.all(np.isfinite(reference)):
                msg = (
                    f"reference must be {X.shape[0]} finite values (one per sample of X); got "
                    f"shape {reference.shape}."
                )
                raise ValueError(msg)
        s = X[:, 0]
        if not s.max() > s.min():
            msg = (
                f"all scores are equal; nothing to threshold: X[:, 0] is {float(s[0])!r} for all "
                f"{s.size} samples. {type(self).__name__} cuts a score that varies between "
                "objects (a manifold coordinate, a concentration index)."
            )
            raise ValueError(msg)
        rng = check_random_state(self.random_state)
        s_sub = s
        if s.size > _MAX_CALIBRATION_SAMPLES:
            s_sub = s[rng.choice(s.size, _MAX_CALIBRATION_SAMPLES, replace=False)]
        s_prior = s_sub
        if s_sub.size > _PRIOR_MAX_SAMPLES:
            s_prior = s_sub[rng.choice(s_sub.size, _PRIOR_MAX_SAMPLES, replace=False)]
        # the t mixture of class_prior="auto" and of the "narrow" rule, fitted once if needed
        mixture = functools.cache(lambda: _fit_prior_mixture(s_prior))
        self.orientation_, self.orientation_source_ = self._orient(s, y, reference, mixture)
        if isinstance(self.class_prior, str):  # "auto"
            # within (1/n, 1 - 1/n): the cut always leaves an object on each side
            lo = 1.0 / s.size
            prior = float(np.clip(mixture().side_weight(self.orientation_), lo, 1.0 - lo))
        else:
            prior = float(self.class_prior)
        self.class_prior_ = prior
        self.threshold_ = float(np.quantile(self.orientation_ * s, 1.0 - prior))
        scale = _score_scale(s_sub)
        z = _standardise(self.orientation_ * s_sub, self.threshold_, scale)
        self.slope_ = min(_fit_slope(z, 0.0, prior) / scale, np.finfo(np.float64).max)
        return self

    def decision_function(self, X):
        """Log-odds of the positive class ``classes_[1]``; > 0 means predicted positive.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Scores; only the first column is used.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        with np.errstate(over="ignore"):  # a score near the float limit: log-odds of +-inf
            return self.slope_ * (self.orientation_ * X[:, 0] - self.threshold_)

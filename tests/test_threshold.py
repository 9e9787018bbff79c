"""ThresholdClassifier / ManifoldThresholdClassifier: the prior cut, orientation, calibration, and
the mission's pipeline lines (PCA stands in for the VAE encoder here)."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA
from sklearn.manifold import Isomap, SpectralEmbedding
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from galaxy_learn import (
    LandmarkIsomap,
    ManifoldThresholdClassifier,
    ThresholdClassifier,
    VAEEncoder,
)
from galaxy_learn.metrics import unsupervised_roc_auc


def _scores(rng, n_star=400, n_gal=600):
    """Stars: narrow component at low score; galaxies: broad component at high score."""
    s = np.r_[rng.normal(0.0, 0.3, n_star), rng.normal(3.0, 1.0, n_gal)]
    y = np.r_[np.full(n_star, "STAR"), np.full(n_gal, "GALAXY")]
    return s[:, None], y


def _cutouts(rng, n=120, size=12):
    """Tiny 2-band cutouts: stars are the PSF (sigma 1), galaxies wider and elongated."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    star = rng.random(n) < 0.4
    sig = np.where(star, 1.0, rng.uniform(1.8, 3.0, n))
    q = np.where(star, 1.0, rng.uniform(0.5, 1.0, n))
    flux = rng.uniform(20, 60, n)
    prof = np.exp(-(xx**2 + (yy / q[:, None, None]) ** 2) / (2 * sig[:, None, None] ** 2))
    prof /= prof.sum(axis=(1, 2), keepdims=True)
    X = flux[:, None, None, None] * prof[:, None] * np.array([1.0, 1.5])[None, :, None, None]
    X = X + rng.normal(0, 0.05, X.shape)
    return X.reshape(n, -1).astype(np.float32), star.astype(int)


def test_cut_at_prior_quantile(rng):
    X, _ = _scores(rng)
    for prior in (0.1, 0.4, 0.75):
        clf = ThresholdClassifier(class_prior=prior, orientation="high").fit(X)
        frac = np.mean(clf.predict(X) == 1)
        assert abs(frac - prior) <= 1.0 / len(X)
        assert clf.threshold_ == pytest.approx(np.quantile(X[:, 0], 1 - prior))


def test_fit_without_labels_names_classes_and_orients_narrow(rng):
    X, y = _scores(rng)
    clf = ThresholdClassifier(class_prior=0.4, classes=("GALAXY", "STAR")).fit(X)
    assert clf.classes_.tolist() == ["GALAXY", "STAR"]
    assert clf.orientation_source_ == "narrow" and clf.orientation_ == -1
    assert np.mean(clf.predict(X) == y) > 0.95


def test_y_used_only_for_orientation(rng):
    X, y = _scores(rng)
    a = ThresholdClassifier(class_prior=0.4).fit(X, y)
    noisy = y.copy()
    flip = rng.random(len(y)) < 0.3  # 30% wrong labels: same orientation, nothing else may change
    noisy[flip] = np.where(y[flip] == "STAR", "GALAXY", "STAR")
    b = ThresholdClassifier(class_prior=0.4).fit(X, noisy)
    c = ThresholdClassifier(class_prior=0.4, orientation="low", classes=("GALAXY", "STAR")).fit(X)
    assert a.orientation_source_ == "y" and a.orientation_ == -1
    for other in (b, c):
        np.testing.assert_array_equal(a.decision_function(X), other.decision_function(X))
    # with an explicit rule, y only names the classes
    d = ThresholdClassifier(class_prior=0.4, orientation="high").fit(X, y)
    assert d.orientation_ == 1 and d.classes_.tolist() == ["GALAXY", "STAR"]


def test_reference_orientation(rng):
    X, y = _scores(rng)
    concentration = (y == "STAR") + rng.normal(0, 0.5, len(y))  # higher for stars on average
    clf = ThresholdClassifier(class_prior=0.4, classes=("GALAXY", "STAR"))
    clf.fit(-X, reference=concentration)  # narrow side is now high, but the reference decides
    assert clf.orientation_source_ == "reference" and clf.orientation_ == 1
    clf.fit(X, reference=concentration)
    assert clf.orientation_ == -1
    with pytest.raises(ValueError, match="orientation='reference' needs a reference"):
        ThresholdClassifier(orientation="reference").fit(X)
    with pytest.raises(ValueError, match="reference must be 1000 finite values"):
        clf.fit(X, reference=concentration[:10])


def test_proba_agrees_with_predict_and_slope_tracks_overlap(rng):
    X, y = _scores(rng)
    clf = ThresholdClassifier(class_prior=0.4, classes=("GALAXY", "STAR")).fit(X)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-clf.decision_function(X))))
    # calibration: predicted star probability matches the star frequency in broad bins
    p = proba[:, 1]
    for lo, hi in ((0.0, 0.2), (0.8, 1.0)):
        sel = (p >= lo) & (p < hi)
        assert abs(np.mean(y[sel] == "STAR") - p[sel].mean()) < 0.1
    wide = ThresholdClassifier(class_prior=0.4).fit(np.r_[X[:400] + 2.5, X[400:]])
    assert wide.slope_ < clf.slope_


def test_pickle_determinism_and_large_input_subsample(rng):
    X = np.r_[rng.normal(0, 1, 60_000), rng.normal(4, 1, 40_000)][:, None]
    a = ThresholdClassifier(class_prior=0.4, random_state=0).fit(X)
    b = ThresholdClassifier(class_prior=0.4, random_state=0).fit(X)
    assert a.slope_ == b.slope_
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X[:100]), a.predict_proba(X[:100]))


def test_errors(rng):
    X, y = _scores(rng)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        ThresholdClassifier().fit(X, rng.integers(0, 3, len(X)))
    with pytest.raises(ValueError, match="'classes' parameter must be two distinct labels"):
        ThresholdClassifier(classes=("STAR", "STAR")).fit(X)
    with pytest.raises(ValueError, match="'class_prior' parameter of ThresholdClassifier"):
        ThresholdClassifier(class_prior=1.2).fit(X)
    clf = ThresholdClassifier().fit(X)
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.c_[X, X])


# sklearn's Isomap warns when stars and galaxies form separate neighbour graphs (it then joins
# them); that separation is the signal here, not a problem.
TINY_VAE = dict(max_epochs=2, batch_size=16, channels=(4, 8), hidden_units=16, random_state=0)


@pytest.mark.filterwarnings("ignore:The number of connected components:UserWarning")
@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
def test_pipeline_with_pca_stand_in(rng):
    """An encoder that separates well: the cut and the grid search score as they should."""
    X, y = _cutouts(rng)
    pipe = Pipeline([("pca", PCA(n_components=3)), ("isomap", Isomap()),
                     ("thresholdclassifier", ThresholdClassifier(class_prior=0.4))])
    pred = pipe.fit(X).predict(X)
    assert set(np.unique(pred)) <= {0, 1} and pred.shape == y.shape
    assert unsupervised_roc_auc(y, pipe.decision_function(X)) > 0.95
    # y fixes the orientation only; the cut at the true proportion then classifies
    assert np.mean(pipe.fit(X, y).predict(X) == y) > 0.9
    grid = {"pca__n_components": [2, 3], "thresholdclassifier__class_prior": [0.3, 0.4]}
    search = GridSearchCV(pipe, grid, scoring="roc_auc", cv=2).fit(X, y)
    assert search.best_score_ > 0.9


@pytest.mark.filterwarnings("ignore:The number of connected components:UserWarning")
@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
def test_mission_lines_with_tiny_vae(rng):
    """The mission's lines, as written (a tiny VAE, two epochs, 16x16 two-band cutouts)."""
    X, y = _cutouts(rng, n=64, size=16)
    X = X.reshape(64, 2, 16, 16)
    pipe = Pipeline([
        ("vaeencoder", VAEEncoder(prior="dkl", **TINY_VAE)),
        ("isomap", Isomap()),
        ("thresholdclassifier", ThresholdClassifier()),
    ])
    pred = pipe.fit(X).predict(X)
    assert pred.shape == (64,) and set(np.unique(pred)) <= {0, 1}
    assert abs(np.mean(pred) - 0.5) <= 1 / 64  # default prior 0.5: the cut halves the sample
    grid = {
        "vaeencoder__prior": ["normal", "dkl"],
        "vaeencoder__n_latent": [2],
        "thresholdclassifier__class_prior": [0.4],
    }
    serial = GridSearchCV(pipe, grid, scoring="roc_auc", cv=2, refit=False).fit(X, y)
    parallel = GridSearchCV(pipe, grid, scoring="roc_auc", cv=2, n_jobs=2).fit(X, y)
    assert np.all(np.isfinite(serial.cv_results_["mean_test_score"]))
    # same seeds in the worker processes: identical scores
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert parallel.best_estimator_.predict(X).shape == (64,)


def test_reference_routed_through_pipeline(rng):
    X, y = _scores(rng)
    ref = (y == "STAR").astype(float)
    pipe = make_pipeline(FunctionTransformer(), ThresholdClassifier(classes=("GALAXY", "STAR")))
    pipe.fit(-X, thresholdclassifier__reference=ref)
    assert pipe[-1].orientation_source_ == "reference" and pipe[-1].orientation_ == 1


def _latent(rng, n=1000):
    stars = rng.normal([0, 0], 0.2, size=(int(0.4 * n), 2))
    t = rng.uniform(0, 3, n - len(stars))
    galaxies = np.c_[2 + t, np.sin(t)] + rng.normal(0, 0.3, size=(len(t), 2))
    return np.r_[stars, galaxies], np.r_[np.ones(len(stars)), np.zeros(len(t))].astype(int)


@pytest.mark.parametrize("method", ["threshold", "mixture"])
def test_manifold_classifier_label_free(rng, method):
    X, y = _latent(rng)
    clf = ManifoldThresholdClassifier(class_prior=0.4, method=method, random_state=0).fit(X)
    assert np.mean(clf.predict(X) == y) > 0.93  # the narrow (star) side found without labels
    np.testing.assert_array_equal(clf.classes_[clf.predict_proba(X).argmax(1)], clf.predict(X))


def test_manifold_classifier_equals_pipeline(rng):
    X, y = _latent(rng, 600)
    clf = ManifoldThresholdClassifier(class_prior=0.4, random_state=0).fit(X, y)
    inner = clf.threshold_classifier_.random_state
    pipe = make_pipeline(
        LandmarkIsomap(n_components=1, random_state=clf.manifold_.random_state),
        ThresholdClassifier(class_prior=0.4, random_state=inner),
    ).fit(X, y)
    np.testing.assert_allclose(clf.decision_function(X), pipe.decision_function(X))


def test_manifold_classifier_other_manifolds_and_errors(rng):
    X, y = _latent(rng, 400)
    clf = ManifoldThresholdClassifier(PCA(n_components=2), class_prior=0.4, component=0).fit(X, y)
    assert np.mean(clf.predict(X) == y) > 0.9
    with pytest.raises(ValueError, match="'manifold' parameter"):
        ManifoldThresholdClassifier(SpectralEmbedding()).fit(X)
    with pytest.raises(ValueError, match="component=2 but the manifold has n_components=2"):
        ManifoldThresholdClassifier(PCA(n_components=2), component=2).fit(X)


def test_manifold_fit_subsample_close_to_full(rng):
    X, y = _latent(rng, 1500)
    full = ManifoldThresholdClassifier(class_prior=0.4, fit_subsample=None, random_state=0)
    part = ManifoldThresholdClassifier(class_prior=0.4, fit_subsample=500, random_state=0)
    agree = np.mean(full.fit(X, y).predict(X) == part.fit(X, y).predict(X))
    assert agree > 0.97
    assert abs(np.mean(part.predict(X)) - 0.4) < 0.04


# --- class_prior="auto": the positive fraction estimated from the score ---------------------------


def _two_t(rng, frac, n=2000):
    """Heavy-tailed classes (Student-t, 3 dof): negatives around 0, positives narrower around 3."""
    n_pos = int(round(frac * n))
    s = np.r_[rng.standard_t(3, n - n_pos), 3 + 0.5 * rng.standard_t(3, n_pos)]
    return s[:, None], np.r_[np.zeros(n - n_pos), np.ones(n_pos)].astype(int)


@pytest.mark.parametrize("frac", [0.2, 0.5, 0.8])
def test_class_prior_auto_recovers_fraction(frac):
    X, y = _two_t(np.random.default_rng(1), frac)
    clf = ThresholdClassifier(class_prior="auto", orientation="high").fit(X)
    assert abs(clf.class_prior_ - frac) < 0.03
    # the estimate is used as the prior: the cut leaves that fraction on the positive side
    assert abs(np.mean(clf.predict(X) == 1) - clf.class_prior_) <= 1.0 / len(X)
    at_truth = ThresholdClassifier(class_prior=frac, orientation="high").fit(X)
    assert np.mean(clf.predict(X) == y) >= np.mean(at_truth.predict(X) == y) - 0.02
    # the positive side follows the orientation: the other end holds the complement
    low = ThresholdClassifier(class_prior="auto", orientation="low").fit(X)
    assert low.class_prior_ == pytest.approx(1.0 - clf.class_prior_, abs=1e-12)
    # a mirrored score with a mirrored orientation: the same fraction (up to the EM's tolerance)
    mirrored = ThresholdClassifier(class_prior="auto", orientation="low").fit(-X)
    assert mirrored.class_prior_ == pytest.approx(clf.class_prior_, abs=1e-3)


def test_class_prior_auto_label_free_narrow_side(rng):
    X, y = _scores(rng)  # 40% stars: a narrow component at the low end
    clf = ThresholdClassifier(class_prior="auto", classes=("GALAXY", "STAR")).fit(X)
    assert clf.orientation_source_ == "narrow" and clf.orientation_ == -1
    assert abs(clf.class_prior_ - 0.4) < 0.02
    assert np.mean(clf.predict(X) == y) > 0.97
    # y only orients, the estimate is the same number
    with_y = ThresholdClassifier(class_prior="auto").fit(X, y)
    assert with_y.orientation_source_ == "y" and with_y.class_prior_ == clf.class_prior_


def test_class_prior_auto_ignores_one_huge_score():
    X, _ = _two_t(np.random.default_rng(2), 0.3, n=1000)
    ref = ThresholdClassifier(class_prior="auto", orientation="high").fit(X).class_prior_
    X_bad = X.copy()
    X_bad[0, 0] = 1e30
    est = ThresholdClassifier(class_prior="auto", orientation="high").fit(X_bad).class_prior_
    assert abs(est - ref) < 0.01 and abs(est - 0.3) < 0.03


def test_float_prior_path_unchanged(rng):
    """A float prior gives what it gave before class_prior="auto" existed (numbers recorded from
    the implementation at commit de31c25), and class_prior_ is that float."""
    s = np.r_[rng.normal(0.0, 0.3, 400), rng.normal(3.0, 1.0, 600)][:, None]
    expected = {  # (prior, orientation): (orientation_, threshold_, slope_, decision at 0.5)
        (0.4, "auto"): (-1, -0.5949576626229073, 6.097409164234469, 0.5789957222911998),
        (0.25, "high"): (1, 3.127708565265459, 0.6780706177508209, -1.7817719701186732),
        (0.7, "low"): (-1, -2.918163106656762, 0.8641602513102152, 2.089680437957598),
    }
    for (prior, orientation), (sign, threshold, slope, d) in expected.items():
        clf = ThresholdClassifier(class_prior=prior, orientation=orientation).fit(s)
        assert clf.class_prior_ == prior and clf.orientation_ == sign
        assert clf.threshold_ == threshold
        assert clf.slope_ == pytest.approx(slope, rel=1e-9)
        assert clf.decision_function([[0.5]])[0] == pytest.approx(d, rel=1e-9)


@pytest.mark.parametrize("bad", ["guess", 0.0, 1.0, -0.1, None])
def test_class_prior_validation(rng, bad):
    X, _ = _scores(rng)
    for est in (ThresholdClassifier(class_prior=bad), ManifoldThresholdClassifier(class_prior=bad)):
        with pytest.raises(ValueError, match=r"'class_prior' parameter of \w+ must be .*'auto'"):
            est.fit(X)


@pytest.mark.parametrize("method", ["threshold", "mixture"])
def test_manifold_classifier_class_prior_auto(rng, method):
    X, y = _latent(rng)
    clf = ManifoldThresholdClassifier(class_prior="auto", method=method, random_state=0).fit(X)
    assert abs(clf.class_prior_ - 0.4) < 0.03
    assert clf.class_prior_ == clf.threshold_classifier_.class_prior_
    assert np.mean(clf.predict(X) == y) > 0.93
    fixed = ManifoldThresholdClassifier(class_prior=0.3, method=method, random_state=0).fit(X)
    assert fixed.class_prior_ == 0.3


# --- input sense: constant scores, huge scores, extra columns -------------------------------------


def test_constant_scores_raise():
    for est in (ThresholdClassifier(), ThresholdClassifier(class_prior="auto")):
        with pytest.raises(ValueError, match="all scores are equal; nothing to threshold: "
                                             r"X\[:, 0\] is 2.5 for all 10 samples"):
            est.fit(np.full((10, 1), 2.5))
        # the score column is the first one, whatever the others do
        with pytest.raises(ValueError, match="all scores are equal"):
            est.fit(np.c_[np.zeros(10), np.arange(10.0)])


def test_one_huge_score_predict_agrees_with_proba():
    """Issue 17, item 9: one score of 1e30 made predict give positives where predict_proba > 0.5
    gave none (the standard deviation, 3e28, flattened the calibration slope to ~1e-28)."""
    rng = np.random.default_rng(3)
    s = np.r_[rng.normal(0, 1, 980), rng.normal(3, 1, 20)]
    X = s[:, None].copy()
    X[0, 0] = 1e30
    clf = ThresholdClassifier(class_prior=0.02, orientation="high").fit(X)
    pred = clf.predict(X) == 1
    proba = clf.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(pred, proba > 0.5)
    assert pred.sum() == 20
    # the calibration is the one the other 999 scores give
    clean = ThresholdClassifier(class_prior=0.02, orientation="high").fit(X[1:])
    assert clf.slope_ == pytest.approx(clean.slope_, rel=0.05)


def test_proba_on_the_cut_and_next_to_it(rng):
    X, _ = _scores(rng)
    X = X - np.quantile(X, 0.6) + 1e-3  # a cut near 0: one ulp of the score is a log-odds ~1e-19
    clf = ThresholdClassifier(class_prior=0.4, orientation="high").fit(X)
    t = clf.threshold_
    assert abs(t) < 0.01
    Xc = np.array([[np.nextafter(t, -np.inf)], [t], [np.nextafter(t, np.inf)]])
    d = clf.decision_function(Xc)
    assert d[0] < 0 and d[1] == 0 and d[2] > 0
    proba = clf.predict_proba(Xc)
    np.testing.assert_array_equal(clf.predict(Xc), [0, 0, 1])
    assert proba[0, 1] < 0.5 and proba[1, 1] == 0.5 and proba[2, 1] > 0.5
    np.testing.assert_array_equal(proba.sum(axis=1), 1.0)


_FINITE = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False)
_HUGE = st.sampled_from([1e30, -1e30, 1e300, -1e300, 1e-300, 0.0])
_SCORES = st.lists(st.one_of(_FINITE, _HUGE, st.floats(-3, 3)), min_size=2, max_size=40)


@settings(max_examples=60, deadline=None)
@given(scores=_SCORES, new=st.lists(st.one_of(_FINITE, _HUGE), min_size=1, max_size=5),
       prior=st.sampled_from([0.1, 0.5, 0.9, "auto"]),
       orientation=st.sampled_from(["high", "low", "narrow"]))
def test_predict_agrees_with_proba_for_every_input(scores, new, prior, orientation):
    X = np.asarray(scores)[:, None]
    clf = ThresholdClassifier(class_prior=prior, orientation=orientation)
    if np.all(X == X[0]):
        with pytest.raises(ValueError, match="all scores are equal; nothing to threshold"):
            clf.fit(X)
        return
    clf.fit(X)
    assert 0 < clf.class_prior_ < 1 and np.isfinite(clf.threshold_) and clf.slope_ > 0
    X_all = np.r_[X, np.asarray(new)[:, None]]
    pred = clf.predict(X_all)
    proba = clf.predict_proba(X_all)
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_array_equal(pred == clf.classes_[1], proba[:, 1] > 0.5)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])


def test_extra_columns_are_ignored_as_documented(rng):
    """Only X[:, 0] is the score (Isomap() has two columns; sklearn's checks fit several): the
    other columns change nothing. Rejecting them would fail 37 of scikit-learn's estimator
    checks, which fit every classifier on multi-feature data."""
    X, _ = _scores(rng)
    wide = np.c_[X, rng.normal(size=(len(X), 2)) * 1e6]
    for prior in (0.4, "auto"):
        a = ThresholdClassifier(class_prior=prior).fit(X)
        b = ThresholdClassifier(class_prior=prior).fit(wide)
        assert b.n_features_in_ == 3
        np.testing.assert_array_equal(a.decision_function(X), b.decision_function(wide))

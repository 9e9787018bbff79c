"""ThresholdClassifier / ManifoldThresholdClassifier: the prior cut, orientation, calibration, and
the mission's pipeline lines (PCA stands in for the VAE encoder here)."""
import pickle

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.manifold import Isomap, SpectralEmbedding
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from galaxy_learn import LandmarkIsomap, ManifoldThresholdClassifier, ThresholdClassifier, VAEEncoder
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

"""MatchedSimulationClassifier: matched simulations, a classifier, a label-free cut."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from galaxy_learn.classification import (
    MatchedSimulationClassifier,
    ThresholdClassifier,
    estimate_prior_shift,
)
from galaxy_learn.classification import _matched_simulation
from galaxy_learn.datasets import make_star_galaxy_cutouts
from galaxy_learn.preprocessing import CenterCrop


@pytest.fixture(scope="module")
def stamps():
    # one field: one seeing (to a few per cent) for all its stamps
    X, _, truth = make_star_galaxy_cutouts(240, image_size=32, star_fraction=0.3,
                                           seeing=(1.2, 1.3), mag_range=(16.0, 22.0),
                                           random_state=3)
    return X, truth["point_source"].to_numpy().astype(int)


@pytest.fixture(scope="module")
def fitted(stamps):
    X, _ = stamps
    return MatchedSimulationClassifier(n_simulated=1500, random_state=0).fit(X)


def _tabular(X, n_samples, random_state=None):
    """Two Gaussian classes, one standard deviation apart in every column."""
    rng = np.random.default_rng(random_state)
    y = np.arange(n_samples) % 2
    return rng.standard_normal((n_samples, X.shape[1])) + (2 * y - 1)[:, None], y


def test_separates_point_sources_without_labels(stamps, fitted):
    X, y = stamps
    from galaxy_learn.photometry import concentration_index

    auc = roc_auc_score(y, fitted.decision_function(X))  # 0.985 when written
    assert auc > 0.96
    assert auc > roc_auc_score(y, concentration_index(X)) + 0.02  # the index: 0.938
    # the seeing measured on the stamps' own point sources
    assert 1.15 < fitted.simulation_["psf_fwhm_r_arcsec"] < 1.35
    # the star fraction estimated by prior-shift EM from the simulation-trained probabilities
    # (0.407 for a true 0.383 when written)
    assert abs(fitted.class_prior_ - y.mean()) < 0.06
    assert fitted.class_prior_ == pytest.approx(estimate_prior_shift(
        1 / (1 + np.exp(-fitted.log_odds_)), fitted.train_class_prior_), abs=1e-12)
    # the cut calls class_prior_ of the fitted stamps point sources (a quantile of log_odds_)
    assert np.mean(fitted.predict(X) == 1) == pytest.approx(fitted.class_prior_,
                                                            abs=1.5 / len(X))
    assert fitted.n_simulated_ == 1500
    assert 0.3 < fitted.train_class_prior_ < 0.6  # the simulator's default 0.4 (+ quasars)
    assert fitted.simulation_["psf_measured"]
    assert set(fitted.simulation_["noise_nmgy"]) == set("ugriz")


def test_scores_are_the_trained_classifiers_log_odds(stamps, fitted):
    X, _ = stamps
    from galaxy_learn.photometry import profile_features, spread_model

    # the default features: growth curves, then the gri spread_model and its error at the PSF
    # measured per band on the stamps themselves
    assert fitted.psf_fwhm_.shape == (5,)
    assert np.all((fitted.psf_fwhm_ > 2.0) & (fitted.psf_fwhm_ < 4.5))  # ~1.25" / 0.396"
    F = np.column_stack([profile_features(X), *spread_model(X, fitted.psf_fwhm_,
                                                             return_error=True)])
    p = fitted.classifier_.predict_proba(F)[:, 1]
    certain = (p < 1e-12) | (p > 1 - 1e-12)
    np.testing.assert_allclose(fitted.score_samples(X)[~certain],
                               np.log(p / (1 - p))[~certain], rtol=1e-6)
    # where the probabilities round to 0 or 1 the log-odds still rank the objects
    assert np.unique(fitted.log_odds_).size == len(X)
    np.testing.assert_array_equal(fitted.score_samples(X), fitted.log_odds_)
    np.testing.assert_array_equal(fitted.decision_function(X),
                                  fitted.cut_.decision_function(fitted.log_odds_[:, None]))
    proba = fitted.predict_proba(X)
    np.testing.assert_array_equal(fitted.classes_[(proba[:, 1] > 0.5).astype(int)],
                                  fitted.predict(X))
    # deterministic transform; a subset scores as in the full batch
    np.testing.assert_array_equal(fitted.decision_function(X[:17]),
                                  fitted.decision_function(X)[:17])


def test_fixed_random_state_gives_the_same_fit(stamps, fitted):
    X, _ = stamps
    again = MatchedSimulationClassifier(n_simulated=1500, random_state=0).fit(X)
    np.testing.assert_array_equal(again.log_odds_, fitted.log_odds_)
    other = MatchedSimulationClassifier(n_simulated=1500, random_state=1).fit(X)
    assert not np.array_equal(other.log_odds_, fitted.log_odds_)


def test_pickle_and_persistence_round_trip(stamps, fitted, tmp_path):
    from galaxy_learn import persistence

    X, _ = stamps
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(back.predict_proba(X), fitted.predict_proba(X))
    persistence.save(fitted, tmp_path / "m.glmodel")
    with pytest.raises(ValueError, match="allow_pickle"):
        persistence.load(tmp_path / "m.glmodel")
    back = persistence.load(tmp_path / "m.glmodel", allow_pickle=True)
    np.testing.assert_array_equal(back.predict(X), fitted.predict(X))


def test_masked_pixels_and_input_untouched(stamps):
    X, y = stamps
    X = X.copy()
    X[::7, 2, 0, :5] = np.nan  # masked border pixels
    before = X.copy()
    clf = MatchedSimulationClassifier(n_simulated=1500, random_state=0).fit(X)
    np.testing.assert_array_equal(X, before)
    assert np.all(np.isfinite(clf.log_odds_))
    assert roc_auc_score(y, clf.decision_function(X)) > 0.85
    X[0, 1, 3, 3] = np.inf
    with pytest.raises(ValueError, match="infinite value"):
        clf.predict(X)


def test_given_class_prior_places_the_cut(stamps):
    X, _ = stamps
    clf = MatchedSimulationClassifier(n_simulated=1500, class_prior=0.5, random_state=0,
                                      classes=("galaxy", "star")).fit(X)
    assert clf.class_prior_ == 0.5
    assert np.mean(clf.predict(X) == "star") == pytest.approx(0.5, abs=1.5 / len(X))
    assert list(clf.classes_) == ["galaxy", "star"]


def test_chunked_simulation_keeps_the_first_chunks_seeing(stamps, monkeypatch):
    X, y = stamps
    monkeypatch.setattr(_matched_simulation, "_SIMULATION_CHUNK", 400)
    seen = []
    real = _matched_simulation.make_matched_cutouts

    def spy(X, n, **kw):
        seen.append((n, kw.get("psf_fwhm")))
        return real(X, n, **kw)

    monkeypatch.setattr(_matched_simulation, "make_matched_cutouts", spy)
    clf = MatchedSimulationClassifier(n_simulated=1000, random_state=0).fit(X)
    assert [n for n, _ in seen] == [400, 400, 200]
    assert seen[0][1] is None  # measured once, on the first chunk
    assert seen[1][1] == seen[2][1] == clf.simulation_["psf_fwhm_r_arcsec"]
    assert clf.n_simulated_ == 1000
    assert roc_auc_score(y, clf.decision_function(X)) > 0.8


def test_threads_give_the_same_fit(stamps, monkeypatch):
    X, _ = stamps
    monkeypatch.setattr(_matched_simulation, "_SIMULATION_CHUNK", 300)
    one = MatchedSimulationClassifier(n_simulated=1000, random_state=0).fit(X)
    two = MatchedSimulationClassifier(n_simulated=1000, n_jobs=2, random_state=0).fit(X)
    np.testing.assert_array_equal(one.log_odds_, two.log_odds_)
    assert one.n_simulated_ == two.n_simulated_ == 1000


def test_cnn_sees_the_pixels(stamps):
    X, y = stamps
    from galaxy_learn.classification import CNNClassifier

    cnn = CNNClassifier(channels=(4,), dense_units=(8,), max_epochs=2, device="cpu",
                        random_state=0)
    # a CNN gets the stamps by default, any other estimator the growth curves
    clf = MatchedSimulationClassifier(cnn, n_simulated=300, random_state=0).fit(X)
    assert clf.classifier_.input_shape_ == (5, 32, 32)
    assert clf.predict(X).shape == (len(X),)
    assert clf.psf_fwhm_ is None
    clf = MatchedSimulationClassifier(cnn, features="profile", n_simulated=300,
                                      random_state=0).fit(X)
    assert clf.classifier_.input_shape_ == (5 * 5 + 5 + 4 + 1,)  # growth curves, colours, mag
    from sklearn.ensemble import HistGradientBoostingClassifier

    gbm = MatchedSimulationClassifier(HistGradientBoostingClassifier(max_iter=10),
                                      n_simulated=300, random_state=0).fit(X)
    assert gbm.classifier_.n_features_in_ == 5 * 5 + 5 + 4 + 1 + 2  # and spread_model, error


def test_custom_simulator_estimator_features_and_y_labels():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    X = rng.standard_normal((60, 3)) + (2 * y - 1)[:, None]
    labels = np.where(y == 1, "STAR", "GALAXY")
    clf = MatchedSimulationClassifier(LogisticRegression(), simulator=_tabular, features=None,
                                      n_simulated=400, random_state=0).fit(X, labels)
    assert clf.simulation_ is None
    assert list(clf.classes_) == ["GALAXY", "STAR"]
    assert np.mean(clf.predict(X) == labels) > 0.85
    # the features callable maps the simulations and the stamps alike: an unpenalised logistic
    # regression on doubled features halves its coefficients and keeps its probabilities
    plain, doubled = (MatchedSimulationClassifier(LogisticRegression(C=1e10), simulator=_tabular,
                                                  features=f, n_simulated=400,
                                                  random_state=0).fit(X)
                      for f in (None, lambda Z: 2 * Z))
    np.testing.assert_allclose(doubled.classifier_.coef_, plain.classifier_.coef_ / 2,
                               rtol=1e-2)  # lbfgs's tolerance
    np.testing.assert_allclose(doubled.log_odds_, plain.log_odds_, rtol=1e-2, atol=1e-3)


def test_in_a_pipeline(stamps):
    X, y = stamps
    pipe = make_pipeline(CenterCrop(size=24),
                         MatchedSimulationClassifier(n_simulated=1500, random_state=0))
    pipe.fit(X)
    assert pipe[-1].input_shape_ == (5, 24, 24)
    assert roc_auc_score(y, pipe.decision_function(X)) > 0.85


@settings(max_examples=15, deadline=None)
@given(prior=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
def test_given_prior_is_the_fraction_called_point_sources(prior, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((80, 2))
    clf = MatchedSimulationClassifier(LogisticRegression(), simulator=_tabular, features=None,
                                      n_simulated=100, class_prior=prior,
                                      random_state=seed).fit(X)
    called = np.mean(clf.predict(X) == 1)
    # a quantile cut: off by at most one object, and by ties
    assert abs(called - prior) <= 1.0 / len(X) + 1e-9
    assert isinstance(clf.cut_, ThresholdClassifier)


def test_errors(stamps):
    X, _ = stamps
    tab = np.random.default_rng(0).standard_normal((30, 4))
    with pytest.raises(ValueError, match="default simulator renders stamps"):
        MatchedSimulationClassifier(n_simulated=100).fit(tab)
    with pytest.raises(ValueError, match=r"features='profile\+spread' measures growth curves"):
        MatchedSimulationClassifier(simulator=_tabular, n_simulated=100).fit(tab)
    with pytest.raises(ValueError, match="simulation_params cannot set 'bands'"):
        MatchedSimulationClassifier(simulation_params={"bands": "gri"}, n_simulated=100).fit(X)
    with pytest.raises(ValueError, match="both classes"):
        MatchedSimulationClassifier(
            simulator=lambda X, n, random_state=None: (X[:n], np.zeros(len(X[:n]))),
            features=None, n_simulated=20).fit(tab)
    with pytest.raises(ValueError, match="at least 2 samples; got 1 sample"):
        MatchedSimulationClassifier(simulator=_tabular, features=None,
                                    n_simulated=100).fit(tab[:1])
    with pytest.raises(ValueError, match="same probability"):
        MatchedSimulationClassifier(
            simulator=lambda X, n, random_state=None: (np.zeros((n, X.shape[1])),
                                                       np.arange(n) % 2),
            features=None, n_simulated=100).fit(tab)
    with pytest.raises(ValueError, match="on at least 20 stamps; got 10"):
        MatchedSimulationClassifier(n_simulated=100).fit(X[:10])


def test_band_count_must_match(fitted, stamps):
    X, _ = stamps
    with pytest.raises(ValueError, match="X has 4 band"):
        fitted.predict(X[:, :4])


def test_verbose_shows_progress(stamps, capsys):
    X, _ = stamps
    MatchedSimulationClassifier(n_simulated=300, verbose=1, random_state=0).fit(X)
    err = capsys.readouterr().err
    assert "matched simulations" in err and "300/300" in err
    MatchedSimulationClassifier(n_simulated=300, random_state=0).fit(X)
    assert "matched simulations" not in capsys.readouterr().err

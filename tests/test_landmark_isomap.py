"""LandmarkIsomap against scikit-learn's Isomap (the exact method) and its own invariants."""
import pickle

import numpy as np
import pytest
from sklearn.manifold import Isomap

from galaxy_learn.manifold import LandmarkIsomap
from galaxy_learn.metrics import unsupervised_roc_auc


def _latent(n, rng, star_fraction=0.4):
    """Compact 'stars' beside a curved, broad 'galaxy' arc in 2-D; noise grows with magnitude."""
    star = rng.random(n) < star_fraction
    mag = rng.uniform(16, 22.5, n)
    noise = 0.08 + 0.6 * ((mag - 16) / 6.5) ** 3
    t = rng.uniform(0, np.pi, n)
    gal = np.c_[1.6 + 1.2 * np.cos(t), np.sin(t)]
    st = np.c_[0.15 * (mag - 19), np.full(n, -0.3)]
    X = np.where(star[:, None], st, gal) + rng.normal(size=(n, 2)) * noise[:, None]
    return X, star.astype(int)


def test_all_landmarks_equals_isomap(rng):
    X = rng.normal(size=(300, 3))
    Y = rng.normal(size=(40, 3))
    iso = Isomap(n_neighbors=6, n_components=2).fit(X)
    lm = LandmarkIsomap(n_neighbors=6, n_components=2, n_landmarks=300).fit(X)
    # transform keeps geodesic distances in float32 (relative error ~1e-7)
    np.testing.assert_allclose(lm.transform(X), iso.embedding_, atol=1e-6)
    np.testing.assert_allclose(lm.transform(Y), iso.transform(Y), atol=1e-6)
    np.testing.assert_allclose(lm.landmark_embedding_, iso.embedding_, atol=1e-10)


def test_landmark_transform_matches_isomap_out_of_sample(rng):
    """With a landmark subsample, transform is exactly Isomap.transform of the landmark fit."""
    X = rng.normal(size=(800, 2))
    lm = LandmarkIsomap(n_landmarks=150, random_state=0).fit(X)
    ref = Isomap(n_neighbors=5, n_components=2).fit(X[lm.landmark_indices_])
    np.testing.assert_allclose(lm.transform(X), ref.transform(X), atol=1e-5)


def test_batches_threads_and_fit_transform_agree(rng):
    X = rng.normal(size=(500, 2))
    base = LandmarkIsomap(n_landmarks=100, random_state=1)
    ref = base.fit_transform(X)
    np.testing.assert_array_equal(ref, base.fit(X).transform(X))
    other = LandmarkIsomap(n_landmarks=100, random_state=1, batch_size=7, n_jobs=2).fit(X)
    np.testing.assert_allclose(other.transform(X), ref, rtol=0, atol=1e-12)
    assert pickle.loads(pickle.dumps(base)).transform(X).tolist() == ref.tolist()


def test_seeded_landmarks(rng):
    X = rng.normal(size=(400, 2))
    a = LandmarkIsomap(n_landmarks=50, random_state=3).fit(X)
    b = LandmarkIsomap(n_landmarks=50, random_state=3).fit(X)
    c = LandmarkIsomap(n_landmarks=50, random_state=4).fit(X)
    np.testing.assert_array_equal(a.landmark_indices_, b.landmark_indices_)
    assert not np.array_equal(a.landmark_indices_, c.landmark_indices_)
    assert a.n_landmarks_ == 50


def test_auc_close_to_full_isomap(rng):
    X, y = _latent(2000, rng)
    full = unsupervised_roc_auc(y, Isomap(n_components=1).fit_transform(X)[:, 0])
    aucs = [
        unsupervised_roc_auc(
            y, LandmarkIsomap(n_components=1, n_landmarks=600, random_state=s).fit_transform(X)[:, 0]
        )
        for s in range(2)
    ]
    assert full > 0.9
    assert max(abs(a - full) for a in aucs) < 0.01


def test_disconnected_clusters_no_warning(rng):
    X = np.r_[rng.normal(0, 0.1, (60, 2)), rng.normal(10, 0.1, (60, 2))]
    lm = LandmarkIsomap(n_components=1, n_landmarks=40, random_state=0).fit(X)  # warnings = errors
    assert lm.n_connected_components_ == 2
    e = lm.transform(X)[:, 0]
    assert unsupervised_roc_auc(np.r_[np.zeros(60), np.ones(60)], e) == 1.0


def test_errors(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="n_neighbors=5 must be smaller than the number of landmarks"):
        LandmarkIsomap(n_landmarks=5).fit(X)
    lm = LandmarkIsomap(n_landmarks=10).fit(X)
    with pytest.raises(ValueError, match="features"):
        lm.transform(rng.normal(size=(3, 3)))

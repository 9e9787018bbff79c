"""make_galaxy_images: shapes, truth, noise model, and the Sérsic profile against integration."""
import numpy as np
import pytest
from scipy import integrate

from galaxy_learn.datasets import MORPHOLOGIES, make_galaxy_images
from galaxy_learn.datasets._morphology import _sersic, _sersic_b


@pytest.mark.parametrize("bands, n_bands", [("gri", 3), ("ugriz", 5), (1, 1), (4, 4)])
def test_shapes_and_labels(bands, n_bands):
    X, y, truth = make_galaxy_images(15, image_size=24, bands=bands, random_state=0)
    assert X.shape == (15, n_bands, 24, 24) and X.dtype == np.float32
    assert set(y) <= set(MORPHOLOGIES)
    assert list(truth["morphology"]) == list(y)
    assert np.isfinite(X).all()


def test_truth_is_consistent_with_the_classes():
    _, y, truth = make_galaxy_images(200, image_size=32, random_state=1)
    spiral = truth[np.isin(y, ["spiral", "barred_spiral"])]
    assert (spiral["n_arms"] >= 1).all() and spiral["pitch_angle"].between(10, 35).all()
    assert truth.loc[y == "barred_spiral", "has_bar"].all()
    assert not truth.loc[y != "barred_spiral", "has_bar"].any()
    assert (truth.loc[y == "elliptical", "n_arms"] == 0).all()
    assert truth.loc[y == "elliptical", "sersic_n"].between(3, 5.5).all()
    assert truth.loc[y == "edge_on", "inclination"].between(80, 90).all()
    assert truth.loc[y == "spiral", "inclination"].between(0, 60).all()
    assert set(y) == set(MORPHOLOGIES)


def test_reproducible_and_noise_drawn_last():
    X1, y1, _, C1 = make_galaxy_images(10, image_size=16, random_state=3, return_clean=True)
    X2, y2, _, C2 = make_galaxy_images(10, image_size=16, random_state=3, return_clean=True,
                                       noise=5.0)
    np.testing.assert_array_equal(C1, C2)
    np.testing.assert_array_equal(y1, y2)
    X3, _, _ = make_galaxy_images(10, image_size=16, random_state=3)
    np.testing.assert_array_equal(X1, X3)


def test_noise_model():
    X, _, _, C = make_galaxy_images(40, image_size=32, noise=2.0, gain=None, random_state=0,
                                    return_clean=True)
    assert np.std(X - C) == pytest.approx(2.0, rel=0.02)
    X, _, _, C = make_galaxy_images(40, image_size=32, noise=0.0, gain=0.5, random_state=0,
                                    return_clean=True)
    bright = C > 20
    # Poisson: var(X - C) = C / gain
    ratio = np.mean((X - C)[bright] ** 2) / np.mean(C[bright] / 0.5)
    assert ratio == pytest.approx(1.0, rel=0.1)


def test_flux_matches_truth():
    _, y, truth, C = make_galaxy_images(30, image_size=64, bands="r", morphologies=["elliptical"],
                                        noise=0.0, random_state=0, return_clean=True)
    ratio = C.sum(axis=(1, 2, 3)) / truth["flux"].to_numpy()
    assert np.all((ratio > 0.75) & (ratio < 1.1))  # colour jitter +-8%, wings beyond the stamp


@pytest.mark.parametrize("n", [1.0, 2.5, 4.0])
def test_sersic_half_light_radius(n):
    """Half the light of a Sérsic profile lies within r_e (independent numerical integration)."""
    re = 3.0
    f = lambda r: _sersic(r, re, n) * 2 * np.pi * r  # noqa: E731
    inner = integrate.quad(f, 0, re)[0]
    total = integrate.quad(f, 0, np.inf, limit=200)[0]
    assert inner / total == pytest.approx(0.5, abs=2e-3)
    assert _sersic_b(n) > 0


def test_errors():
    with pytest.raises(ValueError, match="bands"):
        make_galaxy_images(2, bands="xyz")
    with pytest.raises(ValueError, match="morphologies"):
        make_galaxy_images(2, morphologies=["lenticular"])
    with pytest.raises(ValueError, match="image_size"):
        make_galaxy_images(2, image_size=4)
    with pytest.raises(ValueError, match="weights"):
        make_galaxy_images(2, weights=[1, 0])
    with pytest.raises(ValueError, match="n_samples"):
        make_galaxy_images(0)

"""Simulations matched to real stamps (make_matched_cutouts) and the border noise they rest on."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxy_learn.datasets import make_matched_cutouts, make_star_galaxy_cutouts
from galaxy_learn.datasets._matched import matched_sky
from galaxy_learn.datasets._noise import electrons_per_nmgy, read_noise_e2, sky_level
from galaxy_learn.photometry import border_noise, estimate_psf_fwhm


@pytest.fixture(scope="module")
def observed():
    """'Real' stamps: the simulator at a seeing and sky unlike its defaults (1.6", sky 0.7 mag
    brighter), standing in for a user's field."""
    X, _, truth = make_star_galaxy_cutouts(400, image_size=32, seeing=(1.55, 1.65), sky=-0.7,
                                           random_state=11)
    return X, truth


@pytest.fixture(scope="module")
def matched(observed):
    X, _ = observed
    return make_matched_cutouts(X, 400, random_state=0)


def test_noise_and_psf_are_those_of_the_stamps(observed, matched):
    X, truth = observed
    X_sim, _, sim_truth = matched
    np.testing.assert_allclose(np.median(border_noise(X_sim), 0), np.median(border_noise(X), 0),
                               rtol=0.05)
    r = "ugriz".index("r")
    assert estimate_psf_fwhm(X_sim[:, r])[0] == pytest.approx(estimate_psf_fwhm(X[:, r])[0],
                                                              rel=0.05)
    # the calibrated seeing is the observed one, not the ~10 % wider adaptive-moment width
    info = sim_truth.attrs["matched"]
    assert info["psf_measured"]
    assert info["psf_fwhm_r_arcsec"] == pytest.approx(truth["seeing_fwhm_r"].median(), rel=0.06)


def test_outputs_labels_and_determinism(observed, matched):
    X, _ = observed
    X_sim, y, truth = matched
    assert X_sim.shape == (400, 5, 32, 32) and X_sim.dtype == np.float32
    np.testing.assert_array_equal(y, truth["point_source"].to_numpy().astype(int))
    assert set(np.unique(y)) == {0, 1}
    before = X.copy()
    again, y2, _ = make_matched_cutouts(X, 400, random_state=0)
    np.testing.assert_array_equal(again, X_sim)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(X, before)  # the user's stamps are not modified


def test_given_psf_and_band_subset(observed):
    X, _ = observed
    X_sim, _, truth = make_matched_cutouts(X[:, 1:4], 50, bands="gri", psf_fwhm=1.2,
                                           seeing_spread=0.0, random_state=1)
    assert X_sim.shape == (50, 3, 32, 32)
    assert not truth.attrs["matched"]["psf_measured"]
    np.testing.assert_allclose(truth["seeing_fwhm_r"], 1.2)


def test_mag_slope_is_passed_on(observed):
    """One slope for every class: the training set's star fraction does not follow the
    simulator's number counts (bright stars, faint galaxies)."""
    X, _ = observed
    _, y, truth = make_matched_cutouts(X, 600, psf_fwhm=1.4, mag_slope=0.0, random_state=3)
    bright = truth["mag_r"].to_numpy() < 18.5
    assert y[bright].mean() == pytest.approx(y[~bright].mean(), abs=0.1)
    _, y, truth = make_matched_cutouts(X, 600, psf_fwhm=1.4, mag_slope=None, random_state=3)
    bright = truth["mag_r"].to_numpy() < 18.5
    assert y[bright].mean() > y[~bright].mean() + 0.3


def test_masked_pixels_are_ignored(observed):
    X, _ = observed
    Xn = X.copy()
    Xn[:, :, 0, :] = np.nan  # a masked row on every stamp's border
    a = make_matched_cutouts(X, 20, random_state=2)[2].attrs["matched"]["noise_nmgy"]
    b = make_matched_cutouts(Xn, 20, random_state=2)[2].attrs["matched"]["noise_nmgy"]
    for band in "ugriz":
        assert b[band] == pytest.approx(a[band], rel=0.05)


@pytest.mark.parametrize("bad, kwargs, match", [
    (np.zeros((30, 5, 32)), {}, "shape \\(n, bands, H, W\\)"),
    (np.zeros((30, 4, 32, 32)), {}, "4 band\\(s\\) but bands='ugriz'"),
    (np.zeros((10, 5, 32, 32)), {}, "at least 20 stamps"),
    (np.zeros((30, 5, 32, 24)), {}, "square"),
    (np.zeros((30, 6, 32, 32)), {"bands": "ugrizy"}, "among u, g, r, i, z"),
    (np.zeros((30, 5, 32, 32)), {"seeing_spread": 1.5}, "seeing_spread"),
    (np.zeros((30, 5, 32, 32)), {"psf_fwhm": -1.0}, "psf_fwhm must be a positive"),
])
def test_bad_input(bad, kwargs, match):
    rng = np.random.default_rng(0)
    X = bad + rng.normal(0, 0.02, bad.shape)
    with pytest.raises(ValueError, match=match):
        make_matched_cutouts(X, 10, **kwargs)


def test_infinite_pixels_and_unmeasurable_psf():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.02, (30, 5, 32, 32))
    with pytest.raises(ValueError, match="PSF could not be measured"):
        make_matched_cutouts(X, 10)  # noise only: no point source to measure
    X[3, 2, 10, 10] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        make_matched_cutouts(X, 10)
    with pytest.raises(ValueError, match="n_samples"):
        make_matched_cutouts(X, 0)


@settings(max_examples=25, deadline=None)
@given(sky=st.lists(st.floats(17.0, 24.0), min_size=5, max_size=5))
def test_matched_sky_inverts_the_noise_model(sky):
    """The sky that matched_sky returns gives back the noise it was asked for."""
    bands = "ugriz"
    e, read = electrons_per_nmgy(bands), read_noise_e2(bands)
    noise = np.sqrt((sky_level(np.array(sky)) + read / e) / e)
    np.testing.assert_allclose(matched_sky(noise, bands), sky, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(sigma=st.floats(1e-3, 1e3), offset=st.floats(-1e3, 1e3), seed=st.integers(0, 100))
def test_border_noise_recovers_gaussian_sigma(sigma, offset, seed):
    rng = np.random.default_rng(seed)
    img = offset + rng.normal(0, sigma, (4, 64, 64))
    img[:, 20:44, 20:44] += 50 * sigma  # an object in the middle changes nothing
    np.testing.assert_allclose(border_noise(img), sigma, rtol=0.12)


def test_border_noise_input_handling():
    img = np.random.default_rng(1).normal(0, 2.0, (32, 32))
    assert np.ndim(border_noise(img)) == 0
    nan = np.full((2, 16, 16), np.nan)
    assert np.isnan(border_noise(nan)).all()
    with pytest.raises(ValueError, match="leaves no interior"):
        border_noise(img, width=16)
    with pytest.raises(ValueError, match="\\(\\.\\.\\., H, W\\)"):
        border_noise(np.zeros(5))

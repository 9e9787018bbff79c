"""profile_features: growth curves against the analytic encircled energy, colours, invariances."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxy_learn.photometry import profile_features

YY, XX = np.mgrid[-30:31, -30:31].astype(float)


def _gaussian(sigma, flux=1.0):
    g = np.exp(-(XX**2 + YY**2) / (2 * sigma**2))
    return flux * g / g.sum()


@pytest.mark.parametrize("sigma", [1.5, 2.0, 3.0])
def test_growth_curve_is_the_encircled_energy(sigma):
    """A circular Gaussian's light within r is 1 - exp(-r^2 / 2 s^2); apertures on pixels
    (each pixel's value spread over its square) see the Gaussian convolved with the pixel box,
    s^2 = sigma^2 + 1/12."""
    radii = (2.0, 3.0, 4.0, 14.0)
    X = _gaussian(sigma)[None, None]
    f = profile_features(X, radii=radii, center="image")
    s2 = sigma**2 + 1 / 12
    ee = 1 - np.exp(-np.asarray(radii) ** 2 / (2 * s2))
    np.testing.assert_allclose(f[0, :3], ee[:3] / ee[3], rtol=0.01)


def test_layout_colours_and_magnitude():
    """Columns: growth per band, growth of the band sum, adjacent colours, middle band's mag."""
    fluxes = np.array([1.0, 2.0, 4.0])  # nanomaggies in three bands
    X = np.stack([_gaussian(1.5, f) for f in fluxes])[None]
    radii = (2.0, 4.0, 12.0)
    f = profile_features(X, radii=radii, center="image")
    assert f.shape == (1, 3 * 2 + 2 + 2 + 1)
    np.testing.assert_allclose(f[0, 0:2], f[0, 2:4], rtol=1e-6)  # same profile in each band
    np.testing.assert_allclose(f[0, 6:8], f[0, 0:2], rtol=1e-6)
    np.testing.assert_allclose(f[0, 8:10], -2.5 * np.log10(fluxes[:-1] / fluxes[1:]), atol=1e-4)
    assert f[0, 10] == pytest.approx(22.5 - 2.5 * np.log10(2.0), abs=1e-3)


def test_point_source_is_more_concentrated_than_a_galaxy():
    star = _gaussian(1.2)[None, None]
    galaxy = _gaussian(3.0)[None, None]
    f = profile_features(np.concatenate([star, galaxy]))
    assert np.all(f[0, :5] > f[1, :5])


def test_nan_pixels_count_as_zero_and_input_untouched():
    X = np.stack([_gaussian(1.5), _gaussian(1.5)])[None].astype(np.float32)
    X[0, 1, 0, :] = np.nan  # a masked row far from the object
    before = X.copy()
    f = profile_features(X)
    assert np.all(np.isfinite(f))
    np.testing.assert_array_equal(X, before)
    np.testing.assert_allclose(f, profile_features(np.nan_to_num(X)))


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.01, 1000.0), sigma=st.floats(0.8, 4.0))
def test_growth_is_flux_invariant_and_magnitudes_shift(scale, sigma):
    """Multiplying a stamp by c leaves growth curves and colours and shifts the magnitude by
    -2.5 log10 c."""
    X = np.stack([_gaussian(sigma, 5.0), _gaussian(sigma * 1.2, 3.0)])[None]
    a, b = profile_features(X, center="image"), profile_features(scale * X, center="image")
    np.testing.assert_allclose(b[:, :-1], a[:, :-1], rtol=1e-4, atol=1e-4)
    assert b[0, -1] == pytest.approx(a[0, -1] - 2.5 * np.log10(scale), abs=1e-3)


@pytest.mark.parametrize("X, radii, match", [
    (np.zeros((2, 16, 16)), (1.0, 2.0), "shape \\(n, bands, H, W\\)"),
    (np.zeros((2, 1, 16, 16)), (2.0,), "at least two"),
    (np.zeros((2, 1, 16, 16)), (3.0, 2.0), "increasing"),
    (np.zeros((2, 1, 16, 16)), (-1.0, 2.0), "positive"),
])
def test_bad_input(X, radii, match):
    with pytest.raises(ValueError, match=match):
        profile_features(X, radii=radii)


def test_each_band_is_measured_about_its_own_centroid():
    """Bands cut through their own WCS are not co-centred: a point source offset by a pixel
    in one band has the same growth curve in both (a shared centre would read it extended)."""
    sigma = 1.3
    a = np.exp(-(XX**2 + YY**2) / (2 * sigma**2))
    b = np.exp(-((XX - 1.0) ** 2 + (YY + 0.6) ** 2) / (2 * sigma**2))
    f = profile_features(np.stack([a, b])[None], radii=(1.5, 3.0, 8.0))
    np.testing.assert_allclose(f[0, 0:2], f[0, 2:4], rtol=0.03)  # pixel phase: ~2 %
    shared = profile_features(np.stack([a, b])[None], radii=(1.5, 3.0, 8.0), center="image")
    assert shared[0, 2] < 0.8 * shared[0, 0]


def test_batches_give_the_same_features(monkeypatch):
    """Measured a batch at a time (bounded memory): the same numbers as all at once; a given
    centre array must have one row per stamp."""
    import galaxy_learn.photometry._profile_features as module

    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.1, (7, 2, 21, 21)) + _gaussian(1.5)[10:31, 10:31][None, None]
    X[2, 1, 0, 0] = np.nan
    centers = np.full((7, 2), 10.0)
    whole = profile_features(X, center=centers)
    monkeypatch.setattr(module, "_BATCH", 3)
    np.testing.assert_array_equal(profile_features(X, center=centers), whole)
    with pytest.raises(ValueError, match="shape \\(7, 2\\)"):
        profile_features(X, center=centers[:5])

"""SPREAD_MODEL: models against GalSim, properties of the statistic, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxy_learn.photometry import render_psf, spread_model

galsim = pytest.importorskip("galsim")


@pytest.mark.parametrize("profile", ["moffat", "gaussian"])
@pytest.mark.parametrize("extension", [0.0, 0.4])
def test_render_psf_matches_galsim(profile, extension):
    fwhm, half, off = 3.1, 10, (0.25, -0.375)
    psf = (galsim.Moffat(beta=3.5, fwhm=fwhm) if profile == "moffat"
           else galsim.Gaussian(fwhm=fwhm))
    obj = psf if extension == 0 else galsim.Convolve(psf, galsim.Exponential(scale_radius=extension))
    ref = obj.drawImage(nx=2 * half + 1, ny=2 * half + 1, scale=1.0, offset=off).array
    ours = render_psf(half, off, fwhm, profile=profile, extension=extension)
    assert np.abs(ours - ref).max() < 2e-3 * ref.max()
    assert ours.sum() == pytest.approx(ref.sum(), rel=2e-3)


def _galaxy(hlr, fwhm, off=(0.0, 0.0), flux=1000.0, n=31):
    gal = galsim.Convolve(galsim.Exponential(half_light_radius=hlr), galsim.Moffat(3.5, fwhm=fwhm))
    return gal.withFlux(flux).drawImage(nx=n, ny=n, scale=1.0, offset=off).array


@settings(max_examples=20, deadline=None)
@given(fwhm=st.floats(2.0, 5.0), dx=st.floats(-0.5, 0.5), dy=st.floats(-0.5, 0.5),
       flux=st.floats(1.0, 1e5))
def test_point_source_scores_zero(fwhm, dx, dy, flux):
    star = galsim.Moffat(3.5, fwhm=fwhm).withFlux(flux).drawImage(
        nx=31, ny=31, scale=1.0, offset=(dx, dy)).array
    centre = np.array([[[15 + dx, 15 + dy]]])
    s = spread_model(star[None, None], fwhm, center=centre)
    assert abs(s[0]) < 2e-4


def test_spread_grows_with_galaxy_size_and_not_with_flux():
    fwhm = 3.0
    sizes = [0.3, 0.6, 1.0, 2.0, 4.0]
    X = np.stack([_galaxy(h, fwhm) for h in sizes])[:, None]
    s = spread_model(X, fwhm)
    assert np.all(np.diff(s) > 0) and s[0] > 0
    s10 = spread_model(10 * X, fwhm)
    np.testing.assert_allclose(s10, s, rtol=1e-6)


def test_relative_to_the_psf():
    # the same galaxy-to-PSF size ratio at two seeings scores alike; a fixed-pixel statistic
    # would not
    s1 = spread_model(_galaxy(1.0, 2.5)[None, None], 2.5)
    s2 = spread_model(_galaxy(1.6, 4.0)[None, None], 4.0)
    assert s1[0] == pytest.approx(s2[0], rel=0.15)


def test_noise_and_error():
    rng = np.random.default_rng(0)
    fwhm = 3.0
    star = galsim.Moffat(3.5, fwhm=fwhm).withFlux(300.0).drawImage(nx=31, ny=31, scale=1.0).array
    X = star[None, None] + rng.normal(0, 0.5, size=(400, 1, 31, 31))
    s, err = spread_model(X, fwhm, return_error=True)
    # the spread of the values over noise realisations matches the stated first-order error
    assert np.std(s) == pytest.approx(np.median(err), rel=0.2)
    assert abs(np.mean(s)) < 3 * np.std(s) / np.sqrt(len(s)) + 2e-4


def test_bands_combine_and_psf_per_band():
    fwhm = np.array([2.5, 3.5])
    X = np.stack([_galaxy(1.0, f) for f in fwhm])[None]  # one object, 2 bands
    s_all = spread_model(X, fwhm, bands=None)
    s0 = spread_model(X, fwhm, bands=[0])
    s1 = spread_model(X, fwhm, bands=[1])
    assert min(s0[0], s1[0]) <= s_all[0] <= max(s0[0], s1[0])


def test_input_not_modified_and_errors():
    X = np.stack([_galaxy(1.0, 3.0)])[:, None]
    before = X.copy()
    spread_model(X, 3.0)
    np.testing.assert_array_equal(X, before)
    with pytest.raises(ValueError, match="must be 4-D"):
        spread_model(X[0], 3.0)
    bad = X.copy()
    bad[0, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite pixel"):
        spread_model(bad, 3.0)
    with pytest.raises(ValueError, match="above 0.5 pixel"):
        spread_model(X, 0.0)
    with pytest.raises(ValueError, match="'psf_fwhm' parameter must be a scalar"):
        spread_model(X, [3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="'profile' parameter"):
        spread_model(X, 3.0, profile="airy")
    with pytest.raises(ValueError, match=r"'center' array must have shape \(1, 1, 2\)"):
        spread_model(X, 3.0, center=np.zeros((1, 2)))

"""VAEEncoder's physical column: SPREAD_MODEL against the label-free PSF of the training set."""
import numpy as np
import pytest

from galaxy_learn import VAEEncoder
from galaxy_learn.datasets import make_star_galaxy_cutouts
from galaxy_learn.metrics import unsupervised_roc_auc
from galaxy_learn.photometry import spread_model

TINY = dict(max_epochs=1, batch_size=32, channels=(4, 8), hidden_units=16, random_state=0,
            n_ensemble=1)


@pytest.fixture(scope="module")
def cutouts():
    X, _, truth = make_star_galaxy_cutouts(240, mag_range=(17, 20), random_state=3)
    return X, truth


@pytest.fixture(scope="module")
def fitted(cutouts):
    X, _ = cutouts
    return VAEEncoder(**TINY).fit(X)


def test_column_is_spread_model_against_the_estimated_psf(cutouts, fitted):
    X, _ = cutouts
    Z = fitted.transform(X)
    n_codes = fitted.n_latent * fitted.n_ensemble
    assert Z.shape == (len(X), n_codes + 1)
    assert fitted.get_feature_names_out()[-1] == "vaeencoder_spread_model"
    # independent recomputation: spread_model on g, r, i, z with the fitted widths
    s = spread_model(X, fitted.psf_statistic_fwhm_, bands=[1, 2, 3, 4])
    z = 32.0 * np.arcsinh((s - np.median(s)) / np.std(s))
    np.testing.assert_allclose(Z[:, -1], z, rtol=1e-4, atol=1e-4)


def test_psf_width_is_measured_on_the_point_sources(cutouts, fitted):
    _, truth = cutouts
    assert fitted.psf_statistic_measured_.all()
    # the simulator's PSF varies from cutout to cutout: the estimate sits within the spread of
    # the true widths (pixels of 0.396")
    true = truth[[f"psf_fwhm_{b}" for b in "ugriz"]].to_numpy() / 0.396
    lo, hi = np.percentile(true, 5, axis=0), np.percentile(true, 95, axis=0)
    assert np.all(fitted.psf_statistic_fwhm_ > 0.85 * lo)
    assert np.all(fitted.psf_statistic_fwhm_ < 1.15 * hi)


def test_column_separates_bright_stars_from_galaxies(cutouts, fitted):
    X, truth = cutouts
    column = fitted.transform(X)[:, -1]
    assert unsupervised_roc_auc(truth.point_source.to_numpy(), column) > 0.9


def test_codes_are_unchanged_by_the_column(cutouts, fitted):
    X, _ = cutouts
    plain = VAEEncoder(**TINY, psf_statistic=None).fit(X)
    Z, Z0 = fitted.transform(X), plain.transform(X)
    assert Z0.shape[1] == Z.shape[1] - 1
    np.testing.assert_array_equal(Z[:, :-1], Z0)
    # inverse_transform takes the codes or transform's whole output
    np.testing.assert_array_equal(fitted.inverse_transform(Z), plain.inverse_transform(Z0))
    with pytest.raises(ValueError, match=r"codes of shape \(n_samples, 2\)"):
        fitted.inverse_transform(Z[:, :1])


def test_weight_scales_the_column(cutouts, fitted):
    X, _ = cutouts
    half = VAEEncoder(**TINY, psf_statistic_weight=16.0).fit(X)
    np.testing.assert_allclose(half.transform(X)[:, -1], fitted.transform(X)[:, -1] / 2,
                               rtol=1e-5, atol=1e-5)


def test_deterministic_and_chunk_independent(cutouts, fitted):
    X, _ = cutouts
    a = fitted.transform(X)
    b = np.concatenate([fitted.transform(X[:100]), fitted.transform(X[100:])])
    np.testing.assert_array_equal(a, b)


def test_tabular_and_tiny_images_get_codes_only(rng):
    tab = rng.normal(size=(40, 12)).astype(np.float32)
    enc = VAEEncoder(**TINY).fit(tab)
    assert enc.psf_statistic_fwhm_ is None and enc.transform(tab).shape == (40, 2)
    small = rng.normal(size=(40, 1, 8, 8)).astype(np.float32)
    enc = VAEEncoder(**TINY).fit(small)
    assert enc.psf_statistic_fwhm_ is None and enc.transform(small).shape == (40, 2)


def test_pure_noise_falls_back_without_failing(rng):
    noise = rng.normal(size=(40, 2, 16, 16)).astype(np.float32)
    enc = VAEEncoder(**TINY).fit(noise)
    assert not enc.psf_statistic_measured_.any()
    assert np.all(np.isfinite(enc.psf_statistic_fwhm_))
    assert np.isfinite(enc.transform(noise)).all()


def test_with_psf_fwhm_the_column_is_measured_on_matched_cutouts(cutouts):
    X, truth = cutouts
    fwhm = truth[[f"psf_fwhm_{b}" for b in "ugriz"]].to_numpy()
    enc = VAEEncoder(**TINY).fit(X, psf_fwhm=fwhm)
    Z = enc.transform(X, psf_fwhm=fwhm)
    assert Z.shape[1] == 3 and np.isfinite(Z).all()
    # after PSF matching every cutout has the target width: the estimate is close to it
    target_px = enc.psf_target_fwhm_ / 0.396
    np.testing.assert_allclose(enc.psf_statistic_fwhm_[1:4], target_px[1:4], rtol=0.15)
    # the column: each raw cutout against its own width, in pixels via the measured unit
    pixels = fwhm * (enc.psf_statistic_fwhm_ / enc.psf_target_fwhm_)
    s = spread_model(X, pixels, bands=[1, 2, 3, 4])
    np.testing.assert_allclose(Z[:, -1], 32.0 * np.arcsinh((s - np.median(s)) / np.std(s)),
                               rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("kw", [{}, {"n_ensemble": 2}, {"psf_statistic": None},
                                {"warm_start": True}, {"psf_fwhm": True}])
def test_fit_transform_is_fit_then_transform_bit_for_bit(kw):
    """fit_transform reuses the codes and the SPREAD_MODEL values the fit computed (what a
    Pipeline calls): they must equal those transform computes afresh, chunk by chunk."""
    X, _, _ = make_star_galaxy_cutouts(1100, image_size=24, random_state=0)  # > one 1024 chunk
    kw = dict(kw)
    fit_kw = {}
    if kw.pop("psf_fwhm", False):
        fit_kw["psf_fwhm"] = np.random.default_rng(0).uniform(1.2, 1.6, len(X))
    params = dict(n_ensemble=1, max_epochs=1, channels=(4, 8), hidden_units=8, random_state=0)
    params.update(kw)
    a = VAEEncoder(**params)
    if params.get("warm_start"):
        a.fit(X, **fit_kw)  # the second fit continues training: no fitted statistic reused
    Z = a.fit_transform(X, **fit_kw)
    b = VAEEncoder(**params)
    if params.get("warm_start"):
        b.fit(X, **fit_kw)
    expected = b.fit(X, **fit_kw).transform(X, **fit_kw)
    assert Z.shape == expected.shape
    np.testing.assert_array_equal(Z, expected)

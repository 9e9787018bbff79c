"""Tests of aperture photometry, the concentration index and the ConcentrationIndex transformer."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from galaxy_learn.datasets import make_star_galaxy_cutouts
from galaxy_learn.datasets._psf import moffat_alpha
from galaxy_learn.datasets._render import render_stamps
from galaxy_learn.photometry import (ConcentrationIndex, aperture_flux, aperture_weights,
                                     concentration_index)


def _mask_weights(shape, center, radius, sub=64):
    """Reference: fraction of sub x sub sub-pixel centres inside the circle."""
    h, w = shape
    off = (np.arange(sub) + 0.5) / sub - 0.5
    ys = (np.arange(h)[:, None] + off[None, :]).ravel()
    xs = (np.arange(w)[:, None] + off[None, :]).ravel()
    inside = ((xs[None, :] - center[0]) ** 2 + (ys[:, None] - center[1]) ** 2) <= radius**2
    return inside.reshape(h, sub, w, sub).mean(axis=(1, 3))


@pytest.mark.parametrize("center, radius", [((7.0, 7.0), 1.5), ((7.3, 6.8), 4.0), ((2.2, 9.9), 3.3)])
def test_aperture_weights_match_oversampled_mask(center, radius):
    wgt = aperture_weights((15, 15), [center], radius)[0]
    ref = _mask_weights((15, 15), center, radius)
    np.testing.assert_allclose(wgt, ref, atol=2e-3)  # mask has ~1/sub^2 granularity per pixel
    assert wgt.sum() == pytest.approx(ref.sum(), rel=1e-3)


@settings(max_examples=40, deadline=None)
@given(
    x=st.floats(5.0, 15.0), y=st.floats(5.0, 15.0), r=st.floats(0.05, 4.9),
)
def test_aperture_weights_properties(x, y, r):
    wgt = aperture_weights((21, 21), [(x, y)], r)[0]
    assert wgt.min() >= -1e-12 and wgt.max() <= 1 + 1e-12
    assert wgt.sum() == pytest.approx(np.pi * r * r, rel=1e-9, abs=1e-12)


def test_aperture_flux_shapes_and_values():
    X = np.ones((3, 2, 21, 21), dtype=np.float32)
    per_band = aperture_flux(X, [1.0, 3.0])
    assert per_band.shape == (3, 2, 2)
    np.testing.assert_allclose(per_band[..., 1], 9 * np.pi, rtol=1e-6)
    coadd = aperture_flux(X, 3.0, bands=None)
    assert coadd.shape == (3, 2, 1)
    summed = aperture_flux(X, [3.0], bands=[0, 1])
    np.testing.assert_allclose(summed[:, 0], 18 * np.pi, rtol=1e-6)
    with pytest.raises(ValueError, match="radii"):
        aperture_flux(X, [-1.0])
    with pytest.raises(ValueError, match="out of range"):
        aperture_flux(X, [1.0], bands=[5])
    with pytest.raises(ValueError, match="NaN"):
        aperture_flux(np.full((1, 1, 5, 5), np.nan), [1.0])


def test_concentration_of_a_psf_matches_analytic_moffat():
    """A wide PSF (pixelisation negligible): CI = enclosed-light ratio of the Moffat profile."""
    fwhm, beta = 16.0, 4.765
    img = render_stamps(128, [[1.0]], [[fwhm]], dx=[0.2], dy=[-0.3])
    ci = concentration_index(img, r_inner=5.0, r_outer=14.0, center=np.array([[64.2, 63.7]]))
    alpha = moffat_alpha(fwhm, beta)

    def enclosed(r):
        return 1 - (1 + r * r / alpha**2) ** (1 - beta)

    # Residual ~0.2%: the exact-overlap apertures treat each pixel as uniform (pixelisation).
    assert ci[0] == pytest.approx(enclosed(5.0) / enclosed(14.0), rel=3e-3)


def test_concentration_decreases_with_size_and_centroid_finds_offsets():
    sizes = np.array([0.0, 1.0, 2.0, 4.0])
    img = render_stamps(48, np.full((4, 1), 100.0), np.full((4, 1), 3.4), dx=np.full(4, 0.8),
                        dy=np.full(4, -0.6), r_disk=sizes)
    ci_centroid = concentration_index(img)
    assert np.all(np.diff(ci_centroid) < 0)
    # The centroid recovers the true centre, the image centre does not.
    true = concentration_index(img, center=np.tile([24.8, 23.4], (4, 1)))
    np.testing.assert_allclose(ci_centroid, true, rtol=2e-3)
    assert concentration_index(img, center="image")[0] < true[0] - 0.01


def test_concentration_errors():
    X = np.ones((2, 5, 16, 16))
    with pytest.raises(ValueError, match="r_inner must be smaller"):
        concentration_index(X, r_inner=4.0, r_outer=2.0)
    with pytest.raises(ValueError, match="r_outer"):
        concentration_index(X, r_outer=-1.0)
    with pytest.raises(ValueError, match="center"):
        concentration_index(X, center="peak")


def test_concentration_index_separates_point_sources_from_galaxies():
    """The simulator is not a toy: near-perfect when bright, hard at the faint end."""
    X, y, truth = make_star_galaxy_cutouts(900, image_size=48, random_state=0)
    ci = concentration_index(X)
    ps = truth["point_source"].to_numpy()
    mag = truth["mag_r"].to_numpy()
    bright, faint = mag < 19, (mag >= 21) & (mag < 22)
    assert roc_auc_score(ps[bright], ci[bright]) > 0.95
    auc_faint = roc_auc_score(ps[faint], ci[faint])
    assert 0.65 < auc_faint < 0.92
    overall = mag < 22
    assert 0.8 < roc_auc_score(ps[overall], ci[overall]) < 0.95


def test_transformer_matches_function_pipeline_and_pickle():
    X, y, truth = make_star_galaxy_cutouts(30, image_size=32, random_state=1)
    est = ConcentrationIndex()
    out = est.fit_transform(X)
    assert out.shape == (30, 1)
    np.testing.assert_allclose(out[:, 0], concentration_index(X))
    assert est.bands_ == [1, 2, 3]
    np.testing.assert_array_equal(est.get_feature_names_out(), ["concentration_index"])
    flat = ConcentrationIndex(image_shape=(5, 32, 32)).fit(X.reshape(30, -1))
    np.testing.assert_allclose(flat.transform(X.reshape(30, -1)), out)
    pipe = make_pipeline(ConcentrationIndex(), StandardScaler()).fit(X)
    assert pipe.transform(X).shape == (30, 1)
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(clone.transform(X), out)
    with pytest.raises(ValueError, match="band"):
        est.transform(X[:, :3])
    with pytest.raises(ValueError, match="r_inner must be smaller"):
        ConcentrationIndex(r_inner=5.0).fit(X)
    with pytest.raises(ValueError, match="r_outer"):
        ConcentrationIndex(r_outer=0).fit(X)
    # Square tabular rows are one-band images.
    single = ConcentrationIndex().fit(X[:, 2].reshape(30, -1))
    assert single.input_shape_ == (1, 32, 32)

"""Survey frames: WCS alignment of bands, stamps, PSF measurement, bad input."""
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxy_learn.datasets import SurveyField, iter_survey_fields, load_survey_field
from galaxy_learn.photometry import estimate_psf_fwhm
from tests._survey_frames import _gauss, _make_field, _wcs

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_stamps_are_centred_in_every_band(tmp_path):
    paths, ra, dec = _make_field(tmp_path)
    field = SurveyField.from_files(tmp_path)
    assert field.bands == ["g", "r", "z"] and field.reference_band == "r"
    X, table = field.cutouts(ra=ra, dec=dec, size=21)
    assert X.shape == (4, 3, 21, 21) and X.dtype == np.float32
    for k, b in enumerate(field.bands):
        # brightest pixel is the central one (offset < 0.5 px), in every band
        peak = X[:, k].reshape(4, -1).argmax(axis=1)
        assert np.all(peak == 10 * 21 + 10), b
        assert np.all(np.abs(table[f"dx_{b}"]) <= 0.5) and np.all(np.abs(table[f"dy_{b}"]) <= 0.5)
    # the bands' pixel positions differ (that is why alignment is needed) ...
    assert np.abs(table["x_g"] - table["x_r"]).min() > 3
    # ... and the flux of every band's stamp is the object's
    np.testing.assert_allclose(X.sum(axis=(2, 3)), 50.0, rtol=0.03)


def test_pixel_positions_round_trip(tmp_path):
    _make_field(tmp_path)
    field = SurveyField.from_files(tmp_path)
    x, y = np.array([12.3, 150.0]), np.array([44.4, 180.9])
    ra, dec = field.pixel_to_world(x, y)
    X1, t1 = field.cutouts(x=x, y=y, size=9)
    X2, t2 = field.cutouts(ra=ra, dec=dec, size=9)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_allclose(t1["x_r"], x, atol=1e-6)


def test_edge_policy(tmp_path):
    _make_field(tmp_path)
    field = SurveyField.from_files(tmp_path)
    x, y = np.array([3.0, 100.0]), np.array([3.0, 100.0])
    X, table = field.cutouts(x=x, y=y, size=21)
    assert len(X) == 1 and table.attrs["n_skipped_edge"] == 1 and table["id"].tolist() == [1]
    X, table = field.cutouts(x=x, y=y, size=21, edge="pad")
    assert len(X) == 2 and table["flag_edge"].tolist() == [True, False]
    assert np.isnan(X[0, :, 0, 0]).all() and np.isfinite(X[1]).all()
    with pytest.raises(ValueError, match="'edge' parameter must be 'skip' or 'pad'"):
        field.cutouts(x=x, y=y, edge="clip")


def test_masked_and_saturated_flags(tmp_path):
    paths, ra, dec = _make_field(tmp_path, headers={"SATURATE": 2.0})
    data = fits.getdata(paths[1]).copy()
    header = fits.getheader(paths[1])
    ref = WCS(header)
    x, y = ref.world_to_pixel_values(ra, dec)
    data[int(round(y[0])) + 4, int(round(x[0])) + 4] = np.nan
    fits.PrimaryHDU(data, header=header).writeto(paths[1], overwrite=True)
    field = SurveyField.from_files(paths)
    X, table = field.cutouts(ra=ra, dec=dec, size=21)
    assert table["flag_masked"].tolist() == [True, False, False, False]
    # 50 nmgy in a 3 px FWHM Gaussian peaks at ~4.2 > 2 (SATURATE)
    assert table["flag_saturated"].all()


def test_nothing_modified_in_place(tmp_path):
    _make_field(tmp_path)
    field = SurveyField.from_files(tmp_path)
    before = {b: img.copy() for b, img in field.images.items()}
    X, _ = field.cutouts(x=[100.0], y=[100.0], size=15)
    X[:] = -1
    for b in field.bands:
        np.testing.assert_array_equal(field.images[b], before[b])


def test_detect_and_load_measure_the_psf(tmp_path):
    _make_field(tmp_path, fwhm=3.2, noise=0.002)
    X, table, field = load_survey_field(tmp_path, size=15)
    assert len(X) == 4 and table["flag_edge"].sum() == 0
    # positions found in the reference band match the injected ones
    assert {"flux", "area"} <= set(table.columns)
    for b in field.bands:
        # only 4 objects: the estimate needs 5, so NaN is the honest answer
        assert np.isnan(table[f"psf_fwhm_{b}"]).all()


@settings(max_examples=15, deadline=None)
@given(fwhm=st.floats(2.0, 6.0), seed=st.integers(0, 2**16))
def test_psf_estimate_recovers_the_point_source_width(fwhm, seed):
    rng = np.random.default_rng(seed)
    shape = (160, 160)
    img = rng.normal(0, 0.01, size=shape)
    xs, ys = rng.uniform(15, 145, 12), rng.uniform(15, 145, 12)
    for i, (x, y) in enumerate(zip(xs, ys)):
        # 8 point sources and 4 galaxies (2x the PSF width): the locus is the narrow ones
        img += _gauss(shape, x, y, 100.0, fwhm if i < 8 else 2.0 * fwhm)
    est, sizes = estimate_psf_fwhm(img, xs, ys)
    assert abs(est - fwhm) / fwhm < 0.04
    assert len(sizes) == 12


def test_psf_from_header_in_arcsec(tmp_path):
    _make_field(tmp_path, headers={"SEEING": 1.188})
    field = SurveyField.from_files(tmp_path)
    assert field.psf_fwhm["r"] == pytest.approx(1.188 / 0.396, rel=1e-6)


def test_bad_input_errors(tmp_path):
    paths, _, _ = _make_field(tmp_path)
    with pytest.raises(ValueError, match=r"Missing frame\(s\) for band\(s\) \['u'\]"):
        SurveyField.from_files(tmp_path, bands="ugr")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SurveyField.from_files([tmp_path / "nope.fits"])
    # a frame without WCS
    nowcs = tmp_path / "nowcs"
    nowcs.mkdir()
    fits.PrimaryHDU(np.zeros((10, 10), np.float32), header=fits.Header({"FILTER": "r"})).writeto(
        nowcs / "a.fits")
    with pytest.raises(ValueError, match="has no celestial WCS"):
        SurveyField.from_files(nowcs)
    # frames of two different fields
    other = tmp_path / "other"
    other.mkdir()
    _make_field(other, bands="g", name="000002-1-0001")
    with pytest.raises(ValueError, match="different fields"):
        SurveyField.from_files([paths[1], other / "frame-g-000002-1-0001.fits"])
    # bands that do not overlap on the sky
    img = np.zeros((50, 50), np.float32)
    with pytest.raises(ValueError, match="does not overlap band 'r'"):
        SurveyField({"r": img, "g": img}, {"r": _wcs((25, 25)), "g": _wcs((25, 25), crval=(151, 2))})
    # corrupt file
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "frame-r-000003-1-0001.fits").write_bytes(b"not a fits file")
    with pytest.raises(ValueError, match="Could not read frame"):
        SurveyField.from_files(bad)
    field = SurveyField.from_files(paths)
    with pytest.raises(ValueError, match="Give sky positions"):
        field.cutouts(size=9)
    with pytest.raises(ValueError, match="NaN or inf"):
        field.cutouts(ra=[np.nan], dec=[2.0])


def test_many_fields_skip_a_bad_one(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    _make_field(good, noise=0.002)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "frame-r-000003-1-0001.fits").write_bytes(b"junk")
    with pytest.warns(UserWarning, match="skipped: Could not read frame"):
        out = list(iter_survey_fields([bad, good], size=15, measure_psf=False))
    assert len(out) == 1 and out[0][0] == "000001-1-0001" and len(out[0][1]) == 4
    with pytest.raises(ValueError, match="Could not read frame"):
        list(iter_survey_fields([bad], on_error="raise"))


@pytest.mark.skipif(not (SHARED / "sdss" / "004510-4-0030").is_dir(),
                    reason="real SDSS frames (../shared/data) not present")
def test_real_sdss_field_psf_and_star_positions():
    from astropy.table import Table

    folder = SHARED / "sdss" / "004510-4-0030"
    field = SurveyField.from_files(folder, bands="gri")
    stars = Table.read(folder / "calibObj-004510-4-0030-star.fits")
    # SDSS photo's ROWC/COLC are the WCS pixel positions + 0.5 (its pixel centres are at .5)
    for k, b in ((1, "g"), (2, "r"), (3, "i")):
        x, y = field.world_to_pixel(stars["RA"], stars["DEC"], b)
        assert np.median(stars["COLC"][:, k] - x) == pytest.approx(0.5, abs=0.05)
        assert np.median(stars["ROWC"][:, k] - y) == pytest.approx(0.5, abs=0.05)
    det = field.detect()
    for k, b in ((1, "g"), (2, "r"), (3, "i")):
        sdss = np.median(stars["PSF_FWHM"][:, k]) / 0.396
        assert field.psf_fwhm_pixels(b, det) == pytest.approx(sdss, rel=0.04)

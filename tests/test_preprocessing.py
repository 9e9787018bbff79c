"""ImageScaler, ImageFlattener and CenterCrop: numbers against numpy / scikit-learn references."""
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import median_abs_deviation
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from galaxy_learn.preprocessing import CenterCrop, ImageFlattener, ImageScaler

METHODS = ["zscore", "asinh", "minmax", "peak", "peak_asinh"]
INVERTIBLE = ["zscore", "asinh", "minmax"]


def _make_stamps(seed=0):
    """20 three-band 16x16 stamps: sky noise of different level per band + a central source."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:16, :16] - 8.0
    blob = np.exp(-(xx**2 + yy**2) / 4.0)
    noise = rng.normal(size=(20, 3, 16, 16)) * np.array([0.5, 1.0, 2.0])[None, :, None, None]
    flux = rng.uniform(10, 200, size=(20, 1, 1, 1)) * np.array([1.0, 2.0, 3.0])[None, :, None, None]
    return (noise + flux * blob + np.array([0.0, 1.0, -1.0])[None, :, None, None]).astype(
        np.float32
    )


@pytest.fixture
def stamps():
    return _make_stamps()


STAMPS = _make_stamps()


def _per_band_pixels(X):
    """(n*H*W, C) table of pixels: every band a column."""
    return X.transpose(0, 2, 3, 1).reshape(-1, X.shape[1]).astype(np.float64)


def _from_pixels(P, shape):
    n, c, h, w = shape
    return P.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def test_zscore_equals_standard_scaler_per_band(stamps):
    Z = ImageScaler().fit_transform(stamps)
    ref = _from_pixels(StandardScaler().fit_transform(_per_band_pixels(stamps)), stamps.shape)
    assert Z.dtype == np.float32 and Z.shape == stamps.shape
    np.testing.assert_allclose(Z, ref, rtol=1e-5, atol=1e-5)


def test_zscore_tabular_equals_standard_scaler(rng):
    X = rng.normal(3, 2, size=(30, 7))
    np.testing.assert_allclose(
        ImageScaler().fit_transform(X), StandardScaler().fit_transform(X), rtol=1e-5, atol=1e-5
    )


def test_asinh_matches_numpy_reference(stamps):
    scaler = ImageScaler("asinh").fit(stamps)
    # Default softening: 1.4826 * MAD of the outer ring of width 16 // 8 = 2 pixels.
    ring = np.ones((16, 16), bool)
    ring[2:-2, 2:-2] = False
    b = np.array(
        [median_abs_deviation(stamps[:, k][:, ring].ravel(), scale="normal") for k in range(3)]
    )
    np.testing.assert_allclose(scaler.softening_, b, rtol=1e-6)
    np.testing.assert_allclose(b, [0.5, 1.0, 2.0], rtol=0.15)  # it is the sky noise
    S = np.arcsinh(stamps.astype(np.float64) / b[None, :, None, None])
    q25, med, q75 = np.percentile(_per_band_pixels(S), [25, 50, 75], axis=0)
    ref = (S - med[None, :, None, None]) / ((q75 - q25) / 1.3489795003921634)[None, :, None, None]
    np.testing.assert_allclose(scaler.transform(stamps), ref, rtol=1e-5, atol=1e-5)


def test_asinh_explicit_softening(stamps):
    scaler = ImageScaler("asinh", softening=[1.0, 2.0, 3.0]).fit(stamps)
    np.testing.assert_array_equal(scaler.softening_, [1.0, 2.0, 3.0])
    assert ImageScaler("asinh", softening=0.5).fit(stamps).softening_.tolist() == [0.5] * 3


def test_minmax_percentiles(stamps):
    full = ImageScaler("minmax", percentiles=(0, 100)).fit_transform(stamps)
    ref = _from_pixels(MinMaxScaler().fit_transform(_per_band_pixels(stamps)), stamps.shape)
    np.testing.assert_allclose(full, ref, rtol=1e-5, atol=1e-6)
    scaler = ImageScaler("minmax").fit(stamps)
    lo, hi = np.percentile(_per_band_pixels(stamps), [0.5, 99.5], axis=0)
    np.testing.assert_allclose(scaler.center_, lo, rtol=1e-6)
    np.testing.assert_allclose(scaler.scale_, hi - lo, rtol=1e-6)


def test_peak_normalises_by_central_flux(stamps):
    scaler = ImageScaler("peak").fit(stamps)
    flux = stamps[:, :, 7:10, 7:10].astype(np.float64).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(
        scaler.transform(stamps), stamps / flux[:, None, None, None], rtol=1e-5, atol=1e-7
    )
    # A blank stamp is divided by the noise floor, not by ~0.
    blank = np.zeros((1, 3, 16, 16), np.float32)
    blank[0, :, 0, 0] = 1.0
    expected_floor = 5 * np.sqrt(9 * np.sum(scaler.softening_**2))
    assert scaler.peak_floor_ == pytest.approx(expected_floor)
    assert scaler.transform(blank)[0, 0, 0, 0] == pytest.approx(1 / expected_floor, rel=1e-5)


@pytest.mark.parametrize("method", ["peak", "peak_asinh"])
@settings(max_examples=25, deadline=None)
@given(c=st.floats(0.05, 50.0))
def test_peak_invariant_to_brightness(method, c):
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:12, :12] - 6.0
    X = rng.normal(size=(6, 2, 12, 12)) + 1000 * np.exp(-(xx**2 + yy**2) / 3.0)
    X = X.astype(np.float32)
    scaler = ImageScaler(method).fit(X)
    np.testing.assert_allclose(
        scaler.transform(c * X), scaler.transform(X), rtol=1e-4, atol=1e-5
    )


def test_peak_per_band_divides_each_band_by_its_own_central_flux(stamps):
    scaler = ImageScaler("peak", per_band=True).fit(stamps)
    flux = stamps[:, :, 7:10, 7:10].astype(np.float64).sum(axis=(2, 3))
    floor = 5 * 3 * scaler.softening_
    np.testing.assert_allclose(scaler.peak_floor_, floor)
    norm = np.maximum(flux, floor)
    np.testing.assert_allclose(
        scaler.transform(stamps), stamps / norm[:, :, None, None], rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("method", ["peak", "peak_asinh"])
@settings(max_examples=25, deadline=None)
@given(colour=arrays(np.float64, 2, elements=st.floats(0.05, 20.0)))
def test_peak_per_band_invariant_to_colour(method, colour):
    """per_band removes colour: rescaling each band (of bright stamps) changes nothing."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:12, :12] - 6.0
    X = rng.normal(size=(6, 2, 12, 12)) + 1000 * np.exp(-(xx**2 + yy**2) / 3.0)
    X = X.astype(np.float32)
    scaler = ImageScaler(method, per_band=True, softening=1.0).fit(X)
    recoloured = (X * colour[None, :, None, None]).astype(np.float32)
    np.testing.assert_allclose(
        scaler.transform(recoloured), scaler.transform(X), rtol=1e-4, atol=1e-5
    )
    # without per_band the colour change shows
    plain = ImageScaler(method, softening=1.0).fit(X)
    if not np.allclose(colour[0], colour[1], rtol=0.05):
        assert not np.allclose(plain.transform(recoloured), plain.transform(X), rtol=1e-2)


@pytest.mark.parametrize("method", ["zscore", "asinh", "minmax"])
@settings(max_examples=25, deadline=None)
@given(c=st.floats(0.01, 100.0))
def test_fitted_scalings_invariant_to_flux_units(method, c):
    """Refitting after a change of flux units (x -> c x) gives the same output."""
    stamps = STAMPS
    np.testing.assert_allclose(
        ImageScaler(method).fit_transform(c * stamps),
        ImageScaler(method).fit_transform(stamps),
        rtol=1e-3,
        atol=1e-3,
    )


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=20, deadline=None)
@given(
    X=arrays(
        np.float32,
        (3, 2, 6, 6),
        elements=st.floats(-1e6, 1e6, allow_nan=False, width=32),
    )
)
def test_output_finite_for_any_finite_input(method, X):
    Z = ImageScaler(method).fit(X).transform(X)
    assert np.all(np.isfinite(Z))


@pytest.mark.parametrize("method", INVERTIBLE)
def test_inverse_round_trip(stamps, method):
    scaler = ImageScaler(method).fit(stamps)
    np.testing.assert_allclose(
        scaler.inverse_transform(scaler.transform(stamps)), stamps, rtol=1e-4, atol=1e-4
    )
    flat = stamps.reshape(len(stamps), -1)
    s2 = ImageScaler(method, image_shape=(3, 16, 16)).fit(flat)
    Z = s2.transform(flat)
    assert Z.shape == flat.shape
    np.testing.assert_allclose(s2.inverse_transform(Z), flat, rtol=1e-4, atol=1e-4)


def test_inverse_with_crop_is_in_cropped_geometry(stamps):
    scaler = ImageScaler("asinh", crop=8).fit(stamps)
    back = scaler.inverse_transform(scaler.transform(stamps))
    np.testing.assert_allclose(back, stamps[:, :, 4:12, 4:12], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("method", ["peak", "peak_asinh"])
def test_peak_not_invertible(stamps, method):
    scaler = ImageScaler(method).fit(stamps)
    with pytest.raises(ValueError, match="not invertible"):
        scaler.inverse_transform(scaler.transform(stamps))


@pytest.mark.parametrize("method", METHODS)
def test_crop_equals_scaling_the_cropped_images(stamps, method):
    cropped = CenterCrop(8).fit_transform(stamps)
    np.testing.assert_allclose(
        ImageScaler(method, crop=8).fit_transform(stamps),
        ImageScaler(method).fit_transform(cropped),
        rtol=1e-6,
        atol=1e-6,
    )


def test_layouts(stamps):
    single = stamps[:, 0]
    assert ImageScaler().fit_transform(single).shape == single.shape
    flat = stamps.reshape(20, -1)
    scaler = ImageScaler(crop=4, image_shape=(3, 16, 16)).fit(flat)
    assert scaler.transform(flat).shape == (20, 3 * 4 * 4)
    names = scaler.get_feature_names_out()
    assert len(names) == 48 and names[0] == f"x{6 * 16 + 6}"
    np.testing.assert_allclose(
        scaler.transform(flat).reshape(20, 3, 4, 4),
        ImageScaler(crop=4).fit_transform(stamps),
        rtol=1e-6,
    )


def test_set_output_pandas_tabular(rng):
    X = pd.DataFrame(rng.normal(size=(10, 3)), columns=["a", "b", "c"])
    out = ImageScaler().set_output(transform="pandas").fit_transform(X)
    assert list(out.columns) == ["a", "b", "c"]


def test_nan_raise_counts_pixels(stamps):
    X = stamps.copy()
    X[0, 0, 0, 0] = np.nan
    X[3, 1, 2, 2] = np.inf
    with pytest.raises(ValueError, match=r"2 non-finite pixel value\(s\) in 2 sample\(s\)"):
        ImageScaler().fit(X)
    scaler = ImageScaler().fit(stamps)
    with pytest.raises(ValueError, match="NaN or infinity"):
        scaler.transform(X)


def test_nan_fill_value_and_median(stamps):
    X = stamps.copy()
    X[0, 0, 5, 5] = np.nan
    filled = stamps.copy()
    filled[0, 0, 5, 5] = -3.0
    np.testing.assert_allclose(
        ImageScaler(nan_policy="fill", fill_value=-3.0).fit_transform(X),
        ImageScaler().fit_transform(filled),
        rtol=1e-6,
    )
    scaler = ImageScaler(nan_policy="fill", fill_value="median").fit(X)
    ring = np.ones((16, 16), bool)
    ring[2:-2, 2:-2] = False
    sky = np.array([np.median(stamps[:, k][:, ring]) for k in range(3)])
    np.testing.assert_allclose(scaler.fill_values_, sky, rtol=1e-6)
    assert np.isnan(X[0, 0, 5, 5])  # input untouched


@pytest.mark.parametrize("method", METHODS)
def test_input_never_modified_and_readonly_ok(stamps, method):
    X = stamps.copy()
    X[1, 2, 3, 3] = np.nan
    before = X.copy()
    X.setflags(write=False)
    scaler = ImageScaler(method, nan_policy="fill", crop=12).fit(X)
    scaler.transform(X)
    np.testing.assert_array_equal(X, before)


def test_memmap_chunks_match_in_memory(tmp_path, rng):
    X = rng.normal(size=(600, 2, 4, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    for method in ["zscore", "asinh", "peak"]:
        np.testing.assert_allclose(
            ImageScaler(method).fit(mm).transform(mm),
            ImageScaler(method).fit(X).transform(X),
            rtol=1e-6,
        )


def test_pickle_round_trip(stamps):
    scaler = ImageScaler("peak_asinh", crop=8).fit(stamps)
    clone = pickle.loads(pickle.dumps(scaler))
    np.testing.assert_array_equal(clone.transform(stamps), scaler.transform(stamps))


@pytest.mark.parametrize(
    ("params", "X", "match"),
    [
        ({"method": "peak"}, np.ones((4, 3)), "needs images"),
        ({"crop": 4}, np.ones((4, 3)), "needs images"),
        ({"crop": 40}, np.ones((4, 2, 8, 8)), "'crop' parameter \\(40\\) is larger"),
        ({"method": "asinh", "softening": [1.0, 2.0]}, np.ones((4, 3, 8, 8)), "3 bands"),
        ({"method": "asinh", "softening": -1.0}, np.ones((4, 3, 8, 8)), "softening"),
        ({"percentiles": (90, 10)}, np.ones((4, 3, 8, 8)), "low < high"),
        ({"method": "bogus"}, np.ones((4, 3, 8, 8)), "method"),
    ],
)
def test_parameter_errors(params, X, match):
    with pytest.raises(ValueError, match=match):
        ImageScaler(**params).fit(X)


def test_band_mismatch_between_fit_and_transform(stamps):
    scaler = ImageScaler().fit(stamps)
    with pytest.raises(ValueError, match="2 band"):
        scaler.transform(stamps[:, :2])


def test_flattener_round_trip_and_pipeline(stamps):
    flat = ImageFlattener().fit(stamps)
    rows = flat.transform(stamps)
    assert rows.shape == (20, 768)
    np.testing.assert_array_equal(rows, stamps.reshape(20, -1))
    np.testing.assert_array_equal(flat.inverse_transform(rows), stamps)
    rows[0, 0] = 1e9
    assert stamps[0, 0, 0, 0] != 1e9  # a copy, not a view of the input
    pipe = make_pipeline(ImageScaler(crop=8), ImageFlattener()).fit(stamps)
    assert pipe.transform(stamps).shape == (20, 3 * 64)
    with pytest.raises(ValueError, match="implies 768"):
        flat.inverse_transform(np.zeros((2, 10)))


@pytest.mark.parametrize(("size", "height", "start"), [(2, 6, 2), (3, 6, 1), (4, 7, 1), (5, 5, 0)])
def test_center_crop_values(size, height, start):
    X = np.arange(2 * 1 * height * height, dtype=np.float32).reshape(2, 1, height, height)
    out = CenterCrop(size).fit_transform(X)
    np.testing.assert_array_equal(out, X[:, :, start : start + size, start : start + size])
    flat = CenterCrop(size, image_shape=(1, height, height)).fit_transform(X.reshape(2, -1))
    assert flat.shape == (2, size * size)
    with pytest.raises(ValueError, match="larger than the images"):
        CenterCrop(height + 1).fit(X)


def test_robust_statistics_on_a_subset_of_large_inputs(monkeypatch, rng):
    """Above the pixel budget a regular subset of samples is used; the result barely moves."""
    import galaxy_learn.preprocessing._scaler as scaler_module

    X = rng.normal(size=(600, 2, 4, 4)).astype(np.float32)
    full = ImageScaler("asinh").fit(X)
    monkeypatch.setattr(scaler_module, "_MAX_QUANTILE_PIXELS", 1000)
    sub = ImageScaler("asinh").fit(X)
    np.testing.assert_allclose(sub.softening_, full.softening_, rtol=0.15)
    np.testing.assert_allclose(sub.scale_, full.scale_, rtol=0.15)
    zs = ImageScaler().fit(X)  # mean / std always use every pixel
    np.testing.assert_allclose(zs.center_, X.mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-7)

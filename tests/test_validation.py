import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from galaxy_learn.utils import check_image_shape, check_images, validate_image_data


class _Dummy(BaseEstimator):
    pass


def test_check_images_4d_passthrough_and_dtype(tiny_images):
    X = tiny_images.astype(np.float64)
    out = check_images(X)
    assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_allclose(out, X, rtol=1e-6)


def test_check_images_unflattens_with_image_shape(tiny_images):
    flat = tiny_images.reshape(len(tiny_images), -1)
    out = check_images(flat, image_shape=(2, 16, 16))
    np.testing.assert_array_equal(out, tiny_images)


def test_check_images_3d_is_single_band():
    out = check_images(np.zeros((3, 8, 8)))
    assert out.shape == (3, 1, 8, 8)


def test_check_images_2d_without_shape_rejected_unless_tabular():
    X = np.zeros((4, 10))
    with pytest.raises(ValueError, match="image_shape"):
        check_images(X)
    assert check_images(X, allow_tabular=True).shape == (4, 10)


def test_check_images_wrong_flat_size():
    with pytest.raises(ValueError, match="implies 50"):
        check_images(np.zeros((3, 49)), image_shape=(2, 5, 5))


def test_check_images_counts_nan_pixels(tiny_images):
    X = tiny_images.copy()
    X[0, 0, 1, 1] = np.nan
    X[3, 1, 2, 2] = np.inf
    with pytest.raises(ValueError, match=r"2 non-finite pixel value\(s\) in 2 sample\(s\)"):
        check_images(X)


def test_check_images_does_not_modify_input(tiny_images):
    X = tiny_images.copy()
    out = check_images(X)
    out += 1
    # float32 input is returned as is only when no conversion is needed; callers copy before
    # writing. Check that a float64 input is never aliased.
    X64 = tiny_images.astype(np.float64)
    before = X64.copy()
    check_images(X64)[:] = 0
    np.testing.assert_array_equal(X64, before)


@pytest.mark.parametrize("bad", [(0, 4, 4), "abc", (1, 2, 3, 4), 5])
def test_check_image_shape_rejects(bad):
    with pytest.raises(ValueError, match="image_shape"):
        check_image_shape(bad)


def test_validate_image_data_band_mismatch(tiny_images):
    est = _Dummy()
    validate_image_data(est, tiny_images, reset=True)
    assert est.n_features_in_ == 2 * 16 * 16
    assert est.input_shape_ == (2, 16, 16)
    with pytest.raises(ValueError, match="3 band"):
        validate_image_data(est, np.zeros((2, 3, 16, 16)), reset=False)
    with pytest.raises(ValueError, match="8x8"):
        validate_image_data(est, np.zeros((2, 2, 8, 8)), reset=False)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 5),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
)
def test_flatten_roundtrip_property(n, c, h, w):
    X = np.arange(n * c * h * w, dtype=np.float32).reshape(n, c, h, w)
    out = check_images(X.reshape(n, -1), image_shape=(c, h, w))
    np.testing.assert_array_equal(out, X)

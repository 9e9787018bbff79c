"""Tests of make_sky_field: shapes, segmentation truth, catalog consistency, reproducibility."""
import numpy as np
import pytest

from galaxy_learn.datasets import make_sky_field
from galaxy_learn.datasets._noise import sky_level
from galaxy_learn.photometry import aperture_flux


def test_field_shapes_catalog_and_segmentation():
    field, seg, cat = make_sky_field((96, 128), n_objects=25, bands="gri", random_state=0)
    assert field.shape == (3, 96, 128) and field.dtype == np.float32
    assert seg.shape == (96, 128) and seg.dtype == np.int32
    assert len(cat) == 25 and (cat["id"] == np.arange(1, 26)).all()
    for col in ["x", "y", "class", "point_source", "mag_r", "snr_r", "half_light_radius"]:
        assert col in cat.columns
    assert seg.min() >= 0 and seg.max() <= 25
    np.testing.assert_array_equal(np.bincount(seg.ravel(), minlength=26)[1:], cat["segment_area"])
    assert cat["x"].between(-0.5, 127.5).all() and cat["y"].between(-0.5, 95.5).all()
    assert set(cat.attrs["psf_fwhm"]) == set("ugriz")


def test_single_object_segmentation_is_the_isophote_and_flux_is_right():
    field, seg, cat = make_sky_field(
        (64, 64), n_objects=1, star_fraction=1.0, qso_fraction=0.0, mag_range=(17, 17.5),
        noise=False, isophote=24.0, random_state=3)
    level = sky_level(24.0)
    np.testing.assert_array_equal(seg == 1, field[2] > level)
    x, y = cat.loc[0, ["x", "y"]]
    assert 12 < x < 52 and 12 < y < 52  # seed chosen so that an 11 px aperture fits
    flux = aperture_flux(field[None, 2:3], [11.0], bands=[0], center=np.array([[x, y]]))[0, 0]
    assert 22.5 - 2.5 * np.log10(flux) == pytest.approx(cat.loc[0, "mag_r"], abs=0.01)


def test_overlaps_brighter_model_wins_and_counts_scale():
    field, seg, cat = make_sky_field((128, 128), n_objects=60, noise=False, random_state=2)
    # Each labelled pixel belongs to an object whose centre region it could be in; the label at
    # each object's own centre pixel is itself unless a brighter neighbour dominates there.
    own = 0
    for row in cat.itertuples():
        iy, ix = int(round(row.y)), int(round(row.x))
        if 0 <= iy < 128 and 0 <= ix < 128 and seg[iy, ix] == row.id:
            own += 1
    assert own >= 0.6 * (cat["segment_area"] > 0).sum()
    # Number counts: the default draws ~80 objects per 256^2 at r = 15-23.5.
    _, _, auto = make_sky_field((256, 256), random_state=3, noise=False, bands="r")
    assert 40 < len(auto) < 140
    assert (auto["class"] == "GALAXY").mean() > 0.7


def test_field_reproducible_and_noise():
    a = make_sky_field((64, 64), n_objects=10, random_state=5)
    b = make_sky_field((64, 64), n_objects=10, random_state=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    clean = make_sky_field((64, 64), n_objects=10, random_state=5, noise=False)
    np.testing.assert_array_equal(a[1], clean[1])
    resid = a[0] - clean[0]
    assert 0.01 < resid[2][clean[0][2] < 1e-3].std() < 0.04  # r-band sky noise ~0.023 nmgy


@pytest.mark.parametrize(
    "kwargs, match",
    [({"shape": (4, 4)}, "shape"), ({"n_objects": -1}, "n_objects"), ({"isophote": None}, "isophote"),
     ({"bands": "rr"}, "bands")],
)
def test_field_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_sky_field(**kwargs)

"""Flux / magnitude conversions against the published SDSS formula and values."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxy_learn.datasets import (
    SDSS_SOFTENING,
    ab_mag_to_nanomaggies,
    asinh_mag_to_nanomaggies,
    nanomaggies_to_ab_mag,
    nanomaggies_to_asinh_mag,
)

# SDSS documentation, "asinh magnitudes" table: b, m(f/f0 = 0), m(f/f0 = 10 b).
SDSS_TABLE = {
    "u": (1.4e-10, 24.63, 22.12),
    "g": (0.9e-10, 25.11, 22.60),
    "r": (1.2e-10, 24.80, 22.29),
    "i": (1.8e-10, 24.36, 21.85),
    "z": (7.4e-10, 22.83, 20.32),
}


@pytest.mark.parametrize("band", list("ugriz"))
def test_published_sdss_values(band):
    b, m_zero, m_ten_b = SDSS_TABLE[band]
    assert SDSS_SOFTENING[band] == b
    assert nanomaggies_to_asinh_mag(0.0, band) == pytest.approx(m_zero, abs=0.006)
    assert nanomaggies_to_asinh_mag(10 * b * 1e9, band) == pytest.approx(m_ten_b, abs=0.006)


def test_formula_written_out():
    """m = -(2.5 / ln 10) [asinh((f/f0) / 2b) + ln b], with f/f0 = 1e-9 nanomaggies."""
    flux = np.array([-3.0, 0.0, 0.5, 10.0, 1e4])
    b = 1.2e-10
    ref = -2.5 / np.log(10) * (np.arcsinh(flux * 1e-9 / (2 * b)) + np.log(b))
    np.testing.assert_allclose(nanomaggies_to_asinh_mag(flux, "r"), ref, rtol=1e-12)
    np.testing.assert_allclose(nanomaggies_to_asinh_mag(flux, softening=b), ref, rtol=1e-12)


def test_per_band_broadcast_over_last_axis():
    flux = np.full((3, 5), 2.0)
    mags = nanomaggies_to_asinh_mag(flux, "ugriz")
    for k, band in enumerate("ugriz"):
        np.testing.assert_allclose(mags[:, k], nanomaggies_to_asinh_mag(2.0, band))


@settings(max_examples=200, deadline=None)
@given(flux=st.floats(-1e3, 1e7), band=st.sampled_from(list("ugriz")))
def test_asinh_round_trip(flux, band):
    back = asinh_mag_to_nanomaggies(nanomaggies_to_asinh_mag(flux, band), band)
    assert back == pytest.approx(flux, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(mag=st.floats(5.0, 35.0))
def test_ab_round_trip(mag):
    assert nanomaggies_to_ab_mag(ab_mag_to_nanomaggies(mag)) == pytest.approx(mag, abs=1e-10)


@settings(max_examples=100, deadline=None)
@given(mag=st.floats(10.0, 20.0), band=st.sampled_from(list("ugriz")))
def test_asinh_equals_ab_when_bright(mag, band):
    flux = ab_mag_to_nanomaggies(mag)
    # asinh(x / 2b) = ln(x / b) + (b / x)^2 + O((b / x)^4): the difference is -1.0857 (b f0 / f)^2
    ratio = SDSS_SOFTENING[band] / (flux * 1e-9)
    diff = nanomaggies_to_asinh_mag(flux, band) - mag
    assert diff == pytest.approx(-2.5 / np.log(10) * ratio**2, rel=0.01, abs=1e-12)
    assert abs(diff) < 0.01


def test_ab_reference_points_and_nonpositive_flux():
    np.testing.assert_allclose(nanomaggies_to_ab_mag([1.0, 100.0]), [22.5, 17.5])
    assert ab_mag_to_nanomaggies(22.5) == pytest.approx(1.0)
    assert np.all(np.isnan(nanomaggies_to_ab_mag([0.0, -1.0])))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"band": "y"}, "ugriz"), ({}, "Give band"), ({"softening": -1.0}, "positive")],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nanomaggies_to_asinh_mag(1.0, **kwargs)

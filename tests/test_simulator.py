"""Tests of the SDSS-like simulator: against GalSim and analytic references, noise, truth."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from galaxy_learn.datasets import make_star_galaxy_cutouts
from galaxy_learn.datasets._noise import electrons_per_nmgy, read_noise_e2, sky_level
from galaxy_learn.datasets._photometry_constants import SKY_MAG
from galaxy_learn.datasets._profiles import (bulge_disk_half_light_radius, sersic_b,
                                             sersic_enclosed_fraction, sersic_fourier)
from galaxy_learn.datasets._psf import moffat_alpha
from galaxy_learn.datasets._render import render_stamps
from galaxy_learn.photometry import aperture_flux

galsim = pytest.importorskip("galsim")

TRUTH_COLUMNS = [
    "class", "point_source", "mag_u", "mag_g", "mag_r", "mag_i", "mag_z", "half_light_radius",
    "sersic_n", "bulge_fraction", "ellipticity", "position_angle", "seeing_fwhm_r", "snr_r",
    "has_neighbor", "x_offset", "y_offset",
]


def _half_light_radius(img, total=None):
    """Circular half-light radius about the image's flux centroid, from exact apertures."""
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    c = np.array([(img * xx).sum(), (img * yy).sum()]) / img.sum()
    radii = np.linspace(0.2, img.shape[0] / 2 - 1, 200)
    flux = aperture_flux(img[None, None], radii, bands=[0], center=c[None])[0]
    total = img.sum() if total is None else total
    return np.interp(0.5 * total, flux, radii)


# --------------------------------------------------------------------------------- profiles
@pytest.mark.parametrize("n", [0.5, 1.0, 2.5, 4.0])
def test_sersic_b_halves_the_light(n):
    assert sersic_enclosed_fraction(n, 1.0) == pytest.approx(0.5, abs=1e-10)
    assert sersic_b(4.0) == pytest.approx(7.669, abs=1e-3)


def test_sersic_fourier_matches_analytic_gaussian_and_exponential():
    k = np.linspace(0.0, 30.0, 301)
    # n = 0.5 is a Gaussian with sigma^2 = 1 / (2 b); tabulated path (n != 1) is exercised.
    b = sersic_b(0.5)
    np.testing.assert_allclose(sersic_fourier(0.5, k**2), np.exp(-(k**2) / (4 * b)), atol=2e-5)
    b1 = sersic_b(1.0)
    np.testing.assert_allclose(sersic_fourier(1, k**2), (1 + (k / b1) ** 2) ** -1.5, rtol=1e-12)


def test_sersic_fourier_n4_matches_galsim():
    prof = galsim.DeVaucouleurs(half_light_radius=1.0)
    k = np.array([0.0, 0.05, 0.3, 1.0, 3.0, 10.0, 30.0])
    ref = np.array([prof.kValue(kk, 0.0).real for kk in k])
    np.testing.assert_allclose(sersic_fourier(4.0, k**2), ref, rtol=2e-3, atol=1e-6)


def test_bulge_disk_half_light_radius():
    # Pure components give their own radius; a mix lies in between and halves the light.
    assert bulge_disk_half_light_radius(1.0, 2.0, 5.0) == pytest.approx(2.0, rel=1e-8)
    assert bulge_disk_half_light_radius(0.0, 2.0, 5.0) == pytest.approx(5.0, rel=1e-8)
    r = bulge_disk_half_light_radius(0.3, 1.0, 3.0)
    frac = 0.3 * sersic_enclosed_fraction(4, r / 1.0) + 0.7 * sersic_enclosed_fraction(1, r / 3.0)
    assert frac == pytest.approx(0.5, abs=1e-8)


def test_truth_half_light_radius_of_bulge_plus_disk_matches_galsim():
    """The truth half-light radius of simulated bulge + disk galaxies, measured by GalSim."""
    from galaxy_learn.datasets._population import sample_objects

    pop = sample_objects(np.array(["GALAXY"] * 3), np.array([17.0, 19.0, 21.0]),
                         np.random.default_rng(0))
    for i in range(3):
        bf = pop["bulge_fraction"][i, 2]  # B/T in r
        gal = galsim.Add([
            galsim.DeVaucouleurs(half_light_radius=pop["r_bulge"][i], flux=bf),
            galsim.Exponential(half_light_radius=pop["r_disk"][i], flux=1 - bf),
        ])
        hlr = pop["half_light_radius"][i]
        # Enclosed light from GalSim's surface brightness, integrated in log r.
        r = hlr * np.logspace(-5, 2.5, 3000)
        sb = np.array([gal.xValue(galsim.PositionD(rr, 0.0)) for rr in r])
        integrand = 2 * np.pi * r**2 * sb
        enclosed = np.concatenate([[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1])
                                                    * np.diff(np.log(r)))])
        assert enclosed[-1] == pytest.approx(1.0, abs=2e-3)
        assert np.interp(0.5, enclosed, r) == pytest.approx(hlr, rel=2e-3)


# --------------------------------------------------------------------------------- vs GalSim
@pytest.mark.parametrize("n_sersic", [1, 4])
@pytest.mark.parametrize(
    "hlr, q, theta, fwhm, dx, dy",
    [(0.8, 1.0, 0.0, 3.4, 0.0, 0.0), (2.5, 0.5, 0.7, 3.0, 0.3, -0.2), (5.0, 0.3, 2.0, 2.0, -0.4, 0.1)],
)
def test_render_matches_galsim(n_sersic, hlr, q, theta, fwhm, dx, dy):
    size, flux = 96, 1000.0
    gal = galsim.Sersic(n_sersic, half_light_radius=hlr, flux=flux).shear(
        q=q, beta=theta * galsim.radians)
    obj = galsim.Convolve(gal, galsim.Moffat(beta=4.765, fwhm=fwhm))
    ref = obj.drawImage(nx=size, ny=size, scale=1.0, use_true_center=False, offset=(dx, dy)).array
    bf = 1.0 if n_sersic == 4 else 0.0
    img = render_stamps(
        size, [[flux]], [[fwhm]], dx=[dx], dy=[dy], r_bulge=[hlr * bf], r_disk=[hlr * (1 - bf)],
        bulge_fraction=[[bf]], q=[q], theta=[theta])[0, 0]
    # Total flux and half-light radius within 1% (the bar); pixels far tighter.
    assert img.sum() == pytest.approx(ref.sum(), rel=1e-2)
    assert _half_light_radius(img, flux) == pytest.approx(_half_light_radius(ref, flux), rel=1e-2)
    assert np.abs(img - ref).max() < 2e-3 * ref.max()


@pytest.mark.parametrize("size", [33, 45])
def test_render_odd_stamp_sizes_match_galsim(size):
    gal = galsim.Exponential(half_light_radius=1.5, flux=10.0).shear(q=0.6, beta=0.4 * galsim.radians)
    ref = galsim.Convolve(gal, galsim.Moffat(beta=4.765, fwhm=2.0)).drawImage(
        nx=size, ny=size, scale=1.0, use_true_center=False, offset=(0.3, -0.2)).array
    img = render_stamps(size, [[10.0]], [[2.0]], dx=[0.3], dy=[-0.2], r_disk=[1.5], q=[0.6],
                        theta=[0.4])[0, 0]
    assert np.abs(img - ref).max() < 2e-4 * ref.max()


def test_render_kolmogorov_matches_galsim():
    ref = galsim.Kolmogorov(fwhm=3.0, flux=50.0).drawImage(
        nx=48, ny=48, scale=1.0, use_true_center=False, offset=(0.25, -0.1)).array
    img = render_stamps(48, [[50.0]], [[3.0]], dx=[0.25], dy=[-0.1], psf="kolmogorov")[0, 0]
    assert np.abs(img - ref).max() < 2e-3 * ref.max()


def test_psf_pixel_values_match_integrated_moffat():
    """Pixels are the analytic Moffat integrated over the pixel square (independent of GalSim)."""
    fwhm, beta, dx, dy = 3.4, 4.765, 0.3, -0.2
    alpha = moffat_alpha(fwhm, beta)
    norm = (beta - 1) / (np.pi * alpha**2)
    img = render_stamps(64, [[1.0]], [[fwhm]], dx=[dx], dy=[dy])[0, 0]
    for (row, col) in [(32, 32), (32, 34), (30, 33), (36, 29)]:
        x0, y0 = col - 32 - dx, row - 32 - dy
        val, _ = integrate.dblquad(
            lambda y, x: norm * (1 + (x * x + y * y) / alpha**2) ** -beta,
            x0 - 0.5, x0 + 0.5, y0 - 0.5, y0 + 0.5, epsabs=1e-10)
        assert img[row, col] == pytest.approx(val, abs=2e-4 * float(img.max()))


@pytest.mark.parametrize("fwhm", [2.0, 3.4, 6.0])
def test_psf_fwhm(fwhm):
    """The half-maximum radius of the (pixel-free) profile sampled on a fine grid equals FWHM/2."""
    # Oversample the PSF by drawing it with FWHM scaled up 10x: pixel smoothing then negligible.
    img = render_stamps(256, [[1.0]], [[10 * fwhm]])[0, 0]
    row = img[128, 128:]
    half = np.interp(row[0] / 2, row[::-1], np.arange(row.size)[::-1])
    assert 2 * half / 10 == pytest.approx(fwhm, rel=1e-2)


@settings(max_examples=25, deadline=None)
@given(
    r_b=st.floats(0.0, 6.0), r_d=st.floats(0.0, 10.0), bf=st.floats(0.0, 1.0),
    q=st.floats(0.15, 1.0), theta=st.floats(0.0, np.pi), fwhm=st.floats(1.6, 6.0),
    dx=st.floats(-0.5, 0.5), dy=st.floats(-0.5, 0.5),
)
def test_render_is_consistent_across_stamp_sizes_and_positive(r_b, r_d, bf, q, theta, fwhm, dx, dy):
    """Any profile: a 32 px stamp is the centre of a 128 px one (padding stops the wings from
    wrapping: the L1 difference is < 1% of the flux), and negative ringing (truncation at Nyquist for PSFs >= 3 px) stays below 2e-4 of the
    peak."""
    kw = dict(dx=[dx], dy=[dy], r_bulge=[r_b], r_disk=[r_d], bulge_fraction=[[bf]], q=[q],
              theta=[theta])
    small = render_stamps(32, [[100.0]], [[fwhm]], **kw)[0, 0]
    big = render_stamps(128, [[100.0]], [[fwhm]], **kw)[0, 0]
    assert np.abs(small - big[48:80, 48:80]).sum() < 1.0
    assert big.sum() <= 100.01
    assert small.min() >= -2e-4 * small.max()


# --------------------------------------------------------------------------------- cutouts
@pytest.fixture(scope="module")
def cutouts():
    return make_star_galaxy_cutouts(300, random_state=3)


def test_shapes_dtypes_and_truth(cutouts):
    X, y, truth = cutouts
    assert X.shape == (300, 5, 64, 64) and X.dtype == np.float32
    assert np.isfinite(X).all()
    assert set(np.unique(y)) <= {"STAR", "GALAXY", "QSO"}
    assert isinstance(truth, pd.DataFrame) and len(truth) == 300
    assert set(TRUTH_COLUMNS) <= set(truth.columns)
    np.testing.assert_array_equal(truth["class"].to_numpy(), y)
    np.testing.assert_array_equal(truth["point_source"].to_numpy(), y != "GALAXY")
    ps = truth["point_source"].to_numpy()
    assert (truth.loc[ps, "half_light_radius"] == 0).all()
    assert (truth.loc[~ps, "half_light_radius"] > 0).all()
    assert truth["mag_r"].between(16.0, 22.5).all()
    assert truth[["x_offset", "y_offset"]].abs().max().max() <= 0.5
    assert truth["ellipticity"].between(0, 1).all() and truth["snr_r"].gt(0).all()


def test_reproducible_and_band_subsets():
    X1, y1, t1 = make_star_galaxy_cutouts(20, image_size=32, random_state=7)
    X2, y2, t2 = make_star_galaxy_cutouts(20, image_size=32, random_state=7)
    np.testing.assert_array_equal(X1, X2)
    pd.testing.assert_frame_equal(t1, t2)
    X3, _, t3 = make_star_galaxy_cutouts(20, image_size=32, bands="gr", random_state=7,
                                         noise=False)
    X4, _, _ = make_star_galaxy_cutouts(20, image_size=32, random_state=7, noise=False)
    assert X3.shape == (20, 2, 32, 32)
    # Same objects; the oversampling choice (by narrowest PSF among the bands) may differ.
    np.testing.assert_allclose(X3, X4[:, [1, 2]], rtol=0, atol=2e-4 * np.abs(X4).max())
    np.testing.assert_array_equal(t3["mag_r"], t1["mag_r"])
    X5, _, _ = make_star_galaxy_cutouts(20, image_size=32, random_state=8)
    assert not np.allclose(X1, X5)
    # Odd sizes, the Kolmogorov PSF and a seeing range work end to end.
    X6, _, t6 = make_star_galaxy_cutouts(10, image_size=31, psf="kolmogorov", seeing=(1.0, 1.2),
                                         random_state=7)
    assert X6.shape == (10, 5, 31, 31) and np.isfinite(X6).all()
    assert t6["seeing_fwhm_r"].between(1.0, 1.2).all()


def test_noise_variance_matches_poisson_expectation():
    kw = dict(image_size=32, mag_range=(16.0, 16.5), star_fraction=1.0, qso_fraction=0.0,
              neighbor_probability=0.0, random_state=11)
    clean, _, _ = make_star_galaxy_cutouts(400, noise=False, **kw)
    noisy, _, _ = make_star_galaxy_cutouts(400, noise=True, **kw)
    resid = noisy - clean
    bands = "ugriz"
    e = electrons_per_nmgy(bands)
    read = read_noise_e2(bands)
    sky = sky_level(np.array([SKY_MAG[b] for b in bands]))
    for c in range(5):
        expected = (np.maximum(clean[:, c], 0) + sky[c]) / e[c] + read[c] / e[c] ** 2
        # Sky-dominated pixels and source-dominated pixels separately.
        for sel in (clean[:, c] < 0.01 * sky[c], clean[:, c] > 3 * sky[c]):
            z = resid[:, c][sel] / np.sqrt(expected[sel])
            assert abs(z.mean()) < 0.05
            assert z.var() == pytest.approx(1.0, abs=0.05)


def test_point_source_magnitudes_match_stamp_flux():
    X, y, truth = make_star_galaxy_cutouts(
        60, noise=False, neighbor_probability=0.0, star_fraction=0.5, qso_fraction=0.5,
        random_state=5)
    for c, band in enumerate("ugriz"):
        flux = aperture_flux(X[:, [c]], [20.0], bands=[0])[:, 0]
        mag = 22.5 - 2.5 * np.log10(flux)
        # A 20 px (7.9") aperture holds > 99.8% of a Moffat beta=4.765 PSF of FWHM <= 2.6".
        np.testing.assert_allclose(mag, truth[f"mag_{band}"], atol=3e-3)


def test_galaxy_half_light_radius_truth():
    X, y, truth = make_star_galaxy_cutouts(
        30, noise=False, neighbor_probability=0.0, star_fraction=0.0, qso_fraction=0.0,
        mag_range=(17, 18), image_size=64, seeing=(1.25, 1.3), random_state=2)
    sel = (truth["half_light_radius"] < 3.0) & (truth["ellipticity"] < 0.3)
    assert sel.sum() >= 5
    for i in np.flatnonzero(sel):
        obs = _half_light_radius(X[i, 2], total=10 ** (-0.4 * (truth["mag_r"][i] - 22.5))) * 0.396
        expected = np.hypot(truth["half_light_radius"][i], 0.4 * truth["psf_fwhm_r"][i])
        # Seeing-convolved size: roughly the quadrature sum (a loose, independent check).
        assert obs == pytest.approx(expected, rel=0.35)


def test_neighbours_are_added():
    kw = dict(image_size=48, noise=False, random_state=4)
    X0, _, t0 = make_star_galaxy_cutouts(50, neighbor_probability=0.0, **kw)
    X1, _, t1 = make_star_galaxy_cutouts(50, neighbor_probability=1.0, **kw)
    assert t1["has_neighbor"].all() and not t0["has_neighbor"].any()
    assert t1["neighbor_mag_r"].notna().all()
    # Same central objects, extra light elsewhere.
    np.testing.assert_array_equal(t0["mag_r"], t1["mag_r"])
    assert (X1.sum(axis=(1, 2, 3)) > X0.sum(axis=(1, 2, 3))).mean() > 0.9


def test_cutout_segmentation_truth():
    kw = dict(image_size=40, neighbor_probability=0.5, random_state=6)
    X, y, truth, seg = make_star_galaxy_cutouts(30, return_segmentation=True, noise=False,
                                                bands="gi", **kw)
    X2, _, _ = make_star_galaxy_cutouts(30, noise=False, bands="gi", **kw)
    np.testing.assert_array_equal(X, X2)  # the flag only adds an output
    assert seg.shape == (30, 40, 40) and seg.dtype == np.int8
    assert set(np.unique(seg)) <= {0, 1, 2}
    assert (seg[:, 20, 20] == 1).mean() > 0.9  # the centre belongs to the central object
    has_nb = truth["has_neighbor"].to_numpy()
    assert not (seg[~has_nb] == 2).any()
    # Without neighbours the central label is exactly the r-band model above the isophote.
    Xr, _, _, seg_r = make_star_galaxy_cutouts(10, return_segmentation=True, noise=False,
                                               bands="r", image_size=40, neighbor_probability=0,
                                               isophote=23.0, random_state=1)
    np.testing.assert_array_equal(seg_r == 1, Xr[:, 0] >= sky_level(23.0))


def test_masked_bad_columns():
    kw = dict(image_size=32, random_state=9)
    X0, _, t0 = make_star_galaxy_cutouts(40, **kw)
    X1, _, t1 = make_star_galaxy_cutouts(40, mask_probability=0.5, **kw)
    nan = np.isnan(X1)
    assert not np.isnan(X0).any() and (t0["n_masked_pixels"] == 0).all()
    np.testing.assert_array_equal(nan.sum(axis=(1, 2, 3)), t1["n_masked_pixels"])
    assert 8 < (t1["n_masked_pixels"] > 0).sum() < 32
    # One band per masked image; elsewhere identical to the unmasked draw.
    assert (nan.any(axis=(2, 3)).sum(axis=1) <= 1).all()
    np.testing.assert_array_equal(X1[~nan], X0[~nan])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"mask_probability": -0.1}, "mask_probability"),
        ({"image_size": 4}, "image_size"),
        ({"bands": "ugx"}, "bands"),
        ({"star_fraction": 0.8, "qso_fraction": 0.3}, "must not exceed 1"),
        ({"mag_range": (22, 16)}, "mag_range"),
        ({"seeing": -1.0}, "seeing"),
        ({"mag_slope": float("nan")}, "mag_slope"),
        ({"mag_slope": "flat"}, "mag_slope"),
        ({"neighbor_probability": 2.0}, "neighbor_probability"),
        ({"psf": "gauss"}, "psf"),
        ({"return_segmentation": True, "isophote": "deep"}, "isophote"),
        ({"sky": [1.0, 2.0]}, "sky"),
    ],
)
def test_parameter_errors(kwargs, match):
    params = {"n_samples": 2, **kwargs}
    n = params.pop("n_samples")
    with pytest.raises(ValueError, match=match):
        make_star_galaxy_cutouts(n, **params)


@settings(max_examples=20, deadline=None)
@given(slope=st.floats(-0.6, 0.6), lo=st.floats(14.0, 20.0), width=st.floats(0.5, 6.0))
def test_sample_magnitudes_follow_the_counts(slope, lo, width):
    """dN/dm ∝ 10^(slope m) on [lo, hi]: the sample's CDF against the analytic one (KS), slope 0
    included (uniform)."""
    from scipy import stats

    from galaxy_learn.datasets._population import sample_magnitudes

    hi = lo + width
    m = sample_magnitudes(4000, slope, (lo, hi), np.random.default_rng(0))
    assert m.min() >= lo and m.max() <= hi
    a = slope * np.log(10.0)
    if abs(a * width) < 1e-9:
        cdf = lambda x: (x - lo) / width  # noqa: E731
    else:
        cdf = lambda x: np.expm1(a * (x - lo)) / np.expm1(a * width)  # noqa: E731
    assert stats.kstest(m, cdf).pvalue > 1e-4


def test_mag_slope_makes_the_class_fractions_flat_in_magnitude():
    """Default: stars dominate the bright end (their counts are flatter); with one slope for
    every class the star fraction is the same in every magnitude bin; the objects' classes and
    everything drawn before the magnitudes are those of the default."""
    kw = dict(image_size=16, bands="r", mag_range=(14.0, 23.0), noise=False,
              neighbor_probability=0.0, random_state=3)
    _, y0, t0 = make_star_galaxy_cutouts(3000, **kw)
    _, y1, t1 = make_star_galaxy_cutouts(3000, mag_slope=0.0, **kw)
    np.testing.assert_array_equal(y0, y1)
    edges = [14.0, 17.0, 20.0, 23.0]
    def star_fraction_per_bin(t):  # noqa: E306
        b = np.digitize(t["mag_r"], edges[1:-1])
        return np.array([t["point_source"][b == i].mean() for i in range(3)])
    f0, f1 = star_fraction_per_bin(t0), star_fraction_per_bin(t1)
    assert f0[0] > 0.8 and f0[2] < 0.45  # counts: bright stars, faint galaxies
    np.testing.assert_allclose(f1, t1["point_source"].mean(), atol=0.05)
    # uniform: about a third of the objects per 3-magnitude bin
    np.testing.assert_allclose(np.bincount(np.digitize(t1["mag_r"], edges[1:-1])) / 3000,
                               1 / 3, atol=0.04)

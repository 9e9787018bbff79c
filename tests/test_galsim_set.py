"""benchmarks/galsim_set.py: the independent GalSim evaluation set (format, calibration, PSF,
noise, population, neighbours)."""
import numpy as np
import pytest
from scipy.optimize import least_squares

pytest.importorskip("galsim")

from benchmarks.galsim_set import (  # noqa: E402
    BANDS,
    draw_galsim_catalogue,
    expected_star_fraction,
    render_galsim_set,
    sky_noise,
)

BRIGHT_STARS = dict(mag_range=(16.0, 16.3), star_fraction=1.0, neighbour_fraction=0.0)


def _moffat_pixel_model(params, shape, sub=5):
    """Moffat (flux, x0, y0, fwhm, beta) integrated over square pixels by sub x sub sampling."""
    flux, x0, y0, fwhm, beta = params
    alpha = fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    ys = (np.arange(shape[0])[:, None] + offs[None, :]).ravel()
    xs = (np.arange(shape[1])[:, None] + offs[None, :]).ravel()
    r2 = (xs[None, :] - x0) ** 2 + (ys[:, None] - y0) ** 2
    prof = (beta - 1.0) / (np.pi * alpha**2) * (1.0 + r2 / alpha**2) ** (-beta)
    return flux * prof.reshape(shape[0], sub, shape[1], sub).mean(axis=(1, 3))


def _fit_moffat_fwhm(img, x0, y0, fwhm0):
    half = 10
    cy, cx = int(round(y0)), int(round(x0))
    win = img[cy - half:cy + half + 1, cx - half:cx + half + 1].astype(float)

    def resid(p):
        return (_moffat_pixel_model(p, win.shape) - win).ravel()

    p0 = [win.sum(), x0 - (cx - half), y0 - (cy - half), fwhm0, 3.5]
    fit = least_squares(resid, p0, bounds=([0, 0, 0, 0.5, 1.5], [np.inf, 21, 21, 15, 10]))
    return fit.x[3]


def test_shapes_dtypes_and_labels():
    X, y, truth = render_galsim_set(6, random_state=1)
    assert X.shape == (6, 5, 64, 64) and X.dtype == np.float32
    assert np.isfinite(X).all()
    assert y.dtype == np.int64 and set(np.unique(y)) <= {0, 1}
    np.testing.assert_array_equal(y, truth["is_star"].to_numpy().astype(int))
    np.testing.assert_array_equal(truth["class"] == "STAR", truth["is_star"])
    for col in ["r_mag", "n_neighbours", "hlr", "psf_beta", "x", "y"] + [
            f"{p}_{b}" for p in ("mag", "flux", "psf_fwhm", "psf_fwhm_pix", "sky_noise")
            for b in BANDS]:
        assert col in truth.columns, col
    np.testing.assert_allclose(truth["r_mag"], truth["mag_r"])
    np.testing.assert_allclose(22.5 - 2.5 * np.log10(truth["flux_g"]), truth["mag_g"])
    np.testing.assert_allclose(truth["psf_fwhm_pix_i"] * 0.396, truth["psf_fwhm_i"])
    assert ((truth["hlr"] > 0) == (y == 0)).all()


def test_deterministic_and_chunk_invariant():
    kw = dict(stamp=32, neighbour_fraction=0.7)
    X1, y1, t1 = render_galsim_set(7, random_state=3, **kw)
    X2, y2, t2 = render_galsim_set(7, random_state=3, chunk_size=2, **kw)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert t1.equals(t2)
    X3, _, t3 = render_galsim_set(7, random_state=4, **kw)
    assert not np.array_equal(X1, X3) and not t1.equals(t3)
    # A Generator seeds as well, and the same Generator state gives the same set.
    Xa = render_galsim_set(3, random_state=np.random.default_rng(5), stamp=32)[0]
    Xb = render_galsim_set(3, random_state=np.random.default_rng(5), stamp=32)[0]
    np.testing.assert_array_equal(Xa, Xb)


def test_catalogue_is_the_rendered_truth():
    kw = dict(random_state=2, stamp=32, neighbour_fraction=0.5)
    _, _, truth, nb = render_galsim_set(5, return_neighbours=True, **kw)
    cat, cat_nb = draw_galsim_catalogue(5, **kw)
    assert truth.drop(columns=[f"sky_noise_{b}" for b in BANDS]).equals(cat)
    assert nb.equals(cat_nb)
    assert len(nb) == truth["n_neighbours"].sum()


def test_isolated_star_flux_matches_catalogue():
    # noiseless: the stamp holds the catalogue flux up to the Moffat wings beyond it (< 0.3%)
    X, _, truth = render_galsim_set(4, random_state=0, noise=False, **BRIGHT_STARS)
    for k, b in enumerate(BANDS):
        total = X[:, k].sum(axis=(1, 2))
        np.testing.assert_allclose(total, truth[f"flux_{b}"], rtol=3e-3)
        np.testing.assert_allclose(22.5 - 2.5 * np.log10(total), truth[f"mag_{b}"], atol=4e-3)
    # with noise, an r ~ 16 star's stamp sum is within 2% in every band but u/z (faint there
    # for red stars, 5-sigma-of-the-sum margin used instead)
    Xn, _, tn = render_galsim_set(4, random_state=0, **BRIGHT_STARS)
    for k, b in enumerate(BANDS):
        total = Xn[:, k].sum(axis=(1, 2)).astype(float)
        flux = tn[f"flux_{b}"].to_numpy()
        tol = np.maximum(0.02 * flux, 5 * 64 * tn[f"sky_noise_{b}"].to_numpy())
        assert (np.abs(total - flux) < tol).all(), (b, total, flux)
    assert (np.abs(Xn[:, 2].sum(axis=(1, 2)) / tn["flux_r"] - 1) < 0.02).all()


def test_star_centre_is_the_truth_position():
    X, _, truth = render_galsim_set(4, random_state=6, noise=False, **BRIGHT_STARS)
    img = X[:, 2].astype(float)
    yy, xx = np.mgrid[:64, :64]
    w = img.sum(axis=(1, 2))
    np.testing.assert_allclose((img * xx).sum(axis=(1, 2)) / w, truth["x"], atol=0.02)
    np.testing.assert_allclose((img * yy).sum(axis=(1, 2)) / w, truth["y"], atol=0.02)


def test_bright_star_fwhm_matches_psf_fwhm():
    X, _, truth = render_galsim_set(3, random_state=7, **BRIGHT_STARS)
    for i in range(3):
        for k, b in enumerate(BANDS[1:4], start=1):  # g, r, i: bright for every star colour
            fwhm_pix = truth[f"psf_fwhm_pix_{b}"].iloc[i]
            fwhm = _fit_moffat_fwhm(X[i, k], truth["x"].iloc[i], truth["y"].iloc[i], 3.5)
            assert abs(fwhm / fwhm_pix - 1) < 0.05, (i, b, fwhm, fwhm_pix)
    # one seeing per exposure, FWHM ~ lambda^-0.2 across the bands
    ratio = truth["psf_fwhm_u"] / truth["psf_fwhm_z"]
    np.testing.assert_allclose(ratio, (3551.0 / 8932.0) ** -0.2)


def test_sky_noise_in_empty_corners_matches_stated_noise():
    X, _, truth = render_galsim_set(
        8, random_state=8, mag_range=(22.0, 22.5), star_fraction=1.0, neighbour_fraction=0.0)
    stated = sky_noise()
    for k, b in enumerate(BANDS):
        corners = np.concatenate([X[:, k, :16, :16], X[:, k, :16, -16:], X[:, k, -16:, :16],
                                  X[:, k, -16:, -16:]], axis=1)
        assert abs(corners.std() / stated[b] - 1) < 0.1, (b, corners.std(), stated[b])
        assert abs(corners.mean()) < 0.1 * stated[b]  # sky subtracted
        assert truth[f"sky_noise_{b}"].iloc[0] == pytest.approx(stated[b])
    # SDSS-like: the r-band sky noise is a few hundredths of a nanomaggy; z is the noisiest band
    assert 0.015 < stated["r"] < 0.04 and stated["z"] == max(stated.values())


def test_star_fraction_per_magnitude_bin_as_configured():
    truth, _ = draw_galsim_catalogue(40000, random_state=0)
    r, star = truth["r_mag"].to_numpy(), truth["is_star"].to_numpy()
    assert r.min() >= 16.0 and r.max() <= 22.5
    assert abs(star.mean() - 0.4) < 4 * np.sqrt(0.24 / len(star))
    expected = []
    for lo, hi in [(16, 19), (19, 20), (20, 21), (21, 22.5)]:
        sel = (r >= lo) & (r < hi)
        p = expected_star_fraction(lo, hi)
        expected.append(p)
        assert abs(star[sel].mean() - p) < 4 * np.sqrt(p * (1 - p) / sel.sum()), (lo, hi)
    # magnitude dependent: stars dominate the bright end, galaxies the faint end
    assert expected[0] > 0.75 and expected[-1] < 0.35
    assert np.all(np.diff(expected) < 0)
    # galaxy sizes shrink toward the faint end (median hlr ~3" at r ~ 17, < 1" at r > 21.5)
    gal = ~star
    assert np.median(truth["hlr"][gal & (r < 17.5)]) > 2.0
    assert np.median(truth["hlr"][gal & (r > 21.5)]) < 1.0


def test_neighbours_same_place_in_every_band():
    kw = dict(random_state=9, noise=False)
    X, _, truth, nb = render_galsim_set(12, neighbour_fraction=1.0, return_neighbours=True, **kw)
    X0, _, truth0 = render_galsim_set(12, neighbour_fraction=0.0, **kw)
    # the neighbours have their own random stream: the central objects are unchanged
    cols = ["r_mag", "x", "y", "psf_fwhm_r", "hlr"]
    assert truth[cols].equals(truth0[cols])
    assert (truth["n_neighbours"] >= 1).all() and (truth0["n_neighbours"] == 0).all()
    only = X.astype(float) - X0  # the neighbours alone, in every band
    yy, xx = np.mgrid[:64, :64]
    checked = 0
    for row in nb.itertuples():
        others = nb[(nb["cutout"] == row.cutout) & (nb.index != row.Index)]
        sep = np.hypot(others["x"] - row.x, others["y"] - row.y)
        if (sep < 15).any() or min(row.x, row.y) < 5 or max(row.x, row.y) > 58:
            continue
        win = np.hypot(xx - row.x, yy - row.y) <= 3.0
        for k, b in enumerate(BANDS):
            w = only[row.cutout, k] * win
            assert w.sum() > 0, (row.Index, b)
            assert abs((w * xx).sum() / w.sum() - row.x) < 0.25, (row.Index, b)
            assert abs((w * yy).sum() / w.sum() - row.y) < 0.25, (row.Index, b)
        checked += 1
    assert checked >= 5
    assert (np.hypot(nb["x"] - 32, nb["y"] - 32) >= 6).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), r"The 'n' parameter of render_galsim_set must be an int >= 1. Got 0."),
    (dict(star_fraction=1.5), r"The 'star_fraction' parameter .* \[0.0, 1.0\]. Got 1.5."),
    (dict(mag_range=(22, 16)), r"The 'mag_range' parameter .* Got \(22, 16\)."),
    (dict(seeing_median=3.0), r"The 'seeing_median' parameter .* \[0.9, 2.0\]. Got 3.0."),
    (dict(chunk_size=0), r"The 'chunk_size' parameter .* int >= 1. Got 0."),
    (dict(random_state="a"), r"The 'random_state' parameter .* Got 'a'."),
])
def test_bad_parameters(kwargs, match):
    kw = dict(n=2, stamp=32, random_state=0) | kwargs
    with pytest.raises(ValueError, match=match):
        render_galsim_set(kw.pop("n"), **kw)

"""Simulated, labelled training cutouts matched to a user's real stamps (survey-matched simulation).

A classifier trained on simulations whose PSF and noise are read from the very data it will
classify learns the question "is this object the PSF?" at the data's own seeing and depth, with no
real label: the amortised-inference approach of Celeste and BLISS (Regier et al. 2019; Liu et al.
2023; Duan et al. 2025 for LSST). This module measures what the simulator needs from the stamps
(the PSF FWHM on their own point sources, the sky noise per band on their borders) and renders
the training set with :func:`~galaxy_learn.datasets.make_star_galaxy_cutouts`. User guide:
"Star/galaxy separation on real data", section "Training on simulations matched to the field".
"""
from numbers import Integral, Real

import numpy as np

from ..photometry import border_noise, estimate_psf_fwhm
from ._cutouts import make_star_galaxy_cutouts
from ._noise import electrons_per_nmgy, read_noise_e2, sky_level
from ._photometry_constants import EFFECTIVE_WAVELENGTH, PIXEL_SCALE, SKY_MAG, nmgy_to_mag

__all__ = ["make_matched_cutouts"]

_BORDER = 4
_MIN_STAMPS = 20
_DARKEST_SKY = 26.0  # mag/arcsec^2: a noise at or below the read-noise floor gets this sky


def _check_stamps(X, bands):
    X = np.asarray(X)
    if X.ndim != 4:
        msg = (f"make_matched_cutouts needs stamps of shape (n, bands, H, W); got an array of "
               f"shape {X.shape}.")
        raise ValueError(msg)
    if not np.issubdtype(X.dtype, np.number):
        msg = f"The stamps must be numeric; got dtype {X.dtype}."
        raise ValueError(msg)
    n, c, h, w = X.shape
    if c != len(bands):
        msg = (f"The stamps have {c} band(s) but bands={bands!r} names {len(bands)}: give the "
               "bands of the stamps, in order.")
        raise ValueError(msg)
    if h != w or h < 16:
        msg = f"The stamps must be square and at least 16x16 pixels; got {h}x{w}."
        raise ValueError(msg)
    if n < _MIN_STAMPS:
        msg = (f"make_matched_cutouts needs at least {_MIN_STAMPS} stamps to measure the PSF and "
               f"the noise; got {n}.")
        raise ValueError(msg)
    if np.isinf(X).any():
        msg = "The stamps hold infinite pixel values; mask bad pixels with NaN instead."
        raise ValueError(msg)
    return np.asarray(X, dtype=np.float64)


def matched_sky(noise, bands):
    """Sky surface brightness (AB mag/arcsec^2) per band whose Poisson + read noise in the
    simulator equals ``noise`` (nanomaggies per pixel): ``sigma^2 = (S + R / e) / e`` with ``S``
    the sky in nmgy/pixel, ``e`` electrons per nmgy and ``R`` the read-noise variance in
    electrons^2. A noise at or below the read-noise floor gets a sky of 26 mag/arcsec^2."""
    e = electrons_per_nmgy(bands)
    sky = np.asarray(noise, dtype=float) ** 2 * e - read_noise_e2(bands) / e
    sky = np.maximum(sky, sky_level(_DARKEST_SKY))
    return nmgy_to_mag(sky / PIXEL_SCALE**2)


def _calibrated_seeing(fwhm_px, band, size, sky_mag, random_state, n_stars=200, n_iter=2):
    """The simulator's r-band seeing (arcsec) whose bright stars measure ``fwhm_px`` in ``band``
    with :func:`estimate_psf_fwhm`.

    Adaptive moments of a Moffat PSF (or of a real PSF's wings) do not give its FWHM: on the
    simulator's Moffat (beta 4.765) they read ~10 % wide. The seeing is therefore set so that
    the simulated stars *measure* what the real ones measure: start from the measured width,
    render ``n_stars`` bright stars, rescale by the ratio of the widths, twice.
    """
    scale = (EFFECTIVE_WAVELENGTH[band] / EFFECTIVE_WAVELENGTH["r"]) ** -0.2
    seeing = fwhm_px * PIXEL_SCALE / scale
    seed = np.random.RandomState(random_state if isinstance(random_state, Integral) else 0)
    for _ in range(n_iter):
        stars, _, _ = make_star_galaxy_cutouts(
            n_stars, image_size=size, bands=band, star_fraction=1.0, qso_fraction=0.0,
            mag_range=(15.0, 18.0), seeing=(seeing, seeing), neighbor_probability=0.0,
            sky={band: sky_mag}, random_state=seed.randint(2**31 - 1))
        got, _ = estimate_psf_fwhm(stars[:, 0])
        if not np.isfinite(got) or got <= 0:
            break
        seeing *= fwhm_px / got
    return float(seeing)


def make_matched_cutouts(X, n_samples, *, bands="ugriz", psf_fwhm=None, seeing_spread=0.05,
                         star_fraction=0.4, mag_range=(14.0, 23.0), mag_slope=None,
                         neighbor_probability=0.2, random_state=None):
    """Labelled simulated cutouts with the PSF and noise of the given real stamps.

    The training set of a classifier that never sees a real label (amortised inference, as in
    Celeste/BLISS, Regier et al. 2019 and Duan et al. 2025): the PSF FWHM is measured on the
    stamps' own point sources (:func:`~galaxy_learn.photometry.estimate_psf_fwhm`, adaptive
    moments of the bright objects, the stellar locus), the sky noise of each band on the stamps'
    borders (:func:`~galaxy_learn.photometry.border_noise`), converted to the sky brightness
    that gives that noise in the simulator; :func:`make_star_galaxy_cutouts` then renders
    ``n_samples`` stamps of the same size and bands. Train any classifier on them (e.g.
    :class:`~galaxy_learn.classification.CNNClassifier`) and apply it to the real stamps.

    The simulator is SDSS-like: 0.396" pixels, fluxes in nanomaggies, bands among u, g, r, i, z;
    stamps of another survey must be resampled and calibrated to that first. User guide: "Star/
    galaxy separation on real data".

    Parameters
    ----------
    X : array-like of shape (n_stamps, n_bands, H, W)
        Real, sky-subtracted stamps in nanomaggies, each centred on its object (at least 20,
        square, at least 16x16). NaN pixels (masked) are ignored by the measurements. Not
        modified.
    n_samples : int
        Number of simulated cutouts.
    bands : str, default="ugriz"
        The bands of ``X``, in order (a subset of "ugriz").
    psf_fwhm : float, default=None
        The simulator's r-band seeing (Moffat FWHM, arcsec), when known. None measures the
        stamps' PSF width (in the r band if present, else in the middle band) and sets the
        seeing so that the simulator's own bright stars *measure* the same width with the same
        estimator (adaptive moments read a Moffat's FWHM ~10 % wide, so a measured width is
        not a FWHM to pass on as such).
    seeing_spread : float, default=0.05
        Relative half-width of the uniform range of simulated seeing around ``psf_fwhm``.
    star_fraction : float, default=0.4
        Fraction of stars among the simulated objects (5 % quasars come on top; see
        :func:`make_star_galaxy_cutouts`). The classifier's probabilities follow this fraction,
        not the data's; rank-based scores and a cut at the data's estimated star fraction
        (:class:`~galaxy_learn.classification.ThresholdClassifier`) are unaffected.
    mag_range : (float, float), default=(14.0, 23.0)
        r-band AB magnitudes of the simulated central objects.
    mag_slope : float, default=None
        Passed to :func:`make_star_galaxy_cutouts`: None gives each class its own number
        counts; a number gives every class the counts ``dN/dm ∝ 10^(mag_slope m)`` (0:
        uniform), so that brightness says nothing about the class.
    neighbor_probability : float, default=0.2
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_sim : ndarray of shape (n_samples, n_bands, H, W), float32
        Sky-subtracted simulated stamps in nanomaggies.
    y : ndarray of shape (n_samples,), int
        1 for a point source (star or quasar), 0 for a galaxy.
    truth : pandas.DataFrame
        The simulator's truth table; ``truth.attrs["matched"]`` holds what was matched:
        ``psf_fwhm_r_arcsec``, ``psf_measured`` (bool), ``mag_slope``, ``noise_nmgy`` and
        ``sky_mag`` per band.

    Raises
    ------
    ValueError
        Stamps of the wrong shape or band count, fewer than 20 stamps, infinite pixels, bands
        outside ugriz, or a PSF that cannot be measured (fewer than 5 bright point-like objects:
        pass ``psf_fwhm``).
    """
    bands = str(bands)
    unknown = sorted(set(bands) - set("ugriz"))
    if not bands or unknown or len(set(bands)) != len(bands):
        msg = (f"bands must name distinct bands among u, g, r, i, z (the simulator's); got "
               f"{bands!r}.")
        raise ValueError(msg)
    if not isinstance(n_samples, Integral) or n_samples < 1:
        msg = f"n_samples must be a positive integer; got {n_samples!r}."
        raise ValueError(msg)
    if not isinstance(seeing_spread, Real) or not 0 <= seeing_spread < 1:
        msg = f"seeing_spread must be in [0, 1); got {seeing_spread!r}."
        raise ValueError(msg)
    X = _check_stamps(X, bands)
    noise = border_noise(X, _BORDER)  # (n, bands)
    noise = np.nanmedian(np.where(noise > 0, noise, np.nan), axis=0)
    if not np.all(np.isfinite(noise)):
        msg = (f"The sky noise could not be measured in band(s) "
               f"{[b for b, s in zip(bands, noise) if not np.isfinite(s)]}: their stamp borders "
               "hold no finite, varying pixel.")
        raise ValueError(msg)
    sky = matched_sky(noise, bands)
    measured = psf_fwhm is None
    if measured:
        ref = "r" if "r" in bands else bands[len(bands) // 2]
        stamps = np.nan_to_num(X[:, bands.index(ref)], nan=0.0)
        fwhm_px, _ = estimate_psf_fwhm(stamps)
        if not np.isfinite(fwhm_px):
            msg = ("The PSF could not be measured on the stamps (fewer than 5 bright point-like "
                   "objects); pass psf_fwhm (the r-band FWHM in arcsec).")
            raise ValueError(msg)
        psf_fwhm = _calibrated_seeing(float(fwhm_px), ref, X.shape[-1], sky[bands.index(ref)],
                                      random_state)
    elif not isinstance(psf_fwhm, Real) or not np.isfinite(psf_fwhm) or psf_fwhm <= 0:
        msg = f"psf_fwhm must be a positive r-band FWHM in arcsec; got {psf_fwhm!r}."
        raise ValueError(msg)
    psf_fwhm = float(psf_fwhm)
    seeing = (psf_fwhm * (1 - seeing_spread), psf_fwhm * (1 + seeing_spread))
    X_sim, _, truth = make_star_galaxy_cutouts(
        n_samples, image_size=X.shape[-1], bands=bands, star_fraction=star_fraction,
        mag_range=mag_range, mag_slope=mag_slope, seeing=seeing,
        neighbor_probability=neighbor_probability, sky=sky, random_state=random_state)
    truth.attrs["matched"] = {
        "psf_fwhm_r_arcsec": psf_fwhm, "psf_measured": measured, "mag_slope": mag_slope,
        "noise_nmgy": dict(zip(bands, map(float, noise))),
        "sky_mag": dict(zip(bands, map(float, sky))),
        "sdss_dark_sky_mag": {b: SKY_MAG[b] for b in bands}}
    return X_sim, truth["point_source"].to_numpy().astype(int), truth

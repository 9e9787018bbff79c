"""Simulated galaxy morphologies at Galaxy-Zoo-like resolution, with the truth returned.

Five classes, each drawn from physically-motivated light profiles (all sizes are fractions of the
stamp, so any ``image_size`` works):

``elliptical``
    A Sérsic profile with ``n`` in [3, 5.5] (de Vaucouleurs-like), axis ratio 0.5-1, red colours.
``spiral``
    A red Sérsic bulge plus an exponential disk seen at inclination 0-60 degrees, part of whose
    light is concentrated into ``m`` (1-4) logarithmic spiral arms
    ``theta = ln(r / r0) / tan(pitch) + phi0 + 2 pi k / m`` with pitch angle 10-35 degrees; the
    arms are bluer than the bulge.
``barred_spiral``
    As ``spiral`` plus a bar (an elongated Sérsic ``n = 0.5`` profile, axis ratio 0.2-0.35) whose
    ends start the arms (``r0`` = bar half-length, arms aligned with the bar).
``edge_on``
    A thin exponential disk at inclination 80-90 degrees (intrinsic thickness 0.08-0.2), a small
    bulge and, in most cases, a dust lane along the mid-plane.
``irregular``
    Either a clumpy, lopsided low-surface-brightness disk with 3-8 blue star-forming clumps, or a
    merger: two galaxies 0.15-0.35 stamps apart with a tidal tail.

Each image is convolved with a Gaussian PSF; the noisy version adds Poisson (``gain``) and
Gaussian sky noise (``noise``). Colours come from two template spectral energy distributions
(old/red and young/blue stellar populations) sampled at the requested bands.
"""
import numbers

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter
from sklearn.utils import check_random_state

__all__ = ["make_galaxy_images", "MORPHOLOGIES"]

MORPHOLOGIES = ("elliptical", "spiral", "barred_spiral", "edge_on", "irregular")

# Relative flux per band (normalised to r) of an old (red) and a young (blue) population.
_BAND_NAMES = "ugriz"
_BAND_WAVELENGTH = np.array([355.0, 469.0, 617.0, 748.0, 893.0])
_SED_RED = np.array([0.12, 0.50, 1.00, 1.30, 1.50])
_SED_BLUE = np.array([0.75, 0.95, 1.00, 0.95, 0.90])


def _band_seds(bands):
    """Return (red, blue) SEDs sampled at the requested bands, and the number of bands."""
    if isinstance(bands, numbers.Integral) and not isinstance(bands, bool):
        n = int(bands)
        if n < 1:
            msg = f"The 'bands' parameter must be a positive int or a string of ugriz. Got {bands!r}."
            raise ValueError(msg)
        presets = {1: "r", 3: "gri", 5: "ugriz"}
        if n in presets:
            return _band_seds(presets[n])
        wl = np.linspace(_BAND_WAVELENGTH[0], _BAND_WAVELENGTH[-1], n)
        return np.interp(wl, _BAND_WAVELENGTH, _SED_RED), np.interp(wl, _BAND_WAVELENGTH, _SED_BLUE)
    if isinstance(bands, str) and bands and all(b in _BAND_NAMES for b in bands):
        idx = [_BAND_NAMES.index(b) for b in bands]
        return _SED_RED[idx], _SED_BLUE[idx]
    msg = f"The 'bands' parameter must be a positive int or a string of ugriz. Got {bands!r}."
    raise ValueError(msg)


def _sersic_b(n):
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n**2)


def _sersic(r, re, n):
    return np.exp(-_sersic_b(n) * ((r / re) ** (1.0 / n) - 1.0))


def _normalised(img):
    s = img.sum()
    return img / s if s > 0 else img


class _Frame:
    """Pixel grid rotated by a position angle and deprojected by an inclination."""

    def __init__(self, size, cx, cy, pa, cos_i):
        yy, xx = np.mgrid[:size, :size].astype(np.float64)
        x, y = xx - cx, yy - cy
        self.xp = x * np.cos(pa) + y * np.sin(pa)
        self.yp = -x * np.sin(pa) + y * np.cos(pa)
        self.yd = self.yp / max(cos_i, 1e-3)
        self.r = np.hypot(self.xp, self.yd)
        self.theta = np.arctan2(self.yd, self.xp)


def _spiral_arms(frame, *, m, pitch, r0, phi0, sharpness, scale):
    """Arm pattern in [0, 1] of a logarithmic spiral with m arms and the given pitch (radians)."""
    r = np.maximum(frame.r, 1e-3)
    phase = m * (frame.theta - np.log(r / r0) / np.tan(pitch) - phi0)
    pattern = ((1.0 + np.cos(phase)) / 2.0) ** sharpness
    taper = 1.0 - np.exp(-((r / r0) ** 2))  # arms fade inside r0
    return pattern * taper * np.exp(-r / scale)


def _colour(sed, rng, jitter=0.08):
    return sed * rng.uniform(1 - jitter, 1 + jitter, size=sed.shape)


def _disk_galaxy(size, rng, red, blue, *, barred, edge_on, cx, cy, row):
    pa = rng.uniform(0, np.pi)
    h = rng.uniform(0.06, 0.11) * size  # disk scale length (px)
    if edge_on:
        incl = np.radians(rng.uniform(80, 90))
        q0 = rng.uniform(0.08, 0.2)
        cos_i = np.sqrt(np.cos(incl) ** 2 + q0**2 * np.sin(incl) ** 2)
    else:
        incl = np.radians(rng.uniform(0, 60))
        cos_i = np.cos(incl)
    frame = _Frame(size, cx, cy, pa, cos_i)
    bulge_frac = rng.uniform(0.05, 0.3)
    bulge_n = rng.uniform(2.0, 4.0)
    bulge_re = rng.uniform(0.15, 0.3) * 1.678 * h
    bulge_frame = _Frame(size, cx, cy, pa, rng.uniform(0.7, 1.0))
    bulge = _normalised(_sersic(bulge_frame.r, bulge_re, bulge_n))
    disk = _normalised(np.exp(-frame.r / h))
    row.update(inclination=np.degrees(incl), position_angle=np.degrees(pa), r_eff=1.678 * h,
               bulge_fraction=bulge_frac, sersic_n=1.0, axis_ratio=cos_i)
    img = np.multiply.outer(_colour(red, rng), bulge * bulge_frac)
    if edge_on:
        if rng.uniform() < 0.7:  # dust lane along the mid-plane
            depth = rng.uniform(0.3, 0.7)
            width = rng.uniform(0.01, 0.025) * size
            disk = disk * (1.0 - depth * np.exp(-0.5 * (frame.yp / width) ** 2))
            row.update(dust_lane=True)
        img += np.multiply.outer(_colour(0.5 * (red + blue), rng), disk * (1 - bulge_frac))
        return img
    m = int(rng.choice([1, 2, 2, 2, 3, 4]))
    pitch = np.radians(rng.uniform(10, 35))
    arm_frac = rng.uniform(0.45, 0.8)
    r0 = rng.uniform(0.3, 0.6) * h
    phi0 = rng.uniform(0, 2 * np.pi)
    if barred:
        bar_len = rng.uniform(0.8, 1.6) * h  # half-length
        bar_q = rng.uniform(0.2, 0.35)
        bar_angle = phi0
        bx = frame.xp * np.cos(bar_angle) + frame.yd * np.sin(bar_angle)
        by = -frame.xp * np.sin(bar_angle) + frame.yd * np.cos(bar_angle)
        bar = _normalised(_sersic(np.hypot(bx, by / bar_q), bar_len / 1.5, 0.5))
        bar_frac = rng.uniform(0.12, 0.25)
        img += np.multiply.outer(_colour(red, rng), bar * bar_frac * (1 - bulge_frac))
        r0 = bar_len
        m = 2 if rng.uniform() < 0.8 else m
        row.update(has_bar=True, bar_length=bar_len, bar_axis_ratio=bar_q)
    else:
        bar_frac = 0.0
    arms = _normalised(_spiral_arms(frame, m=m, pitch=pitch, r0=r0, phi0=phi0,
                                    sharpness=rng.uniform(2.0, 5.0), scale=1.3 * h))
    rest = (1 - bulge_frac) * (1 - bar_frac)
    img += np.multiply.outer(_colour(0.5 * (red + blue), rng), disk * rest * (1 - arm_frac))
    img += np.multiply.outer(_colour(blue, rng), arms * rest * arm_frac)
    row.update(n_arms=m, pitch_angle=np.degrees(pitch), arm_fraction=arm_frac)
    return img


def _elliptical(size, rng, red, *, cx, cy, row):
    n = rng.uniform(3.0, 5.5)
    re = rng.uniform(0.05, 0.12) * size
    q = rng.uniform(0.5, 1.0)
    pa = rng.uniform(0, np.pi)
    frame = _Frame(size, cx, cy, pa, q)
    row.update(sersic_n=n, r_eff=re, axis_ratio=q, position_angle=np.degrees(pa),
               bulge_fraction=1.0)
    return np.multiply.outer(_colour(red, rng), _normalised(_sersic(frame.r, re, n)))


def _irregular(size, rng, red, blue, *, cx, cy, row):
    if rng.uniform() < 0.5:  # merger: two galaxies and a tidal tail
        sep = rng.uniform(0.15, 0.35) * size
        ang = rng.uniform(0, 2 * np.pi)
        f2 = rng.uniform(0.3, 1.0)
        img = np.zeros((len(red), size, size))
        centres = [(cx - 0.5 * sep * np.cos(ang), cy - 0.5 * sep * np.sin(ang)),
                   (cx + 0.5 * sep * np.cos(ang), cy + 0.5 * sep * np.sin(ang))]
        for (x0, y0), f in zip(centres, (1.0, f2)):
            frame = _Frame(size, x0, y0, rng.uniform(0, np.pi), rng.uniform(0.4, 1.0))
            prof = _sersic(frame.r, rng.uniform(0.04, 0.09) * size, rng.uniform(1.0, 4.0))
            sed = red if rng.uniform() < 0.5 else 0.5 * (red + blue)
            img += np.multiply.outer(_colour(sed, rng), f * _normalised(prof))
        # tidal tail: a Gaussian ribbon along a circular arc leaving the first galaxy
        frame = _Frame(size, cx, cy, 0.0, 1.0)
        radius = rng.uniform(0.2, 0.35) * size
        start = ang + np.pi + rng.uniform(-0.5, 0.5)
        extent = rng.uniform(0.8, 2.0) * np.sign(rng.uniform(-1, 1))
        dphi = np.angle(np.exp(1j * (frame.theta - start)))
        along = np.clip(dphi / extent, 0, 1) if extent else 0
        tail = np.exp(-0.5 * ((frame.r - radius) / (0.025 * size)) ** 2) * (along > 0) * (1 - along)
        img += np.multiply.outer(_colour(blue, rng), rng.uniform(0.1, 0.3) * _normalised(tail))
        row.update(is_merger=True, n_clumps=2, r_eff=sep)
        return img
    h = rng.uniform(0.07, 0.12) * size
    frame = _Frame(size, cx, cy, rng.uniform(0, np.pi), rng.uniform(0.5, 1.0))
    lopsided = 1.0 + rng.uniform(0.2, 0.6) * np.cos(frame.theta - rng.uniform(0, 2 * np.pi))
    img = np.multiply.outer(_colour(0.5 * (red + blue), rng),
                            0.5 * _normalised(np.exp(-frame.r / h) * lopsided))
    n_clumps = int(rng.integers(3, 9))
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    for _ in range(n_clumps):
        rr = h * np.sqrt(rng.uniform(0.0, 4.0))
        phi = rng.uniform(0, 2 * np.pi)
        w = rng.uniform(0.012, 0.03) * size
        clump = np.exp(-0.5 * ((xx - cx - rr * np.cos(phi)) ** 2
                               + (yy - cy - rr * np.sin(phi)) ** 2) / w**2)
        img += np.multiply.outer(_colour(blue, rng, 0.15),
                                 0.5 / n_clumps * rng.uniform(0.5, 1.5) * _normalised(clump))
    row.update(n_clumps=n_clumps, r_eff=1.678 * h, sersic_n=1.0)
    return img


def make_galaxy_images(
    n_samples=1000,
    *,
    image_size=64,
    bands="gri",
    morphologies=MORPHOLOGIES,
    weights=None,
    flux_range=(1e3, 1e4),
    psf_fwhm=1.5,
    noise=1.0,
    gain=1.0,
    return_clean=False,
    random_state=None,
):
    """Simulate galaxy images of known morphology (Galaxy-Zoo-like, centred, well resolved).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of images.
    image_size : int, default=64
        Height and width of the stamps (pixels); galaxy sizes scale with it.
    bands : str or int, default="gri"
        Bands as letters of ``"ugriz"`` (``"gri"`` gives RGB-like images) or a band count
        (1 → r, 3 → gri, 5 → ugriz, other counts interpolate the templates).
    morphologies : sequence of str, default=MORPHOLOGIES
        Classes to draw, among ``'elliptical', 'spiral', 'barred_spiral', 'edge_on',
        'irregular'``.
    weights : sequence of float, default=None
        Class probabilities (uniform when None).
    flux_range : (float, float), default=(1e3, 1e4)
        Total flux in the reddest-template-normalised r band, drawn log-uniformly.
    psf_fwhm : float, default=1.5
        FWHM (pixels) of the Gaussian PSF.
    noise : float, default=1.0
        Standard deviation of the Gaussian sky noise per pixel (image units).
    gain : float or None, default=1.0
        Counts per image unit of the Poisson (shot) noise of the galaxy; None disables it.
    return_clean : bool, default=False
        Also return the noiseless images.
    random_state : int, RandomState instance or None, default=None
        Seed. The galaxies do not depend on ``noise``/``gain``: the noise is drawn last.

    Returns
    -------
    X : ndarray of shape (n_samples, n_bands, image_size, image_size), float32
        Noisy images (sky level 0).
    y : ndarray of shape (n_samples,), dtype str
        Morphology of each image.
    truth : pandas.DataFrame of shape (n_samples, n_columns)
        Per-image parameters: ``morphology``, ``n_arms``, ``pitch_angle`` (deg),
        ``arm_fraction``, ``has_bar``, ``bar_length`` (px), ``inclination`` (deg),
        ``position_angle`` (deg), ``sersic_n``, ``r_eff`` (px), ``axis_ratio``,
        ``bulge_fraction``, ``dust_lane``, ``is_merger``, ``n_clumps``, ``flux``, ``x_offset``,
        ``y_offset``. Not-applicable entries are NaN / 0 / False.
    X_clean : ndarray, same shape as X
        Only when ``return_clean=True``: the images before noise (PSF-convolved).

    Examples
    --------
    >>> from galaxy_learn.datasets import make_galaxy_images
    >>> X, y, truth = make_galaxy_images(10, image_size=32, bands="ugriz", random_state=0)
    >>> X.shape
    (10, 5, 32, 32)
    >>> set(y) <= {'elliptical', 'spiral', 'barred_spiral', 'edge_on', 'irregular'}
    True
    >>> int(truth.loc[truth.morphology == "spiral", "n_arms"].min()) >= 1
    True
    """
    if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        msg = f"The 'n_samples' parameter must be a positive int. Got {n_samples!r}."
        raise ValueError(msg)
    if not isinstance(image_size, numbers.Integral) or image_size < 8:
        msg = f"The 'image_size' parameter must be an int >= 8. Got {image_size!r}."
        raise ValueError(msg)
    morphologies = tuple(morphologies)
    unknown = [m for m in morphologies if m not in MORPHOLOGIES]
    if unknown or not morphologies:
        msg = (f"The 'morphologies' parameter must list classes among {MORPHOLOGIES}. "
               f"Got {morphologies!r}.")
        raise ValueError(msg)
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (len(morphologies),) or np.any(weights < 0) or weights.sum() <= 0:
            msg = (f"The 'weights' parameter must hold {len(morphologies)} non-negative values "
                   f"with a positive sum. Got {weights!r}.")
            raise ValueError(msg)
        weights = weights / weights.sum()
    if not (len(flux_range) == 2 and 0 < flux_range[0] <= flux_range[1]):
        msg = f"The 'flux_range' parameter must be (low, high) with 0 < low <= high. Got {flux_range!r}."
        raise ValueError(msg)
    if noise < 0 or (gain is not None and gain <= 0) or psf_fwhm < 0:
        msg = (f"'noise' and 'psf_fwhm' must be >= 0 and 'gain' > 0 or None. Got noise={noise!r}, "
               f"psf_fwhm={psf_fwhm!r}, gain={gain!r}.")
        raise ValueError(msg)
    red, blue = _band_seds(bands)
    rng = check_random_state(random_state)
    # numpy Generator seeded from the sklearn-style random_state (one stream for everything).
    gen = np.random.default_rng(rng.randint(0, 2**31 - 1))
    size = int(image_size)
    labels = gen.choice(len(morphologies), size=n_samples, p=weights)
    clean = np.empty((n_samples, len(red), size, size), dtype=np.float64)
    rows = []
    sigma_psf = psf_fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    for i, k in enumerate(labels):
        morph = morphologies[k]
        row = dict(morphology=morph, n_arms=0, pitch_angle=np.nan, arm_fraction=0.0,
                   has_bar=False, bar_length=0.0, bar_axis_ratio=np.nan, inclination=np.nan,
                   position_angle=np.nan, sersic_n=np.nan, r_eff=np.nan, axis_ratio=np.nan,
                   bulge_fraction=np.nan, dust_lane=False, is_merger=False, n_clumps=0)
        dx, dy = gen.uniform(-0.03, 0.03, size=2) * size
        cx, cy = (size - 1) / 2 + dx, (size - 1) / 2 + dy
        if morph == "elliptical":
            img = _elliptical(size, gen, red, cx=cx, cy=cy, row=row)
        elif morph == "irregular":
            img = _irregular(size, gen, red, blue, cx=cx, cy=cy, row=row)
        else:
            img = _disk_galaxy(size, gen, red, blue, barred=morph == "barred_spiral",
                               edge_on=morph == "edge_on", cx=cx, cy=cy, row=row)
        flux = np.exp(gen.uniform(np.log(flux_range[0]), np.log(flux_range[1])))
        img = img * flux
        if sigma_psf > 0:
            img = gaussian_filter(img, sigma=(0, sigma_psf, sigma_psf), mode="constant")
        clean[i] = img
        row.update(flux=flux, x_offset=dx, y_offset=dy)
        rows.append(row)
    noisy = clean.copy()
    if gain is not None:
        noisy += gen.poisson(np.clip(clean, 0, None) * gain) / gain - np.clip(clean, 0, None)
    if noise > 0:
        noisy += gen.normal(0.0, noise, size=clean.shape)
    y = np.array([morphologies[k] for k in labels])
    truth = pd.DataFrame(rows)
    truth["noise"] = float(noise)
    out = (noisy.astype(np.float32), y, truth)
    if return_clean:
        out = out + (clean.astype(np.float32),)
    return out

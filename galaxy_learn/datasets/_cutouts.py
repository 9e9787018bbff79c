"""Simulated SDSS-like multi-band cutouts of stars, quasars and galaxies."""
import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._noise import add_noise, matched_filter_snr, resolve_sky, sky_level
from ._photometry_constants import BANDS, PIXEL_SCALE, band_indices
from ._population import sample_class_magnitudes, sample_objects, truth_columns
from ._psf import DEFAULT_BETA, sample_seeing
from ._render import render_stamps

__all__ = ["make_star_galaxy_cutouts"]

_CHUNK = 2000


def _check_fraction(value, name):
    if not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        msg = f"The '{name}' parameter must be a float in [0, 1]. Got {value!r}."
        raise ValueError(msg)
    return float(value)


def _check_mag_range(mag_range, name="mag_range"):
    try:
        lo, hi = (float(v) for v in mag_range)
    except (TypeError, ValueError) as exc:
        msg = f"The '{name}' parameter must be a pair (bright, faint) of r magnitudes. Got {mag_range!r}."
        raise ValueError(msg) from exc
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        msg = f"The '{name}' parameter must satisfy bright < faint (finite). Got {mag_range!r}."
        raise ValueError(msg)
    return lo, hi


def _check_seeing(seeing):
    if isinstance(seeing, numbers.Real) and np.isfinite(seeing) and seeing > 0:
        return float(seeing)
    if (
        np.ndim(seeing) == 1
        and len(seeing) == 2
        and all(isinstance(s, numbers.Real) and np.isfinite(s) and s > 0 for s in seeing)
        and seeing[0] <= seeing[1]
    ):
        return (float(seeing[0]), float(seeing[1]))
    msg = (
        "The 'seeing' parameter must be a positive median r-band FWHM in arcsec or a pair "
        f"(low, high) to draw it uniformly. Got {seeing!r}."
    )
    raise ValueError(msg)


def _sky_all_bands(sky, bands):
    """Sky (mag/arcsec^2) for all of ugriz: the requested bands from ``sky``, others SDSS."""
    values = resolve_sky(None, BANDS)
    resolved = resolve_sky(sky, bands)
    for b, v in zip(bands, resolved):
        values[BANDS.index(b)] = v
    return values


def _check_psf(psf, beta):
    if psf not in ("moffat", "kolmogorov"):
        msg = f"The 'psf' parameter must be 'moffat' or 'kolmogorov'. Got {psf!r}."
        raise ValueError(msg)
    if not isinstance(beta, numbers.Real) or not beta > 1.5:
        msg = f"The 'beta' parameter must be a float > 1.5 (finite PSF variance). Got {beta!r}."
        raise ValueError(msg)


def _paste(dest, stamp, shift_x, shift_y):
    """Add ``stamp`` (C, H, W) into ``dest`` (C, H, W) shifted by integer pixels, clipping edges."""
    h, w = dest.shape[-2:]
    y0, y1 = max(0, shift_y), min(h, h + shift_y)
    x0, x1 = max(0, shift_x), min(w, w + shift_x)
    if y0 < y1 and x0 < x1:
        dest[:, y0:y1, x0:x1] += stamp[:, y0 - shift_y:y1 - shift_y, x0 - shift_x:x1 - shift_x]


def _apply_masks(X, probability, rng):
    """Set a bad column (1-2 px wide, full height or a segment, one band) to NaN in a random
    ``probability`` of the images, in place; return the number of masked pixels per image."""
    n, n_bands, h, w = X.shape
    n_masked = np.zeros(n, dtype=int)
    for i in np.flatnonzero(rng.uniform(size=n) < probability):
        band = rng.integers(n_bands)
        width = int(rng.integers(1, 3))
        x0 = int(rng.integers(0, w - width + 1))
        if rng.uniform() < 0.5:
            y0, y1 = 0, h
        else:
            y0 = int(rng.integers(0, h // 2))
            y1 = int(rng.integers(y0 + max(1, h // 4), h + 1))
        X[i, band, y0:y1, x0:x0 + width] = np.nan
        n_masked[i] = (y1 - y0) * width
    return n_masked


def _simulate_chunk(n, rng, noise_rng, *, size, band_idx, star_fraction, qso_fraction, mag_range,
                    seeing, neighbor_probability, sky_mag, noise, psf, beta, isophote=None,
                    mag_slope=None):
    # Classes and magnitudes (number counts per class, or one slope for all).
    p = [star_fraction, qso_fraction, 1.0 - star_fraction - qso_fraction]
    classes = rng.choice(np.array(["STAR", "QSO", "GALAXY"]), size=n, p=p)
    mag_r = sample_class_magnitudes(classes, mag_range, rng, slope=mag_slope)
    pop = sample_objects(classes, mag_r, rng)
    fwhm_all, fwhm_r = sample_seeing(n, BANDS, rng, seeing=seeing)
    dx = rng.uniform(-0.5, 0.5, n)
    dy = rng.uniform(-0.5, 0.5, n)

    # Neighbours: a galaxy (75%) or star, anywhere from 6 px to 0.45 * size from the centre.
    has_nb = rng.uniform(size=n) < neighbor_probability
    nb_idx = np.flatnonzero(has_nb)
    m = nb_idx.size
    nb_class = np.where(rng.uniform(size=m) < 0.75, "GALAXY", "STAR")
    nb_mag = sample_class_magnitudes(nb_class, (mag_range[0], mag_range[1] + 1.0), rng)
    nb_pop = sample_objects(nb_class, nb_mag, rng)
    radius = rng.uniform(6.0, max(6.5, 0.45 * size), m)
    angle = rng.uniform(0.0, 2 * np.pi, m)
    nb_x = dx[nb_idx] + radius * np.cos(angle)
    nb_y = dy[nb_idx] + radius * np.sin(angle)

    b = band_idx
    px = 1.0 / PIXEL_SCALE
    images = render_stamps(
        size, pop["flux"][:, b], fwhm_all[:, b] * px, dx=dx, dy=dy,
        r_bulge=pop["r_bulge"] * px, r_disk=pop["r_disk"] * px,
        bulge_fraction=pop["bulge_fraction"][:, b], q=pop["axis_ratio"], theta=pop["theta"],
        psf=psf, beta=beta,
    )
    # Matched-filter S/N of the central object in r (from its noiseless model).
    r_pos = BANDS.index("r")
    if r_pos in b:
        model_r = images[:, b.index(r_pos)]
    else:
        model_r = render_stamps(
            size, pop["flux"][:, [r_pos]], fwhm_all[:, [r_pos]] * px, dx=dx, dy=dy,
            r_bulge=pop["r_bulge"] * px, r_disk=pop["r_disk"] * px,
            bulge_fraction=pop["bulge_fraction"][:, [r_pos]], q=pop["axis_ratio"],
            theta=pop["theta"], psf=psf, beta=beta,
        )[:, 0]
    snr_r = matched_filter_snr(model_r, "r", sky_mag["r"])
    if isophote is not None:
        model_r = model_r.copy()  # the central object alone (neighbours are added to images)
        neighbour_r = np.zeros_like(model_r)

    if m:
        ix = np.round(nb_x).astype(int)
        iy = np.round(nb_y).astype(int)
        nb_images = render_stamps(
            size, nb_pop["flux"][:, b], fwhm_all[nb_idx][:, b] * px,
            dx=nb_x - ix, dy=nb_y - iy,
            r_bulge=nb_pop["r_bulge"] * px, r_disk=nb_pop["r_disk"] * px,
            bulge_fraction=nb_pop["bulge_fraction"][:, b], q=nb_pop["axis_ratio"],
            theta=nb_pop["theta"], psf=psf, beta=beta,
        )
        for j, i in enumerate(nb_idx):
            _paste(images[i], nb_images[j], ix[j], iy[j])
        if isophote is not None:
            nb_r = nb_images[:, b.index(r_pos)] if r_pos in b else render_stamps(
                size, nb_pop["flux"][:, [r_pos]], fwhm_all[nb_idx][:, [r_pos]] * px,
                dx=nb_x - ix, dy=nb_y - iy, r_bulge=nb_pop["r_bulge"] * px,
                r_disk=nb_pop["r_disk"] * px, bulge_fraction=nb_pop["bulge_fraction"][:, [r_pos]],
                q=nb_pop["axis_ratio"], theta=nb_pop["theta"], psf=psf, beta=beta)[:, 0]
            for j, i in enumerate(nb_idx):
                _paste(neighbour_r[i][None], nb_r[j][None], ix[j], iy[j])
    segmentation = None
    if isophote is not None:
        level = sky_level(isophote)
        segmentation = np.where((model_r >= level) & (model_r >= neighbour_r), 1,
                                np.where(neighbour_r >= level, 2, 0)).astype(np.int8)

    if noise:
        images, _, _ = add_noise(images, [BANDS[k] for k in b],
                                 np.array([sky_mag[BANDS[k]] for k in b]), noise_rng)

    truth = {
        **truth_columns(classes, pop),
        "seeing_fwhm_r": fwhm_r,
        **{f"psf_fwhm_{BANDS[k]}": fwhm_all[:, k] for k in b},
        "snr_r": snr_r,
        "x_offset": dx,
        "y_offset": dy,
        "has_neighbor": has_nb,
    }
    nb_cols = {"neighbor_class": np.full(n, "", dtype=object), "neighbor_mag_r": np.full(n, np.nan),
               "neighbor_x_offset": np.full(n, np.nan), "neighbor_y_offset": np.full(n, np.nan)}
    nb_cols["neighbor_class"][nb_idx] = nb_class
    nb_cols["neighbor_mag_r"][nb_idx] = nb_mag
    nb_cols["neighbor_x_offset"][nb_idx] = nb_x
    nb_cols["neighbor_y_offset"][nb_idx] = nb_y
    truth.update(nb_cols)
    return images, classes, truth, segmentation


def make_star_galaxy_cutouts(
    n_samples,
    *,
    image_size=64,
    bands="ugriz",
    star_fraction=0.4,
    qso_fraction=0.05,
    mag_range=(16.0, 22.5),
    mag_slope=None,
    seeing=1.35,
    neighbor_probability=0.2,
    sky=None,
    noise=True,
    psf="moffat",
    beta=DEFAULT_BETA,
    mask_probability=0.0,
    return_segmentation=False,
    isophote=24.5,
    random_state=None,
):
    """Simulate SDSS-like multi-band cutouts of stars, quasars and galaxies.

    Each cutout is centred (to a fraction of a pixel) on one object, rendered through a seeing
    PSF onto 0.396" pixels, with sky, Poisson and read noise, and sometimes a neighbour. Pixel
    values are sky-subtracted **nanomaggies** (1 nmgy = 22.5 AB mag), like SDSS frame images.

    Parameters
    ----------
    n_samples : int
        Number of cutouts.
    image_size : int, default=64
        Side of each cutout in pixels (0.396"/pixel). The object's centre is at pixel
        ``(image_size // 2 + y_offset, image_size // 2 + x_offset)`` (row, column), pixel ``i``
        covering ``[i - 0.5, i + 0.5]``.
    bands : str, default="ugriz"
        Which SDSS bands to return, in this order.
    star_fraction, qso_fraction : float, default=0.4, 0.05
        Probability that an object is a star / a quasar; the rest are galaxies.
    mag_range : (float, float), default=(16.0, 22.5)
        Range of r-band AB magnitudes of the central objects.
    mag_slope : float, default=None
        None: each class has its own number counts (see Notes), so stars dominate the bright
        end and galaxies the faint end, as on the sky. A number ``a``: every central object's
        r magnitude follows ``dN/dm ∝ 10^(a m)`` whatever its class (0: uniform), so the class
        fractions are the same at every magnitude and a classifier trained on the cutouts
        cannot learn the class from the brightness (the simulator's counts are not the
        user's field's). Neighbours keep the per-class counts.
    seeing : float or (float, float), default=1.35
        Median r-band PSF FWHM in arcsec; per object it is lognormal (sigma of ln 0.14, clipped
        to 0.8–2.0"; SDSS-like). A pair ``(low, high)`` draws it uniformly instead. Other bands scale as
        ``lambda^-0.2`` with a 3% jitter.
    neighbor_probability : float, default=0.2
        Probability that a second object (75% galaxy, 25% star, r within ``mag_range`` extended
        1 mag fainter) lies 6 px to ``0.45 * image_size`` from the centre.
    sky : None, "sdss", dict, float or array-like, default=None
        Sky surface brightness in AB mag/arcsec^2. None/"sdss": SDSS dark sky u 22.0, g 22.1,
        r 21.2, i 20.4, z 19.0; a dict band->value; one number: an offset added to those
        (positive = darker); or one value per band.
    noise : bool, default=True
        Add Poisson (source + sky) and read noise; the sky is subtracted afterwards. If False the
        noiseless model is returned (with neighbours).
    psf : {"moffat", "kolmogorov"}, default="moffat"
        PSF profile.
    beta : float, default=4.765
        Moffat index.
    mask_probability : float, default=0.0
        Probability that a cutout has a masked (NaN) bad column, 1–2 pixels wide, over its full
        height or a segment, in one band (SDSS bands are separate CCDs) -- to exercise NaN
        handling downstream. The count is in ``truth["n_masked_pixels"]``.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives identical output (and the same objects whatever ``noise``,
        ``bands`` or ``mask_probability``).
    return_segmentation : bool, default=False
        Also return a truth segmentation of each cutout (see Returns).
    isophote : float, default=24.5
        With ``return_segmentation``: r-band surface brightness (AB mag/arcsec^2) of an object's
        own noiseless PSF-convolved model above which its pixels are labelled (24.5 is ~1.1
        times the r-band sky noise per pixel).

    Returns
    -------
    X : ndarray of shape (n_samples, len(bands), image_size, image_size), float32
        Sky-subtracted images in nanomaggies per pixel.
    y : ndarray of shape (n_samples,), str
        ``"STAR"``, ``"GALAXY"`` or ``"QSO"``.
    truth : pandas.DataFrame
        One row per cutout: ``class``; ``point_source`` (STAR or QSO); ``mag_u`` … ``mag_z`` (AB,
        total); ``flux_r`` (nmgy); ``half_light_radius`` (circularised, arcsec, 0 for point
        sources); ``bulge_half_light_radius`` / ``disk_half_light_radius`` (arcsec);
        ``sersic_n`` (B/T-weighted index 1 + 3 B/T; 0 for point sources); ``bulge_fraction``
        (B/T in r); ``galaxy_type`` ("early"/"late"/""); ``axis_ratio`` (b/a); ``ellipticity``
        (1 - b/a); ``position_angle`` (degrees, counter-clockwise from +x towards +y);
        ``seeing_fwhm_r`` and ``psf_fwhm_<band>`` (arcsec); ``snr_r`` (matched-filter S/N of
        the central object in r, from its noiseless model and the noise variance);
        ``x_offset``, ``y_offset`` (pixels); ``has_neighbor``; ``neighbor_class``,
        ``neighbor_mag_r``, ``neighbor_x_offset``, ``neighbor_y_offset`` (NaN/"" when none);
        ``n_masked_pixels``.
    segmentation : ndarray of shape (n_samples, image_size, image_size), int8
        Only with ``return_segmentation=True``: 0 background, 1 the central object, 2 its
        neighbour, where that object's model is above ``isophote``; where both are, the
        brighter model pixel wins.

    Notes
    -----
    Physics (all SDSS-like; see the module docstrings of ``galaxy_learn.datasets._population``,
    ``_psf``, ``_render``, ``_noise`` and ``_photometry_constants`` for the sources):

    * **Pixels and PSF**: 0.396" pixels; Moffat (beta 4.765, Trujillo et al. 2001) or Kolmogorov
      PSF; r-band FWHM lognormal around ``seeing``; FWHM ∝ lambda^-0.2 across bands.
    * **Rendering**: analytic / tabulated Fourier transforms of the Sérsic profiles (FFTLog Hankel
      transform for n = 4), the PSF and the 1-pixel box, sub-pixel shift by a phase, inverse FFT
      sampled exactly at pixel centres (aliasing folded in for FWHM < 3 px). Agrees with GalSim's
      ``drawImage`` to ~1e-4 of the peak.
    * **Galaxies**: de Vaucouleurs bulge + exponential disk; B/T, colours and sizes from an
      early (red sequence) / late (blue cloud) mix; size–magnitude relation
      ``log10 R = log10(0.75") - 0.17 (r - 20) ± 0.22 dex`` (early types -0.1 dex); random
      inclination of a thick disk (q0 = 0.2) for disk-dominated galaxies.
    * **Stars** along the Covey et al. (2007) stellar locus; **quasars** as blue UV-excess point
      sources (Richards et al. 2001).
    * **Number counts** ``dN/dm ∝ 10^(a m)`` with a = 0.45 (galaxies), 0.20 (stars), 0.40 (QSOs).
    * **Noise**: sky per band, electrons per nmgy from SDSS calibrations and gains, Poisson
      noise (its normal limit above 30 e-), read noise from SDSS dark variances.

    At default settings the concentration index (:func:`galaxy_learn.photometry.concentration_index`)
    separates bright point sources from galaxies almost perfectly and faint ones poorly: faint
    galaxies, no larger than the PSF, are genuinely hard (the ROC AUC per magnitude bin, and the
    command that measures it, are in the user guide, "The SDSS-like simulator").

    Examples
    --------
    >>> from galaxy_learn.datasets import make_star_galaxy_cutouts
    >>> X, y, truth = make_star_galaxy_cutouts(8, image_size=32, random_state=0)
    >>> X.shape, X.dtype
    ((8, 5, 32, 32), dtype('float32'))
    >>> set(y.tolist()) <= {"GALAXY", "STAR", "QSO"}
    True
    >>> bool((truth["point_source"] == (y != "GALAXY")).all())
    True
    """
    if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool) or n_samples < 1:
        msg = f"The 'n_samples' parameter must be a positive int. Got {n_samples!r}."
        raise ValueError(msg)
    if (not isinstance(image_size, numbers.Integral) or isinstance(image_size, bool)
            or image_size < 8):
        msg = f"The 'image_size' parameter must be an int >= 8. Got {image_size!r}."
        raise ValueError(msg)
    band_idx = band_indices(bands)
    star_fraction = _check_fraction(star_fraction, "star_fraction")
    qso_fraction = _check_fraction(qso_fraction, "qso_fraction")
    if star_fraction + qso_fraction > 1.0:
        msg = (
            "star_fraction + qso_fraction must not exceed 1. "
            f"Got {star_fraction} + {qso_fraction} = {star_fraction + qso_fraction}."
        )
        raise ValueError(msg)
    mag_range = _check_mag_range(mag_range)
    if mag_slope is not None and (not isinstance(mag_slope, numbers.Real)
                                  or isinstance(mag_slope, bool) or not np.isfinite(mag_slope)):
        msg = f"The 'mag_slope' parameter must be None or a finite number. Got {mag_slope!r}."
        raise ValueError(msg)
    seeing = _check_seeing(seeing)
    neighbor_probability = _check_fraction(neighbor_probability, "neighbor_probability")
    mask_probability = _check_fraction(mask_probability, "mask_probability")
    if return_segmentation and (not isinstance(isophote, numbers.Real)
                                or not np.isfinite(isophote)):
        msg = f"The 'isophote' parameter must be a surface brightness in mag/arcsec^2. Got {isophote!r}."
        raise ValueError(msg)
    _check_psf(psf, beta)
    sky_all = dict(zip(BANDS, _sky_all_bands(sky, bands)))
    # One seed sequence; each chunk gets an object stream and a separate noise stream, so the
    # same random_state gives the same objects with noise on or off and for any band subset.
    seed = check_random_state(random_state).randint(0, 2**32 - 1, dtype=np.int64)
    seq = np.random.SeedSequence(int(seed))

    size = int(image_size)
    X = np.empty((n_samples, len(band_idx), size, size), dtype=np.float32)
    seg = np.zeros((n_samples, size, size), dtype=np.int8) if return_segmentation else None
    y_parts, truth_parts = [], []
    for start in range(0, n_samples, _CHUNK):
        n = min(_CHUNK, n_samples - start)
        obj_seq, noise_seq, mask_seq = seq.spawn(3)
        images, classes, truth, chunk_seg = _simulate_chunk(
            n, np.random.default_rng(obj_seq), np.random.default_rng(noise_seq), size=size,
            band_idx=band_idx, star_fraction=star_fraction, qso_fraction=qso_fraction,
            mag_range=mag_range, seeing=seeing, neighbor_probability=neighbor_probability,
            sky_mag=sky_all, noise=bool(noise), psf=psf, beta=float(beta),
            isophote=float(isophote) if return_segmentation else None,
            mag_slope=None if mag_slope is None else float(mag_slope),
        )
        truth["n_masked_pixels"] = _apply_masks(images, mask_probability,
                                                np.random.default_rng(mask_seq))
        X[start:start + n] = images
        if seg is not None:
            seg[start:start + n] = chunk_seg
        y_parts.append(classes)
        truth_parts.append(pd.DataFrame(truth))
    y = np.concatenate(y_parts).astype(str)
    truth = pd.concat(truth_parts, ignore_index=True)
    if return_segmentation:
        return X, y, truth, seg
    return X, y, truth

"""Simulated multi-band SDSS-like sky fields with a truth segmentation map and object catalog."""
import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._cutouts import (_check_fraction, _check_mag_range, _check_psf, _check_seeing,
                       _sky_all_bands)
from ._noise import add_noise, matched_filter_snr, sky_level
from ._photometry_constants import BANDS, PIXEL_SCALE, band_indices
from ._population import COUNT_SLOPE, sample_class_magnitudes, sample_objects, truth_columns
from ._profiles import sersic_enclosed_fraction
from ._psf import DEFAULT_BETA, moffat_alpha, sample_seeing
from ._render import render_stamps

__all__ = ["make_sky_field"]

# Differential counts at r = 20 per magnitude per square degree (high galactic latitude):
# galaxies ~2600 (Yasuda et al. 2001), stars ~700 (Jurić et al. 2008 at b ~ 60 deg),
# quasars ~30 (Richards et al. 2006); slopes in COUNT_SLOPE.
COUNTS_AT_R20 = {"GALAXY": 2600.0, "STAR": 700.0, "QSO": 30.0}
_STAMP_SIZES = (32, 64, 128, 256, 512)


def _expected_counts(area_deg2, mag_range):
    lo, hi = mag_range
    out = {}
    for cls, a20 in COUNTS_AT_R20.items():
        a = COUNT_SLOPE[cls] * np.log(10.0)
        out[cls] = area_deg2 * a20 * (np.exp(a * (hi - 20.0)) - np.exp(a * (lo - 20.0))) / a
    return out


def _stamp_sizes(flux_r, fwhm_max, pop, beta):
    """Per object, the smallest stamp whose edge leaves < 0.5% of the light or < 0.3 nmgy.

    Light beyond the edge wraps around the (periodic) stamp; 0.3 nmgy spread along its border is
    < 1e-3 nmgy per pixel, far below the ~0.023 nmgy r-band sky noise per pixel.
    """
    n = flux_r.size
    sizes = np.full(n, _STAMP_SIZES[-1])
    todo = np.ones(n, dtype=bool)
    alpha = moffat_alpha(fwhm_max, beta)
    q = pop["axis_ratio"]
    rb, rd = pop["r_bulge"] / PIXEL_SCALE, pop["r_disk"] / PIXEL_SCALE
    bf = pop["bulge_fraction"][:, 2]
    for size in _STAMP_SIZES[:-1]:
        radius = size / 2.0 - 1.5
        psf_out = (1.0 + (radius / 2.0) ** 2 / alpha**2) ** (1.0 - beta)  # PSF at half the radius
        rho = 0.5 * radius * np.sqrt(q)
        with np.errstate(divide="ignore", invalid="ignore"):
            gal_out = bf * (1 - sersic_enclosed_fraction(4.0, np.where(rb > 0, rho / rb, np.inf))) \
                + (1 - bf) * (1 - sersic_enclosed_fraction(1.0, np.where(rd > 0, rho / rd, np.inf)))
        outside = psf_out + gal_out  # light beyond the edge is at most this (both halves)
        ok = todo & ((outside < 5e-3) | (outside * flux_r < 0.3))
        sizes[ok] = size
        todo &= ~ok
    return sizes


def make_sky_field(
    shape=(256, 256),
    *,
    n_objects=None,
    bands="ugriz",
    isophote=24.5,
    star_fraction=None,
    qso_fraction=None,
    mag_range=(15.0, 23.5),
    seeing=1.35,
    sky=None,
    noise=True,
    psf="moffat",
    beta=DEFAULT_BETA,
    random_state=None,
):
    """Simulate an SDSS-like multi-band field, its truth segmentation map and object catalog.

    Objects (stars, quasars, galaxies drawn as in :func:`make_star_galaxy_cutouts`) are placed
    uniformly at random; each is rendered into its own stamp (sized to hold > 99.5% of its
    light, or all but 0.3 nmgy) and added into the frame, so memory stays bounded for a full 2048 x 1489 SDSS frame.
    The whole field shares one PSF per band (a single exposure). Pixel values are
    sky-subtracted nanomaggies.

    Parameters
    ----------
    shape : (int, int), default=(256, 256)
        ``(height, width)`` in 0.396" pixels; an SDSS frame is ``(1489, 2048)``.
    n_objects : int, default=None
        Number of objects. None draws it (Poisson) from SDSS-like number counts at high galactic
        latitude over ``mag_range``: per magnitude per deg^2 at r = 20, ~2600 galaxies (slope
        0.45), ~700 stars (0.20), ~30 quasars (0.40) -- about 80 objects in 256 x 256 and
        3,800 in a 2048 x 1489 frame for r = 15–23.5 (objects centred outside the field are
        not simulated, so light from just beyond the edges is missing).
    bands : str, default="ugriz"
        Bands of the returned field.
    isophote : float, default=24.5
        Segmentation isophote: r-band surface brightness (AB mag/arcsec^2) of an object's own
        noiseless, PSF-convolved model. 24.5 mag/arcsec^2 (0.025 nmgy/pixel) is ~1.1 times the
        r-band sky noise per pixel at the default sky.
    star_fraction, qso_fraction : float, default=None
        With ``n_objects`` given, the class probabilities (default: the ratios from the counts).
    mag_range : (float, float), default=(15.0, 23.5)
        r-band magnitude range of the objects.
    seeing : float or (float, float), default=1.35
        Median r-band FWHM in arcsec of the exposure (lognormal, as for the cutouts) or a range.
    sky : None, "sdss", dict, float or array-like, default=None
        Sky brightness, as in :func:`make_star_galaxy_cutouts`.
    noise : bool, default=True
        Add Poisson and read noise (then subtract the sky).
    psf : {"moffat", "kolmogorov"}, default="moffat"
    beta : float, default=4.765
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    field : ndarray of shape (len(bands), height, width), float32
        Sky-subtracted image in nanomaggies per pixel.
    segmentation : ndarray of shape (height, width), int32
        0 for background, ``k`` where catalog row ``k - 1``'s model is above the isophote; where
        several objects are, the one with the brighter model pixel wins.
    catalog : pandas.DataFrame
        One row per object: ``id`` (the segmentation label), ``x``, ``y`` (column, row of the
        centre, pixels), ``class``, ``point_source``, ``mag_u`` … ``mag_z``, ``flux_r``,
        ``snr_r`` (matched-filter, from its own model), ``half_light_radius`` (arcsec),
        ``sersic_n``, ``bulge_fraction``, ``galaxy_type``, ``axis_ratio``, ``ellipticity``,
        ``position_angle`` (degrees), ``segment_area`` (pixels labelled with it),
        ``stamp_size``. ``catalog.attrs`` holds ``psf_fwhm`` (arcsec per band), ``isophote``,
        ``isophote_nmgy_per_pixel`` and ``pixel_scale``.

    Examples
    --------
    >>> from galaxy_learn.datasets import make_sky_field
    >>> field, seg, cat = make_sky_field((64, 64), n_objects=5, random_state=0)
    >>> field.shape, seg.shape, len(cat)
    ((5, 64, 64), (64, 64), 5)
    >>> int(seg.max()) <= 5
    True
    """
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError) as exc:
        msg = f"The 'shape' parameter must be (height, width). Got {shape!r}."
        raise ValueError(msg) from exc
    if h < 8 or w < 8:
        msg = f"The 'shape' parameter must be at least (8, 8). Got {shape!r}."
        raise ValueError(msg)
    band_idx = band_indices(bands)
    mag_range = _check_mag_range(mag_range)
    seeing = _check_seeing(seeing)
    if not isinstance(isophote, numbers.Real) or not np.isfinite(isophote):
        msg = f"The 'isophote' parameter must be a surface brightness in mag/arcsec^2. Got {isophote!r}."
        raise ValueError(msg)
    _check_psf(psf, beta)
    sky_all = dict(zip(BANDS, _sky_all_bands(sky, bands)))
    seed = check_random_state(random_state).randint(0, 2**32 - 1, dtype=np.int64)
    obj_seq, noise_seq = np.random.SeedSequence(int(seed)).spawn(2)
    rng = np.random.default_rng(obj_seq)

    area = h * w * (PIXEL_SCALE / 3600.0) ** 2
    expected = _expected_counts(area, mag_range)
    if n_objects is None:
        counts = {cls: int(rng.poisson(mu)) for cls, mu in expected.items()}
    else:
        if (not isinstance(n_objects, numbers.Integral) or isinstance(n_objects, bool)
                or n_objects < 0):
            msg = f"The 'n_objects' parameter must be a non-negative int or None. Got {n_objects!r}."
            raise ValueError(msg)
        total = sum(expected.values())
        p_star = (expected["STAR"] / total if star_fraction is None
                  else _check_fraction(star_fraction, "star_fraction"))
        p_qso = (expected["QSO"] / total if qso_fraction is None
                 else _check_fraction(qso_fraction, "qso_fraction"))
        if p_star + p_qso > 1:
            msg = f"star_fraction + qso_fraction must not exceed 1. Got {p_star} + {p_qso}."
            raise ValueError(msg)
        draw = rng.multinomial(int(n_objects), [p_star, p_qso, 1 - p_star - p_qso])
        counts = dict(zip(("STAR", "QSO", "GALAXY"), draw.tolist()))
    classes = np.concatenate([np.full(counts[c], c) for c in ("STAR", "QSO", "GALAXY")])
    classes = classes[rng.permutation(classes.size)].astype(str)
    n = classes.size
    mag_r = sample_class_magnitudes(classes, mag_range, rng)
    pop = sample_objects(classes, mag_r, rng)
    fwhm_field, fwhm_r = sample_seeing(1, BANDS, rng, seeing=seeing)
    x = rng.uniform(-0.5, w - 0.5, n)
    y = rng.uniform(-0.5, h - 0.5, n)

    # Render r (for the isophote and S/N) plus the requested bands, per stamp-size group.
    r_pos = BANDS.index("r")
    render_idx = list(band_idx) + ([r_pos] if r_pos not in band_idx else [])
    r_col = render_idx.index(r_pos)
    px = 1.0 / PIXEL_SCALE
    fwhm_px = np.broadcast_to(fwhm_field[:, render_idx] * px, (n, len(render_idx)))
    sizes = _stamp_sizes(pop["flux"][:, r_pos], fwhm_px.max(axis=1) if n else np.zeros(0),
                         pop, beta)
    field = np.zeros((len(render_idx), h, w), dtype=np.float32)
    best = np.full((h, w), sky_level(isophote), dtype=np.float32)  # brightest model so far
    seg = np.zeros((h, w), dtype=np.int32)
    ix = np.round(x).astype(int)
    iy = np.round(y).astype(int)
    snr_r = np.zeros(n)
    chunk = 256
    for size in sorted(set(sizes.tolist())):
        members = np.flatnonzero(sizes == size)
        step = max(1, chunk * 64 * 64 // (size * size))
        for start in range(0, members.size, step):
            sel = members[start:start + step]
            stamps = render_stamps(
                size, pop["flux"][sel][:, render_idx], fwhm_px[sel], dx=x[sel] - ix[sel],
                dy=y[sel] - iy[sel], r_bulge=pop["r_bulge"][sel] * px,
                r_disk=pop["r_disk"][sel] * px,
                bulge_fraction=pop["bulge_fraction"][sel][:, render_idx],
                q=pop["axis_ratio"][sel], theta=pop["theta"][sel], psf=psf, beta=beta, pad=False)
            snr_r[sel] = matched_filter_snr(stamps[:, r_col], "r", sky_all["r"])
            half = size // 2
            for j, k in enumerate(sel):
                y0, x0 = iy[k] - half, ix[k] - half
                ys, xs = max(0, y0), max(0, x0)
                ye, xe = min(h, y0 + size), min(w, x0 + size)
                if ys >= ye or xs >= xe:
                    continue
                st = stamps[j][:, ys - y0:ye - y0, xs - x0:xe - x0]
                field[:, ys:ye, xs:xe] += st
                model_r = st[r_col]
                region = best[ys:ye, xs:xe]
                win = model_r > region
                region[win] = model_r[win]
                seg[ys:ye, xs:xe][win] = k + 1

    if noise:
        sky_mag = np.array([sky_all[BANDS[b]] for b in render_idx])
        field, _, _ = add_noise(field[None], [BANDS[b] for b in render_idx], sky_mag,
                                np.random.default_rng(noise_seq))
        field = field[0]
    field = field[[render_idx.index(b) for b in band_idx]]

    area_px = np.bincount(seg.ravel(), minlength=n + 1)[1:]
    catalog = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "x": x,
        "y": y,
        **truth_columns(classes, pop),
        "snr_r": snr_r,
        "segment_area": area_px,
        "stamp_size": sizes,
    })
    catalog.attrs.update({
        "psf_fwhm": {b: float(fwhm_field[0, k]) for k, b in enumerate(BANDS)},
        "seeing_fwhm_r": float(fwhm_r[0]),
        "isophote": float(isophote),
        "isophote_nmgy_per_pixel": float(sky_level(isophote)),
        "pixel_scale": PIXEL_SCALE,
    })
    return field.astype(np.float32, copy=False), seg, catalog


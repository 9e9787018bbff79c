"""Physical populations of stars, quasars and galaxies (magnitudes, colours, shapes).

Every number here is a modelling choice, stated with its source; the public simulators
(:func:`make_star_galaxy_cutouts`, :func:`make_sky_field`) repeat them in their docstrings.

Number counts
    Within a class, r magnitudes follow ``dN/dm ∝ 10^(a m)`` on the requested range:
    galaxies ``a = 0.45`` (SDSS counts, Yasuda et al. 2001, AJ 122, 1104), stars ``a = 0.20``
    (high-latitude star counts flatten at faint magnitudes; Bahcall & Soneira 1980, Jurić et al.
    2008), quasars ``a = 0.40`` (steep bright-end QSO counts; Richards et al. 2006).
Stellar colours
    Points along the empirical SDSS stellar locus (median colours per spectral type A0…M5 of
    Covey et al. 2007, AJ 134, 2398, interpolated in r-i), with scatter 0.08 mag in u-g and
    0.03 mag in the other colours. Types: 55% F/G halo turn-off stars (r-i ~ N(0.12, 0.07)),
    45% K/M dwarfs (r-i uniform in 0.2–1.6), as in high-latitude fields.
Quasars
    Low-redshift (z < 2.2) UV-excess point sources: u-g ~ N(0.25, 0.12), g-r ~ N(0.15, 0.10),
    r-i ~ N(0.12, 0.10), i-z ~ N(0.05, 0.10) (Richards et al. 2001, AJ 121, 2308).
Galaxies
    Two populations: "early" (red sequence) with probability 0.5 at r = 16 falling linearly to
    0.24 at r = 22.5 (blue galaxies dominate faint counts), and "late" (blue cloud).
    Bulge (de Vaucouleurs, n = 4) + exponential disk sharing one axis ratio; bulge-to-total in r:
    early U(0.6, 1.0), late 0.5 × Beta(1.2, 4). Bulges have red-sequence colours, disks of late
    types blue-cloud colours (so the total colour and a colour gradient follow from B/T):
    red u-g ~ N(1.85, 0.2), g-r ~ N(0.80 + 0.06 (r - 17), 0.08), r-i ~ N(0.40 + 0.03 (r - 17), 0.06),
    i-z ~ N(0.30, 0.08); blue u-g ~ N(1.25, 0.25), g-r ~ N(0.45 + 0.03 (r - 17), 0.12),
    r-i ~ N(0.30, 0.08), i-z ~ N(0.15, 0.10) (red sequence / blue cloud of Strateva et al. 2001,
    Blanton et al. 2003, reddening with r as the typical redshift grows).
Sizes
    Circularised half-light radius ``log10 R["] = log10(0.75) - 0.17 (r - 20) + N(0, 0.22)``,
    early types 0.1 dex smaller, clipped to 0.08–20". This gives ~1.8" at r = 17.8 (the median
    Petrosian r50 of the SDSS main galaxy sample, Strauss et al. 2002, AJ 124, 1810) and ~0.35"
    at r = 22 (HST median half-light radii of faint galaxies, Roche et al. 1998; Bernstein 2002):
    faint galaxies are smaller than the ~0.7" half-light radius of the PSF and genuinely hard to
    tell from stars. Bulge/disk radius ratio U(0.2, 0.6); both scaled so that the composite
    profile has half-light radius R.
Shapes
    Disk-dominated (B/T < 0.5): random inclination (cos i uniform) of an oblate disk of intrinsic
    thickness 0.2, ``q = sqrt(0.2^2 + (1 - 0.2^2) cos^2 i)`` (Hubble 1926); bulge-dominated:
    q ~ N(0.75, 0.15) clipped to 0.35–1 (Padilla & Strauss 2008). Position angle uniform.
"""
import numpy as np

from ._photometry_constants import BANDS, mag_to_nmgy, nmgy_to_mag
from ._profiles import bulge_disk_half_light_radius

__all__ = ["sample_magnitudes", "sample_class_magnitudes", "sample_objects", "truth_columns"]

COUNT_SLOPE = {"STAR": 0.20, "QSO": 0.40, "GALAXY": 0.45}
SIZE_NORM, SIZE_SLOPE, SIZE_SCATTER, EARLY_SIZE_OFFSET = 0.75, -0.17, 0.22, -0.10

# Covey et al. (2007) median colours per spectral type: (r-i, u-g, g-r, i-z) for A0 F5 G5 K0 K5 M0 M3 M5.
_LOCUS = np.array([
    [-0.10, 1.10, -0.20, -0.05],
    [0.08, 0.95, 0.28, 0.00],
    [0.15, 1.25, 0.45, 0.05],
    [0.21, 1.70, 0.60, 0.10],
    [0.40, 2.40, 1.00, 0.20],
    [0.65, 2.60, 1.35, 0.35],
    [1.15, 2.55, 1.45, 0.60],
    [1.60, 2.60, 1.50, 0.85],
])


def sample_magnitudes(n, slope, mag_range, rng):
    """Draw magnitudes with ``dN/dm ∝ 10^(slope m)`` on ``mag_range`` (inverse CDF); a slope
    of 0 draws them uniformly."""
    lo, hi = mag_range
    u = rng.uniform(size=n)
    a = slope * np.log(10.0)
    if abs(a * (hi - lo)) < 1e-9:
        return lo + u * (hi - lo)
    return lo + np.log1p(u * np.expm1(a * (hi - lo))) / a


def sample_class_magnitudes(classes, mag_range, rng, slope=None):
    """r magnitudes for objects of the given classes: each class with its own count slope
    (``slope=None``), or every class with the one given ``slope`` (then the class fractions do
    not change with magnitude)."""
    mag_r = np.empty(len(classes))
    for cls in ("STAR", "QSO", "GALAXY"):
        idx = np.flatnonzero(classes == cls)
        a = COUNT_SLOPE[cls] if slope is None else slope
        mag_r[idx] = sample_magnitudes(idx.size, a, mag_range, rng)
    return mag_r


def truth_columns(classes, pop):
    """The truth/catalog columns shared by cutouts and fields (see make_star_galaxy_cutouts)."""
    galaxy = np.asarray(classes) == "GALAXY"
    mags = nmgy_to_mag(pop["flux"])
    return {
        "class": classes,
        "point_source": ~galaxy,
        **{f"mag_{band}": mags[:, k] for k, band in enumerate(BANDS)},
        "flux_r": pop["flux"][:, BANDS.index("r")],
        "half_light_radius": pop["half_light_radius"],
        "bulge_half_light_radius": pop["r_bulge"],
        "disk_half_light_radius": pop["r_disk"],
        "sersic_n": pop["sersic_n"],
        "bulge_fraction": pop["bulge_fraction_r"],
        "galaxy_type": pop["galaxy_type"],
        "axis_ratio": pop["axis_ratio"],
        "ellipticity": np.where(galaxy, 1.0 - pop["axis_ratio"], 0.0),
        "position_angle": np.where(galaxy, np.degrees(pop["theta"]), 0.0),
    }


def _star_colours(n, rng):
    turnoff = rng.uniform(size=n) < 0.55
    ri = np.where(turnoff, rng.normal(0.12, 0.07, n), rng.uniform(0.2, 1.6, n))
    ri = np.clip(ri, _LOCUS[0, 0], _LOCUS[-1, 0])
    ug = np.interp(ri, _LOCUS[:, 0], _LOCUS[:, 1]) + rng.normal(0, 0.08, n)
    gr = np.interp(ri, _LOCUS[:, 0], _LOCUS[:, 2]) + rng.normal(0, 0.03, n)
    iz = np.interp(ri, _LOCUS[:, 0], _LOCUS[:, 3]) + rng.normal(0, 0.03, n)
    ri = ri + rng.normal(0, 0.03, n)
    return ug, gr, ri, iz


def _qso_colours(n, rng):
    return (rng.normal(0.25, 0.12, n), rng.normal(0.15, 0.10, n), rng.normal(0.12, 0.10, n),
            rng.normal(0.05, 0.10, n))


def _red_colours(r, rng):
    n = r.size
    return (rng.normal(1.85, 0.2, n), rng.normal(0.80 + 0.06 * (r - 17), 0.08),
            rng.normal(0.40 + 0.03 * (r - 17), 0.06), rng.normal(0.30, 0.08, n))


def _blue_colours(r, rng):
    n = r.size
    return (rng.normal(1.25, 0.25, n), rng.normal(0.45 + 0.03 * (r - 17), 0.12),
            rng.normal(0.30, 0.08, n), rng.normal(0.15, 0.10, n))


def _colours_to_flux(r, ug, gr, ri, iz):
    """(n, 5) ugriz fluxes in nmgy from r and the four colours."""
    g = r + gr
    mags = np.stack([g + ug, g, r, r - ri, r - ri - iz], axis=1)
    return mag_to_nmgy(mags)


def sample_objects(classes, mag_r, rng):
    """Draw colours, sizes and shapes for objects of given classes and r magnitudes.

    Returns a dict of arrays: ``flux`` (n, 5) ugriz nmgy, ``bulge_fraction`` (n, 5),
    ``r_bulge``, ``r_disk``, ``half_light_radius`` (arcsec), ``axis_ratio``, ``theta`` (rad),
    ``bulge_fraction_r``, ``galaxy_type``, ``sersic_n``.
    """
    classes = np.asarray(classes)
    mag_r = np.asarray(mag_r, dtype=float)
    n = classes.size
    flux = np.zeros((n, 5))
    bulge_fraction = np.zeros((n, 5))
    r_bulge = np.zeros(n)
    r_disk = np.zeros(n)
    hlr = np.zeros(n)
    q = np.ones(n)
    theta = np.zeros(n)
    bt = np.zeros(n)
    gtype = np.full(n, "", dtype=object)

    for cls, colour_fn in (("STAR", _star_colours), ("QSO", _qso_colours)):
        idx = np.flatnonzero(classes == cls)
        if idx.size:
            flux[idx] = _colours_to_flux(mag_r[idx], *colour_fn(idx.size, rng))

    idx = np.flatnonzero(classes == "GALAXY")
    if idx.size:
        r = mag_r[idx]
        m = idx.size
        p_early = np.clip(0.5 - 0.04 * (r - 16.0), 0.2, 0.5)
        early = rng.uniform(size=m) < p_early
        bt_g = np.where(early, rng.uniform(0.6, 1.0, m), 0.5 * rng.beta(1.2, 4.0, m))
        # r-band flux split, then colours per component.
        f_r = mag_to_nmgy(r)
        red = _red_colours(r, rng)
        blue = _blue_colours(r, rng)
        bulge_r = nmgy_to_mag(bt_g * f_r)
        disk_r = nmgy_to_mag((1 - bt_g) * f_r)
        bulge_flux = _colours_to_flux(np.where(np.isfinite(bulge_r), bulge_r, 99.0), *red)
        disk_cols = tuple(np.where(early, rc - (0.1 if k < 2 else 0.0), bc)
                          for k, (rc, bc) in enumerate(zip(red, blue)))
        disk_flux = _colours_to_flux(np.where(np.isfinite(disk_r), disk_r, 99.0), *disk_cols)
        bulge_flux[bt_g <= 0] = 0.0
        disk_flux[bt_g >= 1] = 0.0
        total = bulge_flux + disk_flux
        flux[idx] = total
        bulge_fraction[idx] = bulge_flux / total
        # Sizes: composite half-light radius from the size-magnitude relation.
        log_r = (np.log10(SIZE_NORM) + SIZE_SLOPE * (r - 20.0) + EARLY_SIZE_OFFSET * early
                 + rng.normal(0.0, SIZE_SCATTER, m))
        big_r = np.clip(10.0**log_r, 0.08, 20.0)
        ratio = rng.uniform(0.2, 0.6, m)
        unit = bulge_disk_half_light_radius(bt_g, ratio, 1.0)
        r_disk[idx] = big_r / unit
        r_bulge[idx] = ratio * big_r / unit
        hlr[idx] = big_r
        # Shapes.
        disky = bt_g < 0.5
        cos_i = rng.uniform(size=m)
        q_disk = np.sqrt(0.2**2 + (1 - 0.2**2) * cos_i**2)
        q_sph = np.clip(rng.normal(0.75, 0.15, m), 0.35, 1.0)
        q[idx] = np.where(disky, q_disk, q_sph)
        theta[idx] = rng.uniform(0.0, np.pi, m)
        bt[idx] = bt_g
        gtype[idx] = np.where(early, "early", "late")

    return {
        "flux": flux,
        "bulge_fraction": bulge_fraction,
        "r_bulge": r_bulge,
        "r_disk": r_disk,
        "half_light_radius": hlr,
        "axis_ratio": q,
        "theta": theta,
        "bulge_fraction_r": bt,
        "galaxy_type": gtype,
        # B/T-weighted Sérsic index of the bulge (4) and disk (1): a rough global concentration.
        "sersic_n": np.where(classes == "GALAXY", 1.0 + 3.0 * bt, 0.0),
    }


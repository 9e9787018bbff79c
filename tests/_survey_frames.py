"""Synthetic survey frames: one FITS file per band, each band offset (and z rotated) on the sky
like SDSS's bands, Gaussian objects at known sky positions."""
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

SCALE = 0.396 / 3600.0  # deg / pixel


def _wcs(crpix, rot_deg=0.0, crval=(150.0, 2.0)):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = list(crval)
    w.wcs.crpix = list(crpix)
    c, s = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    w.wcs.cd = SCALE * np.array([[-c, s], [s, c]])
    return w


def _gauss(shape, x, y, flux, fwhm):
    sigma = fwhm / 2.3548200450309493
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return flux * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)) / (2 * np.pi * sigma**2)


# each band's frame is offset (and the z band slightly rotated) like SDSS's bands
OFFSETS = {"g": (101.0, 99.0, 0.0), "r": (96.0, 94.0, 0.0), "z": (103.5, 97.2, 0.3)}


def _make_field(tmp_path, *, shape=(200, 220), fwhm=3.0, noise=0.01, seed=0, bands="grz",
                name="000001-1-0001", headers=None, xs=(40.0, 110.3, 150.7, 70.2),
                ys=(50.0, 100.6, 60.1, 140.4), widths=None):
    """Write ``frame-<band>-<name>.fits`` files; objects at reference-band (r) pixels ``xs``,
    ``ys`` with FWHM ``widths`` (default: all ``fwhm``, point sources) and flux 50 nmgy."""
    rng = np.random.default_rng(seed)
    ref = _wcs(OFFSETS["r"][:2])
    ra, dec = ref.pixel_to_world_values(np.asarray(xs, float), np.asarray(ys, float))
    widths = np.full(len(xs), fwhm) if widths is None else np.asarray(widths, float)
    paths = []
    for b in bands:
        w = _wcs(OFFSETS[b][:2], OFFSETS[b][2])
        bx, by = w.world_to_pixel_values(ra, dec)
        img = rng.normal(0, noise, size=shape)
        for x, y, width in zip(bx, by, widths):
            img += _gauss(shape, x, y, 50.0, width)
        header = w.to_header()
        header["FILTER"] = b
        header["BUNIT"] = "nanomaggy"
        for k, v in (headers or {}).items():
            header[k] = v
        p = tmp_path / f"frame-{b}-{name}.fits"
        fits.PrimaryHDU(img.astype(np.float32), header=header).writeto(p)
        paths.append(p)
    return paths, ra, dec

"""Survey frame files: find one field's per-band FITS frames, tell their bands, read them.

A frame's band comes from its ``FILTER`` (``BAND``, ``FILTNAM``) header keyword, else from an SDSS
``frame-<band>-<run>-<camcol>-<field>`` file name; its calibration (PSF width, saturation level,
flux unit, AB zero point) from the header keywords surveys use.
:meth:`galaxy_learn.datasets.SurveyField.from_files` composes these readers.
"""
import re
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np

#: SDSS frame file names: ``frame-<band>-<run>-<camcol>-<field>.fits[.bz2|.gz]``.
_SDSS_FRAME = re.compile(r"frame-(?P<band>[ugriz])-(?P<field>\d{6}-\d-\d{4})\.fits(\.bz2|\.gz)?$")
_FITS_SUFFIX = re.compile(r"\.(fits|fit|fts)(\.bz2|\.gz|\.fz)?$", re.IGNORECASE)
_BAND_KEYS = ("FILTER", "BAND", "FILTNAM", "FILTER1")
_PSF_KEYS = ("PSF_FWHM", "PSFFWHM", "SEEING", "FWHM")
_SATURATE_KEYS = ("SATURATE", "SATURATN", "SATLEVEL")
_ZEROPOINT_KEYS = ("MAGZP", "MAGZERO", "ZEROPT", "PHOTZP", "ZP")
#: AB zero points of flux units that carry one: ``mag = zp - 2.5 log10(flux)``.
_UNIT_ZEROPOINTS = {"nanomaggy": 22.5, "nanomaggies": 22.5, "nmgy": 22.5, "maggy": 0.0,
                    "maggies": 0.0}
#: SDSS frames carry no saturation keyword; the photo pipeline flags pixels above ~ this many
#: flat-fielded counts (the chips' full well less the bias), so we flag a stamp whose peak count,
#: ``value / NMGY``, exceeds it.
_SDSS_SATURATION_COUNTS = 40_000.0


def _band_from_header(header):
    for key in _BAND_KEYS:
        value = header.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _positive_float(header, keys):
    for key in keys:
        value = header.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def _frame_files(paths):
    """FITS files from a directory, a glob-free list of files, or one file."""
    if isinstance(paths, (str, Path)):
        p = Path(paths)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if _FITS_SUFFIX.search(f.name)
                           and not f.name.startswith("calibObj"))
            if not files:
                msg = f"Directory {str(p)!r} holds no FITS frames (*.fits, *.fits.bz2, *.fits.gz)."
                raise ValueError(msg)
            return files
        paths = [p]
    files = [Path(f) for f in paths]
    if not files:
        msg = "No frame files given."
        raise ValueError(msg)
    for f in files:
        if not f.is_file():
            msg = f"Frame file {str(f)!r} does not exist."
            raise FileNotFoundError(msg)
    return files


def _peek_band(path):
    from astropy.io import fits

    try:
        header = fits.getheader(path, 0)
    except (OSError, TypeError, EOFError) as exc:
        msg = f"Could not read frame {str(path)!r}: {exc}"
        raise ValueError(msg) from exc
    return _band_from_header(header)


def _frames_by_band(files, bands):
    """``(found, wanted, name)``: the file of each band, the bands in stamp order, the field name.

    ``bands`` (None: every band found, in ugrizy order) selects and orders the bands; two files of
    one band, SDSS frames of different fields, or a wanted band without a file raise.
    """
    wanted = None if bands is None else list(bands)
    found, fields = {}, set()
    for f in files:
        m = _SDSS_FRAME.search(f.name)
        header_band = _peek_band(f)
        band = header_band or (m.group("band") if m else None)
        if band is None:
            msg = (
                f"Cannot tell the band of {str(f)!r}: no FILTER/BAND header keyword and not "
                "an SDSS frame-<band>-... file name. Pass each band's file explicitly."
            )
            raise ValueError(msg)
        if wanted is not None and band not in wanted:
            continue
        if band in found:
            msg = f"Two frames for band {band!r}: {str(found[band])!r} and {str(f)!r}."
            raise ValueError(msg)
        found[band] = f
        if m:
            fields.add(m.group("field"))
    if len(fields) > 1:
        msg = (f"The frames belong to different fields {sorted(fields)}; give one field's "
               "frames.")
        raise ValueError(msg)
    if wanted is None:
        order = "ugrizy"
        wanted = sorted(found, key=lambda b: (order.find(b) if b in order else 99, b))
    missing = [b for b in wanted if b not in found]
    if missing:
        msg = (
            f"Missing frame(s) for band(s) {missing}: found {sorted(found)} in "
            f"{[str(f) for f in files]}. Pass bands= to use only the bands you have."
        )
        raise ValueError(msg)
    name = fields.pop() if fields else Path(found[wanted[0]]).parent.name
    return found, wanted, name


def _read_frame(path, band):
    """Image (float32), header and WCS of the first 2-D image HDU of a frame file."""
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    try:
        with fits.open(path, memmap=False) as hdul:
            hdu = next((h for h in hdul if h.is_image and h.data is not None
                        and h.data.ndim == 2), None)
            if hdu is None:
                msg = f"Frame {str(path)!r} has no 2-D image HDU."
                raise ValueError(msg)
            image = np.array(hdu.data, dtype=np.float32)
            header = hdu.header.copy()
    except (OSError, TypeError, EOFError) as exc:
        msg = f"Could not read frame {str(path)!r}: {exc}"
        raise ValueError(msg) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header)
    if not wcs.has_celestial:
        msg = (
            f"Frame {str(path)!r} (band {band!r}) has no celestial WCS: bands cannot be aligned "
            "without one. Give frames with CTYPE/CRVAL/CD keywords (calibrated survey frames "
            "carry them)."
        )
        raise ValueError(msg)
    return image, header, wcs


#: What a frame's header tells of its calibration; a field is None (or "") when it is unknown.
_Calibration = namedtuple("_Calibration", ["psf_fwhm", "saturation", "unit", "zeropoint"])


def _frame_calibration(header, wcs, psf_arcsec):
    """PSF FWHM in pixels (from ``psf_arcsec``), saturation level, ``BUNIT`` and AB zero point.

    SDSS frames carry no saturation keyword: their level is ``_SDSS_SATURATION_COUNTS * NMGY``.
    The zero point is a header keyword's, else the one of the flux unit (22.5 for nanomaggies).
    """
    from astropy.wcs.utils import proj_plane_pixel_scales

    psf = None
    if psf_arcsec is not None:
        scale = float(np.mean(proj_plane_pixel_scales(wcs.celestial))) * 3600.0  # arcsec/px
        psf = psf_arcsec / scale
    level = _positive_float(header, _SATURATE_KEYS)
    nmgy = _positive_float(header, ("NMGY",))
    if level is None and nmgy is not None:
        level = _SDSS_SATURATION_COUNTS * nmgy
    bunit = str(header.get("BUNIT", "")).strip()
    zeropoint = None
    zp = header.get(next((k for k in _ZEROPOINT_KEYS if k in header), ""), None)
    if isinstance(zp, (int, float)) and not isinstance(zp, bool):
        zeropoint = float(zp)
    elif bunit.lower() in _UNIT_ZEROPOINTS:
        zeropoint = _UNIT_ZEROPOINTS[bunit.lower()]
    return _Calibration(psf, level, bunit, zeropoint)

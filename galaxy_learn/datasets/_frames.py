"""Survey frames: one field's per-band FITS images, aligned through each band's WCS.

A survey field arrives as one calibrated frame per band (SDSS ``frame-[ugriz]-RUN-CAMCOL-FIELD``,
DES / LSST / ZTF science images), each with its own world coordinate system: the bands of an SDSS
field are offset by up to ~10 pixels from one another and slightly rotated, so a pixel position in
one band is *not* the same sky position in another. :class:`SurveyField` keeps each band in its
own pixel grid and maps every object through RA/Dec (astropy WCS, SIP distortions included)
into each band before cutting its stamp, so a multi-band stamp is centred on the same sky position
in every band.

The PSF width of each band comes from the header when it carries one (``PSF_FWHM``, ``SEEING``,
...), from a table the user gives (an SDSS calibObj / psField), or is measured on the field's own
bright point sources (:func:`estimate_psf_fwhm`): the stellar locus is the narrowest tight cluster
of object sizes, which needs no labels.
"""
import re
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._stats import robust_sigma


__all__ = ["SurveyField", "estimate_psf_fwhm", "iter_survey_fields", "load_survey_field"]

#: SDSS frame file names: ``frame-<band>-<run>-<camcol>-<field>.fits[.bz2|.gz]``.
_SDSS_FRAME = re.compile(r"frame-(?P<band>[ugriz])-(?P<field>\d{6}-\d-\d{4})\.fits(\.bz2|\.gz)?$")
_FITS_SUFFIX = re.compile(r"\.(fits|fit|fts)(\.bz2|\.gz|\.fz)?$", re.IGNORECASE)
_BAND_KEYS = ("FILTER", "BAND", "FILTNAM", "FILTER1")
_PSF_KEYS = ("PSF_FWHM", "PSFFWHM", "SEEING", "FWHM")
_SATURATE_KEYS = ("SATURATE", "SATURATN", "SATLEVEL")
#: SDSS frames carry no saturation keyword; the photo pipeline flags pixels above ~ this many
#: flat-fielded counts (the chips' full well less the bias), so we flag a stamp whose peak count,
#: ``value / NMGY``, exceeds it.
_SDSS_SATURATION_COUNTS = 40_000.0
_SIGMA_TO_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))


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


def estimate_psf_fwhm(image, x, y, *, flux=None, window=7, max_objects=200, min_snr=30.0,
                      saturation=None):
    """PSF FWHM of a frame, measured on its own point sources (no labels).

    Each object's size is the FWHM of the Gaussian with its adaptive second moments (an elliptical
    Gaussian weight iterated to the object's own shape, as SDSS photo and HSM measure it; the
    Gaussian-equivalent FWHM is ``2.3548 * (det M)^(1/4)``). Point sources all share the PSF's
    size, galaxies are larger: the PSF is the lower edge of the size distribution of high-S/N
    objects. It is estimated as the median of the objects within 10% of the 10th percentile
    size (the stellar locus), which is robust to a galaxy-dominated sample and to cosmic rays
    (sizes below 0.5 * that percentile are dropped first).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Sky-subtracted frame.
    x, y : array-like of float
        Pixel positions (0-based, pixel centres at integers) of candidate objects.
    flux : array-like of float, default=None
        Their fluxes *in this image*: the ``max_objects`` brightest unsaturated ones are
        measured. None measures them (sum of the 5x5 pixels around each position), so that in a
        band other than the detection band the objects bright *there* are used.
    window : int, default=7
        Half-size of the measurement box (pixels).
    max_objects : int, default=200
    min_snr : float, default=30.0
        Only objects whose 5x5-pixel flux is at least this many times its noise (the frame's
        robust sky sigma times 5) are measured: faint objects' noisy moments scatter below the
        PSF size and would pull the locus down.
    saturation : float, default=None
        Objects with a pixel above this are skipped (saturated cores are too wide).

    Returns
    -------
    fwhm : float
        PSF FWHM in pixels (NaN when fewer than 5 objects could be measured).
    sizes : ndarray
        FWHM of every measured object (pixels, NaN where the moments failed).

    References
    ----------
    Bernstein & Jarvis 2002, AJ 123, 583 (adaptive moments); Hirata & Seljak 2003 (HSM).
    """
    image = np.asarray(image, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    H, W = image.shape
    if flux is None:
        ix = np.clip(np.round(x).astype(np.int64), 2, W - 3)
        iy = np.clip(np.round(y).astype(np.int64), 2, H - 3)
        flux = sum(image[iy + j, ix + i] for j in range(-2, 3) for i in range(-2, 3))
    flux = np.nan_to_num(np.asarray(flux, dtype=float), nan=-np.inf)
    noise = 5.0 * robust_sigma(image[np.isfinite(image)], max_samples=200_000)
    order = np.argsort(-flux, kind="stable")
    order = order[flux[order] >= min_snr * noise]
    yy, xx = np.mgrid[-window:window + 1, -window:window + 1].astype(np.float64)
    sizes = []
    for i in order:
        if len(sizes) >= max_objects:
            break
        xi, yi = int(round(x[i])), int(round(y[i]))
        if not (window <= xi < W - window and window <= yi < H - window):
            continue
        box = image[yi - window:yi + window + 1, xi - window:xi + window + 1]
        if not np.all(np.isfinite(box)) or (saturation is not None and box.max() >= saturation):
            continue
        sizes.append(_adaptive_fwhm(box, xx - (x[i] - xi), yy - (y[i] - yi)))
    sizes = np.asarray(sizes, dtype=np.float64)
    good = sizes[np.isfinite(sizes)]
    if good.size < 5:
        return float("nan"), sizes
    p10 = np.percentile(good, 10)
    good = good[good >= 0.5 * p10]
    p10 = np.percentile(good, 10)
    locus = good[np.abs(good - p10) <= 0.1 * p10]
    return float(np.median(locus)), sizes


def _adaptive_fwhm(box, dx, dy, n_iter=20):
    """Gaussian-equivalent FWHM from adaptive (elliptical Gaussian-weighted) second moments."""
    mxx = myy = 2.0
    mxy = 0.0
    cx = cy = 0.0
    for _ in range(n_iter):
        det = mxx * myy - mxy**2
        if not np.isfinite(det) or det <= 0:
            return float("nan")
        ix, iy = dx - cx, dy - cy
        q = (myy * ix**2 - 2 * mxy * ix * iy + mxx * iy**2) / det
        w = box * np.exp(-0.5 * q)
        s = w.sum()
        if not s > 0:
            return float("nan")
        cx += (w * ix).sum() / s
        cy += (w * iy).sum() / s
        ix, iy = dx - cx, dy - cy
        # the weighted moments of a Gaussian source times a Gaussian weight of the same shape
        # are half the source's: the adaptive fixed point is M = 2 * weighted moments
        nxx = 2 * (w * ix**2).sum() / s
        nyy = 2 * (w * iy**2).sum() / s
        nxy = 2 * (w * ix * iy).sum() / s
        if abs(nxx - mxx) < 1e-4 and abs(nyy - myy) < 1e-4:
            mxx, myy, mxy = nxx, nyy, nxy
            break
        mxx, myy, mxy = nxx, nyy, nxy
        if mxx <= 0 or myy <= 0 or mxx > 100 or myy > 100:
            return float("nan")
    det = mxx * myy - mxy**2
    return float(_SIGMA_TO_FWHM * det**0.25) if det > 0 else float("nan")


class SurveyField:
    """The frames of one survey field, one per band, each in its own pixel grid and WCS.

    Build it with :meth:`from_files` (or :func:`load_survey_field` for stamps in one call);
    the constructor takes already-read arrays.

    Parameters
    ----------
    images : dict of str to ndarray of shape (H, W)
        Calibrated, sky-subtracted image of each band (survey units, e.g. nanomaggies).
    wcs : dict of str to astropy.wcs.WCS
        Celestial WCS of each band.
    bands : sequence of str, default=None
        Band order of the stamps (None: the order of ``images``).
    reference_band : str, default=None
        The band whose pixel grid defines detection positions (None: "r" when present, else the
        first band).
    psf_fwhm : dict of str to float, default=None
        PSF FWHM of each band in **pixels** of that band (None or missing bands: measured by
        :func:`estimate_psf_fwhm` on the field's own point sources when stamps are cut).
    saturation : dict of str to float, default=None
        Pixel value at and above which a band saturates (None: unknown, nothing flagged).
    unit : str, default=None
        Pixel unit (``BUNIT``), recorded in the catalogue.
    name : str, default=None
        Field name (e.g. ``"004510-4-0030"``).

    Attributes
    ----------
    shape : dict of str to tuple
        Image shape of each band.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.wcs import WCS
    >>> from galaxy_learn.datasets import SurveyField
    >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> w.wcs.crval = [150.0, 2.0]; w.wcs.crpix = [50, 50]; w.wcs.cdelt = [-1e-4, 1e-4]
    >>> img = np.zeros((100, 100), dtype="float32"); img[40, 60] = 10.0
    >>> field = SurveyField({"r": img}, {"r": w})
    >>> X, table = field.cutouts(x=[60.0], y=[40.0], size=9)
    >>> X.shape, float(X[0, 0, 4, 4])
    ((1, 1, 9, 9), 10.0)
    """

    def __init__(self, images, wcs, *, bands=None, reference_band=None, psf_fwhm=None,
                 saturation=None, unit=None, name=None):
        bands = list(images) if bands is None else list(bands)
        missing = [b for b in bands if b not in images or b not in wcs]
        if missing:
            msg = (
                f"Band(s) {missing} have no image or no WCS (images for {sorted(images)}, WCS "
                f"for {sorted(wcs)})."
            )
            raise ValueError(msg)
        if reference_band is None:
            reference_band = "r" if "r" in bands else bands[0]
        if reference_band not in bands:
            msg = f"The 'reference_band' {reference_band!r} is not one of the bands {bands}."
            raise ValueError(msg)
        self.images = {b: images[b] for b in bands}
        self.wcs = {b: wcs[b] for b in bands}
        self.bands = bands
        self.reference_band = reference_band
        self.psf_fwhm = dict(psf_fwhm or {})
        self.saturation = dict(saturation or {})
        self.unit = unit
        self.name = name
        for b, img in self.images.items():
            if np.ndim(img) != 2:
                msg = f"The image of band {b!r} must be 2-D; got shape {np.shape(img)}."
                raise ValueError(msg)
        self._check_overlap()

    @property
    def shape(self):
        return {b: img.shape for b, img in self.images.items()}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_files(cls, paths, *, bands=None, reference_band=None, psf_fwhm=None):
        """Read the frames of one field: one FITS file per band, in any order.

        Parameters
        ----------
        paths : str, Path, or sequence of them
            The frame files, or a directory holding them (SDSS ``frame-*.fits.bz2`` and any FITS
            image with a celestial WCS; ``calibObj*`` tables in the directory are ignored).
        bands : str or sequence of str, default=None
            Bands wanted, in stamp order (e.g. ``"ugriz"``). Each file's band comes from its
            ``FILTER`` (``BAND``, ``FILTNAM``) header keyword, else from an SDSS file name. None
            takes every band found, in ugriz order when they are SDSS bands.
        reference_band : str, default=None
            See :class:`SurveyField`.
        psf_fwhm : dict of str to float, default=None
            PSF FWHM per band in arcsec (converted to each band's pixels through its WCS);
            missing bands are read from the header or measured on the field.

        Returns
        -------
        SurveyField
        """
        from astropy.wcs.utils import proj_plane_pixel_scales

        files = _frame_files(paths)
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
            msg = f"The frames belong to different fields {sorted(fields)}; give one field's frames."
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
        images, wcs, psf, sat, units = {}, {}, {}, {}, set()
        given = dict(psf_fwhm or {})
        for b in wanted:
            img, header, w = _read_frame(found[b], b)
            images[b], wcs[b] = img, w
            scale = float(np.mean(proj_plane_pixel_scales(w.celestial))) * 3600.0  # arcsec/px
            arcsec = given.get(b, _positive_float(header, _PSF_KEYS))
            if arcsec is not None:
                psf[b] = arcsec / scale
            level = _positive_float(header, _SATURATE_KEYS)
            nmgy = _positive_float(header, ("NMGY",))
            if level is None and nmgy is not None:
                level = _SDSS_SATURATION_COUNTS * nmgy
            if level is not None:
                sat[b] = level
            if header.get("BUNIT"):
                units.add(str(header["BUNIT"]).strip())
        name = fields.pop() if fields else Path(found[wanted[0]]).parent.name
        return cls(images, wcs, bands=wanted, reference_band=reference_band, psf_fwhm=psf,
                   saturation=sat, unit=units.pop() if len(units) == 1 else None, name=name)

    def _check_overlap(self):
        """Every band must cover the reference band's centre: otherwise not one field."""
        ref = self.reference_band
        H, W = self.images[ref].shape
        ra, dec = self.wcs[ref].celestial.pixel_to_world_values((W - 1) / 2.0, (H - 1) / 2.0)
        for b in self.bands:
            x, y = self.wcs[b].celestial.world_to_pixel_values(ra, dec)
            h, w = self.images[b].shape
            if not (0 <= x < w and 0 <= y < h):
                msg = (
                    f"Band {b!r} does not overlap band {ref!r}: the centre of {ref!r} "
                    f"(RA {float(ra):.5f}, Dec {float(dec):.5f}) falls at pixel ({float(x):.0f}, "
                    f"{float(y):.0f}) of a {w}x{h} frame. Are these frames of one field?"
                )
                raise ValueError(msg)

    # ------------------------------------------------------------------ coordinates
    def pixel_to_world(self, x, y, band=None):
        """RA, Dec (degrees) of pixel positions of ``band`` (default: the reference band)."""
        band = self.reference_band if band is None else band
        ra, dec = self.wcs[band].celestial.pixel_to_world_values(np.asarray(x, float),
                                                                 np.asarray(y, float))
        return np.asarray(ra, float), np.asarray(dec, float)

    def world_to_pixel(self, ra, dec, band):
        """Pixel positions (0-based, pixel centres at integers) of RA/Dec in ``band``."""
        x, y = self.wcs[band].celestial.world_to_pixel_values(np.asarray(ra, float),
                                                              np.asarray(dec, float))
        return np.asarray(x, float), np.asarray(y, float)

    # ------------------------------------------------------------------ detection
    def detect(self, *, threshold=5.0, min_area=5, band=None):
        """Objects found on one band (default: the reference band).

        Uses :func:`galaxy_learn.segmentation.detect_sources`: background and its RMS
        estimated and subtracted, matched-filter detection at ``threshold`` sigma.

        Returns
        -------
        pandas.DataFrame
            ``x``, ``y`` (pixels of ``band``), ``ra``, ``dec``, ``flux`` (isophotal, image
            units), ``area``.
        """
        band = self.reference_band if band is None else band
        cat = _detect(self.images[band], threshold=threshold, min_area=min_area)
        ra, dec = self.pixel_to_world(cat["x"], cat["y"], band)
        cat = cat.copy()
        cat["ra"], cat["dec"] = ra, dec
        return cat

    def psf_fwhm_pixels(self, band, positions=None):
        """The PSF FWHM of ``band`` in its pixels: given / header, else measured on the field."""
        if band in self.psf_fwhm:
            return self.psf_fwhm[band]
        if positions is None:
            positions = self.detect(band=band, threshold=10.0)
        x, y = positions["x"], positions["y"]
        if band != self.reference_band and "ra" in positions:
            x, y = self.world_to_pixel(positions["ra"], positions["dec"], band)
        fwhm, _ = estimate_psf_fwhm(self.images[band], x, y,
                                    saturation=self.saturation.get(band))
        self.psf_fwhm[band] = fwhm
        return fwhm

    # ------------------------------------------------------------------ stamps
    def cutouts(self, *, ra=None, dec=None, x=None, y=None, size=64, edge="skip"):
        """Multi-band stamps centred on sky positions, each band cut from its own frame.

        Every position is mapped to each band's pixel grid through that band's WCS and the
        stamp is cut around the nearest pixel: no resampling, so pixel noise stays independent
        and the flux is the survey's; the sub-pixel offset of the object from the stamp's
        central pixel ``(size // 2, size // 2)`` is at most half a pixel per axis and is recorded
        (``dx_<band>``, ``dy_<band>``).

        Parameters
        ----------
        ra, dec : array-like of float, default=None
            Sky positions (degrees). Give these, or ``x`` and ``y``.
        x, y : array-like of float, default=None
            Pixel positions in the reference band (0-based, pixel centres at integers).
        size : int, default=64
            Stamp side (pixels).
        edge : {"skip", "pad"}, default="skip"
            Objects whose stamp leaves a frame in any band: ``"skip"`` drops them (counted in
            ``table.attrs["n_skipped_edge"]``); ``"pad"`` keeps them with NaN outside the frame
            and the ``flag_edge`` column set (the estimators then need an explicit NaN fill).

        Returns
        -------
        X : ndarray of float32, shape (n_objects, n_bands, size, size)
        table : pandas.DataFrame
            One row per stamp: ``id`` (index of the input position), ``ra``, ``dec``,
            ``x_<band>``, ``y_<band>`` (pixel position in each band), ``dx_<band>``,
            ``dy_<band>``, ``psf_fwhm_<band>`` (pixels; NaN when unknown), flags
            ``flag_edge``, ``flag_masked`` (NaN pixels in the stamp), ``flag_saturated``
            (a band's peak at or above its saturation level).
        """
        if edge not in ("skip", "pad"):
            msg = f"The 'edge' parameter must be 'skip' or 'pad'. Got {edge!r}."
            raise ValueError(msg)
        if not isinstance(size, Integral) or size < 3:
            msg = f"The 'size' parameter must be an int >= 3. Got {size!r}."
            raise ValueError(msg)
        if ra is not None and dec is not None:
            ra, dec = np.atleast_1d(np.asarray(ra, float)), np.atleast_1d(np.asarray(dec, float))
        elif x is not None and y is not None:
            ra, dec = self.pixel_to_world(np.atleast_1d(x), np.atleast_1d(y))
        else:
            msg = "Give sky positions (ra=, dec=) or reference-band pixel positions (x=, y=)."
            raise ValueError(msg)
        if ra.shape != dec.shape:
            msg = f"ra and dec must have the same length; got {ra.shape} and {dec.shape}."
            raise ValueError(msg)
        if not (np.all(np.isfinite(ra)) and np.all(np.isfinite(dec))):
            msg = "Sky positions contain NaN or inf."
            raise ValueError(msg)
        n, half = len(ra), size // 2
        table = pd.DataFrame({"id": np.arange(n), "ra": ra, "dec": dec})
        inside = np.ones(n, dtype=bool)
        pix = {}
        for b in self.bands:
            bx, by = self.world_to_pixel(ra, dec, b)
            ix, iy = np.round(bx).astype(np.int64), np.round(by).astype(np.int64)
            h, w = self.images[b].shape
            inside &= (ix - half >= 0) & (iy - half >= 0)
            inside &= (ix - half + size <= w) & (iy - half + size <= h)
            pix[b] = (ix, iy)
            table[f"x_{b}"], table[f"y_{b}"] = bx, by
            table[f"dx_{b}"], table[f"dy_{b}"] = bx - ix, by - iy
        keep = inside if edge == "skip" else np.ones(n, dtype=bool)
        X = np.full((int(keep.sum()), len(self.bands), size, size), np.nan, dtype=np.float32)
        rows = np.flatnonzero(keep)
        saturated = np.zeros(len(rows), dtype=bool)
        for k, b in enumerate(self.bands):
            img = self.images[b]
            h, w = img.shape
            ix, iy = pix[b]
            for j, i in enumerate(rows):
                x0, y0 = ix[i] - half, iy[i] - half
                sx0, sy0 = max(x0, 0), max(y0, 0)
                sx1, sy1 = min(x0 + size, w), min(y0 + size, h)
                if sx1 > sx0 and sy1 > sy0:
                    X[j, k, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
            level = self.saturation.get(b)
            if level is not None:
                c = slice(max(half - 3, 0), half + 4)
                saturated |= np.nanmax(X[:, k, c, c], axis=(1, 2), initial=-np.inf) >= level
        table = table.iloc[rows].reset_index(drop=True)
        table["flag_edge"] = ~inside[rows]
        table["flag_masked"] = ~np.isfinite(X).all(axis=(1, 2, 3)) & ~table["flag_edge"].values
        table["flag_saturated"] = saturated
        for b in self.bands:
            table[f"psf_fwhm_{b}"] = self.psf_fwhm.get(b, np.nan)
        table.attrs["n_skipped_edge"] = int(n - len(rows))
        table.attrs["field"] = self.name
        table.attrs["unit"] = self.unit
        return X, table


def _detect(image, *, threshold, min_area):
    """Background-subtracted, noise-calibrated detection (SEP, SExtractor's algorithms)."""
    import sep

    data = np.ascontiguousarray(image, dtype=np.float32)
    mask = ~np.isfinite(data)
    data = np.where(mask, 0, data).astype(np.float32)
    bkg = sep.Background(data, mask=mask)
    sub = data - bkg.back()
    objects = sep.extract(sub, threshold, err=bkg.rms(), mask=mask, minarea=min_area)
    return pd.DataFrame({"x": objects["x"], "y": objects["y"], "flux": objects["flux"],
                         "area": objects["npix"]})


def _peek_band(path):
    from astropy.io import fits

    try:
        header = fits.getheader(path, 0)
    except (OSError, TypeError, EOFError) as exc:
        msg = f"Could not read frame {str(path)!r}: {exc}"
        raise ValueError(msg) from exc
    return _band_from_header(header)


def load_survey_field(paths, *, bands=None, positions=None, size=64, threshold=5.0,
                      min_area=5, edge="skip", psf_fwhm=None, measure_psf=True):
    """Stamps and a catalogue of the objects of one survey field, in one call.

    Reads the frames (:meth:`SurveyField.from_files`), finds the objects on the reference band
    (or takes the given positions), measures each band's PSF on the field's point sources where
    the header gives none, and cuts centred multi-band stamps (:meth:`SurveyField.cutouts`).
    Memory: the field's frames (5 x 2048 x 1489 float32 = 61 MB for SDSS) and the stamps; for
    many fields use :func:`iter_survey_fields`, which holds one field at a time.

    Parameters
    ----------
    paths : str, Path or sequence
        The field's frames (one file per band) or their directory.
    bands : str or sequence of str, default=None
        Bands in stamp order; None: every band found.
    positions : pandas.DataFrame or dict, default=None
        Objects to cut: columns ``ra``, ``dec`` (degrees) or ``x``, ``y`` (reference-band
        pixels). None detects them (``threshold`` sigma, ``min_area`` pixels).
    size : int, default=64
    threshold : float, default=5.0
    min_area : int, default=5
    edge : {"skip", "pad"}, default="skip"
    psf_fwhm : dict of str to float, default=None
        PSF FWHM per band in arcsec, overriding headers and measurement.
    measure_psf : bool, default=True
        Measure missing PSF widths on the field (:func:`estimate_psf_fwhm`).

    Returns
    -------
    X : ndarray of float32, shape (n_objects, n_bands, size, size)
    table : pandas.DataFrame
        As :meth:`SurveyField.cutouts`, plus the detection columns when detected.
    field : SurveyField
    """
    field = SurveyField.from_files(paths, bands=bands, psf_fwhm=psf_fwhm)
    detected = None
    if positions is None:
        detected = field.detect(threshold=threshold, min_area=min_area)
        positions = detected
    positions = pd.DataFrame(positions)
    if {"ra", "dec"} <= set(positions.columns):
        X, table = field.cutouts(ra=positions["ra"].to_numpy(), dec=positions["dec"].to_numpy(),
                                 size=size, edge=edge)
    elif {"x", "y"} <= set(positions.columns):
        X, table = field.cutouts(x=positions["x"].to_numpy(), y=positions["y"].to_numpy(),
                                 size=size, edge=edge)
    else:
        msg = (
            "The 'positions' table needs columns ('ra', 'dec') or ('x', 'y'); got "
            f"{list(positions.columns)}."
        )
        raise ValueError(msg)
    if measure_psf:
        bright = detected if detected is not None else None
        for b in field.bands:
            if b not in field.psf_fwhm:
                field.psf_fwhm_pixels(b, bright)
            table[f"psf_fwhm_{b}"] = field.psf_fwhm.get(b, np.nan)
    if detected is not None:
        extra = detected.drop(columns=["ra", "dec", "x", "y"], errors="ignore").iloc[table["id"]]
        for col in extra.columns:
            table[col] = extra[col].to_numpy()
    return X, table, field


def iter_survey_fields(fields, *, on_error="skip", **kwargs):
    """Yield ``(name, X, table, field)`` for many fields, one in memory at a time.

    Parameters
    ----------
    fields : sequence of paths
        One entry per field: its directory or its list of frame files.
    on_error : {"skip", "raise"}, default="skip"
        A field that fails to read is reported (a ``UserWarning`` naming it and the error) and
        skipped, never losing the others; ``"raise"`` re-raises.
    **kwargs
        Passed to :func:`load_survey_field`.
    """
    if on_error not in ("skip", "raise"):
        msg = f"The 'on_error' parameter must be 'skip' or 'raise'. Got {on_error!r}."
        raise ValueError(msg)
    for entry in fields:
        name = str(entry) if isinstance(entry, (str, Path)) else str(list(entry)[0])
        try:
            X, table, field = load_survey_field(entry, **kwargs)
        except (ValueError, OSError) as exc:
            if on_error == "raise":
                raise
            warnings.warn(f"Field {name!r} skipped: {exc}", UserWarning, stacklevel=2)
            continue
        yield field.name or name, X, table, field


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
bright point sources (:func:`~galaxy_learn.photometry.estimate_psf_fwhm`): the stellar locus is
the narrowest tight cluster of object sizes, which needs no labels.
"""
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

from ..photometry import estimate_psf_fwhm
from ._frame_files import (
    _PSF_KEYS,
    _frame_calibration,
    _frame_files,
    _frames_by_band,
    _positive_float,
    _read_frame,
)

__all__ = ["SurveyField", "iter_survey_fields", "load_survey_field"]


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
        :func:`~galaxy_learn.photometry.estimate_psf_fwhm` on the field's own point sources
        when stamps are cut).
    saturation : dict of str to float, default=None
        Pixel value at and above which a band saturates (None: unknown, nothing flagged).
    unit : str, default=None
        Pixel unit (``BUNIT``), recorded in the catalogue.
    zeropoint : dict of str to float, default=None
        AB magnitude zero point of each band, ``mag = zp - 2.5 log10(flux)`` (22.5 for
        nanomaggies); None or missing bands: unknown (magnitudes NaN).
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
                 saturation=None, unit=None, zeropoint=None, name=None):
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
        self.zeropoint = dict(zeropoint or {})
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
        found, wanted, name = _frames_by_band(_frame_files(paths), bands)
        images, wcs, psf, sat, units, zps = {}, {}, {}, {}, set(), {}
        given = dict(psf_fwhm or {})
        for b in wanted:
            img, header, w = _read_frame(found[b], b)
            images[b], wcs[b] = img, w
            arcsec = given.get(b, _positive_float(header, _PSF_KEYS))
            cal = _frame_calibration(header, w, arcsec)
            for values, value in ((psf, cal.psf_fwhm), (sat, cal.saturation), (zps, cal.zeropoint)):
                if value is not None:
                    values[b] = value
            if cal.unit:
                units.add(cal.unit)
        return cls(images, wcs, bands=wanted, reference_band=reference_band, psf_fwhm=psf,
                   saturation=sat, unit=units.pop() if len(units) == 1 else None,
                   zeropoint=zps, name=name)

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
    def detect(self, *, threshold=None, min_area=5, band=None):
        """Objects found on one band (default: the reference band).

        Uses :class:`~galaxy_learn.segmentation.HypercolumnSegmenter` at its default
        (``method="threshold"``): background and its RMS estimated and subtracted, matched-filter
        detection calibrated on the measured noise, deblending; NaN pixels masked.

        Parameters
        ----------
        threshold : float, default=None
            Peak detection threshold in sigma of the smoothed image (None: the segmenter's
            default, which keeps the expected number of noise detections on a whole SDSS
            frame below 0.1).
        min_area : int, default=5
        band : str, default=None

        Returns
        -------
        pandas.DataFrame
            ``x``, ``y`` (pixels of ``band``), ``ra``, ``dec``, ``flux`` (isophotal, image
            units), ``area``.
        """
        from ..segmentation import HypercolumnSegmenter

        band = self.reference_band if band is None else band
        seg = HypercolumnSegmenter(min_area=min_area)
        if threshold is not None:
            seg.set_params(threshold=threshold)
        image = self.images[band][None, None]
        cat, _ = seg.fit(image).detect(image)
        cat = cat[["x", "y", "flux", "area"]]
        ra, dec = self.pixel_to_world(cat["x"], cat["y"], band)
        cat = cat.copy()
        cat["ra"], cat["dec"] = ra, dec
        return cat

    def psf_fwhm_pixels(self, band, positions=None):
        """The PSF FWHM of ``band`` in its pixels: given / header, else measured on the field."""
        if band in self.psf_fwhm:
            return self.psf_fwhm[band]
        if positions is None:
            positions = self.detect(band=band)
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




def load_survey_field(paths, *, bands=None, positions=None, size=64, threshold=None,
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
    threshold : float, default=None
        Detection threshold (sigma); None: the segmenter's default (:meth:`SurveyField.detect`).
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
        for b in field.bands:  # on the detections when there are some, else detected anew
            if b not in field.psf_fwhm:
                field.psf_fwhm_pixels(b, detected)
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


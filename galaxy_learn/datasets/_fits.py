"""Multi-band FITS cutouts: :func:`load_fits_cutouts` (cube, one HDU or one file per band).

Band names come from the headers (``FILTER``, ``BAND``, ``BANDn`` ...), fluxes are converted to
nanomaggies from ``BUNIT``, and the PSF width is read from the first of :data:`PSF_KEYWORDS`.
"""
import re

import numpy as np
import pandas as pd

from ._files import _check_finite, _list_files, _map

__all__ = ["PSF_KEYWORDS", "load_fits_cutouts"]


_FITS_SUFFIX = r"\.(?:fits|fit|fts)(?:\.gz|\.fz)?$"
_UNIT_SCALE = {
    "nanomaggy": 1.0,
    "nanomaggies": 1.0,
    "nmgy": 1.0,
    "maggy": 1e9,
    "maggies": 1e9,
}


def _band_of(header):
    for key in ("FILTER", "BAND", "FILTNAM", "EXTNAME"):
        value = header.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _cube_band_names(header, n_planes):
    """Band of each cube plane from ``BAND0..BANDn`` or ``BANDS`` (Legacy Survey cutouts)."""
    if n_planes < 1:
        return None
    names = [header.get(f"BAND{k}") for k in range(n_planes)]
    if all(isinstance(n, str) and n.strip() for n in names):
        return [n.strip() for n in names]
    packed = header.get("BANDS")
    if isinstance(packed, str):
        packed = packed.replace(",", " ").split() if ("," in packed or " " in packed) else list(
            packed.strip()
        )
        if len(packed) == n_planes:
            return packed
    return None


def _unit_factor(bunit, convert_units):
    """Factor to nanomaggies for a BUNIT value (1 when unknown or conversion is off)."""
    if not convert_units or bunit is None:
        return 1.0
    return _UNIT_SCALE.get(bunit.strip().lower(), 1.0)


#: Header keywords read as the PSF FWHM of an image, first found wins (the unit is the file's:
#: arcsec for SEEING / PSF_FWHM in most survey cutouts; psf_rescale needs only consistency).
PSF_KEYWORDS = ("PSF_FWHM", "PSFFWHM", "PSFSIZE", "SEEING", "FWHM")


def _psf_of(*headers):
    """The PSF FWHM in the first header that has one of :data:`PSF_KEYWORDS`, else NaN."""
    for header in headers:
        for key in PSF_KEYWORDS:
            value = header.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return float(value)
    return float("nan")


def _read_fits_object(path, bands, layout, convert_units):
    """One multi-band object file (cube or one HDU per band) → (C, H, W), BUNIT, PSF FWHMs."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            hdus = [h for h in hdul if getattr(h, "data", None) is not None and h.is_image]
            if not hdus:
                msg = f"FITS file {str(path)!r} has no image data."
                raise ValueError(msg)
            primary = hdus[0]
            use_cube = layout == "cube" or (layout == "auto" and primary.data.ndim == 3)
            if use_cube:
                data = np.asarray(primary.data, dtype=np.float64)
                names = _cube_band_names(primary.header, data.shape[0] if data.ndim == 3 else 0)
                if data.ndim == 3 and names is not None:
                    missing = [b for b in bands if b not in names]
                    if missing:
                        msg = (
                            f"FITS file {str(path)!r} is missing band(s) {missing}: its cube "
                            f"holds bands {names}; pick them with bands=... (on the command "
                            "line: --bands)."
                        )
                        raise ValueError(msg)
                    data = data[[names.index(b) for b in bands]]
                if data.ndim != 3 or data.shape[0] != len(bands):
                    msg = (
                        f"FITS file {str(path)!r}: the cube has shape {data.shape}; expected "
                        f"({len(bands)}, height, width) for bands {bands!r}; give the file's "
                        "bands in order with bands=... (on the command line: --bands)."
                    )
                    raise ValueError(msg)
                bunit = primary.header.get("BUNIT")
                data = data * _unit_factor(bunit, convert_units)
                return data, bunit, [_psf_of(primary.header, hdul[0].header)] * len(bands)
            planes = [h for h in hdus if h.data.ndim == 2]
            if len(planes) == 1 and len(bands) > 1:  # a single-band image, e.g. one frame
                band = _band_of(planes[0].header)
                name = band if band is not None else "<band>"
                msg = (
                    f"FITS file {str(path)!r} holds a single 2-D image"
                    + (f" (band {band!r} from its header)" if band is not None else "")
                    + f" but bands {bands} were asked for: read it as one band with "
                    f"bands={name!r} (on the command line: --bands {name})."
                )
                raise ValueError(msg)
            named = {}
            for h in planes:
                band = _band_of(h.header)
                if band is not None and band in bands:
                    named[band] = h
            if len(named) == len(bands):
                ordered = [named[b] for b in bands]
            elif not named and len(planes) == len(bands):
                ordered = planes  # no band keywords: HDU order is band order
            else:
                missing = [b for b in bands if b not in named]
                msg = (
                    f"FITS file {str(path)!r} is missing band(s) {missing} (found "
                    f"{len(planes)} 2-D image HDU(s), band keywords {sorted(named)}); give "
                    "the file's bands in order with bands=... (on the command line: --bands)."
                )
                raise ValueError(msg)
            shapes = {h.data.shape for h in ordered}
            if len(shapes) != 1:
                msg = f"FITS file {str(path)!r}: bands have different sizes {sorted(shapes)}."
                raise ValueError(msg)
            units = [h.header.get("BUNIT", primary.header.get("BUNIT")) for h in ordered]
            data = np.stack(
                [
                    np.asarray(h.data, dtype=np.float64) * _unit_factor(u, convert_units)
                    for h, u in zip(ordered, units, strict=True)
                ]
            )
            return data, units[0], [_psf_of(h.header, hdul[0].header) for h in ordered]
    except (OSError, TypeError) as exc:
        msg = f"Could not read FITS file {str(path)!r}: {exc}"
        raise ValueError(msg) from exc


def _read_fits_plane(path, convert_units):
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            hdus = [h for h in hdul if getattr(h, "data", None) is not None and h.is_image]
            if not hdus or hdus[0].data.ndim != 2:
                shape = None if not hdus else hdus[0].data.shape
                msg = f"FITS file {str(path)!r} has no 2-D image (data shape {shape})."
                raise ValueError(msg)
            bunit = hdus[0].header.get("BUNIT")
            factor = _unit_factor(bunit, convert_units)
            data = np.asarray(hdus[0].data, dtype=np.float64) * factor
            return data, bunit, _psf_of(hdus[0].header)
    except (OSError, TypeError) as exc:
        msg = f"Could not read FITS file {str(path)!r}: {exc}"
        raise ValueError(msg) from exc


def _group_by_band(files, bands, band_pattern):
    regex = re.compile(band_pattern)
    groups = {}
    for f in files:
        m = regex.match(f.name)
        if m is None or m.group("band") not in bands:
            return None
        groups.setdefault(m.group("id"), {})[m.group("band")] = f
    return groups


def load_fits_cutouts(
    paths,
    *,
    bands="ugriz",
    layout="auto",
    band_pattern=None,
    convert_units=True,
    allow_nan=False,
    return_meta=True,
    n_jobs=None,
):
    """Load multi-band cutouts from FITS files (astropy.io.fits).

    Layouts:

    * ``"cube"``: one file per object, a 3-D ``(bands, height, width)`` cube in the first image
      HDU. Planes are matched to ``bands`` by the ``BAND0``, ``BAND1``, ... or ``BANDS``
      keywords when present (as in Legacy Survey cutouts, e.g. ``bands="grz"``), otherwise
      taken in order.
    * ``"mef"``: one file per object, one 2-D image HDU per band. Bands are identified by the
      ``FILTER``, ``BAND``, ``FILTNAM`` or ``EXTNAME`` keyword when present (values such as
      ``"g"``), otherwise by HDU order (which must then give exactly ``len(bands)`` planes).
      A file holding a single 2-D image (one frame) is one band: read it with one band name,
      e.g. ``bands="r"``; asking it for several bands raises an error that says so.
    * ``"per_band"``: one file per band and object, grouped by file name. The default pattern
      accepts ``{id}_{band}.fits``, ``{id}-{band}.fits`` and ``{id}.{band}.fits`` (also
      ``.fit``, ``.fts``, ``.gz``, ``.fz``), e.g. ``1237648720693755918_r.fits``.
    * ``"auto"``: ``"per_band"`` if every file name matches the band pattern with a band in
      ``bands``, otherwise per file: a cube if the first image HDU is 3-D, else ``"mef"``.

    Units: ``BUNIT`` is read where present. With ``convert_units`` data in maggies (``BUNIT``
    ``maggy``/``maggies``) are converted to nanomaggies; nanomaggies and unknown units are kept as
    they are. The BUNIT found is reported in ``meta["bunit"]``.

    PSF: where the headers carry the PSF width (the first of ``PSF_FWHM``, ``PSFFWHM``,
    ``PSFSIZE``, ``SEEING``, ``FWHM`` in the band's HDU, then the primary header), ``meta`` has
    ``psf_fwhm_<band>`` columns (NaN where a file has none), in the files' own unit — ready for
    ``VAEEncoder.fit(X, psf_fwhm=meta[[f"psf_fwhm_{b}" for b in bands]])`` and
    :func:`galaxy_learn.preprocessing.psf_rescale`, which need only one unit throughout.

    Parameters
    ----------
    paths : str, path or list of paths
        A directory (all ``*.fits*`` / ``*.fit`` / ``*.fts`` files), a glob pattern, or a list.
    bands : str or sequence of str, default="ugriz"
        Band names, in the order of the output band axis.
    layout : {"auto", "cube", "mef", "per_band"}, default="auto"
        File layout, see above.
    band_pattern : str, default=None
        Regular expression with named groups ``id`` and ``band`` matched against file names for
        ``"per_band"``; None uses the pattern described above.
    convert_units : bool, default=True
        Convert maggies to nanomaggies according to ``BUNIT``.
    allow_nan : bool, default=False
        Keep NaN/inf pixels instead of raising an error that names the file and counts them.
    return_meta : bool, default=True
        Whether to return the metadata DataFrame.
    n_jobs : int, default=None
        Reader threads.

    Returns
    -------
    X : ndarray of shape (n_objects, n_bands, height, width), float32
    meta : pandas.DataFrame
        ``id`` (file stem or grouped id), ``file`` (path; for ``per_band`` the paths joined by
        ``";"`` in band order), ``bunit``, and ``psf_fwhm_<band>`` when any header gives a PSF
        width. Only returned if ``return_meta``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from astropy.io import fits
    >>> from galaxy_learn.datasets import load_fits_cutouts
    >>> d = tempfile.mkdtemp()
    >>> fits.PrimaryHDU(np.ones((5, 8, 8), np.float32)).writeto(os.path.join(d, "obj1.fits"))
    >>> X, meta = load_fits_cutouts(d)
    >>> X.shape
    (1, 5, 8, 8)
    """
    bands = list(bands)
    if layout not in ("auto", "cube", "mef", "per_band"):
        msg = (
            "The 'layout' parameter must be 'auto', 'cube', 'mef' or 'per_band'. "
            f"Got {layout!r}."
        )
        raise ValueError(msg)
    files = _list_files(paths, ["*.fits", "*.fit", "*.fts", "*.fits.gz", "*.fits.fz"])
    pattern = band_pattern or (r"^(?P<id>.+)[_.\-](?P<band>[^_.\-]+)" + _FITS_SUFFIX)
    groups = None
    if layout in ("auto", "per_band"):
        groups = _group_by_band(files, bands, pattern)
        if groups is None and layout == "per_band":
            msg = (
                f"layout='per_band' but some file names do not match {pattern!r} with a band in "
                f"{bands}, e.g. {[f.name for f in files][:3]}."
            )
            raise ValueError(msg)

    if groups is not None:
        ids = sorted(groups)
        for obj_id in ids:
            missing = [b for b in bands if b not in groups[obj_id]]
            if missing:
                present = [str(p) for p in groups[obj_id].values()]
                msg = f"Object {obj_id!r} is missing band(s) {missing}: only {present} found."
                raise ValueError(msg)

        def read(obj_id):
            planes = [_read_fits_plane(groups[obj_id][b], convert_units) for b in bands]
            shapes = {p[0].shape for p in planes}
            if len(shapes) != 1:
                msg = (
                    f"Object {obj_id!r}: band files have different sizes {sorted(shapes)} "
                    f"({[str(groups[obj_id][b]) for b in bands]})."
                )
                raise ValueError(msg)
            return np.stack([p[0] for p in planes]), planes[0][1], [p[2] for p in planes]

        results = _map(read, ids, n_jobs)
        names = [";".join(str(groups[i][b]) for b in bands) for i in ids]
    else:
        ids = [re.sub(_FITS_SUFFIX, "", f.name) for f in files]
        results = _map(lambda f: _read_fits_object(f, bands, layout, convert_units), files, n_jobs)
        names = [str(f) for f in files]

    shape = results[0][0].shape
    for name, (data, _, _) in zip(names, results, strict=True):
        if data.shape != shape:
            msg = f"{name!r} has images of shape {data.shape}; {names[0]!r} has {shape}."
            raise ValueError(msg)
        _check_finite(data, f"FITS data {name!r}", allow_nan)
    X = np.stack([r[0] for r in results]).astype(np.float32)
    if not return_meta:
        return X
    meta = pd.DataFrame({"id": ids, "file": names, "bunit": [r[1] for r in results]})
    psf = np.array([r[2] for r in results], dtype=float)
    if np.isfinite(psf).any():
        for k, band in enumerate(bands):
            meta[f"psf_fwhm_{band}"] = psf[:, k]
    return X, meta

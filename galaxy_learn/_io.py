"""File input/output of the command line: gather cutouts from files and folders, write results.

Reading goes through ``galaxy_learn.datasets`` loaders for the survey formats; this module only
walks the paths given on the command line, reads them one file (or one per-band group) at a
time so that one bad file can be skipped and named, stacks what the loaders return, and writes
CSV, FITS and ``.npy`` outputs. Its messages speak to command-line users (they name flags such
as ``--fill-nan`` and ``--bands``).
"""
import dataclasses
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["TABLE_COLUMNS", "CutoutBatch", "TableWriter", "check_input_path", "check_output_path",
           "classification_table", "fill_nonfinite", "infer_bands", "read_cutout_batch",
           "read_cutouts", "read_field", "write_fits", "write_images", "write_table"]

_SUFFIXES = (".npy", ".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")
FITS_SUFFIXES = _SUFFIXES[1:]
#: Columns of the ``classify`` CSV, in this order for every input format: the input file, the
#: cutout's position in that file (0 for a one-object FITS file), its identifier (the FITS
#: object id, or the SDSS ``objID`` of structured ``.npy`` files; empty for plain arrays), the
#: label and the score. ``--psf`` appends ``psf_fwhm_<band>``.
TABLE_COLUMNS = ("file", "index", "id", "label", "score")
_BAND_KEYWORDS = ("FILTER", "BAND", "FILTNAM")
# {id}_{band}.fits, {id}-{band}.fits, {id}.{band}.fits: the default of load_fits_cutouts
_PER_BAND = re.compile(r"^(?P<id>.+)[_.\-](?P<band>[^_.\-]+)\.(?:fits|fit|fts)(?:\.gz|\.fz)?$",
                       re.IGNORECASE)
_DEFAULT_BANDS = "ugriz"
_CHUNK_ROWS = 512  # rows predicted and written at a time


def _is_cutout_file(path):
    name = path.name.lower()
    return any(name.endswith(s) for s in _SUFFIXES)


def _is_fits(path):
    return not path.name.lower().endswith(".npy")


def _expand(inputs):
    files = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _is_cutout_file(p))
            if not found:
                msg = f"Directory {str(path)!r} holds no .npy or .fits cutout file."
                raise FileNotFoundError(msg)
            files += found
        elif path.is_file():
            if not _is_cutout_file(path):
                msg = f"{str(path)!r} is neither a .npy nor a FITS file."
                raise ValueError(msg)
            files.append(path)
        else:
            msg = f"Input not found: {str(path)!r}."
            raise FileNotFoundError(msg)
    return files


def check_output_path(path, suffixes, *, what="output"):
    """Check an output path before any work: its extension, and that its folder exists.

    Parameters
    ----------
    path : path-like
        The file to be written.
    suffixes : tuple of str
        Accepted endings (lower case, with the dot).
    what : str, default="output"
        How to name the path in messages (e.g. ``"-o/--output"``).

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    if path.is_dir():
        msg = f"{what} {str(path)!r} is a directory; give a file name."
        raise IsADirectoryError(msg)
    if suffixes and not path.name.lower().endswith(tuple(suffixes)):
        msg = f"{what} {str(path)!r} must end in {' or '.join(suffixes)}."
        raise ValueError(msg)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        msg = f"{what} {str(path)!r}: the folder {str(parent)!r} does not exist; create it first."
        raise FileNotFoundError(msg)
    return path


def check_input_path(path, *, what, expected):
    """``Path(path)``, checked before reading: a directory raises ``IsADirectoryError`` (asking
    for ``expected``, e.g. ``"a FITS file"``), a missing path ``FileNotFoundError``; ``what``
    names the path in both messages (e.g. ``"Field"``, ``"Model file"``)."""
    path = Path(path)
    if path.is_dir():
        msg = f"{what} {str(path)!r} is a directory; give {expected}."
        raise IsADirectoryError(msg)
    if not path.exists():
        msg = f"{what} not found: {str(path)!r}."
        raise FileNotFoundError(msg)
    return path


def infer_bands(files):
    """Band names for FITS ``files`` when the user gave none.

    ``"ugriz"`` for files named by band (``{id}_{band}.fits`` with bands among u, g, r, i, z)
    and for multi-band files; for a file holding a single 2-D image, that one band, named by its
    ``FILTER`` (or ``BAND``, ``FILTNAM``) header keyword, else ``"image"``.
    """
    from astropy.io import fits

    fits_files = [Path(f) for f in files if _is_fits(Path(f))]
    if not fits_files:
        return _DEFAULT_BANDS
    matches = [_PER_BAND.match(f.name) for f in fits_files]
    if all(m is not None and m.group("band") in _DEFAULT_BANDS for m in matches):
        return _DEFAULT_BANDS
    try:
        with fits.open(fits_files[0], memmap=False) as hdul:
            images = [h for h in hdul if h.is_image and getattr(h, "data", None) is not None]
            if len(images) != 1 or images[0].data.ndim != 2:
                return _DEFAULT_BANDS
            for key in _BAND_KEYWORDS:
                value = images[0].header.get(key, hdul[0].header.get(key))
                if isinstance(value, str) and value.strip():
                    return [value.strip()]
            return ["image"]
    except Exception:  # noqa: BLE001 - an unreadable file is reported when it is read
        return _DEFAULT_BANDS


def fill_nonfinite(X):
    """A copy of ``X`` with each NaN/inf pixel replaced by the median of the finite pixels of
    its cutout and band (0 where a band has none)."""
    X = np.array(X, dtype=np.float32, copy=True)
    bad = ~np.isfinite(X)
    if not bad.any():
        return X
    for i, b in zip(*np.nonzero(bad.any(axis=(2, 3))), strict=True):
        plane = X[i, b]
        good = np.isfinite(plane)
        plane[~good] = np.median(plane[good]) if good.any() else 0.0
    return X


def _units(files, bands):
    """Groups of files read together: one per .npy / FITS file, or one per object when FITS
    files are named by band (``{id}_{band}.fits``, several bands)."""
    npy = [[f] for f in files if not _is_fits(f)]
    fits_files = [f for f in files if _is_fits(f)]
    matches = [_PER_BAND.match(f.name) for f in fits_files]
    if len(bands) > 1 and fits_files and all(m is not None and m.group("band") in bands
                                             for m in matches):
        groups = {}
        for f, m in zip(fits_files, matches, strict=True):
            groups.setdefault(str(f.parent / m.group("id")), []).append(f)
        return npy + [groups[k] for k in sorted(groups)]
    return npy + [[f] for f in fits_files]


def _read_unit(unit, *, allow_pickle, bands, fill_nan):
    """Read one unit → (X, index) with the columns ``file``, ``index``, ``id`` (+ PSF widths)."""
    from .datasets import load_fits_cutouts, load_sdss_npy
    from .utils import looks_channel_last

    name = ";".join(str(f) for f in unit)
    if _is_fits(unit[0]):
        # astropy warns before it fails on a truncated file: the warning becomes part of the
        # error (and, where warnings are errors, the file is not left open mid-read)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                X, meta = load_fits_cutouts(unit, bands=bands, allow_nan=True)
            except Exception as exc:
                notes = "; ".join(dict.fromkeys(str(w.message) for w in caught))
                msg = f"{exc}" + (f" ({notes})" if notes else "")
                raise ValueError(msg) from exc
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        index = pd.DataFrame({"file": meta["file"], "index": 0, "id": meta["id"].astype(str)})
    else:
        X, y, meta = load_sdss_npy(unit, allow_pickle=allow_pickle, image_shape=None,
                                   allow_nan=True)
        X = np.asarray(X)
        if X.ndim == 4 and looks_channel_last(X.shape):
            msg = (
                f"{name!r} holds channel-last images of shape {X.shape[1:]} (height, width, "
                "channels); save them as (n, bands, height, width), e.g. "
                "np.save(path, np.moveaxis(X, -1, 1))."
            )
            raise ValueError(msg)
        if y is not None:
            meta = meta.assign(**{"class": y})
        ids = meta["objID"].astype(str).to_numpy() if "objID" in meta.columns else ""
        index = pd.DataFrame({"file": meta["file"].astype(str).to_numpy(),
                              "index": meta["index_in_file"].to_numpy(), "id": ids})
    # what else the loader reports (objID, class, z, bunit, psf_fwhm_<band>) follows
    for col in meta.columns:
        if col not in ("file", "id", "index_in_file"):
            index[col] = meta[col].to_numpy()
    n_bad = int(np.count_nonzero(~np.isfinite(X)))
    if n_bad:
        if not fill_nan:
            n_cut = int((~np.isfinite(X)).reshape(len(X), -1).any(axis=1).sum())
            msg = (
                f"{name!r} has {n_bad} NaN/inf pixel value(s) in {n_cut} cutout(s); pass "
                "--fill-nan to replace them by the median of their cutout and band."
            )
            raise ValueError(msg)
        X = fill_nonfinite(X)
    return np.asarray(X, dtype=np.float32), index


@dataclasses.dataclass
class CutoutBatch:
    """Cutouts read from many files, with the files that could not be read.

    Attributes
    ----------
    X : ndarray of shape (n_samples, bands, height, width), float32
    index : pandas.DataFrame
        One row per cutout: ``file``, ``index``, ``id``, then what the loaders report
        (``objID``, ``class``, ``z``, ``bunit``, ``psf_fwhm_<band>``...).
    failed : list of (str, str)
        ``(file, reason)`` of each file skipped.
    units : list of (int, int)
        ``(start, stop)`` rows of each file (or per-band group) read, in order.
    bands : list of str
        The band names used for the FITS inputs.
    """

    X: np.ndarray
    index: pd.DataFrame
    failed: list
    units: list
    bands: list

    def chunks(self, rows=None):
        """``(start, stop)`` row ranges of whole files, about ``rows`` rows each (default 512)."""
        rows = _CHUNK_ROWS if rows is None else rows
        out, start, stop = [], None, None
        for a, b in self.units:
            if start is None:
                start = a
            stop = b
            if stop - start >= rows:
                out.append((start, stop))
                start = None
        if start is not None:
            out.append((start, stop))
        return out


def read_cutout_batch(inputs, *, allow_pickle=False, bands=None, fill_nan=False,
                      on_error="raise"):
    """Read cutouts file by file; with ``on_error="skip"`` a bad file is recorded, not fatal.

    Parameters
    ----------
    inputs : list of path-like
        Files or folders (searched recursively for ``.npy`` and FITS files).
    allow_pickle : bool, default=False
        Whether ``.npy`` files holding object arrays may be read (unpickling runs code).
    bands : str or list of str, default=None
        Band names of the FITS inputs, in output order; None infers them
        (:func:`infer_bands`).
    fill_nan : bool, default=False
        Replace NaN/inf pixels (:func:`fill_nonfinite`) instead of failing the file.
    on_error : {"raise", "skip"}, default="raise"
        What a file that cannot be read does: raise, or go to ``failed``.

    Returns
    -------
    batch : CutoutBatch
    """
    if on_error not in ("raise", "skip"):
        msg = f"The 'on_error' parameter must be 'raise' or 'skip'. Got {on_error!r}."
        raise ValueError(msg)
    files = _expand(inputs)
    bands = list(infer_bands(files) if bands is None else bands)
    stacks, indexes, failed, units = [], [], [], []
    n = 0
    for unit in _units(files, bands):
        name = ";".join(str(f) for f in unit)
        try:
            X, index = _read_unit(unit, allow_pickle=allow_pickle, bands=bands,
                                  fill_nan=fill_nan)
            if stacks and X.shape[1:] != stacks[0].shape[1:]:
                msg = (
                    f"{name!r} holds cutouts of shape {X.shape[1:]} but {indexes[0]['file'][0]!r} "
                    f"{stacks[0].shape[1:]}; all inputs must share bands and size."
                )
                raise ValueError(msg)
        except Exception as exc:  # noqa: BLE001 - a corrupt file can raise anything
            if on_error == "raise":
                if isinstance(exc, (ValueError, OSError)):
                    raise
                msg = f"Could not read {name!r}: {type(exc).__name__}: {exc}"
                raise ValueError(msg) from exc
            failed.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        stacks.append(X)
        indexes.append(index)
        units.append((n, n + len(X)))
        n += len(X)
    if not stacks:
        X = np.zeros((0,), dtype=np.float32)
        index = pd.DataFrame(columns=list(TABLE_COLUMNS[:3]))
    else:
        X = stacks[0] if len(stacks) == 1 else np.concatenate(stacks)
        index = pd.concat(indexes, ignore_index=True)
    return CutoutBatch(X=X, index=index, failed=failed, units=units, bands=bands)


def read_cutouts(inputs, *, allow_pickle=False, bands=None, fill_nan=False):
    """Read cutouts from files and folders into one float32 stack, with a per-cutout index.

    ``.npy`` files go through :func:`galaxy_learn.datasets.load_sdss_npy` (the SDSS structured
    format, or plain numeric stacks), FITS files through
    :func:`galaxy_learn.datasets.load_fits_cutouts` (a cube, one extension per band, one file
    per band, or one 2-D image as one band). The first file that cannot be read raises.

    Returns
    -------
    X : ndarray of shape (n_samples, bands, height, width), float32
    index : pandas.DataFrame
        One row per cutout: ``file``, ``index`` (position in the file), ``id``, then what the
        loaders report (``objID``, ``class``, ``z``, ``bunit``, ``psf_fwhm_<band>``...).
    """
    batch = read_cutout_batch(inputs, allow_pickle=allow_pickle, bands=bands,
                              fill_nan=fill_nan, on_error="raise")
    return batch.X, batch.index


def read_field(path, *, bands=None, fill_nan=False):
    """Read a FITS field ``(bands, height, width)`` (a cube, one extension per band, or one
    2-D image as one band)."""
    from .datasets import load_fits_cutouts

    path = check_input_path(path, what="Field", expected="a FITS file")
    bands = infer_bands([path]) if bands is None else bands
    X, _ = load_fits_cutouts([path], bands=bands, allow_nan=True)
    n_bad = int(np.count_nonzero(~np.isfinite(X)))
    if n_bad and not fill_nan:
        msg = (
            f"Field {str(path)!r} has {n_bad} NaN/inf pixel value(s); pass --fill-nan to "
            "replace them by the median of their band."
        )
        raise ValueError(msg)
    return fill_nonfinite(X)[0] if n_bad else X[0]


def classification_table(model, X, index, *, psf_bands=(), **params):
    """Rows of the ``classify`` CSV: :data:`TABLE_COLUMNS`, then ``psf_fwhm_<band>`` for
    ``psf_bands``. ``params`` (e.g. ``psf_fwhm``) go to ``predict`` and ``decision_function``.
    """
    table = index[list(TABLE_COLUMNS[:3])].copy()
    table["label"] = model.predict(X, **params)
    if hasattr(model, "decision_function"):
        table["score"] = np.asarray(model.decision_function(X, **params), dtype=np.float64)
    else:
        table["score"] = np.nan
    for band in psf_bands:
        table[f"psf_fwhm_{band}"] = index[f"psf_fwhm_{band}"].to_numpy()
    return table


class TableWriter:
    """A CSV written as rows are produced: the header at once, then each block appended and
    flushed, so an interrupted run keeps every finished row."""

    def __init__(self, path, columns):
        self.path = Path(path)
        self.columns = list(columns)
        self._fh = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        pd.DataFrame(columns=self.columns).to_csv(self._fh, index=False)
        self._fh.flush()
        self.n_rows = 0

    def write(self, table):
        table[self.columns].to_csv(self._fh, index=False, header=False)
        self._fh.flush()
        self.n_rows += len(table)

    def close(self):
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_table(table, path):
    """Write ``table`` as CSV to ``path`` (its folder must exist)."""
    path = Path(path)
    table.to_csv(path, index=False)
    return path


def write_fits(data, path, *, header=None):
    """Write ``data`` as a FITS primary image (the folder of ``path`` must exist)."""
    from astropy.io import fits

    path = Path(path)
    hdu = fits.PrimaryHDU(np.asarray(data))
    for key, value in (header or {}).items():
        hdu.header[key] = value
    hdu.writeto(path, overwrite=True)
    return path


def write_images(images, path):
    """Write an image stack as ``.npy`` or FITS, chosen by the extension."""
    path = check_output_path(path, (".npy",) + FITS_SUFFIXES)
    if path.name.lower().endswith(".npy"):
        np.save(path, np.asarray(images, dtype=np.float32))
        return path
    return write_fits(np.asarray(images, dtype=np.float32), path)

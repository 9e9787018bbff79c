"""File input/output of the command line: gather cutouts from files and folders, write results.

Reading goes through ``galaxy_learn.datasets`` loaders for the survey formats; this module only
walks the paths given on the command line, stacks what the loaders return, and writes CSV, FITS
and ``.npy`` outputs.
"""
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["classification_table", "read_cutouts", "read_field", "write_fits", "write_images",
           "write_table"]

_SUFFIXES = (".npy", ".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")


def _is_cutout_file(path):
    name = path.name.lower()
    return any(name.endswith(s) for s in _SUFFIXES)


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


def _as_stack(images, path):
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None, None]
    elif images.ndim == 3:
        images = images[None]
    if images.ndim != 4:
        msg = (
            f"{str(path)!r} holds an array of shape {images.shape}; expected one cutout "
            "(bands, height, width) or a stack (n, bands, height, width)."
        )
        raise ValueError(msg)
    return images


def _read_npy(path, allow_pickle):
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" not in str(exc) and "Python objects" not in str(exc):
            msg = f"Could not read {str(path)!r}: {exc}"
            raise ValueError(msg) from exc
        if not allow_pickle:
            msg = (
                f"{str(path)!r} holds Python objects (e.g. the SDSS structured format with "
                "'objID', 'image', 'class'); reading it unpickles data, which can run code from "
                "the file. Pass --allow-pickle (allow_pickle=True) only for files you trust."
            )
            raise ValueError(msg) from exc
        arr = np.load(path, allow_pickle=True)
    meta = {}
    if arr.dtype.names is not None:
        if "image" not in arr.dtype.names:
            msg = f"{str(path)!r} is a structured array without an 'image' field: {arr.dtype.names}."
            raise ValueError(msg)
        recs = np.atleast_1d(arr)
        images = np.stack([np.asarray(r, dtype=np.float32) for r in recs["image"]])
        for field in arr.dtype.names:
            if field != "image":
                meta[field] = [r.item() if hasattr(r, "item") else r for r in recs[field]]
        return _as_stack(images, path), meta
    return _as_stack(arr, path), meta


def _read_fits(path):
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            hdus = [h for h in hdul if getattr(h, "data", None) is not None and h.data.ndim >= 2]
            if not hdus:
                msg = f"{str(path)!r} has no image extension."
                raise ValueError(msg)
            if len(hdus) == 1:
                data = np.asarray(hdus[0].data, dtype=np.float32)
            else:  # one extension per band
                shapes = {h.data.shape for h in hdus}
                if len(shapes) != 1:
                    msg = f"{str(path)!r} has image extensions of different shapes: {shapes}."
                    raise ValueError(msg)
                data = np.stack([np.asarray(h.data, dtype=np.float32) for h in hdus])
    except OSError as exc:
        msg = f"Could not read FITS file {str(path)!r}: {exc}"
        raise ValueError(msg) from exc
    return _as_stack(data, path), {}


def read_cutouts(inputs, *, allow_pickle=False):
    """Read cutouts from files and folders into one float32 stack, with a per-cutout index.

    Parameters
    ----------
    inputs : list of path-like
        ``.npy`` files (a numeric stack, one cutout, or the SDSS structured format), FITS files
        (one image HDU with a cutout or a stack, or one extension per band), or folders of them.
    allow_pickle : bool, default=False
        Whether ``.npy`` files holding object arrays may be read (unpickling runs code).

    Returns
    -------
    X : ndarray of shape (n_samples, bands, height, width), float32
    index : pandas.DataFrame
        ``file`` and ``index`` (position in its file) per cutout, plus any catalogue fields of
        the structured format (``objID``, ``class``, ``z``).
    """
    stacks, rows = [], []
    for path in _expand(inputs):
        if path.name.lower().endswith(".npy"):
            images, meta = _read_npy(path, allow_pickle)
        else:
            images, meta = _read_fits(path)
        if stacks and images.shape[1:] != stacks[0].shape[1:]:
            msg = (
                f"{str(path)!r} holds cutouts of shape {images.shape[1:]} but earlier files hold "
                f"{stacks[0].shape[1:]}; all inputs must share bands and size."
            )
            raise ValueError(msg)
        stacks.append(np.asarray(images, dtype=np.float32))
        for i in range(len(images)):
            row = {"file": str(path), "index": i}
            row.update({k: v[i] for k, v in meta.items()})
            rows.append(row)
    return np.concatenate(stacks), pd.DataFrame(rows)


def read_field(path):
    """Read a FITS field ``(bands, height, width)`` (2-D images are one band), float32."""
    path = Path(path)
    if not path.is_file():
        msg = f"Field not found: {str(path)!r}."
        raise FileNotFoundError(msg)
    data, _ = _read_fits(path)
    if len(data) != 1:
        msg = f"{str(path)!r} holds {len(data)} images; a field is one (bands, height, width) image."
        raise ValueError(msg)
    return data[0]


def classification_table(model, X, index):
    """One row per cutout: the index columns, ``label`` and ``score`` (the decision function)."""
    table = index.copy()
    table["label"] = model.predict(X)
    if hasattr(model, "decision_function"):
        table["score"] = np.asarray(model.decision_function(X), dtype=np.float64)
    return table


def write_table(table, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def write_fits(data, path, *, header=None):
    from astropy.io import fits

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    hdu = fits.PrimaryHDU(np.asarray(data))
    for key, value in (header or {}).items():
        hdu.header[key] = value
    hdu.writeto(path, overwrite=True)
    return path


def write_images(images, path):
    """Write an image stack as ``.npy`` or FITS, chosen by the extension."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".npy"):
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(images, dtype=np.float32))
        return path
    if any(name.endswith(s) for s in _SUFFIXES[1:]):
        return write_fits(np.asarray(images, dtype=np.float32), path)
    msg = f"Output {str(path)!r} must end in .npy or .fits."
    raise ValueError(msg)

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


def read_cutouts(inputs, *, allow_pickle=False, bands="ugriz", lazy=False):
    """Read cutouts from files and folders into one float32 stack, with a per-cutout index.

    ``.npy`` files go through :func:`galaxy_learn.datasets.load_sdss_npy` (the SDSS structured
    format, or plain numeric stacks), FITS files through
    :func:`galaxy_learn.datasets.load_fits_cutouts` (a cube, one extension per band, or one file
    per band).

    Parameters
    ----------
    inputs : list of path-like
        Files or folders (searched recursively for ``.npy`` and FITS files).
    allow_pickle : bool, default=False
        Whether ``.npy`` files holding object arrays may be read (unpickling runs code).
    bands : str, default="ugriz"
        Band names of the FITS inputs, in output order.
    lazy : bool, default=False
        Return the ``.npy`` images as a read-only memmap cache (bounded memory).

    Returns
    -------
    X : ndarray of shape (n_samples, bands, height, width), float32
    index : pandas.DataFrame
        One row per cutout: ``file`` plus what the loader reports (``objID``, ``class``, ``z``,
        ``index_in_file``, ``id``, ``bunit``).
    """
    from .datasets import load_fits_cutouts, load_sdss_npy

    files = _expand(inputs)
    npy = [f for f in files if f.name.lower().endswith(".npy")]
    fits = [f for f in files if not f.name.lower().endswith(".npy")]
    stacks, metas = [], []
    if npy:
        X, y, meta = load_sdss_npy(npy, allow_pickle=allow_pickle, image_shape=None, lazy=lazy)
        if y is not None:
            meta = meta.assign(**{"class": y})
        stacks.append(X)
        metas.append(meta)
    if fits:
        X, meta = load_fits_cutouts(fits, bands=bands)
        stacks.append(X)
        metas.append(meta)
    if len(stacks) == 2 and stacks[0].shape[1:] != stacks[1].shape[1:]:
        msg = (
            f"The .npy inputs hold cutouts of shape {stacks[0].shape[1:]} but the FITS inputs "
            f"{stacks[1].shape[1:]}; all inputs must share bands and size."
        )
        raise ValueError(msg)
    X = stacks[0] if len(stacks) == 1 else np.concatenate(stacks)
    index = pd.concat(metas, ignore_index=True)
    front = [c for c in ("file", "index_in_file", "id", "objID") if c in index.columns]
    return X, index[front + [c for c in index.columns if c not in front]]


def read_field(path, *, bands="ugriz"):
    """Read a FITS field ``(bands, height, width)`` (a cube or one extension per band)."""
    from .datasets import load_fits_cutouts

    path = Path(path)
    if not path.is_file():
        msg = f"Field not found: {str(path)!r}."
        raise FileNotFoundError(msg)
    X, _ = load_fits_cutouts([path], bands=bands)
    return X[0]


def classification_table(model, X, index, **params):
    """One row per cutout: the index columns, ``label`` and ``score`` (the decision function).

    ``params`` (e.g. ``psf_fwhm``) are passed to ``predict`` and ``decision_function``.
    """
    table = index.copy()
    table["label"] = model.predict(X, **params)
    if hasattr(model, "decision_function"):
        table["score"] = np.asarray(model.decision_function(X, **params), dtype=np.float64)
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

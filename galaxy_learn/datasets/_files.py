"""What every survey reader shares: listing input files, a thread-pool map, pixel checks.

The readers (:mod:`._sdss`, :mod:`._fits`, :mod:`._galaxy_zoo`) return images as float32 arrays
``(n_samples, bands, height, width)`` and a pandas DataFrame with one row per image; any bad file
(truncated, wrong shape, missing band, NaN pixels, unreadable) raises an error that names it.
"""
import fnmatch
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

def _n_threads(n_jobs):
    if n_jobs is None:
        return min(4, os.cpu_count() or 1)
    if int(n_jobs) < 1:
        msg = f"The 'n_jobs' parameter must be a positive integer or None. Got {n_jobs!r}."
        raise ValueError(msg)
    return int(n_jobs)


def _map(fn, items, n_jobs):
    """``list(map(fn, items))`` on a thread pool (file reads and decoders release the GIL)."""
    threads = _n_threads(n_jobs)
    if threads == 1 or len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(fn, items))


def _list_files(path_or_files, patterns):
    """Sorted files from a directory, a glob pattern, a single file or a list of paths."""
    if isinstance(path_or_files, (str, os.PathLike)):
        path = Path(path_or_files)
        if path.is_dir():
            names = sorted(
                {e.name for e in os.scandir(path) if e.is_file() and _matches(e.name, patterns)}
            )
            files = [path / name for name in names]
        elif path.is_file():
            files = [path]
        elif any(ch in str(path) for ch in "*?["):
            files = sorted(Path(p) for p in _glob(str(path)))
        else:
            msg = f"No such file or directory: {str(path)!r}."
            raise FileNotFoundError(msg)
    else:
        files = [Path(p) for p in path_or_files]
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            msg = f"{len(missing)} file(s) not found, e.g. {missing[0]!r}."
            raise FileNotFoundError(msg)
    if not files:
        msg = f"No files matching {patterns} found in {str(path_or_files)!r}."
        raise FileNotFoundError(msg)
    return files


def _matches(name, patterns):
    return any(fnmatch.fnmatchcase(name, pat) for pat in patterns)


def _glob(pattern):
    import glob

    return [p for p in glob.glob(pattern) if os.path.isfile(p)]


def _check_finite(images, where, allow_nan):
    """Raise naming ``where`` and counting non-finite pixels, unless ``allow_nan``."""
    if allow_nan:
        return
    n_bad = int(np.count_nonzero(~np.isfinite(images)))
    if n_bad:
        msg = (
            f"{where} contains {n_bad} NaN/inf pixel value(s). Pass allow_nan=True to keep them "
            "(and fill later, e.g. ImageScaler(nan_policy='fill'))."
        )
        raise ValueError(msg)


def _as_str(value):
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("ascii", errors="replace")
    return str(value).strip().strip("\x00")

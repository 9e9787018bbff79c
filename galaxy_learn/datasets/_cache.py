"""The on-disk cache of a lazy load: one consolidated float32 ``.npy`` array and its metadata.

A reader that streams many small files (``load_sdss_npy(lazy=True)``) writes their images once
into a single ``.npy`` file opened as a read-only memory map afterwards. The cache is named after
two keys: the *dataset* (file list and reading options) and its *version* (file sizes and
modification times). A later call with unchanged files finds it by checking sizes and times only;
when files change, the next build replaces the stale version of the same dataset. The array is
written under a temporary name and renamed when complete, so an interrupted build never leaves a
half-written cache behind that a later call would trust.
"""
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["ArrayCache"]


def _cache_key(files, options):
    """(dataset key: file list + options, version key: sizes and modification times)."""
    dataset = hashlib.sha1(json.dumps(options, sort_keys=True).encode())
    version = hashlib.sha1()
    for f in files:
        st = os.stat(f)
        dataset.update(f"{os.path.abspath(f)}\n".encode())
        version.update(f"{st.st_size}|{st.st_mtime_ns}\n".encode())
    return dataset.hexdigest()[:12], version.hexdigest()[:12]


class ArrayCache:
    """The cache of one dataset version: ``<base>.npy`` (images) and ``<base>.meta.npz``.

    Parameters
    ----------
    cache_dir : str, path or None
        Folder of the cache files; None uses ``<system temp>/galaxy_learn_cache``.
    prefix : str
        Name of the reader (e.g. ``"sdss_npy"``), the first part of every file name.
    files : list of path
        The input files (their paths, sizes and modification times key the cache).
    options : dict
        Reading options that change the result (JSON-serialisable).
    """

    def __init__(self, cache_dir, prefix, files, options):
        self.cache_dir = Path(cache_dir or Path(tempfile.gettempdir()) / "galaxy_learn_cache")
        self.prefix = prefix
        self.dataset_key, version_key = _cache_key(files, options)
        self.base = self.cache_dir / f"{prefix}_{self.dataset_key}_{version_key}"
        self._tmp_path = f"{self.base}.{os.getpid()}.tmp.npy"

    def load(self):
        """``(X, columns)`` from a complete cache (``X`` a read-only memmap), else None."""
        if not (Path(f"{self.base}.npy").is_file() and Path(f"{self.base}.meta.npz").is_file()):
            return None
        X = np.load(f"{self.base}.npy", mmap_mode="r")
        with np.load(f"{self.base}.meta.npz", allow_pickle=False) as meta_npz:
            columns = {k[len("col_") :]: meta_npz[k] for k in meta_npz.files}
        return X, columns

    def create(self, shape):
        """A writable float32 memmap of ``shape`` under a temporary name (this process's)."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return np.lib.format.open_memmap(self._tmp_path, mode="w+", dtype=np.float32, shape=shape)

    def discard(self):
        """Delete the temporary array of a build that failed."""
        Path(self._tmp_path).unlink(missing_ok=True)

    def commit(self, columns):
        """Publish the array written since :meth:`create` with its metadata ``columns`` (dict of
        plain numpy arrays); delete the older versions of the dataset; return :meth:`load`.

        The caller flushes and drops its memmap of the temporary array first.
        """
        np.savez(f"{self.base}.meta.npz", **{f"col_{k}": v for k, v in columns.items()})
        os.replace(self._tmp_path, f"{self.base}.npy")
        self._remove_stale()
        return self.load()

    def _remove_stale(self):
        """Delete older versions of the same dataset's cache (files changed since)."""
        keep = self.base.name + "."
        for old in self.cache_dir.glob(f"{self.prefix}_{self.dataset_key}_*"):
            if old.name.startswith(keep) or ".tmp." in old.name:
                continue
            try:
                old.unlink()
            except OSError:  # pragma: no cover - e.g. still mapped on Windows
                pass

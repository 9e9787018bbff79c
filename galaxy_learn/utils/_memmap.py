"""Streaming over memory-mapped arrays with bounded resident memory.

Reading a ``numpy.memmap`` maps the file's pages into the process: after one pass over an 8 GB
file the process's RSS counts ~8 GB of (reclaimable, file-backed) pages. :func:`iter_chunks`
hands out one chunk at a time and, for read-only or shared (``mode="r"`` / ``"r+"``) memmaps,
tells the kernel after each chunk that its pages are no longer needed (``madvise(MADV_DONTNEED)``),
so the RSS stays at about one chunk. The data stay in the page cache; nothing is lost (pages of a
copy-on-write ``mode="c"`` map are never released, as that would discard the caller's edits).
"""
import mmap

import numpy as np

__all__ = ["iter_chunks", "release_pages"]

_PAGE = mmap.PAGESIZE


def _backing_memmap(arr):
    """The ``numpy.memmap`` ``arr`` is a view of, or None."""
    obj = arr
    while obj is not None:
        if isinstance(obj, np.memmap) and isinstance(getattr(obj, "_mmap", None), mmap.mmap):
            return obj
        obj = getattr(obj, "base", None)
    return None


def release_pages(view):
    """Drop the resident pages that ``view`` (a slice of a read-only/shared memmap) spans.

    A no-op for in-memory arrays, copy-on-write maps, or platforms without ``madvise``. Returns
    whether pages were released.
    """
    mm_arr = _backing_memmap(view)
    if mm_arr is None or getattr(mm_arr, "mode", None) not in ("r", "r+", "w+"):
        return False
    mm = mm_arr._mmap  # numpy's handle on the mapping (stable since numpy 1.x)
    if not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED") or view.nbytes == 0:
        return False
    base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    start = view.ctypes.data - base
    stop = start + view.nbytes
    if not 0 <= start < stop <= len(mm):  # pragma: no cover - a strided view outside the map
        return False
    start_page = start - start % _PAGE
    stop_page = min(len(mm), stop + (-stop) % _PAGE)
    mm.madvise(mmap.MADV_DONTNEED, start_page, stop_page - start_page)
    return True


def iter_chunks(X, chunk_size, *, dtype=None):
    """Yield ``(start, chunk)`` over the first axis of ``X``, each chunk an in-memory copy.

    Parameters
    ----------
    X : array-like, possibly a numpy.memmap
        Any object with ``len`` and slicing (a memmap, an h5py/zarr dataset, an ndarray).
    chunk_size : int
        Rows per chunk.
    dtype : numpy dtype, default=None
        Convert each chunk to this dtype (a fresh, writable array).

    Yields
    ------
    start : int
        Index of the chunk's first row.
    chunk : ndarray
        ``np.array(X[start:start + chunk_size], dtype=dtype)``, always a copy, never a view of
        the caller's data.
    """
    n = len(X)
    for start in range(0, n, chunk_size):
        view = X[start:start + chunk_size]
        chunk = np.array(view, dtype=dtype, copy=True)
        if isinstance(view, np.ndarray):
            release_pages(view)
        yield start, chunk

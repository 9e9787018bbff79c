"""SDSS cutouts stored as ``.npy`` record files: :func:`load_sdss_npy`.

Two passes over the files: a scan of each header and its small fields (:mod:`._npy`), then the
images read straight into one float32 array -- in memory, or with ``lazy=True`` into the on-disk
cache of :mod:`._cache` returned as a memory map.
"""
import numpy as np
import pandas as pd

from ._cache import ArrayCache
from ._files import _as_str, _check_finite, _list_files, _map
from ._npy import _records, _scan_npy

__all__ = ["load_sdss_npy"]


def load_sdss_npy(
    path_or_dir,
    *,
    allow_pickle=False,
    lazy=False,
    classes=None,
    return_meta=True,
    image_shape=(5, 64, 64),
    allow_nan=False,
    pattern="*.npy",
    cache_dir=None,
    n_jobs=None,
):
    """Load SDSS cutouts stored as ``.npy`` record files (the sets of Sun et al. 2017).

    Labeled format: each file holds a structured array (1 or more objects) with fields
    ``('objID', 'image', 'class', 'z')``, ``image`` of shape ``(5, 64, 64)`` with bands
    u, g, r, i, z (nanomaggies) and ``class`` one of ``'STAR'``, ``'GALAXY'``, ``'QSO'`` (str or
    bytes). Unlabeled format: a structured array with the ``image`` field only, one object per file
    (0-d or length 1). Plain numeric arrays ``(C, H, W)`` / ``(k, C, H, W)`` are read as unlabeled
    images too. All files must share the same fields and image shape.

    Parameters
    ----------
    path_or_dir : str, path or list of paths
        A directory (all files matching ``pattern``, sorted by name), a glob pattern, one file, or
        a list of files (read in the given order).
    allow_pickle : bool, default=False
        Whether object arrays may be read. Structured arrays with fixed-size fields (``'<U6'``
        class, ``'<f4'`` image) load without pickle. Object arrays (Python objects inside, e.g.
        a class stored as a Python str object) can only be read by unpickling, which executes
        code stored in the file: a file from an untrusted source could run anything. They are
        refused with an error naming the file unless you opt in.
    lazy : bool, default=False
        If True, the images are streamed into a consolidated float32 ``.npy`` cache file in
        ``cache_dir`` and returned as a read-only ``numpy.memmap`` (memory stays bounded; any
        estimator that indexes batches, e.g. ``ImageScaler``, ``VAEEncoder.transform``, reads
        only what it needs). The cache is keyed by the file list, sizes, modification times and
        options, and reused on the next call (then only file sizes and times are checked: under
        a second for 20,000 files in our benchmark). When files change, the next call rebuilds
        it and deletes the stale version; delete ``cache_dir`` to reclaim the space of datasets
        you no longer use.
    classes : sequence of str, default=None
        Keep only objects of these classes (e.g. ``("STAR", "GALAXY")``); None keeps all.
    return_meta : bool, default=True
        Whether to return the metadata DataFrame.
    image_shape : tuple of int or None, default=(5, 64, 64)
        Expected ``(bands, height, width)`` of every image; None accepts the shape of the first
        file (all files must still agree).
    allow_nan : bool, default=False
        By default a NaN/inf pixel raises an error naming the file and the count; True keeps
        them (fill later with ``ImageScaler(nan_policy="fill")``).
    pattern : str, default="\\*.npy"
        Glob pattern for files in a directory.
    cache_dir : str or path, default=None
        Directory of the ``lazy`` cache; default ``<system temp>/galaxy_learn_cache``.
    n_jobs : int, default=None
        Reader threads. None means 1: reading .npy files is bound by page faults on the output
        array, and on a 2-core machine one thread was faster than several (measured times in the
        user guide, "Loading survey data and scaling images").

    Returns
    -------
    X : ndarray of shape (n_samples, bands, height, width), float32
        Images (a read-only ``numpy.memmap`` if ``lazy``).
    y : ndarray of str of shape (n_samples,) or None
        Class labels, None for the unlabeled format.
    meta : pandas.DataFrame
        One row per image: ``objID`` and ``z`` (when present), ``file`` (path) and
        ``index_in_file``. Only returned if ``return_meta``.

    References
    ----------
    H. Sun, E. J. Kim, S. Li and R. J. Brunner, "Unsupervised star-galaxy segmentation and
    classification", summary report, LCDM, University of Illinois at Urbana-Champaign (2017),
    "Dataset": the labeled set (140,000 images in 20,000 files) and the unlabeled set
    (100,000 files of one image each) in this format.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from galaxy_learn.datasets import load_sdss_npy
    >>> dtype = [("objID", "<i8"), ("image", "<f4", (5, 64, 64)), ("class", "<U6"), ("z", "<f8")]
    >>> rec = np.zeros(2, dtype=dtype)
    >>> rec["class"] = ["STAR", "GALAXY"]
    >>> d = tempfile.mkdtemp()
    >>> np.save(os.path.join(d, "a.npy"), rec)
    >>> X, y, meta = load_sdss_npy(d)
    >>> X.shape, y.tolist()
    ((2, 5, 64, 64), ['STAR', 'GALAXY'])
    """
    files = _list_files(path_or_dir, [pattern])
    if classes is not None:
        classes = [_as_str(c) for c in ([classes] if isinstance(classes, str) else classes)]
    expected_shape = None if image_shape is None else tuple(int(s) for s in image_shape)

    if lazy:
        options = {
            "classes": classes,
            "image_shape": expected_shape,
            "allow_nan": allow_nan,
            "version": 1,
        }
        cache = ArrayCache(cache_dir, "sdss_npy", files, options)
        cached = cache.load()
        if cached is not None:
            return _sdss_result(*cached, return_meta)

    n_jobs = 1 if n_jobs is None else n_jobs
    infos = _map(lambda f: _scan_npy(f, allow_pickle, classes), files, n_jobs)
    first = infos[0]
    ref_shape = expected_shape or first["image_shape"]
    for path, info in zip(files, infos, strict=True):
        if info["image_shape"] != ref_shape:
            msg = (
                f"File {str(path)!r} holds images of shape {info['image_shape']}; expected "
                f"{ref_shape} (bands, height, width)."
            )
            raise ValueError(msg)
        if info["fields"] != first["fields"]:
            msg = (
                f"File {str(path)!r} has fields {info['fields']} but {str(files[0])!r} has "
                f"{first['fields']}: labeled and unlabeled files cannot be mixed."
            )
            raise ValueError(msg)
    counts = [int(i["keep"].sum()) if i["keep"] is not None else i["n"] for i in infos]
    starts = np.concatenate([[0], np.cumsum(counts)])
    n_total = int(starts[-1])
    if n_total == 0:
        msg = f"No images found in {str(path_or_dir)!r} (classes={classes!r})."
        raise ValueError(msg)

    if lazy:
        X = cache.create((n_total,) + ref_shape)
    else:
        X = np.empty((n_total,) + ref_shape, dtype=np.float32)

    def fill(k):
        path, info = files[k], infos[k]
        block = X[starts[k] : starts[k + 1]]
        try:
            if not info["source"].read_images_into(block, info["keep"]):
                images = info["images"]
                if images is None:
                    images = _records(info["source"].read(), path)[0]
                if info["keep"] is not None:
                    images = images[info["keep"]]
                block[...] = images
        except (OSError, ValueError) as exc:  # e.g. a file truncated between the two passes
            msg = f"Could not read the images of {str(path)!r}: {exc}"
            raise ValueError(msg) from exc
        _check_finite(block, f"File {str(path)!r}", allow_nan)

    try:
        _map(fill, list(range(len(files))), n_jobs)
    except BaseException:
        if lazy:
            del X
            cache.discard()
        raise

    columns = _sdss_columns(files, infos)
    if lazy:
        X.flush()
        del X
        X, columns = cache.commit(columns)
    return _sdss_result(X, columns, return_meta)


def _sdss_columns(files, infos):
    """Per-image metadata columns as plain (non-object) numpy arrays, cacheable without pickle."""
    columns = {}
    sel = [np.flatnonzero(i["keep"]) if i["keep"] is not None else np.arange(i["n"]) for i in infos]

    def gather(key):
        return np.concatenate([i[key][s] for i, s in zip(infos, sel, strict=True)])

    if infos[0]["objID"] is not None:
        columns["objID"] = gather("objID")
    if infos[0]["z"] is not None:
        columns["z"] = gather("z")
    if infos[0]["labels"] is not None:
        columns["class"] = gather("labels").astype(str)
    columns["file"] = np.repeat(np.array([str(f) for f in files]), [len(s) for s in sel])
    columns["index_in_file"] = np.concatenate(sel).astype(np.int64)
    return columns


def _sdss_result(X, columns, return_meta):
    y = columns.get("class")
    y = None if y is None else np.asarray(y)
    if not return_meta:
        return X, y
    meta = pd.DataFrame({k: v for k, v in columns.items() if k != "class"})
    return X, y, meta

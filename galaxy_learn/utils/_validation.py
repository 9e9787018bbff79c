"""Validation of image inputs shared by every estimator.

Conventions (written once here, documented in docs/conventions.rst):

* Images are float arrays of shape ``(n_samples, n_bands, height, width)``.
* A 2-D array ``(n_samples, n_bands * height * width)`` is accepted together with an
  ``image_shape=(n_bands, height, width)`` parameter (C order, the layout of ``X.reshape(n, -1)``).
* A 3-D array ``(n_samples, height, width)`` is a single-band stack.
* A 2-D array without ``image_shape`` is plain tabular data; estimators that only make sense on
  images reject it, estimators with a tabular path (MLP encoders) use it.
* Tabular rows ``(n_samples, n_features)`` that an image estimator accepts are seen as images
  of one pixel whose bands are the features, ``(n_samples, n_features, 1, 1)``
  (:func:`as_image_batch`).
* Data are converted to ``float32``; the caller's array is never modified.
* NaN / inf pixels raise a ``ValueError`` that counts them, unless the caller opts into a fill.
* Channel-last stacks ``(n_samples, height, width, channels)`` with 1-4 channels and images larger
  than 16 pixels are refused with the fix (``np.moveaxis(X, -1, 1)``): read as channel-first they
  would be ``height`` bands of ``width x channels`` images, and give garbage silently.
"""

import numpy as np

from ._compat import validate_data

__all__ = ["as_image_batch", "check_dynamic_range", "check_image_shape", "check_images",
           "check_psf_fwhm", "looks_channel_last", "validate_image_data"]

#: Channel-last detection: a last axis of at most this many channels ...
_MAX_LAST_CHANNELS = 4
#: ... behind two axes both larger than this (no survey cutout is 4 pixels wide).
_MIN_IMAGE_SIDE = 16


def check_image_shape(image_shape, *, name="image_shape"):
    """Validate an ``image_shape`` parameter and return it as a tuple ``(C, H, W)``.

    Parameters
    ----------
    image_shape : tuple of int or None
        ``(n_bands, height, width)`` or ``(height, width)`` (one band).
    name : str, default="image_shape"
        Name used in error messages.

    Returns
    -------
    image_shape : tuple of int or None
    """
    if image_shape is None:
        return None
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError) as exc:
        msg = f"The '{name}' parameter must be a tuple of ints (bands, height, width). Got {image_shape!r}."
        raise ValueError(msg) from exc
    if len(shape) == 2:
        shape = (1,) + shape
    if len(shape) != 3 or any(s < 1 for s in shape):
        msg = (
            f"The '{name}' parameter must be (bands, height, width) with positive sizes. "
            f"Got {image_shape!r}."
        )
        raise ValueError(msg)
    return shape


def looks_channel_last(shape):
    """Whether a 4-D ``shape`` reads as ``(n, height, width, channels)`` rather than images.

    True when the last axis holds 1-4 values and the two middle axes are both larger than 16:
    as ``(n, bands, height, width)`` that would be more than 16 bands of images at most 4 pixels
    wide, which no survey produces, while ``(n, 424, 424, 3)`` RGB stacks are common. Legitimate
    stacks such as ``(n, 5, 64, 64)`` or ``(n, 1, 20, 20)`` are never flagged.

    Parameters
    ----------
    shape : tuple of int
        An array shape.

    Returns
    -------
    channel_last : bool
    """
    return (
        len(shape) == 4
        and shape[3] <= _MAX_LAST_CHANNELS
        and shape[1] > _MIN_IMAGE_SIDE
        and shape[2] > _MIN_IMAGE_SIDE
    )


def _count_nonfinite(X, chunk_size=1024):
    # In chunks: a full-size boolean mask of a memory-mapped survey would not fit in memory.
    from ._memmap import iter_chunks

    n_bad = n_samples_bad = 0
    for _, chunk in iter_chunks(X, chunk_size):
        bad = ~np.isfinite(chunk).reshape(len(chunk), -1)
        n_bad += int(bad.sum())
        n_samples_bad += int(bad.any(axis=1).sum())
    return n_bad, n_samples_bad


def check_images(
    X,
    *,
    image_shape=None,
    allow_tabular=False,
    allow_nonfinite=False,
    dtype=np.float32,
    min_samples=1,
    name="X",
):
    """Convert ``X`` to a float array of images, with errors that name the problem.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_bands, height, width), (n_samples, height, width) \
            or (n_samples, n_features)
        Input images.
    image_shape : tuple of int, default=None
        Shape ``(n_bands, height, width)`` used to unflatten 2-D input.
    allow_tabular : bool, default=False
        Whether 2-D input without ``image_shape`` is returned as tabular ``(n, n_features)`` data.
        If False such input raises a ``ValueError``.
    allow_nonfinite : bool, default=False
        Whether NaN / inf pixels are let through (for callers that fill them).
    dtype : numpy dtype, default=np.float32
        Output dtype.
    min_samples : int, default=1
        Minimum number of samples.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    X : ndarray of shape (n_samples, n_bands, height, width) or (n_samples, n_features)
        A new array or a read-only-safe view; the input is never modified by later code because
        callers copy before writing.
    """
    image_shape = check_image_shape(image_shape)
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        msg = f"Sparse input is not supported: {name} must be a dense array of images."
        raise TypeError(msg)
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # pandas
        X = X.to_numpy()
    try:
        X = np.asarray(X)
    except Exception as exc:  # pragma: no cover - exotic containers
        msg = f"{name} could not be converted to a numeric array: {exc}"
        raise ValueError(msg) from exc
    if X.dtype.kind not in "biuf":
        if X.dtype.kind == "c":
            msg = f"Complex data not supported: {name} has dtype {X.dtype}."
            raise ValueError(msg)
        try:
            X = X.astype(np.float64)
        except TypeError as exc:  # e.g. a dict in an object array: keep numpy's TypeError
            msg = f"{name} must hold numbers; got dtype {X.dtype} ({exc})."
            raise TypeError(msg) from exc
        except ValueError as exc:
            msg = f"{name} must hold numbers; got dtype {X.dtype}."
            raise ValueError(msg) from exc
    if X.ndim == 2:
        if image_shape is not None:
            n_expected = int(np.prod(image_shape))
            if X.shape[1] != n_expected:
                msg = (
                    f"{name} has {X.shape[1]} features per sample but image_shape={image_shape} "
                    f"implies {n_expected} (bands*height*width)."
                )
                raise ValueError(msg)
            X = X.reshape((X.shape[0],) + image_shape)
        elif not allow_tabular:
            msg = (
                f"{name} is 2-D with shape {X.shape}; pass images as (n_samples, bands, height, "
                "width) or give image_shape=(bands, height, width) to unflatten rows."
            )
            raise ValueError(msg)
    elif X.ndim == 3:
        X = X[:, None, :, :]
    elif X.ndim == 4 and looks_channel_last(X.shape):
        msg = (
            f"{name} looks channel-last: shape {X.shape} would be read as {X.shape[1]} bands of "
            f"{X.shape[2]}x{X.shape[3]} images. galaxy_learn expects (n_samples, bands, height, "
            f"width); pass np.moveaxis({name}, -1, 1) (here shape "
            f"{(X.shape[0], X.shape[3], X.shape[1], X.shape[2])})."
        )
        raise ValueError(msg)
    elif X.ndim != 4:
        msg = (
            f"{name} must be 4-D (n_samples, bands, height, width), 3-D single-band images or "
            f"2-D rows; got an array with {X.ndim} dimension(s) and shape {X.shape}."
        )
        if X.ndim == 1:
            msg += " Reshape your data: one sample per row, e.g. X.reshape(1, -1) for one sample."
        raise ValueError(msg)
    if X.shape[0] < min_samples:
        msg = f"{name} has {X.shape[0]} sample(s); at least {min_samples} required."
        raise ValueError(msg)
    if any(s == 0 for s in X.shape[1:]):
        msg = (
            f"{name} has an empty dimension: shape {X.shape}; 0 feature(s) (shape={X.shape}) "
            "while a minimum of 1 is required."
        )
        raise ValueError(msg)
    X = X.astype(dtype, copy=False)
    if not allow_nonfinite:
        n_bad, n_samples_bad = _count_nonfinite(X)
        if n_bad:
            msg = (
                f"Input {name} contains NaN or infinity: {n_bad} non-finite pixel value(s) in "
                f"{n_samples_bad} sample(s). Mask or fill them first, e.g. with "
                "galaxy_learn.preprocessing.ImageScaler(nan_policy='fill')."
            )
            raise ValueError(msg)
    return X


def check_dynamic_range(X, *, name="X", max_ratio=1e10, max_sample=1_000_000):
    """Refuse images whose largest pixel dwarfs every other one (a corrupt or sentinel value).

    One pixel of 1e30 among values of order 1 passes the finiteness check, but min-max scaling
    then squashes every other pixel to zero and training diverges, with an error that points
    at the learning rate. This names the pixel instead.

    The typical spread is the 99th percentile of ``|X - median|`` (on at most ``max_sample``
    evenly spaced pixels); a pixel further from the median than ``max_ratio`` times that spread
    raises. A bright star over the sky noise spans 1e5-1e7, well below the default limit. When
    the spread is zero (almost constant images) the largest deviation must stay below
    ``max_ratio`` itself.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        Finite images (as returned by :func:`check_images`).
    name : str, default="X"
        Name used in the error message.
    max_ratio : float, default=1e10
        Largest accepted ratio of the extreme deviation to the typical spread.
    max_sample : int, default=1_000_000
        Pixels used for the median and the spread.

    Returns
    -------
    X : ndarray
        ``X`` itself, unchanged.
    """
    flat = X.reshape(-1)
    if flat.size == 0:
        return X
    step = max(1, flat.size // max_sample)
    sample = np.asarray(flat[::step], dtype=np.float64)
    median = float(np.median(sample))
    spread = float(np.percentile(np.abs(sample - median), 99))
    # the extreme pixel itself, over all of X (chunked, for memory-mapped stacks)
    worst, where = -1.0, 0
    chunk = 1 << 22
    for start in range(0, flat.size, chunk):
        part = np.abs(np.asarray(flat[start:start + chunk], dtype=np.float64) - median)
        k = int(np.argmax(part))
        if part[k] > worst:
            worst, where = float(part[k]), start + k
    limit = max_ratio * spread if spread > 0 else max_ratio
    if worst > limit:
        value = float(flat[where])
        index = tuple(int(i) for i in np.unravel_index(where, X.shape))
        pos = f"sample {index[0]}" + (f", band {index[1]}" if X.ndim == 4 else "")
        if X.ndim >= 3:
            pos += f", pixel (y={index[-2]}, x={index[-1]})"
        msg = (
            f"{name} holds an extreme pixel value {value:.3g} ({pos}): its distance to the "
            f"median ({median:.3g}) is {worst / spread if spread > 0 else float('inf'):.3g} "
            f"times the typical spread of the pixels ({spread:.3g}), a dynamic range above "
            f"{max_ratio:.0e}. Such a pixel (a corrupt or sentinel value) squashes every other "
            "pixel to zero in the scaling and makes training diverge. Mask it (set it to NaN "
            "and fill) or clip it before fitting."
        )
        raise ValueError(msg)
    return X


def validate_image_data(
    estimator,
    X,
    *,
    reset,
    image_shape=None,
    allow_tabular=False,
    allow_nonfinite=False,
    min_samples=1,
):
    """Validate ``X`` for ``estimator`` and record or check what ``fit`` saw.

    On ``reset=True`` (in ``fit``) this sets ``n_features_in_`` (the flattened size
    ``bands*height*width``, or the number of columns for tabular data), ``feature_names_in_`` when
    ``X`` is a DataFrame, and ``input_shape_`` (``(bands, height, width)`` or ``(n_features,)``).
    Later calls (``reset=False``) check the same shape, naming the band count or image size that
    differs.

    Returns
    -------
    X : ndarray of float32, shape (n_samples, bands, height, width) or (n_samples, n_features)
    """
    X_checked = check_images(
        X,
        image_shape=image_shape,
        allow_tabular=allow_tabular,
        allow_nonfinite=allow_nonfinite,
        min_samples=min_samples,
    )
    cls = type(estimator).__name__
    shape = X_checked.shape[1:]
    if not reset and hasattr(estimator, "input_shape_"):
        fitted = tuple(estimator.input_shape_)
        if shape != fitted:
            if len(shape) == 3 and len(fitted) == 3 and shape[0] != fitted[0]:
                msg = (
                    f"X has {shape[0]} band(s) but {cls} was fitted on {fitted[0]} band(s); "
                    f"bands must match between fit and transform/predict."
                )
            elif len(shape) == 3 and len(fitted) == 3:
                msg = (
                    f"X has images of size {shape[1]}x{shape[2]} but {cls} was fitted on "
                    f"{fitted[1]}x{fitted[2]} images."
                )
            else:
                n_in = int(np.prod(shape))
                msg = (
                    f"X has {n_in} features, but {cls} is expecting "
                    f"{estimator.n_features_in_} features as input (fitted input shape "
                    f"{fitted}, got {shape})."
                )
            raise ValueError(msg)
    # scikit-learn records / checks n_features_in_ and feature_names_in_ on the flattened view
    # (a DataFrame keeps its columns so feature names are checked); the array was converted above.
    validate_data(
        estimator,
        X if hasattr(X, "columns") else X_checked.reshape(X_checked.shape[0], -1),
        reset=reset,
        skip_check_array=True,
    )
    if reset:
        estimator.input_shape_ = tuple(int(s) for s in shape)
    return X_checked


def central_crop_slices(height, width, size):
    """Row and column slices of the central ``size x size`` pixels of a ``height x width`` image
    (the extra pixel of an odd margin at the bottom / right): the crop of
    :class:`~galaxy_learn.preprocessing.CenterCrop` and ``ImageScaler(crop=...)``.

    Examples
    --------
    >>> from galaxy_learn.utils import central_crop_slices
    >>> central_crop_slices(64, 64, 32)
    (slice(16, 48, None), slice(16, 48, None))
    """
    top, left = (height - size) // 2, (width - size) // 2
    return slice(top, top + size), slice(left, left + size)


def as_image_batch(X, *, layout="pixel"):
    """4-D view of validated input: tabular rows become images.

    The convention for tabular input of every image estimator that accepts it (see
    docs/conventions.rst). ``layout="pixel"`` (the default, for estimators whose statistics are
    per band: scalers, normalisations, the denoiser): a row of features is one pixel seen in as
    many bands, ``(n, n_features, 1, 1)``, so per-band statistics are per-feature statistics.
    ``layout="row"`` (for spatial estimators: the hypercolumn network and the segmenter, whose
    convolutions and detection need neighbouring pixels): a row is a one-band image one pixel
    high, ``(n, 1, 1, n_features)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or (n_samples, bands, height, width)
        Output of :func:`check_images` / :func:`validate_image_data`.
    layout : {"pixel", "row"}, default="pixel"

    Returns
    -------
    X_images : ndarray of shape (n_samples, n_features, 1, 1), (n_samples, 1, 1, n_features)
        or the 4-D input itself
        A view; nothing is copied.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.utils import as_image_batch
    >>> as_image_batch(np.zeros((5, 3), np.float32)).shape
    (5, 3, 1, 1)
    >>> as_image_batch(np.zeros((5, 3), np.float32), layout="row").shape
    (5, 1, 1, 3)
    """
    if layout not in ("pixel", "row"):
        msg = f"The 'layout' parameter must be 'pixel' or 'row'. Got {layout!r}."
        raise ValueError(msg)
    if X.ndim == 2 and layout == "row":
        return X[:, None, None, :]
    if X.ndim == 2:
        return X[:, :, None, None]
    return X


def check_psf_fwhm(psf_fwhm, n_samples, n_bands, name="psf_fwhm"):
    """``psf_fwhm`` validated and broadcast to shape ``(n_samples, n_bands)``.

    Parameters
    ----------
    psf_fwhm : array-like of shape (n_samples,) or (n_samples, n_bands)
        PSF widths, one per image or one per image and band; finite and positive.
    n_samples, n_bands : int
        What the images hold.
    name : str, default="psf_fwhm"
        Name of the argument in error messages.

    Returns
    -------
    fwhm : ndarray of float64 of shape (n_samples, n_bands)
    """
    fwhm = np.asarray(psf_fwhm, dtype=float)
    if fwhm.shape not in ((n_samples,), (n_samples, n_bands)):
        msg = (
            f"{name} must have shape (n_samples,) or (n_samples, n_bands) = ({n_samples},) or "
            f"({n_samples}, {n_bands}); got shape {fwhm.shape}."
        )
        raise ValueError(msg)
    bad = ~np.isfinite(fwhm) | ~(fwhm > 0)
    if bad.any():
        msg = f"{name} must be finite and positive; {int(bad.sum())} value(s) are not."
        raise ValueError(msg)
    if fwhm.ndim == 1:
        fwhm = np.repeat(fwhm[:, None], n_bands, axis=1)
    return fwhm

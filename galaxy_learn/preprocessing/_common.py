"""Helpers shared by the preprocessing transformers: input validation and layout, central crops."""
import numpy as np

from ..utils import central_crop_slices, validate_image_data


def read_images(estimator, X, *, reset, allow_nonfinite=True):
    """``X`` validated for ``estimator`` (its ``image_shape``; 2-D rows without one are tabular).

    :func:`~galaxy_learn.utils.validate_image_data` records (``reset=True``) or checks the input
    shape; the result is 4-D images, or ``(n_samples, n_features)`` for tabular input.
    """
    return validate_image_data(
        estimator,
        X,
        reset=reset,
        image_shape=estimator.image_shape,
        allow_tabular=True,
        allow_nonfinite=allow_nonfinite,
    )


def input_ndim(X):
    """Number of dimensions of the caller's input (a DataFrame counts as 2-D)."""
    if hasattr(X, "columns"):
        return 2
    if hasattr(X, "ndim") and isinstance(X, np.ndarray):
        return X.ndim
    return np.asarray(X).ndim


def restore_layout(Z, ndim):
    """Give 4-D images ``Z`` the layout of an input with ``ndim`` dimensions."""
    if ndim == 2:
        return Z.reshape(len(Z), -1)
    if ndim == 3:
        return Z[:, 0]
    return Z


crop_slices = central_crop_slices  # the one definition is public in utils


def check_crop_size(size, images, *, name):
    """Raise a ``ValueError`` naming parameter ``name`` when a central crop of ``size`` pixels
    does not fit in the 4-D ``images``."""
    height, width = images.shape[2:]
    if size > min(height, width):
        msg = f"The '{name}' parameter ({size}) is larger than the images ({height}x{width})."
        raise ValueError(msg)


def cropped_feature_index(image_shape, size):
    """Flattened (C-order) indices of the pixels kept by a central crop of ``size``."""
    n_bands, height, width = image_shape
    rows, cols = crop_slices(height, width, size)
    return np.arange(n_bands * height * width).reshape(image_shape)[:, rows, cols].ravel()

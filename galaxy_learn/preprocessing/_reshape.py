"""Image reshapers: flatten images to rows and back, crop the centre of a stamp."""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..utils import as_image_batch, check_image_shape, check_images
from ..utils._compat import Interval, _check_feature_names_in, _fit_context, check_is_fitted
from ._common import (check_crop_size, crop_slices, cropped_feature_index, input_ndim,
                      read_images, restore_layout)

__all__ = ["CenterCrop", "ImageFlattener"]


class _ImageReshaper(TransformerMixin, BaseEstimator):
    """What the reshapers share: ``fit`` records the image shape; NaN pixels pass through
    (reshaping does not look at values); float32 is preserved."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the image shape (and check that the transform applies to it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands, height, width)
            Images (or rows with ``image_shape``).
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        check_image_shape(self.image_shape)
        self._validate(X, reset=True)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class ImageFlattener(_ImageReshaper):
    """Flatten images ``(n, C, H, W)`` to rows ``(n, C*H*W)`` (C order) and back.

    Useful in a :class:`~sklearn.pipeline.Pipeline` between an image transformer and a tabular
    estimator (PCA, Isomap, ...). ``inverse_transform`` restores the fitted image shape.

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(n_bands, height, width)`` when ``fit`` receives flattened rows; then fit only records
        the shape (transform is the identity on rows and inverse_transform unflattens).

    Attributes
    ----------
    input_shape_ : tuple of int
        ``(n_bands, height, width)`` seen in fit.
    n_features_in_ : int
        ``n_bands * height * width``.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.preprocessing import ImageFlattener
    >>> X = np.zeros((4, 5, 8, 8), dtype=np.float32)
    >>> flat = ImageFlattener().fit(X)
    >>> flat.transform(X).shape
    (4, 320)
    >>> flat.inverse_transform(flat.transform(X)).shape
    (4, 5, 8, 8)
    """

    _parameter_constraints = {"image_shape": [None, tuple, list]}

    def __init__(self, *, image_shape=None):
        self.image_shape = image_shape

    def _validate(self, X, reset):
        # Rows without image_shape are already flat (tabular): transform is then the identity.
        return read_images(self, X, reset=reset)

    def transform(self, X):
        """Flatten images to rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands, height, width)

        Returns
        -------
        X_flat : ndarray of shape (n_samples, n_bands * height * width), float32
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return X.reshape(len(X), -1).copy()

    def inverse_transform(self, X):
        """Unflatten rows to images of the fitted shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands * height * width)

        Returns
        -------
        X_images : ndarray of shape (n_samples, n_bands, height, width), float32
        """
        check_is_fitted(self)
        tabular = len(self.input_shape_) == 1
        X = check_images(
            X,
            image_shape=None if tabular else self.input_shape_,
            allow_tabular=tabular,
            allow_nonfinite=True,
        )
        if X.shape[1:] != tuple(self.input_shape_):
            msg = f"X has shape {X.shape[1:]} per sample; expected {tuple(self.input_shape_)}."
            raise ValueError(msg)
        return X.copy()

    def get_feature_names_out(self, input_features=None):
        """Names of the flattened pixels (``x0 ... x{n-1}`` or the input column names)."""
        check_is_fitted(self)
        return _check_feature_names_in(self, input_features)


class CenterCrop(_ImageReshaper):
    """Keep the central ``size x size`` pixels of every image (e.g. the central 32 of 64).

    For an odd margin the extra pixel is dropped at the bottom / right: the crop starts at
    ``(H - size) // 2``. The output has the layout of the input (4-D in, 4-D out; 2-D rows with
    ``image_shape`` in, 2-D rows out). 2-D input without ``image_shape`` follows the
    :class:`ImageScaler` convention for tabular data: each column is a band of one pixel, so only
    ``size=1`` (the identity) applies to it.

    Parameters
    ----------
    size : int, default=32
        Side of the square crop in pixels.
    image_shape : tuple of int, default=None
        ``(n_bands, height, width)`` to unflatten 2-D input.

    Attributes
    ----------
    input_shape_ : tuple of int
        ``(n_bands, height, width)`` seen in fit.
    n_features_in_ : int
        ``n_bands * height * width``.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.preprocessing import CenterCrop
    >>> X = np.arange(2 * 1 * 6 * 6, dtype=np.float32).reshape(2, 1, 6, 6)
    >>> CenterCrop(2).fit_transform(X)[0, 0]
    array([[14., 15.],
           [20., 21.]], dtype=float32)
    """

    _parameter_constraints = {
        "size": [Interval(numbers.Integral, 1, None, closed="left")],
        "image_shape": [None, tuple, list],
    }

    def __init__(self, size=32, *, image_shape=None):
        self.size = size
        self.image_shape = image_shape

    def _validate(self, X, reset):
        ndim = input_ndim(X)
        X = as_image_batch(read_images(self, X, reset=reset))  # tabular rows: 1x1-pixel images
        check_crop_size(self.size, X, name="size")
        return X, ndim

    def transform(self, X):
        """Crop the centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands, height, width)

        Returns
        -------
        X_crop : ndarray of shape (n_samples, n_bands, size, size), float32
            A new array (same layout as ``X``).
        """
        check_is_fitted(self)
        X, ndim = self._validate(X, reset=False)
        rows, cols = crop_slices(X.shape[2], X.shape[3], self.size)
        return restore_layout(np.array(X[:, :, rows, cols], dtype=np.float32), ndim)

    def get_feature_names_out(self, input_features=None):
        """Names of the kept input pixels (flattened, C order)."""
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        if len(self.input_shape_) == 1:
            return names
        return names[cropped_feature_index(self.input_shape_, self.size)]

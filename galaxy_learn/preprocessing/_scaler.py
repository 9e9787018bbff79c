"""Per-band and per-cutout intensity scaling of multi-band astronomical images.

Astronomical cutouts are not natural images: pixel values are fluxes (nanomaggies) with a
Gaussian-ish sky noise around zero, heavy positive tails (bright stars, galaxy cores) spanning four
or more decades, NaN-masked pixels, and neighbours in the stamp. :class:`ImageScaler` offers the
scalings used in the field:

* ``"zscore"``: per-band mean / standard deviation fitted on the training set (the
  preprocessing of Sun 2017, project notebook, "Data preprocessing").
* ``"asinh"``: ``arcsinh(x / b_band)`` with ``b_band`` about the sky noise, then robust per-band
  centring (median) and scaling (IQR / 1.349), so sky noise comes out with unit spread and bright
  pixels are compressed logarithmically.
* ``"minmax"``: per band to [0, 1] between fitted percentiles.
* ``"peak"`` / ``"peak_asinh"``: each cutout divided by its own central flux (optionally followed by
  an arcsinh stretch), which removes brightness so that a latent space cannot simply order objects
  by magnitude.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..utils import (
    MAX_STAT_PIXELS,
    as_image_batch,
    border_sigma,
    check_images,
    sample_stride,
)
from ..utils._compat import (
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    check_is_fitted,
)
from ._band_statistics import (
    asinh_statistics,
    border_medians,
    central_box,
    chunks,
    minmax_statistics,
    peak_floor,
    zscore_statistics,
)
from ._common import (
    check_crop_size,
    crop_slices,
    cropped_feature_index,
    input_ndim,
    read_images,
    restore_layout,
)

__all__ = ["ImageScaler"]

# Robust statistics (median, MAD, percentiles) use at most this many pixels per band; above it a
# regular (deterministic) subset of the samples is used.
_MAX_QUANTILE_PIXELS = MAX_STAT_PIXELS


class ImageScaler(TransformerMixin, BaseEstimator):
    """Scale multi-band images per band (z-score, arcsinh, min-max) or per cutout (peak).

    Input images have shape ``(n_samples, n_bands, height, width)``; a 3-D stack is one band; 2-D
    input is unflattened with ``image_shape``. The output has the layout of the input (4-D in,
    4-D out; 2-D in, 2-D out), in float32. 2-D input **without** ``image_shape`` is tabular
    ``(n_samples, n_features)`` data and is scaled per feature (each feature is a "band" of one
    pixel); this is what scikit-learn's estimator checks exercise, and is only available for
    ``"zscore"``, ``"minmax"`` and ``"asinh"`` without ``crop``.

    Parameters
    ----------
    method : {"zscore", "asinh", "minmax", "peak", "peak_asinh"}, default="zscore"
        * ``"zscore"``: ``(x - mean_band) / std_band``, fitted over all training pixels of the band
          (population std, as :class:`~sklearn.preprocessing.StandardScaler`).
        * ``"asinh"``: ``(arcsinh(x / b_band) - median_band) / (IQR_band / 1.349)``, with the
          median and inter-quartile range of ``arcsinh(x / b_band)`` over the training pixels. With
          ``b_band`` equal to the sky noise, sky pixels come out with about unit spread and bright
          pixels are compressed logarithmically: robust to the heavy flux tails.
        * ``"minmax"``: ``(x - p_low) / (p_high - p_low)`` per band, where ``p_low, p_high`` are
          the ``percentiles`` of the training pixels of the band. Values beyond the percentiles are
          **not** clipped (they fall slightly outside [0, 1]).
        * ``"peak"``: each cutout divided by its own central flux, the sum over bands of the
          central 3x3 pixels, floored at 5 times the noise of that sum
          (``5 * sqrt(9 * sum_band b_band**2)``) so blank or negative stamps do not blow up.
          Output is in "fraction of the central flux" units; no fitted centring.
        * ``"peak_asinh"``: ``"peak"`` followed by ``arcsinh(x_norm / a_band)`` with
          ``a_band = b_band / median(central flux)`` fitted on the training set (the sky noise of a
          typical object in normalised units). Removes brightness and compresses wings.
    per_band : bool, default=False
        Peak methods only: divide each band by its **own** central flux (3x3 sum of that band,
        floored at 5 times its noise, ``5 * sqrt(9) * b_band``) instead of the sum over bands.
        This removes colour as well as brightness, so that every band shows the object's shape
        relative to its centre. Ignored by the other methods.
    softening : float or array-like of shape (n_bands,), default=None
        Sky noise ``b_band`` in input units (one value for all bands, or one per band), used by
        ``"asinh"`` as the arcsinh softening and by the peak methods for the noise floor. None
        estimates it per band as ``1.4826 * MAD`` of the border pixels (outer ring of width
        ``min(H, W) // 8``) of the training images.
    crop : int, default=None
        Central crop to ``crop x crop`` pixels applied before scaling (e.g. 32 of 64). Statistics
        are fitted on the cropped images.
    nan_policy : {"raise", "fill"}, default="raise"
        ``"raise"``: NaN / inf pixels raise a ``ValueError`` that counts them. ``"fill"``: they
        are replaced by ``fill_value`` before anything else (in fit and transform).
    fill_value : float or "median", default=0.0
        Replacement for non-finite pixels when ``nan_policy="fill"``; ``"median"`` uses the median
        of the finite border (sky) pixels of the band, fitted on the training set.
    image_shape : tuple of int, default=None
        ``(n_bands, height, width)`` to unflatten 2-D input.
    percentiles : tuple of float, default=(0.5, 99.5)
        Lower and upper percentiles (in [0, 100]) mapped to 0 and 1 by ``"minmax"``.

    Attributes
    ----------
    center_ : ndarray of shape (n_bands,)
        Per-band value subtracted after the (optional) arcsinh: mean (zscore), median of the
        stretched pixels (asinh), lower percentile (minmax), 0 (peak methods).
    scale_ : ndarray of shape (n_bands,)
        Per-band divisor: std (zscore), IQR / 1.349 (asinh), percentile range (minmax), 1 (peak).
        Near-zero scales (constant bands) are replaced by 1.
    softening_ : ndarray of shape (n_bands,) or None
        Sky noise ``b_band`` used by asinh and the peak methods, None for zscore / minmax.
    peak_floor_ : float, ndarray of shape (n_bands,) or None
        Floor of the central flux of the peak methods (one per band with ``per_band=True``).
    peak_softening_ : ndarray of shape (n_bands,) or None
        ``a_band`` of ``"peak_asinh"``.
    fill_values_ : ndarray of shape (n_bands,) or None
        Per-band replacement of non-finite pixels (``nan_policy="fill"``).
    input_shape_ : tuple of int
        ``(n_bands, height, width)`` seen in fit, or ``(n_features,)`` for tabular input.
    n_features_in_ : int
        Flattened number of input features.
    feature_names_in_ : ndarray of str
        Column names when fit on a DataFrame.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : ``"zscore"`` on tabular data is the same transform.

    Notes
    -----
    ``inverse_transform`` undoes zscore, asinh and minmax exactly (up to float32 rounding), in the
    cropped geometry; filled NaN pixels stay filled. The peak methods are not invertible because
    the per-cutout normalisation factors are not stored: ``inverse_transform`` raises.

    Why per-cutout normalisation: with per-band global scaling the dominant direction of variation
    in a set of cutouts is brightness, so unsupervised embeddings order objects by magnitude rather
    than by shape; dividing by each object's central flux removes that direction.

    ``set_output(transform="pandas")`` applies to 2-D input (rows, or tabular data) only: a
    DataFrame cannot hold 4-D images.

    Robust statistics (median, MAD, percentiles) are computed on at most about 4 million pixels per
    band: for larger training sets a regular subset of the samples (every k-th) is used.
    Mean / std (zscore) always use every pixel. Work is done in chunks of 256 samples, so
    memory-mapped inputs are never loaded whole by the scaler itself.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.preprocessing import ImageScaler
    >>> X = np.random.default_rng(0).normal(size=(10, 5, 16, 16)).astype(np.float32)
    >>> scaler = ImageScaler(method="asinh", crop=8).fit(X)
    >>> scaler.transform(X).shape
    (10, 5, 8, 8)
    >>> Z = ImageScaler().fit_transform(X)
    >>> bool(np.allclose(Z.mean(axis=(0, 2, 3)), 0, atol=1e-5))
    True
    """

    _parameter_constraints = {
        "method": [StrOptions({"zscore", "asinh", "minmax", "peak", "peak_asinh"})],
        "softening": [None, Interval(numbers.Real, 0, None, closed="neither"), "array-like"],
        "crop": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "nan_policy": [StrOptions({"raise", "fill"})],
        "fill_value": [numbers.Real, StrOptions({"median"})],
        "image_shape": [None, tuple, list],
        "percentiles": [tuple, list],
        "per_band": ["boolean"],
    }

    def __init__(
        self,
        method="zscore",
        *,
        softening=None,
        crop=None,
        nan_policy="raise",
        fill_value=0.0,
        image_shape=None,
        percentiles=(0.5, 99.5),
        per_band=False,
    ):
        self.method = method
        self.softening = softening
        self.crop = crop
        self.nan_policy = nan_policy
        self.fill_value = fill_value
        self.image_shape = image_shape
        self.percentiles = percentiles
        self.per_band = per_band

    # ------------------------------------------------------------------ input handling
    def _validate_X(self, X, *, reset):
        """Return (4-D float32 images, layout) where layout restores the caller's shape."""
        ndim = input_ndim(X)
        Xc = read_images(self, X, reset=reset, allow_nonfinite=self.nan_policy == "fill")
        tabular = Xc.ndim == 2
        if tabular:
            if self.method in ("peak", "peak_asinh") or self.crop is not None:
                what = f"method={self.method!r}" if self.crop is None else f"crop={self.crop!r}"
                msg = (
                    f"ImageScaler with {what} needs images: X is 2-D with shape {Xc.shape} and "
                    "image_shape is None. Pass (n_samples, bands, height, width) images or set "
                    "image_shape=(bands, height, width)."
                )
                raise ValueError(msg)
            Xc = as_image_batch(Xc)
        if self.crop is not None:
            check_crop_size(self.crop, Xc, name="crop")
        return Xc, ndim

    def _prepare(self, Xb):
        """Fill non-finite pixels (new array) and crop one chunk of 4-D images."""
        if self.nan_policy == "fill":
            bad = ~np.isfinite(Xb)
            if bad.any():
                fill = np.asarray(self.fill_values_, dtype=Xb.dtype)[None, :, None, None]
                Xb = np.where(bad, fill, Xb)
        if self.crop is not None:
            rows, cols = crop_slices(Xb.shape[2], Xb.shape[3], self.crop)
            Xb = Xb[:, :, rows, cols]
        return Xb

    def _iter_prepared(self, X):
        """Prepared (filled + cropped) chunks of ``X``: memory stays bounded for memmaps."""
        for sl in chunks(len(X)):
            yield self._prepare(X[sl])

    def _check_percentiles(self):
        try:
            low, high = (float(p) for p in self.percentiles)
        except (TypeError, ValueError) as exc:
            msg = f"The 'percentiles' parameter must be (low, high). Got {self.percentiles!r}."
            raise ValueError(msg) from exc
        if not 0 <= low < high <= 100:
            msg = (
                "The 'percentiles' parameter must satisfy 0 <= low < high <= 100. "
                f"Got {self.percentiles!r}."
            )
            raise ValueError(msg)
        return low, high

    def _check_softening(self, n_bands):
        b = np.asarray(self.softening, dtype=np.float64).ravel()
        if b.size == 1:
            b = np.full(n_bands, float(b[0]))
        if b.size != n_bands or not np.all(np.isfinite(b)) or np.any(b <= 0):
            msg = (
                "The 'softening' parameter must be a positive number or one positive value per "
                f"band ({n_bands} bands). Got {self.softening!r}."
            )
            raise ValueError(msg)
        return b

    # ------------------------------------------------------------------ maths per chunk
    def _central_flux(self, Xb):
        """Central 3x3 flux: shape (n,) summed over bands, or (n, n_bands) with per_band."""
        rows, cols = central_box(Xb.shape[2], Xb.shape[3])
        box = np.asarray(Xb[:, :, rows, cols], dtype=np.float64)
        return box.sum(axis=(2, 3)) if self.per_band else box.sum(axis=(1, 2, 3))

    def _forward(self, Xb):
        """Scale one prepared chunk; float64 inside, float32 out."""
        Xb = np.asarray(Xb, dtype=np.float64)
        if self.method in ("peak", "peak_asinh"):
            norm = np.maximum(self._central_flux(Xb), self.peak_floor_)
            Xb = Xb / norm.reshape(len(Xb), -1, 1, 1)
            if self.method == "peak_asinh":
                Xb = np.arcsinh(Xb / self.peak_softening_[None, :, None, None])
        elif self.method == "asinh":
            Xb = np.arcsinh(Xb / self.softening_[None, :, None, None])
        Z = (Xb - self.center_[None, :, None, None]) / self.scale_[None, :, None, None]
        return Z.astype(np.float32)

    # ------------------------------------------------------------------ fit
    def _fit_fill_values(self, X):
        n_bands = X.shape[1]
        if self.nan_policy != "fill":
            return None
        if self.fill_value != "median":
            return np.full(n_bands, float(self.fill_value))
        return border_medians(X, max_pixels=_MAX_QUANTILE_PIXELS)

    def _fit_softening(self, X):
        if self.softening is not None:
            return self._check_softening(X.shape[1])
        return border_sigma(X, max_pixels=_MAX_QUANTILE_PIXELS)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the per-band statistics on training images.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands, height, width) or (n_samples, n_features)
            Training images (memory-mapped arrays are read in chunks).
        y : None
            Ignored.

        Returns
        -------
        self : ImageScaler
            Fitted scaler.
        """
        X, _ = self._validate_X(X, reset=True)
        n_bands = X.shape[1]
        low, high = self._check_percentiles()
        self.fill_values_ = self._fit_fill_values(X)
        side = (self.crop,) * 2 if self.crop is not None else X.shape[2:]
        # Robust statistics use a bounded, regular subset of the samples (all of them when small).
        stride = sample_stride(len(X), side[0] * side[1], max_pixels=_MAX_QUANTILE_PIXELS)
        sub = self._prepare(np.asarray(X[::stride]))
        self.softening_ = None
        self.peak_floor_ = None
        self.peak_softening_ = None
        center, scale = np.zeros(n_bands), np.ones(n_bands)
        if self.method == "zscore":
            count = X.shape[0] * side[0] * side[1]
            center, scale = zscore_statistics(lambda: self._iter_prepared(X), n_bands, count)
        elif self.method == "minmax":
            center, scale = minmax_statistics(sub, low, high, max_pixels=_MAX_QUANTILE_PIXELS)
        elif self.method == "asinh":
            self.softening_ = self._fit_softening(sub)
            center, scale = asinh_statistics(sub, self.softening_,
                                             max_pixels=_MAX_QUANTILE_PIXELS)
        else:  # peak methods
            self.softening_ = self._fit_softening(sub)
            self.peak_floor_ = peak_floor(self.softening_, side, per_band=self.per_band)
            if self.method == "peak_asinh":
                flux = np.concatenate([self._central_flux(Xb) for Xb in self._iter_prepared(X)])
                typical = np.maximum(np.median(flux, axis=0), self.peak_floor_)
                self.peak_softening_ = self.softening_ / typical
        self.center_ = center
        self.scale_ = scale
        return self

    # ------------------------------------------------------------------ transform
    def transform(self, X):
        """Scale images with the fitted statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands, height, width) or (n_samples, n_features)
            Images with the bands and size seen in fit.

        Returns
        -------
        Z : ndarray of float32
            Scaled images, same layout as ``X`` (cropped if ``crop`` is set).
        """
        check_is_fitted(self)
        X, ndim = self._validate_X(X, reset=False)
        out = None
        for sl in chunks(len(X)):
            Zb = self._forward(self._prepare(X[sl]))
            if out is None:
                out = np.empty((len(X),) + Zb.shape[1:], dtype=np.float32)
            out[sl] = Zb
        return restore_layout(out, ndim)

    def inverse_transform(self, X):
        """Map scaled images back to input units (zscore, asinh, minmax only).

        Parameters
        ----------
        X : array-like
            Output of :meth:`transform` (same layout; cropped size if ``crop`` is set).

        Returns
        -------
        X_original : ndarray of float32
            Images in input units, in the cropped geometry.
        """
        check_is_fitted(self)
        if self.method in ("peak", "peak_asinh"):
            msg = (
                f"ImageScaler(method={self.method!r}) is not invertible: the per-cutout "
                "normalisation factors (central fluxes) are not stored."
            )
            raise ValueError(msg)
        n_bands, height, width = self._output_image_shape()
        ndim = input_ndim(X)
        tabular = len(self.input_shape_) == 1
        Z = check_images(
            X,
            image_shape=None if tabular else (n_bands, height, width),
            allow_tabular=tabular,
            name="X",
        )
        if tabular:
            Z = as_image_batch(Z)
        if Z.shape[1:] != (n_bands, height, width):
            msg = (
                f"inverse_transform expects scaled images of shape {(n_bands, height, width)}; "
                f"got {Z.shape[1:]}."
            )
            raise ValueError(msg)
        out = np.empty(Z.shape, dtype=np.float32)
        for sl in chunks(len(Z)):
            Xb = np.asarray(Z[sl], dtype=np.float64) * self.scale_[None, :, None, None]
            Xb = Xb + self.center_[None, :, None, None]
            if self.method == "asinh":
                Xb = np.sinh(Xb) * self.softening_[None, :, None, None]
            out[sl] = Xb
        return restore_layout(out, ndim)

    def _output_image_shape(self):
        if len(self.input_shape_) == 1:
            return (self.input_shape_[0], 1, 1)
        n_bands, height, width = self.input_shape_
        if self.crop is not None:
            return (n_bands, self.crop, self.crop)
        return (n_bands, height, width)

    def get_feature_names_out(self, input_features=None):
        """Names of the flattened output features.

        Without ``crop`` these are the input names (one to one). With ``crop`` they are the names
        of the kept (central) input pixels, in C order.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names; default ``feature_names_in_`` or ``x0 ... x{n-1}``.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        if self.crop is None or len(self.input_shape_) == 1:
            return names
        return names[cropped_feature_index(self.input_shape_, self.crop)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.nan_policy == "fill"
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

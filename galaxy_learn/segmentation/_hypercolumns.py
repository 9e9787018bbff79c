"""HypercolumnExtractor: per-pixel features from a (residual) convolutional autoencoder.

How per-pixel output fits scikit-learn's one-row-per-sample contract
--------------------------------------------------------------------
A hypercolumn is a feature vector *per pixel*. :meth:`HypercolumnExtractor.transform` keeps one
row per image: ``(n_samples, H * W * F)``, the C-order flattening of ``(n_samples, H, W, F)``
(pixel-major, feature-minor), so ``Z.reshape(-1, F)`` is directly a table of one pixel per row and
:func:`to_pixel_features` restores ``(n_samples, H, W, F)``. :meth:`HypercolumnExtractor.hypercolumns`
returns that 4-D array directly and, the network being fully convolutional, accepts images of any
size (a whole field); ``transform`` insists on the fitted size, as a transformer must. The
pixel-level companion is :class:`~galaxy_learn.segmentation.HypercolumnSegmenter`, which clusters
these pixel rows into object and background.

Tabular input (a 2-D array without ``image_shape``) is read as one-band images of one row,
``(n, 1, 1, n_features)`` (:func:`~galaxy_learn.utils.as_image_batch` with ``layout="row"``,
the convention of spatial estimators: docs/conventions.rst); the network is fully
convolutional, so it still runs (this is what scikit-learn's estimator checks feed it).
"""
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from .._base import NetEstimatorMixin
from ..nn import ResidualConvAutoencoder, autoencoder_layer_names
from ..utils import (as_image_batch, batched_apply, check_images, torch_seeded,
                     validate_image_data)
from ..utils._compat import Interval, StrOptions, _fit_context, check_is_fitted

__all__ = ["HypercolumnExtractor", "to_pixel_features"]


def to_pixel_features(Z, image_shape):
    """Reshape ``transform`` output ``(n, H*W*F)`` to per-pixel features ``(n, H, W, F)``.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, H * W * F)
        Rows as returned by :meth:`HypercolumnExtractor.transform` (C order).
    image_shape : tuple of int
        ``(H, W)`` or ``(bands, H, W)`` (the bands are ignored).

    Returns
    -------
    ndarray of shape (n_samples, H, W, F)
        A view of ``Z`` when possible.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.segmentation import to_pixel_features
    >>> to_pixel_features(np.zeros((2, 4 * 5 * 3)), (4, 5)).shape
    (2, 4, 5, 3)
    """
    Z = np.asarray(Z)
    hw = tuple(int(s) for s in image_shape)[-2:]
    if Z.ndim != 2 or len(hw) != 2:
        msg = f"Z must be 2-D (n_samples, H*W*F) and image_shape (H, W); got {Z.shape}, {image_shape!r}."
        raise ValueError(msg)
    n_pix = hw[0] * hw[1]
    if Z.shape[1] % n_pix:
        msg = f"Z has {Z.shape[1]} columns, not a multiple of H*W={n_pix} for image_shape {hw}."
        raise ValueError(msg)
    return Z.reshape(Z.shape[0], hw[0], hw[1], Z.shape[1] // n_pix)


def _training_patches(X, patch_size, max_patches, rng):
    """Images themselves when small, else random ``patch_size`` crops (bounded memory)."""
    n, _, h, w = X.shape
    if patch_size is None or (h <= patch_size and w <= patch_size):
        if n > max_patches:
            X = X[np.sort(rng.choice(n, max_patches, replace=False))]
        return np.ascontiguousarray(X, dtype=np.float32)
    ph, pw = min(patch_size, h), min(patch_size, w)
    n_total = max(max_patches, n)
    idx = rng.integers(0, n, n_total) if n_total > n else np.arange(n)
    idx = np.sort(idx[:max_patches]) if len(idx) > max_patches else np.sort(idx)
    out = np.empty((len(idx), X.shape[1], ph, pw), dtype=np.float32)
    for k, i in enumerate(idx):
        y0 = rng.integers(0, h - ph + 1)
        x0 = rng.integers(0, w - pw + 1)
        out[k] = X[i, :, y0:y0 + ph, x0:x0 + pw]
    return out


class HypercolumnExtractor(TransformerMixin, NetEstimatorMixin, BaseEstimator):
    """Per-pixel hypercolumn features from a convolutional autoencoder with skip connections.

    ``fit`` trains a :class:`~galaxy_learn.nn.ResidualConvAutoencoder` to reproduce its (scaled)
    input; ``transform`` stacks, for every pixel, the chosen layers' feature maps bilinearly
    up-sampled to input resolution (Hariharan et al. 2014). Each layer's block is divided by its
    typical activation (RMS over the training data, ``layer_scales_``) and multiplied by its weight,
    so ``layer_weights`` compare layers on one footing. Fine layers (``"input"``, ``"enc0"``) and
    the skip-connected decoder keep faint, small structure (and noise); coarse layers
    (``"enc2"``...) average over a neighbourhood (fewer noise detections, fewer faint objects):
    ``layers`` and ``layer_weights`` are the trade-off between finding faint objects and admitting
    noise.

    Scale the input first (fluxes in nanomaggies have heavy tails), e.g. with
    ``galaxy_learn.preprocessing.ImageScaler(method="asinh")`` in a pipeline.

    Parameters
    ----------
    layers : tuple of str, default=("input", "enc0", "enc1", "enc2")
        Feature maps to stack (see :func:`galaxy_learn.nn.autoencoder_layer_names`): ``"input"``,
        ``"enc0"`` … ``"enc{D-1}"``, ``"dec{D-2}"`` … ``"dec0"``, ``"output"``.
    layer_weights : tuple of float, default=None
        One weight per entry of ``layers`` (default all 1).
    channels : tuple of int, default=(8, 16, 32)
        Channels of the autoencoder's levels; the depth is ``len(channels)``.
    skip_connections : bool, default=True
        Residual connections between each down-sampling level and its up-sampling counterpart;
        False gives the plain autoencoder (for comparison).
    activation : {"relu", "elu", "leaky_relu", "tanh"}, default="relu"
    noise_std : float, default=0.0
        Input noise during training (a denoising autoencoder when > 0).
    image_shape : tuple of int, default=None
        ``(bands, height, width)`` to unflatten 2-D input.
    patch_size : int or None, default=64
        Images larger than this (fields) are trained on random ``patch_size`` crops.
    max_patches : int, default=256
        At most this many training images / crops (bounds memory and time).
    max_epochs : int, default=10
    batch_size : int, default=32
    lr : float, default=1e-3
        Adam learning rate.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None

    Attributes
    ----------
    net_ : AutoencoderNet
        The fitted skorch net (``net_.module_`` is the autoencoder).
    layer_names_ : list of str
        Every layer name the fitted network offers.
    layer_scales_ : ndarray of shape (n_layers,)
        RMS activation of each chosen layer over the training images.
    n_pixel_features_ : int
        ``F``, features per pixel.
    feature_slices_ : dict of str to slice
        Which of the ``F`` features come from which layer.
    input_shape_ : tuple of int
        ``(bands, height, width)`` seen in ``fit`` (``(n_features,)`` for tabular input).
    n_features_in_ : int
    history_ : skorch History

    See Also
    --------
    to_pixel_features : reshape ``transform`` output to ``(n, H, W, F)``.
    HypercolumnSegmenter : object / background segmentation by clustering these features.

    References
    ----------
    B. Hariharan, P. Arbeláez, R. Girshick, J. Malik, "Hypercolumns for object segmentation and
    fine-grained localization", CVPR 2015, arXiv:1411.5752.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.segmentation import HypercolumnExtractor, to_pixel_features
    >>> X = np.random.default_rng(0).normal(size=(8, 2, 16, 16)).astype("float32")
    >>> ext = HypercolumnExtractor(channels=(4, 8), layers=("enc0", "enc1"), max_epochs=1,
    ...                            random_state=0, device="cpu").fit(X)
    >>> Z = ext.transform(X)
    >>> Z.shape, ext.n_pixel_features_
    ((8, 3072), 12)
    >>> to_pixel_features(Z, (16, 16)).shape
    (8, 16, 16, 12)
    """

    _parameter_constraints = {
        "layers": [tuple, list],
        "layer_weights": [tuple, list, np.ndarray, None],
        "channels": [tuple, list],
        "skip_connections": ["boolean"],
        "activation": [StrOptions({"relu", "elu", "leaky_relu", "tanh"})],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "image_shape": [tuple, list, None],
        "patch_size": [Interval(Integral, 4, None, closed="left"), None],
        "max_patches": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    def __init__(
        self,
        layers=("input", "enc0", "enc1", "enc2"),
        *,
        layer_weights=None,
        channels=(8, 16, 32),
        skip_connections=True,
        activation="relu",
        noise_std=0.0,
        image_shape=None,
        patch_size=64,
        max_patches=256,
        max_epochs=10,
        batch_size=32,
        lr=1e-3,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.layers = layers
        self.layer_weights = layer_weights
        self.channels = channels
        self.skip_connections = skip_connections
        self.activation = activation
        self.noise_std = noise_std
        self.image_shape = image_shape
        self.patch_size = patch_size
        self.max_patches = max_patches
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _check_architecture(self):
        channels = tuple(self.channels)
        if not channels or not all(isinstance(c, (int, np.integer)) and c > 0 for c in channels):
            msg = f"The 'channels' parameter must be a non-empty tuple of positive ints. Got {self.channels!r}."
            raise ValueError(msg)
        available = autoencoder_layer_names(len(channels))
        layers = list(self.layers)
        bad = [name for name in layers if name not in available]
        if not layers or bad or len(set(layers)) != len(layers):
            msg = (
                f"The 'layers' parameter must be distinct names among {available} (depth "
                f"{len(channels)}). Got {self.layers!r}."
            )
            raise ValueError(msg)
        if self.layer_weights is None:
            weights = np.ones(len(layers))
        else:
            weights = np.asarray(self.layer_weights, dtype=float).ravel()
            if weights.shape != (len(layers),) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
                msg = (
                    f"The 'layer_weights' parameter must hold {len(layers)} non-negative finite "
                    f"values, one per layer in {layers}. Got {self.layer_weights!r}."
                )
                raise ValueError(msg)
        return channels, layers, weights

    def _validate_X(self, X, *, reset, any_size=False):
        if any_size and not reset:
            X_checked = check_images(X, image_shape=self.image_shape, allow_tabular=True)
            fitted = self.input_shape_
            bands = X_checked.shape[1] if X_checked.ndim == 4 else None
            if len(fitted) == 3 and bands is not None and bands != fitted[0]:
                msg = (
                    f"X has {bands} band(s) but {type(self).__name__} was fitted on "
                    f"{fitted[0]} band(s); bands must match between fit and transform."
                )
                raise ValueError(msg)
            if len(fitted) == 1 and X_checked.ndim == 2 and X_checked.shape[1] != fitted[0]:
                validate_image_data(self, X, reset=False, image_shape=self.image_shape,
                                    allow_tabular=True)
            return as_image_batch(X_checked, layout="row")
        X_checked = validate_image_data(
            self, X, reset=reset, image_shape=self.image_shape, allow_tabular=True
        )
        return as_image_batch(X_checked, layout="row")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` (``y`` is ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width) or (n_samples, n_features)
            Scaled images (or fields, trained on random crops).
        y : None
            Ignored.

        Returns
        -------
        self : HypercolumnExtractor
        """
        from ..nets import AutoencoderNet

        channels, layers, weights = self._check_architecture()
        X = self._validate_X(X, reset=True)
        device = self._resolve_device()
        seed = self._fit_seed()
        rng = np.random.default_rng(seed)
        X_train = _training_patches(X, self.patch_size, self.max_patches, rng)
        with torch_seeded(seed, device):
            self.net_ = AutoencoderNet(
                ResidualConvAutoencoder,
                module__in_channels=X.shape[1],
                module__channels=channels,
                module__skip_connections=bool(self.skip_connections),
                module__activation=self.activation,
                noise_std=float(self.noise_std),
                optimizer=torch.optim.Adam,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                train_split=None,
                verbose=0,
                **self._net_settings(seed, device=device),
            )
            self.net_.fit(X_train, None)
        module = self.net_.module_.eval()
        self.layer_names_ = module.layer_names
        ch = module.layer_channels()
        sizes = [ch[name] for name in layers]
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        self.feature_slices_ = {n: slice(int(a), int(b)) for n, a, b in zip(layers, bounds[:-1], bounds[1:])}
        self.n_pixel_features_ = int(bounds[-1])
        self.layer_scales_ = self._layer_rms(X_train[: min(len(X_train), 256)], layers, device)
        self.layer_weights_ = weights
        self.layers_ = layers
        return self

    def _layer_rms(self, X, layers, device):
        module = self.net_.module_

        def fn(xb):
            maps, _ = module.feature_maps(xb, layers)
            return tuple(maps[name].pow(2).mean(dim=(1, 2, 3)) for name in layers)

        ms = batched_apply(fn, X, batch_size=self.batch_size, device=device)
        rms = np.sqrt(np.array([np.mean(m) for m in ms], dtype=np.float64))
        rms[~(rms > 1e-12)] = 1.0  # dead layer (all-zero ReLU maps): leave it unscaled
        return rms

    def _pixel_features(self, X4, channels_last=True):
        check_is_fitted(self, "net_")
        module = self.net_.module_.eval()
        device = self.net_.device
        scales = [float(s) for s in self.layer_scales_]
        weights = [float(w) for w in self.layer_weights_]
        layers = self.layers_

        def fn(xb):
            return module.hypercolumns(xb, layers, weights=weights, scales=scales,
                                       channels_last=channels_last)

        return batched_apply(fn, X4, batch_size=self.batch_size, device=device)

    def hypercolumns(self, X):
        """Per-pixel features ``(n_samples, H, W, F)`` of images of any size (same bands as fit).

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, H, W)
            Scaled images; ``H`` and ``W`` may differ from those seen in ``fit`` (fully
            convolutional), e.g. one tile of a large field.

        Returns
        -------
        ndarray of float32, shape (n_samples, H, W, F)
        """
        check_is_fitted(self, "net_")
        X4 = self._validate_X(X, reset=False, any_size=True)
        return self._pixel_features(X4)

    def transform(self, X):
        """Hypercolumns as one row per image, ``(n_samples, H * W * F)`` (C order).

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width) or (n_samples, n_features)
            Same shape as in ``fit``.

        Returns
        -------
        ndarray of float32, shape (n_samples, H * W * F)
            Reshape with :func:`to_pixel_features` (``Z.reshape(-1, F)``: one pixel per row).
        """
        check_is_fitted(self, "net_")
        X4 = self._validate_X(X, reset=False)
        Z = self._pixel_features(X4)
        return Z.reshape(Z.shape[0], -1)

    def reconstruct(self, X):
        """The autoencoder's reconstruction (a denoised copy) of images of any size.

        Returns
        -------
        ndarray of float32, shape (n_samples, bands, H, W)
        """
        check_is_fitted(self, "net_")
        X4 = self._validate_X(X, reset=False, any_size=True)
        module = self.net_.module_.eval()
        out = batched_apply(module, X4, batch_size=self.batch_size, device=self.net_.device)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float32"]  # networks compute in float32
        tags.non_deterministic = False
        return tags

"""What :class:`~galaxy_learn.encoders.VAEEncoder` does to its input before the network.

The ``scaling="auto"`` transformer, the ``dimming`` augmentation (a denoising VAE: the encoder
sees each cutout made fainter at the same sky noise), PSF matching with ``psf_fwhm`` and the
``psf_statistic`` column joined to the codes, gathered in :class:`VAEInputMixin`, which the
estimator inherits. The network and its training are in ``_vae.py``.
"""
import numpy as np
from sklearn.base import clone

from ..preprocessing import ImageScaler, psf_rescale
from ..utils import (border_sigma, central_crop_slices, check_psf_fwhm, iter_chunks,
                     validate_image_data)
from ._psf_statistic import applies_to, estimate_widths, location, psf_statistic, spread_values

# Defaults of the internal scaling, chosen by the study of the user guide page "The VAE and its
# priors" (benchmarks/bench_vae.py): each cutout divided by its own central flux,
# arcsinh-stretched in units of the typical sky noise, central crop. ("peak" alone leaves pixel
# values of ~1/45 so the unit-variance reconstruction term is negligible beside the prior and
# the posterior collapses.)
# Each band by its own central flux (per_band): with the sum over bands the cutouts keep their
# colours, and in some fits the leading manifold coordinate followed the stellar colour sequence
# (Spearman rho 0.82 with g - r) instead of size (user guide, "The VAE and its priors").
_AUTO_METHOD = "peak_asinh"
_AUTO_CROP = 32
_AUTO_PER_BAND = True


def _auto_scaler(input_shape):
    """The ``scaling="auto"`` transformer for images of ``input_shape`` or tabular data."""
    if len(input_shape) == 1:
        return ImageScaler(method="zscore")
    _, h, w = input_shape
    crop = _AUTO_CROP if min(h, w) > _AUTO_CROP else None
    return ImageScaler(method=_AUTO_METHOD, crop=crop, per_band=_AUTO_PER_BAND)


def _dimmed(X, sigma, dimming, rng, window=None):
    """Images made Δm ~ U(0, ``dimming``) magnitudes fainter at the same sky noise.

    ``a·x + sqrt(1 − a²)·σ_band·ε`` with ``a = 10^(−0.4 Δm)``: the signal is scaled by ``a`` and
    the sky noise already in the image (scaled to ``a·σ``) is topped up to ``σ`` again, so the
    result looks like the same object observed Δm fainter in the same survey (source shot noise,
    small against the sky for most objects, is not re-simulated). With ``window`` (row and
    column slices) only those pixels are dimmed and the others are copied as they are: for a
    scaling that keeps a central crop and discards the rest (noise is drawn for the crop only).
    """
    a = (10.0 ** (-0.4 * rng.uniform(0.0, dimming, len(X)))).astype(np.float32)
    a4 = a[:, None, None, None]
    top_up = np.sqrt(1.0 - a**2)[:, None, None, None] * sigma[None, :, None, None]
    X = np.asarray(X, dtype=np.float32)
    if window is None:
        return a4 * X + top_up * rng.standard_normal(X.shape, dtype=np.float32)
    rows, cols = window
    out = X.copy()
    region = X[:, :, rows, cols]
    out[:, :, rows, cols] = a4 * region + top_up * rng.standard_normal(region.shape,
                                                                     dtype=np.float32)
    return out


def _allows_nonfinite(scaling):
    """Whether a user scaling transformer fills NaN pixels itself (``nan_policy != "raise"``)."""
    if scaling is None or isinstance(scaling, str):
        return False
    return getattr(scaling, "nan_policy", "raise") != "raise"


def _as_float32(X):
    X = np.asarray(X, dtype=np.float32)
    if not np.isfinite(X).all():
        msg = (
            "The scaled input contains NaN or infinity; check the 'scaling' transformer "
            "(e.g. ImageScaler(nan_policy='fill') for NaN-masked pixels)."
        )
        raise ValueError(msg)
    return X


class VAEInputMixin:
    """Input handling of :class:`~galaxy_learn.encoders.VAEEncoder`: validation, PSF matching,
    scaling, dimmed training copies and the PSF-statistic column (fitted state: ``scaler_``,
    ``sky_sigma_``, ``psf_target_fwhm_``, ``psf_statistic_fwhm_``)."""
    def _check_X(self, X, *, reset):
        return validate_image_data(
            self,
            X,
            reset=reset,
            image_shape=self.image_shape,
            allow_tabular=True,
            allow_nonfinite=_allows_nonfinite(self.scaling),
            min_samples=2 if reset else 1,
        )

    def _check_psf(self, X, psf_fwhm, *, reset):
        """``psf_fwhm`` as an array of shape (n_samples, n_bands), or None."""
        if reset:
            self.psf_target_fwhm_ = None
            if psf_fwhm is None:
                return None
            if X.ndim != 4:
                msg = "psf_fwhm needs image input (n_samples, bands, height, width); X is tabular."
                raise ValueError(msg)
            fwhm = check_psf_fwhm(psf_fwhm, X.shape[0], X.shape[1])
            self.psf_target_fwhm_ = np.median(fwhm, axis=0)
            return fwhm
        fitted = getattr(self, "psf_target_fwhm_", None) is not None
        if fitted and psf_fwhm is None:
            msg = (
                f"{type(self).__name__} was fitted with psf_fwhm (cutouts resampled to a common "
                "PSF width); pass the PSF FWHM of these cutouts as psf_fwhm too."
            )
            raise ValueError(msg)
        if not fitted and psf_fwhm is not None:
            msg = (
                f"{type(self).__name__} was fitted without psf_fwhm; psf_fwhm cannot be used "
                "here (refit with psf_fwhm to make the encoder PSF-aware)."
            )
            raise ValueError(msg)
        return None if psf_fwhm is None else check_psf_fwhm(psf_fwhm, X.shape[0], X.shape[1])

    def _rescale(self, X, fwhm):
        """Cutouts resampled to the training PSF width (``X`` itself without ``psf_fwhm``)."""
        return X if fwhm is None else psf_rescale(X, fwhm, self.psf_target_fwhm_)

    def _prepared_chunks(self, X, fwhm, dim=None):
        """``(cutouts, their psf_fwhm, network input)``, 1024 cutouts at a time: the raw
        (``dim``-med) chunk, then PSF-rescaled and scaled.

        A memory-mapped survey is never materialised (scaled) in full, and iter_chunks
        releases the memmap's pages behind each chunk.
        """
        for i, chunk in iter_chunks(X, 1024):
            if dim is not None:
                chunk = dim(chunk)
            chunk_fwhm = None if fwhm is None else fwhm[i:i + len(chunk)]
            yield chunk, chunk_fwhm, self._scale(self._rescale(chunk, chunk_fwhm))

    def _prepare(self, X, fwhm):
        """Input of the network for ``X`` (PSF-rescaled with ``psf_fwhm``, scaled)."""
        if fwhm is None:
            return self._scale(X)
        return np.concatenate([xs for _, _, xs in self._prepared_chunks(X, fwhm)])

    def _scale(self, X):
        if self.scaler_ is None:
            return _as_float32(X)
        return _as_float32(self.scaler_.transform(X))

    def _fit_scaler(self, X):
        if self.scaling is None:
            self.scaler_ = None
        elif isinstance(self.scaling, str):
            self.scaler_ = _auto_scaler(X.shape[1:]).fit(X)
        else:
            self.scaler_ = clone(self.scaling).fit(X)
        return self._scale(X)

    def _fit_prepare(self, X, fwhm):
        """Fit the scaling and the PSF statistic on the (PSF-rescaled) training cutouts; return
        the network input and the training cutouts' PSF statistic (None without one)."""
        rescaled = self._rescale(X, fwhm)
        values = self._fit_psf_statistic(X, rescaled, fwhm)
        return self._fit_scaler(rescaled), values

    def _training_data(self, X, Xs, fwhm, seed, first):
        """``Xs``, or ``{"x": Xs, "x_in": dimmed copies}`` (encoder input) when dimming.

        The dimming is applied to the raw cutouts (where the sky noise is white), before the
        PSF resampling and the scaling.
        """
        if first:
            self.sky_sigma_ = border_sigma(X).astype(np.float32) if X.ndim == 4 else None
        if not self.dimming or self.sky_sigma_ is None:
            return Xs
        rng = np.random.default_rng(seed)
        window = self._dimming_window(X, fwhm)
        chunks = self._prepared_chunks(
            X, fwhm,
            dim=lambda chunk: _dimmed(chunk, self.sky_sigma_, self.dimming, rng, window=window))
        x_in = np.concatenate([xs for _, _, xs in chunks])
        return {"x": Xs, "x_in": x_in}

    def _dimming_window(self, X, fwhm):
        """The pixels the network sees when the scaling is an ``ImageScaler`` keeping a central
        crop (the default for stamps above 32 px), else None (all of them). With ``psf_fwhm``
        the stamps are resampled after dimming, which moves pixels: None."""
        crop = getattr(self.scaler_, "crop", None)
        if fwhm is not None or crop is None or not isinstance(self.scaler_, ImageScaler):
            return None
        return central_crop_slices(X.shape[2], X.shape[3], crop)

    def _fit_psf_statistic(self, X, rescaled, fwhm):
        """The PSF width (measured on the PSF-matched cutouts ``rescaled``) and the location of
        the physical column on the training cutouts ``X`` (image input only); returns the
        statistic of every training cutout (None when no column is joined)."""
        self.psf_statistic_fwhm_ = None
        if self.psf_statistic is None or not applies_to(self.input_shape_):
            return None
        width, measured = estimate_widths(rescaled)
        self.psf_statistic_fwhm_ = width
        self.psf_statistic_measured_ = measured
        values = spread_values(X, self._pixel_fwhm(fwhm))
        self._psf_statistic_loc_ = location(values)
        return values

    def _pixel_fwhm(self, fwhm):
        """PSF FWHM in pixels for SPREAD_MODEL: the measured width, or with ``psf_fwhm`` each
        cutout's own width converted to pixels (the measured width of the PSF-matched cutouts
        over their target width gives the unit), so the raw cutouts are measured unresampled."""
        if fwhm is None:
            return self.psf_statistic_fwhm_
        return fwhm * (self.psf_statistic_fwhm_ / self.psf_target_fwhm_)

    def _psf_column(self, X, fwhm, values=None):
        """The joined column of cutouts ``X`` (from their statistic ``values`` when known)."""
        if values is None:
            values = spread_values(X, self._pixel_fwhm(fwhm))
        center, scale = self._psf_statistic_loc_
        return psf_statistic(values, center, scale, self.psf_statistic_weight)

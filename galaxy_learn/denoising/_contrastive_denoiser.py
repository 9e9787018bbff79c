"""ContrastiveDenoiser: a U-Net denoising autoencoder whose bottleneck is trained contrastively.

Follows the Galaxy Zoo: Hubble denoiser: the network learns to map noisy views of the training
images back to the (augmented) images themselves, with a foreground SSIM loss, a background
total-variation + darkening loss (so noise present in the targets' background is removed too) and
an NT-Xent loss between the projections of the two views of each image, so that the pooled
encoder features are an embedding in which galaxies of similar appearance lie close together.
"""
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from .._base import NetEstimatorMixin
from ..utils import (
    as_image_batch,
    batched_apply,
    check_dynamic_range,
    torch_seeded,
    training_dtype,
    validate_image_data,
)
from ..utils._compat import Interval, StrOptions, _fit_context, check_is_fitted

__all__ = ["ContrastiveDenoiser"]


def _border_median(x):
    """Per-image, per-band sky level: median of a border of width ``min(H, W) // 8`` (torch).

    Images too small to have a border around a centre (fewer than 3 pixels a side, e.g. tabular
    rows seen as 1x1-pixel images) get a sky level of 0: the scaler's offset alone applies.
    """
    h, w = x.shape[-2:]
    b = max(1, min(h, w) // 8)
    if 2 * b >= h or 2 * b >= w:
        return torch.zeros_like(x[..., :1, :1])
    border = torch.cat(
        [x[..., :b, :].flatten(2), x[..., -b:, :].flatten(2),
         x[..., b:-b, :b].flatten(2), x[..., b:-b, -b:].flatten(2)], dim=2,
    )
    return border.median(dim=2).values[..., None, None]


def _keep_low_frequencies(out, signal, scale):
    """Give ``out`` the spatial frequencies of ``signal`` below a Gaussian of sigma ``scale``.

    Returns ``out + G_scale * (signal - out)`` per image and band (torch, any batch shape),
    with ``G_scale`` the Gaussian low-pass filter of standard deviation ``scale`` pixels applied
    by FFT (periodic boundaries, so the filter's DC gain is exactly 1): the denoiser may only
    move light on scales below ``scale``. The integrated flux of every band (the DC term) is the
    input's exactly, the sky level and therefore its colour are the input's, and the flux in any
    aperture much larger than ``scale`` is the input's; the price is the input's noise averaged
    over the filter, ``sigma / (2 sqrt(pi) scale)`` per pixel for white noise ``sigma``.
    """
    h, w = out.shape[-2:]
    fy = torch.fft.fftfreq(h, device=out.device, dtype=out.dtype)[:, None]
    fx = torch.fft.rfftfreq(w, device=out.device, dtype=out.dtype)[None, :]
    gain = torch.exp(-2.0 * (math.pi * scale) ** 2 * (fy**2 + fx**2))
    low = torch.fft.irfft2(torch.fft.rfft2(signal - out) * gain, s=(h, w))
    return out + low


class _ScaledView:
    """Lazy, sliceable view of ``scaler.transform(X)``: one batch scaled at a time."""

    def __init__(self, X, scaler):
        self.X = X
        self.scaler = scaler

    def __len__(self):
        return len(self.X)

    def __getitem__(self, sl):
        return self.scaler.transform(self.X[sl])


class ContrastiveDenoiser(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NetEstimatorMixin,
                          BaseEstimator):
    """U-Net denoising autoencoder with a contrastive (NT-Xent) projection head.

    ``fit`` trains on images treated as the clean targets ``C``: each batch gets two random
    geometric transforms (``C1``, ``C2``), Poisson + Gaussian noise (``N1``, ``N2``) and foreground
    masks from the clean views (``M1``, ``M2``); the network reconstructs ``C1``, ``C2`` from
    ``N1``, ``N2`` (foreground SSIM, background total variation and darkening) while the
    projections of ``N1`` and ``N2`` are pulled together and pushed away from the rest of the batch
    (NT-Xent). The views also differ in brightness (``brightness_range``). ``transform`` returns
    the global average of the bottleneck's feature maps (``embedding``: a representation before
    the projection head, as SimCLR's linear evaluation uses); ``denoise`` returns cleaned images
    in the input's units, with the input's integrated flux and sky level in every band
    (``flux_scale``).

    Scaling (inverted by ``denoise``): a :class:`~galaxy_learn.preprocessing.ImageScaler`
    (``method="minmax"``: per band, the 0.5-99.5 percentile range of the training pixels maps to
    [0, 1]) fitted in ``fit`` as ``scaler_``; then each image's per-band sky level (median of a
    border of width ``min(H, W) // 8``) is subtracted, the level the darkening term pulls the
    background to, and added back after denoising. Noise levels and the mask floor below are in
    these scaled units (1 ~ a bright galaxy pixel).

    Parameters
    ----------
    base_channels : int, default=16
        Channels of the U-Net's first level (doubled at each of the ``depth`` down-samplings).
    depth : int, default=3
        Number of down-samplings; images are padded to a multiple of ``2**depth`` internally and
        cropped back, so any size works.
    upsampling : {"bilinear", "transposed"}, default="bilinear"
        The decoder's up-sampling: bilinear interpolation keeping the coarser level's channels,
        or the original U-Net's 2x2 stride-2 transposed convolution halving them.
    decoder_convs : int, default=2
        3x3 convolutions per decoder level. The encoder, whose pooled maps ``transform``
        returns, is the same whatever the decoder. ``upsampling="transposed",
        decoder_convs=1`` trains about 1.4x faster per epoch, but on simulated morphologies
        its linear probes were lower at equal epochs (user guide, speed page).
    unshuffle : int, default=1
        FFDNet's reversible down-sampling (Zhang, Zuo & Zhang 2018, IEEE TIP 27, 4608): each
        ``unshuffle x unshuffle`` block of pixels becomes ``unshuffle**2`` channels before the
        U-Net's first level and the output is re-assembled after the last, so every level runs
        at ``1 / unshuffle**2`` of the pixels, with no pixel lost. 2 trains about 3x faster
        per epoch on 64x64 images; on simulated morphologies its probes and the noisy-input
        SSIM were lower than the default's at any number of epochs (user guide, speed page).
    embedding_dim : int, default=64
        Size of the representation ``h`` (a linear map of the pooled bottleneck) that feeds the
        projection head; ``transform`` returns it with ``embedding="head"``.
    projection_dim : int, default=32
        Size of the projection head's output used by the contrastive loss.
    embedding : {"bottleneck", "multiscale", "head"}, default="bottleneck"
        What ``transform`` returns: ``"bottleneck"``, the global averages of the bottleneck's
        feature maps (``base_channels * 2**depth`` values), the best for clustering;
        ``"multiscale"``, those of every encoder level concatenated
        (``base_channels * (2**(depth + 1) - 1)`` values), the best for a supervised linear
        read-out but it also carries the flux; ``"head"``, the ``embedding_dim``-sized ``h``
        (the input of the projection MLP). See Notes for the measurements.
    temperature : float, default=0.5
        NT-Xent temperature.
    ssim_weight : float, default=1.0
        Weight of the foreground SSIM loss ``1 - SSIM(pred * M, C * M)``.
    tv_weight : float, default=0.1
        Weight of the background total variation.
    dark_weight : float, default=10.0
        Weight of the background darkening term (mean squared value of the background, sky = 0).
    contrastive_weight : float, default=0.3
        Weight of the NT-Xent loss.
    l1_weight : float, default=1.0
        Weight of the mean absolute error over the foreground (helps SSIM pin absolute levels;
        set 0 for the SSIM-only foreground loss of the Galaxy Zoo: Hubble denoising project).
    noise_sigma : float, default=0.1
        Gaussian noise added to the training views (scaled units); each image draws its level
        uniformly in [0.25, 1] of it.
    noise_gain : float or None, default=100.0
        Poisson gain (counts per scaled unit) of the added shot noise; None for Gaussian only.
    max_rotation : float, default=15.0
        Random rotation (degrees) on top of random flips and 90-degree rotations.
    max_shift : float, default=0.05
        Random shift, as a fraction of the image size.
    brightness_range : float, default=3.0
        Each training view (target and noisy input) is multiplied by its own factor drawn
        log-uniformly in ``[1 / brightness_range, brightness_range]`` before the noise is added,
        so the two views of a galaxy differ in flux and signal-to-noise ratio as well as in
        geometry and noise realisation. Without it (``1.0``) the NT-Xent loss tells the images of
        a batch apart by their brightness, which the two views share, and the embedding follows
        flux rather than morphology (see Notes).
    flux_scale : float or None, default=2.0
        Flux and colour conservation of :meth:`denoise`: the output keeps the input's spatial
        frequencies below a Gaussian low-pass of this standard deviation (pixels), i.e. returns
        ``net + G * (input - net)`` per band, so the network may only move light on scales below
        ``flux_scale``. The integrated flux of every band is the input's exactly (the filter's
        DC gain is 1), the sky level and its colour are the input's, and the flux in apertures
        much larger than ``flux_scale`` is the input's; the cost is the input's noise averaged
        over the filter, ``sigma / (2 sqrt(pi) flux_scale)`` per pixel (a noise reduction of at
        most about 7 at 2 pixels). Keep it near the PSF's sigma. None returns the raw network
        output, which does not conserve flux (see Notes and the user guide, :doc:`/denoising`).
    mask_threshold : float, default=3.0
        Foreground = band-mean of the clean view above ``median + mask_threshold * sigma_MAD``
        of the image (and above ``mask_floor``), dilated by one pixel.
    mask_floor : float, default=0.02
        Minimum foreground level (scaled units), needed for noiseless training images.
    image_shape : tuple of int, default=None
        ``(bands, height, width)`` to unflatten 2-D input. 2-D input without it is treated as
        1x1-pixel images whose bands are the features (as ``ImageScaler``).
    batch_size : int, default=16
        Training and inference batch size (small batches give more optimiser steps per epoch,
        which mattered most on a CPU; on a GPU raise it, and ``lr`` with it, for more
        negatives in the NT-Xent loss).
    max_epochs : int, default=20
        Training epochs.
    lr : float, default=2e-3
        Adam's initial learning rate.
    lr_schedule : {"cosine", "constant"}, default="constant"
        ``"cosine"`` anneals the learning rate from ``lr`` towards 0 over ``max_epochs``
        (``torch.optim.lr_scheduler.CosineAnnealingLR``, one step per epoch; Loshchilov &
        Hutter 2017). ``"constant"`` keeps ``lr``. On simulated morphologies, 8 epochs with
        the schedule gave the same probe and SSIMs as 8 at a constant rate (user guide, speed
        page).
    precision : {"auto", "float32", "bfloat16"}, default="float32"
        Arithmetic of the training forward pass: ``"bfloat16"`` runs it under
        ``torch.autocast`` (weights, optimiser, loss and inference stay float32), ``"auto"``
        does so where the device computes bfloat16 natively (a CUDA GPU that supports it, a
        CPU with AVX512-BF16 or AMX) and uses float32 elsewhere. A fixed ``random_state``
        reproduces a fit on the same hardware; ``"float32"`` makes it independent of it.
        Only the U-Net's convolutions run in bfloat16; its representation and projection head
        stay float32. bfloat16 trained 1.6x faster on such a CPU; over five paired seeds at 8
        epochs it matched float32's SSIMs, linear probes of simulated morphologies and real
        SDSS star/galaxy probe. With ``max_epochs=8`` the fit of 1,400 64x64 three-band
        images takes 3 minutes on a 2-core CPU, but 8 epochs give a spiral vs smooth probe
        0.006 below the 20 default ones (user guide, speed page), so the defaults keep float32
        for 20 epochs.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, batch order and augmentations.
    verbose : int, default=0
        Show a progress bar per epoch when > 0.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks (e.g. ``EarlyStopping``, ``Checkpoint``).

    Attributes
    ----------
    net_ : ContrastiveDenoiserNet
        The fitted skorch net (its ``module_`` is a :class:`galaxy_learn.nn.UNet`).
    scaler_ : ImageScaler
        The fitted per-band scaler (``method="minmax"``).
    input_shape_ : tuple of int
        Shape of one sample seen in ``fit``.
    n_features_in_ : int
        Number of values per sample seen in ``fit``.
    history_ : skorch History
        Loss per epoch and batch, including ``ssim_loss``, ``tv_loss``, ``dark_loss`` and
        ``contrastive_loss``.

    See Also
    --------
    galaxy_learn.losses.DenoisingContrastiveLoss : the training loss.
    galaxy_learn.datasets.make_galaxy_images : simulated morphologies to cluster.

    Notes
    -----
    Measured on held-out simulated morphologies (:func:`~galaxy_learn.datasets.make_galaxy_images`,
    32x32 gri, 2,000 training images, 3-5 epochs; logistic-regression probe spiral vs smooth,
    5-class accuracy, k-means ARI with the 5 true classes). Two defects kept the embedding from
    following morphology. (1) The views differed only in geometry and noise, so the NT-Xent loss
    matched them by their brightness: ``h`` predicted the log flux with R^2 = 0.90 and training
    with the contrastive loss made it worse than random weights (probe 0.73 with
    ``contrastive_weight=0.1``, 0.70 with 1.0, against 0.85 with random weights and 0.91 with the
    denoising losses alone; ARI 0.01). A brightness factor per view (``brightness_range=3``)
    removes the shortcut; a lower temperature did not help, a random zoom hurt. (2) The pooled
    group-normalised bottleneck varies little between images and the projection head
    (Linear-ReLU-Linear) often collapsed: NT-Xent stayed at its chance value ``log(2n - 1)`` for a
    whole fit. SimCLR's batch normalisation in the head fixes it. With both (5 epochs, seeds 0
    and 1): bottleneck probe 0.979 / 0.976, 5-class 0.86 / 0.86, ARI 0.52 / 0.58; multiscale
    0.990 / 0.995, 0.92 / 0.92, ARI 0.41 / 0.44; ``h`` 0.979 / 0.974, ARI 0.53 / 0.42. Without
    them the same run gave ARI 0.01. ``benchmarks/bench_denoiser.py`` reports the figures at 64x64.

    Flux and colour (user guide, "Flux and colour conservation"; 32x32 gri simulations at sky
    sigma 1, 512 training images, 8 epochs, 128 held-out images; per band, median and 5-95 %
    range of output / input flux over the whole stamp). The raw network (``flux_scale=None``)
    gave g 1.06 [0.92, 1.38], r 1.31 [1.01, 1.75], i 1.06 [0.92, 1.29], a sky raised by 0.05,
    0.72 and 0.19 sigma in g, r, i (a colour cast), foreground-and-background SSIM against the
    noiseless images 0.912 (noisy input 0.915). With ``flux_scale=2``: 1.000 in every band
    (exact), central aperture (radius H/4) 0.995-0.997 [0.97, 1.01], sky within -0.06 to -0.02
    sigma of the input's, SSIM 0.976. On 81 real SDSS gri galaxy stamps (64x64, field
    4510-4-30): raw central-aperture ratios g 1.12 [0.37, 2.65], r 0.95 [0.37, 1.39],
    i 1.32 [0.52, 2.11]; with ``flux_scale=2``: 1.00 [0.96, 1.03] in every band. Training
    with a flux term in the loss instead (:func:`~galaxy_learn.losses.flux_conservation_loss`,
    weight 0.1 and 1) and a residual U-Net did not conserve the flux and lowered the SSIM.

    There is no ``inverse_transform``: the U-Net decoder needs the encoder's skip connections,
    so the embedding alone cannot be decoded. Use :meth:`denoise`.

    References
    ----------
    Ronneberger, Fischer & Brox (2015), U-Net, arXiv:1505.04597.
    Chen et al. (2020), A Simple Framework for Contrastive Learning (SimCLR), arXiv:2002.05709.

    Examples
    --------
    >>> from galaxy_learn import ContrastiveDenoiser
    >>> from galaxy_learn.datasets import make_galaxy_images
    >>> X, y, truth = make_galaxy_images(32, image_size=16, random_state=0)
    >>> est = ContrastiveDenoiser(base_channels=4, depth=2, embedding_dim=8, max_epochs=1,
    ...                           device="cpu", random_state=0).fit(X)
    >>> est.transform(X).shape  # the 4 * 2**2 pooled bottleneck channels
    (32, 16)
    >>> est.denoise(X).shape
    (32, 3, 16, 16)
    """

    _parameter_constraints = {
        "base_channels": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 0, None, closed="left")],
        "upsampling": [StrOptions({"bilinear", "transposed"})],
        "decoder_convs": [Interval(Integral, 1, None, closed="left")],
        "unshuffle": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "projection_dim": [Interval(Integral, 1, None, closed="left")],
        "embedding": [StrOptions({"bottleneck", "multiscale", "head"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "ssim_weight": [Interval(Real, 0, None, closed="left")],
        "tv_weight": [Interval(Real, 0, None, closed="left")],
        "dark_weight": [Interval(Real, 0, None, closed="left")],
        "contrastive_weight": [Interval(Real, 0, None, closed="left")],
        "l1_weight": [Interval(Real, 0, None, closed="left")],
        "flux_scale": [Interval(Real, 0, None, closed="neither"), None],
        "noise_sigma": [Interval(Real, 0, None, closed="left")],
        "noise_gain": [Interval(Real, 0, None, closed="neither"), None],
        "max_rotation": [Interval(Real, 0, 180, closed="both")],
        "max_shift": [Interval(Real, 0, 0.5, closed="both")],
        "brightness_range": [Interval(Real, 1, None, closed="left")],
        "mask_threshold": [Interval(Real, None, None, closed="neither")],
        "mask_floor": [Interval(Real, None, None, closed="neither")],
        "image_shape": [tuple, list, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "device": [StrOptions({"auto", "cpu", "cuda", "mps"}), str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    def __init__(
        self,
        base_channels=16,
        *,
        depth=3,
        upsampling="bilinear",
        decoder_convs=2,
        unshuffle=1,
        embedding_dim=64,
        projection_dim=32,
        embedding="bottleneck",
        temperature=0.5,
        ssim_weight=1.0,
        tv_weight=0.1,
        dark_weight=10.0,
        contrastive_weight=0.3,
        l1_weight=1.0,
        flux_scale=2.0,
        noise_sigma=0.1,
        noise_gain=100.0,
        max_rotation=15.0,
        max_shift=0.05,
        brightness_range=3.0,
        mask_threshold=3.0,
        mask_floor=0.02,
        image_shape=None,
        batch_size=16,
        max_epochs=20,
        lr=2e-3,
        lr_schedule="constant",
        precision="float32",
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.base_channels = base_channels
        self.depth = depth
        self.upsampling = upsampling
        self.decoder_convs = decoder_convs
        self.unshuffle = unshuffle
        self.embedding_dim = embedding_dim
        self.projection_dim = projection_dim
        self.embedding = embedding
        self.temperature = temperature
        self.ssim_weight = ssim_weight
        self.tv_weight = tv_weight
        self.dark_weight = dark_weight
        self.contrastive_weight = contrastive_weight
        self.l1_weight = l1_weight
        self.flux_scale = flux_scale
        self.noise_sigma = noise_sigma
        self.noise_gain = noise_gain
        self.max_rotation = max_rotation
        self.max_shift = max_shift
        self.brightness_range = brightness_range
        self.mask_threshold = mask_threshold
        self.mask_floor = mask_floor
        self.image_shape = image_shape
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _validate(self, X, *, reset):
        X = validate_image_data(self, X, reset=reset, image_shape=self.image_shape,
                                allow_tabular=True)
        if reset:  # one 1e30 pixel would squash the min-max scaling: name it, not the lr
            check_dynamic_range(X)
        return as_image_batch(X)  # tabular rows: 1x1-pixel images

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the denoising autoencoder and its projection head on images ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands, height, width)
            Training images (the clean targets; noise is added on the fly). Flattened rows are
            accepted with ``image_shape``.
        y : None
            Ignored.

        Returns
        -------
        self : ContrastiveDenoiser
        """
        from ..losses import DenoisingContrastiveLoss
        from ..nets import ContrastiveDenoiserNet, cosine_schedule, passthrough_scores
        from ..nn import UNet
        from ..preprocessing import ImageScaler

        X = self._validate(X, reset=True)
        seed = self._fit_seed()
        device = self._resolve_device()
        self.scaler_ = ImageScaler(method="minmax").fit(X)
        Xs = torch.as_tensor(self.scaler_.transform(X))
        Xs = (Xs - _border_median(Xs)).numpy()
        extra = passthrough_scores(
            ["ssim_loss", "l1_loss", "tv_loss", "dark_loss", "contrastive_loss", "flux_loss"]
        )
        if self.lr_schedule == "cosine":
            extra.append(cosine_schedule(self.max_epochs))
        with torch_seeded(seed, device):
            self.net_ = ContrastiveDenoiserNet(
                UNet,
                module__in_channels=X.shape[1],
                module__base_channels=self.base_channels,
                module__depth=self.depth,
                module__upsampling=self.upsampling,
                module__decoder_convs=self.decoder_convs,
                module__unshuffle=self.unshuffle,
                module__embedding_dim=self.embedding_dim,
                module__projection_dim=self.projection_dim,
                criterion=DenoisingContrastiveLoss,
                criterion__ssim_weight=self.ssim_weight,
                criterion__tv_weight=self.tv_weight,
                criterion__dark_weight=self.dark_weight,
                criterion__contrastive_weight=self.contrastive_weight,
                criterion__temperature=self.temperature,
                criterion__l1_weight=self.l1_weight,
                noise_gain=self.noise_gain,
                noise_sigma=self.noise_sigma,
                max_rotation=self.max_rotation,
                max_shift=self.max_shift,
                brightness_range=self.brightness_range,
                mask_threshold=self.mask_threshold,
                mask_floor=self.mask_floor,
                augment_seed=seed,
                autocast_dtype=training_dtype(self.precision, device),
                optimizer=torch.optim.Adam,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                train_split=None,
                verbose=0,
                **self._net_settings(seed, extra_callbacks=extra, device=device),
            )
            self.net_.fit(Xs, None)
        self.net_.module_.eval()
        return self

    def _apply(self, X, fn):
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        module = self.net_.module_
        module.eval()
        device = self.net_.device
        return batched_apply(lambda zb: fn(module, zb), _ScaledView(X, self.scaler_),
                             batch_size=self.batch_size, device=device)

    def transform(self, X):
        """Embed images: pooled encoder features (``embedding``; eval mode, deterministic).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands, height, width)
            Images of the band count and size seen in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_embedding)
            ``n_embedding`` depends on ``embedding`` (see the class parameters).
        """

        def embed(module, zb):
            zb = zb - _border_median(zb)
            if self.embedding == "head":
                return module.embedding(zb)
            return module.pooled_features(zb, multiscale=self.embedding == "multiscale")

        return self._apply(X, embed)

    def denoise(self, X):
        """Denoise images, returned in the input's units and layout.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bands, height, width)
            Noisy images (3-D single-band stacks and flattened rows are returned in the same
            layout).

        Returns
        -------
        X_clean : ndarray of float32, same shape as the validated input
        """

        def clean(module, zb):
            sky = _border_median(zb)
            out = module(zb - sky)[0]
            if self.flux_scale is not None:
                out = _keep_low_frequencies(out, zb - sky, float(self.flux_scale))
            return out + sky

        ndim = np.ndim(X) if not hasattr(X, "shape") else len(X.shape)
        out = self.scaler_.inverse_transform(self._apply(X, clean))
        if ndim == 2:
            return out.reshape(out.shape[0], -1)
        if ndim == 3:
            return out[:, 0]
        return out

    @property
    def _n_features_out(self):
        if self.embedding == "head":
            return self.embedding_dim
        if self.embedding == "bottleneck":
            return self.base_channels * 2**self.depth
        return self.base_channels * (2 ** (self.depth + 1) - 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

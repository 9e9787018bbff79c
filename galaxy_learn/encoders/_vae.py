"""VAEEncoder: a (variational) autoencoder as a scikit-learn transformer with selectable priors.

The estimator owns a skorch :class:`~galaxy_learn.nets.VAENet` (``net_``) built in ``fit``. Raw
survey images are scaled inside (``scaling``), encoded by a strided-convolution network (or an MLP
for tabular input), and ``transform`` returns the posterior means of the latent units.
"""
import numbers
import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone

from .._base import NetEstimatorMixin
from ..losses import PRIORS, make_prior
from ..nn import VAEModule
from ..nets import mean_history
from ..preprocessing import psf_rescale
from ..utils import (
    batched_apply,
    border_sigma,
    check_psf_fwhm,
    iter_chunks,
    torch_seeded,
    validate_image_data,
)
from ..utils._compat import HasMethods, Interval, StrOptions, _fit_context, check_is_fitted
from ._psf_statistic import (
    PSF_STATISTICS,
    applies_to,
    estimate_widths,
    location,
    psf_statistic,
    spread_values,
)

__all__ = ["VAEEncoder", "make_hierarchical_vae"]

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

_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def _auto_scaler(input_shape):
    """The ``scaling="auto"`` transformer for images of ``input_shape`` or tabular data."""
    from ..preprocessing import ImageScaler

    if len(input_shape) == 1:
        return ImageScaler(method="zscore")
    _, h, w = input_shape
    crop = _AUTO_CROP if min(h, w) > _AUTO_CROP else None
    return ImageScaler(method=_AUTO_METHOD, crop=crop, per_band=_AUTO_PER_BAND)


def _dimmed(X, sigma, dimming, rng):
    """Images made Δm ~ U(0, ``dimming``) magnitudes fainter at the same sky noise.

    ``a·x + sqrt(1 − a²)·σ_band·ε`` with ``a = 10^(−0.4 Δm)``: the signal is scaled by ``a`` and
    the sky noise already in the image (scaled to ``a·σ``) is topped up to ``σ`` again, so the
    result looks like the same object observed Δm fainter in the same survey (source shot noise,
    small against the sky for most objects, is not re-simulated).
    """
    a = (10.0 ** (-0.4 * rng.uniform(0.0, dimming, len(X)))).astype(np.float32)
    top_up = np.sqrt(1.0 - a**2)[:, None, None, None] * sigma[None, :, None, None]
    noise = rng.standard_normal(X.shape, dtype=np.float32)
    return a[:, None, None, None] * np.asarray(X, dtype=np.float32) + top_up * noise


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


class VAEEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NetEstimatorMixin,
                 BaseEstimator):
    """Convolutional variational autoencoder with selectable latent priors, as a transformer.

    ``fit`` trains the (V)AE without labels; ``transform`` returns the posterior means of the
    latent units, which a manifold learner (e.g. :class:`~sklearn.manifold.Isomap`) and a
    threshold turn into an unsupervised star/galaxy classifier.

    Parameters
    ----------
    n_latent : int, default=2
        Number of latent units (output features of ``transform``).
    prior : str or object, default="dkl"
        Prior term on the latent posterior N(μ, σ²):

        * ``"normal"``: KL to N(0, 1), closed form.
        * ``"dkl"``: exact KL to the double-peak prior ½N(−m, s²) + ½N(m, s²) (quadrature).
        * ``"dkl_seed"``: the closed-form approximation of it by Sun (2017, project notebook,
          §1.1.2.2), as published (it is not a KL: negative and asymmetric for μ < 0; kept to
          reproduce that work).
        * ``"scaling"``: the convexity upper bound log(s/σ) + (σ² + μ² + m²)/(2s²) − ½.
        * ``"aw"``: −‖μ‖_p + ‖σ − s‖_p with μ bounded by m·tanh.
        * ``"pw"``: ‖μ‖_p + (Σ ∫|P − Q|^p dx)^{1/p} (exact for p=2).
        * ``"none"``: plain deterministic autoencoder.
        * an object with a ``kl(mu, logvar) -> Tensor of shape (n,)`` method (optional
          ``mean_activation``, ``sample``, ``log_prob``, ``stochastic``), see
          :mod:`galaxy_learn.losses`.
    m : float, default=1.0
        Half distance between the peaks of the double-peak prior (and the tanh bound of "aw").
    s : float, default=0.5
        Standard deviation of each peak.
    p : float, default=2.0
        Norm order of "aw" and "pw".
    kl_weight : float, default=0.03
        β, weight of the prior term against the reconstruction term (summed over pixels); a
        larger weight pulls the codes harder towards the prior at the expense of
        reconstruction. The default was chosen by a paired seed study (user guide, "The VAE and
        its priors").
    n_prior_latent : int, default=None
        Apply the prior to the first ``n_prior_latent`` units only, leaving the others free for
        reconstruction (the unsupervised analogue of a conditional VAE of Sun et al. 2017,
        "Conditional VAE", the most stable of their designs). None: all units.
    n_ensemble : int, default=3
        Number of VAEs trained independently (a deep ensemble): each member is a fit of its own
        with its own seed — initialisation, shuffling and dimming draws — member 0 being the fit
        ``n_ensemble=1`` gives. ``transform`` returns their codes concatenated
        (``n_latent * n_ensemble`` features, member by member); the manifold learner downstream
        then follows what the members share rather than one fit's accidents. Costs
        ``n_ensemble`` times the training and inference compute (``n_ensemble=1`` for a single,
        faster fit). ``callbacks`` run in every member's fit (a ``Checkpoint`` writes each member
        in turn to the same files); ``history_`` holds the members' mean losses per epoch.
        ``partial_fit`` and ``warm_start`` continue all members together on shared batches.
        The ensemble absorbs the occasional failed single fit (measured in the user guide, "The
        VAE and its priors").
    dimming : float, default=3.0
        Signal-to-noise augmentation of image input, in magnitudes (0 disables it). During
        training the encoder sees each image made Δm ~ U(0, ``dimming``) fainter at the same sky
        noise (one fixed, seeded copy per image; the per-band sky noise is measured on the outer
        pixels of the training images) while the decoder must reconstruct the original: a
        denoising VAE whose code cannot depend on how noisy its input is (without it a 2-unit
        code spends a direction on signal-to-noise; measured in the user guide, "The VAE and its
        priors"). Costs one more scaled copy of the training set in memory. Ignored for tabular
        input; ``transform`` encodes images as given.
    psf_statistic : {"spread_model"} or None, default="spread_model"
        A physical column joined to the codes: ``transform`` returns the codes followed by the
        SPREAD_MODEL of each cutout (:func:`~galaxy_learn.photometry.spread_model`, Desai et
        al. 2012: does the PSF or a slightly extended PSF fit the object better), measured
        against the PSF of the training cutouts, which ``fit`` estimates without labels from
        their bright point sources (:func:`~galaxy_learn.photometry.estimate_psf_fwhm`; g, r,
        i, z of ugriz input). A star *is* the PSF: on real SDSS frames and ZTF cutouts the
        codes alone lose to the concentration index and this column carries the separation
        (user guide, "Star/galaxy separation on real data"). One PSF is estimated per fit: for
        cutouts of one field, or of fields of similar seeing. Cutouts whose seeing varies
        widely (many fields, or a simulation with one seeing per cutout) need ``psf_fwhm``
        (every survey publishes it): each cutout is then measured against its own PSF width,
        converted to pixels by the widths measured on the PSF-matched training cutouts.
        Without it such a sample is better served by the codes alone (``None``): on the GalSim
        set (one seeing per cutout) the column measured against one PSF lowered the AUC.
        Image input of at least 9x9 pixels only; None returns the codes alone.
    psf_statistic_weight : float, default=32.0
        The column is standardised on the training set (median, standard deviation),
        compressed by an arcsinh (the tail of large galaxies would otherwise sit apart from
        everything in Isomap's neighbour graph) and multiplied by this weight, which sets how
        much a Euclidean manifold learner downstream (Isomap) follows it rather than the codes.
        At 32 Isomap's coordinate follows the column; lower weights mix in the codes, which
        lowered the AUC on real SDSS and ZTF data and on the GalSim set (user guide, "Star/galaxy
        separation on real data").
    reconstruction : {"gaussian", "bce"}, default="gaussian"
        Likelihood of the decoder: unit-variance Gaussian (linear output) or Bernoulli (sigmoid
        output; for data scaled to [0, 1], e.g. ``ImageScaler("minmax")``).
    scaling : "auto", None or transformer, default="auto"
        Input scaling fitted on the training data and applied before the network.
        ``"auto"``: :class:`~galaxy_learn.preprocessing.ImageScaler` with
        ``method="peak_asinh", per_band=True`` (each band of each cutout divided by its own
        central flux, which removes brightness and colour, then an arcsinh stretch in units of
        the typical sky noise) and ``crop=32`` for images larger than 32 pixels — the best
        representation measured (user guide, "The VAE and its priors": with colours kept, the
        leading manifold coordinate followed the stellar colour sequence in some fits) — and a
        per-feature z-score for tabular input. A transformer (e.g. ``ImageScaler("asinh")``) is cloned and used instead. None:
        the network sees the input as given.
    image_shape : tuple of int, default=None
        ``(bands, height, width)`` to unflatten 2-D input; 2-D input without it is tabular and
        handled by a dense network.
    channels : tuple of int, default=(16, 32, 64)
        Channels of the stride-2 convolution levels.
    hidden_units : int, default=64
        Width of the dense layer of the encoder / decoder.
    max_epochs : int, default=15
    batch_size : int, default=128
        Capped at the number of training samples; the last incomplete batch of an epoch is dropped
        (batch norm).
    lr : float, default=1e-3
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
    validation_fraction : float, default=None
        Fraction of the training data held out (seeded split) to report ``valid_loss`` in
        ``history_``. None: no hold-out.
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        E.g. ``EarlyStopping`` (needs ``validation_fraction``), ``Checkpoint``, ``LRScheduler``.
    warm_start : bool, default=False
        If True, ``fit`` on an already fitted estimator continues training the network (the
        scaling is kept).
    device : str, default="auto"
        "auto" (CUDA when available), "cpu" or "cuda[:N]". Ignored when ``accelerator`` is given.
    accelerator : accelerate.Accelerator or None, default=None
        Train through skorch's Hugging Face Accelerate integration (multi-GPU data parallelism under
        ``accelerate launch``, mixed precision, gradient accumulation); the accelerator places the
        network. The fitted net pickles as a plain net on the accelerator's device. See
        ``docs/user_guide/scaling.rst``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight init, shuffling, sampling and the validation split.
    verbose : int, default=0
        >0 shows skorch's epoch table and a progress bar.

    Attributes
    ----------
    net_ : galaxy_learn.nets.VAENet
        The trained skorch net (``net_.module_`` is the :class:`~galaxy_learn.nn.VAEModule`,
        or a :class:`~galaxy_learn.nn.VAEEnsembleModule` when ``n_ensemble > 1``).
    scaler_ : transformer or None
        The fitted input scaling.
    prior_ : object
        The prior object used.
    sky_sigma_ : ndarray of shape (n_bands,) or None
        Per-band sky noise of the training images in input units (robust sigma of the outer
        pixels), used by ``dimming``; None for tabular input.
    psf_target_fwhm_ : ndarray of shape (n_bands,) or None
        Median PSF FWHM per band of the training cutouts when fitted with ``psf_fwhm`` (every
        cutout is resampled to it), else None.
    psf_statistic_fwhm_ : ndarray of shape (n_bands,) or None
        PSF FWHM per band (pixels of the, PSF-matched with ``psf_fwhm``, training cutouts)
        used by ``psf_statistic``; None when no column is joined.
    psf_statistic_measured_ : ndarray of bool, shape (n_bands,)
        Whether each band's PSF width came from the stellar locus (else from the 10th
        percentile of all object sizes, or 2.5 px when nothing was measurable). Only with
        ``psf_statistic``.
    latent_mean_, latent_std_ : ndarray of shape (n_latent * n_ensemble,)
        Mean and std of the training codes (used by :meth:`sample` for units without a prior).
    input_shape_ : tuple of int
        ``(bands, height, width)`` or ``(n_features,)`` seen in fit.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when fit on a DataFrame.
    history_ : skorch History
        Loss per epoch (``train_loss``, ``valid_loss``).

    See Also
    --------
    make_hierarchical_vae : AE features → VAE, the hierarchical design of Sun et al. (2017).

    Notes
    -----
    ``score_samples`` returns minus the training loss of each sample, evaluated deterministically
    at the posterior mean: −[reconstruction NLL(x | z=μ) + kl_weight × prior term]. With a
    Gaussian likelihood the constant ½ log 2π per pixel is included, so for ``kl_weight=1`` and
    a true-KL prior ("normal", "dkl") it is a plug-in estimate of the ELBO in the scaled space.
    ``score`` is its mean: higher is better. With ``n_ensemble > 1`` both terms are the mean over
    the members of each member's own (the ensemble's training loss).

    ``inverse_transform`` and ``sample`` return images in the scaled space (after ``scaling``,
    cropped when it crops): per-cutout normalisation cannot be undone without each cutout's flux.

    **PSF-aware codes** (``fit(X, psf_fwhm=...)``): a star seen in poor seeing is as wide as a
    small galaxy seen in good seeing, so without the PSF the code (like the concentration index)
    mixes them. Given each cutout's PSF FWHM (SDSS ``psfWidth``, DES/LSST PSF model size), every
    cutout is resampled so that its PSF has the median training width
    (:func:`~galaxy_learn.preprocessing.psf_rescale`; the dimming noise is added to the raw
    cutouts first), and ``transform``/``score`` need the PSF FWHM of their cutouts too. In a
    :class:`~sklearn.pipeline.Pipeline` route it with sklearn's metadata routing::

        sklearn.set_config(enable_metadata_routing=True)
        enc = VAEEncoder().set_fit_request(psf_fwhm=True).set_transform_request(psf_fwhm=True)
        pipe = Pipeline([("vae", enc), ("iso", Isomap(n_components=1)),
                         ("thr", ThresholdClassifier())]).fit(X, psf_fwhm=fwhm)
        pipe.predict(X_new, psf_fwhm=fwhm_new)

    On the simulator it lifts the mission line's AUC, but PSF matching lifts the concentration
    index as much: compare like with like (figures in the user guide, "The VAE and its priors").

    References
    ----------
    H. Sun, E. J. Kim, S. Li and R. J. Brunner, "Unsupervised star-galaxy segmentation and
    classification", summary report, LCDM, University of Illinois at Urbana-Champaign (2017):
    the VAE + manifold + threshold recipe, the double-peak prior, the conditional design
    (``n_prior_latent``) and the hierarchical design (:func:`make_hierarchical_vae`).

    H. Sun, "Unsupervised star-galaxy segmentation and classification", project notebook, LCDM,
    University of Illinois at Urbana-Champaign (2017), Part 1: the priors and penalties.

    D. P. Kingma and M. Welling, "Auto-encoding variational Bayes", ICLR 2014, arXiv:1312.6114.

    P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol, "Extracting and composing robust
    features with denoising autoencoders", ICML 2008 (``dimming`` trains a denoising VAE).

    B. Lakshminarayanan, A. Pritzel and C. Blundell, "Simple and scalable predictive uncertainty
    estimation using deep ensembles", NeurIPS 2017, arXiv:1612.01474 (``n_ensemble``).

    S. Desai et al., "The Blanco Cosmology Survey: data acquisition, processing, calibration,
    quality diagnostics, and data release", ApJ 757, 83 (2012) (SPREAD_MODEL).

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn import VAEEncoder
    >>> X = np.random.default_rng(0).normal(size=(64, 2, 12, 12)).astype(np.float32)
    >>> enc = VAEEncoder(n_latent=2, n_ensemble=1, max_epochs=2, channels=(4, 8),
    ...                  hidden_units=16, scaling=None, random_state=0).fit(X)
    >>> enc.transform(X).shape  # 2 codes, then the SPREAD_MODEL column
    (64, 3)
    >>> enc.get_feature_names_out().tolist()
    ['vaeencoder0', 'vaeencoder1', 'vaeencoder_spread_model']
    >>> enc3 = VAEEncoder(n_latent=2, max_epochs=2, channels=(4, 8), hidden_units=16,
    ...                   scaling=None, psf_statistic=None, random_state=0).fit(X)
    >>> enc3.transform(X).shape  # default: 3 members; the codes alone
    (64, 6)
    """

    _parameter_constraints = {
        "n_latent": [Interval(numbers.Integral, 1, None, closed="left")],
        "prior": [StrOptions(set(PRIORS)), HasMethods(["kl"])],
        "m": [Interval(numbers.Real, 0, None, closed="left")],
        "s": [Interval(numbers.Real, 0, None, closed="neither")],
        "p": [Interval(numbers.Real, 1, None, closed="left")],
        "kl_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "n_prior_latent": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "n_ensemble": [Interval(numbers.Integral, 1, None, closed="left")],
        "dimming": [Interval(numbers.Real, 0, None, closed="left")],
        "psf_statistic": [StrOptions(set(PSF_STATISTICS)), None],
        "psf_statistic_weight": [Interval(numbers.Real, 0, None, closed="neither")],
        "reconstruction": [StrOptions({"gaussian", "bce"})],
        "scaling": [None, StrOptions({"auto"}), HasMethods(["fit", "transform"])],
        "image_shape": [None, tuple, list],
        "channels": [tuple, list],
        "hidden_units": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), callable],
        "validation_fraction": [None, Interval(numbers.Real, 0, 1, closed="neither")],
        "callbacks": [None, list],
        "warm_start": ["boolean"],
        "device": [str],
        "accelerator": [None, HasMethods(["prepare"])],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_latent=2,
        *,
        prior="dkl",
        m=1.0,
        s=0.5,
        p=2.0,
        kl_weight=0.03,
        n_prior_latent=None,
        n_ensemble=3,
        dimming=3.0,
        psf_statistic="spread_model",
        psf_statistic_weight=32.0,
        reconstruction="gaussian",
        scaling="auto",
        image_shape=None,
        channels=(16, 32, 64),
        hidden_units=64,
        max_epochs=15,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        validation_fraction=None,
        callbacks=None,
        warm_start=False,
        device="auto",
        accelerator=None,
        random_state=None,
        verbose=0,
    ):
        self.n_latent = n_latent
        self.prior = prior
        self.m = m
        self.s = s
        self.p = p
        self.kl_weight = kl_weight
        self.n_prior_latent = n_prior_latent
        self.n_ensemble = n_ensemble
        self.dimming = dimming
        self.psf_statistic = psf_statistic
        self.psf_statistic_weight = psf_statistic_weight
        self.reconstruction = reconstruction
        self.scaling = scaling
        self.image_shape = image_shape
        self.channels = channels
        self.hidden_units = hidden_units
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ data
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
        the network input."""
        rescaled = self._rescale(X, fwhm)
        self._fit_psf_statistic(X, rescaled, fwhm)
        return self._fit_scaler(rescaled)

    # ------------------------------------------------------------------ net
    def _check_latent_params(self):
        if self.n_prior_latent is not None and self.n_prior_latent > self.n_latent:
            msg = (
                f"The 'n_prior_latent' parameter must be <= n_latent={self.n_latent}. "
                f"Got {self.n_prior_latent!r}."
            )
            raise ValueError(msg)

    def _build_net(self, Xs, seed, max_epochs, n_members=None):
        from ..nets import VAENet, build_net, valid_split
        from ..nn import VAEEnsembleModule

        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = _OPTIMIZERS[optimizer]
        n = Xs.shape[0]
        train_split = None
        if self.validation_fraction is not None:
            n_valid = int(round(self.validation_fraction * n))
            if n_valid < 1 or n - n_valid < 2:
                msg = (
                    f"validation_fraction={self.validation_fraction} leaves {n - n_valid} "
                    f"training and {n_valid} validation samples out of {n}; need >= 2 and >= 1."
                )
                raise ValueError(msg)
            train_split = valid_split(self.validation_fraction, seed)
            n -= n_valid
        batch_size = int(min(self.batch_size, n))
        n_members = self.n_ensemble if n_members is None else n_members
        generator = torch.Generator().manual_seed(seed)
        self.prior_ = make_prior(self.prior, m=self.m, s=self.s, p=self.p)
        return build_net(
            VAENet,
            accelerator=self.accelerator,
            module=VAEModule if n_members == 1 else VAEEnsembleModule,
            **({} if n_members == 1 else {"module__n_members": n_members}),
            module__in_shape=Xs.shape[1:],
            module__n_latent=self.n_latent,
            module__prior=self.prior_,
            module__channels=tuple(self.channels),
            module__hidden_units=self.hidden_units,
            module__output="sigmoid" if self.reconstruction == "bce" else "identity",
            prior=self.prior_,
            kl_weight=self.kl_weight,
            n_prior_latent=self.n_prior_latent,
            reconstruction=self.reconstruction,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train__shuffle=True,
            iterator_train__drop_last=True,
            iterator_train__generator=generator,
            train_split=train_split,
            callbacks=self._make_callbacks(),
            device=self._resolve_device(),
            verbose=int(self.verbose),
        )

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
        chunks = self._prepared_chunks(
            X, fwhm, dim=lambda chunk: _dimmed(chunk, self.sky_sigma_, self.dimming, rng))
        x_in = np.concatenate([xs for _, _, xs in chunks])
        return {"x": Xs, "x_in": x_in}

    def _member_seeds(self, seed):
        """Seeds of the ensemble's members: the estimator's own seed first (member 0 is the fit
        that ``n_ensemble=1`` gives), then independent streams spawned from it."""
        spawned = np.random.SeedSequence(seed).generate_state(self.n_ensemble - 1)
        return [seed] + [int(v) % 2**31 for v in spawned]  # 31 bits, as seed_from_random_state

    def _train_members(self, X, Xs, fwhm, seed, epochs, device):
        """Train each member of the ensemble as a fit of its own, then gather them in ``net_``.

        Every member has its own seed: its own initialisation, shuffling and dimming draws
        (members trained side by side on shared batches and dimmed copies were measured worse:
        user guide, "The VAE and its priors").
        """
        trained = []
        for j, seed_j in enumerate(self._member_seeds(seed)):
            if self.verbose:
                print(f"VAEEncoder: ensemble member {j + 1}/{self.n_ensemble}", flush=True)
            trained.append(self._fit_net(X, Xs, fwhm, seed_j, epochs, device, first=j == 0))
        with torch_seeded(seed, device):
            self.net_ = self._build_net(Xs, seed, epochs)
            self.net_.initialize()
        for member, net in zip(self.net_.module_.members, trained):
            member.load_state_dict(net.module_.state_dict())
        self.net_.history = mean_history([net.history for net in trained])

    def _fit_net(self, X, Xs, fwhm, seed, epochs, device, *, first):
        """A fresh single-VAE net (one member) seeded with ``seed``, fitted on ``Xs``."""
        data = self._training_data(X, Xs, fwhm, seed, first)
        with torch_seeded(seed, device):
            net = self._build_net(Xs, seed, epochs, n_members=1)
            net.initialize()
            # What net.fit would do (initialize once more, then train), with the second
            # initialization silent: skorch announces it as "Re-initializing module/criterion/
            # optimizer" when verbose. Both draws are kept, so fits stay bit-identical.
            verbose, net.verbose = net.verbose, 0
            net.initialize()
            net.verbose = verbose
            net.partial_fit(data, None)
        return net

    def _train(self, X, Xs, *, epochs, first=True, fwhm=None):
        seed = self._fit_seed() if first else self._seed_ + len(self.net_.history)
        device = self._resolve_device()
        if first:
            self._seed_ = seed
            if self.n_ensemble > 1:
                self._train_members(X, Xs, fwhm, seed, epochs, device)
            else:
                self.net_ = self._fit_net(X, Xs, fwhm, seed, epochs, device, first=True)
        else:  # the seeded shuffling generator of the net continues its stream
            data = self._training_data(X, Xs, fwhm, seed, first)
            with torch_seeded(seed, device):
                self.net_.partial_fit(data, None, epochs=epochs)
        codes = self._encode(Xs)
        self.latent_mean_ = codes.mean(axis=0)
        self.latent_std_ = codes.std(axis=0)
        return self

    def _fit_psf_statistic(self, X, rescaled, fwhm):
        """The PSF width (measured on the PSF-matched cutouts ``rescaled``) and the location of
        the physical column on the training cutouts ``X`` (image input only)."""
        self.psf_statistic_fwhm_ = None
        if self.psf_statistic is None or not applies_to(self.input_shape_):
            return
        width, measured = estimate_widths(rescaled)
        self.psf_statistic_fwhm_ = width
        self.psf_statistic_measured_ = measured
        self._psf_statistic_loc_ = location(spread_values(X, self._pixel_fwhm(fwhm)))

    def _pixel_fwhm(self, fwhm):
        """PSF FWHM in pixels for SPREAD_MODEL: the measured width, or with ``psf_fwhm`` each
        cutout's own width converted to pixels (the measured width of the PSF-matched cutouts
        over their target width gives the unit), so the raw cutouts are measured unresampled."""
        if fwhm is None:
            return self.psf_statistic_fwhm_
        return fwhm * (self.psf_statistic_fwhm_ / self.psf_target_fwhm_)

    def _psf_column(self, X, fwhm):
        center, scale = self._psf_statistic_loc_
        return psf_statistic(spread_values(X, self._pixel_fwhm(fwhm)), center, scale,
                             self.psf_statistic_weight)

    def _encode(self, Xs, *, logvar=False):
        module = self.net_.module_
        module.eval()
        out = batched_apply(
            module.encode, Xs, batch_size=self._infer_batch(), device=self.net_.device
        )
        return out if logvar else out[0]

    def _infer_batch(self):
        return max(256, int(self.batch_size))

    # ------------------------------------------------------------------ fit API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, psf_fwhm=None):
        """Train the autoencoder on images ``X`` (``y`` is ignored: unsupervised).

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width) or (n_samples, n_features)
            Images (or rows with ``image_shape``, or tabular data).
        y : None
            Ignored.
        psf_fwhm : array-like of shape (n_samples,) or (n_samples, bands), default=None
            PSF FWHM of each cutout (or of each band), e.g. SDSS ``psfWidth``, in any unit used
            consistently (arcsec or pixels). When given, every cutout is resampled so that its
            PSF has the median training width (:func:`~galaxy_learn.preprocessing.psf_rescale`)
            before the scaling, and ``transform`` then needs ``psf_fwhm`` too. See Notes.

        Returns
        -------
        self : VAEEncoder
        """
        self._check_latent_params()
        if self.warm_start and hasattr(self, "net_"):
            X = self._check_X(X, reset=False)
            fwhm = self._check_psf(X, psf_fwhm, reset=False)
            return self._train(X, self._prepare(X, fwhm), epochs=self.max_epochs, first=False,
                               fwhm=fwhm)
        X = self._check_X(X, reset=True)
        fwhm = self._check_psf(X, psf_fwhm, reset=True)
        return self._train(X, self._fit_prepare(X, fwhm), epochs=self.max_epochs, fwhm=fwhm)

    def partial_fit(self, X, y=None, *, psf_fwhm=None):
        """Train one more epoch on ``X`` (initialising on the first call).

        The scaling (and the PSF target width, with ``psf_fwhm``) is fitted on the first call only.

        Returns
        -------
        self : VAEEncoder
        """
        if not hasattr(self, "net_"):
            self._validate_params()
            self._check_latent_params()
            X = self._check_X(X, reset=True)
            fwhm = self._check_psf(X, psf_fwhm, reset=True)
            return self._train(X, self._fit_prepare(X, fwhm), epochs=1, fwhm=fwhm)
        X = self._check_X(X, reset=False)
        fwhm = self._check_psf(X, psf_fwhm, reset=False)
        return self._train(X, self._prepare(X, fwhm), epochs=1, first=False, fwhm=fwhm)

    def fit_transform(self, X, y=None, *, psf_fwhm=None):
        """Fit, then return the codes of ``X`` (same as ``fit(X).transform(X)``)."""
        return self.fit(X, y, psf_fwhm=psf_fwhm).transform(X, psf_fwhm=psf_fwhm)

    # ------------------------------------------------------------------ transform API
    def transform(self, X, *, psf_fwhm=None):
        """Posterior means of the latent units (deterministic: eval mode, no sampling).

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width) or (n_samples, n_features)
        psf_fwhm : array-like of shape (n_samples,) or (n_samples, bands), default=None
            Required if and only if the encoder was fitted with ``psf_fwhm``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_latent * n_ensemble [+ 1])
            The codes, member by member, then the ``psf_statistic`` column when one is
            joined (image input).
        """
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        fwhm = self._check_psf(X, psf_fwhm, reset=False)
        joined = getattr(self, "psf_statistic_fwhm_", None) is not None
        parts = []
        for chunk, chunk_fwhm, xs in self._prepared_chunks(X, fwhm):  # one pass over X
            codes = self._encode(xs)
            if joined:
                codes = np.concatenate([codes, self._psf_column(chunk, chunk_fwhm)], axis=1)
            parts.append(codes)
        return np.concatenate(parts)

    def _decode(self, Z, member=None):
        module = self.net_.module_
        module.eval()
        if member is not None:  # one member of an ensemble decodes its own slice of Z
            module = module.members[member]
            Z = Z[:, member * self.n_latent:(member + 1) * self.n_latent]
        out = batched_apply(
            module.decode_mean, Z, batch_size=self._infer_batch(), device=self.net_.device
        )
        if self.image_shape is not None or len(self.input_shape_) == 1:
            return out.reshape(out.shape[0], -1)
        return out

    def inverse_transform(self, X):
        """Decode latent codes into images (in the scaled space, see Notes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent * n_ensemble)

        Returns
        -------
        X_rec : ndarray of shape (n_samples, bands, h, w) or (n_samples, n_features)
            Flattened rows when fitted on 2-D input. With ``n_ensemble > 1``, the mean of the
            members' decodings of their own slices of the code.
        """
        check_is_fitted(self, "net_")
        Z = np.asarray(X, dtype=np.float32)
        n_codes = self.n_latent * self.n_ensemble
        if Z.ndim == 2 and Z.shape[1] == self._n_features_out:
            Z = Z[:, :n_codes]  # transform's output: the physical column is not decoded
        if Z.ndim != 2 or Z.shape[1] != n_codes:
            msg = (
                f"inverse_transform expects codes of shape (n_samples, {n_codes}) or "
                f"transform's output (n_samples, {self._n_features_out}); got {Z.shape}."
            )
            raise ValueError(msg)
        if not np.isfinite(Z).all():
            msg = "inverse_transform received NaN or infinite latent codes."
            raise ValueError(msg)
        return self._decode(Z)

    def sample(self, n_samples=1, *, random_state=None):
        """Draw latent codes from the prior and decode them.

        Units under the prior are drawn from it; free units (beyond ``n_prior_latent``, or all
        units without a prior density) from a normal with the training codes' mean and std.
        With ``n_ensemble > 1`` every member's slice of ``Z`` is drawn and each sample is decoded
        by one member picked at random: a draw from the ensemble's equal-weight mixture (so
        ``X_new`` is not ``inverse_transform(Z)``, which averages the members).

        Returns
        -------
        X_new : ndarray of shape (n_samples, bands, h, w) or (n_samples, n_features)
        Z : ndarray of shape (n_samples, n_latent * n_ensemble)
        """
        check_is_fitted(self, "net_")
        from ..utils import seed_from_random_state

        gen = torch.Generator().manual_seed(seed_from_random_state(random_state))
        Z = torch.randn(n_samples, self.n_latent * self.n_ensemble, generator=gen).numpy()
        Z = Z * self.latent_std_ + self.latent_mean_
        k = self.n_latent if self.n_prior_latent is None else self.n_prior_latent
        prior_sample = getattr(self.prior_, "sample", None)
        if prior_sample is not None and getattr(self.prior_, "stochastic", True):
            for j in range(self.n_ensemble):
                Z[:, j * self.n_latent:j * self.n_latent + k] = prior_sample(
                    n_samples, k, generator=gen).numpy()
        Z = Z.astype(np.float32)
        if self.n_ensemble == 1:
            return self._decode(Z), Z
        member = torch.randint(self.n_ensemble, (n_samples,), generator=gen).numpy()
        X_new = None
        for j in range(self.n_ensemble):
            rows = np.flatnonzero(member == j)
            if rows.size:
                out = self._decode(Z[rows], member=j)
                if X_new is None:
                    X_new = np.empty((n_samples, *out.shape[1:]), dtype=out.dtype)
                X_new[rows] = out
        return X_new, Z

    def score_samples(self, X, *, psf_fwhm=None):
        """Minus the training loss per sample, at the posterior mean (ELBO plug-in, see Notes).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        Xs = self._prepare(X, self._check_psf(X, psf_fwhm, reset=False))
        module, net = self.net_.module_, self.net_
        module.eval()
        const = 0.0
        if self.reconstruction == "gaussian":
            const = 0.5 * np.log(2 * np.pi) * np.prod(Xs.shape[1:])

        def per_sample(xb):
            mu, logvar = module.encode(xb)
            rec, pen = net.loss_terms((module.decode(mu), mu, logvar, mu), xb)
            return -(rec + net.kl_weight * pen)

        scores = batched_apply(per_sample, Xs, batch_size=self._infer_batch(), device=net.device)
        return scores - const

    def score(self, X, y=None, *, psf_fwhm=None):
        """Mean of :meth:`score_samples` (higher is better)."""
        return float(np.mean(self.score_samples(X, psf_fwhm=psf_fwhm)))

    def get_feature_names_out(self, input_features=None):
        """Names of the outputs: ``vaeencoder0`` ... for the codes, then the physical column
        (``vaeencoder_spread_model``) when one is joined."""
        names = super().get_feature_names_out(input_features)
        if getattr(self, "psf_statistic_fwhm_", None) is not None:
            names[-1] = f"vaeencoder_{self.psf_statistic}"
        return names

    @property
    def _n_features_out(self):
        extra = getattr(self, "psf_statistic_fwhm_", None) is not None
        return self.n_latent * self.n_ensemble + int(extra)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.transformer_tags.preserves_dtype = ["float32"]  # the network computes in float32
        return tags


def make_hierarchical_vae(n_ae_latent=32, n_latent=2, *, ae_params=None, vae_params=None,
                          random_state=None):
    """The hierarchical design of Sun et al. (2017): a VAE on the features of a frozen autoencoder.

    Returns a :class:`~sklearn.pipeline.Pipeline` ``[("ae", VAEEncoder(prior="none",
    n_latent=n_ae_latent, n_ensemble=1)), ("vae", VAEEncoder(n_latent=n_latent))]``. In a
    pipeline the AE is fitted first and then only used to transform (frozen) while the VAE — a
    dense network on the AE's codes, z-scored — is trained. The AE is a single network (its
    32 features are the VAE's input, not a manifold learner's); the VAE on top keeps the
    default ensemble.

    Parameters
    ----------
    n_ae_latent : int, default=32
        Code size of the convolutional AE.
    n_latent : int, default=2
        Latent size of the VAE on top.
    ae_params, vae_params : dict, default=None
        Extra parameters of each stage (e.g. ``{"prior": "dkl", "n_prior_latent": 1}``).
    random_state : int or None, default=None

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline

    References
    ----------
    H. Sun, E. J. Kim, S. Li and R. J. Brunner, "Unsupervised star-galaxy segmentation and
    classification", summary report, LCDM, University of Illinois at Urbana-Champaign (2017),
    "A hierarchical design" (AE + VAE).
    """
    from sklearn.pipeline import Pipeline

    ae = VAEEncoder(n_latent=n_ae_latent, prior="none", n_ensemble=1, random_state=random_state)
    vae = VAEEncoder(n_latent=n_latent, random_state=random_state)
    ae.set_params(**(ae_params or {}))
    vae.set_params(**(vae_params or {}))
    return Pipeline([("ae", ae), ("vae", vae)])

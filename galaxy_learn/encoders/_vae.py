"""VAEEncoder: a (variational) autoencoder as a scikit-learn transformer with selectable priors.

The estimator owns a skorch :class:`~galaxy_learn.nets.VAENet` (``net_``) built in ``fit``. Raw
survey images are scaled inside (``scaling``), encoded by a strided-convolution network (or an MLP
for tabular input), and ``transform`` returns the posterior means of the latent units.

This module holds the estimator's parameters, the net and its training; the input handling
(scaling, dimming, PSF matching, the PSF-statistic column) is in ``_vae_inputs.py``, decoding,
sampling and scoring in ``_vae_generative.py``, ensemble seeding and gathering in
``nets/_ensemble.py``. About half of its length is the class docstring (numpydoc of 28
parameters and their measured defaults), kept whole because it is the estimator's reference page.
"""
import numbers
import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from .._base import NetEstimatorMixin
from ..losses import PRIORS, make_prior
from ..nn import VAEModule
from ..nets import fit_fresh, gather_members, member_seeds
from ..utils import batched_apply, torch_seeded
from ..utils._compat import HasMethods, Interval, StrOptions, _fit_context, check_is_fitted
from ._psf_statistic import PSF_STATISTICS
from ._vae_generative import VAEGenerativeMixin
from ._vae_inputs import VAEInputMixin

__all__ = ["VAEEncoder"]

_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}

class VAEEncoder(VAEInputMixin, VAEGenerativeMixin, ClassNamePrefixFeaturesOutMixin,
                 TransformerMixin, NetEstimatorMixin, BaseEstimator):
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

    def _member_seeds(self, seed):
        """Seeds of the ensemble's members (member 0 is the fit that ``n_ensemble=1`` gives)."""
        return member_seeds(seed, self.n_ensemble)

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
        gather_members(self.net_, trained)

    def _fit_net(self, X, Xs, fwhm, seed, epochs, device, *, first):
        """A fresh single-VAE net (one member) seeded with ``seed``, fitted on ``Xs``."""
        data = self._training_data(X, Xs, fwhm, seed, first)
        with torch_seeded(seed, device):
            return fit_fresh(self._build_net(Xs, seed, epochs, n_members=1), data)

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
        return codes

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
        self._fit(X, psf_fwhm, epochs=self.max_epochs,
                  resume=self.warm_start and hasattr(self, "net_"))
        return self

    def _fit(self, X, psf_fwhm, *, epochs, resume):
        """Train for ``epochs`` (continuing the fitted net with ``resume``); return the
        validated ``X`` and ``psf_fwhm``, the codes of the training cutouts and their PSF
        statistic (None when resuming or without one)."""
        X = self._check_X(X, reset=not resume)
        fwhm = self._check_psf(X, psf_fwhm, reset=not resume)
        if resume:
            codes = self._train(X, self._prepare(X, fwhm), epochs=epochs, first=False, fwhm=fwhm)
            return X, fwhm, codes, None
        Xs, values = self._fit_prepare(X, fwhm)
        return X, fwhm, self._train(X, Xs, epochs=epochs, fwhm=fwhm), values

    def partial_fit(self, X, y=None, *, psf_fwhm=None):
        """Train one more epoch on ``X`` (initialising on the first call).

        The scaling (and the PSF target width, with ``psf_fwhm``) is fitted on the first call only.

        Returns
        -------
        self : VAEEncoder
        """
        resume = hasattr(self, "net_")
        if not resume:
            self._validate_params()
            self._check_latent_params()
        self._fit(X, psf_fwhm, epochs=1, resume=resume)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, *, psf_fwhm=None):
        """Fit, then return the codes of ``X``: ``fit(X).transform(X)``, computed once (the codes
        and the PSF statistic of the training cutouts are those the fit computed; what a
        :class:`~sklearn.pipeline.Pipeline` calls)."""
        self._check_latent_params()
        X, fwhm, codes, values = self._fit(X, psf_fwhm, epochs=self.max_epochs,
                                           resume=self.warm_start and hasattr(self, "net_"))
        if getattr(self, "psf_statistic_fwhm_", None) is None:
            return codes
        return np.concatenate([codes, self._psf_column(X, fwhm, values)], axis=1)

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


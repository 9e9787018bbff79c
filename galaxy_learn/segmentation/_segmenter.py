"""HypercolumnSegmenter: object detection with a calibrated false-positive rate, optionally
refined by k-means on autoencoder hypercolumns.

The estimator composes the algorithm modules of this package: :mod:`._background` (sky and RMS
maps), :mod:`._detect` (matched filter, significance, hysteresis thresholds), :mod:`._deblend`
(watershed deblending), :mod:`._catalog` (positions, catalogue) and, for
``method="hypercolumns"``, :mod:`._pixel_clusters` (k-means on the learned features).
"""
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import ndimage
from sklearn.base import BaseEstimator, clone

from ..utils import as_image_batch, check_images, seed_from_random_state, validate_image_data
from ..utils._compat import HasMethods, Interval, StrOptions, _fit_context, check_is_fitted
from ._background import estimate_background
from ._catalog import _drop_faint, labelled_max, make_catalog, trim_footprints
from ._deblend import deblend_watershed
from ._detect import (band_residuals, detect_sources, detection_image, expected_false_detections,
                      kernel_norm, object_sed, smoothed_significance)
from ._hypercolumns import HypercolumnExtractor
from ._pixel_clusters import cluster_map, fit_pixel_clusters, object_rule

__all__ = ["HypercolumnSegmenter"]


class HypercolumnSegmenter(BaseEstimator):
    """Object / background segmentation of images and survey fields.

    **Detection** (both methods). Each detection band's sky background and RMS are estimated on
    a mesh and subtracted (:func:`estimate_background`); the bands are summed with
    weights ``s_b / rms_b**2`` (``band_weights="sed"``: ``s`` is the median spectral energy
    distribution of the objects that the inverse-variance sum detects, the most sensitive linear
    combination for such objects -- Szalay, Connolly & Szokoly 1999 -- a gain of ~10 % in S/N
    over the inverse-variance sum for faint galaxies in ugriz, whose u and z fluxes are small
    for the noise of those bands), smoothed by a Gaussian of ``smoothing`` pixels (a matched filter
    at the PSF scale) and divided by the noise of the *smoothed* image (white-noise propagation
    ``sqrt(sum(k**2))`` or the MAD measured on the empty sky -- pixels away from anything above
    3 sigma, so that sources do not count as noise -- whichever is larger): the detection
    significance.
    An object is an 8-connected region of significance at least ``footprint_threshold`` with at
    least ``min_area`` pixels whose peak reaches ``threshold``. On a frame holding only noise
    a false detection is a noise peak above ``threshold``: at the defaults (``threshold=5.5``,
    ``smoothing=1.5``) the expected number on a 2048x1489 frame is 0.064 and on a 256x256
    frame 0.0014 (the Euler characteristic of the excursion set of the smoothed Gaussian field,
    :func:`~galaxy_learn.segmentation._detect.expected_false_detections`; the number of noise
    peaks above 3 sigma on simulated noise matches it to within 20 %, tested). The result
    therefore does not depend on the sky level or the noise amplitude.

    Touching objects are split by :func:`deblend_watershed` (peaks rising ``deblend_nsigma``
    noise sigmas above their saddle and themselves reaching ``threshold``, so that every object
    of the catalogue is a detection in its own right), pieces of isophotal S/N below ``min_snr``
    are dropped and :meth:`detect` measures positions and fluxes (:func:`object_positions`).

    **method="hypercolumns"** additionally trains a :class:`HypercolumnExtractor` on the scaled
    images and clusters pixel hypercolumns with k-means; a cluster is "object" when its mean
    significance exceeds ``cluster_threshold``, and the object pixels of the detection above are
    reduced to those in object clusters (then ``min_area`` and ``threshold`` are applied
    again, so the false-positive guarantee holds). On simulated fields the learned features add
    nothing measurable to detection (see the user guide, "Hypercolumns and unsupervised
    segmentation"), hence the default ``method="threshold"``, which fits nothing.

    Parameters
    ----------
    extractor : HypercolumnExtractor, default=None
        Unfitted feature extractor for ``method="hypercolumns"`` (cloned). None uses
        ``HypercolumnExtractor()``.
    method : {"threshold", "hypercolumns"}, default="threshold"
        Calibrated thresholds alone, or refined by k-means on learned hypercolumns.
    threshold : float, default=5.5
        Detection threshold on the peak significance (noise sigmas of the smoothed image).
    grow_threshold : float, default=2.5
        Significance down to which a detected object's connected pixels belong to it (before
        deblending and trimming); clipped at ``threshold``.
    footprint_threshold : float or None, default=5.0
        Each object's footprint is trimmed to its pixels whose significance, smoothed by
        ``footprint_smoothing`` instead of ``smoothing``, is at least this (SExtractor's
        analysis threshold; :func:`trim_footprints`: an object keeps at least its ``min_area``
        most significant pixels, so no object is lost). The matched filter spreads objects
        into the sky around them; less smoothing bounds the isophote better. The default
        maximises the pixel IoU on the simulated fields of the user guide's detection study
        (the only images with true masks). None: no trimming.
    footprint_smoothing : float, default=1.0
        Gaussian sigma (pixels) of the significance used for the footprints.
    smoothing : float, default=1.5
        Gaussian sigma (pixels) of the matched filter (0: none). About the PSF's sigma
        (SDSS: FWHM 1.4" = 3.5 px, sigma 1.5 px).
    min_area : int, default=5
        Objects with fewer pixels above ``footprint_threshold`` are dropped.
    min_snr : float or None, default=None
        Objects (after deblending) whose isophotal S/N (sum of the unit-noise detection image
        over the object divided by the square root of its area) is below this are dropped.
    fill_holes : bool, default=True
        Fill holes inside object footprints.
    deblend : bool, default=True
        Split touching objects (:func:`deblend_watershed`) in :meth:`label` and :meth:`detect`.
    deblend_nsigma : float, default=1.5
        A secondary peak must rise this many noise sigmas (of the detection image smoothed by
        ``deblend_sigma``) above its saddle to become an object of its own.
    deblend_contrast : float, default=0.005
        ... and at least this fraction of the blend's peak.
    deblend_sigma : float, default=1.0
        Gaussian sigma (pixels) of the smoothing of the detection image for deblending.
    deblend_symmetry : float or None, default=None
        A companion on a brighter object's wing is often no peak of its own: with a value, it
        also becomes an object where the residual above the brighter object's point-symmetric
        template (SDSS photo's deblender) rises this many sky-noise sigmas, at least 4 px from
        its peak (and reaches ``threshold``). 5 finds more of the faint companions on simulated
        fields, but on real SDSS frames it also splits asymmetric galaxies and bright stars
        (the residual's noise there is the source's, not the sky's), hence off by default
        (user guide, "Hypercolumns and unsupervised segmentation"). None: peaks only.
    background_mesh : int, default=64
        Mesh size (pixels) of the background and RMS maps.
    background_filter : int, default=3
        Median filter (meshes) of the background maps.
    detection_bands : tuple of int, default=None
        Bands combined into the detection image (None: all).
    band_weights : {"sed", "inverse_variance"}, default="sed"
        Weights of the detection bands: ``"inverse_variance"`` sums them with weights
        ``1 / rms_b**2`` (the best combination for sources of equal flux in every band);
        ``"sed"`` then re-weights them by ``s_b / rms_b**2``, ``s`` the median SED (flux per band
        over the object's summed flux) of the objects found on that sum, and detects again. The
        detection image keeps unit noise either way. One band: the two are the same.
    n_clusters : int, default=64
        k of k-means (``method="hypercolumns"``).
    cluster_threshold : "auto" or float, default=2.0
        Object clusters: mean significance above this (``"auto"``: above the midpoint of the
        lowest and highest cluster means; the faintest cluster is always background).
    significance_weight : float, default=3.0
        Weight of the significance appended to each hypercolumn as one more feature.
    scaler : transformer, default=None
        Intensity scaling before the network (cloned); None uses
        ``ImageScaler(method="asinh")``. The network sees background-subtracted images with
        masked pixels set to 0 (the sky).
    scale_per_image : bool, default=True
        Fit the scaler on each image. False fits it once on the training images.
    tile_size : int, default=512
        Images larger than this go through the network tile by tile (bounded memory).
    tile_overlap : int, default=32
        Margin around each tile; must cover the network's receptive-field radius.
    max_fit_pixels : int, default=200_000
        Pixels sampled to fit k-means.
    bright_fraction : float, default=0.5
        Fraction of those drawn among pixels above 2 sigma of significance.
    image_shape : tuple of int, default=None
        ``(bands, height, width)`` to unflatten 2-D input.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        Passed to the extractor when it has none.

    Attributes
    ----------
    detection_bands_ : list of int
    extractor_ : HypercolumnExtractor
        Only for ``method="hypercolumns"``.
    kmeans_ : KMeans or MiniBatchKMeans
        Only for ``method="hypercolumns"``.
    cluster_flux_ : ndarray of shape (n_clusters,)
        Mean significance of each cluster's training pixels (``method="hypercolumns"``).
    object_clusters_ : ndarray of bool, shape (n_clusters,)
        Which clusters are "object" (``method="hypercolumns"``).
    input_shape_ : tuple of int
    n_features_in_ : int

    Notes
    -----
    NaN and infinite pixels are masked: they are ignored by the background estimate and never
    belong to an object. An image with no measurable noise (all zeros, constant, or fully
    masked) raises a ``ValueError`` in :meth:`predict`, :meth:`label` and :meth:`detect`: its
    significance is undefined, and an empty result would be silently wrong. Pass float64 images
    when the sky level exceeds the noise by more than ~1e6 (float32 resolution).

    See Also
    --------
    HypercolumnExtractor : the per-pixel features.
    estimate_background : the sky and RMS maps.
    pixel_class_map : star / galaxy map of a field from this segmenter and a cutout classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.segmentation import HypercolumnSegmenter
    >>> rng = np.random.default_rng(0)
    >>> yy, xx = np.mgrid[:64, :64]
    >>> blob = 20 * np.exp(-((yy - 22) ** 2 + (xx - 40) ** 2) / 8.0)
    >>> X = 1000 + rng.normal(size=(2, 1, 64, 64)) + blob
    >>> seg = HypercolumnSegmenter().fit(X)
    >>> catalog, labels = seg.detect(X)
    >>> len(catalog), bool(labels[0, 22, 40] > 0), bool(labels[:, 0, 0].any())
    (2, True, False)
    >>> int(seg.label(1000 + rng.normal(size=(1, 1, 64, 64))).max())  # noise only
    0
    """

    _parameter_constraints = {
        "extractor": [HypercolumnExtractor, None],
        "method": [StrOptions({"threshold", "hypercolumns"})],
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "grow_threshold": [Interval(Real, None, None, closed="neither")],
        "footprint_threshold": [Interval(Real, None, None, closed="neither"), None],
        "footprint_smoothing": [Interval(Real, 0, None, closed="left")],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "min_area": [Interval(Integral, 1, None, closed="left")],
        "min_snr": [Interval(Real, None, None, closed="neither"), None],
        "fill_holes": ["boolean"],
        "deblend": ["boolean"],
        "deblend_nsigma": [Interval(Real, 0, None, closed="left")],
        "deblend_contrast": [Interval(Real, 0, 1, closed="both")],
        "deblend_sigma": [Interval(Real, 0, None, closed="left")],
        "deblend_symmetry": [Interval(Real, 0, None, closed="neither"), None],
        "background_mesh": [Interval(Integral, 2, None, closed="left")],
        "background_filter": [Interval(Integral, 1, None, closed="left")],
        "detection_bands": [tuple, list, None],
        "band_weights": [StrOptions({"sed", "inverse_variance"})],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "cluster_threshold": [StrOptions({"auto"}), Interval(Real, None, None, closed="neither")],
        "significance_weight": [Interval(Real, 0, None, closed="left")],
        "scaler": [HasMethods(["fit", "transform"]), None],
        "scale_per_image": ["boolean"],
        "tile_size": [Interval(Integral, 8, None, closed="left")],
        "tile_overlap": [Interval(Integral, 0, None, closed="left")],
        "max_fit_pixels": [Interval(Integral, 2, None, closed="left")],
        "bright_fraction": [Interval(Real, 0, 1, closed="both")],
        "image_shape": [tuple, list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        extractor=None,
        *,
        method="threshold",
        threshold=5.5,
        grow_threshold=2.5,
        footprint_threshold=5.0,
        footprint_smoothing=1.0,
        smoothing=1.5,
        min_area=5,
        min_snr=None,
        fill_holes=True,
        deblend=True,
        deblend_nsigma=1.5,
        deblend_contrast=0.005,
        deblend_sigma=1.0,
        deblend_symmetry=None,
        background_mesh=64,
        background_filter=3,
        detection_bands=None,
        band_weights="sed",
        n_clusters=64,
        cluster_threshold=2.0,
        significance_weight=3.0,
        scaler=None,
        scale_per_image=True,
        tile_size=512,
        tile_overlap=32,
        max_fit_pixels=200_000,
        bright_fraction=0.5,
        image_shape=None,
        random_state=None,
        verbose=0,
    ):
        self.extractor = extractor
        self.method = method
        self.threshold = threshold
        self.grow_threshold = grow_threshold
        self.footprint_threshold = footprint_threshold
        self.footprint_smoothing = footprint_smoothing
        self.smoothing = smoothing
        self.min_area = min_area
        self.min_snr = min_snr
        self.fill_holes = fill_holes
        self.deblend = deblend
        self.deblend_nsigma = deblend_nsigma
        self.deblend_contrast = deblend_contrast
        self.deblend_sigma = deblend_sigma
        self.deblend_symmetry = deblend_symmetry
        self.background_mesh = background_mesh
        self.background_filter = background_filter
        self.detection_bands = detection_bands
        self.band_weights = band_weights
        self.n_clusters = n_clusters
        self.cluster_threshold = cluster_threshold
        self.significance_weight = significance_weight
        self.scaler = scaler
        self.scale_per_image = scale_per_image
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.max_fit_pixels = max_fit_pixels
        self.bright_fraction = bright_fraction
        self.image_shape = image_shape
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ input handling
    def _validate_X(self, X, *, reset):
        kw = {"image_shape": self.image_shape, "allow_tabular": True, "allow_nonfinite": True}
        if reset:
            validate_image_data(self, X, reset=True, **kw)
        else:
            X_checked = check_images(X, **kw)
            fitted = self.input_shape_
            if X_checked.ndim == 2 or len(fitted) == 1:
                validate_image_data(self, X, reset=False, **kw)
            elif X_checked.shape[1] != fitted[0]:
                msg = (
                    f"X has {X_checked.shape[1]} band(s) but {type(self).__name__} was "
                    f"fitted on {fitted[0]} band(s); bands must match."
                )
                raise ValueError(msg)
        # float64: background statistics keep the precision a high sky level would eat
        X = check_images(X, dtype=np.float64, **kw)
        return as_image_batch(X, layout="row")  # tabular rows: one-row images

    def _detection_bands(self, n_bands):
        if self.detection_bands is None:
            return list(range(n_bands))
        bands = [int(b) for b in self.detection_bands]
        if not bands or min(bands) < 0 or max(bands) >= n_bands:
            msg = (
                f"The 'detection_bands' parameter must index the {n_bands} band(s) of X. Got "
                f"{self.detection_bands!r}."
            )
            raise ValueError(msg)
        return bands

    def _detection(self, x, *, index=0):
        """Unit-noise detection image, significance, smoothed-noise scale (1 for white noise)
        and band-mean background-subtracted flux of one image ``x`` (C, H, W)."""
        bad = ~np.isfinite(x).all(axis=0)
        bands = np.where(np.isfinite(x), x, 0.0)[self.detection_bands_]
        residuals, rms = band_residuals(bands, bad, mesh_size=self.background_mesh,
                                        filter_size=self.background_filter)
        d, zero_noise = detection_image(residuals, rms, bad)
        if zero_noise:
            msg = (
                f"X[{index}] has no measurable noise (all pixels equal, e.g. all zeros, or all "
                "masked): its detection significance is undefined. Pass images with sky noise."
            )
            raise ValueError(msg)
        significance, noise_scale = smoothed_significance(d, bad, self.smoothing)
        if self.band_weights == "sed" and len(residuals) > 1:
            found = detect_sources(significance, threshold=self.threshold,
                                   footprint_threshold=self.grow_threshold,
                                   min_area=self.min_area, fill_holes=False, mask=bad)
            sed = object_sed(residuals, found)
            if sed is not None:
                d_sed, zero_noise = detection_image(residuals, rms, bad, sed)
                if not zero_noise:
                    d = d_sed
                    significance, noise_scale = smoothed_significance(d, bad, self.smoothing)
        return d, significance, noise_scale, residuals.mean(axis=0)

    # ------------------------------------------------------------------ hypercolumns
    def _make_scaler(self):
        from ..preprocessing import ImageScaler

        return ImageScaler(method="asinh") if self.scaler is None else clone(self.scaler)

    def _scaled(self, X, *, fit=False):
        """Background-subtracted images (masked pixels 0) scaled for the network."""
        S = np.empty(X.shape, dtype=np.float32)
        for i, x in enumerate(X):
            bad = ~np.isfinite(x)
            for b in range(x.shape[0]):
                bkg, _ = estimate_background(x[b], mask=bad[b], mesh_size=self.background_mesh,
                                             filter_size=self.background_filter)
                S[i, b] = np.where(bad[b], 0.0, x[b] - bkg)
        if self.scale_per_image:
            return np.stack([self._make_scaler().fit_transform(s[None])[0] for s in S])
        if fit:
            self.scaler_ = self._make_scaler().fit(S)
        return np.asarray(self.scaler_.transform(S), dtype=np.float32)

    def _align(self):
        return 2 ** (len(self.extractor_.net_.module_.channels) - 1)

    def _cluster_kw(self):
        return {"significance_weight": self.significance_weight, "tile_size": self.tile_size,
                "tile_overlap": self.tile_overlap, "align": self._align()}

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Record the input layout; for ``method="hypercolumns"`` fit the extractor and k-means.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width)
            Images in linear flux (e.g. nanomaggies), sky subtracted or not.
        y : None
            Ignored.

        Returns
        -------
        self : HypercolumnSegmenter
        """
        X = self._validate_X(X, reset=True)
        self.detection_bands_ = self._detection_bands(X.shape[1])
        if self.method == "threshold":
            return self
        seed = seed_from_random_state(self.random_state)
        rng = np.random.default_rng(seed)
        S = self._scaled(X, fit=True)
        extractor = HypercolumnExtractor() if self.extractor is None else clone(self.extractor)
        if extractor.random_state is None:
            extractor.set_params(random_state=seed)
        if self.verbose and not extractor.verbose:
            extractor.set_params(verbose=self.verbose)
        self.extractor_ = extractor.fit(S)
        sigs = np.stack([self._detection(x, index=i)[1] for i, x in enumerate(X)])
        self.kmeans_, self.cluster_flux_ = fit_pixel_clusters(
            self.extractor_, S, sigs, n_clusters=self.n_clusters,
            max_fit_pixels=self.max_fit_pixels, bright_fraction=self.bright_fraction,
            rng=rng, seed=seed, **self._cluster_kw())
        self.object_clusters_ = object_rule(self.cluster_flux_, self.cluster_threshold)
        return self

    # ------------------------------------------------------------------ prediction
    def _objects(self, X, i, significance):
        """Detected objects (labelled, not deblended) of image ``i``."""
        bad = ~np.isfinite(X[i]).all(axis=0)
        lab = detect_sources(significance, threshold=self.threshold,
                             footprint_threshold=self.grow_threshold,
                             min_area=self.min_area, fill_holes=self.fill_holes, mask=bad)
        if self.method == "hypercolumns" and lab.any():
            s = self._scaled(X[i:i + 1])[0]
            clusters = cluster_map(self.extractor_, self.kmeans_, s, significance,
                                   **self._cluster_kw())
            refined = np.where(self.object_clusters_[clusters], significance, -np.inf)
            refined[lab == 0] = -np.inf
            lab = detect_sources(refined, threshold=self.threshold,
                                 footprint_threshold=self.grow_threshold,
                                 min_area=self.min_area, fill_holes=self.fill_holes, mask=bad)
        return lab

    def _trim(self, lab, d, noise_scale):
        """Footprints trimmed at ``footprint_threshold`` (see the parameter)."""
        if self.footprint_threshold is None or not lab.any():
            return lab
        fsig = ndimage.gaussian_filter(d, self.footprint_smoothing) if self.footprint_smoothing \
            else d
        fsig = fsig / (kernel_norm(self.footprint_smoothing) * noise_scale)
        return trim_footprints(lab, fsig, self.footprint_threshold, min_pixels=self.min_area)

    def _segment(self, X, i):
        """Labelled, deblended objects of image ``i``, its detection image and significance."""
        d, significance, noise_scale, flux = self._detection(X[i], index=i)
        lab = self._objects(X, i, significance)
        if self.deblend and lab.any():
            noise = kernel_norm(self.deblend_sigma) * noise_scale
            lab = deblend_watershed(lab, d, sigma=self.deblend_sigma, nsigma=self.deblend_nsigma,
                                    contrast=self.deblend_contrast, noise=noise,
                                    min_area=self.min_area, significance=significance,
                                    min_significance=self.threshold,
                                    symmetry=self.deblend_symmetry)
        if self.min_snr is not None:
            lab = _drop_faint(lab, d, self.min_snr)
        return self._trim(lab, d, noise_scale), d, significance, flux

    def _prepare(self, X):
        check_is_fitted(self, "detection_bands_")
        return self._validate_X(X, reset=False)

    def predict(self, X):
        """Object masks: True where a pixel belongs to an object.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width)
            Images or fields of any size with the bands seen in ``fit``.

        Returns
        -------
        ndarray of bool, shape (n_samples, height, width)
        """
        X = self._prepare(X)
        out = np.zeros((X.shape[0],) + X.shape[2:], dtype=bool)
        for i in range(len(X)):
            d, significance, noise_scale, _ = self._detection(X[i], index=i)
            out[i] = self._trim(self._objects(X, i, significance), d, noise_scale) > 0
        return out

    def label(self, X):
        """Labelled objects: 0 background, 1..n_objects per image (deblended if ``deblend``).

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width)

        Returns
        -------
        ndarray of int32, shape (n_samples, height, width)
        """
        X = self._prepare(X)
        out = np.zeros((X.shape[0],) + X.shape[2:], dtype=np.int32)
        for i in range(len(X)):
            out[i] = self._segment(X, i)[0]
        return out

    def detect(self, X):
        """Catalogue of detected objects: one row per object of :meth:`label`.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, height, width)

        Returns
        -------
        catalog : pandas.DataFrame
            Columns ``image`` (index in ``X``), ``label`` (its value in ``labels[image]``), ``x``,
            ``y`` (:func:`object_positions` on the detection image), ``area`` (pixels), ``flux``
            (sum over the object of the band-averaged, background-subtracted flux, input units)
            and ``peak_significance`` (noise sigmas of the smoothed image).
        labels : ndarray of int32, shape (n_samples, height, width)
            As :meth:`label` returns.
        """
        X = self._prepare(X)
        labels = np.zeros((X.shape[0],) + X.shape[2:], dtype=np.int32)
        frames = []
        for i in range(len(X)):
            lab, d, significance, flux = self._segment(X, i)
            labels[i] = lab
            cat = make_catalog(lab, d, flux, image_index=i)
            ids = cat["label"].to_numpy()
            cat["peak_significance"] = labelled_max(significance, lab, ids)[0]
            frames.append(cat)
        return pd.concat(frames, ignore_index=True), labels

    def expected_false_detections(self, shape):
        """Expected number of noise peaks above ``threshold`` on a noise-only frame of ``shape``
        ``(H, W)`` at this segmenter's ``threshold`` and ``smoothing`` (white noise)."""
        return expected_false_detections(shape, self.threshold, self.smoothing)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

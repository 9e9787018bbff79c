"""The demo behind ``galaxy-learn demo``: simulate, fit without labels, evaluate per magnitude, plot.

:func:`run_demo` simulates SDSS-like star/galaxy cutouts, fits the mission's unsupervised pipeline
``Pipeline([VAEEncoder(prior), Isomap(), ThresholdClassifier(class_prior)])`` on a training part
(labels unused), and compares it on held-out objects with the classical concentration index, per
bin of r magnitude: separability falls with signal-to-noise, so one overall number would hide
where each method fails. The factories (:func:`make_unsupervised_pipeline`, ...) are what the
command line builds for ``classify``, ``segment`` and ``denoise``.
"""
import dataclasses
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DemoReport", "make_denoiser", "make_segmenter", "make_unsupervised_pipeline",
           "run_demo"]

#: Settings of the full demo (minutes on 2 CPU cores) and of ``quick`` (seconds, for tests).
#: None means the estimator's own default: the full demo trains what the library ships; only
#: ``quick`` shrinks the training, explicitly, for a smoke run.
DEMO_SETTINGS = {
    "full": {"n_samples": 3000, "max_epochs": None, "n_neighbors": 10, "seg_epochs": None,
             "seg_field": 256},
    "quick": {"n_samples": 300, "max_epochs": 1, "n_neighbors": 5, "seg_epochs": 1,
              "seg_field": 128},
}
MAG_BINS = (14.0, 18.0, 19.0, 20.0, 21.0, 22.0, 30.0)
POINT, EXTENDED = "POINT", "GALAXY"  # classes of the unsupervised classifier


def _net_params(device, random_state, verbose, **given):
    """Parameters of a network estimator: the run's device, seed and verbosity, and each of
    ``given`` that is not None (None keeps the estimator's own default)."""
    params = {"device": device, "random_state": random_state, "verbose": verbose}
    params.update({k: v for k, v in given.items() if v is not None})
    return params


def make_unsupervised_pipeline(*, prior=None, class_prior=None, max_epochs=None, batch_size=None,
                               n_neighbors=None, device="auto", random_state=0, verbose=0,
                               quick=False, psf=False):
    """``Pipeline([VAEEncoder(prior), Isomap(), ThresholdClassifier(class_prior)])``.

    ``class_prior`` is the assumed fraction of point sources (stars and quasars), the positive
    class ``"POINT"``; None keeps the classifier's default. Other arguments left at None take
    the VAEEncoder's (and Isomap's) defaults (``quick`` shrinks the network for smoke runs). ``psf=True``
    makes the encoder request ``psf_fwhm`` in fit and transform (call it, and fit/predict the
    pipeline, with ``sklearn.config_context(enable_metadata_routing=True)``).
    """
    from sklearn.manifold import Isomap
    from sklearn.pipeline import Pipeline

    from . import ThresholdClassifier, VAEEncoder

    vae_params = _net_params(device, random_state, verbose, prior=prior, max_epochs=max_epochs,
                             batch_size=batch_size)
    if quick:
        vae_params.update(channels=(8, 16), hidden_units=32)
    clf_params = {"classes": (EXTENDED, POINT), "random_state": random_state}
    if class_prior is not None:
        clf_params["class_prior"] = class_prior
    iso_params = {} if n_neighbors is None else {"n_neighbors": n_neighbors}
    encoder = VAEEncoder(**vae_params)
    if psf:
        encoder = encoder.set_fit_request(psf_fwhm=True).set_transform_request(psf_fwhm=True)
    return Pipeline([
        ("vaeencoder", encoder),
        ("isomap", Isomap(**iso_params)),
        ("thresholdclassifier", ThresholdClassifier(**clf_params)),
    ])


def make_segmenter(*, max_epochs=None, batch_size=None, device="auto", random_state=0, verbose=0):
    """The unsupervised hypercolumn segmenter with its default extractor."""
    from .segmentation import HypercolumnExtractor, HypercolumnSegmenter

    params = _net_params(device, random_state, verbose, max_epochs=max_epochs,
                         batch_size=batch_size)
    extractor = HypercolumnExtractor(**params)
    return HypercolumnSegmenter(extractor, random_state=random_state, verbose=verbose)


def make_denoiser(*, max_epochs=None, batch_size=None, device="auto", random_state=0, verbose=0):
    """:class:`~galaxy_learn.ContrastiveDenoiser` with the given training settings."""
    from .denoising import ContrastiveDenoiser

    params = _net_params(device, random_state, verbose, max_epochs=max_epochs,
                         batch_size=batch_size)
    return ContrastiveDenoiser(**params)


@dataclasses.dataclass
class DemoReport:
    """What :func:`run_demo` measured.

    Attributes
    ----------
    table : pandas.DataFrame
        Per r-magnitude bin: ``n``, the point-source count, and AUC / accuracy of the pipeline and
        of the concentration index on the held-out objects (plus an ``all`` row).
    settings : dict
        The exact settings of the run.
    figures : list of pathlib.Path
        Every file written: ``results.csv``, the figures, and the model when saved.
    fit_seconds : float
        Wall time of the pipeline's fit.
    pipeline : sklearn.pipeline.Pipeline
        The fitted pipeline.
    """

    table: pd.DataFrame
    settings: dict
    figures: list
    fit_seconds: float
    pipeline: object = None

    def summary(self):
        """A plain-text report: settings, the per-magnitude table, the files written."""
        fmt = self.table.copy()
        for col in fmt.columns:
            if fmt[col].dtype.kind == "f":
                fmt[col] = fmt[col].map(lambda v: "  -  " if np.isnan(v) else f"{v:.3f}")
        lines = [
            "galaxy_learn demo: unsupervised star/galaxy separation on simulated SDSS cutouts",
            "pipeline: VAEEncoder(prior={prior!r}) -> Isomap -> ThresholdClassifier(class_prior="
            "{class_prior})".format(**self.settings),
            f"{self.settings['n_train']} training / {self.settings['n_test']} held-out cutouts, "
            f"labels never used in fit; fit took {self.fit_seconds:.1f} s",
            f"true point-source fraction (held out): {self.settings['true_point_fraction']:.3f}",
            "",
            "AUC: each score's orientation is fixed once on all held-out objects (an unsupervised "
            "score has no sign),",
            "so a bin below 0.5 is a real failure there. Accuracy: after the class-prior cut.",
            "CI = concentration index (1.5 px / 4 px aperture flux, g+r+i), cut at the same prior"
            + (", on the same PSF-matched cutouts (PSF-aware run)." if self.settings.get("psf")
               else "."),
            "",
            fmt.to_string(index=False),
        ]
        if self.figures:
            lines += ["", "files written:"] + [f"  {p}" for p in self.figures]
        return "\n".join(lines)


def _concentration_prediction(ci, class_prior):
    """Point source where the concentration index is in the top ``class_prior`` fraction."""
    cut = np.quantile(ci, 1.0 - class_prior)
    return np.where(ci >= cut, POINT, EXTENDED)


def _evaluate(y_true, magnitude, ours_pred, ours_score, ci, class_prior):
    from .metrics import scores_by_magnitude

    ci_pred = _concentration_prediction(ci, class_prior)
    kw = {"bins": MAG_BINS, "pos_label": POINT, "unsupervised": True}
    ours = scores_by_magnitude(y_true, ours_pred, magnitude, y_score=ours_score, **kw)
    base = scores_by_magnitude(y_true, ci_pred, magnitude, y_score=ci, **kw)
    table = pd.DataFrame({
        "r mag": ours.index.astype(str),
        "n": ours["n"].to_numpy(),
        "n point": ours["n_positive"].to_numpy(),
        "AUC pipeline": ours["auc"].to_numpy(dtype=float),
        "AUC CI": base["auc"].to_numpy(dtype=float),
        "acc pipeline": ours["accuracy"].to_numpy(dtype=float),
        "acc CI": base["accuracy"].to_numpy(dtype=float),
    })
    return table


def _plot_latent(pipe, Z, y_true, path):
    """Scatter of the first two columns of the held-out codes ``Z`` (the encoder's transform;
    with an ensemble, member 0's units come first)."""
    import matplotlib.pyplot as plt

    encoder = pipe.named_steps["vaeencoder"]
    members = getattr(encoder, "n_ensemble", 1)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for label, color in ((EXTENDED, "tab:orange"), (POINT, "tab:blue")):
        sel = y_true == label
        ax.scatter(Z[sel, 0], Z[sel, 1] if Z.shape[1] > 1 else np.zeros(sel.sum()), s=6,
                   alpha=0.6, color=color, label=f"{label.lower()} (truth)")
    title = "VAE latent space (held-out objects)"
    if members > 1:
        title = f"VAE latent space, member 1 of {members} (held-out)"
    ax.set(xlabel="latent 1", ylabel="latent 2", title=title)
    ax.legend(markerscale=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_roc(y_true, ours_score, ci, path):
    import matplotlib.pyplot as plt
    from sklearn.metrics import RocCurveDisplay, roc_auc_score

    fig, ax = plt.subplots(figsize=(5, 4.5))
    is_point = y_true == POINT
    for name, score in (("VAE + Isomap + threshold", ours_score), ("concentration index", ci)):
        if roc_auc_score(is_point, score) < 0.5:  # orientation-free, as in the table
            score = -score
        RocCurveDisplay.from_predictions(is_point, score, name=name, ax=ax)
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set(title="Point source vs galaxy, held-out objects")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_segmentation(settings, path):
    """Segment a simulated sky field and overlay our object outlines and the truth on the r band."""
    import matplotlib.pyplot as plt

    from .datasets import make_sky_field
    from .segmentation import robust_sigma

    size = settings["seg_field"]
    field, truth, catalog = make_sky_field((size, size), random_state=settings["random_state"])
    seg = make_segmenter(max_epochs=settings["seg_epochs"], device=settings["device"],
                         random_state=settings["random_state"])
    labels = seg.fit(field[None]).label(field[None])[0]
    r = field[2]
    sigma = robust_sigma(r)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(np.arcsinh(r / max(3 * sigma, 1e-12)), cmap="gray", origin="lower",
              vmin=-1, vmax=4)
    ax.contour(truth > 0, levels=[0.5], colors="tab:cyan", linewidths=0.8, linestyles="--",
               origin="lower")
    ax.contour(labels > 0, levels=[0.5], colors="tab:red", linewidths=0.8, origin="lower")
    ax.set_axis_off()
    ax.set_title(f"Hypercolumn segmentation of a simulated {size}x{size} field (r band)\n"
                 f"red: {int(labels.max())} objects found; cyan dashed: truth "
                 f"({int((catalog['segment_area'] > 0).sum())} objects above the isophote)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_demo(n_samples=None, *, prior=None, class_prior=None, quick=False, max_epochs=None,
             out_dir="galaxy_learn_demo", figures=True, device="auto", random_state=0, verbose=1,
             model_path=None, test_size=0.3, psf=False):
    """Simulate cutouts, fit the unsupervised pipeline, evaluate per magnitude bin, plot.

    Parameters
    ----------
    n_samples : int, default=None
        Simulated cutouts (train + held out); None: 3000, or 300 with ``quick``.
    prior : str, default=None
        The VAE's latent prior; None: :class:`~galaxy_learn.VAEEncoder`'s default.
    class_prior : float, default=None
        Assumed fraction of point sources; None: :class:`~galaxy_learn.ThresholdClassifier`'s
        default (the simulator draws 40 % stars and 5 % quasars, so any fixed guess is slightly
        wrong, as in practice).
    quick : bool, default=False
        Explicit small settings (300 cutouts, a smaller network, one epoch, a 128x128
        segmentation field): seconds, for tests and smoke runs. Not the estimators' defaults.
    max_epochs : int, default=None
        VAE epochs; None: the VAEEncoder's default, or 1 with ``quick``.
    out_dir : str or path, default="galaxy_learn_demo"
        Folder for the figures and ``results.csv`` (created if missing).
    figures : bool, default=True
        Whether to draw the figures (latent space, ROC, and the segmentation of a simulated
        sky field overlaid with the truth).
    device : str, default="auto"
        Device of the networks.
    random_state : int, default=0
        Seed of the simulation, the split and every fit.
    verbose : int, default=1
        Progress bars and messages.
    model_path : str or path, default=None
        Save the fitted pipeline there (:func:`galaxy_learn.persistence.save`).
    test_size : float, default=0.3
        Held-out fraction.
    psf : bool, default=False
        PSF-aware run: the simulated per-band PSF FWHM of each cutout is routed to the encoder
        (``VAEEncoder.fit/transform(psf_fwhm=...)`` via sklearn's metadata routing), and the
        concentration index is measured on the same PSF-matched cutouts (like against like).

    Returns
    -------
    report : DemoReport
    """
    from sklearn.model_selection import train_test_split

    import sklearn

    from .datasets import make_star_galaxy_cutouts
    from .photometry import concentration_index
    from .preprocessing import psf_rescale

    mode = DEMO_SETTINGS["quick" if quick else "full"]
    n_samples = n_samples or mode["n_samples"]
    max_epochs = max_epochs or mode["max_epochs"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def say(text):
        if verbose:
            print(text, flush=True)

    say(f"Simulating {n_samples} cutouts (5 bands, 64x64, nanomaggies)...")
    X, y, truth = make_star_galaxy_cutouts(n_samples, random_state=random_state)
    y_true = np.where(truth["point_source"].to_numpy(), POINT, EXTENDED)
    idx_train, idx_test = train_test_split(np.arange(n_samples), test_size=test_size,
                                           random_state=random_state, stratify=y_true)
    # metadata routing carries psf_fwhm to the encoder (enabled only for this run)
    with sklearn.config_context(enable_metadata_routing=psf):
        pipe = make_unsupervised_pipeline(prior=prior, class_prior=class_prior,
                                          max_epochs=max_epochs, n_neighbors=mode["n_neighbors"],
                                          device=device, random_state=random_state,
                                          verbose=verbose, quick=quick, psf=psf)
        fwhm = np.stack([truth[f"psf_fwhm_{b}"].to_numpy() for b in "ugriz"], axis=1)
        train_params = {"psf_fwhm": fwhm[idx_train]} if psf else {}
        test_params = {"psf_fwhm": fwhm[idx_test]} if psf else {}
        prior = pipe.named_steps["vaeencoder"].prior  # the values used, for the report
        class_prior = pipe.named_steps["thresholdclassifier"].class_prior
        max_epochs = pipe.named_steps["vaeencoder"].max_epochs
        say(f"Fitting VAEEncoder(prior={prior!r}) -> Isomap -> ThresholdClassifier on "
            f"{len(idx_train)} cutouts, no labels{', PSF-aware' if psf else ''}...")
        start = time.perf_counter()
        with warnings.catch_warnings():
            # stars and galaxies well apart on the SPREAD_MODEL column can leave Isomap's
            # neighbour graph in two pieces: it joins them itself, the warning is no error
            warnings.filterwarnings("ignore", message=".*number of connected components.*")
            warnings.filterwarnings("ignore", message=".*sparsity structure.*")
            pipe.fit(X[idx_train], **train_params)
        fit_seconds = time.perf_counter() - start
        X_test, y_test = X[idx_test], y_true[idx_test]
        # the held-out codes once (pipe.predict and pipe.decision_function would each encode
        # X_test again, and the latent figure a third time); the same numbers as through pipe
        codes = pipe.named_steps["vaeencoder"].transform(X_test, **test_params)
        embedded = pipe.named_steps["isomap"].transform(codes)
        ours_pred = pipe.named_steps["thresholdclassifier"].predict(embedded)
        ours_score = pipe.named_steps["thresholdclassifier"].decision_function(embedded)
    if psf:  # the index on the same PSF-matched cutouts as the encoder
        target = pipe.named_steps["vaeencoder"].psf_target_fwhm_
        ci = concentration_index(psf_rescale(X_test, fwhm[idx_test], target))
    else:
        ci = concentration_index(X_test)
    magnitude = truth["mag_r"].to_numpy()[idx_test]
    table = _evaluate(y_test, magnitude, ours_pred, ours_score, ci, class_prior)
    table.to_csv(out_dir / "results.csv", index=False)
    written = [out_dir / "results.csv"]
    settings = {"n_samples": n_samples, "n_train": len(idx_train), "n_test": len(idx_test),
                "prior": prior, "class_prior": class_prior, "max_epochs": max_epochs,
                "quick": quick, "device": device, "random_state": random_state, "psf": psf,
                "true_point_fraction": float(np.mean(y_test == POINT)),
                "seg_epochs": mode["seg_epochs"], "seg_field": mode["seg_field"]}
    if figures:
        say("Drawing figures...")
        _plot_latent(pipe, codes, y_test, out_dir / "latent_space.png")
        _plot_roc(y_test, ours_score, ci, out_dir / "roc.png")
        written += [out_dir / "latent_space.png", out_dir / "roc.png"]
        try:
            _plot_segmentation(settings, out_dir / "segmentation.png")
            written.append(out_dir / "segmentation.png")
        except ImportError as exc:  # the segmentation module is optional in this build
            say(f"(segmentation overlay skipped: {exc})")
    if model_path is not None:
        from .persistence import save

        written.append(save(pipe, model_path))
        say(f"Model saved to {model_path}")
    return DemoReport(table=table, settings=settings, figures=written,
                      fit_seconds=fit_seconds, pipeline=pipe)

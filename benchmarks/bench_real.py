"""The mission line on data this project did not make: real SDSS frames, real ZTF cutouts, GalSim.

Usage::

    python benchmarks/bench_real.py                 # every data set, seeds 0-4
    python benchmarks/bench_real.py --only sdss ztf --seeds 0 1 2
    python benchmarks/bench_real.py --quick         # smoke run (1 seed, tiny fits)

Data sets (``--data``, default ``../shared/data`` beside the repository; a data set whose files are
absent is skipped with a message):

* ``sdss``: SDSS field 4510-4-30 (five ``frame-[ugriz]`` files). Objects are found on the r frame
  (:func:`galaxy_learn.datasets.load_survey_field`: SEP background and 5-sigma detection), cut as
  64x64 ugriz stamps aligned through each band's WCS; label *star* when the object is within 1 px
  (0.4") of an entry of SDSS's own star list (``calibObj-...-star.fits``: SDSS photo's
  OBJC_TYPE 6), *galaxy* otherwise; kept when 14 < r < 22.5 (r: 3" aperture flux) and unflagged.
  The estimators are fitted on this field's stamps (label-free) plus, for ``+field2``, the
  unlabelled stamps of field 1035-6-17.
* ``ztf``: 1,500 ZTF i-band 20x20 cutouts with Legacy Survey morphological labels (750 + 750),
  background subtracted here (median of the outer ring); bins are the two halves in flux.
* ``galsim``: ``benchmarks/galsim_set.py`` (its own population, seeing, neighbours), fit on 1,500,
  scored on 500 held out, per r-magnitude bin.

Methods, each scored by the orientation-free AUC (:func:`galaxy_learn.metrics.unsupervised_roc_auc`;
the per-bin AUCs use the orientation fixed on all objects):

* ``concentration index``: :func:`galaxy_learn.photometry.concentration_index` (1.5 / 4 px, g+r+i).
* ``mission line``: ``Pipeline([VAEEncoder(prior="dkl"), Isomap(n_components=1)])`` at its
  defaults (codes joined with the SPREAD_MODEL column, weight 32), fitted without labels, one
  fit per seed. From the same fit: ``codes only`` (Isomap on the VAE codes without the
  physical column: the line before this column existed), ``weight 2`` / ``4`` / ``8`` (the
  column at a lower weight; the weight only scales the column, so these are exactly the line
  with ``psf_statistic_weight`` set so) and ``spread_model only`` (the column alone, as measured
  inside the encoder with its label-free PSF estimate).
* ``CNN on matched simulations`` (``--only sdss-simcnn`` / ``galsim-simcnn``): amortised
  inference. :func:`galaxy_learn.datasets.make_matched_cutouts` renders 10,000 labelled
  cutouts with the PSF and sky noise measured on the stamps (SDSS: the field's own; GalSim:
  the 1,500 fit cutouts, with the seeing range of their published PSF widths, since GalSim
  draws one seeing per cutout), a ``CNNClassifier(channels=(16, 32, 64), crop="auto")`` is
  trained on them (30 epochs) and scores the stamps (log-odds of "point source"); no real or
  GalSim label is used. One simulation and fit per seed. The method's name says how the
  training magnitudes were drawn (``--mag-slope``; "per-class counts" before that parameter).
  ``gradient boosting on profiles`` (``--only sdss-simgbm`` / ``galsim-simgbm``): the same
  matched simulations, classified by scikit-learn's HistGradientBoostingClassifier on summary
  statistics (the aperture growth curve per band, colours, r magnitude; ``+ spread_model``:
  and the g, r, i SPREAD_MODEL with its error, ``--features``) instead of a CNN on the pixels:
  amortised inference at a fraction of the CNN's training cost.
  Both run :class:`galaxy_learn.classification.MatchedSimulationClassifier` (older records:
  the same steps written out here); the label-free cut is its own, the star fraction
  estimated on the fit stamps from the classifier's probabilities by prior-shift EM
  (:func:`galaxy_learn.classification.estimate_prior_shift`).

On SDSS the record also says how certain SDSS photo's own star labels are per bin
(``label_certainty``: the error of the PSF minus model magnitude of the listed stars against
photo's 0.145 mag star/galaxy cut).

Writes ``results/real.json`` (every number, with machine, command and commit) and
``results/real.md`` generated from it.
"""
import json
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from _common import HERE, ROOT, bench_parser, write_results

STAR_MATCH_PX = 1.0
SDSS_LABELLED = "004510-4-0030"
SDSS_UNLABELLED = "001035-6-0017"
SDSS_BINS = (14.0, 19.0, 20.5, 21.5, 22.5)
GALSIM_BINS = (16.0, 19.0, 20.0, 21.0, 22.5)
PIXEL_ARCSEC = 0.396


def _ring_median(X, width=2):
    mask = np.zeros(X.shape[-2:], dtype=bool)
    mask[:width], mask[-width:], mask[:, :width], mask[:, -width:] = True, True, True, True
    return np.median(X[..., mask], axis=-1)[..., None, None]


def load_sdss(data):
    """Stamps, labels and r magnitudes of the labelled SDSS field."""
    from astropy.table import Table

    from galaxy_learn.datasets import load_survey_field
    from galaxy_learn.photometry import aperture_flux

    folder = data / "sdss" / SDSS_LABELLED
    X, table, field = load_survey_field(folder, bands="ugriz", size=64)
    stars = Table.read(folder / f"calibObj-{SDSS_LABELLED}-star.fits")
    sx, sy = field.world_to_pixel(np.asarray(stars["RA"]), np.asarray(stars["DEC"]), "r")
    d = np.hypot(table["x_r"].to_numpy()[:, None] - sx[None], table["y_r"].to_numpy()[:, None]
                 - sy[None])
    is_star = d.min(axis=1) <= STAR_MATCH_PX
    flux = aperture_flux(X, [3.0 / PIXEL_ARCSEC], bands=[2], center="image")[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rmag = np.where(flux > 0, 22.5 - 2.5 * np.log10(np.where(flux > 0, flux, 1)), np.inf)
    flags = table[["flag_edge", "flag_masked", "flag_saturated"]].any(axis=1).to_numpy()
    keep = (rmag > SDSS_BINS[0]) & (rmag < SDSS_BINS[-1]) & ~flags
    info = {"detected": int(len(table) + table.attrs["n_skipped_edge"]),
            "edge_skipped": int(table.attrs["n_skipped_edge"]), "flagged": int(flags.sum()),
            "kept": int(keep.sum()), "stars": int(is_star[keep].sum()),
            "star_list": len(stars),
            "psf_fwhm_px": {b: round(float(field.psf_fwhm[b]), 3) for b in field.bands}}
    info["label_certainty"] = star_label_certainty(stars, SDSS_BINS)
    psf = table[[f"psf_fwhm_{b}" for b in "ugriz"]].to_numpy()[keep]
    return X[keep], is_star[keep].astype(int), rmag[keep], psf, info


def star_label_certainty(stars, bins, cut=0.145):
    """How certain SDSS photo's own star labels are, per r bin (its PSF magnitude): photo calls
    an object a star when its PSF minus model magnitude is below ``cut`` (Stoughton et al.
    2002; photo uses cModel, the calibObj rows carry model fluxes). Per bin: the listed stars,
    the median error of that difference, and the fraction whose difference lies within twice
    its error of the cut, i.e. labels the photometry itself cannot tell from a galaxy's."""
    psf, model = stars["PSFFLUX"][:, 2], stars["MODELFLUX"][:, 2]
    good = (psf > 0) & (model > 0)
    psf, model = psf[good], model[good]
    var_psf = 1 / stars["PSFFLUX_IVAR"][:, 2][good] / psf**2
    var_model = 1 / stars["MODELFLUX_IVAR"][:, 2][good] / model**2
    r = 22.5 - 2.5 * np.log10(psf)
    diff = -2.5 * np.log10(psf / model)
    sigma = 2.5 / np.log(10) * np.sqrt(var_psf + var_model)
    out = {}
    for lo, hi in zip(bins[:-1], bins[1:]):
        sel = (r > lo) & (r <= hi)
        out[f"{lo:g}-{hi:g}"] = {
            "stars_listed": int(sel.sum()),
            "median_sigma_psf_minus_model": round(float(np.median(sigma[sel])), 3)
            if sel.any() else None,
            "within_2_sigma_of_cut": round(float(np.mean(np.abs(diff[sel] - cut)
                                                         < 2 * sigma[sel])), 3)
            if sel.any() else None}
    return out


def load_sdss_unlabelled(data):
    from galaxy_learn.datasets import load_survey_field

    X, table, _ = load_survey_field(data / "sdss" / SDSS_UNLABELLED, bands="ugriz", size=64)
    flags = table[["flag_edge", "flag_masked", "flag_saturated"]].any(axis=1).to_numpy()
    psf = table[[f"psf_fwhm_{b}" for b in "ugriz"]].to_numpy()
    return X[~flags], psf[~flags]


def load_ztf(data):
    d = np.load(data / "ztf" / "ztf_i_cutouts.npz")
    X = d["X"].astype(np.float32)
    X = X - _ring_median(X)
    y = (d["y"] == "STAR").astype(int)
    flux = X.sum(axis=(1, 2, 3))
    return X, y, flux


def auc_table(y, score, mag, bins, *, flux_halves=False):
    """Overall and per-bin orientation-free AUC (orientation fixed on all objects)."""
    from sklearn.metrics import roc_auc_score

    overall = roc_auc_score(y, score)
    sign = 1.0 if overall >= 0.5 else -1.0
    out = {"all": max(overall, 1 - overall)}
    if flux_halves:
        med = np.median(mag)
        groups = {"bright half": mag >= med, "faint half": mag < med}
    else:
        groups = {f"{lo:g}-{hi:g}": (mag > lo) & (mag <= hi) for lo, hi in zip(bins[:-1], bins[1:])}
    for name, sel in groups.items():
        ok = sel.sum() >= 10 and 0 < y[sel].sum() < sel.sum()
        out[name] = float(roc_auc_score(y[sel], sign * score[sel])) if ok else float("nan")
    return out, {name: int(sel.sum()) for name, sel in groups.items()}


def mission_encoder(seed, quick):
    from galaxy_learn import VAEEncoder

    vae = VAEEncoder(prior="dkl", random_state=seed)
    if quick:
        vae.set_params(max_epochs=2, n_ensemble=1, channels=(8, 16))
    return vae


WEIGHT = 32.0  # VAEEncoder's default psf_statistic_weight


def line_scores(X_fit, X_eval, seed, quick, psf=None):
    """Scores of the mission line ``VAEEncoder -> Isomap(1)`` (what the Pipeline computes) and
    of its ablations, from one fit of the encoder; with ``psf`` (per-cutout FWHM of the fit and
    evaluation sets) the PSF-aware line, and the index on PSF-matched cutouts."""
    from sklearn.manifold import Isomap

    from galaxy_learn.photometry import concentration_index
    from galaxy_learn.preprocessing import psf_rescale

    if psf is None:
        scores = {"concentration index": concentration_index(X_eval)}
        fit_kw = eval_kw = {}
    else:
        target = np.median(psf[0], axis=0)
        scores = {"concentration index (PSF-matched)":
                  concentration_index(psf_rescale(X_eval, psf[1], target))}
        fit_kw, eval_kw = {"psf_fwhm": psf[0]}, {"psf_fwhm": psf[1]}
    if seed is None:
        return scores
    enc = mission_encoder(seed, quick)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        Z_fit = enc.fit(X_fit, **fit_kw).transform(X_fit, **fit_kw)
        Z_eval = enc.transform(X_eval, **eval_kw)
        scores["mission line"] = Isomap(n_components=1).fit(Z_fit).transform(Z_eval)[:, 0]
        if enc.psf_statistic_fwhm_ is not None:
            n = enc.n_latent * enc.n_ensemble
            iso = Isomap(n_components=1).fit(Z_fit[:, :n])
            scores["codes only"] = iso.transform(Z_eval[:, :n])[:, 0]
            for w in (2.0, 4.0, 8.0):
                f = np.ones(Z_fit.shape[1])
                f[-1] = w / WEIGHT
                iso = Isomap(n_components=1).fit(Z_fit * f)
                scores[f"weight {w:g}"] = iso.transform(Z_eval * f)[:, 0]
            scores["spread_model only"] = Z_eval[:, -1]
    return scores


def evaluate_simulation_trained(dataset, X_fit, X_eval, y, mag, bins, seeds, quick, n_sim,
                                model="cnn", features="profile+spread", **match):
    """Amortised inference: :class:`galaxy_learn.classification.MatchedSimulationClassifier`
    fitted on ``X_fit`` (simulations matched to its PSF and noise, measured without labels, or
    ``match``'s ``psf_fwhm``) scores ``X_eval``; one simulation and fit per seed.
    ``model="cnn"``: its ``estimator="cnn"`` (``CNNClassifier(channels=(16, 32, 64),
    crop="auto")`` on the pixels, 30 epochs); ``"gbm"``: ``estimator="boosting"``
    (HistGradientBoostingClassifier) on ``features``. The label-free cut is the estimator's:
    the star fraction estimated on ``X_fit`` by prior-shift EM (the t-mixture's estimate on
    ``X_eval`` is kept beside it)."""
    from galaxy_learn.classification import CNNClassifier, MatchedSimulationClassifier

    rows = []
    for seed in seeds:
        start = time.perf_counter()
        if model == "cnn":
            estimator = CNNClassifier(channels=(16, 32, 64), crop="auto", max_epochs=2,
                                      random_state=seed, device="cpu") if quick else "cnn"
            features = None
        else:
            estimator = "boosting"
        clf = MatchedSimulationClassifier(estimator, features=features,
                                          n_simulated=600 if quick else n_sim,  # None: default
                                          simulation_params=match, random_state=seed)
        clf.fit(X_fit)
        score = clf.score_samples(X_eval)
        seconds = time.perf_counter() - start
        aucs, counts = auc_table(y, score, mag, bins)
        tmix = label_free_cut(y, score, orientation="high")
        method = simulation_method(clf.simulation_, model, clf.n_simulated_, features)
        rows.append({"dataset": dataset, "method": method, "seed": seed,
                     "fit_seconds": round(seconds, 1), "auc": aucs, "n": counts,
                     "n_simulated": clf.n_simulated_, "matched": clf.simulation_,
                     "features": features,
                     "score": [round(float(v), 4) for v in score],
                     **label_free_cut(y, score, orientation="high", prior=clf.class_prior_),
                     "star_fraction_tmixture": tmix["star_fraction_auto"],
                     "accuracy_tmixture": tmix["accuracy_auto"]})
        print(f"{dataset:14s} {method} seed={seed} auc={aucs['all']:.3f} ({seconds:.0f} s)",
              flush=True)
    return rows


def simulation_method(matched, model="cnn", n_simulated=None, features="profile"):
    """The method's name in the tables: the classifier (and the boosting's features; records
    older than the spread_model features used the growth curves alone), the training set's
    magnitude distribution (``mag_slope``; records older than that parameter drew per-class
    counts) and its size."""
    slope = matched.get("mag_slope")
    parts = ["per-class counts" if slope is None else f"mag_slope {slope:g}"]
    if n_simulated:
        parts.append(f"{n_simulated:,} simulations")
    if model == "cnn":
        name = "CNN"
    elif features == "profile+spread":
        name = "gradient boosting on profiles + spread_model"
    else:
        name = "gradient boosting on profiles"
    return f"{name} on matched simulations ({', '.join(parts)})"


CATALOG_METHOD = "catalog default: MatchedSimulationClassifier (growth curves + spread_model)"
CATALOG_METHOD_BEFORE = "catalog --classifier simulation (growth curves only)"


def evaluate_catalog(data, seeds, quick):
    """The whole product on the labelled SDSS field: ``galaxy-learn catalog FIELD -o DIR`` (its
    defaults: on this SDSS field a MatchedSimulationClassifier of growth curves and
    spread_model; records before that default ran ``--classifier simulation`` on growth curves
    only) in a fresh process per seed; wall time (start and
    imports included), the child's peak resident memory, and its classes and ``star_score``
    against SDSS photo's star list (catalogued objects within 0.6" of a listed star), on the
    clean objects (no edge / masked / saturated flag) with 14 < r < 22.5 in the catalogue's own
    photometry."""
    import resource
    import subprocess
    import tempfile

    from astropy.table import Table

    folder = data / "sdss" / SDSS_LABELLED
    stars = Table.read(folder / f"calibObj-{SDSS_LABELLED}-star.fits")
    rows = []
    for seed in seeds[:1] if quick else seeds:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "galaxy_learn", "catalog", str(folder),
                                   "-o", tmp, "-q", "--random-state", str(seed)],
                                  capture_output=True, text=True)
            wall = time.perf_counter() - start
            if proc.returncode:
                print("catalog failed:", proc.stderr[-500:], flush=True)
                continue
            cat = Table.read(Path(tmp) / f"{SDSS_LABELLED}_catalog.fits").to_pandas()
        dec0 = np.radians(np.asarray(stars["DEC"]))[None]
        sep = 3600 * np.hypot((cat["ra"].to_numpy()[:, None] - np.asarray(stars["RA"])[None])
                              * np.cos(dec0), cat["dec"].to_numpy()[:, None]
                              - np.asarray(stars["DEC"])[None])
        y = (sep.min(axis=1) < 0.6).astype(int)
        flags = cat[["flag_edge", "flag_masked", "flag_saturated"]].any(axis=1).to_numpy()
        rmag = cat["mag_r"].to_numpy()
        ok = ~flags & (rmag > SDSS_BINS[0]) & (rmag < SDSS_BINS[-1])
        called = (cat["class"].astype(str).str.strip() == "star").to_numpy()
        aucs, counts = auc_table(y[ok], cat["star_score"].to_numpy()[ok], rmag[ok], SDSS_BINS)
        rows.append({"dataset": "SDSS 4510-4-30, galaxy-learn catalog (its own detections and "
                                "photometry)", "method": CATALOG_METHOD,
                     "seed": seed, "fit_seconds": round(wall, 1), "auc": aucs, "n": counts,
                     "peak_rss_mb": round(resource.getrusage(
                         resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
                     "star_fraction": float(y[ok].mean()),
                     "star_fraction_auto": float(called[ok].mean()),
                     "accuracy_auto": float(np.mean(called[ok] == y[ok])),
                     "prior_estimate": "prior-shift EM"})
        print(f"catalog seed={seed} auc={aucs['all']:.3f} accuracy={rows[-1]['accuracy_auto']:.3f}"
              f" ({wall:.0f} s)", flush=True)
    return rows


def label_free_cut(y, score, orientation="auto", prior=None):
    """The score cut by ThresholdClassifier without labels: the star fraction estimated
    (``class_prior="auto"``, or the label-free estimate ``prior`` made elsewhere) against the
    true one, and the accuracy with the estimate and with the true fraction
    (``orientation="auto"``: the label-free "narrow component" rule, for scores whose star end
    is unknown; ``"high"`` for a score that is high for stars by construction, as a
    classifier's log-odds)."""
    from galaxy_learn import ThresholdClassifier

    z = np.asarray(score, dtype=float)[:, None]
    auto = ThresholdClassifier(class_prior="auto" if prior is None else float(prior),
                               orientation=orientation).fit(z)
    given = ThresholdClassifier(class_prior=float(np.mean(y)), orientation=orientation).fit(z)
    return {"star_fraction": float(np.mean(y)), "star_fraction_auto": float(auto.class_prior_),
            "accuracy_auto": float(np.mean(auto.predict(z) == y)),
            "accuracy_true_prior": float(np.mean(given.predict(z) == y)),
            "cut_orientation": orientation,
            "prior_estimate": "t-mixture" if prior is None else "prior-shift EM"}


def evaluate(dataset, X_fit, X_eval, y, mag, bins, seeds, quick, *, flux_halves=False,
             with_index=True, psf=None):
    rows = []
    for seed in ([None] if with_index else []) + list(seeds):
        start = time.perf_counter()
        scores = line_scores(X_fit, X_eval, seed, quick, psf)
        seconds = time.perf_counter() - start
        for method, score in scores.items():
            if seed is not None and method.startswith("concentration index"):
                continue
            aucs, counts = auc_table(y, score, mag, bins, flux_halves=flux_halves)
            rows.append({"dataset": dataset, "method": method, "seed": seed,
                         "fit_seconds": round(seconds, 1), "auc": aucs, "n": counts,
                         **label_free_cut(y, score)})
            print(f"{dataset:14s} {method:20s} seed={seed} auc={aucs['all']:.3f} "
                  f"({seconds:.0f} s)", flush=True)
    return rows


def summarise(rows):
    """The record's sections: per data set and method, mean ± std over seeds, per bin."""
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        sub = [r for r in rows if r["dataset"] == ds]
        bins = list(sub[0]["auc"])
        table = []
        for method in dict.fromkeys(r["method"] for r in sub):
            runs = [r for r in sub if r["method"] == method]
            row = {"method": method, "runs": len(runs)}
            for b in bins:
                v = np.array([np.nan if r["auc"][b] is None else r["auc"][b] for r in runs],
                             dtype=float)
                row[f"AUC {b}"] = (f"{np.nanmean(v):.3f}" if len(v) == 1 else
                                   f"{np.nanmean(v):.3f} ± {np.nanstd(v, ddof=1):.3f}")
            for key in ("star_fraction_auto", "accuracy_auto", "accuracy_true_prior"):
                v = np.array([r.get(key, np.nan) for r in runs], dtype=float)
                row[key.replace("_", " ")] = ("" if np.isnan(v).all() else  # not measured
                                              f"{v.mean():.3f}" if len(v) == 1 else
                                              f"{v.mean():.3f} ± {v.std(ddof=1):.3f}")
            table.append(row)
        n = sub[0]["n"]
        fraction = np.mean([r.get("star_fraction", np.nan) for r in sub])
        out.append({"heading": ds,
                    "text": "Objects per bin: " + ", ".join(f"{k}: {v}" for k, v in n.items())
                            + f"; true star fraction {fraction:.3f}",
                    "rows": table})
    return out


def _source_runs(record):
    """The measuring runs behind a record: its own, or those an --assemble record lists."""
    if record.get("source runs"):
        return record["source runs"]
    # records written before benchmarks/_common.write_results joined the commands of their
    # runs as "`command` at commit; ..."
    pairs = re.findall(r"`([^`]*)` at (\w+)", record["command"]) or [(record["command"],
                                                                       record["commit"])]
    return [{"command": "python " + command if command.startswith("benchmarks/") else command,
             "commit": commit, "machine": record["machine"]} for command, commit in pairs]


def main():
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--only", nargs="+",
                        choices=["sdss", "sdss+field2", "sdss-simcnn", "sdss-simgbm",
                                 "sdss-catalog", "ztf",
                                 "galsim", "galsim+psf", "galsim-simcnn", "galsim-simgbm",
                                 "oursim", "oursim+psf", "oursim-simgbm"],
                        default=["sdss", "sdss+field2", "ztf", "galsim", "galsim+psf"])
    parser.add_argument("--n-sim", type=int, default=None,
                        help="simulated training cutouts of the *-simcnn / *-simgbm runs "
                             "(default: MatchedSimulationClassifier's, 10,000 for the CNN and "
                             "20,000 for the boosting)")
    parser.add_argument("--mag-slope", type=float, default=None,
                        help="make_matched_cutouts' mag_slope for the *-sim* runs (default: "
                             "its own default)")
    parser.add_argument("--features", choices=["profile+spread", "profile"],
                        default="profile+spread",
                        help="what the *-simgbm boosting sees (MatchedSimulationClassifier's "
                             "features; default: its default)")
    parser.add_argument("--assemble", nargs="+", type=Path, metavar="JSON",
                        help="only merge the rows of earlier runs' real.json files into one "
                             "real.json / real.md (runs split across processes)")
    args = parser.parse_args()
    if args.assemble:
        records = [json.loads(p.read_text()) for p in args.assemble]
        rows = [r for rec in records for r in (rec.get("data", {}).get("rows") or rec["rows"])]
        relabelled = any(rec.get("relabelled") or "weight 8" in (rec.get("note") or "")
                         for rec in records)
        for rec in records:
            rec_rows = rec.get("data", {}).get("rows") or rec["rows"]
            # a run made while the default weight was 8 has a "weight 32" variant from the same
            # fits: the weight only scales the column, so that variant is today's default line
            for r in rec_rows:  # simulation-trained rows named before mag_slope / the size
                for model, prefix in (("cnn", "CNN on"), ("gbm", "gradient boosting on")):
                    if r["method"].startswith(prefix) and "centroid" not in r["method"]:
                        r["method"] = simulation_method(r.get("matched", {}), model,
                                                        r.get("n_simulated"),
                                                        r.get("features") or "profile")
            for r in rec_rows:  # the catalogue's rows made before its spread_model default
                if r["method"] == "catalog --classifier simulation":
                    r["method"] = CATALOG_METHOD_BEFORE
            if any(r["method"] == "weight 32" for r in rec_rows):
                relabelled = True
                for r in rec_rows:
                    r["method"] = {"mission line": "weight 8",
                                   "weight 32": "mission line"}.get(r["method"], r["method"])
        info = {}
        for rec in records:  # newer records carry "datasets"; the oldest kept it in "data"
            data = rec.get("data", {})
            info.update(data.get("datasets") or
                        {k: v for k, v in data.items() if k not in ("rows", "datasets")})
        sources = [run for rec in records for run in _source_runs(rec)]
        note = ("Runs made while the default `psf_statistic_weight` was 8: their \"weight 32\" "
                "variant (same fits; the weight only scales the column) is listed as the "
                "mission line, today's default, and the line as it ran as \"weight 8\"."
                if relabelled else "")
        write_real(rows, info, quick=False, sources=sources, note=note, relabelled=relabelled)
        return
    seeds = args.seeds[:1] if args.quick else args.seeds
    if not args.data.is_dir():
        print(f"bench_real: no real data at {args.data} (the shared data folder); skipped.")
        return
    rows, info = [], {}
    slope = {} if args.mag_slope is None else {"mag_slope": args.mag_slope}
    if {"sdss", "sdss+field2", "sdss-simcnn", "sdss-simgbm"} & set(args.only):
        if (args.data / "sdss" / SDSS_LABELLED).is_dir():
            X, y, rmag, psf, info["sdss"] = load_sdss(args.data)
            print("sdss:", info["sdss"], flush=True)
            if "sdss" in args.only:
                rows += evaluate("SDSS 4510-4-30", X, X, y, rmag, SDSS_BINS, seeds, args.quick)
            for model in ("cnn", "gbm"):
                if f"sdss-sim{model}" in args.only:
                    rows += evaluate_simulation_trained(
                        "SDSS 4510-4-30", X, X, y, rmag, SDSS_BINS, seeds, args.quick,
                        args.n_sim, model=model, features=args.features, **slope)
            if "sdss+field2" in args.only and (args.data / "sdss" / SDSS_UNLABELLED).is_dir():
                X2, _ = load_sdss_unlabelled(args.data)
                X_fit = np.concatenate([X, X2])
                rows += evaluate("SDSS 4510-4-30, fit on 2 fields", X_fit, X, y, rmag, SDSS_BINS,
                                 seeds, args.quick)
        else:
            print(f"bench_real: {args.data / 'sdss' / SDSS_LABELLED} absent; SDSS skipped.")
    if "sdss-catalog" in args.only and (args.data / "sdss" / SDSS_LABELLED).is_dir():
        rows += evaluate_catalog(args.data, seeds, args.quick)
    if "ztf" in args.only:
        if (args.data / "ztf" / "ztf_i_cutouts.npz").is_file():
            X, y, flux = load_ztf(args.data)
            rows += evaluate("ZTF i", X, X, y, flux, None, seeds, args.quick, flux_halves=True)
        else:
            print("bench_real: ZTF cutouts absent; skipped.")
    if {"galsim", "galsim+psf", "galsim-simcnn", "galsim-simgbm"} & set(args.only):
        sys.path.insert(0, str(HERE))
        from galsim_set import render_galsim_set

        n_fit, n_eval = (300, 100) if args.quick else (1500, 500)
        for seed in seeds:
            X, y, truth = render_galsim_set(n_fit + n_eval, random_state=1000 + seed)
            rmag = truth["r_mag"].to_numpy()
            split = (X[:n_fit], X[n_fit:], y[n_fit:], rmag[n_fit:], GALSIM_BINS, [seed],
                     args.quick)
            if "galsim" in args.only:
                rows += evaluate("GalSim (fit 1,500 / score 500, one set per seed)", *split)
            fwhm_r = truth["psf_fwhm_r"].to_numpy()[:n_fit]
            lo, hi = np.percentile(fwhm_r, [2, 98])
            for model in ("cnn", "gbm"):  # one seeing per cutout: simulate its range
                if f"galsim-sim{model}" in args.only:
                    rows += evaluate_simulation_trained(
                        "GalSim (fit 1,500 / score 500, one set per seed)", X[:n_fit],
                        *split[1:], args.n_sim, model=model, features=args.features,
                        psf_fwhm=(lo + hi) / 2,
                        seeing_spread=(hi - lo) / (hi + lo), **slope)
            if "galsim+psf" in args.only:
                fwhm = truth[[f"psf_fwhm_{b}" for b in "ugriz"]].to_numpy()  # arcsec
                rows += evaluate("GalSim, PSF FWHM given (psf_fwhm, arcsec)", *split,
                                 psf=(fwhm[:n_fit], fwhm[n_fit:]))
    if {"oursim", "oursim+psf", "oursim-simgbm"} & set(args.only):  # as in the VAE studies
        from galaxy_learn.datasets import make_star_galaxy_cutouts

        n_fit, n_eval = (600, 300) if args.quick else (12_000, 2_100)
        fwhm_cols = [f"psf_fwhm_{b}" for b in "ugriz"]  # arcsec, one seeing per cutout
        for seed in seeds:
            X_fit, _, truth_fit = make_star_galaxy_cutouts(n_fit, random_state=seed)
            X_eval, _, truth = make_star_galaxy_cutouts(n_eval, random_state=seed + 1000)
            split = (X_fit, X_eval, truth["point_source"].to_numpy().astype(int),
                     truth["mag_r"].to_numpy(), GALSIM_BINS, [seed], args.quick)
            if "oursim" in args.only:
                rows += evaluate("this project's simulator (fit 12,000 / score 2,100)", *split)
            if "oursim+psf" in args.only:
                rows += evaluate("this project's simulator, PSF FWHM given (psf_fwhm, arcsec)",
                                 *split, psf=(truth_fit[fwhm_cols].to_numpy(),
                                              truth[fwhm_cols].to_numpy()))
            if "oursim-simgbm" in args.only:  # one seeing per cutout: simulate its range
                lo, hi = np.percentile(truth_fit["psf_fwhm_r"].to_numpy(), [2, 98])
                rows += evaluate_simulation_trained(
                    "this project's simulator (fit 12,000 / score 2,100)", X_fit, *split[1:],
                    args.n_sim, model="gbm", features=args.features, psf_fwhm=(lo + hi) / 2,
                    seeing_spread=(hi - lo) / (hi + lo), **slope)
    write_real(rows, info, quick=args.quick)


def write_real(rows, info, *, quick, sources=None, note="", relabelled=False):
    """``results/real.json`` and the markdown from it; ``sources``: the measuring runs behind an
    ``--assemble`` record (command, commit, machine of each)."""
    runs = "; ".join(f"`{run['command']}` at {run['commit'][:10]}" for run in sources or [])
    if sources:
        machine = sources[-1]["machine"]
        runs += f" ({machine.get('CPU')}, last run {machine.get('date (UTC)')} UTC)"
    notes = ("Assembled from the runs " + runs + ". " if runs else "") + (
        "Fit times move with the load of the shared machine. " + note).strip()
    notes += f"\n\nData: `{json.dumps(info)}`"
    payload = {"title": "Real data and an independent simulator (bench_real.py)",
               "quick": quick, "notes": notes, "sections": summarise(rows),
               "data": {"datasets": info, "rows": rows}, "relabelled": relabelled}
    if sources:
        payload["source runs"] = sources
    write_results("real", payload)


if __name__ == "__main__":
    main()

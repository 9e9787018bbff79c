"""Threshold classifiers: landmark vs full Isomap at scale, prior sensitivity, mission pipeline.

Writes ``benchmarks/results/threshold.json`` and the ``threshold.md`` generated from it. Three
parts (a part skipped with ``--skip-scaling`` / ``--skip-pipeline`` is absent from the record):

1. **Scaling** -- sklearn's ``Isomap`` vs ``LandmarkIsomap`` (one component) on a 2-D
   star/galaxy-like latent (a compact "star" ridge beside a broad "galaxy" arc, noise growing
   with magnitude): time, peak traced memory (``tracemalloc``; numpy buffers are traced) and AUC
   of the first coordinate vs n; ``ManifoldThresholdClassifier`` fit + predict on 1,000,000
   points.
2. **Prior sensitivity** -- accuracy of the cut with the true proportion and with priors off by
   +-5 and +-10 points (synthetic latent, and the mission pipeline's scores when part 3 runs).
3. **Mission pipeline** -- ``Pipeline([VAEEncoder(prior="dkl"), Isomap(), ThresholdClassifier()])``
   on ``make_star_galaxy_cutouts`` (train / held-out test): AUC, accuracy at the true proportion,
   per-magnitude table, beside the concentration index cut at the same prior. Needs
   ``VAEEncoder`` (skipped with a note if it is not importable).

    python benchmarks/bench_threshold.py --quick
    python benchmarks/bench_threshold.py                      # full
    python benchmarks/bench_threshold.py --n-train 12000 --n-test 2100 --vae-epochs 30
"""
import time
import tracemalloc
import warnings

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.manifold import Isomap
from sklearn.metrics import roc_auc_score

from _common import bench_parser, write_results

from galaxy_learn import ManifoldThresholdClassifier, ThresholdClassifier
from galaxy_learn.manifold import LandmarkIsomap
from galaxy_learn.metrics import scores_by_magnitude, unsupervised_roc_auc

MAG_BINS = (16, 18, 19, 20, 21, 22, 22.5)


def make_latent(n, star_fraction=0.4, seed=0):
    """2-D latent: stars a compact ridge (position drifts with flux), galaxies a broad arc."""
    rng = np.random.default_rng(seed)
    star = rng.random(n) < star_fraction
    mag = rng.uniform(16, 22.5, n)
    noise = 0.08 + 0.6 * ((mag - 16) / 6.5) ** 3
    t = rng.uniform(0, np.pi, n)
    gal = np.c_[1.6 + 1.2 * np.cos(t), np.sin(t)] * (1 + 0.05 * (mag[:, None] - 19))
    st = np.c_[0.15 * (mag - 19), np.full(n, -0.3)]
    X = np.where(star[:, None], st, gal) + rng.normal(size=(n, 2)) * noise[:, None]
    return X, star.astype(int), mag


CPU_TIMES = {}


def measured(fn):
    """Run fn, return (result, wall seconds, peak traced MiB); CPU seconds go to CPU_TIMES."""
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    seconds = time.perf_counter() - t0
    CPU_TIMES["last"] = time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, seconds, peak


def quiet_isomap(X, **kw):
    with warnings.catch_warnings():  # disconnected star/galaxy graphs: Isomap joins them
        warnings.simplefilter("ignore")
        return Isomap(n_components=1, **kw).fit_transform(X)[:, 0]


def part_scaling(args):
    """Section 1: time, memory and AUC of Isomap and LandmarkIsomap against n."""
    rows = []
    for n in args.full_sizes + args.landmark_sizes:
        X, y, _ = make_latent(n, seed=1)
        row = {"n": n}
        auc_full = None
        if n in args.full_sizes:
            emb, tf, mf = measured(lambda: quiet_isomap(X))  # noqa: B023
            auc_full = unsupervised_roc_auc(y, emb)
            row.update({"full time (s)": tf, "full CPU (s)": CPU_TIMES["last"],
                        "full peak (MiB)": mf, "full AUC": auc_full})
        aucs = []
        for seed in range(args.seeds if auc_full is not None else 1):
            lm = LandmarkIsomap(n_components=1, n_landmarks=args.landmarks, random_state=seed,
                                n_jobs=args.n_jobs)
            emb, tl, ml = measured(lambda: lm.fit_transform(X)[:, 0])  # noqa: B023
            aucs.append(unsupervised_roc_auc(y, emb))
            if seed == 0:
                row.update({"landmark time (s)": tl, "landmark CPU (s)": CPU_TIMES["last"],
                            "landmark peak (MiB)": ml})
        row["landmark AUC (seed 0)"] = aucs[0]
        row["max abs dAUC"] = None if auc_full is None else max(abs(a - auc_full) for a in aucs)
        rows.append(row)
        print(row, flush=True)
    n = args.classify_n
    X, y, _ = make_latent(n, seed=2)
    clf = ManifoldThresholdClassifier(class_prior=0.4, random_state=0,
                                      manifold=LandmarkIsomap(n_components=1,
                                                              n_landmarks=args.landmarks,
                                                              n_jobs=args.n_jobs))
    _, t_fit, m_fit = measured(lambda: clf.fit(X))
    c_fit = CPU_TIMES["last"]
    pred, t_pred, m_pred = measured(lambda: clf.predict(X))
    c_pred = CPU_TIMES["last"]
    acc = float(np.mean(pred == y))
    classify = {"n": n, "fit (s)": t_fit, "fit peak (MiB)": m_fit, "predict (s)": t_pred,
                "predict peak (MiB)": m_pred, "wall (s)": t_fit + t_pred,
                "CPU (s)": c_fit + c_pred, "accuracy": acc,
                "orientation": clf.threshold_classifier_.orientation_source_}
    print(classify, flush=True)
    return [
        {"heading": "1. Full Isomap vs LandmarkIsomap (first coordinate), 2-D synthetic latent",
         "text": f"LandmarkIsomap(n_components=1, n_landmarks={args.landmarks}, n_neighbors=5), "
                 f"landmark seeds {list(range(args.seeds))}; Isomap(n_components=1, "
                 "n_neighbors=5). Time = fit + embedding of all n points, wall clock; CPU = "
                 "seconds of the process, all threads (the machine is shared: wall >> CPU/2 "
                 "means waiting for a core); memory = tracemalloc peak (numpy buffers). dAUC = "
                 "landmark AUC - full AUC, worst over the seeds.",
         "rows": rows,
         "formats": {"n": ",d", "full time (s)": ".1f", "full CPU (s)": ".1f",
                     "full peak (MiB)": ".0f", "full AUC": ".4f", "landmark time (s)": ".1f",
                     "landmark CPU (s)": ".1f", "landmark peak (MiB)": ".0f",
                     "landmark AUC (seed 0)": ".4f", "max abs dAUC": ".4f"}},
        {"heading": f"ManifoldThresholdClassifier on {n:,} points",
         "text": f"LandmarkIsomap, {args.landmarks} landmarks, n_jobs={args.n_jobs}, label-free "
                 "orientation, prior 0.4; fit then predict on the same points.",
         "rows": [classify],
         "formats": {"n": ",d", "fit (s)": ".1f", "fit peak (MiB)": ".0f", "predict (s)": ".1f",
                     "predict peak (MiB)": ".0f", "wall (s)": ".1f", "CPU (s)": ".1f",
                     "accuracy": ".4f"}},
    ]


def sensitivity_rows(score, y, true_prior, label):
    rows = []
    for delta in (-0.10, -0.05, 0.0, 0.05, 0.10):
        prior = true_prior + delta
        clf = ThresholdClassifier(class_prior=prior).fit(score[:, None], y)  # y: orientation only
        acc = float(np.mean(clf.predict(score[:, None]) == y))
        rows.append({"scores": label, "prior offset": f"{delta:+.2f}", "prior": prior,
                     "accuracy": acc})
    return rows


def part_sensitivity(args, extra_rows=()):
    """Section 2: accuracy of the cut as the prior moves away from the true fraction."""
    X, y, _ = make_latent(args.sensitivity_n, seed=3)
    emb = LandmarkIsomap(n_components=1, n_landmarks=args.landmarks, random_state=0,
                         n_jobs=args.n_jobs).fit_transform(X)[:, 0]
    rows = sensitivity_rows(emb, y, float(y.mean()),
                            f"synthetic latent, LandmarkIsomap, n={args.sensitivity_n:,}")
    return {"heading": "2. Prior sensitivity",
            "text": "Accuracy of the cut when the prior is off by -10 .. +10 points of the true "
                    "positive fraction (orientation from y, so only the prior varies).",
            "rows": rows + list(extra_rows), "formats": {"accuracy": ".4f"}}


def part_pipeline(args):
    """Section 3: the mission pipeline beside the concentration index; returns the sections
    and the rows it adds to the prior-sensitivity table."""
    from sklearn.pipeline import Pipeline

    from galaxy_learn import VAEEncoder

    from galaxy_learn.datasets import make_star_galaxy_cutouts
    from galaxy_learn.photometry import concentration_index

    n_all = args.n_train + args.n_test
    (X, _, truth), t_sim, _ = measured(
        lambda: make_star_galaxy_cutouts(n_all, random_state=0))
    y = truth["point_source"].to_numpy().astype(int)
    mag = truth["mag_r"].to_numpy()
    tr, te = slice(0, args.n_train), slice(args.n_train, n_all)
    prior = float(y[tr].mean())
    ci = concentration_index(X)
    vae_kw = {"prior": "dkl", "random_state": 0}
    if args.vae_epochs is not None:
        vae_kw["max_epochs"] = args.vae_epochs
    pipe = Pipeline([("vaeencoder", VAEEncoder(**vae_kw)), ("isomap", Isomap()),
                     ("thresholdclassifier", ThresholdClassifier(class_prior=prior,
                                                                 classes=(0, 1)))])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X[tr])
        latent_tr = pipe[:1].transform(X[tr])
        iso_tr = pipe[1].embedding_[:, 0]
        iso_te = pipe[:2].transform(X[te])[:, 0]
    t_fit = time.perf_counter() - t0
    cut = pipe[-1]
    results = {}
    # the same cut on the same scores, three ways to orient it
    orientations = {
        "label-free (narrow)": dict(),
        "reference = concentration index": dict(reference=ci[tr]),
        "y (orientation only)": dict(y=y[tr]),
    }
    for name, kw in orientations.items():
        c = ThresholdClassifier(class_prior=prior).fit(iso_tr[:, None], **kw)
        results[name] = c
    ci_cut = ThresholdClassifier(class_prior=prior, orientation="high").fit(ci[tr, None])
    auc_vae, sign = unsupervised_roc_auc(y[te], iso_te, return_orientation=True)
    auc_ci = unsupervised_roc_auc(y[te], ci[te])
    settings = ", ".join(f"{k}={v!r}" for k, v in vae_kw.items())
    head = (f"`Pipeline([VAEEncoder({settings}), Isomap(), ThresholdClassifier(class_prior="
            f"{prior:.3f})])` fitted on {args.n_train:,} simulated cutouts (5 x 64 x 64, ugriz, "
            f"seed 0), evaluated on {args.n_test:,} held-out ones. Positive class = point source "
            f"(star or QSO), true fraction {prior:.3f} (train). Simulation {t_sim:.0f} s; "
            f"pipeline fit {t_fit:.0f} s (VAE epochs: {pipe[0].max_epochs}). Default call "
            f"`pipe.fit(X).predict(X)` (orientation rule '{cut.orientation_source_}'): test "
            f"accuracy {np.mean(pipe.predict(X[te]) == y[te]):.4f}.")
    rows = []
    for name, c in results.items():
        rows.append({"method": "VAE + Isomap + cut", "orientation": name,
                     "test AUC": float(roc_auc_score(y[te], c.decision_function(iso_te[:, None]))),
                     "test accuracy at true prior":
                         float(np.mean(c.predict(iso_te[:, None]) == y[te]))})
    acc_ci = float(np.mean(ci_cut.predict(ci[te, None]) == y[te]))
    latent_te = pipe[0].transform(X[te])
    iso2_te = pipe[:2].transform(X[te])[:, 1]
    dims = ", ".join(f"{unsupervised_roc_auc(y[te], latent_te[:, j]):.3f}"
                     for j in range(latent_te.shape[1]))
    mtc = ManifoldThresholdClassifier(class_prior=prior, random_state=0).fit(
        latent_tr, reference=ci[tr])
    rows.append({"method": "concentration index cut", "orientation": "high = point source",
                 "test AUC": auc_ci, "test accuracy at true prior": acc_ci})
    rows.append({"method": "VAE + ManifoldThresholdClassifier (LandmarkIsomap)",
                 "orientation": "reference = concentration index",
                 "test AUC": unsupervised_roc_auc(y[te], mtc.decision_function(latent_te)),
                 "test accuracy at true prior": float(np.mean(mtc.predict(latent_te) == y[te]))})
    diagnostics = (
        f"Diagnostics (test set): orientation-free AUC of Isomap coordinate 1: {auc_vae:.4f}, "
        f"coordinate 2: {unsupervised_roc_auc(y[te], iso2_te):.4f}; of each VAE output "
        f"column: {dims}. Spearman correlation of Isomap coordinate 1 with mag_r: "
        f"{spearmanr(iso_te, mag[te])[0]:+.3f} (a coordinate that tracks brightness, not "
        "morphology, cannot separate the classes).")
    best = results["y (orientation only)"]
    by_mag_vae = scores_by_magnitude(y[te], best.predict(iso_te[:, None]), mag[te],
                                     y_score=best.decision_function(iso_te[:, None]),
                                     bins=MAG_BINS)
    by_mag_ci = scores_by_magnitude(y[te], ci_cut.predict(ci[te, None]), mag[te],
                                    y_score=ci[te], bins=MAG_BINS)
    sections = [
        {"heading": "3. Mission pipeline on make_star_galaxy_cutouts", "text": head,
         "rows": rows, "formats": {"test AUC": ".4f", "test accuracy at true prior": ".4f"},
         "after": diagnostics},
        {"text": "Per-magnitude table (r band), VAE pipeline, orientation from y:",
         "rows": by_mag_vae.reset_index().astype(object).to_dict("records")},
        {"text": "Per-magnitude table, concentration index cut at the same prior:",
         "rows": by_mag_ci.reset_index().astype(object).to_dict("records")},
    ]
    return sections, sensitivity_rows(iso_te, y[te], float(y[te].mean()),
                                      "mission pipeline Isomap coordinate (test set)")


def main():
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--landmarks", type=int, default=1000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--n-train", type=int, default=12000)
    parser.add_argument("--n-test", type=int, default=2100)
    parser.add_argument("--vae-epochs", type=int, default=None, help="default: VAEEncoder's")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quick:
        args.full_sizes, args.landmark_sizes = [1000, 2000], [100_000]
        args.classify_n, args.sensitivity_n = 100_000, 20_000
        args.n_train, args.n_test, args.vae_epochs = 300, 100, 1
    else:
        args.full_sizes, args.landmark_sizes = [1000, 2000, 5000, 10000], [100_000, 1_000_000]
        args.classify_n, args.sensitivity_n = 1_000_000, 100_000
    sections = [] if args.skip_scaling else part_scaling(args)
    pipeline, extra = ([], []) if args.skip_pipeline else part_pipeline(args)
    sections.append(part_sensitivity(args, extra))
    sections += pipeline
    skipped = [name for name, flag in (("1 (scaling)", args.skip_scaling),
                                       ("3 (mission pipeline)", args.skip_pipeline)) if flag]
    write_results("threshold", {
        "title": "Threshold classifiers: landmark Isomap, prior sensitivity, mission pipeline",
        "quick": args.quick,
        "settings": {k: v for k, v in vars(args).items() if k not in ("quick",)},
        "notes": f"Parts not run: {', '.join(skipped)}." if skipped else "",
        "sections": sections,
    })


if __name__ == "__main__":
    main()

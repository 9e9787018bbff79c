"""Threshold classifiers: landmark vs full Isomap at scale, prior sensitivity, mission pipeline.

Writes ``benchmarks/results/threshold.md``. Three parts:

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
import argparse
import datetime
import os
import platform
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from sklearn.manifold import Isomap  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from galaxy_learn import ManifoldThresholdClassifier, ThresholdClassifier  # noqa: E402
from galaxy_learn.manifold import LandmarkIsomap  # noqa: E402
from galaxy_learn.metrics import scores_by_magnitude, unsupervised_roc_auc  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "threshold.md"
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


def part_scaling(args, lines):
    lines += ["## 1. Full Isomap vs LandmarkIsomap (first coordinate), 2-D synthetic latent", ""]
    lines += [
        f"LandmarkIsomap(n_components=1, n_landmarks={args.landmarks}, n_neighbors=5), "
        f"landmark seeds {list(range(args.seeds))}; Isomap(n_components=1, n_neighbors=5). "
        "Time = fit + embedding of all n points, wall clock (CPU seconds of the process, all "
        "threads, in brackets: the machine is shared, wall >> CPU/2 means waiting for a core); "
        "memory = tracemalloc peak (numpy buffers). "
        "dAUC = landmark AUC - full AUC, worst over the seeds.",
        "",
        "| n | full time (s) | full peak (MiB) | full AUC | landmark time (s) | landmark peak "
        "(MiB) | landmark AUC (seed 0) | max abs dAUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in args.full_sizes + args.landmark_sizes:
        X, y, _ = make_latent(n, seed=1)
        full = "–"
        if n in args.full_sizes:
            emb, tf, mf = measured(lambda: quiet_isomap(X))
            auc_full = unsupervised_roc_auc(y, emb)
            full = f"{tf:.1f} ({CPU_TIMES['last']:.1f}) | {mf:.0f} | {auc_full:.4f}"
        else:
            full, auc_full = "– | – | –", None
        aucs = []
        for seed in range(args.seeds if auc_full is not None else 1):
            lm = LandmarkIsomap(n_components=1, n_landmarks=args.landmarks, random_state=seed,
                                n_jobs=args.n_jobs)
            emb, tl, ml = measured(lambda: lm.fit_transform(X)[:, 0])
            aucs.append(unsupervised_roc_auc(y, emb))
            if seed == 0:
                t0, m0, c0 = tl, ml, CPU_TIMES["last"]
        delta = "–" if auc_full is None else f"{max(abs(a - auc_full) for a in aucs):.4f}"
        lines.append(
            f"| {n:,} | {full} | {t0:.1f} ({c0:.1f}) | {m0:.0f} | {aucs[0]:.4f} | {delta} |"
        )
        print(lines[-1], flush=True)
    lines.append("")
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
    lines += [
        f"**ManifoldThresholdClassifier on {n:,} points** (LandmarkIsomap, {args.landmarks} "
        f"landmarks, n_jobs={args.n_jobs}, label-free 'narrow' orientation, prior 0.4): "
        f"fit {t_fit:.1f} s (peak {m_fit:.0f} MiB), predict {t_pred:.1f} s (peak {m_pred:.0f} "
        f"MiB), total **{t_fit + t_pred:.1f} s wall, {c_fit + c_pred:.1f} s CPU**; accuracy "
        f"{acc:.4f} "
        f"(orientation from {clf.threshold_classifier_.orientation_source_}).",
        "",
    ]
    print(lines[-2], flush=True)


def sensitivity_rows(score, y, true_prior, label):
    rows = []
    for delta in (-0.10, -0.05, 0.0, 0.05, 0.10):
        prior = true_prior + delta
        clf = ThresholdClassifier(class_prior=prior).fit(score[:, None], y)  # y: orientation only
        acc = float(np.mean(clf.predict(score[:, None]) == y))
        rows.append(f"| {label} | {delta:+.2f} | {prior:.3f} | {acc:.4f} |")
    return rows


def part_sensitivity(args, lines, extra_rows=()):
    X, y, _ = make_latent(args.sensitivity_n, seed=3)
    emb = LandmarkIsomap(n_components=1, n_landmarks=args.landmarks, random_state=0,
                         n_jobs=args.n_jobs).fit_transform(X)[:, 0]
    lines += [
        "## 2. Prior sensitivity", "",
        "Accuracy of the cut when the prior is off by -10 .. +10 points of the true positive "
        "fraction (orientation from y, so only the prior varies).", "",
        "| scores | prior offset | prior | accuracy |", "|---|---|---|---|",
    ]
    lines += sensitivity_rows(emb, y, float(y.mean()),
                              f"synthetic latent, LandmarkIsomap, n={args.sensitivity_n:,}")
    lines += list(extra_rows)
    lines.append("")


def part_pipeline(args, lines):
    try:
        from galaxy_learn import VAEEncoder
    except ImportError:
        lines += ["## 3. Mission pipeline", "",
                  "**Not run**: `VAEEncoder` is not available on this branch yet.", ""]
        return []
    from sklearn.pipeline import Pipeline

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
    lines += [
        "## 3. Mission pipeline on make_star_galaxy_cutouts", "",
        f"`Pipeline([VAEEncoder(prior='dkl', {', '.join(f'{k}={v!r}' for k, v in vae_kw.items() if k != 'prior')}), "
        f"Isomap(), ThresholdClassifier(class_prior={prior:.3f})])` fitted on {args.n_train:,} "
        f"simulated cutouts (5 x 64 x 64, ugriz, seed 0), evaluated on {args.n_test:,} held-out "
        f"ones. Positive class = point source (star or QSO), true fraction {prior:.3f} "
        f"(train). Simulation {t_sim:.0f} s; pipeline fit {t_fit:.0f} s "
        f"(VAE epochs: {pipe[0].max_epochs}).",
        "",
        f"Default call `pipe.fit(X).predict(X)` (orientation rule "
        f"'{cut.orientation_source_}'): test accuracy "
        f"{np.mean(pipe.predict(X[te]) == y[te]):.4f}.",
        "",
        "| method | orientation | test AUC | test accuracy at true prior |",
        "|---|---|---|---|",
    ]
    for name, c in results.items():
        acc = float(np.mean(c.predict(iso_te[:, None]) == y[te]))
        auc = float(roc_auc_score(y[te], c.decision_function(iso_te[:, None])))
        lines.append(f"| VAE(dkl) + Isomap + cut | {name} | {auc:.4f} | {acc:.4f} |")
    acc_ci = float(np.mean(ci_cut.predict(ci[te, None]) == y[te]))
    latent_te = pipe[0].transform(X[te])
    iso2_te = pipe[:2].transform(X[te])[:, 1]
    dims = ", ".join(f"{unsupervised_roc_auc(y[te], latent_te[:, j]):.3f}"
                     for j in range(latent_te.shape[1]))
    mtc = ManifoldThresholdClassifier(class_prior=prior, random_state=0).fit(
        latent_tr, reference=ci[tr])
    acc_mtc = float(np.mean(mtc.predict(latent_te) == y[te]))
    auc_mtc = unsupervised_roc_auc(y[te], mtc.decision_function(latent_te))
    lines += [
        f"| concentration index cut | high = point source | {auc_ci:.4f} | {acc_ci:.4f} |",
        f"| VAE(dkl) + ManifoldThresholdClassifier (LandmarkIsomap) | reference = concentration "
        f"index | {auc_mtc:.4f} | {acc_mtc:.4f} |",
        "",
        f"Diagnostics (test set): orientation-free AUC of Isomap coordinate 1: {auc_vae:.4f}, "
        f"coordinate 2: {unsupervised_roc_auc(y[te], iso2_te):.4f}; of each VAE latent "
        f"dimension: {dims}. Spearman correlation of Isomap coordinate 1 with mag_r: "
        f"{spearmanr(iso_te, mag[te])[0]:+.3f} (a coordinate that tracks brightness, not "
        "morphology, cannot separate the classes).",
        "",
    ]
    best = results["y (orientation only)"]
    lines += ["Per-magnitude table (r band), VAE pipeline, orientation from y:", ""]
    lines += [scores_by_magnitude(y[te], best.predict(iso_te[:, None]), mag[te],
                                  y_score=best.decision_function(iso_te[:, None]),
                                  bins=MAG_BINS).to_markdown(floatfmt=".3f"), ""]
    lines += ["Per-magnitude table, concentration index cut at the same prior:", ""]
    lines += [scores_by_magnitude(y[te], ci_cut.predict(ci[te, None]), mag[te],
                                  y_score=ci[te], bins=MAG_BINS).to_markdown(floatfmt=".3f"), ""]
    return sensitivity_rows(iso_te, y[te], float(y[te].mean()),
                            "mission pipeline Isomap coordinate (test set)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (< 1 min)")
    parser.add_argument("--device", default="cpu", help="device of the VAE (part 3)")
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
    lines = [
        "# Threshold classifiers: landmark Isomap, prior sensitivity, mission pipeline", "",
        f"- Date (UTC): {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPU cores, shared with other jobs "
        f"(load average at start {os.getloadavg()[0]:.1f}): timings are contended, no GPU; "
        f"torch {torch.__version__} ({torch.get_num_threads()} thread), numpy {np.__version__}",
        f"- Command: `python benchmarks/bench_threshold.py {' '.join(sys.argv[1:])}`",
        "",
    ]
    if not args.skip_scaling:
        part_scaling(args, lines)
    pipeline_lines = []
    extra = [] if args.skip_pipeline else part_pipeline(args, pipeline_lines)
    part_sensitivity(args, lines, extra)
    lines += pipeline_lines
    text = keep_skipped_sections("\n".join(lines) + "\n")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


def _sections(text):
    """Split markdown into {"head": ..., "1": ..., "2": ..., "3": ...} by '## N.' headers."""
    out, key = {"head": []}, "head"
    for line in text.splitlines():
        if line.startswith("## ") and line[3:4].isdigit():
            key = line[3]
            out[key] = []
        out[key].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def keep_skipped_sections(text):
    """Sections a run skipped (--skip-scaling / --skip-pipeline) are kept from the last file,
    marked with the date of that earlier run."""
    new = _sections(text)
    if RESULTS.exists():
        old = _sections(RESULTS.read_text())
        old_date = next((ln for ln in old["head"].splitlines() if ln.startswith("- Date")), "")
        for key in ("1", "2", "3"):
            if key not in new and key in old:
                new[key] = old[key] + f"\n\n(Section kept from the earlier run: {old_date[2:]}.)\n"
    return "\n".join(new[k] for k in ("head", "1", "2", "3") if k in new).rstrip() + "\n"


if __name__ == "__main__":
    main()

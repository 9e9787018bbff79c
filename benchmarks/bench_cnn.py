"""Supervised vs unsupervised star/galaxy separation on simulated SDSS-like cutouts.

One run compares, on the same train/test cutouts from
:func:`galaxy_learn.datasets.make_star_galaxy_cutouts` (point source = STAR or QSO vs GALAXY):

* a decision tree and a one-hidden-layer MLP on the (asinh-scaled) pixels, as in seed 004;
* the concentration index (no training: a classic morphological separator);
* :class:`galaxy_learn.classification.CNNClassifier`, binary (point source vs galaxy) and
  3-class (STAR / GALAXY / QSO; its point-source score is P(STAR) + P(QSO));
* the unsupervised VAEEncoder pipeline when it is available in this checkout (else a marked slot).

Writes ``benchmarks/results/cnn.md`` (AUC / accuracy table, per-magnitude-bin AUC with the
unsupervised - supervised gap, confusion matrices, settings, machine) and the figures
``cnn_roc.png`` (every ROC curve with its AUC) and ``cnn_confusion.png``.

Usage::

    python benchmarks/bench_cnn.py --quick                 # smoke test, < 1 min on a CPU
    python benchmarks/bench_cnn.py                         # CPU-sized full run (see --help)
    python benchmarks/bench_cnn.py --device cuda --gpu-sizes   # full sizes for a GPU
"""
import argparse
import datetime
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAG_BINS = [(14.0, 18.0), (18.0, 19.0), (19.0, 20.0), (20.0, 21.0), (21.0, 22.5)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke test: tiny data and networks")
    p.add_argument("--gpu-sizes", action="store_true",
                   help="full sizes: 20000 train / 5000 test 64x64 cutouts, default CNN, 40 epochs")
    p.add_argument("--device", default="cpu", help="torch device for the CNNs (cpu, cuda, auto)")
    p.add_argument("--n-train", type=int, default=6000)
    p.add_argument("--n-test", type=int, default=3000)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--channels", default="16,32,64", help="CNN channels per block")
    p.add_argument("--dense", default="128,128", help="CNN dense layer widths")
    p.add_argument("--epochs", type=int, default=20, help="max epochs (early stopping on)")
    p.add_argument("--patience", type=int, default=5, help="early-stopping patience (epochs)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--skip-unsupervised", action="store_true")
    p.add_argument("--verbose", type=int, default=1, help="CNN epoch table (skorch)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.image_size = 400, 300, 16
        args.channels, args.dense, args.epochs = "4,8", "16", 2
    if args.gpu_sizes:
        args.n_train, args.n_test, args.image_size = 20000, 5000, 64
        args.channels, args.dense, args.epochs, args.batch_size = "32,64,128", "256,256", 40, 128
    return args


def _ints(text):
    return tuple(int(v) for v in text.split(",") if v)


def auc_or_nan(y, s):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")


# -- the models ------------------------------------------------------------------------------------
def pixel_baselines(X_tr, ps_tr, X_te, seed):
    """Decision tree and one-hidden-layer MLP on asinh-scaled, flattened pixels (seed 004)."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier

    from galaxy_learn.preprocessing import ImageFlattener, ImageScaler

    models = {
        "decision tree (pixels)": DecisionTreeClassifier(min_samples_leaf=10, random_state=seed),
        "MLP 1x128 (pixels)": MLPClassifier(hidden_layer_sizes=(128,), early_stopping=True,
                                            max_iter=300, random_state=seed),
    }
    out = {}
    for name, model in models.items():
        t = time.perf_counter()
        pipe = make_pipeline(ImageScaler(method="asinh"), ImageFlattener(), model).fit(X_tr, ps_tr)
        out[name] = dict(score=pipe.predict_proba(X_te)[:, 1], pred=pipe.predict(X_te),
                         seconds=time.perf_counter() - t)
    return out


def concentration(X_tr, ps_tr, X_te):
    """Concentration index; the cut maximising training accuracy gives the hard predictions."""
    from galaxy_learn.photometry import concentration_index

    t = time.perf_counter()
    ci_tr, ci_te = concentration_index(X_tr), concentration_index(X_te)
    cuts = np.quantile(ci_tr, np.linspace(0.01, 0.99, 197))
    acc = [np.mean((ci_tr > c) == ps_tr) for c in cuts]
    cut = cuts[int(np.argmax(acc))]
    return dict(score=ci_te, pred=ci_te > cut, seconds=time.perf_counter() - t, cut=float(cut))


def cnn(X_tr, y_tr, X_te, args, seed):
    from galaxy_learn.classification import CNNClassifier

    t = time.perf_counter()
    clf = CNNClassifier(
        channels=_ints(args.channels), dense_units=_ints(args.dense), max_epochs=args.epochs,
        batch_size=args.batch_size, early_stopping=True, validation_fraction=0.1,
        n_iter_no_change=args.patience, lr=1e-3, random_state=seed, device=args.device,
        verbose=args.verbose,
    ).fit(X_tr, y_tr)
    proba = clf.predict_proba(X_te)
    return clf, proba, time.perf_counter() - t


def unsupervised(X_tr, ps_tr, X_te, args, seed):
    """The unsupervised mission pipeline: VAEEncoder -> LandmarkIsomap(1) -> ThresholdClassifier.

    ``Pipeline([VAEEncoder(prior="dkl"), LandmarkIsomap(n_components=1),
    ThresholdClassifier(class_prior)])`` with the VAE's default scaling (``'auto'``). It is fitted
    without labels except that ``y`` fixes the orientation of the cut (which side is "point
    source"), as ThresholdClassifier documents; ``class_prior`` is the true training fraction.
    Returns None when these components are not in this checkout.
    """
    try:
        from galaxy_learn import ThresholdClassifier, VAEEncoder
        from galaxy_learn.manifold import LandmarkIsomap
    except ImportError:
        return None
    from sklearn.pipeline import Pipeline

    t = time.perf_counter()
    pipe = Pipeline([
        ("vae", VAEEncoder(prior="dkl", max_epochs=args.epochs, batch_size=args.batch_size,
                           random_state=seed, device=args.device)),
        ("iso", LandmarkIsomap(n_components=1, n_landmarks=min(1000, len(X_tr)),
                               random_state=seed)),
        ("cut", ThresholdClassifier(class_prior=float(np.mean(ps_tr)))),
    ]).fit(X_tr, ps_tr.astype(int))
    return dict(score=pipe.decision_function(X_te), pred=pipe.predict(X_te).astype(bool),
                seconds=time.perf_counter() - t)


# -- report ----------------------------------------------------------------------------------------
def per_bin_table(mag, ps, scores, unsup_name, sup_name):
    header = ["r mag", "n", "point frac"] + list(scores)
    rows = []
    for lo, hi in MAG_BINS + [(0.0, 21.0)]:
        sel = (mag >= lo) & (mag < hi)
        label = f"{lo:g}-{hi:g}" if lo > 0 else "**all r < 21**"
        row = [label, str(int(sel.sum())), f"{ps[sel].mean():.2f}" if sel.any() else "-"]
        aucs = {name: auc_or_nan(ps[sel], s[sel]) if sel.sum() > 1 else float("nan")
                for name, s in scores.items()}
        row += [f"{aucs[n]:.4f}" for n in scores]
        if unsup_name is not None:
            row.append(f"{aucs[unsup_name] - aucs[sup_name]:+.4f}")
        rows.append(row)
    if unsup_name is not None:
        header.append(f"gap ({unsup_name} - {sup_name})")
    else:
        header.append("gap (unsupervised - CNN)")
        for row in rows:
            row.append("slot: VAEEncoder pipeline not run")
    return _md_table(header, rows)


def _md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cm_text(cm, labels):
    return _md_table(["true \\ pred"] + list(labels),
                     [[lab] + [str(int(v)) for v in row] for lab, row in zip(labels, cm)])


def machine_line(device):
    import torch

    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "none used"
    return (f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores "
            f"(shared with other jobs: timings are indicative only), GPU: {gpu}\n"
            f"- torch {torch.__version__}, Python {platform.python_version()}")


def main(argv=None):
    args = parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import torch
    from sklearn.metrics import accuracy_score, confusion_matrix

    from galaxy_learn.datasets import make_star_galaxy_cutouts
    from galaxy_learn.plotting import (
        FeatureMapDisplay,
        RocCurvesDisplay,
        plot_confusion_matrices,
    )

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prefix = "cnn_quick" if args.quick else "cnn"  # a smoke run never overwrites the results
    t0 = time.perf_counter()
    X_tr, y_tr, truth_tr = make_star_galaxy_cutouts(args.n_train, image_size=args.image_size,
                                                    random_state=0)
    X_te, y_te, truth_te = make_star_galaxy_cutouts(args.n_test, image_size=args.image_size,
                                                    random_state=1)
    t_sim = time.perf_counter() - t0
    ps_tr = truth_tr["point_source"].to_numpy(bool)
    ps_te = truth_te["point_source"].to_numpy(bool)
    mag_te = truth_te["mag_r"].to_numpy(float)
    print(f"simulated {args.n_train}+{args.n_test} cutouts in {t_sim:.0f}s", flush=True)

    results = {}
    results.update(pixel_baselines(X_tr, ps_tr, X_te, seed=0))
    print("pixel baselines done", flush=True)
    results["concentration index"] = concentration(X_tr, ps_tr, X_te)
    lab_tr = np.where(ps_tr, "point source", "galaxy")
    clf2, proba2, sec2 = cnn(X_tr, lab_tr, X_te, args, seed=0)
    results["CNN (binary)"] = dict(score=proba2[:, list(clf2.classes_).index("point source")],
                                   pred=clf2.classes_[proba2.argmax(1)] == "point source",
                                   seconds=sec2, epochs=clf2.n_epochs_)
    print(f"binary CNN done in {sec2:.0f}s ({clf2.n_epochs_} epochs)", flush=True)
    clf3, proba3, sec3 = cnn(X_tr, y_tr, X_te, args, seed=0)
    cls3 = list(clf3.classes_)
    pred3 = clf3.classes_[proba3.argmax(1)]
    results["CNN (3-class)"] = dict(
        score=proba3[:, cls3.index("STAR")] + proba3[:, cls3.index("QSO")],
        pred=np.isin(pred3, ["STAR", "QSO"]), seconds=sec3, epochs=clf3.n_epochs_)
    print(f"3-class CNN done in {sec3:.0f}s ({clf3.n_epochs_} epochs)", flush=True)

    unsup_name, unsup_note = None, "not available in this checkout (VAEEncoder / ThresholdClassifier)"
    if args.skip_unsupervised:
        unsup_note = "skipped (--skip-unsupervised)"
    else:
        try:
            res = unsupervised(X_tr, ps_tr, X_te, args, seed=0)
            if res is not None:
                unsup_name = "VAE pipeline (unsupervised)"
                results[unsup_name] = res
                unsup_note = f"ran in {res['seconds']:.0f}s"
        except Exception as exc:  # report, do not lose the supervised results
            unsup_note = f"failed: {type(exc).__name__}: {exc}"
            traceback.print_exc()

    # figures
    scores = {name: r["score"] for name, r in results.items()}
    roc = RocCurvesDisplay.from_predictions(
        ps_te, scores, title=f"point source vs galaxy, {args.n_test} simulated test cutouts")
    roc.figure_.savefig(out / f"{prefix}_roc.png", dpi=110, bbox_inches="tight")
    preds = {name: np.where(r["pred"], "point", "galaxy") for name, r in results.items()}
    cms = plot_confusion_matrices(np.where(ps_te, "point", "galaxy"), preds, n_cols=3)
    next(iter(cms.values())).figure_.savefig(out / f"{prefix}_confusion.png", dpi=100,
                                             bbox_inches="tight")
    cm3 = plot_confusion_matrices(y_te, {"CNN 3-class (STAR/GALAXY/QSO)": pred3}, n_cols=1,
                                  panel_size=4)
    next(iter(cm3.values())).figure_.savefig(out / f"{prefix}_confusion_3class.png", dpi=100,
                                             bbox_inches="tight")
    bright = np.flatnonzero((mag_te < 19) & ~ps_te)
    if bright.size:
        fm = FeatureMapDisplay.from_estimator(clf2, X_te[bright[0]], n_maps=8)
        fm.figure_.savefig(out / f"{prefix}_feature_maps.png", dpi=90, bbox_inches="tight")

    # tables
    summary = []
    for name, r in results.items():
        bright21 = mag_te < 21
        summary.append([
            name, f"{auc_or_nan(ps_te, r['score']):.4f}",
            f"{auc_or_nan(ps_te[bright21], r['score'][bright21]):.4f}",
            f"{accuracy_score(ps_te, r['pred']):.4f}", f"{r['seconds']:.0f}",
            str(r.get("epochs", "-")),
        ])
    labels3 = ["GALAXY", "QSO", "STAR"]
    cm3_counts = confusion_matrix(y_te, pred3, labels=labels3)
    md = [
        "# CNN and baselines: point source vs galaxy on simulated SDSS-like cutouts",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        machine_line(args.device),
        f"- Command: `python benchmarks/bench_cnn.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
        f"- Data: `make_star_galaxy_cutouts` (5 bands ugriz, {args.image_size}x{args.image_size} px, "
        f"r in 16-22.5, 20% neighbours), train {args.n_train} (seed 0), test {args.n_test} "
        f"(seed 1); point source = STAR or QSO ({ps_te.mean():.1%} of the test set). "
        f"Simulation took {t_sim:.0f}s.",
        f"- CNN: `CNNClassifier(channels={_ints(args.channels)}, dense_units={_ints(args.dense)}, "
        f"scaling='asinh', augment=True, early_stopping=True (10% stratified validation, "
        f"patience {args.patience}), max_epochs={args.epochs}, batch_size={args.batch_size}, lr=1e-3, "
        f"random_state=0, device={args.device!r})`, torch threads {args.threads}.",
        "- Pixel baselines: `ImageScaler('asinh') -> ImageFlattener -> DecisionTreeClassifier("
        "min_samples_leaf=10)` / `MLPClassifier(hidden_layer_sizes=(128,), early_stopping=True)`.",
        "- Concentration index: `galaxy_learn.photometry.concentration_index` (g+r+i coadd, "
        "r 1.5/4 px); hard cut at the value maximising training accuracy "
        f"({results['concentration index']['cut']:.3f}).",
        "- Unsupervised pipeline: `Pipeline([VAEEncoder(prior='dkl', scaling='auto', "
        f"max_epochs={args.epochs}), LandmarkIsomap(n_components=1, n_landmarks=1000), "
        "ThresholdClassifier(class_prior=training point-source fraction)])`, labels used only "
        f"for the orientation of the cut: {unsup_note}.",
        "",
        "## Summary (test set)",
        "",
        _md_table(["model", "AUC", "AUC r < 21", "accuracy", "fit+predict s", "epochs"], summary),
        "",
        "Target: supervised AUC >= 0.99 for r < 21 (published ConvNets: 0.995 on SDSS).",
        "",
        "## AUC per r-magnitude bin (test set)",
        "",
        per_bin_table(mag_te, ps_te, scores, unsup_name, "CNN (binary)"),
        "",
        "## 3-class CNN (STAR / GALAXY / QSO), test counts",
        "",
        f"Accuracy {accuracy_score(y_te, pred3):.4f}.",
        "",
        _cm_text(cm3_counts, labels3),
        "",
        "Figures: `cnn_roc.png` (all ROC curves), `cnn_confusion.png` (binary, row-normalised), "
        "`cnn_confusion_3class.png`, `cnn_feature_maps.png` (binary CNN's feature maps of a bright "
        "test galaxy).",
        "",
    ]
    (out / f"{prefix}.md").write_text("\n".join(md))
    print("\n".join(md))
    print(f"total {time.perf_counter() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()

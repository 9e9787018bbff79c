"""CNNClassifier on a 2-core CPU: defaults vs a CPU-sized candidate, and the baseline comparison.

Two studies, one script.

**Defaults vs candidate** (the default run; writes ``results/cnn.json`` and ``results/cnn.md``
rendered from it): ``CNNClassifier()`` (channels (32, 64, 128) on the whole image; labelled "old
defaults" in the records) against the CPU-sized candidate ``channels=(16, 32, 64), crop="auto"``
(labelled "new defaults"), each section run by ``--sections``:

* ``sim``: the candidate on the project's simulator, 10,000 training / 2,000 test 64x64 ugriz
  cutouts, one fit per seed: seconds per epoch, AUC (all and r < 21), accuracy;
* ``sim-epoch``: seconds per epoch of both on the same training cutouts, timed on the first
  ``--epoch-n`` of them (one epoch; the defaults cost minutes per 10,000);
* ``sim-matched``: both on the same reduced budget (``--matched-n`` training cutouts,
  ``--matched-epochs`` epochs), same test set: accuracy at equal data;
* ``ztf``: real ZTF i-band cutouts with Legacy Survey labels (``../shared/data``), 5-fold
  stratified cross-validation, both;
* ``gz``: 1,400 synthetic 64x64 three-band (gri) images, the size of the Galaxy Zoo set of the
  issue (no Galaxy Zoo data on this machine): full-fit seconds of the candidate, one epoch of
  the defaults and two of the candidate with ``crop=None``.

Sections rerun separately replace their own part of ``cnn.json``; the markdown is rendered from
the whole JSON record. Torch threads are left as the estimator leaves them; the load average is
recorded before and after every section.

**Baselines** (``--baselines``; writes ``results/cnn_baselines.md`` and the figures
``cnn_roc.png``, ``cnn_confusion*.png``, ``cnn_feature_maps.png``): a decision tree and an MLP on
pixels, the concentration index, the binary and 3-class CNN and the unsupervised VAE pipeline on
the same simulated cutouts, with per-magnitude AUC.

Usage::

    python benchmarks/bench_cnn.py --quick                  # smoke run of the defaults study
    python benchmarks/bench_cnn.py                          # the defaults study (see --help)
    python benchmarks/bench_cnn.py --sections ztf gz        # some sections only
    python benchmarks/bench_cnn.py --sections ztf --out /tmp/ztf   # in parallel, then:
    python benchmarks/bench_cnn.py --merge /tmp/ztf/cnn.json
    python benchmarks/bench_cnn.py --baselines              # the baseline comparison
    python benchmarks/bench_cnn.py --baselines --device cuda --gpu-sizes
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAG_BINS = [(14.0, 18.0), (18.0, 19.0), (19.0, 20.0), (20.0, 21.0), (21.0, 22.5)]
DATA = ROOT.parent / "shared" / "data"
#: The two configurations compared; everything else is at its default. "old defaults" is
#: ``CNNClassifier()``; "new defaults" the CPU-sized candidate (the labels of the records).
CONFIGS = {"old defaults": {"channels": (32, 64, 128), "crop": None, "lr_schedule": "constant",
                            "test_time_augmentation": False},
           "new defaults": {"channels": (16, 32, 64), "crop": "auto", "lr_schedule": "cosine",
                            "test_time_augmentation": True}}
#: What records made before the defaults changed left at the estimator's defaults of the time.
_THEN_DEFAULTS = {"lr_schedule": "constant", "test_time_augmentation": False}
SECTIONS = ("sim", "sim-epoch", "sim-matched", "ztf", "sdss", "gz", "gz-morph")
#: Galaxy Zoo's "spiral" answer: the synthetic morphologies with arms (gz-morph section).
SPIRAL = ("spiral", "barred_spiral")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: tiny data and networks")
    p.add_argument("--device", default="cpu", help="torch device for the CNNs (cpu, cuda, auto)")
    p.add_argument("--out", default=os.environ.get("GALAXY_LEARN_RESULTS_DIR",
                                                str(ROOT / "benchmarks" / "results")))
    d = p.add_argument_group("defaults study")
    d.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    d.add_argument("--seeds", default="0,1,2", help="fit seeds of the 'sim' section")
    d.add_argument("--candidate-channels", default=None,
                   help="channels of the candidate (e.g. 24,48,96; default 16,32,64); use "
                        "--out elsewhere so as not to mix candidates in one record")
    d.add_argument("--candidate-batch-size", type=int, default=None,
                   help="batch size of the candidate (default: the estimator's, 128)")
    d.add_argument("--candidate-lr-schedule", choices=("constant", "cosine"), default=None,
                   help="lr_schedule of the candidate (default: the estimator's, constant)")
    d.add_argument("--sim-train", type=int, default=10_000)
    d.add_argument("--sim-test", type=int, default=2_000)
    d.add_argument("--epoch-n", type=int, default=2_000, help="cutouts of the 'sim-epoch' timing")
    d.add_argument("--matched-n", type=int, default=2_000)
    d.add_argument("--matched-epochs", type=int, default=8)
    d.add_argument("--ztf-folds", type=int, default=5)
    d.add_argument("--ztf-splits", default="0",
                   help="random_state(s) of the ZTF fold assignment: each is one repetition")
    d.add_argument("--ztf-configs", default="old defaults,new defaults",
                   help="comma-separated configs of the 'ztf' section")
    d.add_argument("--sdss-splits", default="0",
                   help="comma-separated fold assignments of the 'sdss' section")
    d.add_argument("--gz-n", type=int, default=1_400)
    d.add_argument("--gz-test", type=int, default=1_000, help="held-out images of 'gz-morph'")
    d.add_argument("--gz-configs", default="old defaults,new defaults,new defaults crop=None",
                   help="comma-separated configs of 'gz-morph' ('<config>' or '<config> crop=None')")
    d.add_argument("--merge", nargs="+", type=Path, default=None, metavar="JSON",
                   help="only merge the sections of cnn.json files written by runs with other "
                        "--out folders (sections run in parallel processes) into --out")
    b = p.add_argument_group("baselines (--baselines)")
    b.add_argument("--baselines", action="store_true", help="run the baseline comparison instead")
    b.add_argument("--gpu-sizes", action="store_true",
                   help="full sizes: 20000 train / 5000 test 64x64 cutouts, wide CNN, 40 epochs")
    b.add_argument("--n-train", type=int, default=6000)
    b.add_argument("--n-test", type=int, default=3000)
    b.add_argument("--image-size", type=int, default=32)
    b.add_argument("--channels", default="16,32,64", help="CNN channels per block")
    b.add_argument("--dense", default="128,128", help="CNN dense layer widths")
    b.add_argument("--epochs", type=int, default=20, help="max epochs (early stopping on)")
    b.add_argument("--patience", type=int, default=5, help="early-stopping patience (epochs)")
    b.add_argument("--batch-size", type=int, default=64)
    b.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    b.add_argument("--skip-unsupervised", action="store_true")
    b.add_argument("--verbose", type=int, default=1, help="CNN epoch table (skorch)")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.sim_train, args.sim_test, args.epoch_n = "0", 300, 200, 200
        args.matched_n, args.matched_epochs, args.ztf_folds, args.gz_n = 200, 1, 2, 100
        args.gz_test = 100
        args.n_train, args.n_test, args.image_size = 400, 300, 16
        args.channels, args.dense, args.epochs = "4,8", "16", 2
    if args.gpu_sizes:
        args.n_train, args.n_test, args.image_size = 20000, 5000, 64
        args.channels, args.dense, args.epochs, args.batch_size = "32,64,128", "256,256", 40, 128
    return args


# -- the defaults study ----------------------------------------------------------------------------
def _clf(config, seed, args, **extra):
    from galaxy_learn.classification import CNNClassifier

    params = dict(CONFIGS[config], random_state=seed, device=args.device, **extra)
    if args.quick:  # a smoke run checks the plumbing, not the networks
        params.update(max_epochs=min(params.get("max_epochs", 2), 2), dense_units=(16,))
    return CNNClassifier(**params)


def _fit(clf, X, y):
    """Fit; return the fit seconds and the seconds of each epoch (skorch's ``dur``).

    The process's CPU seconds of the fit go to ``clf.fit_cpu_s_bench``: on a shared machine they
    are what the fit would take alone with the same threads (the wall clock waits for others).
    """
    t, cpu = time.perf_counter(), time.process_time()
    clf.fit(X, y)
    clf.fit_cpu_s_bench = time.process_time() - cpu
    return time.perf_counter() - t, [float(e["dur"]) for e in clf.history_]


def _epoch_seconds(durations):
    """Typical epoch: the median after the first (which pays for warm-up), else the only one."""
    return float(np.median(durations[1:] if len(durations) > 1 else durations))


def _load():
    return [round(v, 2) for v in os.getloadavg()]


def _simulated(args):
    from galaxy_learn.datasets import make_star_galaxy_cutouts

    X_tr, _, truth_tr = make_star_galaxy_cutouts(args.sim_train, image_size=64, random_state=0)
    X_te, _, truth_te = make_star_galaxy_cutouts(args.sim_test, image_size=64, random_state=1)
    return (X_tr, truth_tr["point_source"].to_numpy(int), X_te,
            truth_te["point_source"].to_numpy(int), truth_te["mag_r"].to_numpy(float))


def _scores(clf, X, y, mag=None):
    from sklearn.metrics import accuracy_score, roc_auc_score

    score = clf.predict_proba(X)[:, 1]
    out = {"auc": float(roc_auc_score(y, score)),
           "accuracy": float(accuracy_score(y, (score > 0.5).astype(int)))}
    if mag is not None:
        out["auc_r_lt_21"] = float(roc_auc_score(y[mag < 21], score[mag < 21]))
    return out


def section_sim(args, data):
    X_tr, y_tr, X_te, y_te, mag = data
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        clf = _clf("new defaults", seed, args)
        fit_s, durs = _fit(clf, X_tr, y_tr)
        # The same fitted network scored with test_time_augmentation (a predict-only setting):
        # the paired difference isolates the averaging over the 8 symmetries.
        tta = _scores(clf.set_params(test_time_augmentation=True), X_te, y_te, mag)
        clf.set_params(test_time_augmentation=False)
        rows.append({"config": "new defaults", "seed": seed, "n_train": len(X_tr),
                     "n_test": len(X_te), "epochs": clf.n_epochs_, "fit_s": fit_s,
                     "fit_cpu_s": clf.fit_cpu_s_bench,
                     "epoch_s": _epoch_seconds(durs), "epoch_s_all": durs,
                     **_scores(clf, X_te, y_te, mag),
                     **{f"{k}_tta": v for k, v in tta.items()}})
        print(rows[-1], flush=True)
    return rows


def section_sim_epoch(args, data):
    X, y = data[0][:args.epoch_n], data[1][:args.epoch_n]
    rows = []
    for config in CONFIGS:
        clf = _clf(config, 0, args, max_epochs=1)
        fit_s, durs = _fit(clf, X, y)
        rows.append({"config": config, "n": len(X), "epoch_s": durs[0],
                     "fit_cpu_s": clf.fit_cpu_s_bench,
                     "s_per_1000": 1000 * durs[0] / len(X),
                     "epoch_s_10000_extrapolated": 10_000 * durs[0] / len(X)})
        print(rows[-1], flush=True)
    return rows


def section_sim_matched(args, data):
    X_tr, y_tr, X_te, y_te, mag = data
    X_tr, y_tr = X_tr[:args.matched_n], y_tr[:args.matched_n]
    rows = []
    for config in CONFIGS:
        clf = _clf(config, 0, args, max_epochs=args.matched_epochs)
        fit_s, durs = _fit(clf, X_tr, y_tr)
        rows.append({"config": config, "n_train": len(X_tr), "n_test": len(X_te),
                     "epochs": clf.n_epochs_, "fit_s": fit_s, "epoch_s": _epoch_seconds(durs),
                     **_scores(clf, X_te, y_te, mag)})
        print(rows[-1], flush=True)
    return rows


def _ring_median(X, width=2):
    """Per-image, per-band median of the outer ``width`` pixels (the local sky)."""
    mask = np.zeros(X.shape[-2:], bool)
    mask[:width], mask[-width:], mask[:, :width], mask[:, -width:] = True, True, True, True
    return np.median(X[..., mask], axis=-1)[..., None, None]


def section_ztf(args):
    from sklearn.model_selection import StratifiedKFold

    path = DATA / "ztf" / "ztf_i_cutouts.npz"
    if not path.exists():
        print(f"skipped ztf: {path} not found", flush=True)
        return []
    d = np.load(path)
    X = d["X"].astype(np.float32)
    X = X - _ring_median(X)  # background not subtracted in the file
    y = (d["y"] == "STAR").astype(int)
    if args.quick:
        X, y = X[::5], y[::5]
    rows = []
    for split in (int(s) for s in args.ztf_splits.split(",")):
        folds = StratifiedKFold(args.ztf_folds, shuffle=True, random_state=split).split(X, y)
        for fold, (tr, te) in enumerate(folds):
            for config in (c.strip() for c in args.ztf_configs.split(",")):
                clf = _clf(config, fold + 10 * split, args)
                fit_s, durs = _fit(clf, X[tr], y[tr])
                rows.append({"config": config, "split": split, "fold": fold, "n_train": len(tr),
                             "n_test": len(te), "epochs": clf.n_epochs_, "fit_s": fit_s,
                             "fit_cpu_s": clf.fit_cpu_s_bench, "epoch_s": _epoch_seconds(durs),
                             **_scores(clf, X[te], y[te])})
                print(rows[-1], flush=True)
    return rows


def section_sdss(args):
    """Supervised reference on real SDSS: 5-fold CV on the labelled field's stamps (SDSS photo's
    star list as labels), the CNN at its defaults beside the concentration index on the same
    test folds; AUC overall and per r bin of the out-of-fold scores of each fold assignment."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from bench_real import SDSS_BINS, load_sdss
    from galaxy_learn.photometry import concentration_index

    if not (DATA / "sdss").is_dir():
        print(f"skipped sdss: {DATA / 'sdss'} not found", flush=True)
        return []
    X, y, rmag, _, _ = load_sdss(DATA)
    if args.quick:
        X, y, rmag = X[::3], y[::3], rmag[::3]
    index = concentration_index(X)
    rows = []
    for split in (int(s) for s in args.sdss_splits.split(",")):
        score, fit_s = np.zeros(len(y)), []
        folds = StratifiedKFold(args.ztf_folds, shuffle=True, random_state=split).split(X, y)
        for fold, (tr, te) in enumerate(folds):
            clf = _clf("new defaults", fold + 10 * split, args)
            fit_s.append(_fit(clf, X[tr], y[tr])[0])
            score[te] = clf.decision_function(X[te])
        for method, s_ in (("new defaults", score), ("concentration index", index)):
            row = {"config": method, "split": split, "n": len(y), "stars": int(y.sum()),
                   "auc": float(roc_auc_score(y, s_))}
            for lo, hi in zip(SDSS_BINS[:-1], SDSS_BINS[1:]):
                sel = (rmag >= lo) & (rmag < hi)
                row[f"auc_{lo:g}-{hi:g}"] = (float(roc_auc_score(y[sel], s_[sel]))
                                             if 0 < y[sel].sum() < sel.sum() else None)
                row[f"n_{lo:g}-{hi:g}"] = int(sel.sum())
            if method == "new defaults":
                row["fit_s"] = float(np.mean(fit_s))
            rows.append(row)
            print(rows[-1], flush=True)
    return rows


def section_gz(args):
    from galaxy_learn.datasets import make_star_galaxy_cutouts

    X, _, truth = make_star_galaxy_cutouts(args.gz_n, image_size=64, bands="gri", random_state=7)
    y = truth["point_source"].to_numpy(int)
    rows = []
    runs = (("new defaults", {}), ("old defaults", {"max_epochs": 1}),
            ("new defaults, crop=None", {"crop": None, "max_epochs": 2}))
    for config, extra in runs:
        clf = _clf(config.split(",")[0], 0, args, **extra)
        fit_s, durs = _fit(clf, X, y)
        full = fit_s if not extra else _epoch_seconds(durs) * 30  # 30 epochs by default
        rows.append({"config": config, "n": len(X), "epochs_run": clf.n_epochs_, "fit_s": fit_s,
                     "fit_cpu_s": clf.fit_cpu_s_bench,
                     "epoch_s": _epoch_seconds(durs), "full_fit_s": full,
                     "full_fit_extrapolated": bool(extra)})
        print(rows[-1], flush=True)
    return rows


def section_gz_morph(args):
    """Spiral vs non-spiral accuracy on synthetic Galaxy-Zoo-like images (the galaxy fills the
    frame), a stand-in for the issue's real Galaxy Zoo accuracy: each config fitted in full."""
    from galaxy_learn.datasets import make_galaxy_images

    X, morph, _ = make_galaxy_images(args.gz_n, image_size=64, bands="gri", random_state=7)
    X_te, morph_te, _ = make_galaxy_images(args.gz_test, image_size=64, bands="gri",
                                           random_state=8)
    y, y_te = np.isin(morph, SPIRAL).astype(int), np.isin(morph_te, SPIRAL).astype(int)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for config in args.gz_configs.split(","):
            name, _, crop = config.strip().partition(" crop=")
            extra = {"crop": None} if crop == "None" else {}
            clf = _clf(name, seed, args, **extra)
            fit_s, durs = _fit(clf, X, y)
            rows.append({"config": config.strip(), "seed": seed, "n": len(X), "n_test": len(X_te),
                         "epochs_run": clf.n_epochs_, "fit_s": fit_s,
                         "fit_cpu_s": clf.fit_cpu_s_bench, "epoch_s": _epoch_seconds(durs),
                         "crop_": clf.crop_, **_scores(clf, X_te, y_te)})
            print(rows[-1], flush=True)
    return rows


def _mean_sd(values):
    values = np.asarray(values, float)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.4f} ± {sd:.4f}"


def _cpu(row):
    return f"{row['fit_cpu_s']:.0f}" if "fit_cpu_s" in row else "-"


def render_markdown(record):
    """The markdown page of a defaults-study record (``cnn.json``)."""
    secs = record["sections"]
    md = ["# CNNClassifier on a 2-core CPU: Kim & Brunner's widths vs the CPU-sized defaults "
          "(`bench_cnn.py`)",
          "",
          "'old defaults': channels (32, 64, 128) on the whole image, constant learning rate, "
          "plain predictions (`CNNClassifier()` until issue 19); 'new defaults': the CPU-sized "
          "configuration, `CNNClassifier()` since (channels (16, 32, 64), central 32x32 of "
          "larger images, cosine schedule, predictions averaged over the 8 flips and quarter "
          "turns). Each section lists the parameters its runs used: runs made before the "
          "change measured the candidate with the defaults of the time (constant rate, plain "
          "predictions). Everything else at its default (30 epochs, batch 128, no early "
          "stopping), `device='cpu'`, torch threads as the estimator leaves them unless the "
          "command sets `OMP_NUM_THREADS`. Seconds are wall-clock; `fit CPU s` (where recorded) "
          "is the process's CPU time during the fit (`time.process_time`), close to what the "
          "fit takes with the machine to itself at one thread.", ""]
    if record.get("note"):
        md += [record["note"], ""]
    machine = record["machine"]
    md += ["| machine | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in machine.items()] + [""]
    for name in SECTIONS:
        if name not in secs:
            continue
        sec = secs[name]
        rows = sec["rows"]
        md += [f"## {SECTION_TITLES[name]}", ""]
        md += [_run_line(meta) for meta in [sec] + sec.get("more_runs", [])] + [""]
        md += [_configs_line(sec), ""]
        if not rows:
            md += ["No rows (data not found).", ""]
            continue
        if name == "sim":
            tta = all("auc_r_lt_21_tta" in r for r in rows)
            md.append(_md_table(
                ["config", "seeds", "epochs", "s / epoch (10,000)", "fit s", "AUC", "AUC r < 21",
                 "accuracy"] + (["with test_time_augmentation=True: AUC", "AUC r < 21",
                                 "accuracy"] if tta else []),
                [[rows[0]["config"], len(rows), ", ".join(str(r["epochs"]) for r in rows),
                  _mean_sd([r["epoch_s"] for r in rows]), _mean_sd([r["fit_s"] for r in rows]),
                  _mean_sd([r["auc"] for r in rows]), _mean_sd([r["auc_r_lt_21"] for r in rows]),
                  _mean_sd([r["accuracy"] for r in rows])]
                 + ([_mean_sd([r[k] for r in rows])
                     for k in ("auc_tta", "auc_r_lt_21_tta", "accuracy_tta")] if tta else [])]))
            md += ["", "Per seed: " + "; ".join(
                f"seed {r['seed']}: AUC r<21 {r['auc_r_lt_21']:.4f}"
                + (f" ({r['auc_r_lt_21_tta']:.4f} test-time augmented)"
                   if "auc_r_lt_21_tta" in r else "") + f", {r['epoch_s']:.1f} s/epoch "
                f"(median; fastest {min(r['epoch_s_all']):.1f})"
                + (f", fit {r['fit_cpu_s']:.0f} CPU s" if "fit_cpu_s" in r else "")
                for r in rows) + ".", ""]
        elif name == "sim-epoch":
            md.append(_md_table(
                ["config", "cutouts timed", "epoch s", "s per 1,000", "10,000 (extrapolated) s",
                 "fit CPU s"],
                [[r["config"], r["n"], f"{r['epoch_s']:.1f}", f"{r['s_per_1000']:.2f}",
                  f"{r['epoch_s_10000_extrapolated']:.0f}", _cpu(r)] for r in rows]))
            md.append("")
        elif name == "sim-matched":
            md.append(_md_table(
                ["config", "train", "test", "epochs", "s / epoch", "AUC", "AUC r < 21", "accuracy"],
                [[r["config"], r["n_train"], r["n_test"], r["epochs"], f"{r['epoch_s']:.1f}",
                  f"{r['auc']:.4f}", f"{r['auc_r_lt_21']:.4f}", f"{r['accuracy']:.4f}"]
                 for r in rows]))
            md.append("")
        elif name == "ztf":
            table = []
            for config in CONFIGS:
                sel = [r for r in rows if r["config"] == config]
                if sel:
                    table.append([config, len(sel), _mean_sd([r["auc"] for r in sel]),
                                  _mean_sd([r["accuracy"] for r in sel]),
                                  f"{np.mean([r['epoch_s'] for r in sel]):.2f}",
                                  f"{np.mean([r['fit_s'] for r in sel]):.0f}"])
            md.append(_md_table(["config", "folds", "AUC", "accuracy", "s / epoch", "fit s"],
                                table))
            pairs = {}
            for r in rows:
                pairs.setdefault((r.get("split", 0), r["fold"]), {})[r["config"]] = r
            pairs = [p for p in pairs.values() if len(p) == 2]
            if len(pairs) > 1:
                md.append("")
                for metric in ("auc", "accuracy"):
                    d = np.array([p["new defaults"][metric] - p["old defaults"][metric]
                                  for p in pairs])
                    md.append(f"- new - old {metric}, paired over {len(d)} folds: "
                              f"{d.mean():+.4f} (standard error {d.std(ddof=1) / np.sqrt(len(d)):.4f})")
            md.append("")
        elif name == "gz":
            md.append(_md_table(
                ["config", "images", "epochs run", "s / epoch", "full fit s", "fit CPU s"],
                [[r["config"], r["n"], r["epochs_run"], f"{r['epoch_s']:.1f}",
                  f"{r['full_fit_s']:.0f}" + (" (30 x the epoch, extrapolated)"
                                              if r["full_fit_extrapolated"] else ""), _cpu(r)]
                 for r in rows]))
            md.append("")
        elif name == "sdss":
            bins = [k[4:] for k in rows[0] if k.startswith("auc_")]
            md.append(_md_table(
                ["method", "fold assignments", "AUC"] + [f"AUC r {b} (n={rows[0]['n_' + b]})"
                                                         for b in bins] + ["fit s"],
                [[c, len(sel), _mean_sd([r["auc"] for r in sel])]
                 + [_mean_sd([r["auc_" + b] for r in sel]) if all(r["auc_" + b] is not None
                                                                 for r in sel) else "-"
                    for b in bins]
                 + [f"{np.mean([r['fit_s'] for r in sel]):.0f}" if "fit_s" in sel[0] else ""]
                 for c, sel in _by_config(rows)]))
            md.append("")
        elif name == "gz-morph":
            md.append(_md_table(
                ["config", "crop_", "seeds", "accuracy", "AUC", "s / epoch", "fit s", "fit CPU s"],
                [[c, sel[0]["crop_"], len(sel), _mean_sd([r["accuracy"] for r in sel]),
                  _mean_sd([r["auc"] for r in sel]), _mean_sd([r["epoch_s"] for r in sel]),
                  _mean_sd([r["fit_s"] for r in sel]), _mean_sd([r["fit_cpu_s"] for r in sel])]
                 for c, sel in _by_config(rows)]))
            md.append("")
        md += [SECTION_NOTES[name], ""]
    return "\n".join(md)


SECTION_TITLES = {
    "sim": "Simulator, the CPU-sized configuration: 10,000 train / 2,000 test 64x64 ugriz "
           "cutouts",
    "sim-epoch": "Simulator: seconds per epoch, defaults vs candidate (same cutouts)",
    "sim-matched": "Simulator: defaults vs candidate on the same reduced budget",
    "ztf": "Real data: ZTF i-band cutouts (20x20) with Legacy Survey labels, 5-fold CV",
    "gz": "Galaxy Zoo-sized images: 1,400 synthetic 64x64 gri cutouts (no Galaxy Zoo data here)",
    "gz-morph": "Galaxy Zoo-like morphology: spiral vs non-spiral on 1,400 synthetic 64x64 gri "
                "galaxies",
    "sdss": "Real data, supervised: SDSS field 004510-4-0030 (ugriz 64x64 stamps, SDSS photo's "
            "star list as labels), 5-fold CV",
}
SECTION_NOTES = {
    "sim": "Training and test sets simulated once (`make_star_galaxy_cutouts(..., image_size=64, "
           "random_state=0 / 1)`); the seeds are the fits' `random_state`. Point source (STAR or "
           "QSO) vs galaxy. Target: one epoch <= 30 s, AUC (r < 21) >= 0.99. Where recorded, "
           "the same fitted networks were also scored with `test_time_augmentation=True` (a "
           "prediction setting: the fit is the same).",
    "sim-epoch": "One epoch (`max_epochs=1`) on the first training cutouts of the 'sim' set; the "
                 "10,000 column scales it linearly.",
    "sim-matched": "Both fitted with `random_state=0` and `max_epochs` as shown on the first "
                   "training cutouts of the 'sim' set; same 2,000 test cutouts.",
    "ztf": "`../shared/data/ztf/ztf_i_cutouts.npz` (1,500 cutouts, 750 stars), local sky (median "
           "of the outer 2-pixel ring) subtracted; `StratifiedKFold(5, shuffle=True, "
           "random_state=split)` (`--ztf-splits`, one repetition each), fold k fitted with "
           "`random_state=k + 10 * split`. The images are 20x20, so "
           "`crop='auto'` keeps them whole: the channels differ, and where a configuration "
           "says so the schedule and the test-time averaging.",
    "gz": "`make_star_galaxy_cutouts(1400, image_size=64, bands='gri', random_state=7)`, point "
          "source vs galaxy labels (timing only: their accuracy says nothing about Galaxy Zoo "
          "morphology). The candidate fitted in full; the defaults for one epoch and the "
          "candidate with `crop=None` (the whole frame, as for Galaxy Zoo images) for two, "
          "times 30.",
    "sdss": "The stamps, labels and r magnitudes of `bench_real.py`'s SDSS rows (`load_sdss`: "
            "14 < r < 22.5, flagged objects dropped). `StratifiedKFold(5, shuffle=True, "
            "random_state=split)`, fold k fitted with `random_state=k + 10 * split`; the AUCs "
            "are of the out-of-fold scores of each assignment (`decision_function`), beside "
            "the concentration index (1.5 / 4 px, g+r+i, no training) on the same objects. "
            "About 420 training stamps per fold: far fewer than the published ConvNets' "
            "training sets.",
    "gz-morph": "`make_galaxy_images(1400, image_size=64, bands='gri', random_state=7)` to fit, "
                "1,000 more (`random_state=8`) to test; the label is Galaxy Zoo's spiral answer "
                "(spiral or barred spiral against elliptical, edge-on and irregular). Centred, "
                "well-resolved galaxies that fill much of the frame, as Galaxy Zoo's 64x64 "
                "stamps do: a stand-in for the issue's real Galaxy Zoo accuracy (no Galaxy Zoo "
                "data on this machine). Seeds are the fits' `random_state`.",
}


def _git(*cmd):
    return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()


def _machine():
    import torch

    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    return {"CPU": f"{cpu}, {os.cpu_count()} logical cores", "python": platform.python_version(),
            "torch": torch.__version__, "GPU": torch.cuda.get_device_name(0)
            if torch.cuda.is_available() else "none"}


ACCUMULATE = {"sim": "seed", "ztf": "split", "sdss": "split",
              "gz-morph": "seed"}  # repetitions add up


def _accumulate(name, old_rows, new_rows):
    """The rows of accumulating section ``name`` after a run: each repetition (seed / split) of
    a config in ``new_rows`` replaces the same one in ``old_rows``; sorted by repetition."""
    key = ACCUMULATE[name]

    def rep(r):
        return r.get(key, 0), r.get("config", "")

    reruns = {rep(r) for r in new_rows}
    return sorted([r for r in old_rows if rep(r) not in reruns] + new_rows, key=rep)


def _by_config(rows):
    """``(config, its rows)`` pairs in the order the configs first appear."""
    return [(c, [r for r in rows if r["config"] == c])
            for c in dict.fromkeys(r["config"] for r in rows)]


def _merge_section(sections, name, sec):
    """Put section ``sec`` of another run into ``sections``: a repetition (seed / split) adds its
    rows and its run's metadata to an accumulating section; anything else replaces."""
    key, old = ACCUMULATE.get(name), sections.get(name)
    if key is None or old is None:
        sections[name] = sec
        return
    old["rows"] = _accumulate(name, old["rows"], sec["rows"])
    meta = {k: v for k, v in sec.items() if k not in ("rows", "title", "note", "more_runs")}
    own = {k: v for k, v in old.items() if k in meta}
    if meta != own and meta not in old.setdefault("more_runs", []):  # merged once
        old["more_runs"].append(meta)


def _configs_line(sec):
    """The parameters of the section's configurations, filled with the defaults of the time."""
    configs = sec.get("configs") or {"new defaults": {"channels": [16, 32, 64], "crop": "auto"}}
    parts = []
    for name, params in configs.items():
        params = {**_THEN_DEFAULTS, **params}
        text = ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v!r}"
                         for k, v in params.items())
        parts.append(f"'{name}' = `CNNClassifier({text})`")
    return "Configurations: " + "; ".join(parts) + "."


def _run_line(meta):
    return (f"Command: `{meta['command']}` at commit `{meta['commit']}`"
            f"{' (tree modified)' if meta.get('modified') else ''}, {meta['date']}; load average "
            f"(1/5/15 min) {meta['load_before']} before, {meta['load_after']} after; torch "
            f"threads {meta['torch_threads']}, OMP_NUM_THREADS={meta['omp_num_threads']}.")


def run_defaults_study(args, argv):
    import torch

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "cnn_quick" if args.quick else "cnn"  # a smoke run never replaces the record
    path = out / f"{name}.json"
    record = json.loads(path.read_text()) if path.exists() else {"sections": {}}
    record["machine"] = _machine()
    if args.merge:  # sections of other runs, each keeping its own command, commit and load
        for other in args.merge:
            for section, sec in json.loads(other.read_text())["sections"].items():
                _merge_section(record["sections"], section, sec)
        args.sections = []
    command = "python benchmarks/bench_cnn.py " + shlex.join(
        argv if argv is not None else sys.argv[1:])
    data = None
    for section in args.sections:
        load_before, t = _load(), time.perf_counter()
        commit = _git("rev-parse", "--short", "HEAD")  # the code this section runs
        modified = bool(_git("status", "--porcelain", "--", "galaxy_learn"))
        if section.startswith("sim"):
            data = _simulated(args) if data is None else data
            rows = {"sim": section_sim, "sim-epoch": section_sim_epoch,
                    "sim-matched": section_sim_matched}[section](args, data)
        elif section == "ztf":
            rows = section_ztf(args)
        elif section == "gz-morph":
            rows = section_gz_morph(args)
        elif section == "sdss":
            rows = section_sdss(args)
        else:
            rows = section_gz(args)
        if section in ACCUMULATE:  # runs made separately accumulate
            rows = _accumulate(section, record["sections"].get(section, {}).get("rows", []), rows)
        record["sections"][section] = {
            "title": SECTION_TITLES[section], "note": SECTION_NOTES[section], "rows": rows,
            "configs": {k: {p: list(v) if isinstance(v, tuple) else v for p, v in c.items()}
                        for k, c in CONFIGS.items()},
            "command": command, "commit": commit, "modified": modified,
            "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
            "load_before": load_before, "load_after": _load(),
            "seconds": time.perf_counter() - t, "torch_threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"), "quick": args.quick,
        }
        path.write_text(json.dumps(record, indent=1))  # each section saved as it finishes
        (out / f"{name}.md").write_text(render_markdown(record))
    path.write_text(json.dumps(record, indent=1))
    (out / f"{name}.md").write_text(render_markdown(record))
    print(render_markdown(record))


# -- the baseline comparison (--baselines) ---------------------------------------------------------
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
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
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


def run_baselines(args, argv):
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
    page = f"{prefix}_baselines"
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
        f"- Command: `python benchmarks/bench_cnn.py --baselines {' '.join(a for a in (argv if argv is not None else sys.argv[1:]) if a != '--baselines')}`",
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
    (out / f"{page}.md").write_text("\n".join(md))
    print("\n".join(md))
    print(f"total {time.perf_counter() - t0:.0f}s", flush=True)


def main(argv=None):
    args = parse_args(argv)
    if getattr(args, "candidate_channels", None):
        CONFIGS["new defaults"]["channels"] = tuple(int(c)
                                                    for c in args.candidate_channels.split(","))
    if getattr(args, "candidate_batch_size", None):
        CONFIGS["new defaults"]["batch_size"] = args.candidate_batch_size
    if getattr(args, "candidate_lr_schedule", None):
        CONFIGS["new defaults"]["lr_schedule"] = args.candidate_lr_schedule
    if args.baselines:
        run_baselines(args, argv)
    else:
        run_defaults_study(args, argv)


if __name__ == "__main__":
    main()

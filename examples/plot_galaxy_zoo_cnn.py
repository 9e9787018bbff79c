"""
Spirals vs ellipticals on Galaxy Zoo with a CNN (seed 004, end to end)
======================================================================

Seed 004 classified the Kaggle "Galaxy Zoo - The Galaxy Challenge" JPEGs into spirals and
ellipticals (majority answer to the first Galaxy Zoo question, star/artifact answers dropped),
split the set 50/50 into train and test, and compared a CNN (78.5% test accuracy), a decision tree
(68.9%), a one-hidden-layer MLP and an ImageNet Inception transfer model.

This script does the same with galaxy_learn:

``load_galaxy_zoo`` -> spiral / elliptical (irregular = star/artifact dropped) -> 50/50 stratified
split -> ``CNNClassifier`` (flips/rotations augmentation, early stopping) and the seed's pixel
baselines -> accuracy, ROC curves, confusion matrices and the CNN's feature maps.

The data are not shipped (about 60,000 JPEGs, 1.3 GB from Kaggle). Download
``images_training_rev1`` and ``training_solutions_rev1.csv`` and run::

    python examples/plot_galaxy_zoo_cnn.py /data/images_training_rev1 \\
        /data/training_solutions_rev1.csv --device cuda --out gz_results

``--n-samples 5000`` reads only the first rows of the CSV for a quicker CPU run.

Transfer learning from ImageNet weights is not part of this example: those weights cannot be
downloaded here and an RGB-ImageNet backbone does not apply to 5-band survey cutouts. Use
``--init-weights PATH`` to start the CNN from a ``state_dict`` of a ``galaxy_learn.nn.ConvNet``
with the same architecture (e.g. one trained on another Galaxy Zoo release); it is read with
``torch.load(weights_only=True)``.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier

from galaxy_learn.classification import CNNClassifier
from galaxy_learn.datasets import load_galaxy_zoo
from galaxy_learn.plotting import (FeatureMapDisplay, RocCurvesDisplay, plot_confusion_matrices,
                                   plot_cutouts)
from galaxy_learn.preprocessing import ImageFlattener, ImageScaler


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Galaxy Zoo spirals vs ellipticals with a CNN.")
    p.add_argument("images_dir", help="folder of {GalaxyID}.jpg files")
    p.add_argument("solutions_csv", help="training_solutions_rev1.csv")
    p.add_argument("--n-samples", type=int, default=None, help="read only the first N rows")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--crop", type=int, default=212,
                   help="central crop of the 424 px JPEGs before resizing (galaxy + some sky)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--channels", default="32,64,128")
    p.add_argument("--dense", default="256,256")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--init-weights", default=None,
                   help="state_dict of a ConvNet of the same architecture to start from")
    p.add_argument("--no-baselines", action="store_true", help="skip the tree / MLP baselines")
    p.add_argument("--out", default="galaxy_zoo_results", help="folder for figures and metrics")
    p.add_argument("--random-state", type=int, default=123)
    return p.parse_args(argv)


def _ints(text):
    return tuple(int(v) for v in text.split(",") if v)


def _init_weights_callback(path):
    """skorch callback loading a user-given ConvNet state_dict before training (weights only)."""
    from skorch.callbacks import Callback

    class InitWeights(Callback):
        def __init__(self, path):
            self.path = path

        def on_train_begin(self, net, **kwargs):
            state = torch.load(self.path, map_location=net.device, weights_only=True)
            net.module_.load_state_dict(state)

    return InitWeights(path)


def main(argv=None):
    args = parse_args(argv)
    matplotlib.use("Agg")
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    X, y, meta = load_galaxy_zoo(args.images_dir, args.solutions_csv, image_size=args.image_size,
                                 crop=args.crop, drop_irregular=True, n_samples=args.n_samples)
    print(f"loaded {len(X)} galaxies {X.shape[1:]} in {time.perf_counter() - t0:.0f}s: "
          + ", ".join(f"{c} {n}" for c, n in zip(*np.unique(y, return_counts=True))), flush=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, stratify=y,
                                              random_state=args.random_state)
    examples = np.r_[np.flatnonzero(y_te == "spiral")[:4], np.flatnonzero(y_te == "elliptical")[:4]]
    plot_cutouts(X_te[examples], titles=y_te[examples], n_cols=4).figure_.savefig(
        out / "examples.png", dpi=100, bbox_inches="tight")

    callbacks = [("init_weights", _init_weights_callback(args.init_weights))] if args.init_weights else None
    cnn = CNNClassifier(
        # the galaxy fills these images: the whole frame (crop=None), never a central crop
        channels=_ints(args.channels), crop=None, dense_units=_ints(args.dense), scaling="zscore",
        augment=True, early_stopping=True, validation_fraction=0.1, n_iter_no_change=5,
        max_epochs=args.epochs, batch_size=args.batch_size, random_state=args.random_state,
        device=args.device, callbacks=callbacks, verbose=0,
    )
    models = {"CNN": cnn}
    if not args.no_baselines:
        models["decision tree (pixels)"] = make_pipeline(
            ImageScaler(method="zscore"), ImageFlattener(),
            DecisionTreeClassifier(min_samples_leaf=10, random_state=args.random_state))
        models["MLP 1x128 (pixels)"] = make_pipeline(
            ImageScaler(method="zscore"), ImageFlattener(),
            MLPClassifier(hidden_layer_sizes=(128,), early_stopping=True, max_iter=200,
                          random_state=args.random_state))
    metrics, scores, preds = {}, {}, {}
    for name, model in models.items():
        t = time.perf_counter()
        model.fit(X_tr, y_tr)
        proba = model.predict_proba(X_te)[:, list(model.classes_).index("spiral")]
        preds[name] = model.predict(X_te)
        scores[name] = proba
        metrics[name] = {"accuracy": float(accuracy_score(y_te, preds[name])),
                         "seconds": round(time.perf_counter() - t, 1)}
        print(f"{name}: test accuracy {metrics[name]['accuracy']:.4f} "
              f"({metrics[name]['seconds']:.0f}s)", flush=True)
    roc = RocCurvesDisplay.from_predictions(y_te, scores, pos_label="spiral",
                                            title="Galaxy Zoo: spiral vs elliptical (test half)")
    for name, auc in roc.roc_auc_.items():
        metrics[name]["roc_auc"] = auc
    roc.figure_.savefig(out / "roc.png", dpi=110, bbox_inches="tight")
    cms = plot_confusion_matrices(y_te, preds, labels=["elliptical", "spiral"])
    next(iter(cms.values())).figure_.savefig(out / "confusion.png", dpi=100, bbox_inches="tight")
    fm = FeatureMapDisplay.from_estimator(cnn, X_te[examples[0]], n_maps=8)
    fm.figure_.savefig(out / "feature_maps.png", dpi=90, bbox_inches="tight")
    metrics["_data"] = {"n_train": int(len(X_tr)), "n_test": int(len(X_te)),
                        "cnn_epochs": int(cnn.n_epochs_), "seed_004_cnn_accuracy": 0.7854}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"figures and metrics.json in {out}")
    return metrics


if __name__ == "__main__":
    main(sys.argv[1:])

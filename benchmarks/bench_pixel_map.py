"""Per-pixel star/galaxy maps: field -> HypercolumnSegmenter -> cutouts -> classifier -> painted map.

The third part of the project brief in one call (``galaxy_learn.segmentation.pixel_class_map``), with the cutout
classifiers compared on the same detections of the same simulated fields (``make_sky_field``):

* the mission pipeline ``VAEEncoder(prior="dkl") -> Isomap(n_components=1) ->
  ThresholdClassifier(class_prior=0.45)``, fitted **without labels** on simulated 64x64 cutouts
  (0.45: the simulator's star + QSO fraction, the kind of prior an astronomer states); its
  orientation comes from the concentration index passed as ``reference`` (label-free);
* the concentration index (g+r+i, 1.5 / 4 px) cut at the same prior, also without labels;
* ``CNNClassifier`` trained **with labels** on the same simulated cutouts (supervised reference);
* "everything is a galaxy" (the trivial answer, which pixel accuracy flatters: galaxies cover most
  object pixels).

Scores, over the test fields pooled: pixel accuracy and balanced pixel accuracy over pixels that
are object in both the truth map and ours (the true class of a pixel is the class of the true
object owning it); object balanced accuracy over detections (a detection's true class is the class
of the true object owning most of its pixels; detections on no true pixel are skipped).

Usage::

    python benchmarks/bench_pixel_map.py --quick     # smoke (< 1 min)
    python benchmarks/bench_pixel_map.py             # writes results/pixel_map.json and .md
"""
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from _common import bench_parser, write_results  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.manifold import Isomap  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from galaxy_learn import CNNClassifier, ThresholdClassifier, VAEEncoder  # noqa: E402
from galaxy_learn.datasets import make_sky_field, make_star_galaxy_cutouts  # noqa: E402
from galaxy_learn.photometry import ConcentrationIndex, concentration_index  # noqa: E402
from galaxy_learn.segmentation import (  # noqa: E402
    HypercolumnExtractor,
    HypercolumnSegmenter,
    pixel_class_map,
)


def _classifiers(args):
    X, _, info = make_star_galaxy_cutouts(args.n_cutouts, random_state=5)
    y = info["point_source"].to_numpy()
    ci = concentration_index(X)
    out, fit_s = {}, {}

    t0 = time.perf_counter()
    vae = make_pipeline(
        VAEEncoder(prior="dkl", max_epochs=args.vae_epochs, device=args.device, random_state=0),
        Isomap(n_components=1),
        ThresholdClassifier(class_prior=0.45, classes=(False, True)),
    ).fit(X, thresholdclassifier__reference=ci)
    fit_s["vae"] = time.perf_counter() - t0
    out["VAEEncoder(dkl) -> Isomap -> ThresholdClassifier (no labels)"] = vae

    t0 = time.perf_counter()
    out["concentration index cut at the prior (no labels)"] = make_pipeline(
        ConcentrationIndex(), ThresholdClassifier(class_prior=0.45, classes=(False, True)),
    ).fit(X, thresholdclassifier__reference=ci)
    fit_s["ci"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cnn = CNNClassifier(channels=(16, 32, 64), dense_units=(128,), max_epochs=args.cnn_epochs,
                        device=args.device, random_state=0).fit(X, y)
    fit_s["cnn"] = time.perf_counter() - t0
    out["CNNClassifier (trained with labels)"] = cnn
    out["everything 'galaxy'"] = DummyClassifier(strategy="constant", constant=False).fit(
        X.reshape(len(X), -1), y)
    train_ps = float(y.mean())
    return out, fit_s, train_ps


def _scores(out, truth, catalog):
    point = np.zeros(max(int(truth.max()), int(catalog["id"].max())) + 1, dtype=bool)
    point[catalog["id"].to_numpy()] = catalog["point_source"].to_numpy()
    pred_point = np.asarray(out.classes, dtype=bool)[np.clip(out.class_map, 0, None)]
    both = (truth > 0) & (out.class_map >= 0)
    px_true, px_pred = point[truth[both]], pred_point[both]
    obj_true, obj_pred = [], []
    labels = out.labels
    for lab in np.unique(labels[labels > 0]):
        owners = truth[(labels == lab) & (truth > 0)]
        if owners.size == 0:
            continue
        obj_true.append(point[np.bincount(owners).argmax()])
        obj_pred.append(pred_point[labels == lab][0])
    return px_true, px_pred, np.asarray(obj_true), np.asarray(obj_pred)


def main():
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-fields", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--n-cutouts", type=int, default=3000)
    parser.add_argument("--vae-epochs", type=int, default=15)
    parser.add_argument("--cnn-epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quick:
        args.n_fields, args.size, args.n_cutouts, args.vae_epochs, args.cnn_epochs = 1, 192, 300, 2, 1
    started = time.perf_counter()

    train_field = make_sky_field(shape=(args.size, args.size), random_state=1000)[0]
    seg = HypercolumnSegmenter(HypercolumnExtractor(device=args.device, random_state=0),
                               random_state=0).fit(np.asarray(train_field, np.float32)[None])
    classifiers, fit_s, train_ps = _classifiers(args)
    print("fitted:", {k: round(v, 1) for k, v in fit_s.items()}, flush=True)

    pooled = {name: [[], [], [], []] for name in classifiers}
    seconds = dict.fromkeys(classifiers, 0.0)
    for seed in range(args.n_fields):
        field, truth, catalog = make_sky_field(shape=(args.size, args.size), random_state=seed)
        field = np.asarray(field, np.float32)
        for name, clf in classifiers.items():
            t0 = time.perf_counter()
            out = pixel_class_map(field, seg, clf, cutout_size=64)
            seconds[name] += time.perf_counter() - t0
            for acc, part in zip(pooled[name], _scores(out, np.asarray(truth), catalog)):
                acc.append(part)
        print(f"field {seed} done", flush=True)

    rows = []
    for name, (pt, pp, ot, op) in pooled.items():
        pt, pp, ot, op = (np.concatenate(a) for a in (pt, pp, ot, op))
        rows.append({
            "cutout classifier": name,
            "pixel accuracy": float((pt == pp).mean()),
            "balanced pixel accuracy": float(balanced_accuracy_score(pt, pp)),
            "object balanced accuracy": float(balanced_accuracy_score(ot, op)),
            "objects": len(ot),
            "point-source objects": int(ot.sum()),
            "map time per field (s)": seconds[name] / args.n_fields,
        })
    write_results("pixel_map", {
        "title": "Per-pixel star/galaxy maps (pixel_class_map)",
        "quick": args.quick,
        "settings": {k: v for k, v in vars(args).items() if k != "quick"},
        "sections": [{
            "text": f"Segmenter: `HypercolumnSegmenter` with its defaults, fitted on a "
                    f"{args.size}² training field (seed 1000); {args.n_fields} test fields of "
                    f"{args.size}² (seeds 0..). Cutout classifiers fitted on {args.n_cutouts} "
                    f"simulated 64×64 cutouts (`make_star_galaxy_cutouts`, seed 5; point-source "
                    f"fraction {train_ps:.2f}); VAE {args.vae_epochs} epochs, CNN channels "
                    f"(16, 32, 64), {args.cnn_epochs} epochs. Fit times (s): "
                    + ", ".join(f"{k} {v:.0f}" for k, v in fit_s.items()) + ".",
            "rows": rows, "formats": {"map time per field (s)": ".2f"},
            "after": "Pixel accuracy counts pixels, so large galaxies dominate it and the "
                     "constant answer 'galaxy' scores high; the balanced accuracies weigh both "
                     f"classes equally. Total {time.perf_counter() - started:.0f} s."}],
        "data": {"fit_seconds": fit_s, "train_point_source_fraction": train_ps},
    })


if __name__ == "__main__":
    main()

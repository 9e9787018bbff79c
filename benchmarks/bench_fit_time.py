"""Wall time of what a user runs first: the README's demo commands and the default mission line
``Pipeline([VAEEncoder(), Isomap(n_components=1), ThresholdClassifier()])`` fitted on 12,000
simulated 64x64 ugriz cutouts (issue targets: demo <= 60 s, ``--quick`` <= 10 s, the 12,000-cutout
fit <= 180 s on a quiet 2-core machine); with ``--images``, ``ContrastiveDenoiser()`` and
``CNNClassifier()`` at their defaults on 1,400 Galaxy-Zoo-sized 64x64 three-band images (issue
targets <= 3 and <= 2 minutes; ``make_galaxy_images``, no Galaxy Zoo data here: the time does not
depend on what the images show, except through early stopping, which neither default uses).
Run it on a quiet machine: the load average at start and end is recorded, and times under load
are not the figure.

    python benchmarks/bench_fit_time.py
    python benchmarks/bench_fit_time.py --quick      # 1,200 cutouts, demo --quick only
    python benchmarks/bench_fit_time.py --images     # results/fit_time_images.json
"""
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import bench_parser, write_results  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def demo_time(quick):
    cmd = [sys.executable, "-m", "galaxy_learn", "demo"] + (["--quick"] if quick else [])
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        msg = f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}"
        raise RuntimeError(msg)
    return {"command": "galaxy-learn demo" + (" --quick" if quick else ""), "wall s": wall,
            "output tail": proc.stdout.strip().splitlines()[-12:]}


def main():
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12_000)
    parser.add_argument("--images", action="store_true",
                        help="time ContrastiveDenoiser() and CNNClassifier() on 1,400 64x64 gri "
                             "images instead")
    parser.add_argument("--skip-cnn", action="store_true", help="with --images: denoiser only")
    parser.add_argument("--cnn-only", action="store_true",
                        help="with --images: CNNClassifier() only, written to fit_time_cnn.json "
                             "(the denoiser's record stays)")
    parser.add_argument("--denoiser-3min", action="store_true",
                        help="with --images: only ContrastiveDenoiser(precision='auto', "
                             "max_epochs=8), the setting that fits 3 minutes (not the default: "
                             "see the speed page), written to fit_time_denoiser_3min.json")
    args = parser.parse_args()
    if args.images:
        return image_estimators(args)
    from sklearn.manifold import Isomap
    from sklearn.pipeline import Pipeline

    from galaxy_learn import ThresholdClassifier, VAEEncoder
    from galaxy_learn.datasets import make_star_galaxy_cutouts

    n = 1_200 if args.quick else args.n
    X, _, _ = make_star_galaxy_cutouts(n, random_state=0)
    rows = []
    pipe = Pipeline([("vaeencoder", VAEEncoder(device=args.device, random_state=0)),
                     ("isomap", Isomap(n_components=1)),
                     ("thresholdclassifier", ThresholdClassifier(class_prior="auto"))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _, t_pipe = timed(lambda: pipe.fit(X))
        enc = pipe.named_steps["vaeencoder"]
        Z, t_tr = timed(lambda: enc.transform(X))
        _, t_iso = timed(lambda: pipe.named_steps["isomap"].transform(Z))
    dur = [float(h["dur"]) for h in enc.history_]
    rows.append({"step": f"Pipeline([VAEEncoder(), Isomap(1), ThresholdClassifier('auto')])"
                         f".fit({n:,} cutouts)", "seconds": t_pipe})
    rows.append({"step": "  of which VAE training epochs (3 members, summed)", "seconds": sum(dur)})
    rows.append({"step": f"VAEEncoder.transform({n:,}) (fitted encoder)", "seconds": t_tr})
    rows.append({"step": f"Isomap.transform({n:,}) (fitted)", "seconds": t_iso})
    demos = [demo_time(True)] + ([] if args.quick else [demo_time(False)])
    for d in demos:
        rows.append({"step": d["command"], "seconds": d["wall s"]})
    write_results("fit_time", {
        "title": "Wall time of the demo and of the default mission line (bench_fit_time.py)",
        "quick": args.quick,
        "settings": {"n": n, "device": args.device, "image": "5x64x64 (make_star_galaxy_cutouts)"},
        "sections": [{"heading": "Times", "rows": rows, "formats": {"seconds": ".1f"}}],
        "data": {"rows": rows, "demos": demos, "epoch seconds": dur},
    })


def image_estimators(args):
    from galaxy_learn import CNNClassifier, ContrastiveDenoiser
    from galaxy_learn.datasets import make_galaxy_images

    n = 140 if args.quick else 1_400
    X, y, _ = make_galaxy_images(n, image_size=64, bands="gri", random_state=0)
    y = np.isin(y, ["spiral", "barred_spiral"]).astype(int)
    rows, epochs = [], {}
    cnn = ("CNNClassifier()", CNNClassifier(device=args.device, random_state=0), (X, y))
    denoisers = [("ContrastiveDenoiser()", ContrastiveDenoiser(device=args.device, random_state=0),
                  (X,)),
                 # bfloat16 training, for the speed-up it buys (not the default: see the
                 # speed page of the user guide)
                 ("ContrastiveDenoiser(precision='bfloat16')",
                  ContrastiveDenoiser(precision="bfloat16", device=args.device, random_state=0),
                  (X,))]
    fast = ("ContrastiveDenoiser(precision='auto', max_epochs=8)",
            ContrastiveDenoiser(precision="auto", max_epochs=8, device=args.device,
                                random_state=0), (X,))
    # (record name, title, estimators) of each mode
    name, title, estimators = (
        ("fit_time_cnn", "Wall time of CNNClassifier() at its defaults (bench_fit_time.py "
         "--images --cnn-only)", [cnn]) if args.cnn_only else
        ("fit_time_denoiser_3min", "Wall time of ContrastiveDenoiser in bfloat16 for 8 epochs "
         "(bench_fit_time.py --images --denoiser-3min)", [fast]) if args.denoiser_3min else
        ("fit_time_images", "Wall time of the image estimators at their defaults "
         "(bench_fit_time.py --images)", denoisers + ([] if args.skip_cnn else [cnn])))
    for label, est, data in estimators:
        if args.quick:
            est.set_params(max_epochs=1)
        _, t = timed(lambda: est.fit(*data))
        dur = [float(h["dur"]) for h in est.history_]
        epochs[label] = dur
        rows.append({"estimator": label, "images": n, "epochs": len(dur), "fit seconds": t,
                     "median epoch seconds": float(np.median(dur))})
    write_results(name, {
        "title": title,
        "quick": args.quick,
        "settings": {"n": n, "device": args.device, "torch threads": torch.get_num_threads(),
                     "image": "3x64x64 (make_galaxy_images, gri)"},
        "sections": [{"heading": "Times", "rows": rows,
                      "formats": {"fit seconds": ".1f", "median epoch seconds": ".1f"}}],
        "data": {"rows": rows, "epoch seconds": epochs},
    })


if __name__ == "__main__":
    main()

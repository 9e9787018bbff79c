"""Wall time of what a user runs first: the README's demo commands and the default mission line
``Pipeline([VAEEncoder(), Isomap(n_components=1), ThresholdClassifier()])`` fitted on 12,000
simulated 64x64 ugriz cutouts (issue targets: demo <= 60 s, ``--quick`` <= 10 s, the 12,000-cutout
fit <= 180 s on a quiet 2-core machine). Run it on a quiet machine: the load average at start and
end is recorded, and times under load are not the figure.

    python benchmarks/bench_fit_time.py
    python benchmarks/bench_fit_time.py --quick      # 1,200 cutouts, demo --quick only
"""
import subprocess
import sys
import time
import warnings
from pathlib import Path


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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()

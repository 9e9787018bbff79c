"""Which end of a label-free score is the star end? ThresholdClassifier's "narrow" rule, measured.

Without labels nor a reference statistic, :class:`~galaxy_learn.ThresholdClassifier` orients its
cut by the "narrow component" rule: stars, images of one PSF, are the compact class of a
star/galaxy score. Two ways to find the narrow component are compared, on real SDSS and ZTF
cutouts, the independent GalSim set (5 seeds) and this project's simulator:

* ``gaussian``: a two-component Gaussian mixture initialised at the prior's quantile cut (the
  rule used with a numeric ``class_prior`` up to this study);
* ``t mixture``: the two-component Student-t mixture that ``class_prior="auto"`` fits (the
  component with the smaller interquartile range).

Scores: the concentration index, and the SPREAD_MODEL column that
:class:`~galaxy_learn.VAEEncoder` joins to its codes (arcsinh-standardised; it carries the
mission line's separation, user guide "Star/galaxy separation on real data"), each with both
signs (the sign of a manifold coordinate is arbitrary). The figure is how often the rule picks
the star end, and the accuracy of the cut at the true star fraction.

    python benchmarks/bench_orientation.py            # SDSS, ZTF, GalSim seeds 0-4, our simulator
    python benchmarks/bench_orientation.py --quick
"""
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import bench_parser, write_results  # noqa: E402
from bench_real import load_sdss, load_ztf  # noqa: E402


def spread_column(X):
    """The SPREAD_MODEL column of VAEEncoder (before its weight), PSF measured on X itself."""
    from galaxy_learn.encoders._psf_statistic import (estimate_widths, location, spread_values)

    width, _ = estimate_widths(X)
    s = spread_values(X, width)
    center, scale = location(s)
    return np.arcsinh((s - center) / scale)


def scores_of(X):
    from galaxy_learn.photometry import concentration_index

    return {"concentration index": concentration_index(X), "spread_model column": spread_column(X)}


def orientations(z, prior):
    """Orientation (+1: high end is the positive class) by each rule, for score z."""
    from galaxy_learn import ThresholdClassifier
    from galaxy_learn.classification._prior import _fit_prior_mixture

    gaussian = ThresholdClassifier(class_prior=prior, orientation="narrow").fit(z[:, None])
    return {"gaussian": gaussian.orientation_, "t mixture": _fit_prior_mixture(z).narrow_side()}


def study(name, X, y):
    from galaxy_learn import ThresholdClassifier

    prior = float(np.mean(y))
    rows = []
    for score_name, s in scores_of(X).items():
        ok = np.isfinite(s)
        for sign in (1, -1):
            z = sign * s[ok]
            truth = 1 if np.mean(z[y[ok] == 1]) > np.mean(z[y[ok] == 0]) else -1
            for rule, o in orientations(z, prior).items():
                clf = ThresholdClassifier(class_prior=prior,
                                          orientation="high" if o > 0 else "low").fit(z[:, None])
                rows.append({"data": name, "score": score_name, "sign": sign, "rule": rule,
                             "star end found": int(o == truth),
                             "accuracy (true prior)": float(np.mean(clf.predict(z[:, None]) == y[ok]))})
    return rows


def summarise(rows):
    out = []
    keys = sorted({(r["data"].split(" seed")[0], r["score"], r["rule"]) for r in rows})
    for data, score, rule in keys:
        sel = [r for r in rows if r["data"].split(" seed")[0] == data and r["score"] == score
               and r["rule"] == rule]
        acc = np.array([r["accuracy (true prior)"] for r in sel])
        out.append({"data": data, "score": score, "rule": rule, "cases": len(sel),
                    "star end found": sum(r["star end found"] for r in sel),
                    "accuracy mean": float(acc.mean()), "accuracy min": float(acc.min())})
    return out


def main():
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    seeds = args.seeds[:1] if args.quick else args.seeds
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if (args.data / "sdss").is_dir():
            X, y, _, _, _ = load_sdss(args.data)
            rows += study("SDSS 4510-4-30", X, y)
        else:
            print(f"bench_orientation: {args.data / 'sdss'} absent; SDSS skipped.")
        if (args.data / "ztf" / "ztf_i_cutouts.npz").is_file():
            X, y, _ = load_ztf(args.data)
            rows += study("ZTF i", X, y)
        from galsim_set import render_galsim_set

        for seed in seeds:
            X, y, _ = render_galsim_set(200 if args.quick else 2000, random_state=1000 + seed)
            rows += study(f"GalSim seed {seed}", X, y)
        from galaxy_learn.datasets import make_star_galaxy_cutouts

        X, _, truth = make_star_galaxy_cutouts(300 if args.quick else 2100, random_state=1000)
        rows += study("this project's simulator", X, truth["point_source"].to_numpy().astype(int))
    summary = summarise(rows)
    write_results("orientation", {
        "title": "Orientation of a label-free cut: which end is the star end (bench_orientation.py)",
        "quick": args.quick,
        "settings": {"seeds": seeds},
        "sections": [
            {"heading": "Summary", "text": "Per data set, score and rule: cases (score signs x "
             "seeds) where the rule found the star end, and the accuracy of the cut at the true "
             "star fraction.", "rows": summary},
            {"heading": "Every case", "rows": rows},
        ],
        "data": {"rows": rows, "summary": summary},
    })


if __name__ == "__main__":
    main()

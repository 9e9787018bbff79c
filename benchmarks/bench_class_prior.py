"""How well ``ThresholdClassifier(class_prior="auto")`` recovers the positive-class fraction.

Usage::

    python benchmarks/bench_class_prior.py            # full (a few minutes on 2 cores)
    python benchmarks/bench_class_prior.py --quick    # smoke run (< 1 min)

Two parts, each the absolute error ``|estimated fraction - true fraction|``:

1. **Synthetic 1-D scores**, positive class on the high side, fractions 0.1 ... 0.9, 2,000
   objects, seeds 0-2: two Gaussians (separated by 3 sigma; unequal widths; overlapping, 2
   sigma), a skewed negative class (gamma), a log-normal negative tail, Student-t classes (3 and
   1.5 degrees of freedom: heavy tails) and two Gaussians with one score of 1e30. The shipped
   estimator (a two-component Student-t mixture on the median/IQR-standardised, clipped score,
   ``orientation="high"``) beside the alternatives it was chosen over: a Gaussian mixture on the
   z-scored score, on the winsorised (1st-99th percentile) score, and on the rank-Gaussianised
   score (a rank transform makes the marginal exactly Gaussian, so it erases the two modes the
   mixture needs; it is there to show that, not as a contender).
2. **A real score**: the concentration index (:func:`galaxy_learn.photometry.concentration_index`,
   1.5 / 4 px) of the 1,500 real ZTF i-band cutouts (750 stars, 750 galaxies; Legacy Survey DR9
   labels), background removed as the median of the 2-px border ring, and subsamples with star
   fractions 0.2, 0.4, 0.6 and 0.8 (the largest subsample with that fraction, seeds 0-4). Fully
   label-free: ``ThresholdClassifier(class_prior="auto")`` with its default orientation rule
   (``"narrow"``), so a wrong orientation would show as a large error; accuracy of the cut at
   the estimated fraction beside the cut at the true fraction.

Reads ``--data`` (default ``../shared/data`` beside the repository); without the ZTF cutouts the
benchmark prints why and exits without writing, so the committed table stays. Writes
``results/class_prior.json`` (every number, machine, command, commit) and ``results/class_prior.md``
generated from it (under ``results/quick/`` with ``--quick``).
"""
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from _common import ROOT, bench_parser, write_results

from galaxy_learn import ThresholdClassifier
from galaxy_learn.photometry import concentration_index

SCENARIOS = {
    "Gaussians, 3 sigma apart": lambda r, n0, n1: (r.normal(0, 1, n0), r.normal(3, 1, n1)),
    "unequal widths (1 vs 0.3)": lambda r, n0, n1: (r.normal(0, 1, n0), r.normal(2.5, 0.3, n1)),
    "overlapping, 2 sigma apart": lambda r, n0, n1: (r.normal(0, 1, n0), r.normal(2, 1, n1)),
    "skewed negative (gamma)": lambda r, n0, n1: (r.gamma(2, 0.6, n0), r.normal(3, 0.4, n1)),
    "log-normal negative tail": lambda r, n0, n1: (-np.exp(r.normal(0, 0.7, n0)) - 0.2,
                                                   r.normal(0, 0.3, n1)),
    "Student-t, 3 dof": lambda r, n0, n1: (r.standard_t(3, n0), 3 + 0.5 * r.standard_t(3, n1)),
    "Student-t, 1.5 dof": lambda r, n0, n1: (r.standard_t(1.5, n0),
                                             3 + 0.5 * r.standard_t(1.5, n1)),
    "Gaussians + one score of 1e30": lambda r, n0, n1: (np.r_[r.normal(0, 1, n0 - 1), 1e30],
                                                       r.normal(3, 1, n1)),
}
INIT_CUTS = (0.1, 0.3, 0.5, 0.7, 0.9)


def _gaussian_mixture_weight(z):
    """Weight of the higher Gaussian of the most likely of five EM starts (quantile cuts)."""
    best = None
    for q in INIT_CUTS:
        cut = np.quantile(z, q)
        low, high = z[z <= cut], z[z > cut]
        if low.size < 2 or high.size < 2:
            continue
        gm = GaussianMixture(
            2, weights_init=[low.size / z.size, high.size / z.size],
            means_init=[[low.mean()], [high.mean()]],
            precisions_init=(1.0 / (np.array([low.var(), high.var()]) + 1e-3))[:, None, None],
            reg_covar=1e-4, max_iter=300,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(z[:, None])
        ll = gm.score(z[:, None])
        if best is None or ll > best[0]:
            best = (ll, gm)
    if best is None:  # every score but a few equal after standardisation: no start possible
        return float("nan")
    gm = best[1]
    return float(gm.weights_[int(np.argmax(gm.means_.ravel()))])


def _robust_z(s):
    q1, q3 = np.quantile(s, [0.25, 0.75])
    return (s - np.median(s)) / ((q3 - q1) / 1.349)


def estimate(method, s):
    """Estimated fraction of the high-side class of score ``s``."""
    if method == "t mixture (shipped)":
        clf = ThresholdClassifier(class_prior="auto", orientation="high").fit(s[:, None])
        return clf.class_prior_
    if method == "Gaussian mixture, z-score":
        with np.errstate(over="ignore", invalid="ignore"):
            z = (s - s.mean()) / s.std()
        if not np.all(np.isfinite(z)):
            return float("nan")
        return _gaussian_mixture_weight(z)
    if method == "Gaussian mixture, winsorised":
        z = _robust_z(s)
        return _gaussian_mixture_weight(np.clip(z, *np.quantile(z, [0.01, 0.99])))
    if method == "Gaussian mixture, rank-Gaussianised":
        return _gaussian_mixture_weight(norm.ppf(rankdata(s) / (s.size + 1)))
    raise ValueError(method)


METHODS = ("t mixture (shipped)", "Gaussian mixture, z-score", "Gaussian mixture, winsorised",
           "Gaussian mixture, rank-Gaussianised")


def part_synthetic(n, fractions, seeds):
    rows = []
    for name, draw in SCENARIOS.items():
        for frac in fractions:
            for seed in seeds:
                rng = np.random.default_rng([seed, int(round(100 * frac))])
                n1 = int(round(frac * n))
                neg, pos = draw(rng, n - n1, n1)
                s = np.r_[neg, pos]
                for method in METHODS:
                    t0 = time.perf_counter()
                    est = estimate(method, s)
                    rows.append({"scenario": name, "fraction": frac, "seed": seed,
                                 "method": method, "estimate": est,
                                 "abs_error": abs(est - frac), "seconds": time.perf_counter() - t0})
        print(f"synthetic: {name} done", flush=True)
    return rows


def load_ztf_score(data):
    d = np.load(data / "ztf" / "ztf_i_cutouts.npz")
    X = d["X"].astype(np.float64)
    ring = np.ones(X.shape[-2:], dtype=bool)
    ring[2:-2, 2:-2] = False
    X = X - np.median(X[..., ring], axis=-1)[..., None, None]
    return concentration_index(X), d["y"] == "STAR"


def part_ztf(ci, star, fractions, seeds):
    rows = []
    stars, galaxies = np.flatnonzero(star), np.flatnonzero(~star)
    for frac in fractions:
        for seed in seeds if frac != 0.5 else seeds[:1]:
            rng = np.random.default_rng(seed)
            n = int(min(stars.size / frac, galaxies.size / (1 - frac)))
            n_star = int(round(frac * n))
            idx = np.r_[rng.choice(stars, n_star, replace=False),
                        rng.choice(galaxies, n - n_star, replace=False)]
            s, y = ci[idx], star[idx]
            truth = float(y.mean())
            t0 = time.perf_counter()
            clf = ThresholdClassifier(class_prior="auto").fit(s[:, None])  # no labels at all
            seconds = time.perf_counter() - t0
            at_truth = ThresholdClassifier(class_prior=truth, orientation="high").fit(s[:, None])
            row = {"fraction": frac, "seed": seed, "n": int(n), "true_fraction": truth,
                   "estimate": clf.class_prior_, "abs_error": abs(clf.class_prior_ - truth),
                   "orientation_right": bool(clf.orientation_ == 1), "seconds": seconds,
                   "accuracy_estimated_prior": float(np.mean(clf.predict(s[:, None]) == y)),
                   "accuracy_true_prior": float(np.mean(at_truth.predict(s[:, None]) == y))}
            for method in METHODS[1:]:
                row[f"abs_error {method}"] = abs(estimate(method, s) - truth)
            rows.append(row)
        print(f"ztf: fraction {frac} done", flush=True)
    return rows


def _mean_max(values):
    v = np.asarray(values, dtype=float)
    if np.isnan(v).any():
        return f"fails on {np.isnan(v).sum()}/{v.size}"
    return f"{v.mean():.3f} ({v.max():.2f})"


def summarise(data):
    """The record's sections from its raw rows (``data``: n_synthetic, synthetic, ztf)."""
    syn, ztf = data["synthetic"], data["ztf"]
    by_method = []
    for name in SCENARIOS:
        row = {"scenario": name}
        for method in METHODS:
            row[method] = _mean_max([r["abs_error"] for r in syn
                                     if r["scenario"] == name and r["method"] == method])
        by_method.append(row)
    fractions = sorted({r["fraction"] for r in syn})
    by_fraction = []
    for name in SCENARIOS:
        row = {"scenario": name}
        for frac in fractions:
            row[f"{frac:g}"] = float(np.mean([r["abs_error"] for r in syn if r["scenario"] == name
                                              and r["method"] == METHODS[0]
                                              and r["fraction"] == frac]))
        by_fraction.append(row)
    shipped = [r["seconds"] for r in syn if r["method"] == METHODS[0]]
    real = []
    for frac in sorted({r["fraction"] for r in ztf}):
        rs = [r for r in ztf if r["fraction"] == frac]
        est = np.array([r["estimate"] for r in rs])
        row = {"true star fraction": f"{np.mean([r['true_fraction'] for r in rs]):.3f}",
               "n": rs[0]["n"], "subsamples": len(rs),
               "estimate (mean ± std)": f"{est.mean():.3f} ± {est.std():.3f}",
               "abs error (mean, max)": f"{np.mean([r['abs_error'] for r in rs]):.3f}, "
                                        f"{np.max([r['abs_error'] for r in rs]):.3f}",
               "orientation right": f"{sum(r['orientation_right'] for r in rs)}/{len(rs)}",
               "accuracy at estimate": float(np.mean([r["accuracy_estimated_prior"] for r in rs])),
               "accuracy at truth": float(np.mean([r["accuracy_true_prior"] for r in rs]))}
        for method in METHODS[1:]:
            row[f"abs error, {method}"] = float(np.mean([r[f"abs_error {method}"] for r in rs]))
        real.append(row)
    return [
        {"heading": "Synthetic scores: mean |error| over fractions and seeds (max in brackets)",
         "rows": by_method},
        {"text": "Shipped estimator, mean |error| per true fraction:", "rows": by_fraction,
         "after": f"Fit time of the shipped estimator ({data['n_synthetic']:,} scores, shared "
                  f"machine, contended): median {np.median(shipped):.2f} s."},
        {"heading": "Real score: concentration index of the ZTF i-band cutouts (no labels used)",
         "rows": real},
    ]


def _rounded(obj):
    """The record with floats to 5 significant digits (the JSON stays small enough to commit)."""
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    if isinstance(obj, float):
        return float(f"{obj:.5g}")
    return obj


def main():
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    ztf_file = args.data / "ztf" / "ztf_i_cutouts.npz"
    if not ztf_file.is_file():
        print(f"bench_class_prior: no ZTF cutouts at {ztf_file} (the shared data folder is "
              "absent); skipped, nothing written.")
        return
    if args.quick:
        n, fractions, seeds, ztf_fractions, ztf_seeds = 500, (0.2, 0.5, 0.8), [0], (0.2, 0.5), [0]
    else:
        n, fractions, seeds = 2000, (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), [0, 1, 2]
        ztf_fractions, ztf_seeds = (0.2, 0.4, 0.5, 0.6, 0.8), [0, 1, 2, 3, 4]
    synthetic = part_synthetic(n, fractions, seeds)
    ci, star = load_ztf_score(args.data)
    ztf = part_ztf(ci, star, ztf_fractions, ztf_seeds)
    data = _rounded({"n_synthetic": n, "synthetic": synthetic, "ztf": ztf})
    write_results("class_prior", {
        "title": "Estimating the class prior without labels (bench_class_prior.py)",
        "quick": args.quick,
        "settings": {"n_synthetic": n, "fractions": fractions, "seeds": seeds,
                     "ztf_fractions": ztf_fractions, "ztf_seeds": ztf_seeds},
        "sections": summarise(data),
        "data": data,
    })


if __name__ == "__main__":
    main()

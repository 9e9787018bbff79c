"""Segmentation benchmark: HypercolumnSegmenter against SEP (SExtractor) on simulated fields.

Both methods see the same ``make_sky_field`` fields (sky-subtracted nanomaggies, ugriz).

* Ours: ``HypercolumnSegmenter`` defaults (background and RMS maps -> inverse-variance band sum
  -> 1.5-px matched filter -> significance in noise sigmas of the smoothed image -> peak >= 5.5,
  grown to 2.5, bands weighted by the detected objects' SED -> watershed deblending ->
  footprints trimmed), and ``method="hypercolumns"``
  (the same, refined by k-means on autoencoder hypercolumns), fitted on a separate field.
* SEP: ``sep.Background`` on the detection image, ``sep.extract(det - bkg, 1.5,
  err=bkg.globalrms, segmentation_map=True)`` with SEP's defaults (minarea 5, 3x3 conv filter,
  deblend 32 levels / 0.005) -- SExtractor's usual 1.5 sigma.
* Detection image for SEP: the g+r+i coadd (sum of the three bands). Ours uses all five bands
  (weighted by signal over variance, the signal being the detected objects' median SED).

Scores (``galaxy_learn.metrics``): pixel IoU of object masks vs the truth segmentation map;
completeness of true objects with S/N > 5 (catalog ``snr_r``) and purity, a detection matching a
true object within 2 px (one-to-one, nearest first); megapixels per second of the detection step
(fit excluded for ours; SEP has no fit).

Usage::

    python benchmarks/bench_segmentation.py --quick      # smoke (< 1 min)
    python benchmarks/bench_segmentation.py              # full: results/segmentation.{json,md}
    python benchmarks/bench_segmentation.py --render benchmarks/results/segmentation.json
"""
import argparse
import copy
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch

from _common import markdown_table  # noqa: E402

from galaxy_learn.metrics import detection_scores, pixel_iou
from galaxy_learn.segmentation import HypercolumnExtractor, HypercolumnSegmenter

SNR_BINS = (0, 3, 5, 10, 20, 50, 100, np.inf)


def _field(shape, seed):
    from galaxy_learn.datasets import make_sky_field

    field, segmentation, catalog = make_sky_field(shape=shape, random_state=seed)
    return np.asarray(field, dtype=np.float32), np.asarray(segmentation), catalog


def _sep(field, bands=(1, 2, 3)):
    import sep

    det = np.ascontiguousarray(field[list(bands)].sum(axis=0), dtype=np.float64)
    sep.set_extract_pixstack(max(300_000, det.size))  # room for a crowded 2048x1489 frame
    sep.set_sub_object_limit(4096)
    t0 = time.perf_counter()
    bkg = sep.Background(det)
    objects, segmap = sep.extract(det - bkg, 1.5, err=bkg.globalrms, segmentation_map=True)
    dt = time.perf_counter() - t0
    return np.c_[objects["x"], objects["y"]], segmap, dt


def _ours(seg, field):
    t0 = time.perf_counter()
    catalog, labels = seg.detect(field[None])
    dt = time.perf_counter() - t0
    return catalog[["x", "y"]].to_numpy(), labels[0], dt


def _score(name, xy, labels, truth, catalog, dt):
    s = detection_scores(catalog[["x", "y"]].to_numpy(), xy, true_snr=catalog["snr_r"].to_numpy(),
                         snr_bins=SNR_BINS)
    return {
        "method": name,
        "iou": pixel_iou(truth, labels),
        "completeness_snr_gt5": s["completeness_above"],
        "purity": s["purity"],
        "n_true_snr_gt5": int((catalog["snr_r"] > 5).sum()),
        "n_detected": s["n_pred"],
        "seconds": dt,
        "mpix_per_s": truth.size / 1e6 / dt,
        "per_bin": s["per_bin"],
    }


def _segmenter(args, **overrides):
    ext = {"max_epochs": args.epochs, "device": args.device, "random_state": 0}
    ext.update(overrides.pop("extractor", {}))
    params = {"random_state": 0}
    if args.threshold is not None:
        params["threshold"] = args.threshold
    params.update(overrides)
    return HypercolumnSegmenter(HypercolumnExtractor(**ext), **params)


def _aggregate(results):
    """Pool per-field results of one method: IoU from summed pixel counts is not available, so
    IoU / completeness / purity are averaged over fields weighted by counts where it matters."""
    out = {}
    for name in dict.fromkeys(r["method"] for r in results):
        rs = [r for r in results if r["method"] == name]
        n_true = sum(r["n_true_snr_gt5"] for r in rs)
        n_det = sum(r["n_detected"] for r in rs)
        out[name] = {
            "method": name,
            "iou": float(np.mean([r["iou"] for r in rs])),
            "completeness_snr_gt5": float(sum(r["completeness_snr_gt5"] * r["n_true_snr_gt5"]
                                              for r in rs) / max(n_true, 1)),
            "purity": float(sum(r["purity"] * r["n_detected"] for r in rs) / max(n_det, 1)),
            "n_true_snr_gt5": n_true,
            "n_detected": n_det,
            "mpix_per_s": float(sum(r["seconds"] * r["mpix_per_s"] for r in rs)
                                / sum(r["seconds"] for r in rs)),
        }
        bins = sum(r["per_bin"][["n_true", "n_matched"]].to_numpy() for r in rs)
        pb = rs[0]["per_bin"][["snr_min", "snr_max"]].copy()
        pb["n_true"], pb["n_matched"] = bins[:, 0], bins[:, 1]
        pb["completeness"] = pb["n_matched"] / pb["n_true"].clip(lower=1)
        out[name]["per_bin"] = pb
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (< 1 min)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-fields", type=int, default=4)
    parser.add_argument("--size", type=int, default=512, help="test fields are size x size")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-clusters", type=int, default=None,
                        help="k of k-means (default: the estimator's)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="detection threshold (default: the estimator's)")
    parser.add_argument("--no-big", action="store_true", help="skip the 2048x1489 field")
    parser.add_argument("--no-variants", action="store_true", help="skip the trade-off table")
    parser.add_argument("--out", default=None,
                        help="markdown path (default results/segmentation.md; JSON beside it)")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only regenerate the markdown from a results JSON")
    args = parser.parse_args()
    if args.render:
        args.render.with_suffix(".md").write_text(render(json.loads(args.render.read_text())))
        return
    torch.set_num_threads(1)
    if args.quick:
        args.n_fields, args.size, args.epochs = 1, 192, 2
        args.no_big = args.no_variants = True

    started = time.perf_counter()
    train_field, _, _ = _field((args.size, args.size), seed=1000)
    seg = _segmenter(args)
    t0 = time.perf_counter()
    seg.fit(train_field[None])
    fit_s = time.perf_counter() - t0
    hc = _segmenter(args, method="hypercolumns")
    t0 = time.perf_counter()
    hc.fit(train_field[None])
    fit_hc_s = time.perf_counter() - t0
    print(f"fit: {fit_s:.1f}s (threshold), {fit_hc_s:.1f}s (hypercolumns)", flush=True)

    fields = [_field((args.size, args.size), seed=s) for s in range(args.n_fields)]
    results = []
    for i, (field, truth, catalog) in enumerate(fields):
        xy, lab, dt = _ours(seg, field)
        results.append(_score("HypercolumnSegmenter (ours, default)", xy, lab, truth, catalog,
                              dt))
        xy, lab, dt = _ours(hc, field)
        results.append(_score("HypercolumnSegmenter method=hypercolumns", xy, lab, truth,
                              catalog, dt))
        xy, lab, dt = _sep(field)
        results.append(_score("SEP 1.5 sigma, g+r+i", xy, lab, truth, catalog, dt))
        print(f"field {i}: " + "; ".join(
            f"{r['method'][:12]} iou {r['iou']:.3f} c5 {r['completeness_snr_gt5']:.3f} "
            f"p {r['purity']:.3f}" for r in results[-3:]), flush=True)
    agg = _aggregate(results)

    variants = []
    if not args.no_variants:
        for label, kw in [
            ("threshold=5.0 (~0.8 false detections per 2048x1489 noise frame)",
             {"threshold": 5.0}),
            ("threshold=5.0, deblend_nsigma=0.5", {"threshold": 5.0, "deblend_nsigma": 0.5}),
            ("deblend_symmetry=5 (symmetric-template deblending)", {"deblend_symmetry": 5.0}),
            ("threshold=6.0", {"threshold": 6.0}),
            ("smoothing=1.0", {"smoothing": 1.0}),
            ("deblend_nsigma=3", {"deblend_nsigma": 3.0}),
            ("deblend=False", {"deblend": False}),
            ("footprint_threshold=None (footprints not trimmed)", {"footprint_threshold": None}),
            ("detection_bands=g,r,i", {"detection_bands": (1, 2, 3)}),
            ("band_weights=inverse_variance (no SED weighting)",
             {"band_weights": "inverse_variance"}),
        ]:
            v = copy.deepcopy(seg).set_params(**kw).fit(train_field[None])
            rows = [_score(label, *_ours(v, f)[:2], truth, catalog, 1.0)
                    for f, truth, catalog in fields]
            r = _aggregate(rows)[label]
            variants.append(r)
            print(f"variant {label}: iou {r['iou']:.3f} c5 {r['completeness_snr_gt5']:.3f} "
                  f"p {r['purity']:.3f}", flush=True)

    noise = []
    rng = np.random.default_rng(0)
    for sky, sigma in [(0.0, 1.0), (6852.0, 65.0), (1e4, 1e-3)]:
        X = sky + sigma * rng.normal(size=(1, 5, 1489, 2048))
        n = int(seg.label(X).max())
        noise.append({"sky": sky, "sigma": sigma, "n_objects_ours": n,
                      "expected_false": seg.expected_false_detections((1489, 2048))})
    print("noise frames:", noise, flush=True)

    big = None
    if not args.no_big:
        field, truth, catalog = _field((1489, 2048), seed=77)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        xy, lab, dt = _ours(seg, field)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        big = [_score("HypercolumnSegmenter (ours, default)", xy, lab, truth, catalog, dt)]
        big[0]["peak_rss_mb"] = f"{rss1:.0f} (was {rss0:.0f} before)"
        xy, lab, dt = _sep(field)
        big.append(_score("SEP 1.5 sigma, g+r+i", xy, lab, truth, catalog, dt))
        big[1]["peak_rss_mb"] = "-"
        print("big field:", [(r["method"], round(r["iou"], 3), round(r["mpix_per_s"], 3))
                             for r in big], flush=True)

    import subprocess

    from _common import machine_description, results_path

    def _plain(r):
        out = {k: v for k, v in r.items() if k != "per_bin"}
        if "per_bin" in r:
            out["per_bin"] = r["per_bin"].to_dict("records")
        return out

    record = {
        "machine": machine_description(),
        "command": " ".join(["python"] + sys.argv),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                 capture_output=True, text=True).stdout.strip(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "quick": args.quick, "device": args.device, "n_fields": args.n_fields,
        "size": args.size, "epochs": args.epochs,
        "settings": {k: seg.get_params()[k] for k in (
            "threshold", "grow_threshold", "smoothing", "footprint_threshold",
            "footprint_smoothing", "min_area", "deblend_nsigma", "deblend_sigma",
            "deblend_symmetry", "band_weights")},
        "fit_s": fit_s, "fit_hypercolumns_s": fit_hc_s,
        "hypercolumns": {"n_clusters": hc.n_clusters, "cluster_threshold": hc.cluster_threshold},
        "methods": [_plain(a) for a in agg.values()],
        "variants": [_plain(v) for v in variants],
        "noise": noise, "big": [_plain(b) for b in big] if big else None,
        "total_s": time.perf_counter() - started,
    }
    text = render(record)
    if args.quick:
        print(text)
    else:
        out = Path(args.out) if args.out else results_path("segmentation")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(record, indent=1, default=str))
        out.write_text(text)
        print(f"wrote {out} and {out.with_suffix('.json')}")


def render(record):
    """The markdown page of a results record (``--render JSON`` regenerates it)."""
    cols = ["method", "iou", "completeness_snr_gt5", "purity", "n_true_snr_gt5", "n_detected",
            "mpix_per_s"]
    st = record["settings"]
    m = record["machine"]
    text = "# Segmentation: HypercolumnSegmenter vs SEP\n\n"
    text += (
        f"Command: `{record['command']}` at commit {record['commit']}. Machine: {m.get('CPU')}, "
        f"{m.get('date (UTC)')}; load average {record['load_average']} (shared with other "
        f"jobs: timings are contended); torch threads 1, device {record['device']}, "
        f"`OMP_NUM_THREADS`={record['omp_num_threads']}. Mode: "
        f"{'quick' if record['quick'] else 'full'}.\n\n"
        f"Settings: {record['n_fields']} test field(s) of {record['size']}x{record['size']} px "
        "(`make_sky_field`, ugriz, seeds 0..n-1), training field seed 1000. Ours: "
        f"`HypercolumnSegmenter()` defaults ({json.dumps(st)}); fit {record['fit_s']:.1f} s. "
        f"method=hypercolumns: default HypercolumnExtractor, max_epochs={record['epochs']}, "
        f"{json.dumps(record['hypercolumns'])}; fit {record['fit_hypercolumns_s']:.1f} s. SEP: "
        "detection image g+r+i coadd, `sep.Background` defaults, `sep.extract(det - bkg, 1.5, "
        "err=bkg.globalrms, segmentation_map=True)`.\n\n"
        "Matching: a detection matches a true object within 2 px (one-to-one, nearest first); "
        "completeness over true objects with catalog `snr_r > 5`; purity over all detections. "
        "IoU: object pixels (label > 0) vs truth segmentation > 0, averaged over fields. "
        "Mpix/s: detection step (`detect`) only.\n\n"
    )
    text += "## Same fields, side by side\n\n" + markdown_table(record["methods"], cols) + "\n"
    text += "## Completeness per S/N bin (all test fields pooled)\n\n"
    for a in record["methods"]:
        text += f"**{a['method']}**\n\n" + markdown_table(a["per_bin"]) + "\n\n"
    if record["variants"]:
        vcols = [c for c in cols if c != "mpix_per_s"]
        text += ("## The detection trade-off (default path, all test fields pooled)\n\n"
                 + markdown_table(record["variants"], vcols) + "\n")
    text += ("## Pure-noise 2048x1489 5-band frames (defaults)\n\n"
             + markdown_table(record["noise"]) + "\n")
    text += ("Per-pixel star/galaxy maps (`pixel_class_map` with the VAE pipeline, the "
             "concentration index and the CNN): `benchmarks/bench_pixel_map.py`, "
             "results/pixel_map.md.\n\n")
    if record["big"]:
        text += ("## One 2048x1489 5-band field (an SDSS frame's size)\n\n"
                 + markdown_table(record["big"], cols + ["peak_rss_mb"]) + "\n")
    text += f"Total benchmark time {record['total_s']:.0f} s.\n"
    return text


if __name__ == "__main__":
    main()

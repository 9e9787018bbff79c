"""Choosing ContrastiveDenoiser's size and length of training: quality against training cost.

Issue 19 asks ``ContrastiveDenoiser()`` to fit 1,400 Galaxy-Zoo-sized images (64x64, three
bands) in <= 3 minutes on the 2-core machine with denoising and probe quality no lower than the
defaults of before. This script measures named settings (``CONFIGS``: the former defaults, a
narrower U-Net, and a cosine learning-rate schedule with bfloat16 training over fewer epochs),
a constant-rate setting after each of several epoch counts of one run (no schedule, so the
network after ``k`` epochs of a longer run is a ``max_epochs=k`` fit), on two data sets:

* ``sim``: ``make_galaxy_images`` (gri, sky sigma 1, gain 1), 1,400 training images, 600
  held-out ones with their noiseless versions ``C``: foreground SSIM of ``denoise(X)`` vs ``C``
  (truth), foreground SSIM of ``denoise(X + extra noise)`` vs ``X`` (the protocol of the seed
  project: extra sky sigma 2, gain 0.5), and a linear probe (logistic regression, 5-fold CV on
  the held-out embeddings) for spiral vs smooth and for the five classes.
* ``sdss``: real SDSS gri cutouts (64x64, nanomaggies) of the objects detected on the two
  shared fields (flagged ones dropped), fitted on all of them: the seed protocol's SSIM with
  extra Gaussian noise of each cutout's own sky sigma (border MAD) per band, against the
  cutout itself, foreground by :func:`galaxy_learn.losses.foreground_mask` on the cutout; and a
  star/galaxy probe (5-fold CV ROC AUC of a logistic regression on the embeddings) on the field
  with SDSS's star list (labels never reach the denoiser).

The cost of each setting is the training time per epoch (measured in the run, with the machine
load recorded) and the FLOPs of one training step (``torch.utils.flop_counter``), which do not
depend on the load.

Usage::

    python benchmarks/bench_denoiser_defaults.py --quick
    python benchmarks/bench_denoiser_defaults.py --configs before --seeds 0 1 --name a
    python benchmarks/bench_denoiser_defaults.py --assemble results/a.json b.log ...
"""
import ast
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from _common import ROOT, bench_parser, write_results  # noqa: E402

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from galaxy_learn import ContrastiveDenoiser  # noqa: E402
from galaxy_learn.datasets import make_galaxy_images  # noqa: E402
from galaxy_learn.losses import foreground_mask, foreground_ssim  # noqa: E402
from galaxy_learn.photometry import border_noise  # noqa: E402

TITLES = {"sim": "Simulated gri galaxies (1,400 fit, 600 held out)",
          "sdss": "Real SDSS gri cutouts (905 fit; probe on the 527 of 4510-4-30)"}
SPIRAL = {"spiral", "barred_spiral"}
SMOOTH = {"elliptical"}


def _probe_scores(Z, y, seed):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    return cross_val_predict(clf, Z, y, cv=cv, method="predict_proba")


def _ssim(pred, ref, mask):
    ref_t = torch.as_tensor(ref)
    rng = (ref_t.flatten(1).amax(1) - ref_t.flatten(1).amin(1)).clamp_min(1e-6)
    return float(foreground_ssim(torch.as_tensor(pred), ref_t, mask, data_range=rng).mean())


class SimData:
    name = "sim"

    def __init__(self, n_train, n_test, size, seed):
        self.X, _, _ = make_galaxy_images(n_train, image_size=size, bands="gri", noise=1.0,
                                          gain=1.0, random_state=seed)
        self.X_te, self.y_te, _, self.C_te = make_galaxy_images(
            n_test, image_size=size, bands="gri", noise=1.0, gain=1.0, return_clean=True,
            random_state=seed + 1)
        gen = np.random.default_rng(seed + 2)
        pos = np.clip(self.X_te, 0, None)
        self.N_te = (self.X_te + gen.poisson(pos * 0.5) / 0.5 - pos
                     + gen.normal(0, 2.0, self.X_te.shape)).astype(np.float32)
        self.mask = None

    def evaluate(self, est, seed):
        if self.mask is None:
            scale = torch.as_tensor(est.scaler_.scale_, dtype=torch.float32).view(1, -1, 1, 1)
            self.mask = foreground_mask(torch.as_tensor(self.C_te) / scale, threshold=0.0,
                                        floor=0.02, dilation=1)
        out = {"fg_ssim_truth": _ssim(est.denoise(self.X_te), self.C_te, self.mask),
               "fg_ssim_seed_protocol": _ssim(est.denoise(self.N_te), self.X_te, self.mask)}
        Z = est.transform(self.X_te)
        sel = np.isin(self.y_te, list(SPIRAL | SMOOTH))
        yb = np.isin(self.y_te[sel], list(SPIRAL)).astype(int)
        out["probe_spiral_vs_smooth"] = float(
            (_probe_scores(Z[sel], yb, seed).argmax(1) == yb).mean())
        p5 = _probe_scores(Z, self.y_te, seed)
        classes = np.unique(self.y_te)
        out["probe_5class"] = float((classes[p5.argmax(1)] == self.y_te).mean())
        return out


class SdssData:
    name = "sdss"

    def __init__(self, data, seed):
        from bench_real import load_sdss, load_sdss_unlabelled

        X1, y1, *_ = load_sdss(data)
        X2, _ = load_sdss_unlabelled(data)
        self.X_lab = np.ascontiguousarray(X1[:, 1:4])
        self.y_lab = y1
        self.X = np.concatenate([self.X_lab, X2[:, 1:4]]).astype(np.float32)
        gen = np.random.default_rng(seed + 2)
        sig = border_noise(self.X_lab)[..., None, None]
        self.N_lab = (self.X_lab + gen.normal(0, 1, self.X_lab.shape) * sig).astype(np.float32)
        self.mask = None

    def evaluate(self, est, seed):
        if self.mask is None:
            scale = torch.as_tensor(est.scaler_.scale_, dtype=torch.float32).view(1, -1, 1, 1)
            Xs = torch.as_tensor(self.X_lab) / scale
            self.mask = foreground_mask(Xs, threshold=3.0, floor=0.0, dilation=1)
        out = {"fg_ssim_seed_protocol": _ssim(est.denoise(self.N_lab), self.X_lab, self.mask)}
        Z = est.transform(self.X_lab)
        out["probe_star_galaxy_auc"] = float(
            roc_auc_score(self.y_lab, _probe_scores(Z, self.y_lab, seed)[:, 1]))
        return out


class EvaluateAt(Callback):
    """Evaluate the estimator being fitted after the given epochs (and time the epochs)."""

    # The estimator clones its callbacks, so what the callback needs (the estimator itself
    # among it) is read from this module-level slot, set before each fit.
    context = {}

    def on_train_begin(self, net, **kw):
        for key, value in self.context.items():
            setattr(self, key, value)
        self.train_time, self.t0 = 0.0, time.perf_counter()

    def on_epoch_end(self, net, **kw):
        self.train_time += time.perf_counter() - self.t0
        epoch = len(net.history)
        if epoch in self.epochs:
            t = time.perf_counter()
            scores = self.data.evaluate(self.est, self.seed)
            net.module_.train()
            row = {**self.meta, "epochs": epoch, "train_s": round(self.train_time, 1),
                   "load_1min": round(os.getloadavg()[0], 2), **scores,
                   "eval_s": round(time.perf_counter() - t, 1)}
            self.rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()},
                  flush=True)
        self.t0 = time.perf_counter()


#: The settings compared (everything else at the estimator's defaults). A constant learning
#: rate is evaluated after each of ``--epochs`` of one run; a schedule only at its end.
CONFIGS = {
    "before": dict(base_channels=16, max_epochs=20, lr_schedule="constant",
                   precision="float32"),
    "8 channels": dict(base_channels=8, max_epochs=12, lr_schedule="constant",
                       precision="float32"),
    "cosine, bf16, 8 epochs": dict(base_channels=16, max_epochs=8, lr_schedule="cosine",
                                   precision="auto"),
    # one change at a time, to tell the schedule's effect from the arithmetic's
    "cosine, 8 epochs": dict(base_channels=16, max_epochs=8, lr_schedule="cosine",
                             precision="float32"),
    "bf16, 8 epochs": dict(base_channels=16, max_epochs=8, lr_schedule="constant",
                           precision="auto"),
    # the float32 reference of the last at equal epochs and seeds (the 'before' runs stop at 20)
    "float32, 8 epochs": dict(base_channels=16, max_epochs=8, lr_schedule="constant",
                              precision="float32"),
    # the original U-Net's transposed up-convolution and one 3x3 convolution per decoder level:
    # the encoder (the representation) as before, 56 % of the decoder's FLOPs
    "light decoder": dict(base_channels=16, upsampling="transposed", decoder_convs=1,
                          max_epochs=10, lr_schedule="constant", precision="float32"),
    # FFDNet's reversible down-sampling: the U-Net on 2x2 pixel blocks packed as channels
    "unshuffle 2": dict(base_channels=16, unshuffle=2, max_epochs=20, lr_schedule="constant",
                        precision="float32"),
    # within 3 minutes (bfloat16 convolutions, 8 epochs), with more optimiser steps for the
    # same FLOPs (half the batch: an image costs the same at 16 or 32 views per step) or a
    # higher peak rate annealed to 0
    "bf16, batch 8, 8 epochs": dict(base_channels=16, batch_size=8, max_epochs=8,
                                    lr_schedule="constant", precision="auto"),
    "bf16, cosine from 4e-3, 8 epochs": dict(base_channels=16, lr=4e-3, max_epochs=8,
                                             lr_schedule="cosine", precision="auto"),
}
#: rows of the first runs of this script (before it named its settings) by their width
_BY_WIDTH = {16: "before", 8: "8 channels"}


def step_flops(params, size, batch_size):
    """FLOPs of one training step (two views of ``batch_size`` images, forward + backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    X = make_galaxy_images(batch_size * 2, image_size=size, bands="gri", random_state=0)[0]
    est = ContrastiveDenoiser(**{**params, "max_epochs": 1, "batch_size": batch_size},
                              random_state=0, device="cpu").fit(X[: batch_size * 2])
    net = est.net_
    batch = (torch.as_tensor(est.scaler_.transform(X[:batch_size])), None)
    with FlopCounterMode(display=False) as counter:
        net.train_step_single(batch)
    return counter.get_total_flops()


def read_rows(path):
    """Rows of an earlier run: its JSON record, or the log it printed (one dict per line)."""
    path = Path(path)
    if path.suffix == ".json":
        rows = json.loads(path.read_text())["data"]["rows"]
    else:
        rows = [ast.literal_eval(line) for line in path.read_text().splitlines()
                if line.startswith("{'data'")]
    for r in rows:
        r.setdefault("config", _BY_WIDTH.get(r.get("base_channels")))
    return rows


def main(argv=None):
    p = bench_parser(__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--data", nargs="+", default=["sim", "sdss"], choices=["sim", "sdss"])
    p.add_argument("--epochs", type=int, nargs="+", default=[4, 6, 8, 10, 12, 16, 20],
                   help="epochs after which a constant-rate run is evaluated")
    p.add_argument("--n-train", type=int, default=1400)
    p.add_argument("--n-test", type=int, default=600)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--assemble", nargs="+", default=None, metavar="JSON_OR_LOG",
                   help="write the record from earlier runs' records or logs, training nothing")
    p.add_argument("--name", default="denoiser_defaults")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    size = 64
    configs = {k: dict(CONFIGS[k]) for k in args.configs}
    if args.quick:
        args.n_train, args.n_test, size, args.epochs, args.seeds = 64, 48, 32, [1, 2], [0]
        for c in configs.values():
            c["max_epochs"] = 2
    if args.assemble:
        rows = [r for path in args.assemble for r in read_rows(path)]
        return write(args, rows, size, flops=None)
    if "sdss" in args.data and not (args.shared_data / "sdss").is_dir():
        print(f"bench_denoiser_defaults: no SDSS frames under {args.shared_data}; sdss skipped.")
        args.data = [d for d in args.data if d != "sdss"]
    rows = []
    flops = {k: step_flops(c, size, 16) / 32 for k, c in configs.items()}
    for seed in args.seeds:
        for name in args.data:
            if name == "sdss" and args.quick:
                continue
            data = SimData(args.n_train, args.n_test, size, 100 * seed) if name == "sim" \
                else SdssData(args.shared_data, seed)
            for key, params in configs.items():
                n_ep = params["max_epochs"]
                at = {n_ep} if params["lr_schedule"] != "constant" else \
                    {e for e in args.epochs if e <= n_ep} | {n_ep}
                meta = {"data": name, "config": key, "base_channels": params["base_channels"],
                        "seed": seed, "n_train": len(data.X)}
                est = ContrastiveDenoiser(**params, random_state=seed, device="cpu")
                EvaluateAt.context = dict(est=est, data=data, seed=seed, rows=rows, meta=meta,
                                          epochs=at)
                est.set_params(callbacks=[("evaluate", EvaluateAt())])
                est.fit(data.X)
    return write(args, rows, size, flops)


def write(args, rows, size, flops):
    summary = summarise(rows)
    settings = {"n_train_sim": args.n_train, "n_test_sim": args.n_test, "size": size,
                "configs": {k: CONFIGS[k] for k in sorted({r["config"] for r in rows})},
                "torch_threads": torch.get_num_threads()}
    if flops:
        settings["gflop_per_image_step"] = {k: round(f / 1e9, 3) for k, f in flops.items()}
    if args.assemble:
        sources = []
        for path in map(Path, args.assemble):
            if path.suffix == ".json":
                rec = json.loads(path.read_text())
                sources.append({k: rec.get(k) for k in ("command", "commit", "date (UTC)")})
            else:
                sources.append({"log": path.name})
        settings["assembled_from"] = sources
    write_results(args.name, {
        "title": "ContrastiveDenoiser: settings against quality and training cost (issue 19)",
        "quick": args.quick,
        "settings": settings,
        "sections": [
            {"heading": f"{TITLES[d]}: mean over seeds (std in the _std columns)",
             "rows": [r for r in summary if r["data"] == d]}
            for d in TITLES if any(r["data"] == d for r in summary)
        ] + [
            {"heading": f"{TITLES[d]}: every run and checkpoint",
             "rows": [{k: v for k, v in r.items() if k != "base_channels"}
                      for r in rows if r["data"] == d]}
            for d in TITLES if any(r["data"] == d for r in rows)
        ],
        "data": {"rows": rows, "summary": summary},
    })


def summarise(rows):
    keys = sorted({(r["data"], r["config"], r["epochs"]) for r in rows})
    out = []
    for data, config, ep in keys:
        sel = [r for r in rows if (r["data"], r["config"], r["epochs"]) == (data, config, ep)]
        row = {"data": data, "config": config, "epochs": ep, "n_seeds": len(sel),
               "train_s": float(np.mean([r["train_s"] for r in sel]))}
        for k in sel[0]:
            if k.startswith(("fg_", "probe_")):
                v = [r[k] for r in sel]
                row[k] = float(np.mean(v))
                row[k + "_std"] = float(np.std(v))
        out.append(row)
    return out


if __name__ == "__main__":
    main()

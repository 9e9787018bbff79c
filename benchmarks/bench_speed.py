"""Training throughput of each network against this CPU's own limit, measured in one run.

A machine's load changes absolute times but not (much) the ratios measured within one run, so
every figure here is a ratio to a limit measured in the same run, with torch's threads as the
estimators leave them (they do not set them: torch's default, one per core):

* **matmul peak**: a large float32 matrix product (GFLOP/s, best of several repeats);
* **conv peak** of each network: every convolution op (forward and backward, exact shapes,
  strides, memory layout and output masks) recorded during one real training batch of that
  network, replayed alone with random tensors (best of several repeats, summed over the ops);
* **achieved**: the FLOPs of one training epoch divided by its wall time. The FLOPs are counted by
  :class:`torch.utils.flop_counter.FlopCounterMode` on the first training (and validation) batch
  of epoch 1, per sample, times the samples of the epoch; the time is skorch's ``dur`` of epoch 2
  (a real, uncounted epoch; summed over the members of an ensemble).

Then the speed-ups tried on :class:`~galaxy_learn.classification.CNNClassifier`, each measured
before and after in the same run: torch intra-op threads (1 vs cores), ``channels_last`` memory
format, ``torch.inference_mode`` vs ``torch.no_grad`` for prediction, tensors vs numpy arrays
handed to skorch, and candidate default architectures (a central crop, early strided
downsampling).

Writes ``results/speed.json`` (figures with the machine, command, commit and load; see
``_common.write_results``) and the ``speed.md`` tables generated from it. Usage::

    python benchmarks/bench_speed.py --quick     # smoke run, well under a minute
    python benchmarks/bench_speed.py             # CPU-sized run (a few minutes)
"""
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from _common import ROOT, bench_parser, write_results

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

_STORE = {}  # the FLOP counters' records, by key (callbacks are cloned by the estimators)
_CONV_OPS = {"convolution", "_convolution", "convolution_backward"}


# -- limits ----------------------------------------------------------------------------------------
def matmul_peak(n=2048, repeats=10):
    """Best-of-``repeats`` GFLOP/s of an ``n x n`` float32 matrix product."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


class _OpRecorder(TorchDispatchMode):
    """Records the convolution ops (forward and backward) run inside it, with their arguments."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket.__name__ in _CONV_OPS:
            spec = torch.utils._pytree.tree_map(
                lambda a: ("T", tuple(a.shape), tuple(a.stride()), a.dtype)
                if isinstance(a, torch.Tensor) else a, (args, kwargs))
            self.ops.append((func, spec))
        return func(*args, **kwargs)


def _materialise(spec):
    def make(a):
        if isinstance(a, tuple) and len(a) == 4 and a[0] == "T":
            return torch.empty_strided(a[1], a[2], dtype=a[3]).normal_()
        return a

    return torch.utils._pytree.tree_map(make, spec, is_leaf=lambda a: isinstance(a, tuple)
                                        and len(a) == 4 and a[0] == "T")


def conv_peak(ops, repeats=5):
    """GFLOP/s of the recorded convolution ops replayed alone: summed FLOPs over summed best
    times. Each op is warmed up once, then the whole list is replayed ``repeats`` times (rounds
    interleave the ops, so that a burst of load on the machine does not hit every repeat of one
    op) and each op keeps its best time. Returns (gflops_per_s, n_ops, flops)."""
    if not ops:
        return float("nan"), 0, 0
    calls, total_flops = [], 0
    for func, spec in ops:
        args, kwargs = _materialise(spec)
        with FlopCounterMode(display=False) as fc:
            func(*args, **kwargs)  # also the warm-up
        total_flops += fc.get_total_flops()
        calls.append((func, args, kwargs))
    best = np.full(len(calls), np.inf)
    for _ in range(repeats):
        for i, (func, args, kwargs) in enumerate(calls):
            t = time.perf_counter()
            func(*args, **kwargs)
            best[i] = min(best[i], time.perf_counter() - t)
    return total_flops / best.sum() / 1e9, len(ops), total_flops


# -- the counting callback -------------------------------------------------------------------------
def _flop_callback(key):
    """A skorch callback that counts the FLOPs of the first training and validation batch of
    epoch 1 (per sample) and the samples of each epoch; records go to ``_STORE[key]``, one per
    net (an ensemble trains one net per member)."""
    from skorch.callbacks import Callback
    from skorch.dataset import get_len

    class EpochFlops(Callback):
        def __init__(self, key):
            self.key = key

        def initialize(self):
            self.rec_ = None
            return self

        def on_train_begin(self, net, **kwargs):
            self.rec_ = {"train_flops_per_sample": 0.0, "valid_flops_per_sample": 0.0,
                         "epochs": []}
            _STORE.setdefault(self.key, []).append(self.rec_)
            self.mode_ = None

        def on_epoch_begin(self, net, **kwargs):
            self.rec_["epochs"].append({"train": 0, "valid": 0})

        def on_batch_begin(self, net, batch=None, training=None, **kwargs):
            first_epoch = len(self.rec_["epochs"]) == 1
            phase = "train" if training else "valid"
            if first_epoch and self.rec_["epochs"][0][phase] == 0:
                self.mode_ = (FlopCounterMode(display=False), _OpRecorder(), phase)
                self.mode_[0].__enter__()
                if training:
                    self.mode_[1].__enter__()

        def on_batch_end(self, net, batch=None, training=None, **kwargs):
            n = get_len(batch[0])
            phase = "train" if training else "valid"
            self.rec_["epochs"][-1][phase] += n
            if self.mode_ is not None:
                fc, rec, _ = self.mode_
                if training:
                    rec.__exit__(None, None, None)
                    self.rec_["conv_ops"] = rec.ops
                fc.__exit__(None, None, None)
                self.rec_[f"{phase}_flops_per_sample"] = fc.get_total_flops() / n
                self.mode_ = None

    return EpochFlops(key)


def _epoch_seconds(history):
    """The fastest epoch after the first (which pays the warm-up and the FLOP counting)."""
    return float(min(history[i, "dur"] for i in range(1, len(history))))


def epoch_throughput(name, make_estimator, X, *, matmul_gflops, conv_repeats):
    """Fit ``make_estimator(callbacks=[...])`` (>= 2 epochs) on ``X``; one row of the table."""
    key = f"{name}-{len(_STORE)}"
    est = make_estimator([_flop_callback(key)])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X)
    fit_s = time.perf_counter() - t0
    recs = _STORE[key]
    flops = sum(r["train_flops_per_sample"] * r["epochs"][1]["train"]
                + r["valid_flops_per_sample"] * r["epochs"][1]["valid"] for r in recs)
    epoch_s = _epoch_seconds(est.history_)  # summed over the members by mean_history
    achieved = flops / epoch_s / 1e9
    cpeak, n_ops, _ = conv_peak(recs[0].get("conv_ops", []), repeats=conv_repeats)
    n_samples = recs[0]["epochs"][1]["train"]
    return {
        "estimator": name,
        "nets": len(recs),
        "samples/epoch": n_samples,
        "GFLOP/epoch": flops / 1e9,
        "epoch s": epoch_s,
        "samples/s": n_samples * len(recs) / epoch_s,
        "achieved GFLOP/s": achieved,
        "conv peak GFLOP/s": cpeak,
        "conv ops": n_ops,
        "% matmul peak": 100 * achieved / matmul_gflops,
        "% conv peak": 100 * achieved / cpeak,
        "fit s": fit_s,
    }


# -- the estimators --------------------------------------------------------------------------------
def estimators(sizes, seed, epochs):
    from galaxy_learn.classification import CNNClassifier
    from galaxy_learn.datasets import make_star_galaxy_cutouts
    from galaxy_learn.denoising import ContrastiveDenoiser
    from galaxy_learn.encoders import VAEEncoder
    from galaxy_learn.preprocessing import ImageScaler
    from galaxy_learn.segmentation import HypercolumnExtractor

    s = sizes["image_size"]
    X, y, _ = make_star_galaxy_cutouts(sizes["n"], image_size=s, random_state=seed)
    y = np.where(y == "GALAXY", "galaxy", "point source")
    X = np.asarray(X, dtype=np.float32)
    X_rgb = np.asarray(X[: sizes["n_denoiser"], 1:4], dtype=np.float32)  # gri as "RGB"
    X_scaled = ImageScaler(method="asinh").fit_transform(X[: sizes["n_hyper"]])
    common = {"max_epochs": epochs, "random_state": seed, "device": "cpu"}

    class Supervised:  # fit(X) for the table: the labels ride along
        def __init__(self, est, y):
            self.est, self.y = est, y

        def fit(self, X):
            self.est.fit(X, self.y)
            self.history_ = self.est.history_
            return self

    return [
        ("VAEEncoder(n_ensemble=1)",
         lambda cb: VAEEncoder(n_ensemble=1, callbacks=cb, **common), X),
        ("VAEEncoder() (n_ensemble=3)", lambda cb: VAEEncoder(callbacks=cb, **common), X),
        ("CNNClassifier()", lambda cb: Supervised(CNNClassifier(callbacks=cb, **common), y), X),
        # Kim & Brunner's widths on the whole cutout: the defaults before issue 19
        ("CNNClassifier(channels=(32, 64, 128), crop=None)",
         lambda cb: Supervised(CNNClassifier(channels=(32, 64, 128), crop=None, callbacks=cb,
                                             **common), y), X),
        ("ContrastiveDenoiser() (RGB)",
         lambda cb: ContrastiveDenoiser(callbacks=cb, **common), X_rgb),
        ("HypercolumnExtractor()", lambda cb: HypercolumnExtractor(callbacks=cb, **common),
         X_scaled),
    ], (X, y)


# -- speed-ups of the CNN, before / after in the same run ------------------------------------------
_EPOCHS = {"n": 3}
#: The CNN these speed-ups were measured on: Kim & Brunner's widths on the whole cutout, constant
#: rate, plain predictions (``CNNClassifier()`` before issue 19 sized the defaults for a CPU).
_KIM_BRUNNER = {"channels": (32, 64, 128), "crop": None, "lr_schedule": "constant",
                "test_time_augmentation": False}


def _cnn_epoch(X, y, seed, **params):
    """Seconds of the fastest epoch after the first, and the fitted classifier."""
    from galaxy_learn.classification import CNNClassifier

    clf = CNNClassifier(max_epochs=_EPOCHS["n"], random_state=seed, device="cpu",
                        **{**_KIM_BRUNNER, **params}).fit(X, y)
    return _epoch_seconds(clf.history_), clf


def loader_seconds(X, y, batch_size=128):
    """Seconds to draw one epoch of shuffled batches through skorch's dataset from numpy arrays
    and from tensors (what the per-batch numpy -> torch conversion costs)."""
    from skorch.dataset import Dataset
    from torch.utils.data import DataLoader

    y = np.unique(y, return_inverse=True)[1]
    out = {}
    for label, data in (("numpy", (X, y)), ("tensor", (torch.from_numpy(X), torch.from_numpy(y)))):
        best = np.inf
        for _ in range(3):
            t = time.perf_counter()
            for _batch in DataLoader(Dataset(*data), batch_size=batch_size, shuffle=True):
                pass
            best = min(best, time.perf_counter() - t)
        out[label] = best
    return out


def cnn_speedups(X, y, seed):
    """Rows: variant, epoch seconds, speed-up over the default in the same run."""
    from galaxy_learn.classification import _cnn

    rows = []
    base_s, base = _cnn_epoch(X, y, seed)
    rows.append(("Kim & Brunner (torch threads = %d)" % torch.get_num_threads(), base_s, None))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows.append(("torch threads = 1", _cnn_epoch(X, y, seed)[0], None))
    finally:
        torch.set_num_threads(threads)

    original = _cnn.ConvNet

    class ChannelsLast(original):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.to(memory_format=torch.channels_last)

        def forward(self, x):
            if x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            return super().forward(x)

    _cnn.ConvNet = ChannelsLast
    try:
        cl_s, cl = _cnn_epoch(X, y, seed)
    finally:
        _cnn.ConvNet = original
    same = np.abs(cl.predict_proba(X[:256]) - base.predict_proba(X[:256])).max()
    rows.append((f"channels_last (max abs dP vs default {same:.1e})", cl_s, None))

    # prediction: no_grad (batched_apply) vs inference_mode around it
    def timed(fn, reps=3):
        best = np.inf
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    Xp = X[: min(len(X), 1024)]
    p_ng = timed(lambda: base.predict_proba(Xp))
    with torch.inference_mode():
        p_im = timed(lambda: base.predict_proba(Xp))
    rows.append((f"predict_proba({len(Xp)}) under no_grad", p_ng, "predict"))
    rows.append((f"predict_proba({len(Xp)}) under inference_mode", p_im, "predict"))
    loads = loader_seconds(X, y)
    rows.append((f"one epoch of batches, skorch Dataset on numpy ({len(X)} samples)",
                 loads["numpy"], "loader"))
    rows.append((f"one epoch of batches, skorch Dataset on tensors ({len(X)} samples)",
                 loads["tensor"], "loader"))
    return rows, base_s


def cnn_accuracy(seed, n_train, n_test, image_size, candidates, max_epochs):
    """AUC (point source vs galaxy) at r < 21 and overall, fit seconds, of each candidate on
    simulated cutouts (:func:`galaxy_learn.datasets.make_star_galaxy_cutouts`)."""
    from sklearn.metrics import roc_auc_score

    from galaxy_learn.classification import CNNClassifier
    from galaxy_learn.datasets import make_star_galaxy_cutouts

    X, y, truth = make_star_galaxy_cutouts(n_train + n_test, image_size=image_size,
                                           random_state=seed + 1)
    ps = np.asarray(truth["point_source"], dtype=bool)
    bright = np.asarray(truth["mag_r"])[n_train:] < 21
    rows = []
    for label, params in candidates:
        t = time.perf_counter()
        clf = CNNClassifier(max_epochs=max_epochs, random_state=seed, device="cpu",
                            **{**_KIM_BRUNNER, **params})
        clf.fit(X[:n_train], ps[:n_train])
        fit_s = time.perf_counter() - t
        score = clf.predict_proba(X[n_train:])[:, 1]
        rows.append({"variant": label, "fit s": fit_s, "epochs": clf.n_epochs_,
                     "AUC (r<21)": float(roc_auc_score(ps[n_train:][bright], score[bright])),
                     "AUC (all)": float(roc_auc_score(ps[n_train:], score))})
        print(rows[-1], flush=True)
    return rows


def _cnn_param_count(X):
    from galaxy_learn.nn import ConvNet

    net = ConvNet(X.shape[1:], 2, channels=_KIM_BRUNNER["channels"])  # the first row's network
    return sum(p.numel() for p in net.parameters())


def cnn_candidates(X, y, seed, candidates):
    """Epoch seconds of candidate default architectures on the same data."""
    rows = []
    for label, params in candidates:
        s, clf = _cnn_epoch(X, y, seed, **params)
        rows.append((label, s, sum(p.numel() for p in clf.net_.module_.parameters())))
    return rows


_CHILD = """
import json, sys, warnings
import numpy as np, torch
warnings.simplefilter("ignore")
from galaxy_learn.classification import CNNClassifier
from galaxy_learn.datasets import make_star_galaxy_cutouts
from galaxy_learn.encoders import VAEEncoder
n, threads = int(sys.argv[1]), int(sys.argv[2])
if threads:
    torch.set_num_threads(threads)
X, y, _ = make_star_galaxy_cutouts(n, random_state=0)
vae = VAEEncoder(n_ensemble=1, max_epochs=3, random_state=0, device="cpu").fit(X)
cnn = CNNClassifier(channels=(16, 32, 64), max_epochs=3, random_state=0,
                    device="cpu").fit(X[:, :, 16:48, 16:48], y)
best = lambda h: min(h[i, "dur"] for i in range(1, len(h)))
print(json.dumps({"vae": best(vae.history_), "cnn": best(cnn.history_),
                  "threads": torch.get_num_threads(),
                  "codes": float(np.abs(vae.transform(X[:64])).sum())}))
"""


def thread_settings(n, rounds):
    """Epoch seconds of a VAE (one member) and a small CNN in fresh processes, under torch's
    default threads, ``OMP_WAIT_POLICY=PASSIVE`` and one thread; rounds alternate the settings
    so that the machine's load reaches each alike."""
    settings = [("torch default threads", {}, 0),
                ("OMP_WAIT_POLICY=PASSIVE", {"OMP_WAIT_POLICY": "PASSIVE"}, 0),
                ("torch.set_num_threads(1)", {}, 1)]
    out = {label: [] for label, _, _ in settings}
    for _ in range(rounds):
        for label, extra, threads in settings:
            env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
            env.update(extra)
            env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
            proc = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(threads)],
                                  env=env, capture_output=True, text=True, check=True)
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            rec["load"] = os.getloadavg()[0]
            out[label].append(rec)
            print(label, rec, flush=True)
    return out


def _threads_main(args):
    n, rounds = (128, 1) if args.quick else (512, 3)
    out = thread_settings(n, rounds)
    rows = []
    for label, recs in out.items():
        rows.append({"setting": label, "torch threads": recs[0]["threads"],
                     "VAE epoch s (median)": float(np.median([r["vae"] for r in recs])),
                     "VAE epoch s (max)": float(max(r["vae"] for r in recs)),
                     "CNN epoch s (median)": float(np.median([r["cnn"] for r in recs])),
                     "CNN epoch s (max)": float(max(r["cnn"] for r in recs)),
                     "VAE codes checksum": recs[0]["codes"]})
    write_results("speed_threads", {
        "title": "Thread settings of training on a loaded machine",
        "quick": args.quick,
        "settings": {"n": n, "rounds": rounds},
        "sections": [{
            "text": f"Fresh processes, {rounds} round(s) alternating the settings; a VAEEncoder "
                    "(`n_ensemble=1`) and a CNNClassifier (channels (16, 32, 64), central "
                    f"32x32 pixels) on {n} simulated 64x64 cutouts, 3 epochs, the fastest after "
                    "the first timed. The VAE codes checksum (sum of |codes| of 64 cutouts) "
                    "shows whether a setting changes the fit.",
            "rows": rows}],
        "data": {"runs": out},
    })


# -- main ------------------------------------------------------------------------------------------
def main(argv=None):
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-speedups", action="store_true")
    parser.add_argument("--accuracy", action="store_true",
                        help="also fit the CNN candidates for their simulator AUC (slow)")
    parser.add_argument("--accuracy-n-train", type=int, default=1200)
    parser.add_argument("--accuracy-epochs", type=int, default=5)
    parser.add_argument("--threads", action="store_true",
                        help="only compare thread settings in fresh processes "
                             "(writes results/speed_threads.md)")
    args = parser.parse_args(argv)
    if args.device not in ("auto", "cpu"):
        parser.error("bench_speed measures the CPU; a GPU run is not implemented yet")
    if args.threads:
        return _threads_main(args)
    sizes = ({"n": 64, "image_size": 32, "n_denoiser": 8, "n_hyper": 16} if args.quick else
             {"n": 768, "image_size": 64, "n_denoiser": 96, "n_hyper": 256})
    epochs = _EPOCHS["n"] = 2 if args.quick else 3
    repeats = 3 if args.quick else 10
    t_start = time.perf_counter()
    mm = matmul_peak(512 if args.quick else 2048, repeats)
    print(f"matmul peak: {mm:.1f} GFLOP/s ({torch.get_num_threads()} threads)", flush=True)

    ests, (X, y) = estimators(sizes, args.seed, epochs)
    rows = []
    for name, make, data in ests:
        row = epoch_throughput(name, make, data, matmul_gflops=mm,
                               conv_repeats=1 if args.quick else 5)
        print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()},
              flush=True)
        rows.append(row)
    mm_after = matmul_peak(512 if args.quick else 2048, repeats)

    from galaxy_learn.classification import CNNClassifier
    from galaxy_learn.preprocessing import ImageScaler

    half = X.shape[-1] // 2
    crop = ImageScaler(method="asinh", crop=half)
    candidates = [
        ("Kim & Brunner: channels (32, 64, 128), 2 convs/block", {}),
        ("channels (16, 32, 64)", {"channels": (16, 32, 64)}),
        ("channels (16, 32, 64), convs_per_block=1",
         {"channels": (16, 32, 64), "convs_per_block": 1}),
        (f"central {half}x{half} crop", {"scaling": crop}),
        (f"central {half}x{half} crop, channels (16, 32, 64)",
         {"scaling": crop, "channels": (16, 32, 64)}),
        (f"central {half}x{half} crop, channels (16, 32, 64), convs_per_block=1",
         {"scaling": crop, "channels": (16, 32, 64), "convs_per_block": 1}),
        ("CNNClassifier() (the defaults since issue 19)",
         {k: CNNClassifier().get_params()[k] for k in _KIM_BRUNNER}),
    ]
    speed_rows, cand_rows, acc_rows = [], [], []
    if not args.skip_speedups:
        speed_rows, base_s = cnn_speedups(X, y, args.seed)
        for r in speed_rows:
            print(r, flush=True)
        if not args.quick:  # the default's row is the speed-up table's first
            cand_rows = [(candidates[0][0], base_s, _cnn_param_count(X))]
            cand_rows += cnn_candidates(X, y, args.seed, candidates[1:])
        for r in cand_rows:
            print(r, flush=True)
    if args.accuracy:
        acc_rows = cnn_accuracy(args.seed, args.accuracy_n_train, 1000, sizes["image_size"],
                                candidates, args.accuracy_epochs)
    total_s = time.perf_counter() - t_start

    cols = ["estimator", "nets", "samples/epoch", "GFLOP/epoch", "epoch s", "samples/s",
            "achieved GFLOP/s", "conv peak GFLOP/s", "% matmul peak", "% conv peak"]
    sections = [{
        "heading": f"One training epoch per estimator (defaults, {epochs} epochs; the fastest "
                   "after the first is timed)",
        "text": f"Matmul peak (float32, best of {repeats}): **{mm:.1f} GFLOP/s** at the start, "
                f"{mm_after:.1f} at the end; {torch.get_num_threads()} torch threads (the "
                "estimators do not set them).",
        "rows": rows, "columns": cols,
        "after": "FLOPs: `FlopCounterMode` on the first training batch of epoch 1 (forward, "
                 "backward), per sample, times the samples of the epoch (plus the validation "
                 "forward passes where the estimator holds out a validation set). `conv peak`: "
                 "the network's own convolution ops from that batch, replayed alone (best of "
                 "repeats). `nets`: networks trained per fit (an ensemble trains one per "
                 "member)."}]
    if speed_rows:
        sections.append({
            "heading": "CNNClassifier speed-ups, before / after in this run",
            "rows": [{"variant": v, "seconds": sec,
                      "vs default": (base_s / sec if k is None else None)}
                     for v, sec, k in speed_rows],
            "after": "Epoch rows: seconds of the fastest epoch after the first (`vs default`: "
                     "speed-up over the first row, > 1 is faster), each a variant of Kim & "
                     "Brunner's widths on the whole cutout (the defaults before issue 19). "
                     "Predict and loader rows: best of 3."})
    if cand_rows:
        sections.append({
            "heading": "CNNClassifier candidate architectures (speed only)",
            "rows": [{"variant": v, "epoch s": sec, "parameters": n_par,
                      "vs default": cand_rows[0][1] / sec} for v, sec, n_par in cand_rows],
            "after": "`vs default`: speed-up over the first row (Kim & Brunner's widths)."})
    if acc_rows:
        sections.append({
            "heading": f"CNNClassifier candidates: simulator AUC ({args.accuracy_n_train} "
                       f"training, 1000 test cutouts, {args.accuracy_epochs} epochs)",
            "rows": acc_rows})
    path = write_results("speed", {
        "title": "Training throughput against this CPU's limits",
        "quick": args.quick,
        "notes": f"Ratios within this run are the figure; absolute times move with the load "
                 f"(total {total_s:.0f} s).",
        "settings": sizes,
        "sections": sections,
        "data": {"matmul peak GFLOP/s (start, end)": [mm, mm_after],
                 "torch threads": torch.get_num_threads(), "epochs": rows,
                 "cnn speed-ups": [{"variant": v, "seconds": sec} for v, sec, _ in speed_rows],
                 "cnn candidates": [{"variant": v, "epoch s": sec, "parameters": n_par}
                                    for v, sec, n_par in cand_rows],
                 "cnn candidates accuracy": acc_rows},
    })
    print(f"wrote {path} in {total_s:.0f} s")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of VAEEncoder: unsupervised star/galaxy AUC per prior, and skorch training overhead.

For each prior, ``Pipeline([VAEEncoder(prior=P, n_latent=k), Isomap(n_components=1)])`` is fitted
on simulated cutouts (``make_star_galaxy_cutouts``) and the Isomap coordinate of held-out cutouts
(another random seed) is scored against ``point_source`` with an orientation-free ROC AUC
(max(AUC, 1 − AUC): the sign of an unsupervised coordinate is arbitrary). Beside it, the classical
concentration index on the same held-out cutouts. Then training throughput (images/s) of the
skorch path (``VAEEncoder.fit``) beside a hand-written PyTorch loop over the same module, data,
optimizer, batch size and shuffling, in the same run.

Usage::

    python benchmarks/bench_vae.py --quick                 # smoke test, < 1 min
    python benchmarks/bench_vae.py                         # 12,000 / 2,100 cutouts
    python benchmarks/bench_vae.py --device cuda --seeds 5
    python benchmarks/bench_vae.py --n-train 3000 --n-test 1000 --seeds 2   # what fits on a CPU

Writes ``benchmarks/results/vae.json`` and the ``vae.md`` generated from it (``--name`` to
change; ``--study`` writes ``vae_study.*`` by default, ``--throughput-only``
``vae_throughput.*``).
"""
import time

import numpy as np
import torch
from sklearn.manifold import Isomap
from sklearn.pipeline import Pipeline

from _common import bench_parser, write_results

from galaxy_learn import VAEEncoder
from galaxy_learn.datasets import make_star_galaxy_cutouts
from galaxy_learn.losses import reconstruction_loss
from galaxy_learn.metrics import unsupervised_roc_auc
from galaxy_learn.photometry import concentration_index
from galaxy_learn.utils import resolve_device, torch_seeded

PRIORS = ["normal", "dkl", "dkl_seed", "scaling", "aw", "pw", "none"]


def _scaler(method, crop):
    from galaxy_learn.preprocessing import ImageScaler

    return ImageScaler(method=method, crop=crop)


# The hyper-parameter study behind the defaults: one group varies one thing from the defaults.
STUDY = {
    "scaling": [
        (f"{m}, crop {c}", {"scaling": _scaler(m, c)})
        for m, c in [("zscore", 32), ("asinh", 32), ("peak", 32), ("peak_asinh", 32),
                     ("peak_asinh", 24)]
    ],
    "prior": [(p, {"prior": p}) for p in PRIORS],
    "m_s": [(f"m={m}, s={s}", {"m": m, "s": s})
            for m, s in [(1.0, 0.5), (1.0, 1.0), (2.0, 0.5), (0.5, 0.25)]],
    "kl_weight": [(f"kl_weight={b}", {"kl_weight": b}) for b in (0.1, 1.0, 10.0)],
    "latent": [("n_latent=2", {"n_latent": 2}),
               ("n_latent=8, n_prior_latent=1", {"n_latent": 8, "n_prior_latent": 1}),
               ("n_latent=8", {"n_latent": 8})],
    "epochs": [(f"max_epochs={e}", {"max_epochs": e}) for e in (5, 15, 30)],
}


def make_data(n_train, n_test, seed):
    X_train, _, truth_train = make_star_galaxy_cutouts(n_train, random_state=seed)
    X_test, _, truth_test = make_star_galaxy_cutouts(n_test, random_state=seed + 1000)
    return X_train, truth_train, X_test, truth_test


def score_pipeline(params, X_train, X_test, y_test):
    pipe = Pipeline([("vae", VAEEncoder(**params)), ("iso", Isomap(n_components=1))])
    t0 = time.perf_counter()
    pipe.fit(X_train)
    fit_s = time.perf_counter() - t0
    coord = pipe.transform(X_test)[:, 0]
    return unsupervised_roc_auc(y_test, coord), fit_s, pipe


def prior_accuracy_lines(n_points=200, seed=0):
    """Markdown: the issue's KL table and measured errors of the priors vs scipy quad."""
    from scipy.integrate import quad
    from scipy.stats import norm

    from galaxy_learn.losses import PWPrior, make_prior

    def true_kl(mu, sig, m, s):
        def f(x):
            logq = np.logaddexp(norm.logpdf(x, -m, s), norm.logpdf(x, m, s)) - np.log(2)
            return norm.pdf(x, mu, sig) * (norm.logpdf(x, mu, sig) - logq)
        pts = [p for p in (0.0, -m, m, mu) if mu - 14 * sig < p < mu + 14 * sig]
        return quad(f, mu - 14 * sig, mu + 14 * sig, points=pts or None, limit=200,
                    epsabs=1e-12, epsrel=1e-11)[0]

    def true_lp(mu, sig, m, s, p):
        lo, hi = min(mu - 14 * sig, -m - 14 * s), max(mu + 14 * sig, m + 14 * s)
        f = lambda x: abs(norm.pdf(x, mu, sig) - 0.5 * norm.pdf(x, -m, s)  # noqa: E731
                          - 0.5 * norm.pdf(x, m, s)) ** p
        return quad(f, lo, hi, points=[mu, -m, m], limit=200, epsabs=1e-13)[0]

    def val(name, mu, sig, m, s):
        prior = make_prior(name, m=m, s=s)
        t = torch.tensor([[mu]], dtype=torch.float64)
        return prior.kl(t, torch.tensor([[2 * np.log(sig)]], dtype=torch.float64)).item()

    lines = ["## Prior values against numerical integration", "",
             "| μ, σ, m, s | true KL (quad) | `dkl` (ours) | `dkl_seed` (seed's closed form) "
             "| `scaling` bound |", "|---|---|---|---|---|"]
    for mu, sig, m, s in [(0.5, 0.3, 1, 0.5), (-1.2, 0.2, 1, 0.5), (0.1, 0.5, 2, 1), (0, 1, 0, 1)]:
        lines.append(f"| {mu}, {sig}, {m}, {s} | {true_kl(mu, sig, m, s):.4f} | "
                     f"{val('dkl', mu, sig, m, s):.4f} | {val('dkl_seed', mu, sig, m, s):.4f} | "
                     f"{val('scaling', mu, sig, m, s):.4f} |")
    rng = np.random.default_rng(seed)
    err_dkl, err_seed, gap, err_pw = [], [], [], {1.0: [], 1.5: [], 2.0: [], 3.0: []}
    for _ in range(n_points):
        mu, sig = rng.uniform(-8, 8), np.exp(rng.uniform(np.log(0.01), np.log(5)))
        m, s = rng.uniform(0, 4), np.exp(rng.uniform(np.log(0.1), np.log(4)))
        ref = true_kl(mu, sig, m, s)
        err_dkl.append(abs(val("dkl", mu, sig, m, s) - ref) / max(1.0, abs(ref)))
        err_seed.append(abs(val("dkl_seed", mu, sig, m, s) - ref))
        gap.append(val("scaling", mu, sig, m, s) - ref)
    for _ in range(n_points // 4):
        mu, sig = rng.uniform(-5, 5), np.exp(rng.uniform(np.log(0.05), np.log(3)))
        m, s = rng.uniform(0, 3), np.exp(rng.uniform(np.log(0.2), np.log(3)))
        t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
        for p in err_pw:
            ref = true_lp(mu, sig, m, s, p)
            got = PWPrior(m, s, p=p).integral(t(mu), t(sig)).item()
            err_pw[p].append(abs(got - ref) / max(ref, 1e-3))
    lines += [
        "",
        f"Random sweep ({n_points} points, μ ∈ [−8, 8], σ ∈ [0.01, 5] log-uniform, m ∈ [0, 4], "
        f"s ∈ [0.1, 4] log-uniform), float64:",
        "",
        "| quantity | max | median |", "|---|---|---|",
        f"| `dkl` relative error vs quad | {max(err_dkl):.1e} | {np.median(err_dkl):.1e} |",
        f"| `dkl_seed` absolute error vs quad | {max(err_seed):.3g} | {np.median(err_seed):.3g} |",
        f"| `scaling` bound − true KL (min must be ≥ 0) | min {min(gap):.2e} | "
        f"{np.median(gap):.3g} |",
    ]
    for p, errs in err_pw.items():
        how = "closed form" if p == 2.0 else "panel quadrature"
        lines.append(f"| `pw` ∫\\|P−Q\\|^{p:g} ({how}) relative error, {len(errs)} points | "
                     f"{max(errs):.1e} | {np.median(errs):.1e} |")
    return lines + [""]


def _score_job(params, X_train, X_test, y_test, threads):
    torch.set_num_threads(threads)
    auc, fit_s, _ = score_pipeline(params, X_train, X_test, y_test)
    return auc, fit_s


def score_many(jobs, X_train, X_test, y_test, n_jobs, threads):
    """Scores of ``[(key, params), ...]`` (in parallel processes when n_jobs > 1)."""
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=n_jobs, verbose=0)(
        delayed(_score_job)(params, X_train, X_test, y_test, threads) for _, params in jobs
    )
    out = {}
    for (key, params), (auc, fit_s) in zip(jobs, results):
        print(f"{key} seed={params['random_state']} AUC={auc:.4f} fit={fit_s:.1f}s", flush=True)
        out.setdefault(key, []).append((auc, fit_s))
    return out


def plain_loop_throughput(enc, Xs, epochs):
    """Train a fresh copy of ``enc``'s module with a hand-written loop; images per second."""
    net = enc.net_
    device = net.device
    with torch_seeded(0, device):
        module = type(net.module_)(**net.get_params_for("module")).to(device)
    opt = torch.optim.Adam(module.parameters(), lr=enc.lr)
    data = torch.as_tensor(Xs)
    gen = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data), batch_size=net.batch_size, shuffle=True,
        drop_last=True, generator=gen,
    )
    prior, k, beta = net.prior, net.n_prior_latent, net.kl_weight
    n_seen = 0
    module.train()
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(epochs):
        for (xb,) in loader:
            xb = xb.to(device)
            x_hat, mu, logvar, _ = module(xb)
            rec = reconstruction_loss(x_hat, xb, net.reconstruction)
            pen = prior.kl(mu[:, :k] if k else mu, logvar[:, :k] if k else logvar)
            loss = (rec + beta * pen).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            n_seen += len(xb)
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    return n_seen / (time.perf_counter() - t0)


def skorch_throughput(params, Xs, epochs):
    enc = VAEEncoder(**{**params, "max_epochs": epochs, "scaling": None, "random_state": 0})
    enc.fit(Xs)
    n_batches = len(Xs) // enc.net_.batch_size
    seconds = sum(enc.history_[:, "dur"])
    return enc, n_batches * enc.net_.batch_size * epochs / seconds


def throughput_section(base, X_train, epochs, rounds):
    """Markdown section: images/s of ``VAEEncoder.fit`` and of a plain loop, interleaved.

    Same module, data (scaled once), optimizer, batch size and shuffling. Dimming is off: the
    dimmed copies are made once before training (not per batch) and the plain loop has no
    equivalent, so both paths train on the same tensors. One untimed warm-up run of each path
    first (allocator, thread pool, first-call costs), then ``rounds`` alternating
    skorch / plain runs; the medians are compared.
    """
    params = {**base, "prior": "dkl", "n_latent": 2, "dimming": 0.0, "n_ensemble": 1}  # one net
    scaled = VAEEncoder(**{**params, "max_epochs": 1, "random_state": 0}).fit(X_train[:64])
    Xs = scaled.scaler_.transform(X_train).astype(np.float32)
    enc, _ = skorch_throughput(params, Xs, 1)  # warm-up, untimed
    plain_loop_throughput(enc, Xs, 1)  # warm-up, untimed
    sk, pl = [], []
    for _ in range(rounds):
        sk.append(skorch_throughput(params, Xs, epochs)[1])
        pl.append(plain_loop_throughput(enc, Xs, epochs))
    ips_skorch, ips_plain = float(np.median(sk)), float(np.median(pl))
    overhead = ips_plain / ips_skorch - 1.0
    return {
        "heading": "Training throughput: skorch path vs a plain PyTorch loop",
        "text": f"Same VAEModule, scaled data ({len(Xs)} cutouts), Adam, batch size "
                f"{enc.net_.batch_size}, seeded shuffling, prior dkl, dimming off (the same "
                f"tensors in both paths), {epochs} epoch(s) per run; skorch = `VAEEncoder.fit` "
                "epoch durations from `history_`. One untimed warm-up run of each path, then "
                f"{rounds} alternating rounds; medians compared.",
        "rows": [{"path": "skorch (VAEEncoder.fit)", "images/s (median)": ips_skorch,
                  "runs": [round(v) for v in sk]},
                 {"path": "plain PyTorch loop", "images/s (median)": ips_plain,
                  "runs": [round(v) for v in pl]}],
        "formats": {"images/s (median)": ".1f"},
        "after": f"skorch overhead (plain/skorch − 1): {100 * overhead:+.1f}%.",
    }


def run_study(args, base, X_train, X_test, y_test, ci_auc):
    """One record: each group varies one setting from the base."""
    groups = args.study.split(",")
    jobs = [((group, label), {**base, **params, "random_state": seed})
            for group in groups for label, params in STUDY[group] for seed in range(args.seeds)]
    scores = score_many(jobs, X_train, X_test, y_test, args.n_jobs, args.threads)
    sections = []
    for group in groups:
        rows = []
        for label, _ in STUDY[group]:
            res = scores[(group, label)]
            aucs = [a for a, _ in res]
            rows.append({"setting": label, "AUC mean": float(np.mean(aucs)),
                         "AUC std": float(np.std(aucs)), "per seed": aucs,
                         "fit (s)": float(np.mean([f for _, f in res]))})
        sections.append({"heading": group, "rows": rows,
                         "formats": {"AUC mean": ".4f", "AUC std": ".4f", "fit (s)": ".0f"}})
    write_results(args.name or "vae_study", {
        "title": "VAEEncoder: study behind the defaults",
        "quick": args.quick,
        "settings": {k: v for k, v in vars(args).items() if k != "quick"},
        "notes": f"Each group varies one setting from the base; {args.seeds} seed(s), "
                 f"{args.n_train} training / {args.n_test} held-out cutouts, base settings "
                 f"`{base}` on top of the estimator defaults. AUC: Isomap(n_components=1) on "
                 "the codes, orientation-free. Concentration index on the same held-out "
                 f"cutouts: **{ci_auc:.4f}**.",
        "sections": sections,
        "data": {"concentration_index_auc": ci_auc},
    })


def main(argv=None):
    parser = bench_parser(__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=12000)
    parser.add_argument("--n-test", type=int, default=2100)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default: the estimator's")
    parser.add_argument("--large-latent", type=int, default=16)
    parser.add_argument("--priors", default=",".join(PRIORS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--n-jobs", type=int, default=1, help="fits run in parallel processes")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--n-ensemble", type=int, default=1,
                        help="members per VAEEncoder (the estimator's default is 3; the committed "
                             "per-prior table is of single fits, 1: a 3-member table triples the "
                             "73-minute CPU run)")
    parser.add_argument("--throughput-epochs", type=int, default=3)
    parser.add_argument("--throughput-rounds", type=int, default=3)
    parser.add_argument("--throughput-only", action="store_true",
                        help="measure only the training throughput (record vae_throughput)")
    parser.add_argument("--study", default="",
                        help=f"comma-separated study groups to run instead ({','.join(STUDY)})")
    parser.add_argument("--study-base", default="",
                        help="python dict literal of estimator settings shared by the study "
                             "(e.g. \"{'channels': (16, 32, 64), 'hidden_units': 64}\")")
    parser.add_argument("--name", default=None,
                        help="record name under results/ (default: vae, vae_study with --study, "
                             "vae_throughput with --throughput-only)")
    parser.add_argument("--accuracy", action="store_true",
                        help="only print the prior accuracy tables (markdown)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.accuracy:
        print("\n".join(prior_accuracy_lines()))
        return None
    if args.quick:
        args.n_train, args.n_test, args.seeds, args.epochs = 300, 200, 1, 2
        args.priors, args.large_latent, args.throughput_epochs = "normal,dkl", 4, 1
        args.throughput_rounds = 1
    device = resolve_device(args.device)
    priors = [p for p in args.priors.split(",") if p]
    # the priors are compared on the codes alone: the SPREAD_MODEL column (psf_statistic) would
    # carry the separation whatever the prior (docs/user_guide/real_data.rst)
    base = {"device": device, "n_ensemble": args.n_ensemble, "psf_statistic": None}
    if args.epochs is not None:
        base["max_epochs"] = args.epochs
    if args.quick:
        base.update(channels=(8, 16), hidden_units=16, batch_size=64)
    settings = {k: v for k, v in vars(args).items() if k != "quick"}
    settings["device"] = str(device)

    t_start = time.perf_counter()
    if args.throughput_only:
        X_train, _, _ = make_star_galaxy_cutouts(args.n_train, random_state=args.data_seed)
        section = throughput_section(base, X_train, args.throughput_epochs,
                                     args.throughput_rounds)
        return write_results(args.name or "vae_throughput", {
            "title": "VAEEncoder: skorch training throughput", "quick": args.quick,
            "settings": settings, "sections": [section]})
    X_train, truth_train, X_test, truth_test = make_data(args.n_train, args.n_test, args.data_seed)
    y_test = truth_test["point_source"].to_numpy().astype(int)
    ci_auc = unsupervised_roc_auc(y_test, concentration_index(X_test))
    print(f"concentration index AUC {ci_auc:.4f}", flush=True)
    if args.study:
        import ast

        base.update(ast.literal_eval(args.study_base) if args.study_base else {})
        return run_study(args, base, X_train, X_test, y_test, ci_auc)

    jobs = [((prior, k), {**base, "prior": prior, "n_latent": k, "random_state": seed})
            for prior in priors for k in (2, args.large_latent) for seed in range(args.seeds)]
    scores = score_many(jobs, X_train, X_test, y_test, args.n_jobs, args.threads)
    rows = []
    for (prior, k), res in scores.items():
        aucs = [a for a, _ in res]
        rows.append({"prior": prior, "n_latent": k, "AUC mean": float(np.mean(aucs)),
                     "AUC std": float(np.std(aucs)), "per seed": aucs,
                     "fit wall time (s)": float(np.mean([f for _, f in res]))})
    rows.append({"prior": "concentration index (g+r+i, r 1.5/4 px)", "n_latent": None,
                 "AUC mean": ci_auc, "AUC std": None, "per seed": None,
                 "fit wall time (s)": None})
    tp = throughput_section(base, X_train, args.throughput_epochs, args.throughput_rounds)

    d = VAEEncoder()
    text = (
        f"Data: `make_star_galaxy_cutouts` (5 bands ugriz, 64×64, defaults), {args.n_train} "
        f"training cutouts (random_state={args.data_seed}) and {args.n_test} held-out cutouts "
        f"(random_state={args.data_seed + 1000}); point-source fraction of the held-out set "
        f"{y_test.mean():.3f}. Device `{device}`; total run "
        f"{(time.perf_counter() - t_start) / 60:.1f} min.\n\n"
        "Pipeline per row: `Pipeline([VAEEncoder(prior=P, n_latent=k, random_state=seed), "
        "Isomap(n_components=1)])`, fitted on the training cutouts, the Isomap coordinate of the "
        "held-out cutouts scored against `point_source` (orientation-free AUC = "
        "max(AUC, 1−AUC)). Estimator settings: defaults (scaling='auto' → "
        f"ImageScaler('peak_asinh', crop=32, per_band=True), dimming={d.dimming}, m={d.m}, "
        f"s={d.s}, kl_weight={d.kl_weight}, channels={base.get('channels', d.channels)}, "
        f"hidden_units={base.get('hidden_units', d.hidden_units)}, "
        f"max_epochs={base.get('max_epochs', d.max_epochs)}, "
        f"n_ensemble={base['n_ensemble']}, psf_statistic=None, batch_size="
        f"{base.get('batch_size', d.batch_size)}, lr={d.lr}) unless stated; {args.seeds} "
        "seed(s).")
    write_results(args.name or "vae", {
        "title": "VAEEncoder benchmark",
        "quick": args.quick,
        "settings": settings,
        "sections": [{"heading": "Unsupervised star/galaxy AUC per prior", "text": text,
                      "rows": rows, "formats": {"AUC mean": ".4f", "AUC std": ".4f",
                                                "per seed": ".3f", "fit wall time (s)": ".1f"}},
                     tp],
        "data": {"concentration_index_auc": ci_auc,
                 "held_out_point_source_fraction": float(y_test.mean())},
    })


if __name__ == "__main__":
    main()

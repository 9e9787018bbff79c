"""Benchmark of ContrastiveDenoiser: denoising quality and clustering of simulated morphologies.

Protocol
--------
* Training images: ``make_galaxy_images`` at survey depth (sky sigma 1, gain 1): like real data,
  the network never sees a noiseless image; the extra noise of the two views is added on the fly.
* Held-out images ``X``: other galaxies at the same depth, with their noiseless versions ``C`` as
  truth.
* Denoising with extra noise (the protocol of the project this one started from):
  ``N = X + extra noise`` (sky sigma ``--extra-sigma``, gain ``--extra-gain``, the noise model
  the estimator trains with, its scaled-unit settings chosen so that this level lies inside the range it draws from); foreground SSIM of ``denoise(N)`` vs ``X``
  (and of ``N`` vs ``X``).
* Denoising against the truth: ``denoise(X)`` vs ``C``: foreground SSIM, and the background
  residual noise, std of (image - C) over background pixels, of the input over that of the output.
* Foreground SSIM: pytorch-msssim's SSIM of the masked images (foreground = band-mean of the
  noiseless image above 2% of the band's scale, dilated by one pixel; data range = the reference
  image's max - min).
* Representation: embeddings (``transform``) of the held-out noisy images → HDBSCAN (sklearn) and
  k-means (k = 8 as in that project, k = 5 = the number of true classes); silhouette (Euclidean, on
  standardised embeddings; HDBSCAN noise points excluded), DBCV (hdbscan.validity.validity_index,
  HDBSCAN noise excluded as the index does), ARI vs the true morphology (HDBSCAN noise counted as
  one more cluster). Linear probe: logistic regression trained on the embeddings of the training
  images, tested on the held-out images, spiral (spiral + barred_spiral) vs smooth (elliptical),
  and 5-class. Baselines: the same on PCA of the raw pixels (same dimension) and on five
  hand-made photometric features (log flux per band, two colours, log second moment of the
  light): they show how much of a probe's score needs no morphology at all.
* Figures (full mode): a UMAP map (t-SNE without umap-learn) of the held-out embeddings coloured
  by HDBSCAN cluster and by true morphology, and a grid of denoised images per HDBSCAN cluster.

Run ``python benchmarks/bench_denoiser.py --quick`` (smoke test) or without ``--quick``; results go
to ``benchmarks/results/denoiser.json`` and the ``denoiser.md`` generated from it (``--name`` to
change), the figures beside them.
"""
import time

import numpy as np
import torch

from _common import bench_parser, results_dir, write_results  # noqa: E402

from sklearn.cluster import HDBSCAN, KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import adjusted_rand_score, silhouette_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from galaxy_learn import ContrastiveDenoiser  # noqa: E402
from galaxy_learn.datasets import make_galaxy_images  # noqa: E402
from galaxy_learn.losses import foreground_mask, foreground_ssim  # noqa: E402

SPIRAL = {"spiral", "barred_spiral"}
SMOOTH = {"elliptical"}


def truth_mask(est, C):
    scale = torch.as_tensor(est.scaler_.scale_, dtype=torch.float32).view(1, -1, 1, 1)
    return foreground_mask(torch.as_tensor(C) / scale, threshold=0.0, floor=0.02, dilation=1)


def denoising_metrics(mask, X_noisy, X_clean, X_denoised):
    clean = torch.as_tensor(X_clean)
    noisy = torch.as_tensor(X_noisy)
    den = torch.as_tensor(X_denoised)
    rng_ = (clean.flatten(1).amax(1) - clean.flatten(1).amin(1)).clamp_min(1e-6)
    ssim_den = foreground_ssim(den, clean, mask, data_range=rng_).numpy()
    ssim_in = foreground_ssim(noisy, clean, mask, data_range=rng_).numpy()
    full = torch.ones_like(mask)
    ssim_full_den = foreground_ssim(den, clean, full, data_range=rng_).numpy()
    ssim_full_in = foreground_ssim(noisy, clean, full, data_range=rng_).numpy()
    bg = (1 - mask).expand_as(clean).bool()
    res_in = float((noisy - clean)[bg].std())
    res_den = float((den - clean)[bg].std())
    fg = mask.expand_as(clean).bool()
    fg_in = float((noisy - clean)[fg].std())
    fg_den = float((den - clean)[fg].std())
    return {
        "foreground SSIM, denoised vs clean": float(ssim_den.mean()),
        "foreground SSIM, noisy input vs clean": float(ssim_in.mean()),
        "whole-image SSIM, denoised vs clean": float(ssim_full_den.mean()),
        "whole-image SSIM, noisy input vs clean": float(ssim_full_in.mean()),
        "background residual std, input": res_in,
        "background residual std, denoised": res_den,
        "background noise reduction (input / denoised)": res_in / max(res_den, 1e-12),
        "foreground residual std, input": fg_in,
        "foreground residual std, denoised": fg_den,
        "foreground fraction of pixels": float(mask.mean()),
    }


def clustering_metrics(Z, y, seed):
    Zs = StandardScaler().fit_transform(Z)
    out = {}
    hdb = HDBSCAN(min_cluster_size=max(10, len(Z) // 50), copy=True).fit(Zs)
    lab = hdb.labels_
    keep = lab >= 0
    n_clusters = len(set(lab[keep]))
    sil = silhouette_score(Zs[keep], lab[keep]) if n_clusters >= 2 else float("nan")
    try:
        from hdbscan.validity import validity_index

        dbcv = validity_index(Zs.astype(np.float64), lab) if n_clusters >= 2 else float("nan")
    except ImportError:
        dbcv = float("nan")
    out["HDBSCAN"] = dict(n_clusters=n_clusters, noise_fraction=float(1 - keep.mean()),
                          silhouette=sil, dbcv=float(dbcv), ari=adjusted_rand_score(y, lab),
                          ari_non_noise=adjusted_rand_score(y[keep], lab[keep]) if keep.any()
                          else float("nan"))
    for k in (8, 5):
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(Zs)
        out[f"k-means k={k}"] = dict(n_clusters=k, noise_fraction=0.0,
                                      silhouette=silhouette_score(Zs, km.labels_),
                                      dbcv=float("nan"), ari=adjusted_rand_score(y, km.labels_),
                                      ari_non_noise=float("nan"))
    return out, lab


def linear_probe(Z_train, y_train, Z_test, y_test):
    def binary(Z, y):
        sel = np.isin(y, list(SPIRAL | SMOOTH))
        return Z[sel], np.isin(y[sel], list(SPIRAL)).astype(int)

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    a, b = binary(Z_train, y_train)
    c, d = binary(Z_test, y_test)
    acc_bin = clf.fit(a, b).score(c, d)
    acc_5 = clf.fit(Z_train, y_train).score(Z_test, y_test)
    return acc_bin, acc_5, len(d)


def photometric_features(X):
    """log flux per band, colours (log flux ratios to the first band), log second moment."""
    pos = np.clip(X, 0, None)
    log_flux = np.log(pos.sum(axis=(2, 3)) + 1.0)
    size = X.shape[-1]
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    light = pos.mean(axis=1)
    r2 = (light * (xx**2 + yy**2)).sum(axis=(1, 2)) / np.maximum(light.sum(axis=(1, 2)), 1e-9)
    return np.c_[log_flux, log_flux[:, :1] - log_flux[:, 1:], np.log(np.maximum(r2, 1e-9))]


def save_figures(out, Z_te, labels, y_te, D_te, seed):
    """UMAP (t-SNE fallback) map of the embeddings and a denoised-image grid per cluster."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from galaxy_learn.plotting import ImageGridDisplay, LatentSpaceDisplay
    from galaxy_learn.plotting._manifold import embed_2d

    Z2, used = embed_2d(StandardScaler().fit_transform(Z_te), random_state=seed)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    names = {-1: "noise"}
    LatentSpaceDisplay(Z2, labels, name="HDBSCAN clusters").plot(ax=axes[0], labels=names)
    LatentSpaceDisplay(Z2, y_te, name="true morphology").plot(ax=axes[1])
    for ax in axes:
        ax.set_xlabel(f"{'UMAP' if used == 'umap' else 't-SNE'} 1")
        ax.set_ylabel(f"{'UMAP' if used == 'umap' else 't-SNE'} 2")
    fig.tight_layout()
    map_path = out.with_name(f"{out.stem}_{used}.png")
    fig.savefig(map_path, dpi=90)
    plt.close(fig)
    keep = labels >= 0
    grouping = "HDBSCAN"
    if not keep.any():  # HDBSCAN found no cluster: show the k-means (k = 5) clusters instead
        labels = KMeans(n_clusters=5, n_init=10, random_state=seed).fit_predict(
            StandardScaler().fit_transform(Z_te))
        keep = np.ones(len(labels), dtype=bool)
        grouping = "k-means (k=5; HDBSCAN found no cluster)"
    grid = ImageGridDisplay.from_predictions(D_te[keep], labels[keep], n_per_group=10,
                                             random_state=seed, rgb_bands=(2, 1, 0))
    grid_path = out.with_name(f"{out.stem}_clusters.png")
    grid.figure_.savefig(grid_path, dpi=80)
    plt.close(grid.figure_)
    return map_path, grid_path, used, grouping


def main(argv=None):
    p = bench_parser(__doc__.splitlines()[0])
    p.set_defaults(device="cpu")
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--bands", default="gri")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--base-channels", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--extra-sigma", type=float, default=2.0)
    p.add_argument("--extra-gain", type=float, default=0.5)
    p.add_argument("--dark-weight", type=float, default=10.0)
    p.add_argument("--contrastive-weight", type=float, default=0.3)
    p.add_argument("--temperature", type=float, default=0.5)
    p.add_argument("--brightness-range", type=float, default=3.0)
    p.add_argument("--no-figures", action="store_true", help="skip the UMAP map and image grid")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="denoiser", help="record name under results/")
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.image_size, args.epochs = 128, 96, 32, 1
    torch.set_num_threads(args.threads)
    t0 = time.time()
    X_tr, y_tr, _ = make_galaxy_images(args.n_train, image_size=args.image_size, bands=args.bands,
                                       noise=1.0, gain=1.0, random_state=args.seed)
    X_te, y_te, truth_te, C_te = make_galaxy_images(
        args.n_test, image_size=args.image_size, bands=args.bands, noise=1.0, gain=1.0,
        return_clean=True, random_state=args.seed + 1)
    # Extra noise of that protocol, in input units, and the estimator's training noise in its
    # scaled units (ImageScaler minmax scale, learnt on the same training images) chosen so that
    # the extra noise is a mid-range level of the levels (0.25-1 x) it trains with.
    from galaxy_learn.preprocessing import ImageScaler

    scale = float(np.median(ImageScaler(method="minmax").fit(X_tr).scale_))
    noise_sigma = 1.5 * args.extra_sigma / scale
    noise_gain = 0.6 * args.extra_gain * scale
    gen = np.random.default_rng(args.seed + 2)
    N_te = (X_te + gen.poisson(np.clip(X_te, 0, None) * args.extra_gain) / args.extra_gain
            - np.clip(X_te, 0, None) + gen.normal(0, args.extra_sigma, X_te.shape))
    N_te = N_te.astype(np.float32)
    est = ContrastiveDenoiser(
        args.base_channels, depth=3, embedding_dim=64, projection_dim=32,
        noise_sigma=noise_sigma, noise_gain=noise_gain, max_epochs=args.epochs,
        contrastive_weight=args.contrastive_weight, temperature=args.temperature, lr=args.lr,
        batch_size=args.batch_size, device=args.device, random_state=args.seed,
        dark_weight=args.dark_weight, brightness_range=args.brightness_range,
        verbose=0,
    )
    t_fit = time.time()
    est.fit(X_tr)
    t_fit = time.time() - t_fit
    t_inf = time.time()
    D_te = est.denoise(X_te)
    DN_te = est.denoise(N_te)
    Z_te = est.transform(X_te)
    Z_tr = est.transform(X_tr)
    t_inf = time.time() - t_inf
    mask = truth_mask(est, C_te)
    den = denoising_metrics(mask, X_te, C_te, D_te)
    seed_proto = denoising_metrics(mask, N_te, X_te, DN_te)
    clus, hdb_labels = clustering_metrics(Z_te, y_te, args.seed)
    acc_bin, acc_5, n_bin = linear_probe(Z_tr, y_tr, Z_te, y_te)
    # The other representations of the same fitted network (transform reads `embedding`).
    other_probes = {}
    for rep in ("multiscale", "head"):
        est.set_params(embedding=rep)
        Zr_tr, Zr_te = est.transform(X_tr), est.transform(X_te)
        ari_km5 = clustering_metrics(Zr_te, y_te, args.seed)[0]["k-means k=5"]["ari"]
        other_probes[rep] = linear_probe(Zr_tr, y_tr, Zr_te, y_te)[:2] + (ari_km5, Zr_te.shape[1])
    est.set_params(embedding="bottleneck")
    # Baseline: PCA of the raw pixels with the same dimension.
    pca = make_pipeline(StandardScaler(), PCA(64, random_state=args.seed))
    P_tr = pca.fit_transform(X_tr.reshape(len(X_tr), -1))
    P_te = pca.transform(X_te.reshape(len(X_te), -1))
    clus_pca, _ = clustering_metrics(P_te, y_te, args.seed)
    pca_bin, pca_5, _ = linear_probe(P_tr, y_tr, P_te, y_te)
    phot_bin, phot_5, _ = linear_probe(photometric_features(X_tr), y_tr,
                                       photometric_features(X_te), y_te)
    figures = None
    if not (args.quick or args.no_figures):
        try:  # a failing figure must not lose the measured tables
            figures = save_figures(results_dir(args.quick) / f"{args.name}.md", Z_te,
                                   hdb_labels, y_te, D_te, args.seed)
        except Exception as exc:  # noqa: BLE001
            figures = exc
    hist = est.history_
    classes = {str(k): int(v) for k, v in zip(*np.unique(y_te, return_counts=True))}
    notes = (
        f"Data: make_galaxy_images, {args.image_size}x{args.image_size}, bands `{args.bands}`; "
        f"train {args.n_train} images at sky sigma 1, gain 1 (seed {args.seed}); held-out "
        f"{args.n_test} images at the same depth (seed {args.seed + 1}), classes {classes}. "
        f"Estimator: ContrastiveDenoiser(base_channels={args.base_channels}, depth=3, "
        f"embedding_dim=64, projection_dim=32, max_epochs={args.epochs}, "
        f"batch_size={args.batch_size}, noise_sigma={noise_sigma:.4f}, "
        f"noise_gain={noise_gain:.2f}, dark_weight={args.dark_weight}, "
        f"contrastive_weight={args.contrastive_weight}, temperature={args.temperature}, "
        f"brightness_range={args.brightness_range}, lr={args.lr}, other parameters default), "
        f"device `{args.device}`, {args.threads} torch thread(s). Fit time {t_fit:.0f} s; "
        f"denoise + transform of {args.n_test + args.n_train} images {t_inf:.0f} s; whole script "
        f"{time.time() - t0:.0f} s. Final epoch losses: total {hist[-1, 'train_loss']:.4f}, ssim "
        f"{hist[-1, 'ssim_loss']:.4f}, l1 {hist[-1, 'l1_loss']:.4f}, tv "
        f"{hist[-1, 'tv_loss']:.4f}, dark {hist[-1, 'dark_loss']:.5f}, NT-Xent "
        f"{hist[-1, 'contrastive_loss']:.4f} (first epoch total {hist[0, 'train_loss']:.4f}).")
    sections = [{
        "heading": "Denoising with extra noise (held-out X + extra noise N; "
                   "denoise(N) vs X)",
        "text": f"Extra noise: sky sigma {args.extra_sigma}, gain {args.extra_gain} (input "
                "units).",
        "rows": [{"metric": k.replace("clean", "X"), "value": seed_proto[k]}
                 for k in ("foreground SSIM, denoised vs clean",
                           "foreground SSIM, noisy input vs clean",
                           "whole-image SSIM, denoised vs clean",
                           "whole-image SSIM, noisy input vs clean")]}]
    targets = {"foreground SSIM, denoised vs clean": ">= 0.96",
               "background noise reduction (input / denoised)": ">= 5"}
    sections.append({
        "heading": "Denoising against the truth (held-out X; denoise(X) vs noiseless C)",
        "rows": [{"metric": k, "value": v, "target": targets.get(k, "")} for k, v in den.items()]})
    clus_rows = []
    for name, res in (("ContrastiveDenoiser", clus), ("PCA-64 of pixels (baseline)", clus_pca)):
        for method, r in res.items():
            clus_rows.append({"embedding": name, "method": method, "clusters": r["n_clusters"],
                              "noise frac.": r["noise_fraction"],
                              "silhouette": float(r["silhouette"]), "DBCV": r["dbcv"],
                              "ARI": float(r["ari"]), "ARI non-noise": float(r["ari_non_noise"])})
    sections.append({
        "heading": "Clustering of the held-out embeddings",
        "text": "Silhouette on standardised embeddings; for HDBSCAN noise points are excluded "
                "from the silhouette and from DBCV (hdbscan.validity.validity_index); ARI counts "
                "HDBSCAN noise as one more cluster (`ARI non-noise`: noise points dropped).",
        "rows": clus_rows})
    probe = [{"embedding": f"ContrastiveDenoiser (bottleneck, {Z_te.shape[1]} values: the "
                           "default)", "spiral vs smooth accuracy": acc_bin,
              "5-class accuracy": acc_5, "n_test (spiral vs smooth)": n_bin,
              "target": ">= 0.90 (spiral vs smooth)"}]
    for rep, (b, c5, ari_km5, dim) in other_probes.items():
        probe.append({"embedding": f"ContrastiveDenoiser, embedding=\"{rep}\" ({dim} values; "
                                   f"k-means k=5 ARI {ari_km5:.3f})",
                      "spiral vs smooth accuracy": b, "5-class accuracy": c5})
    probe += [{"embedding": "PCA-64 of pixels (baseline)", "spiral vs smooth accuracy": pca_bin,
               "5-class accuracy": pca_5},
              {"embedding": "5 photometric features: log fluxes, colours, size (baseline)",
               "spiral vs smooth accuracy": phot_bin, "5-class accuracy": phot_5}]
    sections.append({
        "heading": "Linear probe (logistic regression on frozen embeddings: train images → "
                   "held-out)",
        "rows": probe,
        "columns": ["embedding", "spiral vs smooth accuracy", "5-class accuracy", "target"]})
    if isinstance(figures, Exception):
        sections.append({"heading": "Figures", "text": f"Not drawn: {figures!r}"})
    elif figures is not None:
        map_path, grid_path, used, grouping = figures
        sections.append({"heading": "Figures", "text": (
            f"- `{map_path.name}`: {'UMAP' if used == 'umap' else 't-SNE (umap-learn missing)'} "
            "map of the standardised held-out embeddings, coloured by HDBSCAN cluster and by "
            f"true morphology.\n- `{grid_path.name}`: ten denoised held-out images per "
            f"{grouping} cluster.")})
    write_results(args.name, {
        "title": "ContrastiveDenoiser benchmark",
        "quick": args.quick,
        "settings": {k: v for k, v in vars(args).items() if k != "quick"},
        "notes": notes,
        "sections": sections,
        "data": {"fit_seconds": t_fit, "inference_seconds": t_inf, "noise_sigma": noise_sigma,
                 "noise_gain": noise_gain, "classes": classes},
    })
    return est


if __name__ == "__main__":
    main()

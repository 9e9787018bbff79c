"""Seed scans of VAEEncoder settings behind the studies of the user guide page "The VAE and its
priors" (docs/user_guide/priors.rst; exploration tool).

Usage::

    python benchmarks/_scan_vae.py N_TRAIN N_TEST 0 N_JOBS variants.json [device]

``variants.json`` maps a tag to VAEEncoder keyword arguments plus ``"seeds": [...]``, e.g.
``{"kl0.03": {"kl_weight": 0.03, "seeds": [0, 1, 2]}}`` (``per_band`` / ``crop`` / ``method``
build an ``ImageScaler`` for ``scaling``; ``"psf": true`` passes the simulator's PSF FWHM per
cutout and band as ``psf_fwhm``; ``"cosine": true`` adds a cosine learning-rate schedule;
``"redraw": true`` draws the dimming afresh at every epoch; ``"bands": [1, 2, 3]`` keeps g, r, i). Prints one JSON line per fit: the orientation-free AUC
of ``Isomap(n_components=1)`` on the held-out codes (``iso5``), its Spearman correlation with r
magnitude, the AUC with 15 neighbours on a 4,000-code subset, and a supervised LDA on the codes
(overall and per r bin). Codes are saved to ``$OUT`` (default /tmp); every fit's figures go to
``results/scan_vae_<variants file name>.json`` and the table generated from it
(``_common.write_results``).
"""
import json, os, sys, time
from pathlib import Path
import numpy as np
import torch
from joblib import Parallel, delayed

from _common import write_results


def data(ntr, nte, seed=0):
    from galaxy_learn.datasets import make_star_galaxy_cutouts
    Xtr, _, ttr = make_star_galaxy_cutouts(ntr, random_state=seed)
    Xte, _, tte = make_star_galaxy_cutouts(nte, random_state=seed + 1000)
    fw = lambda t: np.c_[[np.asarray(t[f"psf_fwhm_{c}"]) for c in "ugriz"]].T.astype(np.float32)
    return (Xtr, np.asarray(ttr.point_source), Xte, np.asarray(tte.point_source),
            np.asarray(tte.mag_r), fw(ttr), fw(tte))

BINS = [(16, 19), (19, 20), (20, 21), (21, 22.5)]


def auc_by_bin(y, score, mag):
    """Orientation-free AUC of ``score`` in each r-magnitude bin of ``BINS``."""
    from galaxy_learn.metrics import unsupervised_roc_auc as uauc
    return [round(uauc(y[(mag >= a) & (mag < b)], score[(mag >= a) & (mag < b)]), 3) for a, b in BINS]


def job(tag, kw, seed, paths, device):
    torch.set_num_threads(1)
    import warnings; warnings.filterwarnings("ignore")
    from sklearn.manifold import Isomap
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA
    from galaxy_learn import VAEEncoder
    from galaxy_learn.metrics import unsupervised_roc_auc as uauc
    Xtr, ytr, Xte, yte, mag, ftr, fte = (np.load(p, mmap_mode="r") for p in paths)
    bands = kw.pop("bands", None)  # a subset of the bands, e.g. [1, 2, 3] for g, r, i
    if bands is not None:
        Xtr, Xte, ftr, fte = Xtr[:, bands], Xte[:, bands], ftr[:, bands], fte[:, bands]
    psf = kw.pop("psf", False)  # pass the truth PSF FWHM per cutout and band (psf_fwhm=)
    ptr, pte = ({"psf_fwhm": np.asarray(ftr)}, {"psf_fwhm": np.asarray(fte)}) if psf else ({}, {})
    t0 = time.time()
    if "per_band" in kw and "crop" not in kw:
        kw["crop"] = 32
    if "crop" in kw:
        from galaxy_learn.preprocessing import ImageScaler
        kw["scaling"] = ImageScaler(method=kw.pop("method", "peak_asinh"), crop=kw.pop("crop"), per_band=kw.pop("per_band", False))
    if kw.pop("cosine", False):
        from skorch.callbacks import LRScheduler
        kw["callbacks"] = [LRScheduler("CosineAnnealingLR", T_max=kw.get("max_epochs", 15))]
    redraw = kw.pop("redraw", False)
    if redraw:  # experiment: fresh dimming draw at each epoch (x_in overwritten in place)
        from skorch.callbacks import Callback
        from galaxy_learn.encoders._vae_inputs import _dimmed
        from galaxy_learn.utils import iter_chunks

        class Redraw(Callback):
            def on_epoch_begin(self, net, dataset_train=None, **kw_):
                epoch = len(net.history)
                if epoch <= 1:
                    return
                rng = np.random.default_rng([seed, epoch])
                x_in = dataset_train.X["x_in"]
                for i0, chunk in iter_chunks(Xtr, 1024):
                    x_in[i0:i0 + len(chunk)] = enc._scale(_dimmed(chunk, enc.sky_sigma_, enc.dimming, rng))
        kw["callbacks"] = list(kw.get("callbacks", [])) + [Redraw()]
    enc = VAEEncoder(prior=kw.pop("prior", "dkl"), random_state=seed, device=device, **kw)
    enc.fit(Xtr, **ptr)
    fit_s = time.time() - t0
    Ztr, Zte = enc.transform(Xtr, **ptr), enc.transform(Xte, **pte)
    out = {"tag": tag, "seed": seed, "fit_s": round(fit_s, 1),
           "train_loss": float(enc.net_.history[-1, "train_loss"]), "score_te": enc.score(Xte, **pte)}
    iso2 = Isomap(n_components=min(2, Ztr.shape[1])).fit(Ztr)
    np.savez(Path(os.environ.get("OUT", "/tmp")) / f"codes_{tag}_{seed}.npz", Ztr=Ztr, Zte=Zte,
             Itr=iso2.embedding_, Ite=iso2.transform(Zte))
    coord = Isomap(n_components=1).fit(Ztr).transform(Zte)[:, 0]
    out["iso5"] = uauc(yte, coord)
    from scipy.stats import spearmanr
    out["rho_iso_mag"] = float(spearmanr(coord, mag)[0])
    sub = np.random.default_rng(0).choice(len(Ztr), min(4000, len(Ztr)), replace=False)
    out["iso15s"] = uauc(yte, Isomap(n_components=1, n_neighbors=15).fit(Ztr[sub]).transform(Zte)[:, 0])
    s = LDA().fit(Ztr, ytr).decision_function(Zte)
    out["lda"] = uauc(yte, s)
    out["lda_bins"] = auc_by_bin(yte, s, mag)
    out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}
    print(json.dumps(out), flush=True)
    return out

if __name__ == "__main__":
    ntr, nte, seeds, n_jobs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    variants = json.loads(Path(sys.argv[5]).read_text())
    device = sys.argv[6] if len(sys.argv) > 6 else "auto"
    out = Path(os.environ.get("OUT", "/tmp"))
    from galaxy_learn.photometry import concentration_index
    from galaxy_learn.metrics import unsupervised_roc_auc as uauc
    from galaxy_learn.preprocessing import psf_rescale
    arrays = data(ntr, nte)
    Xtr, ytr, Xte, yte, mag, ftr, fte = arrays
    index_rows = []
    for name, ci in [("CI", concentration_index(Xte)),  # and on cutouts resampled to one PSF width
                     ("CI_psf", concentration_index(psf_rescale(Xte, fte, np.median(ftr, axis=0))))]:
        index_rows.append({"tag": name, "auc": round(uauc(yte, ci), 4), "bins": auc_by_bin(yte, ci, mag)})
        print(json.dumps(index_rows[-1]), flush=True)
    paths = []
    for name, arr in zip(["Xtr", "ytr", "Xte", "yte", "mag", "ftr", "fte"], arrays):
        p = f"/tmp/scan_{name}.npy"; np.save(p, arr); paths.append(p)
    jobs = [(tag, dict(kw), s) for tag, kw in variants.items() for s in kw.pop("seeds")]
    res = Parallel(n_jobs=n_jobs)(delayed(job)(tag, kw, s, paths, device) for tag, kw, s in jobs)
    (out / "scan.json").write_text(json.dumps(res))
    cols = ["tag", "seed", "iso5", "rho_iso_mag", "iso15s", "lda", "lda_bins", "fit_s"]
    write_results(f"scan_vae_{Path(sys.argv[5]).stem}", {
        "title": f"VAEEncoder seed scan: {Path(sys.argv[5]).name}",
        "settings": {"n_train": ntr, "n_test": nte, "n_jobs": n_jobs, "device": device},
        "notes": "Orientation-free AUC of Isomap(n_components=1) on the held-out codes (`iso5`), "
                 "its Spearman correlation with r (`rho_iso_mag`), Isomap with 15 neighbours on "
                 "4,000 codes (`iso15s`), supervised LDA on the codes (`lda`, and per r bin "
                 f"{BINS}).",
        "sections": [{"heading": "Concentration index (raw, and PSF-matched cutouts)",
                      "rows": index_rows},
                     {"heading": "Fits", "rows": res, "columns": cols,
                      "formats": {"iso5": ".4f", "rho_iso_mag": "+.3f", "iso15s": ".4f",
                                  "lda": ".4f"}}],
        "data": {"variants": json.loads(Path(sys.argv[5]).read_text())},
    })

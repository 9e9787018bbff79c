"""Peak resident memory while transforming a survey-sized memory-mapped cutout array.

A ``(n, 5, 64, 64)`` float32 array is written to a ``.npy`` file on disk (100,000 cutouts = 8.2 GB
in full mode, 5,000 in ``--quick``), opened with ``np.load(mmap_mode="r")``, and transformed by a
torch-owning galaxy_learn estimator fitted on a small in-memory sample. We record the peak RSS of
the transform phase alone (the kernel's high-water mark reset through /proc/self/clear_refs
before it starts), split into anonymous and file-backed memory, the throughput, and whether the
output equals an in-memory transform of the same rows. Target: peak RSS < 2 GB.

The cutouts are 1,000 (``--quick``: 256) simulated ones tiled with extra noise drawn from a bank of 512 noise fields
(simulating 100,000 distinct cutouts would take many minutes and does not change memory behaviour).
"""
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _common import bench_parser, write_results

GIB = 2**30


def _status():
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _write_memmap(path, n, seed, *, n_base, chunk=2000):
    from galaxy_learn.datasets import make_star_galaxy_cutouts

    base, _, _ = make_star_galaxy_cutouts(min(n, n_base), random_state=seed)
    base = np.asarray(base, dtype=np.float32)
    rng = np.random.default_rng(seed)
    sigma = float(np.median(np.abs(base - np.median(base)))) or 1.0
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n,) + base.shape[1:])
    # Extra noise from a bank of 512 fields (drawing 2e9 fresh normals took minutes).
    bank = rng.normal(0, 0.1 * sigma, (512,) + base.shape[1:]).astype(np.float32)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        idx = rng.integers(0, len(base), stop - start)
        mm[start:stop] = base[idx] + bank[rng.integers(0, len(bank), stop - start)]
    mm.flush()
    del mm
    gc.collect()
    return base


def _estimator(device, quick):
    from galaxy_learn import VAEEncoder

    return VAEEncoder(max_epochs=1 if quick else 2, batch_size=256, device=device, random_state=0)


def main(argv=None):
    args = bench_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    torch.set_num_threads(1)
    n = 5_000 if args.quick else 100_000
    n_fit = 256 if args.quick else 1_000
    folder = Path(os.environ.get("GALAXY_LEARN_MEMMAP_DIR", tempfile.gettempdir()))
    path = folder / f"galaxy_learn_bench_memmap_{n}.npy"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    need = n * 5 * 64 * 64 * 4
    if free < need * 1.1 and not path.exists():
        msg = f"{folder} has {free / GIB:.1f} GiB free; {need / GIB:.1f} GiB needed."
        raise SystemExit(msg)
    t0 = time.perf_counter()
    base = _write_memmap(path, n, seed=0, n_base=n_fit)
    write_s = time.perf_counter() - t0
    try:
        est = _estimator(args.device, args.quick)
        t0 = time.perf_counter()
        est.fit(base[:n_fit])
        fit_s = time.perf_counter() - t0
        X = np.load(path, mmap_mode="r")
        head = np.array(X[:512])
        expected = est.transform(head)
        del head
        gc.collect()
        before = _status()
        reset = _reset_peak()
        t0 = time.perf_counter()
        Z = est.transform(X)
        transform_s = time.perf_counter() - t0
        after = _status()
        same = bool(np.allclose(Z[:512], expected, rtol=1e-5, atol=1e-6))
        del X
    finally:
        path.unlink(missing_ok=True)
    peak = after["VmHWM"] if reset else float("nan")
    rows = [
        ("cutouts transformed", f"{n:,} x 5 x 64 x 64 float32 ({need / GIB:.2f} GiB on disk)"),
        ("estimator", f"`{est!r}` fitted on {n_fit} cutouts in {fit_s:.1f} s"),
        ("peak RSS during transform", f"**{peak / GIB:.2f} GiB**" + ("" if reset else
                                      " (could not reset the high-water mark)")),
        ("RSS before / after (anonymous, file-backed)",
         f"{before['VmRSS'] / GIB:.2f} / {after['VmRSS'] / GIB:.2f} GiB "
         f"({after['RssAnon'] / GIB:.2f}, {after['RssFile'] / GIB:.2f})"),
        ("output", f"{Z.shape} {Z.dtype}, {Z.nbytes / 2**20:.1f} MiB"),
        ("transform time / throughput", f"{transform_s:.1f} s / {n / transform_s:,.0f} cutouts/s"),
        ("memmap rows equal an in-memory transform", str(same)),
        ("target: peak RSS < 2 GiB", "met" if peak < 2 * GIB else "NOT met"),
        ("writing the memmap", f"{write_s:.1f} s"),
    ]
    write_results("memmap", {
        "title": "Larger than memory: transforming a memory-mapped survey",
        "quick": args.quick,
        "settings": {"n": n, "n_fit": n_fit, "device": args.device, "torch_threads": 1},
        "sections": [{"rows": [{"quantity": k, "value": v} for k, v in rows]}],
        "data": {"n": n, "n_fit": n_fit, "disk_gib": need / GIB, "fit_seconds": fit_s,
                 "peak_rss_gib": peak / GIB if reset else None,
                 "rss_before_gib": before["VmRSS"] / GIB, "rss_after_gib": after["VmRSS"] / GIB,
                 "rss_anon_gib": after["RssAnon"] / GIB, "rss_file_gib": after["RssFile"] / GIB,
                 "transform_seconds": transform_s, "cutouts_per_second": n / transform_s,
                 "equal_in_memory": same, "write_seconds": write_s},
    })
    return 0 if peak < 2 * GIB else 1


if __name__ == "__main__":
    sys.exit(main())

"""Time to load a directory of SDSS seed-format .npy files (eager and lazy).

Writes ``benchmarks/results/loaders.md``. Full mode: 20,000 files in the labeled seed format
(structured records ``objID, image (5, 64, 64) float32, class, z``); ``--objects-per-file``
controls how many records each file holds (the seeds' labeled set has 1-7, 7 on average; the
unlabeled set 1). Quick mode: 1,000 files.

    python benchmarks/bench_loaders.py --quick
    python benchmarks/bench_loaders.py --n-files 20000
"""
import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from galaxy_learn.datasets import load_sdss_npy  # noqa: E402

DTYPE = [("objID", "<i8"), ("image", "<f4", (5, 64, 64)), ("class", "<U6"), ("z", "<f8")]


def write_files(directory, n_files, objects_per_file, seed=0):
    rng = np.random.default_rng(seed)
    classes = np.array(["STAR", "GALAXY", "QSO"])
    for k in range(n_files):
        rec = np.zeros(objects_per_file, dtype=DTYPE)
        rec["objID"] = 1237648720693755918 + k * objects_per_file + np.arange(objects_per_file)
        rec["image"] = rng.normal(0, 0.05, size=(objects_per_file, 5, 64, 64))
        rec["class"] = classes[rng.integers(0, 3, objects_per_file)]
        rec["z"] = rng.uniform(0, 0.5, objects_per_file)
        np.save(directory / f"{k:06d}.npy", rec)


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return min(times), times


def fmt_load(load):
    return "/".join(f"{v:.1f}" for v in load)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 files (smoke test)")
    parser.add_argument("--n-files", type=int, default=20000)
    parser.add_argument("--objects-per-file", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--n-jobs", type=int, nargs="*", default=[1, None])
    parser.add_argument("--device", default="cpu", help="unused (I/O only); CLI parity")
    parser.add_argument("--workdir", default=None, help="where to write the files (default tmp)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "loaders.md"))
    args = parser.parse_args()
    n_files = 1000 if args.quick else args.n_files

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench_loaders_", dir=args.workdir))
    data, cache = work / "data", work / "cache"
    data.mkdir()
    try:
        t0 = time.perf_counter()
        write_files(data, n_files, args.objects_per_file)
        t_write = time.perf_counter() - t0
        n_obj = n_files * args.objects_per_file
        size_gb = sum(f.stat().st_size for f in data.iterdir()) / 1e9
        rows = []

        def naive():
            recs = [np.load(f) for f in sorted(data.iterdir())]
            return np.concatenate([r["image"] for r in recs]).astype(np.float32)

        best, times = timed(naive, 1)
        rows.append(("baseline: np.load loop + np.concatenate (not galaxy_learn)", 1, best, times))
        for n_jobs in args.n_jobs:
            best, times = timed(lambda: load_sdss_npy(data, n_jobs=n_jobs), args.repeat)  # noqa: B023
            rows.append(("eager", n_jobs, best, times))
        for n_jobs in args.n_jobs:
            shutil.rmtree(cache, ignore_errors=True)
            t0 = time.perf_counter()
            X, y, meta = load_sdss_npy(data, lazy=True, cache_dir=cache, n_jobs=n_jobs)
            first = time.perf_counter() - t0
            del X, y, meta
            rows.append(("lazy, first call (builds memmap cache)", n_jobs, first, [first]))
        best, times = timed(lambda: load_sdss_npy(data, lazy=True, cache_dir=cache), args.repeat)
        rows.append(("lazy, cached (memmap reopened)", "-", best, times))
        X, _, _ = load_sdss_npy(data, lazy=True, cache_dir=cache)
        t0 = time.perf_counter()
        for start in range(0, len(X), 256):
            np.asarray(X[start : start + 256]).sum()
        t_iter = time.perf_counter() - t0
        del X
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lines = [
        "# Loaders benchmark: SDSS seed-format .npy directory",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores "
        "visible, shared with other jobs (contended: timings are indicative); no GPU involved.",
        f"- Load average (1/5/15 min) at start {fmt_load(load_before)}, at end "
        f"{fmt_load(os.getloadavg())} on {os.cpu_count()} cores.",
        f"- numpy {np.__version__}, Python {platform.python_version()}",
        f"- Settings: {n_files} files x {args.objects_per_file} record(s) "
        f"= {n_obj} images (5x64x64 float32), {size_gb:.2f} GB on disk; "
        f"{'quick' if args.quick else 'full'} mode; best of {args.repeat} where repeated.",
        f"- Files were just written (writing took {t_write:.1f} s), so they are in the OS page "
        "cache: these are warm-cache read times, not cold-disk times.",
        "",
        "| mode | n_jobs (threads) | time (s) | images / s | all runs (s) |",
        "|---|---|---|---|---|",
    ]
    for mode, n_jobs, best, times in rows:
        jobs = "default (min(4, cores))" if n_jobs is None else n_jobs
        runs = ", ".join(f"{t:.2f}" for t in times)
        lines.append(f"| {mode} | {jobs} | {best:.2f} | {n_obj / best:,.0f} | {runs} |")
    lines += [
        "",
        f"Iterating over the lazy memmap in batches of 256 and summing: {t_iter:.2f} s.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.quick or not Path(args.out).exists():
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()

"""Time to load a directory of SDSS seed-format .npy files (eager and lazy).

Writes ``benchmarks/results/loaders.json`` and the ``loaders.md`` table generated from it. Full mode: 20,000 files in the labeled seed format
(structured records ``objID, image (5, 64, 64) float32, class, z``); ``--objects-per-file``
controls how many records each file holds (Sun et al. 2017's labeled set has 1-7, 7 on average; the
unlabeled set 1). Quick mode: 1,000 files.

    python benchmarks/bench_loaders.py --quick
    python benchmarks/bench_loaders.py --n-files 20000
"""
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import bench_parser, write_results

from galaxy_learn.datasets import load_sdss_npy

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


def main():
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--n-files", type=int, default=20000)
    parser.add_argument("--objects-per-file", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--n-jobs", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--workdir", default=None, help="where to write the files (default tmp)")
    args = parser.parse_args()
    n_files = 1000 if args.quick else args.n_files

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

    table = [{"mode": mode,
              "n_jobs (threads)": "None (default: 1)" if n_jobs is None else n_jobs,
              "time (s)": best, "images / s": n_obj / best, "all runs (s)": times}
             for mode, n_jobs, best, times in rows]
    write_results("loaders", {
        "title": "Loaders benchmark: SDSS seed-format .npy directory",
        "quick": args.quick,
        "settings": {"n_files": n_files, "objects_per_file": args.objects_per_file,
                     "repeat": args.repeat, "n_jobs": args.n_jobs},
        "sections": [{
            "text": f"{n_files} files x {args.objects_per_file} record(s) = {n_obj} images "
                    f"(5x64x64 float32), {size_gb:.2f} GB on disk; best of {args.repeat} where "
                    f"repeated. The files were just written (in {t_write:.1f} s), so they are in "
                    "the OS page cache: warm-cache read times, not cold-disk times.",
            "rows": table,
            "formats": {"time (s)": ".2f", "images / s": ",.0f", "all runs (s)": ".2f"},
            "after": f"Iterating over the lazy memmap in batches of 256 and summing: "
                     f"{t_iter:.2f} s."}],
        "data": {"n_images": n_obj, "gigabytes": size_gb, "write_seconds": t_write,
                 "iterate_seconds": t_iter},
    })


if __name__ == "__main__":
    main()

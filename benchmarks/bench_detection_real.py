"""Detection on real frames: HypercolumnSegmenter (default calibrated path) against SEP.

**ESO test frame** (SEP's ``data/image.fits``, 256x256, one band, and ``image.cat``, SExtractor's
catalogue of 65 sources at 1.5 sigma with the 3x3 filter, minarea 5, no deblending):

* fraction of the 65 SExtractor sources with a detection within 1.5 px (one-to-one, nearest
  first; ``X_IMAGE``/``Y_IMAGE`` are 1-based), for ours (defaults, fit + detect) and for SEP
  (``sep.Background`` + ``sep.extract(thresh=1.5, err=bkg.globalrms)``, SEP's defaults);
* number of detections and the extra detections beyond SEP's own count, ``(n - n_sep) / n_sep``;
* detections on the *inverted* frame (``-image``): a noise-only estimate of the false detections
  (noise is symmetric, sources are not), for ours and for SEP.

The frame is found with ``--sep-data DIR`` (a folder holding ``image.fits`` and ``image.cat``),
else ``$GALAXY_LEARN_SEP_DATA``, else ``~/.cache/galaxy_learn/sep-1.4.1/data`` (downloaded there
once from SEP's source distribution on PyPI, ``sep-1.4.1.tar.gz``, over HTTPS); offline, the ESO
part is skipped with a message.

**SDSS frames** (``../shared/data/sdss``, r band, HDU 0, nanomaggies, sky-subtracted):

* counts of ours and of SEP at the *matched* threshold: SEP's matched filter with the same
  normalised Gaussian kernel (sigma = our ``smoothing``) and the per-pixel RMS map as ``err``, so
  that its threshold is in noise sigmas of the filtered image as ours; ``thresh`` = our
  ``threshold``, ``minarea=1`` (ours requires a *peak* at the threshold) and ``clean=False``:
  SEP's CLEAN step does not work with its matched filter (below), so the matched reference runs
  without it; the same figures against SEP matched *with* CLEAN, and SEP's usual 1.5-sigma run
  (3x3 kernel, global RMS, CLEAN on), are shown too;
* why CLEAN is off in the matched reference, measured: the detections that CLEAN removes, how
  many of them lie below SEP's own *pixel* threshold in the filtered image (``cpeak <
  thresh``: found through the matched filter's S/N only) and how many lie inside CLEAN's zone
  (10 x (a1 + a2)) of a brighter detection. CLEAN's test (SEP's ``clean()``) compares a
  neighbour's Moffat wing with ``mthresh``, the object's filtered pixel value *minus the pixel
  threshold*, which is negative for such objects: every one of them inside a brighter object's
  zone is removed, however significant;
* overlap within 1.5 px both ways; *spurious*: our detections with no SEP counterpart at the
  matched threshold *and* no SEP 1.5-sigma source in any other band (u, g, i, z, positions
  mapped through each band's WCS) within 1.5 px; and our detections on the inverted r frame;
* on 004510-4-0030, recovery of SDSS photo's stars (calibObj ROWC/COLC of the r band; the
  half-pixel convention checked against the image);
* time: ``predict`` / ``detect`` / SEP on the r frame (best of 3) and ``fit`` + ``detect`` of the
  5-band stack of one field (2048x1489x5; the bands are not pixel-aligned: timing only), with
  a profile of where that time goes;
* the whole product on each field: ``galaxy-learn catalog FIELD -o DIR`` (5 bands aligned
  through their WCS, detection, photometry, the label-free line, catalogue, class map and
  quick-look PNG) in a fresh process: wall time, peak resident memory, objects catalogued.

Writes ``results/detection_real.json`` (every number, machine, command, commit, load) and
``results/detection_real.md`` generated from it.

Usage::

    python benchmarks/bench_detection_real.py                     # full run, writes results
    python benchmarks/bench_detection_real.py --sep-data DIR      # SEP's data/ folder given
    python benchmarks/bench_detection_real.py --render results/detection_real.json  # md only
"""
import cProfile
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (ROOT, bench_parser, machine_description, markdown_table,  # noqa: E402
                     results_path)

from galaxy_learn.metrics import detection_scores  # noqa: E402
from galaxy_learn.segmentation import HypercolumnSegmenter  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "sdss"
MATCH_PX = 1.5
SEP_SDIST = "sep-1.4.1.tar.gz"
SEP_INDEX = "https://pypi.org/simple/sep/"
CACHE = Path.home() / ".cache" / "galaxy_learn"


# ----------------------------------------------------------------------------- data
def find_sep_data(sep_data=None, *, download=True, timeout=60):
    """Folder holding SEP's ``image.fits`` and ``image.cat``, or ``(None, reason)``.

    Order: ``sep_data``, ``$GALAXY_LEARN_SEP_DATA``, the cache ``~/.cache/galaxy_learn``, then a
    download of SEP's source distribution from PyPI into that cache (``data/`` extracted).
    """
    for candidate in (sep_data, os.environ.get("GALAXY_LEARN_SEP_DATA")):
        if candidate:
            folder = Path(candidate)
            if (folder / "image.fits").is_file() and (folder / "image.cat").is_file():
                return folder, None
            return None, f"{folder} has no image.fits and image.cat"
    cached = CACHE / SEP_SDIST.replace(".tar.gz", "") / "data"
    if (cached / "image.fits").is_file() and (cached / "image.cat").is_file():
        return cached, None
    if not download:
        return None, "not cached and download disabled"
    try:
        with urllib.request.urlopen(SEP_INDEX, timeout=timeout) as r:
            index = r.read().decode("utf-8", "replace")
        links = re.findall(r'href="([^"]*' + re.escape(SEP_SDIST) + r'[^"]*)"', index)
        if not links:
            return None, f"{SEP_SDIST} not listed on {SEP_INDEX}"
        url = urllib.request.urljoin(SEP_INDEX, links[0].replace("&amp;", "&"))
        CACHE.mkdir(parents=True, exist_ok=True)
        archive = CACHE / SEP_SDIST
        with urllib.request.urlopen(url, timeout=timeout) as r:
            archive.write_bytes(r.read())
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers()
                       if m.isfile() and "/data/" in m.name and not m.name.endswith(".py")]
            tar.extractall(CACHE, members=members, filter="data")
    except (urllib.error.URLError, OSError, tarfile.TarError) as exc:
        return None, f"SEP's source distribution could not be fetched ({exc})"
    if (cached / "image.fits").is_file():
        return cached, None
    return None, f"{SEP_SDIST} has no data/image.fits"


def _frame(path, with_header=False):
    from astropy.io import fits

    with fits.open(path) as hdul:
        data = np.asarray(hdul[0].data, dtype=np.float64)
        header = hdul[0].header.copy()
    return (data, header) if with_header else data


# ----------------------------------------------------------------------------- helpers
def _gauss_kernel(sigma):
    r = int(np.ceil(3 * sigma))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    k = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    return k / k.sum()


def _sep(img, *, thresh, kernel=None, minarea=5, err="global", clean=True):
    """SEP positions: ``sep.Background`` then ``sep.extract`` (``err``: the global RMS, SEP's
    usual call, or ``"map"``, the RMS map, which makes the matched filter threshold in noise
    sigmas of the filtered image; ``clean``: SExtractor's CLEAN step, on by default)."""
    import sep

    sep.set_extract_pixstack(5_000_000)
    sep.set_sub_object_limit(4096)
    data = np.ascontiguousarray(img)
    bkg = sep.Background(data)
    kw = {} if kernel is None else {"filter_kernel": kernel}
    noise = bkg.rms() if err == "map" else bkg.globalrms
    obj = sep.extract(data - bkg, thresh, err=noise, minarea=minarea, clean=clean, **kw)
    return np.c_[obj["x"], obj["y"]]


def _best_time(fn, n=3):
    best, out = np.inf, None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _match(a, b):
    """Fraction of ``a`` with a one-to-one counterpart in ``b`` within MATCH_PX."""
    if len(a) == 0:
        return float("nan")
    if len(b) == 0:
        return 0.0
    return float(detection_scores(a, b, max_distance=MATCH_PX)["completeness"])


def _unmatched(a, b, radius=MATCH_PX):
    """Boolean mask of the rows of ``a`` with no point of ``b`` within ``radius`` px."""
    from scipy.spatial import cKDTree

    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    if len(b) == 0:
        return np.ones(len(a), dtype=bool)
    d, _ = cKDTree(b).query(a)
    return d > radius


def _ours(img, seg=None):
    seg = HypercolumnSegmenter() if seg is None else seg
    X = img[None, None]
    return seg.fit(X).detect(X)[0][["x", "y"]].to_numpy()


def _star_offset(img, rowc, colc):
    """Median (x, y) offset of the flux-weighted 5x5 centroid from (COLC, ROWC)."""
    dx, dy = [], []
    for r, c in zip(rowc, colc):
        y0, x0 = int(round(r)), int(round(c))
        if not (3 <= y0 < img.shape[0] - 3 and 3 <= x0 < img.shape[1] - 3):
            continue
        box = np.clip(img[y0 - 2:y0 + 3, x0 - 2:x0 + 3], 0, None)
        if box.sum() <= 0:
            continue
        yy, xx = np.mgrid[y0 - 2:y0 + 3, x0 - 2:x0 + 3]
        dx.append((box * xx).sum() / box.sum() - c)
        dy.append((box * yy).sum() / box.sum() - r)
    return float(np.median(dx)), float(np.median(dy))


# ----------------------------------------------------------------------------- ESO
def eso_measure(folder, params=None):
    """The ESO frame's numbers for ours (defaults, or ``params`` set) and SEP at 1.5 sigma."""
    from astropy.io import fits

    img = np.asarray(fits.getdata(Path(folder) / "image.fits"), dtype=np.float64)
    cat = np.loadtxt(Path(folder) / "image.cat", comments="#")
    truth = cat[:, 1:3] - 1.0  # X_IMAGE, Y_IMAGE (columns 2, 3 of the header), 1-based
    params = params or {}
    t0 = time.perf_counter()
    ours = _ours(img, HypercolumnSegmenter(**params))
    t_ours = time.perf_counter() - t0
    sep15 = _sep(img, thresh=1.5)
    n_sep = len(sep15)
    return {
        "setting": json.dumps(params) if params else "defaults",
        "n_sextractor": int(len(truth)),
        "n_ours": int(len(ours)),
        "n_sep_1.5": int(n_sep),
        "recovered_by_ours": _match(truth, ours),
        "recovered_by_sep_1.5": _match(truth, sep15),
        "extra_ours_vs_sep_count": (len(ours) - n_sep) / max(n_sep, 1),
        "ours_with_sextractor_counterpart": _match(ours, truth),
        "ours_on_inverted_frame": int(len(_ours(-img, HypercolumnSegmenter(**params)))),
        "sep_1.5_on_inverted_frame": int(len(_sep(-img, thresh=1.5))),
        "ours_seconds": t_ours,
    }


# ----------------------------------------------------------------------------- SDSS
def _other_band_sources(field_dir, header_r, xy_r, radius=MATCH_PX):
    """For each r-band position, whether SEP (1.5 sigma) has a source within MATCH_PX in any
    other band of the field (positions mapped through each band's WCS)."""
    import warnings

    from astropy.wcs import FITSFixedWarning, WCS

    found = np.zeros(len(xy_r), dtype=bool)
    if len(xy_r) == 0:
        return found
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs_r = WCS(header_r)
        world = wcs_r.all_pix2world(xy_r, 0)
        for path in sorted(field_dir.glob("frame-[ugiz]-*.fits.bz2")):
            img, header = _frame(path, with_header=True)
            xy_b = WCS(header).all_world2pix(world, 0)
            found |= ~_unmatched(xy_b, _sep(img, thresh=1.5), radius)
    return found


def sdss_measure(path, params=None):
    """Counts, overlap, spurious fractions, stars and timings of one SDSS field (r band), for
    the defaults or ``params`` set (then timed once, and no stars)."""
    field_dir = path.parent
    field = field_dir.name
    img, header = _frame(path, with_header=True)
    X = img[None, None]
    params = params or {}
    seg = HypercolumnSegmenter(**params).fit(X)
    kernel = _gauss_kernel(seg.smoothing)
    n_time = 1 if params else 3
    t_pred, _ = _best_time(lambda: seg.predict(X), n_time)
    t_det, (cat, _) = _best_time(lambda: seg.detect(X), n_time)
    ours = cat[["x", "y"]].to_numpy()
    t_sep, sep_m = _best_time(lambda: _sep(img, thresh=seg.threshold, kernel=kernel, minarea=1,
                                           err="map", clean=False), n_time)
    t_sep15, sep15 = _best_time(lambda: _sep(img, thresh=1.5), n_time)
    sep_c = _sep(img, thresh=seg.threshold, kernel=kernel, minarea=1, err="map")

    def spurious(ref, radius=MATCH_PX):
        """Fraction of ours with no ``ref`` counterpart and no source in another band."""
        lonely = _unmatched(ours, ref, radius)
        elsewhere = _other_band_sources(field_dir, header, ours[lonely], radius)
        return float((~elsewhere).sum() / max(len(ours), 1)), lonely

    spur, lonely = spurious(sep_m)
    row = {
        "field": field, "setting": json.dumps(params) if params else "defaults",
        "n_ours": int(len(ours)), "n_sep_matched": int(len(sep_m)),
        "count_ratio": len(ours) / max(len(sep_m), 1),
        "ours_with_sep_counterpart": _match(ours, sep_m),
        "sep_found_by_ours": _match(sep_m, ours),
        "no_sep_counterpart": float(lonely.mean()) if len(ours) else float("nan"),
        "spurious_fraction": spur,
        "spurious_fraction_3px": spurious(sep_m, 3.0)[0],
        "n_sep_matched_clean": int(len(sep_c)),
        "count_ratio_clean": len(ours) / max(len(sep_c), 1),
        "spurious_vs_clean": spurious(sep_c)[0],
        "n_sep_1.5sigma": int(len(sep15)), "sep_1.5_found_by_ours": _match(sep15, ours),
        "count_ratio_vs_sep_1.5": len(ours) / max(len(sep15), 1),
        "spurious_vs_sep_1.5": spurious(sep15)[0],
        "ours_on_inverted_frame": int(len(_ours(-img, HypercolumnSegmenter(**params)))),
    }
    speed = {"field": field, "predict_s": t_pred, "detect_s": t_det, "sep_matched_s": t_sep,
             "sep_1.5_s": t_sep15, "detect_vs_sep_1.5": t_sep15 / t_det,
             "detect_vs_sep_matched": t_sep / t_det}
    star = None
    star_file = field_dir / f"calibObj-{field}-star.fits"
    if star_file.exists() and not params:
        from astropy.table import Table

        t = Table.read(star_file)
        rowc, colc = np.asarray(t["ROWC"])[:, 2], np.asarray(t["COLC"])[:, 2]
        dx, dy = _star_offset(img, rowc, colc)
        shift = 0.5 if abs(dx + 0.5) < abs(dx) and abs(dy + 0.5) < abs(dy) else 0.0
        xy = np.c_[colc - shift, rowc - shift]
        inside = ((xy[:, 0] >= 0) & (xy[:, 0] < img.shape[1]) & (xy[:, 1] >= 0)
                  & (xy[:, 1] < img.shape[0]))
        star = {"field": field, "n_stars": int(inside.sum()),
                "centroid_minus_colc_rowc_px": f"({dx:+.2f}, {dy:+.2f})",
                "shift_applied_px": -shift,
                "recovered_by_ours": _match(xy[inside], ours),
                "recovered_by_sep_matched": _match(xy[inside], sep_m),
                "recovered_by_sep_matched_clean": _match(xy[inside], sep_c),
                "recovered_by_sep_1.5": _match(xy[inside], sep15)}
    return row, speed, star


def sep_clean_diagnostic(path, thresh, sigma):
    """What SEP's CLEAN removes at the matched threshold on one r frame, and why.

    Returns the counts without and with CLEAN, the removed detections, how many of all and of
    the removed ones lie below SEP's pixel threshold in the filtered image (``cpeak <
    thresh``: detected through the matched filter's S/N only, so that CLEAN's ``mthresh`` is
    negative) and how many of those lie inside CLEAN's zone of a brighter detection
    (``CLEAN_ZONE = 10`` times the sum of the two semi-major axes, as in SEP's ``clean()``).
    """
    import sep
    from scipy.spatial import cKDTree

    img = _frame(path)
    data = np.ascontiguousarray(img)
    bkg = sep.Background(data)
    kw = {"err": bkg.rms(), "minarea": 1, "filter_kernel": _gauss_kernel(sigma)}
    raw = sep.extract(data - bkg, thresh, clean=False, **kw)
    kept = sep.extract(data - bkg, thresh, clean=True, **kw)
    pos = np.c_[raw["x"], raw["y"]]
    removed = cKDTree(np.c_[kept["x"], kept["y"]]).query(pos)[0] > 0.01
    below = raw["cpeak"] < raw["thresh"]
    tree = cKDTree(pos)
    zone = np.zeros(len(raw), dtype=bool)
    for i in range(len(raw)):
        for j in tree.query_ball_point(pos[i], 10 * (raw["a"][i] + raw["a"].max())):
            if (j != i and raw["flux"][j] > raw["flux"][i]
                    and np.hypot(*(pos[i] - pos[j])) < 10 * (raw["a"][i] + raw["a"][j])):
                zone[i] = True
                break
    return {"field": path.parent.name, "n_without_clean": int(len(raw)),
            "n_with_clean": int(len(kept)), "removed_by_clean": int(removed.sum()),
            "below_pixel_threshold": int(below.sum()),
            "removed_below_pixel_threshold": int((removed & below).sum()),
            "below_in_clean_zone": int((below & zone).sum()),
            "removed_below_in_zone": int((removed & below & zone).sum()),
            "below_outside_zone": int((below & ~zone).sum()),
            "removed_below_outside_zone": int((removed & below & ~zone).sum()),
            "removed_above_pixel_threshold": int((removed & ~below).sum())}


# VmHWM: the process's own peak (ru_maxrss survives exec and would include this parent's)
_CATALOG_CHILD = """import re, sys
from galaxy_learn.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as f:
    print("peak_rss_kb", re.findall(r"VmHWM:\\s*(\\d+)", f.read())[0], file=sys.stderr)
sys.exit(code)
"""


def catalog_timing(field_dir, out_dir):
    """``galaxy-learn catalog`` on one field in a fresh process: wall time (process start and
    imports included), the process's peak resident memory, objects catalogued."""
    from astropy.table import Table

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CATALOG_CHILD, "catalog", str(field_dir),
                           "-o", str(out_dir), "-q"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = re.findall(r"peak_rss_kb (\d+)", proc.stderr)
    cat = Path(out_dir) / f"{field_dir.name}_catalog.fits"
    return {"field": field_dir.name, "exit_code": proc.returncode, "wall_s": wall,
            "peak_rss_mb": int(peak[-1]) / 1024 if peak else float("nan"),
            "n_objects": len(Table.read(cat)) if cat.is_file() else 0,
            "outputs": ", ".join(sorted(p.name.split("_", 1)[1]
                                        for p in Path(out_dir).glob(f"{field_dir.name}_*"))),
            "stderr_tail": proc.stderr.strip().splitlines()[-1][-200:]
            if proc.returncode and proc.stderr.strip() else ""}


def five_band_timing(field_dir):
    """fit + detect of the 5-band stack (one 2048x1489 field), and a profile of that call."""
    five = sorted(field_dir.glob("frame-*-*.fits.bz2"))
    stack = np.stack([_frame(p) for p in five])[None]

    def run():
        return len(HypercolumnSegmenter().fit(stack).detect(stack)[0])

    t, n = _best_time(run, n=2)
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    total = stats.total_tt
    where = []
    for (file, _, name), (_, _, tt, ct, _) in stats.stats.items():
        if "galaxy_learn" in file or name in {"gaussian_filter", "binary_dilation", "label",
                                               "binary_fill_holes", "median"}:
            where.append({"function": f"{Path(file).name}:{name}", "cumulative_s": ct,
                          "own_s": tt})
    where = sorted(where, key=lambda r: -r["cumulative_s"])[:14]
    return {"field": field_dir.name, "bands": "".join(p.name.split("-")[1] for p in five),
            "shape": list(stack.shape[1:]), "fit_plus_detect_s": t, "n_objects": n,
            "profiled_total_s": total, "profile": where}


# ----------------------------------------------------------------------------- output
def render(record):
    """The markdown page of a results record."""
    seg = record["settings"]
    text = "# Detection on real frames: HypercolumnSegmenter vs SEP\n\n"
    text += (f"Command: `{record['command']}` at commit {record['commit']}. Machine: "
             f"{record['machine'].get('CPU')}, {record['machine'].get('date (UTC)')}; load "
             f"average {record['load_average']} (shared with other jobs: timings are "
             "contended). `OMP_NUM_THREADS`="
             f"{record.get('omp_num_threads')}.\n\n")
    text += (f"Ours: `HypercolumnSegmenter()` defaults ({json.dumps(seg)}). Matching within "
             f"{MATCH_PX} px, one-to-one.\n\n")
    eso = record.get("eso")
    text += "## ESO test frame (SEP's data/image.fits, 256x256, 65 SExtractor sources)\n\n"
    if eso:
        text += (markdown_table(eso) + "\nTargets: recovered >= 0.95, extra over SEP's count "
                 "<= 0.10. `*_on_inverted_frame`: detections on `-image` (noise is symmetric, "
                 "sources are not): an estimate of the false detections.\n\n")
    else:
        text += f"Not run: {record.get('eso_skipped')}.\n\n"
    if record.get("sdss"):
        text += ("## SDSS r frames: counts and overlap\n\nSEP matched: Gaussian kernel sigma "
                 f"{seg['smoothing']} px, `thresh={seg['threshold']}`, `err=bkg.rms()` (matched "
                 "filter: threshold in sigmas of the filtered image), `minarea=1`, "
                 "`clean=False` (SExtractor's CLEAN step off: with the matched filter it "
                 "removes significant detections, next section). `spurious_fraction`: ours "
                 "with no SEP-matched counterpart and no SEP 1.5-sigma source in u, g, i or z "
                 "(WCS-mapped) within 1.5 px (`_3px`: within 3 px, for extended objects whose "
                 "centroids differ more). `*_clean`: the same against SEP matched with CLEAN "
                 "on; `*_sep_1.5`: against SEP's usual 1.5-sigma run (3x3 kernel, global RMS, "
                 "CLEAN on). Targets: count_ratio within 0.8-1.2, spurious <= 0.05.\n\n"
                 + markdown_table(record["sdss"]) + "\n")
    if record.get("sep_clean"):
        text += ("## What SEP's CLEAN removes at the matched threshold\n\n"
                 "`below_pixel_threshold`: SEP detections whose peak in the filtered image is "
                 "below SEP's own pixel threshold (`cpeak < thresh`; found through the matched "
                 "filter's S/N only). CLEAN (SEP's `clean()`) removes an object when a brighter "
                 "neighbour's Moffat wing exceeds the object's `mthresh`, its filtered pixel "
                 "value minus the pixel threshold, which is negative for those objects: inside "
                 "CLEAN's zone of a brighter detection (here the circle of radius 10 x (a1 + "
                 "a2); SEP tests an ellipse, and only neighbours above their own threshold) "
                 "most of them are removed whatever their significance, outside it almost none. "
                 "Real objects go with them: on 004510-4-0030 SEP matched recovers "
                 "`recovered_by_sep_matched` of SDSS photo's stars without CLEAN and "
                 "`recovered_by_sep_matched_clean` with it (table below).\n\n"
                 + markdown_table(record["sep_clean"]) + "\n")
    if record.get("stars"):
        text += ("## SDSS photo stars (calibObj, OBJC_TYPE 6) recovered\n\n"
                 + markdown_table(record["stars"]) + "\n")
    if record.get("speed"):
        text += ("## Time on the r frame (2048x1489, best of 3)\n\n"
                 + markdown_table(record["speed"]) + "\n")
    five = record.get("five_band")
    if five:
        text += (f"## One field, 5 bands ({five['bands']}, {five['shape']}; frames stacked as "
                 "they are, not aligned: timing only)\n\n"
                 f"`fit` + `detect`: {five['fit_plus_detect_s']:.2f} s (best of 2; issue 19's "
                 f"target <= 15 s), {five['n_objects']} objects. Where the time goes (one "
                 f"profiled call, {five['profiled_total_s']:.2f} s under the profiler):\n\n"
                 + markdown_table(five["profile"]) + "\n")
    if record.get("catalog"):
        text += ("## The whole field: `galaxy-learn catalog FIELD -o DIR`\n\n5 bands aligned "
                 "through their WCS, detection, photometry, the label-free line (fitted on the "
                 "field), catalogue, class map and quick-look PNG, in a fresh process (start "
                 "and imports included). Target (issue 16): <= 120 s per field.\n\n"
                 + markdown_table(record["catalog"]) + "\n")
    before = record.get("before")
    if before:
        text += (f"## Before: the same measurements with the code of commit {before['commit']}\n\n"
                 f"Command: `{before['command']}`; {before['machine'].get('date (UTC)')}, load "
                 f"average {before['load_average']}. Defaults then: "
                 f"{json.dumps(before['settings'])}.\n\n")
        if before.get("eso"):
            text += markdown_table(before["eso"]) + "\n"
        if before.get("sdss"):
            text += markdown_table(before["sdss"]) + "\n"
        if before.get("stars"):
            text += markdown_table(before["stars"]) + "\n"
        if before.get("five_band"):
            text += (f"5 bands: `fit` + `detect` {before['five_band']['fit_plus_detect_s']:.2f} s, "
                     f"{before['five_band']['n_objects']} objects.\n")
    return text


def main():
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--sep-data", default=None,
                        help="folder with SEP's image.fits and image.cat")
    parser.add_argument("--no-download", action="store_true",
                        help="never fetch SEP's source distribution")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only regenerate the markdown from a results JSON")
    parser.add_argument("--before", type=Path, default=None, metavar="JSON",
                        help="with --render: a record of an earlier commit's run, kept in the "
                             "results under 'before'")
    parser.add_argument("--name", default="detection_real", help="results file stem")
    parser.add_argument("--variant", action="append", type=json.loads, metavar="JSON",
                        default=None,
                        help="segmenter parameters measured beside the defaults (repeatable; "
                             'default: \'{"threshold": 5.0, "deblend_nsigma": 0.5}\' and '
                             '\'{"deblend_symmetry": 5.0}\')')
    args = parser.parse_args()
    if args.render:
        record = json.loads(args.render.read_text())
        if args.before:
            record["before"] = json.loads(args.before.read_text())
            args.render.write_text(json.dumps(record, indent=1, default=str))
        args.render.with_suffix(".md").write_text(render(record))
        return 0
    try:
        import sep  # noqa: F401
    except ImportError:
        print("skipped: sep is not installed (pip install sep)")
        return 0
    seg = HypercolumnSegmenter()
    settings = {k: seg.get_params()[k] for k in ("threshold", "grow_threshold", "smoothing",
                                                 "footprint_threshold", "footprint_smoothing",
                                                 "min_area", "deblend_nsigma", "deblend_sigma",
                                                 "deblend_contrast", "deblend_symmetry")}
    record = {"machine": machine_description(), "command": " ".join(["python"] + sys.argv),
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                       capture_output=True, text=True).stdout.strip(),
              "load_average": [round(v, 2) for v in os.getloadavg()],
              "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "settings": settings}
    variants = args.variant if args.variant is not None else [
        {"threshold": 5.0, "deblend_nsigma": 0.5}, {"deblend_symmetry": 5.0}]
    record["variants"] = variants
    folder, why = find_sep_data(args.sep_data, download=not args.no_download)
    if folder is None:
        print(f"ESO frame skipped: {why}")
        record["eso_skipped"] = why
    else:
        record["eso"] = [eso_measure(folder, v) for v in [None] + variants]
        print("eso:", record["eso"], flush=True)
    frames = sorted(DATA.glob("*/frame-r-*.fits.bz2")) if DATA.is_dir() else []
    if not frames:
        print(f"SDSS skipped: no frames under {DATA} (../shared/data absent)")
    rows, speed, stars = [], [], []
    for path in frames[:1] if args.quick else frames:
        row, sp, star = sdss_measure(path)
        rows.append(row)
        speed.append(sp)
        if star:
            stars.append(star)
        print(row, sp, flush=True)
        for v in variants:
            rows.append(sdss_measure(path, v)[0])
            print(rows[-1], flush=True)
    record.update({"sdss": rows, "speed": speed, "stars": stars})
    record["sep_clean"] = [sep_clean_diagnostic(path, seg.threshold, seg.smoothing)
                           for path in (frames[:1] if args.quick else frames)]
    print("SEP CLEAN:", record["sep_clean"], flush=True)
    if frames and not args.quick:
        record["five_band"] = five_band_timing(frames[0].parent)
        print("five bands:", {k: v for k, v in record["five_band"].items() if k != "profile"})
        with tempfile.TemporaryDirectory() as tmp:
            record["catalog"] = [catalog_timing(path.parent, tmp) for path in frames]
        print("catalog:", record["catalog"], flush=True)
    record["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    out = results_path(args.name + ("_quick" if args.quick else ""))
    out.with_suffix(".json").write_text(json.dumps(record, indent=1, default=str))
    out.write_text(render(record))
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark and assemble benchmarks/RESULTS.md.

Usage::

    python benchmarks/run_all.py --quick            # CI smoke run, every bench_*.py in --quick mode
    python benchmarks/run_all.py --device cuda      # full mode (hours on CPU; meant for a GPU)
    python benchmarks/run_all.py --only vae memmap  # a subset (names without bench_)
    python benchmarks/run_all.py --assemble-only    # re-render results/*.md from results/*.json
                                                    # and rebuild RESULTS.md, running nothing

Each ``benchmarks/bench_<name>.py`` is discovered, run in its own process (``--quick`` and
``--device`` forwarded) and writes ``benchmarks/results/<name>.json`` (the figures with the
command, commit, machine and load of the run; ``_common.write_results``) and the markdown
generated from it. RESULTS.md is then assembled: a header describing this machine, headline
figures pulled out of the JSON records (:func:`headline`), then every results file, each
re-rendered from its JSON where one exists (a table with no JSON record predates the writer and
says which command regenerates it). A quick run writes its results to a separate folder
(``results/quick/`` by default) so smoke runs never overwrite measured tables; pass
``--results-dir`` to choose.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import HERE, ROOT, is_record, machine_description, markdown_table, render_file


def discover(only=None):
    """The ``bench_*.py`` scripts next to this file, sorted; ``only`` filters by name."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
        missing = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if missing:
            msg = f"No benchmark named {sorted(missing)}; found {[s.stem for s in scripts]}."
            raise SystemExit(msg)
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    return scripts


def run_one(script, *, quick, device, results_dir, timeout):
    """Run one benchmark script in a subprocess; return (returncode, seconds, log tail)."""
    cmd = [sys.executable, str(script), "--device", device]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["GALAXY_LEARN_RESULTS_DIR"] = str(results_dir)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code = -1
        out = f"timed out after {timeout} s\n" + (exc.stdout or b"").decode(errors="replace")
    return code, time.perf_counter() - start, out[-4000:]


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}


def _divert(canonical, before, results_dir):
    """Move files a quick run wrote into ``canonical`` to ``results_dir``; restore the originals.

    Benchmarks that ignore ``$GALAXY_LEARN_RESULTS_DIR`` and write ``results/<name>.md`` directly
    must not have their measured tables replaced by smoke numbers.
    """
    for path in [p for p in Path(canonical).iterdir() if p.is_file()]:
        if before.get(path.name) == path.read_bytes():
            continue
        shutil.copyfile(path, Path(results_dir) / path.name)
        if path.name in before:
            path.write_bytes(before[path.name])
        else:
            path.unlink()


def _records(results_dir):
    """``{name: record}`` of every ``results_dir/*.json`` written by ``_common.write_results``."""
    out = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if is_record(record):
            out[path.stem] = record
    return out


def _own_layout(results_dir, names):
    """``{name: record}`` of the named JSON files a benchmark writes in its own layout (not
    ``_common.write_results``'s), for the headline table only."""
    out = {}
    for name in names:
        try:
            out[name] = json.loads((Path(results_dir) / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return out


def _section(record, heading):
    return next((s for s in record["sections"] if s.get("heading", "").startswith(heading)), None)


def _real_line(record, dataset, method):
    aucs = [r["auc"]["all"] for r in record["data"]["rows"]
            if (r["dataset"] == dataset or r["dataset"].startswith(dataset + " ("))
            and r["method"].startswith(method) and r["auc"].get("all") is not None]
    if not aucs:
        return None
    return (f"{np.mean(aucs):.3f}" if len(aucs) == 1 else
            f"{np.mean(aucs):.3f} ± {np.std(aucs, ddof=1):.3f} ({len(aucs)} seeds)")


def _head_real(rec):
    for ds, label in (("SDSS 4510-4-30", "SDSS 4510-4-30 (labels: SDSS photo star list)"),
                      ("ZTF i", "ZTF i, 1,500 cutouts"),
                      ("GalSim", "GalSim set, no PSF given"),
                      ("GalSim, PSF FWHM given", "GalSim set, psf_fwhm given")):
        line = _real_line(rec, ds, "mission line")
        index = _real_line(rec, ds, "concentration index")
        if line and index:
            yield (f"AUC, {label}: mission line (VAEEncoder -> Isomap(1), no labels) vs "
                   "concentration index", f"{line} vs {index}")
        boosting = _real_line(rec, ds, "gradient boosting on profiles + spread_model on matched "
                                       "simulations (per-class counts, 20,000 simulations)")
        if boosting and index:
            yield (f"AUC, {label}: MatchedSimulationClassifier() (gradient boosting on growth "
                   "curves + spread_model, 20,000 simulations matched to the data, no labels) "
                   "vs concentration index", f"{boosting} vs {index}")


def _head_class_prior(rec):
    err = [r["abs_error"] for r in rec["data"]["ztf"]]
    yield ("label-free star fraction on the ZTF concentration index, abs. error mean (max)",
           f"{np.mean(err):.3f} ({np.max(err):.3f}) over {len(err)} subsamples")


def _head_simulator(rec):
    speed = _section(rec, "Speed")["rows"][0]
    yield (f"simulator: {speed['n']} cutouts",
           f"{speed['wall (s)']:.1f} s wall, {speed['CPU (s)']:.1f} s CPU")
    auc = next(r for r in _section(rec, "Concentration")["rows"] if "all 16–22" in r["r (mag)"])
    yield "simulator: concentration-index AUC, r 16–22 (default sample)", f"{auc['ROC AUC']:.3f}"


def _head_threshold(rec):
    scaling = _section(rec, "1. ")
    if scaling:
        full = [r for r in scaling["rows"] if r.get("max abs dAUC") is not None]
        yield (f"LandmarkIsomap vs Isomap, worst abs. dAUC up to {max(r['n'] for r in full):,} "
               "points", f"{max(r['max abs dAUC'] for r in full):.4f}")
    big = _section(rec, "ManifoldThresholdClassifier on")
    if big:
        r = big["rows"][0]
        yield (f"ManifoldThresholdClassifier fit + predict, {r['n']:,} points",
               f"{r['wall (s)']:.1f} s wall, {r['CPU (s)']:.1f} s CPU, accuracy "
               f"{r['accuracy']:.3f}")


def _head_memmap(rec):
    d = rec["data"]
    if d.get("peak_rss_gib") is not None:
        yield (f"peak RSS transforming {d['n']:,} memory-mapped cutouts ({d['disk_gib']:.1f} "
               "GiB)", f"{d['peak_rss_gib']:.2f} GiB")


def _head_loaders(rec):
    rows = rec["sections"][0]["rows"]
    eager = min(r["time (s)"] for r in rows if r["mode"] == "eager")
    base = next(r["time (s)"] for r in rows if r["mode"].startswith("baseline"))
    yield (f"load {rec['data']['n_images']:,} SDSS-format .npy files (warm page cache)",
           f"{eager:.1f} s eager (np.load loop {base:.1f} s)")


def _head_fit_time(rec):
    for r in rec["data"]["rows"]:
        if r["step"].startswith(("Pipeline", "galaxy-learn")):
            yield f"wall time: {r['step']}", f"{r['seconds']:.1f} s"


def _head_fit_time_images(rec):
    for r in rec["data"]["rows"]:
        yield (f"wall time: {r['estimator']}.fit({r['images']:,} 64x64 gri images, "
               f"{r['epochs']} epochs)", f"{r['fit seconds']:.1f} s")


def _head_cnn(rec):
    """The CNN's simulator AUC at its defaults (test-time augmented scores) and the real ZTF
    accuracy beside Kim & Brunner's network."""
    rows = rec["sections"]["sim"]["rows"]
    auc = np.array([r["auc_r_lt_21_tta"] for r in rows])
    yield ("AUC r < 21, simulator (10,000 / 2,000 cutouts): CNNClassifier() defaults",
           f"{auc.mean():.4f} ± {auc.std(ddof=1):.4f} ({len(auc)} seeds)")
    ztf = rec["sections"]["ztf"]["rows"]
    acc = {c: np.array([r["accuracy"] for r in ztf if r["config"] == c])
           for c in ("new defaults", "old defaults")}
    yield ("accuracy, real ZTF cutouts (10 CV folds): CNNClassifier() vs Kim & Brunner's "
           "(32, 64, 128)", f"{acc['new defaults'].mean():.4f} vs {acc['old defaults'].mean():.4f}")


_HEADLINES = {"real": _head_real, "class_prior": _head_class_prior,
              "simulator": _head_simulator, "threshold": _head_threshold,
              "memmap": _head_memmap, "loaders": _head_loaders,
              "fit_time": _head_fit_time, "fit_time_images": _head_fit_time_images,
              "fit_time_cnn": _head_fit_time_images,
              "fit_time_denoiser_3min": _head_fit_time_images, "cnn": _head_cnn}


def _regenerate(record):
    """How a record is regenerated: its command, or those of the runs it was assembled from
    (``source runs``, bench_real --assemble; or one per section, bench_cnn's layout). More
    than two are not repeated in every headline row: the record's own section lists them."""
    runs = record.get("source runs") or [record]
    if "command" not in record:
        runs = [sec for sec in record.get("sections", {}).values()
                if isinstance(sec, dict) and "command" in sec]
    commands = list(dict.fromkeys(f"`{run['command']}`" for run in runs))
    if len(commands) > 2:
        return f"{len(commands)} runs, each command in the record's section below"
    return "; ".join(commands)


def headline(records):
    """Rows (figure, value, record, regenerate) of the headline figures in ``records``.

    Each figure is read from the JSON record a benchmark wrote, never typed in: a benchmark
    without a record, or with a record of another layout, contributes nothing.
    """
    rows = []
    for name, extract in _HEADLINES.items():
        if name not in records:
            continue
        try:
            found = list(extract(records[name]))
        except (KeyError, IndexError, TypeError, ValueError, StopIteration):
            continue  # a record of another layout: its table is still assembled below
        regenerate = _regenerate(records[name])
        rows += [{"figure": figure, "value": value, "record": f"`{name}.json`",
                  "regenerate": regenerate} for figure, value in found]
    return rows


def assemble(results_dir, out_path, *, runs=None, quick=False, render=True):
    """Write ``out_path`` from every ``results_dir/*.md`` under the machine header.

    With ``render``, each ``<name>.md`` that has a ``<name>.json`` record is first re-rendered
    from it, and a headline table is pulled out of the records.
    """
    records = _records(results_dir)
    if render:
        for name in records:
            render_file(Path(results_dir) / f"{name}.json")
    info = machine_description()
    lines = [
        "# galaxy_learn benchmark results",
        "",
        "Assembled by `python benchmarks/run_all.py` from `benchmarks/results/`: each section is "
        "written by its `bench_<name>.py`, as `<name>.json` (the figures with the command, "
        "commit, machine and load of the run) and the markdown generated from it. Regenerate "
        "one with the command its section states, all with `python benchmarks/run_all.py` "
        "(full) or `--quick` (smoke); `--assemble-only` re-renders the markdown from the JSON. "
        "What the studies found is told in the user guide (docs/user_guide/studies.rst).",
        "",
    ]
    if quick:
        lines += ["**Smoke run (`--quick`): tiny settings, the numbers below are not results.**", ""]
    heads = headline({**records, **_own_layout(results_dir, ("cnn",))}) if render else []
    if heads:
        lines += ["## Headline figures (read from the JSON records)", "",
                  markdown_table(heads, ["figure", "value", "record", "regenerate"])]
    lines += ["## Machine (this assembly)", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", "Sections may have been measured on other machines: each states its own.", ""]
    if runs:
        lines += ["## Runs", "", "| benchmark | status | seconds |", "|---|---|---|"]
        lines += [f"| {name} | {'ok' if code == 0 else f'FAILED ({code})'} | {secs:.1f} |"
                  for name, code, secs in runs]
        lines.append("")
    files = sorted(Path(results_dir).glob("*.md"))
    folder = ("benchmarks/results" if Path(results_dir).resolve() == (HERE / "results").resolve()
              else str(results_dir))
    if not files:
        lines += ["_No results files yet._", ""]
    for path in files:
        text = path.read_text(encoding="utf-8").strip()
        # Demote the section's headings one level so the document keeps one title.
        body = "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())
        if not body.lstrip().startswith("##"):
            body = f"## {path.stem}\n\n{body}"
        if path.stem in records:
            source = f"generated from {folder}/{path.stem}.json"
        elif path.with_suffix(".json").exists():
            source = (f"{folder}/{path.name} (beside a JSON file of an older layout than the "
                      "results writer's)")
        else:
            source = f"{folder}/{path.name} (markdown only: no JSON record yet)"
        lines += [body, "", f"<sub>source: {source}</sub>", ""]
    Path(out_path).write_text("\n".join(lines), encoding="utf-8")
    return Path(out_path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run of every benchmark")
    parser.add_argument("--device", default="auto", help="forwarded to each benchmark")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where the benchmarks write their tables (default: results/, or "
                             "results/quick/ with --quick)")
    parser.add_argument("--output", type=Path, default=None,
                        help="assembled file (default: RESULTS.md, or RESULTS.quick.md with "
                             "--quick)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per benchmark (default: 600 quick, none full)")
    parser.add_argument("--assemble-only", action="store_true", help="do not run, only assemble")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    scripts = discover(args.only)
    if args.list:
        print("\n".join(s.stem for s in scripts))
        return 0
    results_dir = args.results_dir or (HERE / "results" / "quick" if args.quick else
                                       HERE / "results")
    results_dir.mkdir(parents=True, exist_ok=True)
    output = args.output or HERE / ("RESULTS.quick.md" if args.quick else "RESULTS.md")
    timeout = args.timeout or (600 if args.quick else None)
    runs, failed = [], []
    canonical = HERE / "results"
    divert = results_dir.resolve() != canonical.resolve()
    if not args.assemble_only:
        for script in scripts:
            before = _snapshot(canonical) if divert else None
            print(f"[run_all] {script.stem} ...", flush=True)
            code, secs, log = run_one(script, quick=args.quick, device=args.device,
                                      results_dir=results_dir, timeout=timeout)
            if divert:
                _divert(canonical, before, results_dir)
            runs.append((script.stem, code, secs))
            print(f"[run_all] {script.stem}: {'ok' if code == 0 else 'FAILED'} in {secs:.1f} s",
                  flush=True)
            if code != 0:
                failed.append(script.stem)
                print(log, file=sys.stderr)
    path = assemble(results_dir, output, runs=runs, quick=args.quick)
    print(f"[run_all] wrote {path}")
    if failed:
        print(f"[run_all] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

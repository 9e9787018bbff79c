"""Run every benchmark and assemble benchmarks/RESULTS.md.

Usage::

    python benchmarks/run_all.py --quick            # CI smoke run, every bench_*.py in --quick mode
    python benchmarks/run_all.py --device cuda      # full mode (hours on CPU; meant for a GPU)
    python benchmarks/run_all.py --only vae memmap  # a subset (names without bench_)
    python benchmarks/run_all.py --assemble-only    # rebuild RESULTS.md from results/*.md

Each ``benchmarks/bench_<name>.py`` is discovered, run in its own process (``--quick`` and
``--device`` forwarded) and writes ``benchmarks/results/<name>.md``. RESULTS.md is then assembled
from every results file under a header describing this machine (CPU model and cores, RAM, GPU,
versions, date). A quick run writes its results to a separate folder (``results/quick/`` by
default) so smoke runs never overwrite measured tables; pass ``--results-dir`` to choose.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import HERE, ROOT, machine_description


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


def assemble(results_dir, out_path, *, runs=None, quick=False):
    """Write ``out_path`` from every ``results_dir/*.md`` under the machine header."""
    info = machine_description()
    lines = [
        "# galaxy_learn benchmark results",
        "",
        "Assembled by `python benchmarks/run_all.py` from `benchmarks/results/*.md`; each section "
        "is written by its `bench_<name>.py` and records its own settings. Regenerate with "
        "`python benchmarks/run_all.py` (full) or `--quick` (smoke).",
        "",
    ]
    if quick:
        lines += ["**Smoke run (`--quick`): tiny settings, the numbers below are not results.**", ""]
    lines += ["## Machine (this assembly)", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", "Sections may have been measured on other machines: each states its own.", ""]
    if runs:
        lines += ["## Runs", "", "| benchmark | status | seconds |", "|---|---|---|"]
        lines += [f"| {name} | {'ok' if code == 0 else f'FAILED ({code})'} | {secs:.1f} |"
                  for name, code, secs in runs]
        lines.append("")
    files = sorted(Path(results_dir).glob("*.md"))
    if not files:
        lines += ["_No results files yet._", ""]
    for path in files:
        text = path.read_text(encoding="utf-8").strip()
        # Demote the section's headings one level so the document keeps one title.
        body = "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())
        if not body.lstrip().startswith("##"):
            body = f"## {path.stem}\n\n{body}"
        lines += [body, "", f"<sub>source: benchmarks/results/{path.name}</sub>", ""]
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

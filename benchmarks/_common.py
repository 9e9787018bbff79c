"""Helpers shared by the benchmark scripts: arguments, machine description, the results writer.

Every benchmark records its run as data and the table is generated from that record::

    from _common import bench_parser, write_results

    args = bench_parser("What it measures").parse_args()
    ...
    write_results("memmap", {
        "title": "Transforming a memory-mapped survey",
        "quick": args.quick,
        "settings": {"n": n},
        "sections": [{"heading": "Peak memory", "rows": rows, "text": "..."}],
        "data": raw_figures,            # optional: every number, in any JSON shape
    })

:func:`write_results` adds what makes a record reproducible (command line, git commit and
whether the tree was modified, date, machine, load average at start and end), writes
``results/<name>.json`` and then ``results/<name>.md`` rendered *from the JSON just written* by
:func:`render_markdown`; ``python benchmarks/run_all.py --assemble-only`` re-renders every
markdown file from its JSON the same way.
"""
import argparse
import datetime
import importlib.metadata as md
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run from a source tree without installing
    sys.path.insert(0, str(ROOT))

SCHEMA = 1
#: Keys :func:`write_results` adds to every record.
METADATA_KEYS = ("schema", "benchmark", "command", "commit", "modified", "date (UTC)", "machine",
                 "load average (1, 5, 15 min)", "wall seconds")
# The load when the benchmark started: a script imports this module first.
_LOAD_AT_START = os.getloadavg() if hasattr(os, "getloadavg") else None
_T_START = time.perf_counter()


def bench_parser(description):
    """An ``argparse`` parser with the options every benchmark takes: --quick, --device."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smoke run (< 1 min, tiny sizes)")
    parser.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda' (default: auto)")
    return parser


def results_dir(quick=False):
    """Folder of the results: ``$GALAXY_LEARN_RESULTS_DIR``, else ``results/`` (``results/quick/``
    for a smoke run, so that a ``--quick`` run by hand never replaces a measured record)."""
    env = os.environ.get("GALAXY_LEARN_RESULTS_DIR")
    folder = Path(env) if env else HERE / "results" / ("quick" if quick else "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def results_path(name, quick=False):
    """Where ``bench_<name>.py`` writes its markdown table (the JSON lies beside it)."""
    return results_dir(quick) / f"{name}.md"


def _fmt(value, spec=None):
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return format(value, spec or ".3f")
    if isinstance(value, int) and spec:
        return format(value, spec)
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v, spec) for v in value)
    return str(value)


def markdown_table(rows, cols=None, formats=None):
    """A markdown table of ``rows`` (dicts) over ``cols`` (default: the first row's keys).

    Floats get 3 decimals unless ``formats`` maps the column to a format spec (``".1f"``,
    ``",.0f"``); a missing value or NaN prints as an en dash.
    """
    cols = list(rows[0]) if cols is None else list(cols)
    formats = formats or {}
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c), formats.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib():
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def machine_description():
    """This machine and the library versions, as an ordered dict of strings."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {
        "date (UTC)": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "CPU": f"{_cpu_model()}, {os.cpu_count()} logical cores ({usable} usable)",
        "RAM": f"{_ram_gib():.1f} GiB",
        "python": platform.python_version(),
    }
    try:
        import torch

        info["GPU"] = (", ".join(torch.cuda.get_device_name(i)
                                 for i in range(torch.cuda.device_count()))
                       if torch.cuda.is_available() else "none")
        info["torch threads"] = str(torch.get_num_threads())
    except ImportError:  # pragma: no cover
        info["GPU"] = "unknown (torch not importable)"
    if os.environ.get("OMP_NUM_THREADS"):
        info["OMP_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"]
    for pkg in ("galaxy_learn", "torch", "scikit-learn", "skorch", "numpy"):
        try:
            info[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            if pkg == "galaxy_learn":
                import galaxy_learn

                info[pkg] = f"{galaxy_learn.__version__} (source tree)"
            else:
                info[pkg] = "not installed"
    return info


def machine_markdown(settings=None, machine=None):
    """A markdown block: the machine table (default: this machine), then the run's settings."""
    machine = machine_description() if machine is None else machine
    lines = ["| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine.items()]
    if settings:
        lines += ["", "Settings: " + ", ".join(f"`{k}={v}`" for k, v in settings.items())]
    return "\n".join(lines) + "\n"


def _git(*args):
    try:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.rstrip("\n")


def command_line(argv=None):
    """The command that reran this benchmark: ``python benchmarks/<script> <arguments>``."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve() if argv else Path("?")
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return shlex.join(["python", str(script), *argv[1:]])


def run_metadata(name, argv=None):
    """What makes a record reproducible: the keys of :data:`METADATA_KEYS`.

    ``modified`` lists the files under ``galaxy_learn/`` and ``benchmarks/`` that differ from
    the commit (the tree is shared: a run may include other people's uncommitted edits).
    """
    status = _git("status", "--porcelain", "--untracked-files=no", "--", "galaxy_learn",
                  "benchmarks")
    load_end = os.getloadavg() if hasattr(os, "getloadavg") else None
    machine = machine_description()
    return {
        "schema": SCHEMA,
        "benchmark": name,
        "command": command_line(argv),
        "commit": (_git("rev-parse", "HEAD") or "unknown").strip(),
        "modified": sorted(line[3:] for line in status.splitlines()) if status else [],
        "date (UTC)": machine["date (UTC)"],
        "machine": machine,
        "load average (1, 5, 15 min)": {
            "start": [round(v, 2) for v in _LOAD_AT_START] if _LOAD_AT_START else None,
            "end": [round(v, 2) for v in load_end] if load_end else None},
        "wall seconds": round(time.perf_counter() - _T_START, 1),
    }


def _jsonable(obj):
    """Numpy scalars and arrays, tuples and paths as plain JSON; NaN and inf as null."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, str):  # numpy scalars and arrays
        return _jsonable(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return str(obj)


def write_results(name, payload, *, quick=None, argv=None):
    """Write ``results/<name>.json`` (``payload`` plus run metadata) and the markdown from it.

    Parameters
    ----------
    name : str
        The record's name: ``results/<name>.json`` and ``results/<name>.md``.
    payload : dict
        ``title`` (str), ``sections`` (list of dicts with optional ``heading``, ``text``,
        ``rows`` (list of dicts), ``columns``, ``formats``, ``after``), and any of ``quick``,
        ``settings`` (dict), ``notes`` (str), ``data`` (any JSON: the raw figures).
    quick : bool, default=None
        A smoke run (then written under ``results/quick/`` unless ``$GALAXY_LEARN_RESULTS_DIR``
        says otherwise); default ``payload.get("quick", False)``.
    argv : list of str, default=None
        The command line to record (default ``sys.argv``).

    Returns
    -------
    path : Path
        The JSON file written.
    """
    if "title" not in payload or "sections" not in payload:
        msg = f"A results payload needs 'title' and 'sections'; got keys {sorted(payload)}."
        raise ValueError(msg)
    quick = bool(payload.get("quick", False)) if quick is None else bool(quick)
    record = {**run_metadata(name, argv), "quick": quick}
    clash = sorted(set(payload) & set(record) - {"quick"})
    if clash:
        msg = f"The results payload may not set the metadata keys {clash}."
        raise ValueError(msg)
    record.update(_jsonable(payload))
    record["quick"] = quick
    folder = results_dir(quick)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    render_file(path)
    return path


def read_results(path):
    """The record of a ``results/<name>.json`` file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def is_record(record):
    """Whether ``record`` has this writer's schema (older JSON files predate it)."""
    return isinstance(record, dict) and record.get("schema") == SCHEMA and "sections" in record


def render_markdown(record):
    """The markdown of a record: title, how to regenerate it, the sections, the machine."""
    load = record.get("load average (1, 5, 15 min)") or {}
    commit = record.get("commit", "unknown")
    lines = [f"# {record['title']}", ""]
    if record.get("quick"):
        lines += ["**Smoke run (`--quick`): tiny settings, the numbers are not results.**", ""]
    where = f"commit `{commit[:10]}`"
    modified = record.get("modified") or []
    if 0 < len(modified) <= 3:
        where += f" with uncommitted changes to {', '.join(f'`{p}`' for p in modified)}"
    elif modified:  # a shared working tree: the list is in the JSON
        where += f" with uncommitted changes to {len(modified)} files (listed in the JSON)"
    run = (f"Regenerate with `{record['command']}`. This run: {where}, "
           f"{record.get('date (UTC)', '?')} UTC, {record.get('wall seconds', '?')} s")
    if load.get("start") and load.get("end"):
        run += (f"; load average (1/5/15 min) {'/'.join(f'{v:.2f}' for v in load['start'])} "
                f"at start, {'/'.join(f'{v:.2f}' for v in load['end'])} at end")
    lines += [run + ".", ""]
    if record.get("notes"):
        lines += [record["notes"].strip(), ""]
    for section in record["sections"]:
        if section.get("heading"):
            lines += [f"## {section['heading']}", ""]
        if section.get("text"):
            lines += [section["text"].strip(), ""]
        if section.get("rows"):
            lines.append(markdown_table(section["rows"], section.get("columns"),
                                        section.get("formats")))
        if section.get("after"):
            lines += [section["after"].strip(), ""]
    lines += ["## Machine", "", machine_markdown(record.get("settings"), record.get("machine", {}))]
    return "\n".join(lines)


def render_file(json_path):
    """(Re)write the ``.md`` beside ``json_path`` from it; returns the markdown path."""
    json_path = Path(json_path)
    out = json_path.with_suffix(".md")
    out.write_text(render_markdown(read_results(json_path)), encoding="utf-8")
    return out

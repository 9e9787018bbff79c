"""Helpers shared by the benchmark scripts: arguments, machine description, results path.

A benchmark script::

    from _common import bench_parser, machine_markdown, results_path

    args = bench_parser("What it measures").parse_args()
    ...
    results_path("memmap").write_text(machine_markdown(settings) + table)
"""
import argparse
import datetime
import importlib.metadata as md
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run from a source tree without installing
    sys.path.insert(0, str(ROOT))


def bench_parser(description):
    """An ``argparse`` parser with the options every benchmark takes: --quick, --device."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smoke run (< 1 min, tiny sizes)")
    parser.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda' (default: auto)")
    return parser


def results_path(name):
    """Where ``bench_<name>.py`` writes its table (``$GALAXY_LEARN_RESULTS_DIR`` or results/)."""
    folder = Path(os.environ.get("GALAXY_LEARN_RESULTS_DIR", HERE / "results"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.md"


def markdown_table(rows, cols=None):
    """A markdown table of ``rows`` (dicts) over ``cols`` (default: the first row's keys);
    floats with 3 decimals."""
    cols = list(rows[0]) if cols is None else list(cols)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c])
                                       for c in cols) + " |")
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


def machine_markdown(settings=None):
    """A markdown block: the machine table, then the exact settings of the run."""
    lines = ["| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine_description().items()]
    if settings:
        lines += ["", "Settings: " + ", ".join(f"`{k}={v}`" for k, v in settings.items())]
    return "\n".join(lines) + "\n"

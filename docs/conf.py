"""Sphinx configuration of the galaxy_learn documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors). The gallery
is rendered from ``examples/`` without executing the scripts (``plot_gallery = False``); the
measured results pages are generated from ``benchmarks/results/*.md`` and the API reference from
the ``__all__`` of every public module present at build time.
"""
import importlib
import os
import pkgutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import galaxy_learn  # noqa: E402

project = "galaxy_learn"
author = "the galaxy_learn developers"
copyright = "2026, the galaxy_learn developers"  # noqa: A001
release = galaxy_learn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json",
                    "auto_examples/*.md5", "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
suppress_warnings = [
    # Benchmark tables are written by scripts; their headings start at level 2.
    "myst.header",
]
intersphinx_mapping = {}  # offline builds: no network
nitpicky = False

html_theme = "pydata_sphinx_theme" if importlib.util.find_spec("pydata_sphinx_theme") else "alabaster"
html_title = f"galaxy_learn {release}"
html_static_path = []

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_.*\.py$",
    # Never run the examples while building the docs: several train networks for minutes.
    "plot_gallery": "False",
    "download_all_examples": False,
    "min_reported_time": 10**9,
    "show_memory": False,
    "remove_config_comments": True,
}

# ---------------------------------------------------------------- generated pages
GENERATED = DOCS / "_generated"

_PUBLIC_MODULES_SKIP = ("galaxy_learn.cli",)


def _public_modules():
    mods = ["galaxy_learn"]
    for info in pkgutil.walk_packages(galaxy_learn.__path__, prefix="galaxy_learn."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) or info.name in _PUBLIC_MODULES_SKIP:
            continue
        mods.append(info.name)
    return mods


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _api_page():
    lines = ["API reference", "=============", "",
             "Every public object, by module (generated from each module's ``__all__``).", ""]
    seen = set()
    for name in _public_modules():
        module = importlib.import_module(name)
        members = [m for m in getattr(module, "__all__", []) if not m.startswith("__")]
        # List an object once, under the module it is exported from first.
        members = [m for m in members if (id(getattr(module, m, None)), m) not in seen]
        if not members:
            continue
        seen.update((id(getattr(module, m, None)), m) for m in members)
        title = f"``{name}``"
        lines += [title, "-" * len(title), "", f".. automodule:: {name}", "   :no-members:",
                  "   :no-index:", "", f".. currentmodule:: {name}", "", ".. autosummary::",
                  "   :toctree: ../_generated/api", "   :nosignatures:", ""]
        lines += [f"   {m}" for m in sorted(members)]
        lines.append("")
    _write(GENERATED / "api.rst", "\n".join(lines))


def _results_pages():
    results = sorted((ROOT / "benchmarks" / "results").glob("*.md"))
    lines = ["Measured results", "================", "",
             "The tables written by ``benchmarks/bench_*.py`` (``python benchmarks/run_all.py`` "
             "regenerates them), each with the machine and settings of its run.", ""]
    stale = {p.name for p in (GENERATED / "results").glob("*.md")} - {p.name for p in results}
    for name in stale:  # copies of results files deleted since the last build
        (GENERATED / "results" / name).unlink()
    if results:
        lines += [".. toctree::", "   :maxdepth: 1", ""]
        for path in results:
            target = GENERATED / "results" / path.name
            text = path.read_text(encoding="utf-8")
            if not text.lstrip().startswith("# "):
                text = f"# {path.stem}\n\n" + text
            _write(target, text)
            lines.append(f"   results/{path.stem}")
    else:
        lines.append("No benchmark has written its results yet.")
    _write(GENERATED / "results.rst", "\n".join(lines) + "\n")


def _cli_page():
    from galaxy_learn.cli import build_parser

    parser = build_parser()
    lines = ["Command line", "============", "",
             "``galaxy-learn`` (or ``python -m galaxy_learn``). Exit codes: 0 success, 1 an "
             "error in the data, files or model (one line on stderr), 2 a usage error, 130 "
             "interrupted.", "", "::", ""]
    lines += ["   " + line for line in parser.format_help().splitlines()]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, subparser in sub.choices.items():
        title = f"galaxy-learn {name}"
        lines += ["", title, "-" * len(title), "", "::", ""]
        lines += ["   " + line for line in subparser.format_help().splitlines()]
    _write(GENERATED / "cli.rst", "\n".join(lines) + "\n")


def _examples_readme():
    readme = ROOT / "examples" / "README.txt"
    if not readme.exists():  # sphinx-gallery needs a header for the gallery
        _write(readme, "Examples\n========\n\nRunnable scripts (not executed by the docs build).\n")


_api_page()
_results_pages()
_cli_page()
_examples_readme()

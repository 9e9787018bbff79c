"""benchmarks/run_all.py: discovery, assembly under a machine header, quick runs never overwrite."""
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def run_all(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import run_all

    return run_all


def test_discover_finds_every_bench_script(run_all):
    names = {p.stem for p in run_all.discover()}
    assert names == {p.stem for p in BENCH.glob("bench_*.py")}
    assert "bench_memmap" in names
    with pytest.raises(SystemExit, match="No benchmark named"):
        run_all.discover(["nope"])


def test_assemble_writes_header_and_sections(run_all, tmp_path):
    (tmp_path / "b.md").write_text("## Beta\n\n| a |\n|---|\n| 1 |\n")
    (tmp_path / "a.md").write_text("no heading here\n")
    out = run_all.assemble(tmp_path, tmp_path / "R.md", runs=[("bench_a", 0, 1.5),
                                                             ("bench_b", 1, 2.0)])
    text = out.read_text()
    assert text.startswith("# galaxy_learn benchmark results")
    for key in ("| CPU |", "| RAM |", "| GPU |", "| torch |", "| scikit-learn |", "| skorch |"):
        assert key in text
    assert "| bench_b | FAILED (1) | 2.0 |" in text
    assert text.index("## a") < text.index("### Beta")  # sorted, headings demoted one level


def test_quick_run_cannot_overwrite_measured_tables(run_all, tmp_path):
    canonical, quick = tmp_path / "results", tmp_path / "quick"
    canonical.mkdir()
    quick.mkdir()
    (canonical / "vae.md").write_text("measured")
    before = run_all._snapshot(canonical)
    (canonical / "vae.md").write_text("smoke")  # a benchmark ignoring the env variable
    (canonical / "new.md").write_text("smoke new")
    (canonical / "roc.png").write_bytes(b"png")  # figures too
    run_all._divert(canonical, before, quick)
    assert not (canonical / "roc.png").exists() and (quick / "roc.png").read_bytes() == b"png"
    assert (canonical / "vae.md").read_text() == "measured"
    assert not (canonical / "new.md").exists()
    assert (quick / "vae.md").read_text() == "smoke"
    assert (quick / "new.md").read_text() == "smoke new"


def test_cli_list(run_all, capsys):
    assert run_all.main(["--list"]) == 0
    assert "bench_memmap" in capsys.readouterr().out
    sys.modules.pop("run_all", None)


def test_assemble_renders_markdown_from_json_and_headline(run_all, tmp_path, monkeypatch):
    import _common

    monkeypatch.setenv("GALAXY_LEARN_RESULTS_DIR", str(tmp_path))
    speed = [{"task": "`make_star_galaxy_cutouts`", "n": 100, "wall (s)": 1.5, "CPU (s)": 1.25}]
    auc = [{"r (mag)": "**all 16–22** (default sample)", "ROC AUC": 0.8624}]
    path = _common.write_results("simulator", {
        "title": "Simulator", "sections": [{"heading": "Speed", "rows": speed},
                                           {"heading": "Concentration AUC", "rows": auc}]},
        argv=["benchmarks/bench_simulator.py"])
    path.with_suffix(".md").write_text("edited by hand")  # assembly restores the generated text
    (tmp_path / "old.md").write_text("## Old\n\nmarkdown only\n")
    (tmp_path / "legacy.json").write_text('{"command": "x", "rows": []}')  # not a record: skipped
    out = run_all.assemble(tmp_path, tmp_path / "R.md").read_text()
    assert path.with_suffix(".md").read_text().startswith("# Simulator")
    assert "edited by hand" not in out and "### Speed" in out
    assert "| simulator: 100 cutouts | 1.5 s wall, 1.2 s CPU | `simulator.json` | " \
           "`python benchmarks/bench_simulator.py` |" in out
    assert "| simulator: concentration-index AUC, r 16–22 (default sample) | 0.862 |" in out
    assert f"source: generated from {tmp_path}/simulator.json" in out
    assert f"source: {tmp_path}/old.md (markdown only: no JSON record yet)" in out
    assert out.index("## Headline figures") < out.index("## Machine (this assembly)")


def test_headline_skips_records_it_cannot_read(run_all):
    assert run_all.headline({}) == []
    broken = {"schema": 1, "sections": [], "command": "c"}
    assert run_all.headline({"simulator": broken, "loaders": broken}) == []


def test_regenerate_names_few_commands_and_counts_many(run_all):
    assert run_all._regenerate({"command": "a"}) == "`a`"
    assembled = {"command": "merge", "source runs": [{"command": c} for c in "abab"]}
    assert run_all._regenerate(assembled) == "`a`; `b`"
    many = {"command": "merge", "source runs": [{"command": c} for c in "abc"]}
    assert run_all._regenerate(many) == "3 runs, each command in the record's section below"
    per_section = {"sections": {"sim": {"command": "s", "rows": []}, "ztf": {"command": "z"},
                                "notes": "text"}}
    assert run_all._regenerate(per_section) == "`s`; `z`"

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

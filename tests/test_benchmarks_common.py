"""benchmarks/_common.py: the results writer (JSON record + markdown generated from it)."""
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def common(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setenv("GALAXY_LEARN_RESULTS_DIR", str(tmp_path))
    import _common

    return _common


def _payload():
    return {
        "title": "A test benchmark",
        "settings": {"n": 3},
        "notes": "Some context.",
        "sections": [
            {"heading": "Speed", "text": "Before the table.",
             "rows": [{"method": "a", "seconds": np.float64(1.23456), "n": np.int64(10)},
                      {"method": "b", "seconds": float("nan"), "n": 20}],
             "formats": {"seconds": ".2f"}, "after": "After the table."},
            {"text": "No heading, no table."},
        ],
        "data": {"raw": np.arange(3), "pair": (1.5, float("inf"))},
    }


def test_round_trip_and_metadata(common, tmp_path):
    path = common.write_results("demo", _payload(), argv=["benchmarks/bench_demo.py", "--n", "3"])
    assert path == tmp_path / "demo.json"
    record = json.loads(path.read_text())
    for key in common.METADATA_KEYS + ("quick",):
        assert key in record, key
    assert record["schema"] == common.SCHEMA and common.is_record(record)
    assert record["benchmark"] == "demo" and record["quick"] is False
    assert record["command"] == "python benchmarks/bench_demo.py --n 3"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=BENCH, capture_output=True,
                          text=True, check=False).stdout.strip()
    assert record["commit"] == (head or "unknown")
    assert isinstance(record["modified"], list)
    for key in ("CPU", "RAM", "python", "torch", "scikit-learn", "numpy"):
        assert key in record["machine"], key
    load = record["load average (1, 5, 15 min)"]
    assert len(load["start"]) == 3 and len(load["end"]) == 3
    # numpy values become plain JSON; NaN and inf become null
    assert record["data"] == {"raw": [0, 1, 2], "pair": [1.5, None]}
    rows = record["sections"][0]["rows"]
    assert rows[0] == {"method": "a", "seconds": 1.23456, "n": 10}
    assert rows[1]["seconds"] is None
    assert record["settings"] == {"n": 3} and record["title"] == "A test benchmark"


def test_markdown_is_generated_from_the_json(common, tmp_path):
    path = common.write_results("demo", _payload(), argv=["bench_demo.py"])
    md = (tmp_path / "demo.md").read_text()
    assert md == common.render_markdown(json.loads(path.read_text()))
    assert md.startswith("# A test benchmark\n")
    assert "Regenerate with `python " in md
    assert "| method | seconds | n |\n|---|---|---|\n| a | 1.23 | 10 |\n| b | – | 20 |" in md
    assert md.index("Before the table.") < md.index("| a |") < md.index("After the table.")
    assert "## Speed" in md and "No heading, no table." in md and "Settings: `n=3`" in md
    # edit the JSON: the markdown follows it, not the other way round
    record = json.loads(path.read_text())
    record["sections"][0]["rows"][0]["seconds"] = 9.876
    path.write_text(json.dumps(record))
    common.render_file(path)
    assert "| a | 9.88 | 10 |" in (tmp_path / "demo.md").read_text()


def test_quick_record_is_marked_and_kept_apart(common, tmp_path, monkeypatch):
    path = common.write_results("demo", {**_payload(), "quick": True})
    assert json.loads(path.read_text())["quick"] is True
    assert "**Smoke run (`--quick`)" in path.with_suffix(".md").read_text()
    monkeypatch.delenv("GALAXY_LEARN_RESULTS_DIR")
    assert common.results_dir(quick=True) == BENCH / "results" / "quick"
    assert common.results_dir(quick=False) == BENCH / "results"


@pytest.mark.parametrize(("payload", "match"), [
    ({"sections": []}, "needs 'title' and 'sections'; got keys \\['sections'\\]"),
    ({"title": "t"}, "needs 'title' and 'sections'"),
    ({"title": "t", "sections": [], "commit": "abc"},
     "may not set the metadata keys \\['commit'\\]"),
])
def test_invalid_payload(common, payload, match):
    with pytest.raises(ValueError, match=match):
        common.write_results("bad", payload)


def test_markdown_table_formats(common):
    rows = [{"a": 1.0, "b": 2, "c": None, "d": [0.5, 0.25]}, {"a": math.nan, "b": 1234567}]
    text = common.markdown_table(rows, formats={"b": ",d", "d": ".1f"})
    assert text.splitlines() == ["| a | b | c | d |", "|---|---|---|---|",
                                 "| 1.000 | 2 | – | 0.5, 0.2 |",
                                 "| – | 1,234,567 | – | – |"]


def test_command_line_is_relative_to_the_repository(common):
    assert common.command_line([str(BENCH / "bench_x.py"), "--only", "a b"]) == \
        "python benchmarks/bench_x.py --only 'a b'"


def test_legacy_json_is_not_a_record(common):
    assert not common.is_record({"command": "x", "rows": []})
    assert not common.is_record([1, 2])

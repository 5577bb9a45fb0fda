"""``ygt bench indicators`` end to end at a small size: the figures are all there, the catalog
equals the hand-written SQL value for value, and a second run reuses the lake.

Timing is not checked (the host is shared); equality must be exact within the tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from yigongti.cli import app

KEYS = {
    "rows",
    "catalog_seconds",
    "handwritten_seconds",
    "ratio",
    "equal",
    "engine",
    "values",
    "lake_reused",
}


def _bench(lake: Path) -> dict:
    args = ["bench", "indicators", "--rows", "20000", "--lake", str(lake), "--repeat", "1"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_small_indicator_bench_finds_every_value_equal_and_reuses_its_lake(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    figures = _bench(lake)
    assert not KEYS - figures.keys(), KEYS - figures.keys()
    assert figures["engine"] == "duckdb"
    assert 19_000 <= figures["rows"] <= 21_000  # fee lines drawn to come close to --rows
    assert figures["equal"] is True, figures["examples"]
    assert figures["values"] == 5 * figures["result_rows"] > 50_000
    assert figures["lake_reused"] is False
    again = _bench(lake)
    assert again["lake_reused"] is True and again["rows"] == figures["rows"]
    assert again["equal"] is True


def test_the_bench_will_not_clear_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["bench", "indicators", "--rows", "1000", "--lake", str(tmp_path), "--json"]
    )
    assert result.exit_code != 0
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"

"""``ygt bench empi`` end to end at a small size: every figure is there and the linkage beats
exact-ID-only linkage on the same set. Timing is not checked (the host is shared)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from yigongti.cli import app

KEYS = {
    "records",
    "residents",
    "precision",
    "recall",
    "f1",
    "records_per_s",
    "link_threshold",
    "review_threshold",
    "baseline_f1",
    "ratio",
    "review",
    "scorer_max_weight_difference",
}


def test_a_small_empi_bench_prints_its_figures_as_the_last_line() -> None:
    result = CliRunner().invoke(app, ["bench", "empi", "--records", "2000", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert not KEYS - figures.keys(), KEYS - figures.keys()
    assert figures["records"] == 2000
    assert 0 < figures["baseline_f1"] < figures["f1"] <= 1
    assert figures["ratio"] > 1
    # Splink in DuckDB and the single-record scorer in Python weigh a pair the same.
    assert figures["scorer_max_weight_difference"] < 1e-6

"""``ygt bench ingest`` end to end at a small size: every line imported, the figures are there.

Timing is not checked (the host is shared); the counts must be exact.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import PG_ADMIN, pg_available, require_or_skip
from yigongti.cli import app
from yigongti.settings import get_settings

KEYS = {"resources", "seconds", "resources_per_s", "copy_rows_per_s", "ratio", "rejected"}


@pytest.mark.postgres
def test_small_ingest_bench_imports_every_line_and_prints_the_figures() -> None:
    require_or_skip(pg_available(), f"PostgreSQL at {PG_ADMIN}")
    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, ["bench", "ingest", "--resources", "500", "--pg", PG_ADMIN, "--json"]
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert not KEYS - figures.keys(), KEYS - figures.keys()
    assert (figures["resources"], figures["created"], figures["rejected"]) == (500, 500, 0)
    assert figures["created_by_type"] == {"Patient": 50, "Encounter": 150, "Observation": 300}
    assert figures["resources_per_s"] > 0 and figures["copy_rows_per_s"] > 0
    assert figures["ratio"] > 0

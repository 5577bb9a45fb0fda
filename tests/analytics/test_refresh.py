"""One data-center refresh (export, compute, alerts), as the scheduled job and the demo run it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from yigongti.analytics.compute import load_results
from yigongti.analytics.models import Alert
from yigongti.db import unit_of_work
from yigongti.web.jobs import refresh_data_center_once


def _alerts(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return session.scalar(select(func.count()).select_from(Alert)) or 0


def test_a_refresh_fills_the_lake_computes_the_catalog_and_opens_alerts_once(
    engine: Engine, tmp_path: Path
) -> None:
    lake_dir = tmp_path / "lake"
    first = refresh_data_center_once(engine, lake_dir)
    results = load_results(lake_dir)
    assert first["lake_rows"] > 0
    assert results is not None and results.num_rows == first["indicator_values"] > 0
    assert _alerts(engine) == first["alerts_opened"]

    again = refresh_data_center_once(engine, lake_dir)
    assert again["lake_rows"] == 0  # nothing changed in the database: nothing exported
    assert again["alerts_opened"] == 0  # the same breaches are not opened twice
    assert again["indicator_values"] == first["indicator_values"]
    assert _alerts(engine) == first["alerts_opened"]

"""``ygt lake export`` and ``ygt lake load`` as an operator runs them on the server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.support import places
from yigongti.analytics.lake import Lake
from yigongti.cli import app
from yigongti.db import unit_of_work
from yigongti.settings import get_settings

Ygt = Callable[..., Result]


@pytest.fixture
def ygt(engine: Engine, tmp_path: Path) -> Iterator[Ygt]:
    """``ygt(*args)`` runs the command on the test county, its data dir in ``tmp_path``."""
    env = {
        "YGT_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "YGT_DATA_DIR": str(tmp_path / "data"),
    }
    runner = CliRunner()

    def run(*args: str) -> Result:
        get_settings.cache_clear()
        return runner.invoke(app, list(args), env=env)

    yield run
    get_settings.cache_clear()


def test_lake_export_writes_the_lake_in_the_data_dir(ygt: Ygt, tmp_path: Path) -> None:
    first = ygt("lake", "export")
    assert first.exit_code == 0, first.output
    assert "rows written" in first.output
    lake = Lake(tmp_path / "data" / "lake")
    assert lake.files("visits") and lake.files("institutions")
    again = ygt("lake", "export")
    assert again.exit_code == 0 and "0 rows written" in again.output


def test_lake_load_pushes_a_file_for_an_institution_by_its_code(
    ygt: Ygt, engine: Engine, tmp_path: Path
) -> None:
    with unit_of_work(engine) as session:
        lead = places(session).lead
        code, lead_id = lead.code, lead.id
    good = tmp_path / "fees.csv"
    good.write_text(
        "line_id,visit_id,institution_id,month,kind,category,amount_fen\n"
        f"L1,V1,{lead_id},2025-03,outpatient,drug,2600\n",
        encoding="utf-8",
    )
    loaded = ygt("lake", "load", str(good), "--dataset", "fees", "--institution", code)
    assert loaded.exit_code == 0, loaded.output
    assert "Loaded 1 rows of fees (2025-03)" in loaded.output
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text(encoding="utf-8").replace("2600", "-1"), encoding="utf-8")
    rejected = ygt("lake", "load", str(bad), "--dataset", "fees", "--institution", code)
    assert rejected.exit_code == 1
    assert "line 2, amount_fen: amount must not be negative" in rejected.output
    unknown = ygt("lake", "load", str(good), "--dataset", "bookings", "--institution", code)
    assert unknown.exit_code == 2

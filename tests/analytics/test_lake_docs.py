"""docs/lake.md is generated from the lake's schema, and its examples are files the lake takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support import actor, places
from yigongti import analytics
from yigongti.analytics.lake import DATASETS, Lake, render_docs
from yigongti.analytics.lake.upload import EXAMPLE_INSTITUTION, UPLOADABLE, example_csv
from yigongti.db import unit_of_work

DOCS = Path(__file__).parents[2] / "docs" / "lake.md"
REGENERATE = (
    "uv run python -c \"import yigongti.analytics.lake as l; print(l.render_docs(), end='')\" "
    ">docs/lake.md"
)


def test_the_documented_schema_is_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_docs(), f"regenerate it: {REGENERATE}"


def test_every_column_of_every_dataset_is_documented() -> None:
    text = render_docs()
    for dataset in DATASETS.values():
        assert f"### `{dataset.name}`" in text
        for column in dataset.columns:
            assert f"`{column.name}`" in text and column.zh in text


def test_each_pushable_dataset_has_an_example_with_its_columns() -> None:
    for name in UPLOADABLE:
        header = example_csv(name).splitlines()[0]
        assert header.split(",") == list(DATASETS[name].names)


@pytest.mark.parametrize("dataset", UPLOADABLE)
def test_the_documented_examples_load(dataset: str, module_engine: Engine, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    with unit_of_work(module_engine) as session:
        lead = places(session).lead
        data = example_csv(dataset).replace(EXAMPLE_INSTITUTION, str(lead.id)).encode()
        result = analytics.load_lake_file(
            session,
            actor(session, "system_admin"),
            lake,
            dataset=dataset,
            filename=f"{dataset}.csv",
            data=data,
            institution_id=lead.id,
        )
    assert result.loaded, result.file.report
    assert result.file.rows == len(example_csv(dataset).splitlines()) - 1

"""Migrations: an empty database reaches the schema the models declare, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from yigongti.db.migrate import is_migrated, load_models, upgrade


def test_an_empty_database_is_migrated_to_every_table_of_the_models(empty_engine: Engine) -> None:
    metadata = load_models().metadata
    assert not is_migrated(empty_engine)
    upgrade(empty_engine)
    assert is_migrated(empty_engine)
    inspector = inspect(empty_engine)
    assert set(inspector.get_table_names()) == set(metadata.tables) | {"alembic_version"}
    for name, table in metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        assert columns == set(table.columns.keys()), name


def test_the_migrated_schema_has_no_difference_from_the_models(empty_engine: Engine) -> None:
    metadata = load_models().metadata
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrating_twice_changes_nothing(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    before = sorted(inspect(empty_engine).get_table_names())
    upgrade(empty_engine)
    empty_engine.dispose()
    assert sorted(inspect(empty_engine).get_table_names()) == before

"""Fixtures of the data center's tests: lakes, and the test county exported into one.

Exporting the county writes about a thousand small files (one per month and institution), so
it happens once per module and backend (``exported_county``); a test that changes the
database or the lake takes its own copy of both (``exported``), a file copy or a
``CREATE DATABASE ... TEMPLATE`` and a copy of the lake's directory. A module may override
``exported_county`` to arrange records before the export.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from tests.conftest import PG_ADMIN, Template
from yigongti.analytics.lake import ExportReport, Lake, export_lake
from yigongti.db import make_engine


@dataclass(frozen=True)
class Database:
    """A copy of the test county: an SQLite file or a PostgreSQL database."""

    backend: str
    location: str

    def engine(self) -> Engine:
        """An engine on this database (dispose it before the database is copied or dropped)."""
        if self.backend == "sqlite":
            return make_engine(f"sqlite:///{self.location}")
        return make_engine(PG_ADMIN.rsplit("/", 1)[0] + "/" + self.location)


def _pg(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(sql)


def copy_database(backend: str, location: str, into: Path) -> Database:
    """A copy of the database at ``location``, which nobody may be connected to."""
    if backend == "sqlite":
        path = into / f"county-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(location, path)
        return Database(backend, str(path))
    name = f"ygt_lake_{uuid.uuid4().hex[:12]}"
    _pg(f"CREATE DATABASE {name} TEMPLATE {location}")
    return Database(backend, name)


def drop_database(database: Database) -> None:
    """Drop a PostgreSQL copy (SQLite copies go with their temporary directory)."""
    if database.backend == "postgresql":
        _pg(f"DROP DATABASE IF EXISTS {database.location} WITH (FORCE)")


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """An empty lake in the test's temporary directory."""
    return Lake(tmp_path / "lake")


@pytest.fixture(scope="module")
def module_database(
    template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A copy of the test county shared by the tests of one module (each backend)."""
    database = copy_database(template.backend, template.location, tmp_path_factory.mktemp("db"))
    yield database
    drop_database(database)


@pytest.fixture(scope="module")
def module_engine(module_database: Database) -> Iterator[Engine]:
    """An engine on ``module_database``: tests that share it must not depend on each other."""
    engine = module_database.engine()
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class ExportedCounty:
    """The test county (and what a module arranged in it) exported into a lake, read-only."""

    database: Database
    lake: Lake
    report: ExportReport


@pytest.fixture(scope="module")
def exported_county(
    template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExportedCounty]:
    """The test county exported into a lake once per module and backend; do not change it."""
    where = tmp_path_factory.mktemp("exported")
    database = copy_database(template.backend, template.location, where)
    engine = database.engine()
    lake = Lake(where / "lake")
    report = export_lake(engine, lake)
    engine.dispose()
    yield ExportedCounty(database, lake, report)
    drop_database(database)


@dataclass(frozen=True)
class Exported:
    """A private copy of the exported county: its database (engine) and its lake."""

    engine: Engine
    lake: Lake
    report: ExportReport


@pytest.fixture
def exported(exported_county: ExportedCounty, tmp_path: Path) -> Iterator[Exported]:
    """A copy of ``exported_county`` (database with its watermarks, and lake) for one test."""
    database = copy_database(
        exported_county.database.backend, exported_county.database.location, tmp_path
    )
    root = tmp_path / "lake"
    shutil.copytree(exported_county.lake.root, root)
    engine = database.engine()
    yield Exported(engine, Lake(root), exported_county.report)
    engine.dispose()
    drop_database(database)

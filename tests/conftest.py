"""Fixtures shared by the suite: one small synthetic county per storage backend.

Every storage test runs on SQLite and on PostgreSQL from the same body (the ``backend``
parameter). The county is built once per backend into a template and cloned per test: a file
copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL.
"""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from yigongti.db import make_engine, unit_of_work
from yigongti.db.migrate import upgrade
from yigongti.security import passwords as password_hashing
from yigongti.settings import Settings

PG_ADMIN = os.environ.get("YGT_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
ON_CI = os.environ.get("CI", "").lower() == "true"
COUNTY_RESIDENTS = 400
COUNTY_SEED = 7


def pg_available() -> bool:
    """Whether the test PostgreSQL server answers."""
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def require_or_skip(available: bool, what: str) -> None:
    """Skip when ``what`` is missing, except on CI where a skipped suite would hide it."""
    if available:
        return
    if ON_CI:
        pytest.fail(f"{what} is required on CI (CI=true) but is not available")
    pytest.skip(f"{what} is not available")


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember skipped tests so a CI run can refuse them."""
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On CI, a skipped test is a failure: PostgreSQL and browser tests must really run."""
    if ON_CI and _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nCI=true: {len(_skipped)} test(s) were skipped, e.g. {_skipped[0]}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave the suite's objects to the end of the process, uncollected.

    At exit the interpreter collects every generation once more; after the whole suite (some
    4.5 GB of objects) that took two minutes of a CI run after the summary was printed. Frozen
    objects are outside every generation, so the last collection has next to nothing to scan.
    """
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id at its cheapest settings: the suite logs in hundreds of times.

    Production cost (about a second per hash on a small machine) protects stored hashes; the
    tests check the rules around passwords, not the cost. Hashes stay Argon2id.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            password_hashing, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        )
        yield


def _pg_url(database: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


@dataclass(frozen=True)
class Template:
    """A migrated database holding the test county and its demo accounts."""

    backend: str
    location: str  # file path (SQLite) or database name (PostgreSQL)
    passwords: dict[str, str]  # role -> password; usernames are the role with '-' for '_'


def _fill(engine: Engine) -> dict[str, str]:
    from yigongti.demo import create_demo_accounts
    from yigongti.synth import build_county

    upgrade(engine)
    build_county(engine, residents=COUNTY_RESIDENTS, seed=COUNTY_SEED)
    with unit_of_work(engine) as session:
        return {a.role: a.password for a in create_demo_accounts(session)}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    """The test county, built once per backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("template") / "county.db"
        engine = make_engine(f"sqlite:///{path}")
        passwords = _fill(engine)
        with engine.connect() as conn:
            # On the driver's connection: SQLAlchemy would wrap it in BEGIN IMMEDIATE, and a
            # checkpoint cannot run inside a transaction. Copies then need the .db file only.
            conn.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield Template("sqlite", str(path), passwords)
        return
    require_or_skip(pg_available(), f"PostgreSQL at {PG_ADMIN}")
    name = f"ygt_tmpl_{os.getpid()}"
    _pg_admin(f"DROP DATABASE IF EXISTS {name}")
    _pg_admin(f"CREATE DATABASE {name}")
    engine = make_engine(_pg_url(name))
    passwords = _fill(engine)
    engine.dispose()
    yield Template("postgresql", name, passwords)
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a new, empty database (no schema), on each backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    require_or_skip(pg_available(), f"PostgreSQL at {PG_ADMIN}")
    name = f"ygt_e_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name}")
    engine = make_engine(_pg_url(name))
    yield engine
    engine.dispose()
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def backend(template: Template) -> str:
    """The storage backend of this run of the test: ``sqlite`` or ``postgresql``."""
    return template.backend


@pytest.fixture
def engine(template: Template, tmp_path: Path) -> Iterator[Engine]:
    """A fresh copy of the test county for one test."""
    if template.backend == "sqlite":
        path = tmp_path / "county.db"
        shutil.copyfile(template.location, path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    name = f"ygt_t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name} TEMPLATE {template.location}")
    engine = make_engine(_pg_url(name))
    yield engine
    engine.dispose()
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(tmp_path: Path, engine: Engine) -> Settings:
    """Settings of a test application."""
    return Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-of-at-least-32-bytes!",
        database_url=engine.url.render_as_string(hide_password=False),
    )


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An HTTP client of the JSON API (no UI) on the test county."""
    from yigongti.web.app import create_app

    with TestClient(create_app(settings, engine=engine, with_ui=False)) as test_client:
        yield test_client


@pytest.fixture
def login(client: TestClient, template: Template) -> Callable[[str], dict[str, str]]:
    """``login(role)`` -> the Authorization header of that role's demo account."""
    cache: dict[str, dict[str, str]] = {}

    def _login(role: str) -> dict[str, str]:
        if role not in cache:
            answer = client.post(
                "/api/v1/auth/token",
                data={"username": role.replace("_", "-"), "password": template.passwords[role]},
            )
            assert answer.status_code == 200, answer.text
            cache[role] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return cache[role]

    return _login

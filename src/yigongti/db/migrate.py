"""Schema migrations with Alembic; the scripts live in ``db/migrations``."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from yigongti.db.engine import Base

# Every module that declares tables; migrations and tests import them all.
MODEL_MODULES = (
    "yigongti.registry.models",
    "yigongti.security.models",
    "yigongti.clinical.models",
    "yigongti.booking.models",
    "yigongti.analytics.models",
    "yigongti.interop.fhir.models",
    "yigongti.interop.empi.models",
    "yigongti.interop.bulk.models",
)


def load_models() -> type[Base]:
    """Import every table module so ``Base.metadata`` knows the whole schema."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that runs on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database schema to ``revision`` (every newest revision by default).

    ``heads``: domains developed side by side may each add a revision after the same one;
    Alembic applies every branch, so the schema is whole either way.
    """
    command.upgrade(alembic_config(engine), revision)


def is_migrated(engine: Engine) -> bool:
    """Whether the database has been migrated at least once."""
    return inspect(engine).has_table("alembic_version")

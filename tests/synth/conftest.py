"""Synthetic counties built once per test session on SQLite files, shared read-only by tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.synth.helpers import YEAR, Builder, Built
from yigongti.db import make_engine
from yigongti.db.migrate import upgrade
from yigongti.synth import build_county

MEASURED_RESIDENTS = 5_000  # enough for the age pyramid and the indicators to settle
MEASURED_SEED = 3


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builder]:
    """``build(residents=..., seed=..., encounters=..., bookings=...)``: a county per distinct
    arguments."""
    built: dict[tuple[int, int, bool, bool], Built] = {}

    def _build(
        *, residents: int, seed: int, encounters: bool = True, bookings: bool = True
    ) -> Built:
        key = (residents, seed, encounters, bookings)
        if key not in built:
            path = tmp_path_factory.mktemp("synth") / "county.db"
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            summary = build_county(
                engine,
                residents=residents,
                seed=seed,
                year=YEAR,
                encounters=encounters,
                bookings=bookings,
            )
            built[key] = Built(engine, summary)
        return built[key]

    yield _build
    for county in built.values():
        county.engine.dispose()


@pytest.fixture(scope="session")
def county(build: Builder) -> Built:
    """The county the distribution and indicator tests measure."""
    return build(residents=MEASURED_RESIDENTS, seed=MEASURED_SEED)

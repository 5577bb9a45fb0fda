"""The run: a fresh PostgreSQL database, a county, the NDJSON mix, the import, the COPY."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from yigongti.bench.booking import DEFAULT_PG, pg_database
from yigongti.bench.ingest.mix import county_mix

COUNTY_RESIDENTS = 2_000  # the county the new residents join
FEED = "bench-his"  # the source system whose ids the lines carry
Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    """No progress report."""


def run(
    resources: int = 200_000,
    seed: int = 1,
    *,
    admin_url: str = DEFAULT_PG,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole bench in a database of its own, dropped at the end (even on failure)."""
    from yigongti.db import make_engine

    report = progress or _quiet
    name = f"ygt_ingest_{os.getpid()}"
    with pg_database(admin_url, name) as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        try:
            report("county", 0, 1)
            hospital = _county(engine, seed)
            report("county", 1, 1)
            path = Path(tmp) / "mix.ndjson"
            lines = _write_mix(engine, path, resources, seed, hospital)
            report("import", 0, lines)
            seconds, manifest = _import(engine, path, hospital)
            report("import", lines, lines)
            report("copy", 0, lines)
            copy_seconds = _copy(url, path)
            report("copy", lines, lines)
        finally:
            engine.dispose()
    counts = manifest.get("extension", {})
    resources_per_s = lines / seconds if seconds else 0.0
    copy_rows_per_s = lines / copy_seconds if copy_seconds else 0.0
    return {
        "resources": lines,
        "seconds": round(seconds, 2),
        "resources_per_s": round(resources_per_s, 1),
        "copy_seconds": round(copy_seconds, 3),
        "copy_rows_per_s": round(copy_rows_per_s, 1),
        "ratio": round(resources_per_s / copy_rows_per_s, 4) if copy_rows_per_s else 0.0,
        "created": counts.get("created", 0),
        "rejected": counts.get("rejected", 0),
        "created_by_type": counts.get("createdByType", {}),
    }


def _county(engine: Engine, seed: int) -> uuid.UUID:
    """Build the county; the county hospital whose HIS sends the file."""
    from yigongti.db.migrate import upgrade
    from yigongti.registry.models import Institution
    from yigongti.synth import build_county

    upgrade(engine)
    build_county(engine, residents=COUNTY_RESIDENTS, seed=seed, encounters=False, bookings=False)
    with engine.connect() as connection:
        return connection.scalar(
            select(Institution.id)
            .where(Institution.kind == "county_hospital", Institution.active.is_(True))
            .order_by(Institution.code)
            .limit(1)
        )


def _write_mix(engine: Engine, path: Path, resources: int, seed: int, hospital: uuid.UUID) -> int:
    from yigongti.registry.models import Resident, Village
    from yigongti.settings import get_settings

    with engine.connect() as connection:
        villages = list(connection.scalars(select(Village.id).order_by(Village.code)))
        taken = set(connection.scalars(select(Resident.id_number)))
    written = 0
    with path.open("wb") as stream:
        for resource in county_mix(
            resources, seed, get_settings().county_code, villages, hospital, taken
        ):
            stream.write(orjson.dumps(resource) + b"\n")
            written += 1
    return written


def _import(engine: Engine, path: Path, hospital: uuid.UUID) -> tuple[float, dict]:
    """The endpoint's own job function, timed: (seconds, manifest)."""
    from yigongti.db import unit_of_work
    from yigongti.interop.bulk import ImportOptions, open_job, run_import
    from yigongti.security import Actor, roles

    # The county hospital's HIS feed: county scope, records at the hospital, may import.
    feed = Actor(
        user_id=None,
        username=FEED,
        role="system_admin",
        institution_id=hospital,
        client="bench",
        extra_permissions=frozenset({roles.RESIDENT_WRITE, roles.BULK_IMPORT}),
    )
    with unit_of_work(engine) as session:
        job_id = open_job(session, feed, "import", "bench", {"source": FEED}, "lines").id
    started = time.perf_counter()
    manifest = run_import(
        engine, feed, job_id, path, ImportOptions(source=FEED), "http://bench.invalid/fhir"
    )
    return time.perf_counter() - started, manifest


def _copy(url: str, path: Path) -> float:
    """Seconds to COPY the same lines into an unindexed ``raw(line jsonb)`` table."""
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute("CREATE TABLE raw (line jsonb)")
        connection.commit()
        data = path.read_bytes().replace(b"\\", b"\\\\")  # COPY's text format escapes
        started = time.perf_counter()
        with connection.cursor().copy("COPY raw (line) FROM STDIN") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
        connection.commit()
        return time.perf_counter() - started

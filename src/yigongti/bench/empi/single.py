"""One record at a time, as the FHIR face links them: a synthetic county in an SQLite file,
records of its residents with noise (no ID number for half, a homophone, no phone), each
linked in its own unit of work. Milliseconds per record, median and 95th percentile.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from yigongti.bench.empi.generate import _homophone
from yigongti.db import make_engine, unit_of_work
from yigongti.db.migrate import upgrade
from yigongti.interop import empi
from yigongti.registry.models import Institution, Resident, Town, Village
from yigongti.security import system_actor


def single_record_latency(residents: int, records: int = 200, seed: int = 1) -> dict[str, Any]:
    """Link ``records`` noisy records one by one against a county of ``residents``."""
    from yigongti.synth import build_county

    rnd = random.Random(seed)
    with tempfile.TemporaryDirectory() as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'county.db'}")
        upgrade(engine)
        build_county(engine, residents=residents, seed=seed, encounters=False, bookings=False)
        actor = system_actor("bench")
        with unit_of_work(engine) as session:
            center = session.scalar(
                select(Institution.id).where(Institution.kind == "township_center").limit(1)
            )
            count = session.scalar(select(func.count()).select_from(Resident)) or 0
            people = session.execute(
                select(Resident, Village.name, Town.name)
                .join(Village, Village.id == Resident.residence_village_id)
                .join(Town, Town.id == Village.town_id)
                .order_by(func.random())
                .limit(records)
            ).all()
            sent = [_noisy(rnd, center, r, v, t) for r, v, t in people]
        milliseconds, correct = [], 0
        for (resident, _, _), record in zip(people, sent, strict=True):
            started = time.perf_counter()
            with unit_of_work(engine) as session:
                outcome = empi.link_record(session, actor, record)
            milliseconds.append((time.perf_counter() - started) * 1000)
            correct += outcome.resident_id == resident.id
        engine.dispose()
    milliseconds.sort()
    return {
        "single_residents": count,
        "single_records": len(milliseconds),
        "single_ms_median": round(statistics.median(milliseconds), 1),
        "single_ms_p95": round(milliseconds[int(0.95 * (len(milliseconds) - 1))], 1),
        "single_linked_right": correct,
    }


def _noisy(
    rnd: random.Random, center: Any, r: Resident, village: str, town: str
) -> empi.PatientRecord:
    name = r.name
    if rnd.random() < 0.2:
        at = rnd.randrange(1, len(name))
        name = name[:at] + _homophone(rnd, name[at]) + name[at + 1 :]
    return empi.PatientRecord(
        institution_id=center,
        mrn=f"B{rnd.randrange(10**9)}",
        name=name,
        sex=r.sex,
        birth_date=r.birth_date,
        id_number=r.id_number if rnd.random() < 0.5 else None,
        phone=r.phone if rnd.random() < 0.5 else None,
        address=f"{town}{village}",
    )

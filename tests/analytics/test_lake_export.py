"""The export of the operational database into the lake: what lands where, and incremental runs.

The test county is exported once per backend after a few visits are arranged around the rules
(a stay still open, one discharged in the month after admission, a visit just after midnight
of the 1st, an up-referral, a month with a single visit); tests that change anything take a
copy of the database and the lake.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from tests.analytics.conftest import Exported, ExportedCounty, copy_database, drop_database
from tests.conftest import Template
from tests.support import actor, places
from yigongti import analytics
from yigongti.analytics.lake import Lake, export_lake
from yigongti.analytics.lake.schema import BOOKINGS, FEES, INSTITUTIONS, VISITS
from yigongti.analytics.lake.store import partition_dir
from yigongti.analytics.models import LakeWatermark
from yigongti.booking.models import Booking
from yigongti.clinical.models import Encounter, FeeLine
from yigongti.db import session_factory, unit_of_work
from yigongti.kernel import SHANGHAI, local
from yigongti.registry.models import Department, Institution


def shanghai(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment given on the county's clocks."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def table_of(lake: Lake, dataset: str) -> pa.Table:
    """Every live row of a dataset (no partition columns guessed from the paths)."""
    files = lake.files(dataset)
    if not files:
        return pa.schema([]).empty_table()
    return pa.concat_tables([pq.ParquetFile(path).read() for path in files])


def ids_in(lake: Lake, dataset: str, key: str) -> set[str]:
    """The keys of a dataset's live rows."""
    return set(table_of(lake, dataset).column(key).to_pylist())


@dataclass(frozen=True)
class Arranged:
    """Visits arranged before the export, by what they show."""

    year: int
    open_stay: str
    open_stay_fee: str
    late_discharge: str
    midnight_visit: str
    referral: str
    referred_from: str
    lonely_month: str
    lonely_visit: str


def _visit(
    session: Session, kind: str, start: datetime, end: datetime | None, **more: object
) -> Encounter:
    at = places(session)
    encounter = Encounter(
        resident_id=at.resident.id,
        institution_id=more.pop("institution_id", at.lead.id),
        kind=kind,
        started_at=start,
        ended_at=end,
        diagnosis_code="J18.900" if kind == "inpatient" else "J06.900",
        total_fen=800_000 if kind == "inpatient" else 4_500,
        **more,
    )
    session.add(encounter)
    session.flush()
    return encounter


def _fee(session: Session, encounter: Encounter, amount: int) -> FeeLine:
    line = FeeLine(encounter_id=encounter.id, category="bed", amount_fen=amount)
    session.add(line)
    session.flush()
    return line


def _arrange(engine: Engine) -> Arranged:
    with unit_of_work(engine) as session:
        first = session.scalar(select(func.min(Encounter.started_at)))
        assert first is not None
        year = local(first).year
        at = places(session)
        still_in = _visit(session, "inpatient", shanghai(year, 3, 20), None)
        fee = _fee(session, still_in, 120_000)
        late = _visit(session, "inpatient", shanghai(year, 3, 28), shanghai(year, 4, 3))
        _fee(session, late, 300_000)
        midnight = _visit(
            session, "outpatient", shanghai(year, 4, 1, 0, 30), shanghai(year, 4, 1, 0, 50)
        )
        referral = _visit(
            session,
            "outpatient",
            shanghai(year, 5, 6),
            shanghai(year, 5, 6, 9, 20),
            referral="up",
            referred_from_id=at.center.id,
        )
        lonely = _visit(
            session, "outpatient", shanghai(year - 1, 12, 15), shanghai(year - 1, 12, 15, 9, 30)
        )
        return Arranged(
            year=year,
            open_stay=str(still_in.id),
            open_stay_fee=str(fee.id),
            late_discharge=str(late.id),
            midnight_visit=str(midnight.id),
            referral=str(referral.id),
            referred_from=str(at.center.id),
            lonely_month=f"{year - 1}-12",
            lonely_visit=str(lonely.id),
        )


@pytest.fixture(scope="module")
def arranged_county(
    template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ExportedCounty, Arranged]]:
    """The test county with the arranged visits, exported once per backend."""
    where = tmp_path_factory.mktemp("arranged")
    database = copy_database(template.backend, template.location, where)
    engine = database.engine()
    arranged = _arrange(engine)
    lake = Lake(where / "lake")
    report = export_lake(engine, lake)
    engine.dispose()
    yield ExportedCounty(database, lake, report), arranged
    drop_database(database)


@pytest.fixture(scope="module")
def exported_county(arranged_county: tuple[ExportedCounty, Arranged]) -> ExportedCounty:
    """This module's exported county is the arranged one."""
    return arranged_county[0]


@pytest.fixture(scope="module")
def arranged(arranged_county: tuple[ExportedCounty, Arranged]) -> Arranged:
    """The arranged visits of the exported county."""
    return arranged_county[1]


@pytest.fixture
def county_engine(exported_county: ExportedCounty) -> Iterator[Engine]:
    """An engine on the exported county's database, for reading it (closed after the test, as
    copies of the database may be made only while nobody is connected to it)."""
    engine = exported_county.database.engine()
    yield engine
    engine.dispose()


def _month_of(encounter: Encounter) -> str:
    counted = encounter.ended_at if encounter.kind == "inpatient" else encounter.started_at
    assert counted is not None
    return local(counted).strftime("%Y-%m")


# --- what lands where ---------------------------------------------------------------------


def test_every_visit_lands_once_with_its_values_and_month(
    exported_county: ExportedCounty, county_engine: Engine
) -> None:
    with unit_of_work(county_engine) as session:
        codes = dict(session.execute(select(Department.id, Department.code)).all())
        expected = {
            str(e.id): {
                "institution_id": str(e.institution_id),
                "month": _month_of(e),
                "resident_key": str(e.resident_id),
                "kind": e.kind,
                "started_at": e.started_at,
                "ended_at": e.ended_at,
                "department": codes.get(e.department_id),
                "diagnosis_code": e.diagnosis_code,
                "total_fen": e.total_fen,
                "referral": e.referral,
                "referred_from_id": str(e.referred_from_id) if e.referred_from_id else None,
            }
            for e in session.scalars(select(Encounter))
            if e.kind != "inpatient" or e.ended_at is not None
        }
    rows = table_of(exported_county.lake, "visits").to_pylist()
    found = {row.pop("visit_id"): row for row in rows}
    assert len(rows) == len(found) == len(expected)
    assert found == expected


def test_every_fee_line_lands_once_in_its_visits_month_with_its_kind(
    exported_county: ExportedCounty, county_engine: Engine
) -> None:
    with unit_of_work(county_engine) as session:
        expected = {
            str(line.id): (str(e.id), str(e.institution_id), _month_of(e), e.kind, line.amount_fen)
            for line, e in session.execute(
                select(FeeLine, Encounter).join(Encounter, Encounter.id == FeeLine.encounter_id)
            ).all()
            if e.kind != "inpatient" or e.ended_at is not None
        }
    rows = table_of(exported_county.lake, "fees").to_pylist()
    found = {
        r["line_id"]: (r["visit_id"], r["institution_id"], r["month"], r["kind"], r["amount_fen"])
        for r in rows
    }
    assert len(rows) == len(expected)
    assert found == expected


def test_every_booking_lands_with_its_wait_from_check_in_to_call(
    exported_county: ExportedCounty, county_engine: Engine
) -> None:
    with unit_of_work(county_engine) as session:
        expected = {
            str(b.id): (
                b.day.strftime("%Y-%m"),
                b.status,
                int((b.called_at - b.checked_in_at).total_seconds())
                if b.called_at and b.checked_in_at
                else None,
            )
            for b in session.scalars(select(Booking))
        }
    rows = table_of(exported_county.lake, "bookings").to_pylist()
    found = {r["booking_id"]: (r["month"], r["status"], r["wait_seconds"]) for r in rows}
    assert len(rows) == len(expected)
    assert found == expected
    assert any(wait for _, _, wait in found.values())


def test_institutions_are_one_file_with_their_community(
    exported_county: ExportedCounty, county_engine: Engine
) -> None:
    lake = exported_county.lake
    assert [e.path for e in lake.entries("institutions")] == ["institutions/institutions.parquet"]
    rows = {r["institution_id"]: r for r in table_of(lake, "institutions").to_pylist()}
    with unit_of_work(county_engine) as session:
        at = places(session)
        assert len(rows) == session.scalar(select(func.count()).select_from(Institution))
        center = rows[str(at.center.id)]
        assert (center["code"], center["tier"]) == (at.center.code, "township")
        assert (center["community_id"], center["community_name"]) == (
            str(at.community.id),
            at.community.name,
        )
        assert rows[str(at.bureau.id)]["community_id"] is None


def test_a_stay_not_yet_discharged_is_left_out_with_its_fees(
    exported_county: ExportedCounty, arranged: Arranged
) -> None:
    assert arranged.open_stay not in ids_in(exported_county.lake, "visits", "visit_id")
    assert arranged.open_stay_fee not in ids_in(exported_county.lake, "fees", "line_id")


def test_a_stay_counts_in_the_month_it_ended(
    exported_county: ExportedCounty, arranged: Arranged
) -> None:
    april = f"{arranged.year}-04"
    visits = table_of(exported_county.lake, "visits").to_pylist()
    stay = next(v for v in visits if v["visit_id"] == arranged.late_discharge)
    assert local(stay["started_at"]).month == 3
    assert stay["month"] == april
    fees = [
        f
        for f in table_of(exported_county.lake, "fees").to_pylist()
        if f["visit_id"] == stay["visit_id"]
    ]
    assert [f["month"] for f in fees] == [april]


def test_months_are_the_county_clock_not_utc(
    exported_county: ExportedCounty, arranged: Arranged
) -> None:
    visit = next(
        v
        for v in table_of(exported_county.lake, "visits").to_pylist()
        if v["visit_id"] == arranged.midnight_visit
    )
    assert visit["started_at"].month == 3  # 16:30 UTC on the 31st of March
    assert visit["month"] == f"{arranged.year}-04"


def test_a_referral_keeps_its_direction_and_origin(
    exported_county: ExportedCounty, arranged: Arranged
) -> None:
    visit = next(
        v
        for v in table_of(exported_county.lake, "visits").to_pylist()
        if v["visit_id"] == arranged.referral
    )
    assert (visit["referral"], visit["referred_from_id"]) == ("up", arranged.referred_from)


def test_files_lie_in_their_month_and_institution_and_hold_only_those_rows(
    exported_county: ExportedCounty,
) -> None:
    lake = exported_county.lake
    for dataset in (VISITS, FEES, BOOKINGS):
        entries = lake.entries(dataset.name)
        assert entries and all(e.source == "export" for e in entries)
        for entry in entries[:: max(1, len(entries) // 25)]:
            directory = partition_dir(dataset, entry.month, entry.institution_id)
            assert entry.path.startswith(directory + "/export-")
            table = pq.ParquetFile(lake.root / entry.path).read()
            assert table.schema.equals(dataset.arrow_schema())
            assert table.num_rows == entry.rows
            assert set(table.column("month").to_pylist()) == {entry.month}
            assert set(table.column("institution_id").to_pylist()) == {entry.institution_id}
    assert pq.ParquetFile(lake.files("institutions")[0]).schema_arrow.equals(
        INSTITUTIONS.arrow_schema()
    )


def test_the_report_counts_what_was_written(exported_county: ExportedCounty) -> None:
    report, lake = exported_county.report, exported_county.lake
    for dataset in ("visits", "fees", "bookings"):
        part = report.of(dataset)
        assert part.rows == lake.snapshot().rows(dataset)
        assert part.files == len(lake.files(dataset))
        assert set(part.rewritten) == {e.month for e in lake.entries(dataset)}
        assert part.unchanged == () and part.removed == ()
    assert report.of("institutions").files == 1


# --- incremental runs ---------------------------------------------------------------------


def _paths_by_month(lake: Lake, dataset: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for entry in lake.entries(dataset):
        found.setdefault(entry.month or "", set()).add(entry.path)
    return found


def _add_march_visit(engine: Engine, year: int) -> str:
    with unit_of_work(engine) as session:
        visit = _visit(session, "outpatient", shanghai(year, 3, 9), shanghai(year, 3, 9, 9, 15))
        _fee(session, visit, 4_500)
        return str(visit.id)


def test_a_rerun_without_changes_writes_nothing(exported: Exported) -> None:
    before = exported.lake.snapshot()
    report = export_lake(exported.engine, exported.lake)
    assert (report.rows, report.files) == (0, 0)
    assert all(not d.rewritten and not d.removed for d in report.datasets)
    assert exported.lake.snapshot() == before


def test_a_new_visit_in_march_rewrites_march_only(exported: Exported, arranged: Arranged) -> None:
    march = f"{arranged.year}-03"
    before = {d: _paths_by_month(exported.lake, d) for d in ("visits", "fees", "bookings")}
    new = _add_march_visit(exported.engine, arranged.year)
    report = export_lake(exported.engine, exported.lake)
    assert report.of("visits").rewritten == (march,)
    assert report.of("fees").rewritten == (march,)
    assert report.of("bookings").rewritten == ()
    assert march not in report.of("visits").unchanged
    for dataset, months in before.items():
        after = _paths_by_month(exported.lake, dataset)
        assert {m: p for m, p in after.items() if m != march} == {
            m: p for m, p in months.items() if m != march
        }
    for old in before["visits"][march]:
        assert not (exported.lake.root / old).exists()
    assert new in ids_in(exported.lake, "visits", "visit_id")
    assert report.of("visits").rows == sum(
        e.rows for e in exported.lake.entries("visits") if e.month == march
    )


def test_a_discharge_brings_the_stay_into_the_month_it_ended(
    exported: Exported, arranged: Arranged
) -> None:
    with unit_of_work(exported.engine) as session:
        session.execute(
            update(Encounter)
            .where(Encounter.id == uuid.UUID(arranged.open_stay))
            .values(ended_at=shanghai(arranged.year, 4, 20))
        )
    report = export_lake(exported.engine, exported.lake)
    assert report.of("visits").rewritten == (f"{arranged.year}-04",)
    assert report.of("fees").rewritten == (f"{arranged.year}-04",)
    assert arranged.open_stay in ids_in(exported.lake, "visits", "visit_id")
    assert arranged.open_stay_fee in ids_in(exported.lake, "fees", "line_id")


def test_a_month_left_without_rows_loses_its_files(exported: Exported, arranged: Arranged) -> None:
    month = arranged.lonely_month
    (gone,) = [e for e in exported.lake.entries("visits") if e.month == month]
    with unit_of_work(exported.engine) as session:
        session.execute(delete(Encounter).where(Encounter.id == uuid.UUID(arranged.lonely_visit)))
    report = export_lake(exported.engine, exported.lake)
    assert report.of("visits").removed == (month,)
    assert report.of("visits").rewritten == ()
    assert all(e.month != month for e in exported.lake.entries("visits"))
    assert not (exported.lake.root / gone.path).parent.parent.exists()  # month=... pruned
    with unit_of_work(exported.engine) as session:
        assert session.get(LakeWatermark, ("visits", month)) is None


def test_a_full_export_rewrites_every_month(exported: Exported) -> None:
    months = {e.month for e in exported.lake.entries("visits")}
    report = export_lake(exported.engine, exported.lake, full=True)
    assert set(report.of("visits").rewritten) == months
    assert report.of("visits").rows == exported.lake.snapshot().rows("visits")


def test_watermarks_lost_after_the_lake_commit_only_cost_a_rewrite(
    exported: Exported, arranged: Arranged
) -> None:
    march = f"{arranged.year}-03"
    _add_march_visit(exported.engine, arranged.year)
    session = session_factory(exported.engine)()
    try:
        export_lake(exported.engine, exported.lake, session=session)
        session.rollback()  # the process died before the database committed the watermarks
    finally:
        session.close()
    report = export_lake(exported.engine, exported.lake)
    assert report.of("visits").rewritten == (march,)
    with unit_of_work(exported.engine) as session:
        in_db = session.scalar(select(func.count()).select_from(Encounter))
    assert exported.lake.snapshot().rows("visits") == in_db - 1  # the open stay


def test_the_export_never_touches_pushed_files(exported: Exported, arranged: Arranged) -> None:
    march = f"{arranged.year}-03"
    with unit_of_work(exported.engine) as session:
        lead = places(session).lead
        csv = (
            "visit_id,institution_id,month,resident_key,kind,started_at,diagnosis_code,total_fen\n"
            f"HIS-1,{lead.id},{march},P1,outpatient,{arranged.year}-03-12T10:00:00+08:00,I10,3000\n"
        )
        result = analytics.load_lake_file(
            session,
            actor(session, "system_admin"),
            exported.lake,
            dataset="visits",
            filename="his.csv",
            data=csv.encode(),
            institution_id=lead.id,
        )
    (pushed,) = [e for e in exported.lake.entries("visits") if e.source == "upload"]
    assert result.loaded and pushed.path in result.file.paths
    _add_march_visit(exported.engine, arranged.year)
    report = export_lake(exported.engine, exported.lake)
    assert report.of("visits").rewritten == (march,)  # the month the pushed file is in
    assert pushed in exported.lake.entries("visits")
    assert (exported.lake.root / pushed.path).exists()
    assert "HIS-1" in ids_in(exported.lake, "visits", "visit_id")


def test_an_in_memory_database_cannot_be_exported(tmp_path: Path) -> None:
    from yigongti.db import make_engine

    with pytest.raises(ValueError, match="in-memory"):
        export_lake(make_engine("sqlite://"), Lake(tmp_path / "lake"))


def test_a_corrected_amount_rewrites_its_month(exported: Exported) -> None:
    with unit_of_work(exported.engine) as session:
        visit = session.scalar(
            select(Encounter).where(Encounter.kind == "outpatient").order_by(Encounter.id)
        )
        assert visit is not None
        visit.total_fen += 1
        month = local(visit.started_at).strftime("%Y-%m")
    report = export_lake(exported.engine, exported.lake)
    assert report.of("visits").rewritten == (month,)
    assert report.of("fees").rewritten == ()

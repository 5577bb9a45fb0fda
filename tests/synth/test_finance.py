"""The finance reports and insurance settlements a built county's institutions push."""

from __future__ import annotations

import io
import itertools
from collections import defaultdict
from datetime import date, datetime

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.synth.helpers import YEAR, Built
from yigongti.analytics.lake.schema import FINANCE, OUTSIDE_STAYS
from yigongti.clinical.models import Encounter
from yigongti.kernel.timeutil import SHANGHAI
from yigongti.registry.models import Institution, Resident
from yigongti.synth.finance import finance_reports, outside_stays, to_csv_bytes

SEED = 5
YI_FEN = 100_000_000 * 100  # one 亿 (100 million) yuan in fen
REPORTING = ("county_hospital", "township_center", "community_center")


def _kinds(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {str(i): k for i, k in session.execute(select(Institution.id, Institution.kind))}


def test_finance_reports_have_the_lake_schema(county: Built) -> None:
    table = finance_reports(county.engine, YEAR, SEED)
    assert table.schema.equals(FINANCE.arrow_schema())
    assert table.column_names == list(FINANCE.names)


def test_hospitals_and_centers_report_every_month_and_village_clinics_do_not(
    county: Built,
) -> None:
    table = finance_reports(county.engine, YEAR, SEED)
    kinds = _kinds(county.engine)
    months: dict[str, set[str]] = defaultdict(set)
    for row in table.select(["institution_id", "month"]).to_pylist():
        months[row["institution_id"]].add(row["month"])
    assert {i for i, k in kinds.items() if k in REPORTING} == set(months)
    assert all(m == {f"{YEAR}-{n:02d}" for n in range(1, 13)} for m in months.values())
    assert table.num_rows == 12 * len(months)


def test_assets_are_hundreds_of_millions_at_hospitals_and_tens_at_centers(
    county: Built,
) -> None:
    kinds = _kinds(county.engine)
    for row in finance_reports(county.engine, YEAR, SEED).to_pylist():
        if kinds[row["institution_id"]] == "county_hospital":
            assert 1 * YI_FEN <= row["assets_fen"] <= 20 * YI_FEN
        else:
            assert 0.1 * YI_FEN <= row["assets_fen"] < 1 * YI_FEN


def test_liability_ratios_spread_around_the_seed_figure_and_drift_slowly(
    county: Built,
) -> None:
    kinds = _kinds(county.engine)
    series: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in finance_reports(county.engine, YEAR, SEED).to_pylist():
        series[row["institution_id"]].append((row["assets_fen"], row["liabilities_fen"]))
    december = [s[-1] for i, s in series.items() if kinds[i] == "county_hospital"]
    hospitals = sum(debt for _, debt in december) / sum(assets for assets, _ in december)
    assert abs(hospitals - 0.3047) < 1e-4  # seed 002: five public hospitals, 30.47%
    ratios = [[debt / assets for assets, debt in s] for s in series.values()]
    assert all(0.05 <= r <= 0.7 for rs in ratios for r in rs)
    assert max(rs[0] for rs in ratios) - min(rs[0] for rs in ratios) > 0.1  # a spread
    assert all(abs(b - a) < 0.015 for rs in ratios for a, b in itertools.pairwise(rs))
    for s in series.values():
        assert all(0.97 < b[0] / a[0] < 1.03 for a, b in itertools.pairwise(s))


def test_the_same_seed_gives_the_same_reports_on_a_session_or_an_engine(
    county: Built,
) -> None:
    with Session(county.engine) as session:
        from_session = finance_reports(session, YEAR, SEED)
        stays = outside_stays(session, YEAR, SEED)
    assert finance_reports(county.engine, YEAR, SEED).equals(from_session)
    assert outside_stays(county.engine, YEAR, SEED).equals(stays)
    assert not finance_reports(county.engine, YEAR, SEED + 1).equals(from_session)
    assert not outside_stays(county.engine, YEAR, SEED + 1).equals(stays)


def _in_county_rate(engine: Engine, stays: pa.Table) -> float:
    """Stays discharged in the year inside the county over those and the outside ones."""
    with Session(engine) as session:
        inside = session.scalar(
            select(func.count())
            .select_from(Encounter)
            .where(
                Encounter.kind == "inpatient",
                Encounter.ended_at < datetime(YEAR + 1, 1, 1, tzinfo=SHANGHAI),
            )
        )
    assert inside
    return inside / (inside + stays.num_rows)


def test_outside_stays_put_the_in_county_visit_rate_at_the_seed_figure(county: Built) -> None:
    stays = outside_stays(county.engine, YEAR, SEED)
    assert stays.schema.equals(OUTSIDE_STAYS.arrow_schema())
    assert abs(_in_county_rate(county.engine, stays) - 0.818) < 0.002  # seed 002: 81.8%


def test_reports_and_settlements_of_the_small_test_county_on_each_backend(
    engine: Engine,
) -> None:
    reports = finance_reports(engine, YEAR, SEED)
    assert reports.schema.equals(FINANCE.arrow_schema())
    with Session(engine) as session:
        reporting = session.scalar(
            select(func.count()).select_from(Institution).where(Institution.kind.in_(REPORTING))
        )
    assert reports.num_rows == 12 * reporting
    stays = outside_stays(engine, YEAR, SEED)
    assert stays.schema.equals(OUTSIDE_STAYS.arrow_schema())
    assert stays.num_rows > 0
    assert abs(_in_county_rate(engine, stays) - 0.818) < 0.01


def test_outside_stays_are_settled_stays_of_insured_residents(county: Built) -> None:
    with Session(county.engine) as session:
        insured = {
            str(i): kind
            for i, kind in session.execute(select(Resident.id, Resident.insurance_type))
        }
    rows = outside_stays(county.engine, YEAR, SEED).to_pylist()
    assert len({r["settlement_id"] for r in rows}) == len(rows)
    assert {r["hospital_region"] for r in rows} >= {"云州市", "杭州市"}
    for r in rows:
        assert insured[r["resident_key"]] != "none"
        assert r["admitted_on"] <= r["discharged_on"]
        assert r["discharged_on"].year == YEAR
        assert r["month"] == f"{r['discharged_on']:%Y-%m}"  # settled at discharge
        assert r["amount_fen"] >= 100
    mean_yuan = sum(r["amount_fen"] for r in rows) / len(rows) / 100
    assert 12_000 <= mean_yuan <= 25_000  # dearer than a county hospital stay


def test_csv_is_utf8_with_a_header_iso_dates_and_reads_back_as_the_table(
    county: Built,
) -> None:
    for table, dataset in (
        (outside_stays(county.engine, YEAR, SEED), OUTSIDE_STAYS),
        (finance_reports(county.engine, YEAR, SEED), FINANCE),
    ):
        data = to_csv_bytes(table)
        lines = data.decode("utf-8").split("\n")
        assert lines[0] == ",".join(dataset.names)
        assert lines[-1] == "" and len(lines) == table.num_rows + 2  # a newline ends each row
        first = dict(zip(dataset.names, lines[1].split(","), strict=True))
        for name, value in table.slice(0, 1).to_pylist()[0].items():
            expected = value.isoformat() if isinstance(value, date) else str(value)
            assert first[name] == expected
        schema = dataset.arrow_schema()
        read = pacsv.read_csv(
            io.BytesIO(data),
            convert_options=pacsv.ConvertOptions(column_types={f.name: f.type for f in schema}),
        )
        assert read.cast(schema).equals(table)

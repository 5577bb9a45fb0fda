"""The bureau's dashboard over a real computed lake: the test county exported, computed by the
DuckDB engine and saved, then read through the dashboard's use cases.

Figures are checked against the operational database itself (visits and fee lines counted
here in Python, month by month as the lake counts them), not against the engine's output, so
a wrong join or period anywhere between the tables and the tile fails a test.
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from tests.analytics.conftest import ExportedCounty
from tests.support import actor, last_audit, places
from yigongti import analytics
from yigongti.analytics.catalog.model import UNITS, Indicator, builtin_catalog
from yigongti.analytics.compute import compute_catalog, save_results
from yigongti.analytics.models import Alert
from yigongti.analytics.pages.common import UNIT_MSGIDS
from yigongti.clinical.models import Encounter, FeeLine
from yigongti.db import unit_of_work
from yigongti.kernel import Forbidden, Invalid, NotFound, local
from yigongti.registry.models import Institution
from yigongti.security import Actor
from yigongti.web.i18n import english_catalog

CATALOG = builtin_catalog()
PRIMARY = ("township", "village")
OUTPATIENT = ("outpatient", "emergency")


@dataclass(frozen=True)
class Computed:
    """The exported test county with its indicators computed and saved beside the lake."""

    engine: Engine
    lake: Path
    results: pa.Table
    county: str


def compute_into(root: Path, county: str) -> pa.Table:
    """Compute the built-in catalog over the lake at ``root`` and save the values there."""
    table = compute_catalog(CATALOG, root, county)
    save_results(root, table)
    return table


@pytest.fixture(scope="module")
def computed(
    exported_county: ExportedCounty, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Computed]:
    """Computed once per module and backend; tests read it and never change it."""
    root = tmp_path_factory.mktemp("dashboard") / "lake"
    shutil.copytree(exported_county.lake.root, root)
    engine = exported_county.database.engine()
    with unit_of_work(engine) as session:
        county = places(session).center.county_code
    yield Computed(engine, root, compute_into(root, county), county)
    engine.dispose()


@pytest.fixture
def analyst(computed: Computed) -> Iterator[tuple[Session, Actor]]:
    """A session on the computed county and the bureau analyst acting in it."""
    with unit_of_work(computed.engine) as session:
        yield session, actor(session, "bureau_analyst")


# --- what the operational database says, counted here ---------------------------------------


def month_of(kind: str, started: datetime, ended: datetime | None) -> str | None:
    """The month a visit counts in: a stay in its month of discharge (none while open)."""
    moment = ended if kind == "inpatient" else started
    return None if moment is None else f"{local(moment):%Y-%m}"


def visits_by_month(session: Session) -> list[tuple[str, str, str | None, str | None, str]]:
    """(month, kind, tier, referral, referring tier) of every visit in the county."""
    sender = aliased(Institution)
    rows = session.execute(
        select(
            Encounter.kind,
            Encounter.started_at,
            Encounter.ended_at,
            Institution.tier,
            Encounter.referral,
            sender.tier,
        )
        .join(Institution, Institution.id == Encounter.institution_id)
        .outerjoin(sender, sender.id == Encounter.referred_from_id)
    ).all()
    found = []
    for kind, started, ended, tier, referral, sender_tier in rows:
        month = month_of(kind, started, ended)
        if month is not None:
            found.append((month, kind, tier, referral, sender_tier))
    return found


def drug_share_by_month(session: Session) -> dict[str, float]:
    """Drug revenue ÷ all fee revenue × 100, county-wide, per month."""
    rows = session.execute(
        select(
            Encounter.kind,
            Encounter.started_at,
            Encounter.ended_at,
            FeeLine.category,
            func.sum(FeeLine.amount_fen),
        )
        .join(FeeLine, FeeLine.encounter_id == Encounter.id)
        .group_by(Encounter.id, FeeLine.category)
    ).all()
    drug: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for kind, started, ended, category, amount in rows:
        month = month_of(kind, started, ended)
        if month is None:
            continue
        total[month] += int(amount)  # PostgreSQL sums to a Decimal
        if category == "drug":
            drug[month] += int(amount)
    return {m: 100.0 * drug[m] / total[m] for m in total if total[m]}


def expected_light(indicator: Indicator, period: str, value: float) -> str:
    """The traffic light as the catalog's targets define it, written out per direction."""
    target = indicator.target_for(period)
    assert target is not None and target.alert is not None
    better = value >= target.target if indicator.direction == "higher" else value <= target.target
    worse = value < target.alert if indicator.direction == "higher" else value > target.alert
    return "green" if better else "red" if worse else "amber"


# --- headline tiles ------------------------------------------------------------------------


def test_the_county_tiles_show_the_primary_care_share_the_visits_give(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    visits = visits_by_month(session)
    months = sorted({v[0] for v in visits if v[1] in OUTPATIENT})
    tiles = {t.indicator: t for t in analytics.headline(session, who, computed.lake)}
    tile = tiles["primary_visit_share"]
    assert tile.period == months[-1]  # the latest month with visits
    month = [v for v in visits if v[0] == tile.period and v[1] in OUTPATIENT]
    primary = sum(1 for v in month if v[2] in PRIMARY)
    assert tile.value == pytest.approx(100.0 * primary / len(month))
    assert (tile.grain, tile.unit_id, tile.unit) == ("county", computed.county, "%")
    assert (tile.numerator, tile.denominator) == (primary, len(month))


def test_a_chosen_month_shows_that_months_drug_share_and_its_traffic_light(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    shares = drug_share_by_month(session)
    indicator = CATALOG.indicators["drug_share"]
    for month in sorted(shares)[:12]:
        tiles = {t.indicator: t for t in analytics.headline(session, who, computed.lake, month)}
        tile = tiles["drug_share"]
        assert tile.period == month
        assert tile.value == pytest.approx(shares[month])
        assert (tile.target, tile.alert) == (30.0, 33.0)
        assert tile.status == expected_light(indicator, month, shares[month])


def test_headline_tiles_come_in_the_dashboard_order_and_a_community_has_no_county_only_tile(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    county = [t.indicator for t in analytics.headline(session, who, computed.lake)]
    assert county == [c for c in analytics.HEADLINE if c in CATALOG.indicators]
    community = str(places(session).community.id)
    tiles = analytics.headline(session, who, computed.lake, community_id=community)
    assert "in_county_visit_rate" not in {t.indicator for t in tiles}
    assert {t.grain for t in tiles} == {"community"} and {t.unit_id for t in tiles} == {community}


def test_a_quarter_tile_counts_the_three_months_of_the_quarter(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    quarter = [v for v in visits_by_month(session) if v[0] in ("2025-04", "2025-05", "2025-06")]
    outpatient = [v for v in quarter if v[1] in OUTPATIENT]
    tiles = {t.indicator: t for t in analytics.headline(session, who, computed.lake, "2025Q2")}
    share = 100.0 * sum(1 for v in outpatient if v[2] in PRIMARY) / len(outpatient)
    assert tiles["primary_visit_share"].value == pytest.approx(share)
    assert tiles["primary_visit_share"].period == "2025Q2"


def test_a_period_without_values_shows_empty_tiles_with_their_targets(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    tiles = analytics.headline(session, who, computed.lake, "2019-06")
    assert tiles and all(t.value is None and t.status is None for t in tiles)
    assert {t.period for t in tiles} == {"2019-06"}
    drug = next(t for t in tiles if t.indicator == "drug_share")
    assert drug.target is None  # the catalog's targets start in 2025


# --- trend and ranking ----------------------------------------------------------------------


def test_the_trend_lists_every_month_oldest_first_with_its_target(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    shares = drug_share_by_month(session)
    trend = analytics.trend(session, who, computed.lake, "drug_share", "county", computed.county)
    assert [p.period for p in trend.points] == sorted(shares)
    assert [p.value for p in trend.points] == pytest.approx([shares[m] for m in sorted(shares)])
    assert {p.target for p in trend.points if p.period.startswith("2025")} == {30.0}


def test_the_ranking_puts_the_best_first_by_the_indicators_direction(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    lower = analytics.ranking(session, who, computed.lake, "drug_share", "2025")
    values = [r.value for r in lower.rows if r.rank is not None]
    assert len(values) > 3 and values == sorted(values)  # lower is better
    higher = analytics.ranking(session, who, computed.lake, "on_time_rate", "2025")
    values = [r.value for r in higher.rows if r.rank is not None]
    assert len(values) > 3 and values == sorted(values, reverse=True)
    assert [r.rank for r in higher.rows if r.rank] == list(range(1, len(values) + 1))
    assert {r.unit.grain for r in higher.rows} == {"institution"}


def test_a_communitys_ranking_holds_its_own_institutions_only(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    community = places(session).community.id
    members = set(
        session.scalars(select(Institution.id).where(Institution.community_id == community))
    )
    ranking = analytics.ranking(
        session, who, computed.lake, "drug_share", "2025", community_id=str(community)
    )
    assert ranking.rows and {uuid.UUID(r.unit.unit_id) for r in ranking.rows} <= members
    everyone = analytics.ranking(session, who, computed.lake, "drug_share", "2025")
    assert len(everyone.rows) > len(ranking.rows)


def test_an_indicator_without_institution_values_ranks_communities(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    with pytest.raises(Invalid) as refused:
        analytics.ranking(session, who, computed.lake, "primary_visit_share", "2025")
    assert refused.value.fields[0].field == "grain"
    ranking = analytics.ranking(
        session, who, computed.lake, "primary_visit_share", "2025", grain="community"
    )
    communities = session.scalar(
        select(func.count(func.distinct(Institution.community_id))).where(
            Institution.community_id.is_not(None)
        )
    )
    assert len(ranking.rows) == communities


# --- referral flows -------------------------------------------------------------------------


def test_referral_flows_count_referred_visits_from_the_sending_to_the_receiving_tier(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    referred = [
        (sender, tier, referral)
        for month, _, tier, referral, sender in visits_by_month(session)
        if referral is not None and month.startswith("2025")
    ]
    counted = Counter(r for r in referred if r[0] is not None)
    assert counted, "the test county has referrals"
    flows = analytics.referral_flows(session, who, computed.lake, "2025")
    found = {(link.from_tier, link.to_tier, link.direction): link.visits for link in flows.links}
    assert found == dict(counted)
    assert flows.unattributed == sum(1 for r in referred if r[0] is None)
    assert {n.id for n in flows.nodes} == {
        x for link in flows.links for x in (link.source, link.target)
    }


def test_referral_flows_of_a_month_without_files_are_empty(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    flows = analytics.referral_flows(session, who, computed.lake, "2019-06")
    assert (flows.links, flows.nodes, flows.unattributed) == ([], [], 0)


# --- the records behind a number ------------------------------------------------------------


def _every_page(
    session: Session, who: Actor, lake: Path, *args: str, side: str, limit: int
) -> list[analytics.RecordsPage]:
    pages, offset = [], 0
    while True:
        page = analytics.records_behind(
            session, who, lake, *args, side=side, limit=limit, offset=offset
        )
        pages.append(page)
        if not any(m.rows for m in page.measures):
            return pages
        offset += limit


def test_the_records_behind_an_institutions_drug_share_add_up_to_its_value(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    ranking = analytics.ranking(session, who, computed.lake, "drug_share", "2025-06")
    row = next(r for r in ranking.rows if r.numerator and r.numerator > 0)
    where = ("drug_share", "institution", row.unit.unit_id, "2025-06")
    for side, expected in (("numerator", row.numerator), ("denominator", row.denominator)):
        pages = _every_page(session, who, computed.lake, *where, side=side, limit=7)
        rows = [r for p in pages for m in p.measures for r in m.rows]
        assert sum(r["amount_fen"] for r in rows) == expected
        assert len({r["line_id"] for r in rows}) == len(rows) == pages[0].measures[0].total
        assert pages[0].measures[0].amount == expected
        assert {r["institution_id"] for r in rows} == {row.unit.unit_id}
        assert {r["month"] for r in rows} == {"2025-06"}


def test_the_records_behind_a_count_are_that_many_visits_without_identity(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    tile = next(
        t
        for t in analytics.headline(session, who, computed.lake, "2025-03")
        if t.indicator == "primary_visit_share"
    )
    page = analytics.records_behind(
        session, who, computed.lake, "primary_visit_share", "county", computed.county, "2025-03"
    )
    (part,) = page.measures
    assert part.measure == "primary_visits" and part.total == tile.numerator
    assert len(part.rows) == 50 and "resident_key" in part.columns
    assert not {"name", "id_number", "phone"} & set(part.columns)


def test_reading_records_is_audited_without_naming_a_person(computed: Computed) -> None:
    with unit_of_work(computed.engine) as session:
        who = actor(session, "bureau_analyst")
        analytics.records_behind(
            session, who, computed.lake, "drug_share", "county", computed.county, "2025-03", limit=5
        )
    with unit_of_work(computed.engine) as session:
        entry = last_audit(session)
    assert (entry.action, entry.object_type, entry.object_id) == (
        "read",
        "lake_records",
        "drug_share",
    )
    assert entry.actor_name == who.username and entry.person_id is None
    assert entry.detail == f"numerator at county {computed.county} in 2025-03: 5 rows from 0"


def test_a_growth_indicator_and_a_missing_denominator_have_no_records(
    analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    where = ("county", computed.county, "2025")
    with pytest.raises(Invalid) as growth:
        analytics.records_behind(session, who, computed.lake, "total_cost_growth", *where)
    assert "medical_revenue_total" in growth.value.en
    with pytest.raises(Invalid) as side:
        analytics.records_behind(
            session, who, computed.lake, "up_referrals", *where, side="denominator"
        )
    assert side.value.fields[0].field == "side"


# --- refusals and messages ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["township_doctor", "system_admin", "cdc_officer"])
def test_roles_without_aggregate_read_see_no_figures(role: str, computed: Computed) -> None:
    with unit_of_work(computed.engine) as session:
        who = actor(session, role)
        calls = [
            lambda: analytics.headline(session, who, computed.lake),
            lambda: analytics.trend(
                session, who, computed.lake, "drug_share", "county", computed.county
            ),
            lambda: analytics.ranking(session, who, computed.lake, "drug_share"),
            lambda: analytics.referral_flows(session, who, computed.lake, "2025"),
            lambda: analytics.records_behind(
                session, who, computed.lake, "drug_share", "county", computed.county, "2025"
            ),
        ]
        for call in calls:
            with pytest.raises(Forbidden):
                call()


def test_before_the_first_compute_the_dashboard_says_what_to_run(
    analyst: tuple[Session, Actor], tmp_path: Path
) -> None:
    session, who = analyst
    with pytest.raises(analytics.NotComputed) as empty:
        analytics.headline(session, who, tmp_path / "lake")
    assert empty.value.zh == "尚未计算指标：请先运行数据中心导出与计算"
    assert "export and compute" in empty.value.en and empty.value.status == 409


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"indicator": "no_such_thing"}, "indicator"),
        ({"grain": "province"}, "grain"),
        ({"period_kind": "week"}, "period_kind"),
        ({"indicator": "in_county_visit_rate", "grain": "community"}, "grain"),
    ],
)
def test_a_trend_of_an_unknown_indicator_grain_or_kind_is_invalid(
    arguments: dict[str, str], field: str, analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    call = {"indicator": "drug_share", "grain": "county", "period_kind": "month", **arguments}
    with pytest.raises(Invalid) as refused:
        analytics.trend(
            session,
            who,
            computed.lake,
            call["indicator"],
            call["grain"],
            computed.county,
            call["period_kind"],
        )
    assert refused.value.fields[0].field == field


@pytest.mark.parametrize("period", ["2025-13", "25Q1", "2025Q5", "2025-3", ""])
def test_a_malformed_period_is_invalid(
    period: str, analyst: tuple[Session, Actor], computed: Computed
) -> None:
    session, who = analyst
    with pytest.raises(Invalid) as refused:
        analytics.headline(session, who, computed.lake, period)
    assert refused.value.fields[0].field == "period"


def test_an_unknown_unit_is_not_found(analyst: tuple[Session, Actor], computed: Computed) -> None:
    session, who = analyst
    stranger = str(uuid.uuid4())
    with pytest.raises(NotFound):
        analytics.trend(session, who, computed.lake, "drug_share", "institution", stranger)
    with pytest.raises(NotFound):
        analytics.headline(session, who, computed.lake, community_id=stranger)
    clinic = str(places(session).clinic.id)  # an institution is not a community
    with pytest.raises(NotFound):
        analytics.ranking(session, who, computed.lake, "drug_share", community_id=clinic)


# --- alerts ---------------------------------------------------------------------------------


def test_alerts_are_named_and_institution_staff_see_their_own_only(
    engine: Engine, computed: Computed
) -> None:
    lake = computed.lake  # read only; the alerts go to a fresh copy of the county
    with unit_of_work(engine) as session:
        assert analytics.evaluate_alerts(session, computed.results, CATALOG) > 0
    with unit_of_work(engine) as session:
        at = places(session)
        total, lines = analytics.alerts_for(session, actor(session, "bureau_analyst"), lake)
        assert total == session.scalar(select(func.count()).select_from(Alert))
        assert all(line.alert.status == "open" for line in lines)
        named = [line for line in lines if line.alert.grain == "institution"]
        assert named and all(line.unit_name for line in named)
        assert all(
            line.indicator_zh == CATALOG.indicators[line.alert.indicator].zh for line in lines
        )
        doctor = actor(session, "township_doctor")
        _, own = analytics.alerts_for(session, doctor, lake, limit=500)
        assert {line.alert.institution_id for line in own} <= {at.center.id}
        with pytest.raises(Forbidden):
            analytics.alerts_for(session, actor(session, "window_clerk"), lake)


def test_every_unit_of_the_catalog_has_an_english_name() -> None:
    english = english_catalog()
    named = [u for u in UNITS if u not in ("%", "‰")]
    assert set(named) == set(UNIT_MSGIDS), "pages list each unit as a msgid"
    assert all(english.get(u) and english[u] != u for u in named)

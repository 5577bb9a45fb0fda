"""Indicator alerts: evaluation opens one alert per breach and never twice, a closed breach
stays closed, staff see their own institution's alerts and the bureau all, and closing needs
alert:close and a note."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.analytics.test_reports import results
from tests.support import actor, last_audit, places
from yigongti import analytics
from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.analytics.models import Alert
from yigongti.db import unit_of_work
from yigongti.kernel import Conflict, Forbidden, Invalid, NotFound

CATALOG = builtin_catalog()


def breaches(session: Session) -> pa.Table:
    """No-show rate (target 8, alert 10; binds every tier) and in-county visit rate (90, 85)."""
    at = places(session)
    center, lead, clinic = str(at.center.id), str(at.lead.id), str(at.clinic.id)
    county = at.center.county_code
    return results(
        ("no_show_rate", "institution", center, "2026-03", 12.0, None, None),  # red
        ("no_show_rate", "institution", center, "2026Q1", 11.0, None, None),  # red
        ("no_show_rate", "institution", center, "2026-02", 9.0, None, None),  # amber
        ("no_show_rate", "institution", lead, "2026-03", 5.0, None, None),  # green
        ("no_show_rate", "institution", clinic, "2026-03", 15.0, None, None),  # red
        ("no_show_rate", "institution", clinic, "2026-01", None, None, None),  # no value
        ("in_county_visit_rate", "county", county, "2026", 80.0, None, None),  # red
        ("up_referrals", "institution", center, "2026-03", 999.0, None, None),  # no target
    )


def test_cost_control_targets_alert_county_hospitals_but_not_township_centers(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        table = results(
            ("drug_share", "institution", str(at.center.id), "2026-03", 60.0, None, None),
            ("drug_share", "institution", str(at.lead.id), "2026-03", 36.0, None, None),
        )
        assert analytics.evaluate_alerts(session, table, CATALOG) == 1
        (alert,) = _alerts(session)
    assert (alert.indicator, alert.unit_id) == ("drug_share", str(at.lead.id))


def _alerts(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).order_by(Alert.unit_id, Alert.period)))


def test_each_breach_past_the_threshold_opens_one_alert(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        assert analytics.evaluate_alerts(session, breaches(session), CATALOG) == 4
        found = {(a.indicator, a.unit_id, a.period): a for a in _alerts(session)}
    assert set(found) == {
        ("no_show_rate", str(at.center.id), "2026-03"),
        ("no_show_rate", str(at.center.id), "2026Q1"),
        ("no_show_rate", str(at.clinic.id), "2026-03"),
        ("in_county_visit_rate", at.center.county_code, "2026"),
    }
    march = found[("no_show_rate", str(at.center.id), "2026-03")]
    assert (march.value, march.threshold, march.status) == (12.0, 10.0, "open")
    assert march.institution_id == at.center.id and march.grain == "institution"
    assert found[("in_county_visit_rate", at.center.county_code, "2026")].institution_id is None


def test_evaluating_again_opens_nothing_twice(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        table = breaches(session)
        analytics.evaluate_alerts(session, table, CATALOG)
    with unit_of_work(engine) as session:
        assert analytics.evaluate_alerts(session, table, CATALOG) == 0
        assert len(_alerts(session)) == 4


def test_a_closed_breach_stays_closed_when_it_is_found_again(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        table = breaches(session)
        analytics.evaluate_alerts(session, table, CATALOG)
        admin = actor(session, "bureau_admin")
        first = _alerts(session)[0]
        analytics.close_alert(session, admin, first.id, "已约谈，整改中")
    with unit_of_work(engine) as session:
        newer = pa.concat_tables([table, results(*_rows_of(table), version=2)])
        assert analytics.evaluate_alerts(session, newer, CATALOG) == 0
        alert = session.get(Alert, first.id)
        assert alert is not None and alert.status == "closed"


def _rows_of(table: pa.Table) -> list[tuple]:
    columns = ["indicator", "grain", "unit_id", "period", "value", "yoy", "mom"]
    return [tuple(r[c] for c in columns) for r in table.to_pylist()]


def test_a_newer_version_back_within_the_threshold_opens_nothing(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        center = str(places(session).center.id)
        old = results(("no_show_rate", "institution", center, "2026-03", 12.0, None, None))
        new = results(
            ("no_show_rate", "institution", center, "2026-03", 7.0, None, None), version=2
        )
        assert analytics.evaluate_alerts(session, pa.concat_tables([new, old]), CATALOG) == 0


def test_an_institution_the_registry_does_not_know_keeps_its_id_but_no_institution(
    engine: Engine,
) -> None:
    stranger = str(uuid.uuid4())
    with unit_of_work(engine) as session:
        table = results(("no_show_rate", "institution", stranger, "2026-03", 15.0, None, None))
        assert analytics.evaluate_alerts(session, table, CATALOG) == 1
        (alert,) = _alerts(session)
        assert alert.unit_id == stranger and alert.institution_id is None


@pytest.fixture
def opened(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        analytics.evaluate_alerts(session, breaches(session), CATALOG)


@pytest.mark.usefixtures("opened")
def test_a_township_doctor_sees_only_his_institutions_alerts(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        doctor = actor(session, "township_doctor")
        total, seen = analytics.open_alerts(session, doctor)
        assert total == 2 and {a.institution_id for a in seen} == {at.center.id}
        # Asking for another institution's alerts shows none rather than them.
        assert analytics.open_alerts(session, doctor, at.clinic.id)[0] == 0
        clinic_alert = next(a for a in _alerts(session) if a.institution_id == at.clinic.id)
        with pytest.raises(NotFound):
            analytics.get_alert(session, doctor, clinic_alert.id)
        village = actor(session, "village_doctor")
        assert {a.institution_id for a in analytics.open_alerts(session, village)[1]} == {
            at.clinic.id
        }


@pytest.mark.usefixtures("opened")
def test_the_bureau_analyst_sees_every_alert_and_filters_them(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        at = places(session)
        analyst = actor(session, "bureau_analyst")
        assert analytics.open_alerts(session, analyst)[0] == 4
        assert analytics.open_alerts(session, analyst, at.center.id)[0] == 2
        assert analytics.open_alerts(session, analyst, indicator="in_county_visit_rate")[0] == 1
        assert analytics.open_alerts(session, analyst, period="2026Q1")[0] == 1
        assert analytics.open_alerts(session, analyst, status="closed")[0] == 0
        total, page = analytics.open_alerts(session, analyst, limit=3)
        assert total == 4 and len(page) == 3
        with pytest.raises(Invalid):
            analytics.open_alerts(session, analyst, status="done")


@pytest.mark.usefixtures("opened")
def test_roles_without_alert_read_see_no_alerts(engine: Engine) -> None:
    with unit_of_work(engine) as session, pytest.raises(Forbidden):
        analytics.open_alerts(session, actor(session, "cdc_officer"))


@pytest.mark.usefixtures("opened")
def test_closing_records_who_when_and_why_and_is_audited(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        target = _alerts(session)[0]
        closed = analytics.close_alert(
            session, actor(session, "bureau_admin"), target.id, "  药占比偏高已约谈  "
        )
    assert closed.status == "closed" and closed.note == "药占比偏高已约谈"
    assert closed.closed_by == "bureau-admin" and closed.closed_at is not None
    with unit_of_work(engine) as session:
        entry = last_audit(session)
        assert (entry.action, entry.object_type) == ("close", "indicator_alert")
        assert entry.object_id == str(target.id) and entry.detail == "药占比偏高已约谈"
        analyst = actor(session, "bureau_analyst")
        assert analytics.open_alerts(session, analyst, status="closed")[0] == 1
        assert analytics.open_alerts(session, analyst)[0] == 3


@pytest.mark.usefixtures("opened")
@pytest.mark.parametrize("note", ["", "   ", "长" * 501])
def test_closing_needs_a_note_of_one_to_500_characters(engine: Engine, note: str) -> None:
    with unit_of_work(engine) as session:
        target = _alerts(session)[0]
        with pytest.raises(Invalid) as raised:
            analytics.close_alert(session, actor(session, "bureau_admin"), target.id, note)
        assert raised.value.fields[0].field == "note"


@pytest.mark.usefixtures("opened")
def test_closing_twice_is_a_conflict_and_without_alert_close_forbidden(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        target = _alerts(session)[0]
        admin = actor(session, "bureau_admin")
        analytics.close_alert(session, admin, target.id, "已核实")
        with pytest.raises(Conflict):
            analytics.close_alert(session, admin, target.id, "再次关闭")
        for role in ("bureau_analyst", "township_doctor"):
            with pytest.raises(Forbidden):
                analytics.close_alert(session, actor(session, role), target.id, "关闭")
        with pytest.raises(NotFound):
            analytics.close_alert(session, admin, uuid.uuid4(), "关闭")


def test_a_red_value_over_too_few_cases_opens_no_alert(engine: Engine) -> None:
    # The no-show rate needs 30 bookings due (min_denominator): a village clinic's month of
    # 12 bookings with 2 no-shows (17%) is no signal; the center's 300 with 36 (12%) is.
    assert CATALOG.indicators["no_show_rate"].min_denominator == 30
    with unit_of_work(engine) as session:
        at = places(session)
        table = results(
            ("no_show_rate", "institution", str(at.clinic.id), "2026-03", 16.7, None, None),
            ("no_show_rate", "institution", str(at.center.id), "2026-03", 12.0, None, None),
        )
        column = table.schema.get_field_index("denominator")
        table = table.set_column(column, "denominator", pa.array([12.0, 300.0]))
        assert analytics.evaluate_alerts(session, table, CATALOG) == 1
        (alert,) = _alerts(session)
    assert alert.unit_id == str(at.center.id)

"""Use cases of the data center: indicator alerts (预警).

An alert is opened for every indicator × unit × period whose value is past the indicator's
alert threshold for that year (the traffic light is red). Months, quarters and years are all
evaluated: a month's breach is the early signal, and a quarter's or year's breach is what the
bulletin and the assessment report, so each is its own alert to close. Evaluation is
idempotent: the breach (indicator, grain, unit, period) is unique, so re-evaluating opens
nothing twice, and a breach that was closed stays closed even if a recomputation still finds
it (or a new indicator version does). An open alert is not closed by itself when a recomputed
value is back within the threshold: someone closes it with a note saying why.

Who sees which alerts: county-wide roles (county and with-reason scopes: the bureau, the IT
admin) see every alert; every other role holding ``alert:read`` sees the alerts of its own
institution only (institution-grain alerts with its ``institution_id``). Closing needs
``alert:close`` and a note, and is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, func, insert, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.analytics.catalog.model import Catalog
from yigongti.analytics.models import Alert
from yigongti.kernel import Conflict, NotFound, invalid_field, now
from yigongti.security import Actor, audit, roles

__all__ = [
    "ALERT_PERIOD_KINDS",
    "ALERT_STATUSES",
    "AlertView",
    "close_alert",
    "evaluate_alerts",
    "get_alert",
    "open_alerts",
]

ALERT_PERIOD_KINDS = ("month", "quarter", "year")
ALERT_STATUSES = ("open", "closed")
COUNTY_WIDE = (roles.COUNTY, roles.WITH_REASON)
NOTE_MAX = 500
MAX_PAGE = 500
MAX_INSTITUTIONS = 10_000  # a county has a few hundred; the cap only bounds one query
# An insert that skips rows whose breach exists already, where the dialect has one, so two
# evaluations at once cannot fail on the unique constraint; elsewhere the pre-check suffices.
_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class AlertView:
    """An alert as its readers see it."""

    id: uuid.UUID
    indicator: str
    version: int
    grain: str
    unit_id: str
    institution_id: uuid.UUID | None
    period: str
    value: float
    threshold: float
    status: str
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    note: str | None


def _view(alert: Alert) -> AlertView:
    return AlertView(
        id=alert.id,
        indicator=alert.indicator,
        version=alert.version,
        grain=alert.grain,
        unit_id=alert.unit_id,
        institution_id=alert.institution_id,
        period=alert.period,
        value=alert.value,
        threshold=alert.threshold,
        status=alert.status,
        opened_at=alert.opened_at,
        closed_at=alert.closed_at,
        closed_by=alert.closed_by,
        note=alert.note,
    )


def _breaches(
    results: pa.Table, catalog: Catalog, tiers: dict[str, str]
) -> dict[tuple[str, str, str, str], dict]:
    """Red rows of RESULTS by breach key; of several versions of a breach the highest counts.
    ``tiers`` gives each institution's tier: targets bind only the tiers an indicator names;
    a value over fewer than the indicator's ``min_denominator`` cases opens none."""
    watched = [
        c
        for c, i in catalog.indicators.items()
        if any(t.alert is not None for t in i.targets.values())
    ]
    if not watched or results.num_rows == 0:
        return {}
    mask = pc.and_(
        pc.and_(
            pc.is_in(results["indicator"], value_set=pa.array(watched, pa.string())),
            pc.is_in(results["period_kind"], value_set=pa.array(ALERT_PERIOD_KINDS)),
        ),
        pc.is_valid(results["value"]),
    )
    found: dict[tuple[str, str, str, str], dict] = {}
    rows = results.filter(mask).to_pylist()
    for row in sorted(rows, key=lambda r: r["version"]):
        indicator = catalog.indicators[row["indicator"]]
        key = (row["indicator"], row["grain"], row["unit_id"], row["period"])
        tier = tiers.get(row["unit_id"]) if row["grain"] == "institution" else None
        red = indicator.status_of(row["period"], row["value"], tier) == "red"
        if red and indicator.alerts_on(row["denominator"]):
            target = indicator.target_for(row["period"])
            assert target is not None and target.alert is not None  # red needs a threshold
            found[key] = {**row, "threshold": target.alert}
        else:
            found.pop(key, None)  # a higher version no longer breaching wins over a lower one
    return found


def _institution_tiers(session: Session) -> dict[str, str]:
    _, institutions = registry.list_institutions(
        session, registry.InstitutionQuery(limit=MAX_INSTITUTIONS)
    )
    return {str(i.id): i.tier for i in institutions}


def evaluate_alerts(session: Session, results: pa.Table, catalog: Catalog) -> int:
    """Open an alert for every breach in RESULTS that has none yet; the number opened.

    A system step (run after the engines compute), so it takes no actor. Institution-grain
    alerts carry the institution's id, which is what scopes them to its staff; a unit id the
    registry does not know is kept as ``unit_id`` but without ``institution_id``.
    """
    institutions = _institution_tiers(session)
    breaches = _breaches(results, catalog, institutions)
    if not breaches:
        return 0
    codes = sorted({k[0] for k in breaches})
    existing = select(Alert.indicator, Alert.grain, Alert.unit_id, Alert.period).where(
        Alert.indicator.in_(codes)
    )
    known = {tuple(row) for row in session.execute(existing)}
    new = [(k, row) for k, row in breaches.items() if k not in known]
    if not new:
        return 0
    opened_at = now()
    values = [
        {
            "indicator": row["indicator"],
            "version": row["version"],
            "grain": row["grain"],
            "unit_id": row["unit_id"],
            "institution_id": (
                uuid.UUID(row["unit_id"])
                if row["grain"] == "institution" and row["unit_id"] in institutions
                else None
            ),
            "period": row["period"],
            "value": row["value"],
            "threshold": row["threshold"],
            "status": "open",
            "opened_at": opened_at,
        }
        for _, row in new
    ]
    make_insert = _INSERTS.get(session.get_bind().dialect.name)
    if make_insert is None:
        statement = insert(Alert).returning(Alert.id)
    else:
        statement = make_insert(Alert).on_conflict_do_nothing().returning(Alert.id)
    return len(session.scalars(statement, values).all())


def _visible(actor: Actor) -> ColumnElement[bool]:
    if actor.role_def.scope in COUNTY_WIDE:
        return true()
    if actor.institution_id is None:
        return Alert.id.is_(None)  # institution-bound without an institution: nothing
    return Alert.institution_id == actor.institution_id


def open_alerts(
    session: Session,
    actor: Actor,
    institution_id: uuid.UUID | None = None,
    *,
    indicator: str | None = None,
    status: str | None = "open",
    period: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[AlertView]]:
    """Alerts the actor may see, newest first, with their total count (alert:read).

    Filters: the institution, the indicator, the status (``open`` by default, ``closed``, or
    None for both) and the period.
    """
    actor.require(roles.ALERT_READ)
    if status is not None and status not in ALERT_STATUSES:
        raise invalid_field(
            "status",
            f"Unknown alert status '{status}': open or closed",
            f"未知预警状态“{status}”：应为 open 或 closed",
        )
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise invalid_field(
            "limit",
            f"limit is 1 to {MAX_PAGE}, offset ≥ 0",
            f"每页 1 到 {MAX_PAGE} 条，偏移不小于 0",
        )
    conditions = [_visible(actor)]
    if institution_id is not None:
        conditions.append(Alert.institution_id == institution_id)
    if indicator is not None:
        conditions.append(Alert.indicator == indicator)
    if status is not None:
        conditions.append(Alert.status == status)
    if period is not None:
        conditions.append(Alert.period == period)
    total = session.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0
    found = session.scalars(
        select(Alert)
        .where(*conditions)
        .order_by(Alert.opened_at.desc(), Alert.period.desc(), Alert.indicator, Alert.unit_id)
        .limit(limit)
        .offset(offset)
    )
    return total, [_view(a) for a in found]


def _visible_alert(
    session: Session, actor: Actor, alert_id: uuid.UUID, *, for_update: bool = False
) -> Alert:
    statement = select(Alert).where(Alert.id == alert_id, _visible(actor))
    alert = session.scalar(statement.with_for_update() if for_update else statement)
    if alert is None:
        raise NotFound(en="No such alert", zh="预警不存在")
    return alert


def get_alert(session: Session, actor: Actor, alert_id: uuid.UUID) -> AlertView:
    """One alert; ``NotFound`` if there is none or it is not the actor's to see (alert:read)."""
    actor.require(roles.ALERT_READ)
    return _view(_visible_alert(session, actor, alert_id))


def close_alert(session: Session, actor: Actor, alert_id: uuid.UUID, note: str) -> AlertView:
    """Close an open alert with a note (1–500 characters) saying what was found or done.

    alert:close; ``Conflict`` if it is closed already. Who closed it and when are kept on the
    alert and in the audit log.
    """
    actor.require(roles.ALERT_CLOSE)
    note = note.strip()
    if not 1 <= len(note) <= NOTE_MAX:
        raise invalid_field(
            "note",
            f"A closing note of 1 to {NOTE_MAX} characters is required",
            f"关闭预警须填写说明（1 到 {NOTE_MAX} 个字）",
        )
    # Locked so that two closes at once cannot both pass the check below.
    alert = _visible_alert(session, actor, alert_id, for_update=True)
    if alert.status == "closed":
        raise Conflict(
            en=f"The alert was closed already by {alert.closed_by}",
            zh=f"该预警已由 {alert.closed_by} 关闭",
        )
    alert.status = "closed"
    alert.closed_at = now()
    alert.closed_by = actor.username
    alert.note = note
    session.flush()
    audit.record(session, actor, "close", "indicator_alert", alert.id, detail=note)
    return _view(alert)

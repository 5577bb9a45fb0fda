"""Alerts as the dashboard and the home pages list them: with the indicator's and unit's names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from yigongti.analytics.lake.store import Lake
from yigongti.analytics.service.alerts import AlertView, open_alerts
from yigongti.analytics.service.dashboard.reading import catalog_in_force
from yigongti.security import Actor


@dataclass(frozen=True)
class AlertLine:
    """An alert with what its reader needs to understand it at a glance."""

    alert: AlertView
    indicator_zh: str
    indicator_en: str
    unit: str  # the indicator's unit ("%", "元", ...)
    unit_name: str | None  # the institution's or community's name; None for the county


def alerts_for(
    session: Session,
    actor: Actor,
    lake_root: Path,
    institution_id: uuid.UUID | None = None,
    *,
    status: str | None = "open",
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, list[AlertLine]]:
    """The alerts the actor may see (alert:read; institution-bound roles see their own
    institution's only), newest first, with the total, named for reading.

    Names come from the lake's institutions dimension; before the first export an alert
    cannot exist, but a unit the lake no longer lists keeps ``unit_name`` None.
    """
    total, alerts = open_alerts(
        session, actor, institution_id, status=status, limit=limit, offset=offset
    )
    catalog = catalog_in_force(session)
    names = _unit_names(lake_root) if alerts else {}
    lines = []
    for alert in alerts:
        indicator = catalog.indicators.get(alert.indicator)
        lines.append(
            AlertLine(
                alert=alert,
                indicator_zh=indicator.zh if indicator else alert.indicator,
                indicator_en=indicator.en if indicator else alert.indicator,
                unit=indicator.unit if indicator else "",
                unit_name=None if alert.grain == "county" else names.get(alert.unit_id),
            )
        )
    return total, lines


def _unit_names(lake_root: Path) -> dict[str, str]:
    files = Lake(lake_root).files("institutions")
    if not files:
        return {}
    names: dict[str, str] = {}
    for row in pq.read_table(files).to_pylist():
        names[row["institution_id"]] = row["name"]
        if row.get("community_id") and row.get("community_name"):
            names[row["community_id"]] = row["community_name"]
    return names

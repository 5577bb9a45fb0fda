"""Use cases of the data center: the bureau's dashboard (数据驾驶舱).

Everything here reads what the engines computed (the RESULTS table saved beside the lake) and
the lake itself; nothing reads the operational tables. Figures are aggregates, so the
dashboard asks for ``aggregate:read``; before the first export and compute every read answers
``NotComputed`` (409) with a message saying what to run.

The one read of rows is :func:`records_behind`, the lake rows a number was counted from. The
lake names no person (``resident_key`` is a pseudonymous key, never a name, ID number or
phone), but a key can be linked back to a record by someone who may read records, so every
such page read is written to the audit log as a read of health data would be, without a
``person_id`` because the lake does not know the person.
"""

from __future__ import annotations

from yigongti.analytics.service.dashboard.alerts import AlertLine, alerts_for
from yigongti.analytics.service.dashboard.figures import (
    HEADLINE,
    dashboard_periods,
    dashboard_units,
    headline,
    indicator_facts,
    ranking,
    trend,
)
from yigongti.analytics.service.dashboard.flows import referral_flows
from yigongti.analytics.service.dashboard.reading import indicator_of, period_kind_of
from yigongti.analytics.service.dashboard.records import MAX_RECORDS_PAGE, records_behind
from yigongti.analytics.service.dashboard.views import (
    FlowLink,
    FlowNode,
    Flows,
    IndicatorFacts,
    MeasureRecords,
    NotComputed,
    Ranked,
    Ranking,
    RecordsPage,
    Tile,
    Trend,
    TrendPoint,
    Unit,
)

__all__ = [
    "HEADLINE",
    "MAX_RECORDS_PAGE",
    "AlertLine",
    "FlowLink",
    "FlowNode",
    "Flows",
    "IndicatorFacts",
    "MeasureRecords",
    "NotComputed",
    "Ranked",
    "Ranking",
    "RecordsPage",
    "Tile",
    "Trend",
    "TrendPoint",
    "Unit",
    "alerts_for",
    "dashboard_periods",
    "dashboard_units",
    "headline",
    "indicator_facts",
    "indicator_of",
    "period_kind_of",
    "ranking",
    "records_behind",
    "referral_flows",
    "trend",
]

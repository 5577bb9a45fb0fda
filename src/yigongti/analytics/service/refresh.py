"""Use cases of the data center: one refresh — export what changed, compute, open alerts.

The scheduled job, ``ygt demo`` and the data-center page run the same three steps in the same
order, so the dashboard, the reports and the alerts always describe one computation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from yigongti.analytics.compute import effective_catalog, load_results
from yigongti.analytics.lake.export import ExportReport
from yigongti.analytics.lake.store import Lake
from yigongti.analytics.service.alerts import evaluate_alerts
from yigongti.analytics.service.catalog import Recomputed, recompute
from yigongti.analytics.service.lake import run_export
from yigongti.security import Actor

__all__ = ["Refreshed", "refresh_data_center"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Refreshed:
    """What one refresh did: the export, the computation and the alerts it opened."""

    export: ExportReport
    computed: Recomputed
    alerts_opened: int


def refresh_data_center(
    session: Session,
    actor: Actor,
    lake: Lake,
    *,
    county_code: str | None = None,
    progress: Progress | None = None,
) -> Refreshed:
    """Export the months that changed into the lake, compute every indicator, open alerts.

    Needs ``lake:export``. The watermarks and the alerts are written through ``session``;
    the caller commits. A failure in a later step leaves the lake's earlier commit in place,
    which is harmless: the next refresh starts from the watermarks it finds.
    """
    report = run_export(session, actor, lake, progress=progress)
    if progress is not None:
        progress("compute", 0, 1)
    computed = recompute(session, actor, lake.root, county_code)
    if progress is not None:
        progress("compute", 1, 1)
    results = load_results(lake.root)
    opened = 0 if results is None else evaluate_alerts(session, results, effective_catalog(session))
    return Refreshed(report, computed, opened)

"""The dashboard rows of the permission matrix, and the computed lake they read.

The test county is exported into the test application's own lake and computed, so a role
that may read the dashboard gets real answers (200), not the "not computed yet" conflict.
Only the bureau holds ``aggregate:read``: every other role is refused (403).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.compute as pc
from sqlalchemy import Engine

from tests.support import places
from yigongti.analytics.compute import (
    compute_catalog,
    effective_catalog,
    load_results,
    save_results,
)
from yigongti.analytics.lake import Lake, export_lake
from yigongti.db import unit_of_work
from yigongti.security import ROLES

if TYPE_CHECKING:
    from tests.web.test_permission_matrix import Build, Call, Facts

BUREAU = ("bureau_analyst", "bureau_admin")  # the roles with aggregate:read
D = "/api/v1/dashboard"


@dataclass(frozen=True)
class DashboardFacts:
    """Units and a period that have computed values in the test application's lake."""

    county: str
    community: str
    institution: str
    month: str


def arrange(engine: Engine, lake_dir: Path) -> DashboardFacts:
    """Export the test county into ``lake_dir`` and compute it there, unless that is done."""
    lake = Lake(lake_dir)
    with unit_of_work(engine) as session:
        at = places(session)
        county, community, center = at.center.county_code, at.community.id, at.center.id
    results = load_results(lake_dir)
    if results is None:
        # Outside any unit of work: on SQLite the export writes its watermarks in its own.
        if not lake.files("institutions"):
            export_lake(engine, lake)
        with unit_of_work(engine) as session:
            results = compute_catalog(effective_catalog(session), lake_dir, county)
        save_results(lake_dir, results)
    months = [
        row["period"]
        for row in results.filter(pc.is_valid(results["value"])).to_pylist()
        if (row["indicator"], row["grain"], row["period_kind"]) == ("drug_share", "county", "month")
    ]
    return DashboardFacts(county, str(community), str(center), max(months))


def _statuses(default: int, ok: tuple[str, ...], status: int) -> dict[str, int]:
    table = dict.fromkeys(ROLES, default)
    table.update(dict.fromkeys(ok, status))
    return table


def _dashboard(path: str, params: Callable[[DashboardFacts], dict[str, object]]) -> Build:
    """A GET of the dashboard with the query ``params`` makes of the arranged facts."""
    from tests.web.test_permission_matrix import Call

    def build(f: Facts, role: str, n: int) -> Call:
        assert f.dashboard is not None
        return Call(f"{D}/{path}", params(f.dashboard))

    return build


def rows() -> list[tuple[str, str, Build, dict[str, int], int]]:
    """(method, route, build, expected status per role, anonymous status) of every row."""
    bureau = _statuses(403, BUREAU, 200)
    drug = "drug_share"
    calls: list[tuple[str, Callable[[DashboardFacts], dict[str, object]]]] = [
        ("units", lambda d: {}),
        ("periods", lambda d: {"period_kind": "quarter"}),
        ("headline", lambda d: {"period": d.month, "community_id": d.community}),
        ("trend", lambda d: {"indicator": drug, "grain": "community", "unit_id": d.community}),
        ("ranking", lambda d: {"indicator": drug, "period": d.month}),
        ("referral-flows", lambda d: {"period": d.month}),
        (
            "records",
            lambda d: {
                "indicator": drug,
                "grain": "institution",
                "unit_id": d.institution,
                "period": d.month,
                "limit": 5,
            },
        ),
    ]
    return [("GET", f"{D}/{path}", _dashboard(path, params), bureau, 401) for path, params in calls]

"""Two-way referral between the tiers, counted from the lake's visits (the Sankey)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from sqlalchemy.orm import Session

from yigongti.analytics.lake.schema import TIERS
from yigongti.analytics.lake.store import Lake
from yigongti.analytics.results import months_of
from yigongti.analytics.service.dashboard.reading import (
    period_kind_of,
    results_of,
    unit_in,
    units_of,
)
from yigongti.analytics.service.dashboard.views import FlowLink, FlowNode, Flows, not_computed
from yigongti.security import Actor, roles

_FLOWS_SQL = """
SELECT f.tier AS source, i.tier AS target, v.referral AS direction, count(*) AS visits
FROM read_parquet($visits, hive_partitioning = false) AS v
JOIN read_parquet($institutions) AS i ON i.institution_id = v.institution_id
LEFT JOIN read_parquet($institutions) AS f ON f.institution_id = v.referred_from_id
WHERE v.referral IS NOT NULL
  AND v.month IN (SELECT unnest($months))
  AND ($community IS NULL OR i.community_id = $community OR f.community_id = $community)
GROUP BY ALL
ORDER BY ALL
"""


def referral_flows(
    session: Session,
    actor: Actor,
    lake_root: Path,
    period: str,
    community_id: str | None = None,
) -> Flows:
    """Referred visits between tiers in a period (a Sankey's links), from the lake's visits.

    A visit counts from its referring institution's tier to its own institution's tier. With
    ``community_id``, visits whose referring or receiving institution belongs to that
    community (a referral out of the community counts for it too).
    """
    actor.require(roles.AGGREGATE_READ)
    period_kind_of(period)  # refuses a malformed period before any file is read
    months = months_of(period)
    snapshot = Lake(lake_root).snapshot()  # one manifest: visits and institutions agree
    institutions = snapshot.files("institutions")
    if not institutions:
        raise not_computed()
    if community_id is not None:
        unit_in(units_of(lake_root, results_of(lake_root)), "community", community_id)
    visits = [snapshot.root / e.path for e in snapshot.entries("visits") if e.month in months]
    if not visits:
        return Flows(period, [], [], 0)
    parameters = {
        "visits": [str(p) for p in visits],
        "institutions": [str(p) for p in institutions],
        "months": months,
        "community": community_id,
    }
    with duckdb.connect() as connection:
        counted = connection.execute(_FLOWS_SQL, parameters).fetchall()
    links: list[FlowLink] = []
    unattributed = 0
    for source, target, direction, count in counted:
        if source is None:
            unattributed += count
        else:
            link = FlowLink(f"from:{source}", f"to:{target}", source, target, direction, count)
            links.append(link)
    return Flows(period, _nodes(links), links, unattributed)


def _nodes(links: list[FlowLink]) -> list[FlowNode]:
    """The Sankey's nodes of ``links``, senders then receivers, county to village."""
    used = {
        (side, tier)
        for link in links
        for side, tier in (("from", link.from_tier), ("to", link.to_tier))
    }
    return [
        FlowNode(f"{side}:{tier}", side, tier)
        for side in ("from", "to")
        for tier in TIERS
        if (side, tier) in used
    ]

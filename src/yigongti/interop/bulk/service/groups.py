"""Members of a Group (a village or urban community): its residents in the caller's scope."""

from __future__ import annotations

import uuid

from yigongti import registry
from yigongti.interop.fhir.context import Context

PAGE = 200


def member_ids(ctx: Context, group_id: uuid.UUID) -> set[str]:
    """The ids of the village's residents the actor may see (``NotFound`` for no village).

    Read through the resident index's scoped search, which audits each page.
    """
    registry.get_village(ctx.session, group_id)
    found: set[str] = set()
    offset = 0
    while True:
        total, views = registry.find_residents(
            ctx.session,
            ctx.actor,
            registry.ResidentQuery(village_id=group_id),
            reason=ctx.reason,
            limit=PAGE,
            offset=offset,
        )
        found.update(str(v.id) for v in views)
        offset += len(views)
        if not views or offset >= total:
            return found

"""Group: a village or urban community (行政村/社区) and the residents who live there.

A Group here is the population a village doctor looks after: its members are the residents
whose residence is the village, as the resident index records it, and a caller sees only the
members in his scope. The Group itself carries no personal data (name, town, kind); its
members are read through ``Group/<id>/$export``.
"""

from __future__ import annotations

import uuid
from typing import Any

from yigongti import registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.search import Query, SearchParam, Token
from yigongti.kernel import NotFound

VILLAGE_CODE = f"{systems.BASE}/village-code"


@register
class GroupType(ResourceType):
    """Group over ``registry`` (villages and urban communities)."""

    name = "Group"
    doc = "A village or urban community; its members (residents living there) via $export."
    search_params = (SearchParam("_id", "token", "the village's id"),)

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The village as a Group."""
        return group_of(registry.get_village(ctx.session, resource_id))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Villages by id."""
        found = []
        for token in query.values("_id") or ():
            try:
                village = registry.get_village(ctx.session, uuid.UUID(str(_code(token))))
            except (ValueError, NotFound):
                continue
            found.append(group_of(village))
        return len(found), found[query.offset : query.offset + query.count]


def _code(token: object) -> str | None:
    return token.code if isinstance(token, Token) else None


def group_of(village: Any) -> dict:
    """A village (registry row) as a FHIR Group."""
    return {
        "resourceType": "Group",
        "id": str(village.id),
        "identifier": [{"system": VILLAGE_CODE, "value": village.code}],
        "type": "person",
        "actual": True,
        "name": village.name,
        "code": {"text": "village" if village.kind == "village" else "community"},
    }

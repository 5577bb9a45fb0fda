"""Practitioner: a doctor, nurse, public-health doctor or technician of the county.

``name`` is a HumanName split like a Patient's; ``gender``; ``qualification`` the
professional title (职称, ``systems.TITLE``); ``telecom`` the mobile phone, masked unless a
caller holding ``registry:write`` sends ``X-Reveal: true`` (audited); ``active``. Where he
works is his PractitionerRole (same id).

Search: ``_id``, ``name`` (prefix, or pinyin initials in Latin letters), ``gender``, ``active``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from yigongti import registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.directory import active_of, codes_of, coding, concept, ids_of
from yigongti.interop.fhir.resources.patient import human_name
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.registry.codes import TITLES

if TYPE_CHECKING:
    from yigongti.registry.models import Practitioner

_GENDERS = {"http://hl7.org/fhir/administrative-gender": {"male": "Male", "female": "Female"}}


@register
class PractitionerType(ResourceType):
    """Practitioner over ``registry`` (the staff of every institution)."""

    name = "Practitioner"
    doc = "Staff of the county's institutions; title as qualification; phone masked."
    search_params = (
        SearchParam("_id", "token", "the practitioner's id"),
        SearchParam("name", "string", "name by prefix (汉字) or pinyin initials (Latin letters)"),
        SearchParam("gender", "token", "male | female"),
        SearchParam("active", "token", "true | false"),
    )

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The practitioner with this id."""
        return practitioner_of(ctx, registry.get_practitioner(ctx.session, resource_id))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Practitioners by id, name, gender and active flag, by name."""
        genders = [t.code for t in codes_of(query, "gender", _GENDERS)]
        where = registry.StaffFilter(
            ids=ids_of(query),
            name=query.string("name"),
            sex=systems.GENDERS[genders[0]] if len(genders) == 1 else None,
            active=active_of(query),
        )
        total, rows = registry.find_staff(
            ctx.session, where, limit=query.count, offset=query.offset
        )
        return total, [practitioner_of(ctx, p) for p in rows]


def practitioner_of(ctx: Context, found: Practitioner) -> dict:
    """A registry practitioner as a FHIR Practitioner."""
    title_zh = TITLES[found.title][1]
    practitioner: dict = {
        "resourceType": "Practitioner",
        "id": str(found.id),
        "active": found.active,
        "name": [human_name(found.name)],
        "gender": systems.GENDERS[found.sex],
        "qualification": [
            {"code": concept(coding(systems.TITLE, found.title, title_zh), text=title_zh)}
        ],
    }
    phone = registry.practitioner_phone(ctx.session, ctx.actor, found, reveal=ctx.reveal)
    if phone:
        practitioner["telecom"] = [{"system": "phone", "value": phone, "use": "work"}]
    return practitioner

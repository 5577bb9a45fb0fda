"""Slot: one numbered place (号) of a time slice of a clinic session.

A time slice of capacity 4 is four Slots with the same start and end. ``status`` is ``busy``
while a booking holds the place (confirmed, or held and the hold not lapsed), ``busy-unavailable``
when the session is stopped (停诊) or not yet released (放号), ``free`` otherwise. Each place is
kept for one booking channel (extension ``booking-channel``): an Appointment takes a free place
of the slot's time slice for the caller's channel. Places are public information.
"""

from __future__ import annotations

import uuid

from yigongti import booking
from yigongti.booking.codes import CHANNELS
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.scheduling import (
    channel_extension,
    codes_of,
    department_code,
    department_concept,
    ids_of,
    instant,
)
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.kernel import local

STATES = {"free": "free", "busy": "busy", "busy-unavailable": "busy-unavailable"}


@register
class SlotType(ResourceType):
    """Slot over ``booking`` (the places of the county's slot pool)."""

    name = "Slot"
    doc = (
        "Places (号源) of the county's slot pool: free, busy (held or booked), busy-unavailable "
        "(clinic stopped or not yet released); without 'start', the coming seven days."
    )
    search_params = (
        SearchParam("_id", "token", "the slot's id"),
        SearchParam(
            "schedule", "reference", "the slot's Schedule", path="schedule", target="Schedule"
        ),
        SearchParam("start", "date", "start time (at most 31 days at once)"),
        SearchParam("status", "token", "free | busy | busy-unavailable"),
        SearchParam("service-type", "token", "department code (科室代码)"),
        SearchParam("organization", "reference", "the institution (custom)", target="Organization"),
        SearchParam("channel", "token", f"booking channel (custom): {', '.join(CHANNELS)}"),
    )
    sorts = ("start",)

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """One place."""
        return slot_of(booking.get_slot(ctx.session, resource_id))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Places by schedule, start, state, department, institution and channel."""
        start = query.date("start")
        channels = codes_of(query, "channel", CHANNELS)
        total, found = booking.find_slots(
            ctx.session,
            booking.SlotSearch(
                ids=ids_of(query),
                schedule_id=query.reference("schedule"),
                institution_id=query.reference("organization"),
                department_code=department_code(query),
                channel=channels[0] if channels else None,
                states=codes_of(query, "status", STATES),
                starts_from=start.start if start else None,
                starts_before=start.end if start else None,
                latest_first=bool(query.sort and query.sort[0][1]),
            ),
            limit=query.count,
            offset=query.offset,
        )
        return total, [slot_of(s) for s in found]


def slot_of(place: booking.SlotView) -> dict:
    """A place of the slot pool as a FHIR Slot."""
    found: dict = {
        "resourceType": "Slot",
        "id": str(place.id),
        "extension": [
            channel_extension(place.channel),
            {"url": systems.VISIT_NUMBER_EXTENSION, "valueInteger": place.number},
        ],
        "schedule": {"reference": f"Schedule/{place.schedule_id}"},
        "serviceType": [department_concept(place.department_code)],
        "status": place.state,
        "start": instant(place.starts_at),
        "end": instant(place.ends_at),
    }
    if place.session_status == "stopped":
        found["comment"] = "clinic cancelled (停诊)"
    elif place.state == "busy-unavailable":
        found["comment"] = f"booking opens {local(place.release_at):%Y-%m-%d %H:%M} (放号时间)"
    return found

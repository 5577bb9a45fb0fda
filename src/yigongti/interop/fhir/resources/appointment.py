"""Appointment: a resident's booking (预约) of a place in a clinic session.

Create is ``booking.book``: ``status`` ``booked`` books at once, ``pending`` holds the place
(confirm within the hold by updating the status to ``booked``). The Appointment names one
``slot``; the booking takes a free place of that slot's time slice for the caller's channel and
the answer names the place actually taken. The patient is ``participant.actor``: a Patient
reference, or (real-name booking by an external platform or a window) a Reference with the
resident's ID number as ``identifier`` and his name as ``display``.

The channel is the ``booking-channel`` extension when given (the booking service checks the
caller's role may use it), else the role's own channel: resident -> online, booking platform
-> external, window clerks, doctors and institution systems (integration) -> window.

Idempotency: the ``Idempotency-Key`` header, an ``If-None-Exist: identifier=<key>``, or an
``identifier`` of system ``appointment-request`` in the resource: the same key from the same
account twice is the same Appointment (200), never a second booking.

Update changes the status only: ``cancelled`` cancels (until the cancellation deadline), and
``booked`` confirms a ``pending`` hold; anything else is refused. Every booking rule (one per
department a day, the cap, the deadline, the channel, the no-show suspension, real-name
identification) answers a 4xx OperationOutcome from the booking service.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from yigongti import booking
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import fhir_error, invalid
from yigongti.interop.fhir.resource import ResourceType, reference_id, register
from yigongti.interop.fhir.resources.scheduling import (
    channel_extension,
    channel_of,
    codes_of,
    department_concept,
    ids_of,
    instant,
    resource_concept,
)
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.kernel import Invalid
from yigongti.security import Actor, roles

T = TypeVar("T")
# booking status -> Appointment.status
STATUS_OF = {
    "held": "pending",
    "confirmed": "booked",
    "checked_in": "arrived",
    "called": "arrived",
    "skipped": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "expired": "cancelled",
    "stopped": "cancelled",
    "no_show": "noshow",
}
BOOKING_STATUSES = {
    fhir: tuple(ours for ours, mapped in STATUS_OF.items() if mapped == fhir)
    for fhir in dict.fromkeys(STATUS_OF.values())
}
_WHY_CANCELLED = {
    "cancelled": "cancelled by the patient or for him",
    "expired": "the hold lapsed unconfirmed (锁号超时)",
    "stopped": "the clinic session was cancelled (停诊)",
}
# The channel a role books through when the Appointment does not say.
_DEFAULT_CHANNELS = ("online", "external", "window", "kiosk", "phone")


@register
class AppointmentType(ResourceType):
    """Appointment over ``booking`` (bookings)."""

    name = "Appointment"
    doc = (
        "Bookings: create books (status booked) or holds (pending) a place of a Slot; update "
        "cancels or confirms; idempotent by Idempotency-Key or identifier."
    )
    writable = True
    search_params = (
        SearchParam("_id", "token", "the appointment's id"),
        SearchParam("patient", "reference", "the resident", target="Patient"),
        SearchParam("practitioner", "reference", "the doctor", target="Practitioner"),
        SearchParam("date", "date", "appointment start (eq, ge, le, gt, lt)"),
        SearchParam(
            "status", "token", "pending | booked | arrived | fulfilled | cancelled | noshow"
        ),
        SearchParam("identifier", "token", f"{systems.APPOINTMENT_REQUEST}|<your request key>"),
        SearchParam("slot", "reference", "the place taken", path="slot", target="Slot"),
    )
    sorts = ("date",)

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """One booking the caller may see (audited)."""
        return appointment_of(booking.get_booking(ctx.session, ctx.actor, resource_id))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Bookings in the caller's sight by patient, doctor, date, status, key or slot."""
        when = query.date("date")
        statuses = codes_of(query, "status", BOOKING_STATUSES)
        identifier = query.token("identifier")
        total, found = booking.find_bookings(
            ctx.session,
            ctx.actor,
            booking.BookingQuery(
                ids=ids_of(query),
                resident_id=query.reference("patient"),
                practitioner_id=query.reference("practitioner"),
                slot_id=query.reference("slot"),
                statuses=tuple(s for f in statuses for s in BOOKING_STATUSES[f])
                if statuses
                else None,
                starts_from=when.start if when else None,
                starts_before=when.end if when else None,
                idempotency_key=_key_of_token(identifier) if identifier else None,
                newest_first=bool(query.sort and query.sort[0][1]),
            ),
            limit=query.count,
            offset=query.offset,
        )
        return total, [appointment_of(v) for v in found]

    def existing(self, ctx: Context, resource: dict) -> uuid.UUID | None:
        """The booking a retried create (same key, same account) made already."""
        key = _request_key(ctx, resource)
        if key is None:
            return None
        earlier = booking.booking_by_key(ctx.session, ctx.actor, key)
        if earlier is None:
            return None
        slot = _slot(ctx, resource)
        if slot.session_id != earlier.session_id:
            raise fhir_error(
                409,
                "conflict",
                "This idempotency key was used for a different booking",
                "该幂等键已用于另一笔预约",
                "Appointment.identifier",
            )
        return earlier.id

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Book (``booked``) or hold (``pending``) a place of the Appointment's slot."""
        status = resource.get("status")
        if status not in ("booked", "pending"):
            raise invalid(
                f"A new Appointment is 'booked' (book at once) or 'pending' (hold the place), "
                f"not '{status}'",
                f"新预约的状态应为 booked（直接预约）或 pending（锁号），而非 '{status}'",
                "Appointment.status",
            )
        slot = _slot(ctx, resource)
        _check_times(resource, slot)
        resident_id, id_number, name = _patient(resource)
        request = booking.BookingRequest(
            session_id=slot.session_id,
            channel=channel_of(resource, "Appointment.extension") or _own_channel(ctx.actor),
            resident_id=resident_id,
            id_number=id_number,
            name=name,
            slice_start=slot.starts_at,
            idempotency_key=_request_key(ctx, resource),
            confirm=status == "booked",
        )
        return _domain(lambda: booking.book(ctx.session, ctx.actor, request)).id

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Cancel, or confirm a held place; the slot and the patient cannot change."""
        current = booking.get_booking(ctx.session, ctx.actor, resource_id)
        slots = [s.get("reference") for s in resource.get("slot") or []]
        if slots and slots != [f"Slot/{current.slot_id}"]:
            raise invalid(
                "Appointment.slot cannot change; cancel and book again (or reschedule)",
                "不能修改 Appointment.slot；请取消后重新预约",
                "Appointment.slot",
            )
        wanted, held = resource.get("status"), STATUS_OF[current.status]
        if wanted == held:
            return
        if wanted == "cancelled":
            _domain(lambda: booking.cancel(ctx.session, ctx.actor, resource_id))
        elif wanted == "booked" and current.status == "held":
            _domain(lambda: booking.confirm(ctx.session, ctx.actor, resource_id))
        else:
            raise invalid(
                f"Appointment.status can become 'cancelled', or 'booked' from 'pending', "
                f"not '{wanted}' from '{held}'",
                f"Appointment.status 只能改为 cancelled，或由 pending 改为 booked（当前 {held}）",
                "Appointment.status",
            )


def appointment_of(view: booking.BookingView) -> dict:
    """A booking as a FHIR Appointment."""
    participants: list[dict] = [
        {
            "actor": {"reference": f"Patient/{view.resident_id}", "display": view.resident_name},
            "required": "required",
            "status": "accepted",
        }
    ]
    if view.practitioner_id is not None:
        participants.append(
            {
                "actor": {
                    "reference": f"Practitioner/{view.practitioner_id}",
                    "display": view.schedule_name,
                },
                "required": "required",
                "status": "accepted",
            }
        )
    participants.append(
        {
            "actor": {
                "reference": f"Location/{view.department_id}",
                "display": f"{view.institution_name} {view.department_name} {view.room}",
            },
            "required": "required",
            "status": "accepted",
        }
    )
    found: dict = {
        "resourceType": "Appointment",
        "id": str(view.id),
        "extension": [
            channel_extension(view.channel),
            {"url": systems.VISIT_NUMBER_EXTENSION, "valueInteger": view.number},
        ],
        "status": STATUS_OF[view.status],
        "serviceCategory": [resource_concept(view.resource)],
        "serviceType": [department_concept(view.department_code, view.department_name)],
        "description": f"{view.institution_name} {view.department_name} {view.schedule_name}",
        "start": instant(view.starts_at),
        "end": instant(view.ends_at),
        "created": instant(view.created_at),
        "slot": [{"reference": f"Slot/{view.slot_id}"}],
        "comment": f"第{view.number}号 · {view.room}",
        "participant": participants,
    }
    if view.idempotency_key:
        found["identifier"] = [
            {"system": systems.APPOINTMENT_REQUEST, "value": view.idempotency_key}
        ]
    if view.status in _WHY_CANCELLED:
        found["cancelationReason"] = {"text": _WHY_CANCELLED[view.status]}
    if view.preparation:
        found["patientInstruction"] = view.preparation
    return found


def _own_channel(actor: Actor) -> str:
    """The channel the actor's role books through by default (the service checks it)."""
    return next((c for c in _DEFAULT_CHANNELS if actor.can(roles.channel(c))), "online")


def _key_of_token(token: object) -> str:
    system, code = getattr(token, "system", None), getattr(token, "code", None)
    if system not in (None, systems.APPOINTMENT_REQUEST):
        raise invalid(
            f"Appointment identifiers are of {systems.APPOINTMENT_REQUEST}, not '{system}'",
            f"预约标识体系应为 {systems.APPOINTMENT_REQUEST}",
            "identifier",
        )
    return code or ""


def _request_key(ctx: Context, resource: dict) -> str | None:
    """The idempotency key: the request's (header or If-None-Exist), else the identifier."""
    given = None
    for index, identifier in enumerate(resource.get("identifier") or []):
        if identifier.get("system") != systems.APPOINTMENT_REQUEST:
            raise invalid(
                f"Appointment.identifier system must be {systems.APPOINTMENT_REQUEST} "
                "(your own request key)",
                f"Appointment.identifier 的标识体系应为 {systems.APPOINTMENT_REQUEST}",
                f"Appointment.identifier[{index}].system",
            )
        given = identifier.get("value")
    key = ctx.idempotency_key or given
    if key is not None and not 1 <= len(key) <= 64:
        raise invalid(
            "An idempotency key (request key) is 1 to 64 characters",
            "幂等键（请求标识）长度应为 1 到 64",
            "Appointment.identifier",
        )
    if ctx.idempotency_key and given and given != ctx.idempotency_key:
        raise invalid(
            "Appointment.identifier differs from the request's idempotency key",
            "Appointment.identifier 与请求的幂等键不一致",
            "Appointment.identifier",
        )
    return key


def _slot(ctx: Context, resource: dict) -> booking.SlotView:
    slots = resource.get("slot") or []
    if len(slots) != 1:
        raise invalid(
            "An Appointment names exactly one Slot (Appointment.slot)",
            "预约须指定且仅指定一个号源（Appointment.slot）",
            "Appointment.slot",
        )
    slot_id = reference_id(slots[0], "Slot", "Appointment.slot[0]")
    found, views = booking.find_slots(ctx.session, booking.SlotSearch(ids=(slot_id,)), limit=1)
    if not found:
        raise invalid(
            f"Appointment.slot[0]: Slot/{slot_id} does not exist",
            f"Appointment.slot[0]：号源 Slot/{slot_id} 不存在",
            "Appointment.slot[0]",
        )
    return views[0]


def _check_times(resource: dict, slot: booking.SlotView) -> None:
    for element, expected in (("start", slot.starts_at), ("end", slot.ends_at)):
        given = resource.get(element)
        if given is None:
            continue
        if datetime.fromisoformat(given.replace("Z", "+00:00")) != expected:
            raise invalid(
                f"Appointment.{element} ({given}) is not the slot's ({instant(expected)})",
                f"Appointment.{element} 与号源时间（{instant(expected)}）不一致",
                f"Appointment.{element}",
            )


def _patient(resource: dict) -> tuple[uuid.UUID | None, str | None, str | None]:
    """(resident id) or (ID number, name) of the one patient participant."""
    found = []
    for index, participant in enumerate(resource.get("participant") or []):
        actor = participant.get("actor") or {}
        reference = actor.get("reference") or ""
        identifier = actor.get("identifier") or {}
        where = f"Appointment.participant[{index}].actor"
        if reference.rpartition("/")[0].rsplit("/", 1)[-1] == "Patient":
            found.append((reference_id(actor, "Patient", where), None, None))
        elif not reference and systems.is_id_number_system(identifier.get("system")):
            if not actor.get("display"):
                raise invalid(
                    f"{where}.display: a real-name booking gives the patient's name",
                    f"{where}.display：实名预约须填写就诊人姓名",
                    f"{where}.display",
                )
            found.append((None, identifier.get("value"), actor["display"]))
    if len(found) != 1:
        raise invalid(
            "Name exactly one patient: a participant whose actor is Patient/<id>, or (real-name "
            f"booking) a Reference with identifier {systems.ID_NUMBER} and display = the name",
            "须指定一位就诊人：participant.actor 为 Patient/<id>，或（实名预约）以身份证号为标识、"
            "以姓名为 display 的引用",
            "Appointment.participant",
        )
    return found[0]


_FIELD_ELEMENT = {
    "resident_id": "participant",
    "id_number": "participant",
    "name": "participant",
    "session_id": "slot",
    "channel": "extension",
    "idempotency_key": "identifier",
}


def _domain(call: Callable[[], T]) -> T:
    """Run a booking call, placing its field errors on the Appointment's elements."""
    try:
        return call()
    except Invalid as error:
        field = error.fields[0].field if error.fields else None
        element = f"Appointment.{_FIELD_ELEMENT.get(field, field)}" if field else None
        raise invalid(error.en, error.zh, element) from None

"""JSON API of unified appointments: the slot pool, bookings, queues, schedules, measures."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from yigongti import booking
from yigongti.booking.schemas import (
    BookingIn,
    BookingOut,
    CheckInIn,
    MeasuresOut,
    NoticeOut,
    OfferOut,
    PublishIn,
    QueueOut,
    RescheduleIn,
    RulesIn,
    RulesOut,
    ScheduleIn,
    ScheduleOut,
    SliceOut,
    StopIn,
    StopOut,
    TransferIn,
)
from yigongti.web.deps import (
    ActorDep,
    CallerDep,
    SessionDep,
    bearer_token,
    caller_of,
    refuse_nul_characters,
)

router = APIRouter(tags=["booking"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        description="Retries with the same key return the same booking",
    ),
]
Room = Annotated[str, Query(min_length=1, max_length=30)]


@router.get("/slot-pool", response_model=list[OfferOut])
def slot_pool(
    session: SessionDep,
    actor: ActorDep,
    department_code: Annotated[str | None, Query(max_length=10)] = None,
    institution_id: uuid.UUID | None = None,
    tier: Annotated[str | None, Query(pattern="^(county|township|village)$")] = None,
    practitioner_id: uuid.UUID | None = None,
    title: Annotated[str | None, Query(max_length=32)] = None,
    resource: Annotated[str | None, Query(max_length=16)] = None,
    day_from: date | None = None,
    day_to: date | None = None,
    channel: Annotated[str, Query(max_length=10)] = "online",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[OfferOut]:
    """Sessions across every institution of the county, with places left for ``channel``."""
    query = booking.SlotQuery(
        department_code=department_code,
        institution_id=institution_id,
        tier=tier,
        practitioner_id=practitioner_id,
        title=title,
        resource=resource,
        day_from=day_from,
        day_to=day_to,
        channel=channel,
        limit=limit,
    )
    return booking.search_pool(session, query)


@router.get("/clinic-sessions/{session_id}/slices", response_model=list[SliceOut])
def slices(
    session_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    channel: Annotated[str, Query(max_length=10)] = "online",
) -> list[SliceOut]:
    """The time slices of a session with the places each has left for ``channel``."""
    return booking.slices_of(session, session_id, channel)


# The booking rush's endpoints do their work in one worker thread each (``CallerDep``).


@router.post("/bookings", response_model=BookingOut, status_code=201)
async def new_booking(
    request: Request, body: BookingIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """Hold a place (confirm within the hold), or book at once with ``confirm``.

    The ``Idempotency-Key`` header (or body field) makes retries safe: a retry answers as the
    first request did, with the same booking.
    """
    return await post_booking(request)


_BOOKING_OUT = TypeAdapter(BookingOut)


async def post_booking(request: Request) -> Response:
    """``POST /bookings`` without FastAPI's per-request work: the 08:00 release's one request.

    The application serves it before its own layers (``web.hot.Application``, the route listed
    in ``web.app.HOT_ROUTES``); ``new_booking`` documents it and answers the same. Parsing, the
    token and the errors are those of every other endpoint.
    """
    await refuse_nul_characters(request)
    raw = await request.body()
    try:
        body = BookingIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=raw) from None
    caller = caller_of(request, bearer_token(request))
    values = body.model_dump()
    values["idempotency_key"] = request.headers.get("idempotency-key") or body.idempotency_key
    wanted = booking.BookingRequest(**values)
    made = None
    pool = request.app.state.booking_pool  # PostgreSQL: one statement on the event loop
    if pool is not None:
        made = await booking.book_at_once(
            pool, request.app.state.engine, caller.user_id, caller.client, wanted
        )
    if made is None:
        made = await caller.run(lambda session, actor: booking.book(session, actor, wanted))
    return Response(_BOOKING_OUT.dump_json(made), 201, media_type="application/json")


@router.get("/bookings/{booking_id}", response_model=BookingOut)
async def get_booking(booking_id: uuid.UUID, caller: CallerDep) -> BookingOut:
    """One booking with its live queue position."""
    return await caller.run(lambda session, actor: booking.get_booking(session, actor, booking_id))


@router.post("/bookings/{booking_id}/confirm", response_model=BookingOut)
async def confirm(booking_id: uuid.UUID, caller: CallerDep) -> BookingOut:
    """Confirm a held booking before the hold lapses."""
    return await caller.run(lambda session, actor: booking.confirm(session, actor, booking_id))


@router.post("/bookings/{booking_id}/cancel", response_model=BookingOut)
async def cancel(booking_id: uuid.UUID, caller: CallerDep) -> BookingOut:
    """Cancel a booking before the cancellation deadline."""
    return await caller.run(lambda session, actor: booking.cancel(session, actor, booking_id))


@router.post("/bookings/{booking_id}/reschedule", response_model=BookingOut, status_code=201)
def reschedule(
    booking_id: uuid.UUID,
    body: RescheduleIn,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: IdempotencyKey = None,
) -> BookingOut:
    """Move a booking (or one ended by stop-clinic) to another session in one step."""
    return booking.reschedule(
        session,
        actor,
        booking_id,
        body.session_id,
        slice_start=body.slice_start,
        idempotency_key=idempotency_key or body.idempotency_key,
    )


@router.post("/bookings/{booking_id}/check-in", response_model=BookingOut)
def check_in(
    booking_id: uuid.UUID, body: CheckInIn, session: SessionDep, actor: ActorDep
) -> BookingOut:
    """Check the patient in (QR, kiosk or window) and queue him in his room."""
    return booking.check_in(
        session, actor, booking_id, body.method, priority_reason=body.priority_reason
    )


@router.post("/bookings/{booking_id}/recall", response_model=BookingOut)
def recall(booking_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> BookingOut:
    """Call the called patient once more."""
    return booking.recall(session, actor, booking_id)


@router.post("/bookings/{booking_id}/skip", response_model=BookingOut)
def skip(booking_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> BookingOut:
    """The called patient did not come (过号)."""
    return booking.skip(session, actor, booking_id)


@router.post("/bookings/{booking_id}/requeue", response_model=BookingOut)
def requeue(booking_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> BookingOut:
    """A skipped patient is back and queues again."""
    return booking.requeue(session, actor, booking_id)


@router.post("/bookings/{booking_id}/transfer", response_model=BookingOut)
def transfer(
    booking_id: uuid.UUID, body: TransferIn, session: SessionDep, actor: ActorDep
) -> BookingOut:
    """Send a patient to another room."""
    return booking.transfer(session, actor, booking_id, body.room)


@router.post("/bookings/{booking_id}/finish", response_model=BookingOut)
def finish(booking_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> BookingOut:
    """The called patient has been seen."""
    return booking.finish(session, actor, booking_id)


@router.get("/residents/{resident_id}/bookings", response_model=list[BookingOut])
def bookings_of(
    resident_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[BookingOut]:
    """A resident's bookings, live ones first."""
    return booking.bookings_of(session, actor, resident_id, limit=limit)


@router.get("/residents/{resident_id}/notices", response_model=list[NoticeOut])
def notices_of(resident_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[NoticeOut]:
    """Messages to the resident, such as a cancelled clinic."""
    return booking.notices_of(session, actor, resident_id)


@router.get("/queues/{room}", response_model=QueueOut)
def room_queue(
    room: str, session: SessionDep, actor: ActorDep, day: date | None = None
) -> QueueOut:
    """A room's queue at the actor's institution: called, waiting in order, skipped."""
    return booking.room_queue(session, actor, room, day)


@router.post("/queues/{room}/call-next", response_model=BookingOut | None)
def call_next(room: str, session: SessionDep, actor: ActorDep) -> BookingOut | None:
    """Call the next waiting patient of the room (null when nobody waits)."""
    return booking.call_next(session, actor, room)


@router.get("/display/{institution_id}/{room}", response_model=QueueOut, tags=["public"])
def display(institution_id: uuid.UUID, room: str, session: SessionDep) -> QueueOut:
    """What the waiting-room screen shows: numbers and masked names; no login needed."""
    return booking.waiting_room_display(session, institution_id, room)


@router.post("/schedules", response_model=ScheduleOut, status_code=201)
def new_schedule(body: ScheduleIn, session: SessionDep, actor: ActorDep) -> ScheduleOut:
    """Publish a schedule for a doctor, a department clinic or an exam resource."""
    values = body.model_dump()
    values["periods"] = tuple(values["periods"])
    made = booking.create_schedule(session, actor, booking.NewSchedule(**values))
    return ScheduleOut.model_validate(made)


@router.get("/institutions/{institution_id}/schedules", response_model=list[ScheduleOut])
def schedules(institution_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[ScheduleOut]:
    """An institution's schedules."""
    return [ScheduleOut.model_validate(s) for s in booking.list_schedules(session, institution_id)]


@router.post("/schedules/{schedule_id}/sessions", response_model=dict[str, int])
def publish(
    schedule_id: uuid.UUID, body: PublishIn, session: SessionDep, actor: ActorDep
) -> dict[str, int]:
    """Open a schedule's sessions from today through ``days`` ahead."""
    return {"sessions": booking.publish_sessions(session, actor, schedule_id, body.days)}


@router.post("/clinic-sessions/{session_id}/stop", response_model=StopOut)
def stop(session_id: uuid.UUID, body: StopIn, session: SessionDep, actor: ActorDep) -> StopOut:
    """Cancel a clinic session (停诊): its bookings end and every resident is told."""
    return booking.stop_session(session, actor, session_id, body.reason)


@router.get("/booking-rules", response_model=RulesOut)
def rules(
    session: SessionDep, actor: ActorDep, institution_id: uuid.UUID | None = None
) -> RulesOut:
    """The booking rules in force at an institution (or the county's)."""
    return booking.rules_for(session, institution_id)


@router.put("/booking-rules", response_model=RulesOut)
def set_rules(body: RulesIn, session: SessionDep, actor: ActorDep) -> RulesOut:
    """Set an institution's booking rules (or the county's, without one)."""
    values = body.model_dump()
    institution_id = values.pop("institution_id")
    return booking.set_rules(session, actor, institution_id, booking.Rules(**values))


@router.get("/booking-measures", response_model=MeasuresOut)
def measures(
    first: date,
    last: date,
    session: SessionDep,
    actor: ActorDep,
    institution_id: uuid.UUID | None = None,
) -> MeasuresOut:
    """Bookings by channel, online share, on-time and no-show rates, waits, slot use."""
    return booking.booking_measures(session, actor, first, last, institution_id)

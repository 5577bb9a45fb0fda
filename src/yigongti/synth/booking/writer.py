"""The booking tables written from a plan: schedules, sessions, slots and bookings.

Only sessions that have bookings are written, each with all of its slots, numbered as
``booking.service.schedules`` numbers them. Sessions are written in key order, and the ids
drawn for them, their slots and bookings stay on the plan for the tables written after.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.schema import AddConstraint, DropConstraint

from yigongti.db.migrate import load_models
from yigongti.registry.codes import department_catalog
from yigongti.synth import ids
from yigongti.synth.booking.codes import (
    CANCELLED,
    CHANNELS,
    COMPLETED,
    DAY_PERIODS,
    EXTERNAL,
    KIOSK,
    MINUTE_MS,
    NO_SHOW,
    ONLINE,
    PHONE,
    REFERRAL,
    STATUSES,
    WINDOW,
    local_ms,
)
from yigongti.synth.booking.plan import Plan
from yigongti.synth.loader import BulkWriter
from yigongti.synth.staff import GENERAL_PRACTICE
from yigongti.synth.timing import DAY_S

# channel -> check-in method probabilities (qr, kiosk, window)
CHECKIN = {
    ONLINE: (0.75, 0.25, 0.0),
    KIOSK: (0.0, 1.0, 0.0),
    WINDOW: (0.0, 0.0, 1.0),
    PHONE: (0.0, 0.5, 0.5),
    EXTERNAL: (0.75, 0.25, 0.0),
    REFERRAL: (0.4, 0.0, 0.6),
}
CHECKIN_METHODS = ("qr", "kiosk", "window")
AGED = 80  # recognised priority at check-in
WRITE_ROWS = 200_000  # rows per insert, so that the text of a column never piles up
SCHEDULES_BEFORE_DAYS = 30  # schedules were published this long before the year


@dataclass
class BookingTally:
    """Rows the booking stage wrote."""

    schedules: int = 0
    clinic_sessions: int = 0
    slots: int = 0
    bookings: int = 0


def write_tables(connection: Connection, plan: Plan) -> BookingTally:
    """Every booking table of ``plan`` (in the connection's transaction)."""
    writer = BulkWriter(connection)
    fk = None
    if writer.dialect == "postgresql":
        # Slots name their booking and bookings their slot: the slot's key waits.
        table = load_models().metadata.tables["slots"]
        fk = next(c for c in table.foreign_key_constraints if c.name == "fk_slot_booking")
        connection.execute(DropConstraint(fk))
    tally = BookingTally()
    tally.schedules = write_schedules(plan, writer)
    tally.clinic_sessions = write_sessions(plan, writer)
    tally.slots = write_slots(plan, writer)
    tally.bookings = write_bookings(plan, writer)
    if fk is not None:
        connection.execute(AddConstraint(fk))
    return tally


def write_schedules(plan: Plan, writer: BulkWriter) -> int:
    f = plan.f
    n = len(f.catalog.specs)
    ms = np.full(n, f.base_ms - SCHEDULES_BEFORE_DAYS * DAY_S * 1000, dtype=np.int64)
    plan.spec_hex = np.array(ids.hex_ids(*ids.uuid7_bits(plan.rng, ms)), dtype=object)
    specs = f.catalog.specs
    return writer.insert(
        "schedules",
        {
            "id": plan.spec_hex.tolist(),
            "institution_id": [f.inst_hex[s.inst] for s in specs],
            "department_id": [f.dept_hex[s.dept] for s in specs],
            "practitioner_id": [s.practitioner for s in specs],
            "resource": [s.resource for s in specs],
            "name": [s.name[:60] for s in specs],
            "room": [s.room for s in specs],
            "fee_fen": [s.fee_fen for s in specs],
            "slice_minutes": [s.slice_minutes for s in specs],
            "slice_capacity": [s.capacity for s in specs],
            "weekdays": [s.weekdays for s in specs],
            "periods": [",".join(s.periods) for s in specs],
            "release_days": [7] * n,
            "release_minute": [8 * 60] * n,
            "quotas": [json.dumps(s.quotas) for s in specs],
            "referral_release_hours": [24] * n,
            "preparation": [s.preparation for s in specs],
            "active": writer.flags(np.ones(n, dtype=bool)),
            "created_at": writer.timestamps(ms),
        },
    )


def write_sessions(plan: Plan, writer: BulkWriter) -> int:
    f = plan.f
    release = local_ms(plan.s_day - 7, 8 * 60)
    hi, lo = ids.uuid7_bits(plan.rng, release)
    order = np.lexsort((lo, hi))  # key order
    rename = np.empty(len(order), dtype=np.int64)
    rename[order] = np.arange(len(order))
    plan.session = rename[plan.session]
    for name in ("s_sched", "s_day", "s_period", "s_start", "s_end"):
        setattr(plan, name, getattr(plan, name)[order])
    release, plan.s_hi, plan.s_lo = release[order], hi[order], lo[order]
    plan.s_release = release
    plan.session_hex = np.array(ids.hex_ids(plan.s_hi, plan.s_lo), dtype=object)
    specs = [f.catalog.specs[s] for s in plan.s_sched.tolist()]
    n = len(specs)
    written = 0
    for a in range(0, n, WRITE_ROWS):
        rows = slice(a, a + WRITE_ROWS)
        m = len(plan.s_sched[rows])
        written += writer.insert(
            "clinic_sessions",
            {
                "id": plan.session_hex[rows].tolist(),
                "schedule_id": plan.spec_hex[plan.s_sched[rows]].tolist(),
                "institution_id": [f.inst_hex[s.inst] for s in specs[rows]],
                "department_id": [f.dept_hex[s.dept] for s in specs[rows]],
                "practitioner_id": [s.practitioner for s in specs[rows]],
                "day": _repeated(_dates, plan.s_day[rows]),
                "period": _names(DAY_PERIODS, plan.s_period[rows]),
                "starts_at": _repeated(writer.timestamps, plan.s_start[rows]),
                "ends_at": _repeated(writer.timestamps, plan.s_end[rows]),
                "release_at": _repeated(writer.timestamps, release[rows]),
                "referral_release_at": _repeated(
                    writer.timestamps, plan.s_start[rows] - 24 * 3600 * 1000
                ),
                "status": ["open"] * m,
                "stopped_reason": [None] * m,
                "stopped_at": [None] * m,
            },
        )
    return written


def write_slots(plan: Plan, writer: BulkWriter) -> int:
    """Every slot of the written sessions, session by session in number order."""
    f = plan.f
    total = np.array([s.slices() * s.capacity for s in f.catalog.specs], dtype=np.int64)
    per_session = total[plan.s_sched]
    plan.slot_base = np.concatenate([[0], np.cumsum(per_session)[:-1]])
    n = int(per_session.sum())
    session = np.repeat(np.arange(len(per_session)), per_session)
    number = np.arange(n) - plan.slot_base[session] + 1
    plan.slot_hi, plan.slot_lo = ids.uuid7_bits(plan.rng, plan.s_release[session])
    # The bookings that hold their slot, and their ids (bookings are written after).
    created_hi, created_lo = ids.uuid7_bits(plan.rng, plan.created)
    plan.b_hi, plan.b_lo = created_hi, created_lo
    holder = np.full(n, -1, dtype=np.int64)
    holds = np.flatnonzero(plan.d.status != CANCELLED)
    plan.slot_of = plan.slot_base[plan.session] + plan.number - 1
    holder[plan.slot_of[holds]] = holds
    cap = np.array([s.capacity for s in f.catalog.specs], dtype=np.int64)
    slice_ms = np.array([s.slice_minutes for s in f.catalog.specs], dtype=np.int64) * MINUTE_MS
    flat_layout = np.concatenate(plan.layouts)
    layout_base = np.concatenate([[0], np.cumsum([len(x) for x in plan.layouts])[:-1]])
    chunk = max(WRITE_ROWS, 1)
    written = 0
    for a in range(0, n, chunk):
        rows = np.arange(a, min(a + chunk, n))
        s = session[rows]
        sched = plan.s_sched[s]
        starts = plan.s_start[s] + (number[rows] - 1) // cap[sched] * slice_ms[sched]
        who = holder[rows]
        held = who >= 0
        booking = np.full(len(rows), None, dtype=object)
        booking[held] = ids.hex_ids(plan.b_hi[who[held]], plan.b_lo[who[held]])
        channel = flat_layout[layout_base[sched] + number[rows] - 1]
        written += writer.insert(
            "slots",
            {
                "id": ids.hex_ids(plan.slot_hi[rows], plan.slot_lo[rows]),
                "session_id": plan.session_hex[s].tolist(),
                "number": number[rows].tolist(),
                "starts_at": _repeated(writer.timestamps, starts),
                "ends_at": _repeated(writer.timestamps, starts + slice_ms[sched]),
                "channel": _names(CHANNELS, channel),
                "booking_id": booking.tolist(),
                "held_until": [None] * len(rows),
            },
        )
    return written


def write_bookings(plan: Plan, writer: BulkWriter) -> int:
    f, d, rng = plan.f, plan.d, plan.rng
    n = len(d.status)
    status = d.status
    done = status == COMPLETED
    # Times of the visit and its queue
    on_time = plan.checkin <= plan.slot_end
    checkin_draw = rng.random(n)
    method = np.zeros(n, dtype=np.int64)
    for c, p in CHECKIN.items():
        rows = plan.channel == c
        cum = np.cumsum(p)
        method[rows] = np.searchsorted(cum, checkin_draw[rows] * cum[-1], side="right")
    method = np.minimum(method, len(CHECKIN_METHODS) - 1)
    created = plan.created
    instant = (plan.channel == WINDOW) | (plan.channel == PHONE)
    confirmed = created + np.where(instant, 0, (rng.uniform(3, 120, n) * 1000).astype(np.int64))
    confirmed = np.where(done, np.minimum(confirmed, plan.checkin - MINUTE_MS), confirmed)
    confirmed = np.maximum(confirmed, created)
    ended = np.zeros(n, dtype=np.int64)
    session_end = plan.s_end[plan.session]
    missed = status == NO_SHOW
    ended[missed] = session_end[missed] + (
        rng.uniform(5, 60, int(missed.sum())) * MINUTE_MS
    ).astype(np.int64)
    gone = status == CANCELLED
    deadline = plan.slot_start[gone] - 2 * 3600 * 1000
    ended[gone] = (
        confirmed[gone]
        + MINUTE_MS
        + (
            rng.random(int(gone.sum())) * np.maximum(deadline - confirmed[gone] - MINUTE_MS, 0)
        ).astype(np.int64)
    )
    queued = np.where(on_time, plan.slot_start, plan.checkin)
    aged = (f.age[d.resident] >= AGED) & done
    referral = plan.channel == REFERRAL
    priority = np.where(aged, 2, np.where(referral & done, 1, 0))
    reason = np.where(aged, "aged_80", np.where(referral & done, "referral", None))
    # Up-referrals were booked by a general practitioner of the institution that referred the
    # visit (missed ones, which have no visit: of the patient's own center).
    referring = np.where(d.referred_from >= 0, d.referred_from, f.center[d.resident])
    gp_dept = f.network.department_of[referring, _position(GENERAL_PRACTICE)]
    size = np.where(gp_dept >= 0, f.staff.pool_size[np.maximum(gp_dept, 0)], 0)
    pick = f.staff.pool_start[np.maximum(gp_dept, 0)] + (rng.random(n) * size).astype(np.int64)
    referrer = np.where(
        referral & (size > 0), f.staff.pool[np.minimum(pick, len(f.staff.pool) - 1)], None
    )
    rooms = np.array([s.room for s in f.catalog.specs], dtype=object)
    fees = np.array([s.fee_fen for s in f.catalog.specs], dtype=np.int64)
    hi, lo = plan.b_hi, plan.b_lo
    order = np.lexsort((lo, hi))  # key order
    written = 0
    for a in range(0, n, WRITE_ROWS):
        rows = order[a : a + WRITE_ROWS]
        m = len(rows)
        sched, st = plan.sched[rows], status[rows]
        seen = st == COMPLETED
        written += writer.insert(
            "bookings",
            {
                "id": ids.hex_ids(hi[rows], lo[rows]),
                "slot_id": ids.hex_ids(
                    plan.slot_hi[plan.slot_of[rows]], plan.slot_lo[plan.slot_of[rows]]
                ),
                "session_id": plan.session_hex[plan.session[rows]].tolist(),
                "resident_id": ids.hex_ids(f.pop.hi[d.resident[rows]], f.pop.lo[d.resident[rows]]),
                "institution_id": f.inst_hex[d.inst[rows]].tolist(),
                "department_id": f.dept_hex[d.dept[rows]].tolist(),
                "day": _repeated(_dates, plan.day[rows]),
                "number": plan.number[rows].tolist(),
                "channel": _names(CHANNELS, plan.channel[rows]),
                "status": _names(STATUSES, st),
                "fee_fen": fees[sched].tolist(),
                "booked_by": [None] * m,
                "idempotency_key": [None] * m,
                "referred_by": referrer[rows].tolist(),
                "rebooked_from": [None] * m,
                "created_at": writer.timestamps(created[rows]),
                "confirmed_at": writer.timestamps(confirmed[rows]),
                "ended_at": _optional(writer.timestamps, ended[rows], ~seen),
                "checked_in_at": _optional(writer.timestamps, plan.checkin[rows], seen),
                "checkin_method": _pick(CHECKIN_METHODS, method[rows], seen),
                "on_time": _optional(writer.flags, on_time[rows], seen),
                "room": rooms[sched].tolist(),
                "priority": priority[rows].tolist(),
                "priority_reason": reason[rows].tolist(),
                "queued_at": _optional(writer.timestamps, queued[rows], seen),
                "called_at": _optional(writer.timestamps, d.start[rows], seen),
                "calls": seen.astype(np.int64).tolist(),
                "completed_at": _optional(writer.timestamps, d.end[rows], seen),
            },
        )
    return written


def _position(code: str) -> int:
    return list(department_catalog()).index(code)


def _dates(days: np.ndarray) -> list[str]:
    """``YYYY-MM-DD`` of days since the epoch."""
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def _repeated(convert: Callable[[np.ndarray], list[Any]], values: np.ndarray) -> list[Any]:
    """``convert(values)`` for values that repeat (slot and session times, days): each
    distinct value converted once."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array(convert(distinct), dtype=object)[inverse].tolist()


def _names(names: Sequence[str], index: np.ndarray) -> list[str]:
    """The name of each code, the same string object for the same code."""
    return np.array(names, dtype=object)[index].tolist()


def _optional(convert, values: np.ndarray, present: np.ndarray) -> list[object]:
    """``convert(values)`` where ``present``, None (NULL) elsewhere."""
    out = np.full(len(values), None, dtype=object)
    if present.any():
        out[present] = convert(values[present])
    return out.tolist()


def _pick(names: Sequence[str], index: np.ndarray, present: np.ndarray) -> list[object]:
    out = np.full(len(index), None, dtype=object)
    out[present] = np.take(np.array(names, dtype=object), index[present])
    return out.tolist()

"""The slot pool stays consistent under any interleaving of bookers, jobs and clinics.

A state machine drives random sequences of hold, confirm, cancel, lapse, the expiry job,
no-shows and stop-clinic for eight residents against a session of six places on two channels,
and after every step reads the database itself: no slot is sold twice, no live booking lost
its slot, no slot names a booking that is over, and every booking the model holds confirmed
is still confirmed. Then real threads race for fewer places than there are bookers.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.booking.conftest import book_for, lapse, make_past, neighbours, small_schedule
from tests.support import actor, places
from yigongti import booking
from yigongti.booking.models import LIVE_STATUSES, Booking, Slot
from yigongti.db import unit_of_work
from yigongti.kernel import Conflict, DomainError, now

RESIDENTS = 8
CHANNELS = ("window", "kiosk")
QUOTAS = {"window": 50, "kiosk": 50}  # three 60-minute slices of two: 3 + 3 places
PLACES = 6
THREADS = 16
ENDS_AFTER = 15  # steps of open booking before the session may end or be stopped


@dataclass
class Model:
    """What the machine believes of one booking."""

    resident: int
    key: str
    status: str  # held | lapsed | confirmed | cancelled | expired | no_show | stopped


@dataclass
class Outcome:
    value: Any = None
    error: DomainError | None = None


def attempt(engine: Engine, step: Callable[[Session], Any]) -> Outcome:
    """Run ``step`` in its own unit of work; a refusal rolls it back and is returned."""
    try:
        with unit_of_work(engine) as session:
            return Outcome(step(session))
    except DomainError as error:
        return Outcome(error=error)


class SlotPool(RuleBasedStateMachine):
    """Eight residents and a window clerk against one session of six places."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        with unit_of_work(engine) as session:
            clerk = actor(session, "window_clerk")
            self.session_id = small_schedule(
                session, clerk, places(session).center, quotas=QUOTAS, slice_capacity=2
            )
            self.residents = [r.id for r in neighbours(session, RESIDENTS)]
        self.run = uuid.uuid4().hex[:12]
        self.keys = 0
        self.bookings: dict[uuid.UUID, Model] = {}
        self.state = "open"  # open | stopped | over
        self.steps = 0
        self.free = dict.fromkeys(CHANNELS, 0)

    # --- helpers ----------------------------------------------------------------------------

    def _clerk(self, session: Session):  # type: ignore[no-untyped-def]
        return actor(session, "window_clerk")

    def _live_for(self, resident: int) -> bool:
        return any(
            m.resident == resident and m.status in ("held", "confirmed")
            for m in self.bookings.values()
        )

    def _pick(self, pick: int, statuses: tuple[str, ...] | None = None) -> uuid.UUID | None:
        ids = [b for b, m in self.bookings.items() if statuses is None or m.status in statuses]
        return ids[pick % len(ids)] if ids else None

    def _sync_lapsed(self) -> None:
        """A lapsed hold ends when someone takes its slot or its resident books again."""
        lapsed = [b for b, m in self.bookings.items() if m.status == "lapsed"]
        if not lapsed:
            return
        with unit_of_work(self.engine) as session:
            stored = dict(
                session.execute(
                    select(Booking.id, Booking.status).where(Booking.id.in_(lapsed))
                ).all()
            )
        for b in lapsed:
            assert stored[b] in ("held", "expired"), stored[b]
            if stored[b] == "expired":
                self.bookings[b].status = "expired"

    # --- rules ------------------------------------------------------------------------------

    @rule(
        resident=st.integers(0, RESIDENTS - 1),
        channel=st.sampled_from(CHANNELS),
        at_once=st.booleans(),
    )
    def hold(self, resident: int, channel: str, at_once: bool) -> None:
        """Book (a hold, or confirmed at once) with a new idempotency key."""
        self._book(resident, channel, at_once)

    @precondition(lambda self: any(m.status == "lapsed" for m in self.bookings.values()))
    @rule(pick=st.integers(0, 1000), channel=st.sampled_from(CHANNELS), at_once=st.booleans())
    def book_again_after_a_lapse(self, pick: int, channel: str, at_once: bool) -> None:
        """A resident whose hold lapsed tries again before any job has run."""
        b = self._pick(pick, ("lapsed",))
        assert b is not None
        self._book(self.bookings[b].resident, channel, at_once)

    def _book(self, resident: int, channel: str, at_once: bool) -> None:
        self.keys += 1
        key = f"{self.run}-{self.keys}"
        free = self.free[channel]  # as the invariant read it after the last step
        expected = self.state == "open" and not self._live_for(resident) and free > 0
        outcome = attempt(
            self.engine,
            lambda s: book_for(
                s,
                self._clerk(s),
                self.session_id,
                self.residents[resident],
                channel=channel,
                confirm=at_once,
                key=key,
            ),
        )
        if expected:
            assert outcome.error is None, outcome.error
            made = outcome.value
            assert made.id not in self.bookings
            assert made.status == ("confirmed" if at_once else "held")
            self.bookings[made.id] = Model(resident, key, made.status)
        else:
            assert isinstance(outcome.error, Conflict), outcome
        self._sync_lapsed()

    @precondition(lambda self: self.bookings)
    @rule(pick=st.integers(0, 1000), stranger=st.booleans())
    def retry(self, pick: int, stranger: bool) -> None:
        """Send a booking's request again: the same booking; another patient: a conflict."""
        b = self._pick(pick)
        assert b is not None
        m = self.bookings[b]
        who = (m.resident + 1) % RESIDENTS if stranger else m.resident
        outcome = attempt(
            self.engine,
            lambda s: book_for(s, self._clerk(s), self.session_id, self.residents[who], key=m.key),
        )
        if stranger:
            assert isinstance(outcome.error, Conflict), outcome
        else:
            assert outcome.error is None, outcome.error
            assert outcome.value.id == b

    @precondition(lambda self: self.bookings)
    @rule(pick=st.integers(0, 1000))
    def confirm(self, pick: int) -> None:
        b = self._pick(pick)
        assert b is not None
        m = self.bookings[b]
        outcome = attempt(self.engine, lambda s: booking.confirm(s, self._clerk(s), b))
        if m.status in ("held", "confirmed"):
            assert outcome.error is None, outcome.error
            assert outcome.value.status == "confirmed"
            m.status = "confirmed"
        else:
            assert isinstance(outcome.error, Conflict), (m, outcome)

    @precondition(lambda self: self.bookings)
    @rule(pick=st.integers(0, 1000))
    def cancel(self, pick: int) -> None:
        b = self._pick(pick)
        assert b is not None
        m = self.bookings[b]
        outcome = attempt(self.engine, lambda s: booking.cancel(s, self._clerk(s), b))
        if m.status == "cancelled" or (
            m.status in ("held", "lapsed", "confirmed") and self.state == "open"
        ):
            assert outcome.error is None, outcome.error
            m.status = "cancelled"
        else:
            # over: too late to cancel; stopped, expired, no-show: nothing to cancel
            assert isinstance(outcome.error, Conflict), (m, self.state, outcome)

    @precondition(lambda self: any(m.status == "held" for m in self.bookings.values()))
    @rule(pick=st.integers(0, 1000))
    def lapse(self, pick: int) -> None:
        """A hold runs out; no job has run yet."""
        b = self._pick(pick, ("held",))
        assert b is not None
        with unit_of_work(self.engine) as session:
            lapse(session, b)
        self.bookings[b].status = "lapsed"

    @rule()
    def expire_job(self) -> None:
        """The expiry job ends every lapsed hold."""
        with unit_of_work(self.engine) as session:
            ended = booking.expire_holds(session)
        lapsed = [m for m in self.bookings.values() if m.status == "lapsed"]
        assert ended >= len(lapsed)
        for m in lapsed:
            m.status = "expired"

    @precondition(lambda self: self.state == "open" and self.steps >= ENDS_AFTER)
    @rule()
    def session_ends(self) -> None:
        """The session is over; confirmed bookings nobody checked in become no-shows."""
        with unit_of_work(self.engine) as session:
            make_past(session, self.session_id)
            marked = booking.mark_no_shows(session)
        confirmed = [m for m in self.bookings.values() if m.status == "confirmed"]
        assert marked >= len(confirmed)  # earlier examples' sessions may add their own
        for m in confirmed:
            m.status = "no_show"
        self.state = "over"

    @precondition(lambda self: self.state == "open" and self.steps >= ENDS_AFTER)
    @rule()
    def stop_clinic(self) -> None:
        live = [m for m in self.bookings.values() if m.status in ("held", "lapsed", "confirmed")]
        outcome = attempt(
            self.engine,
            lambda s: booking.stop_session(s, self._clerk(s), self.session_id, "医生临时外出"),
        )
        assert outcome.error is None, outcome.error
        assert outcome.value.bookings_stopped == len(live)
        assert outcome.value.residents_notified == len({m.resident for m in live})
        for m in live:
            m.status = "stopped"
        self.state = "stopped"

    # --- invariants, read from the database -------------------------------------------------

    @invariant()
    def the_database_agrees(self) -> None:
        self.steps += 1
        with unit_of_work(self.engine) as session:
            slots = session.execute(
                select(Slot.id, Slot.booking_id, Slot.channel, Slot.held_until).where(
                    Slot.session_id == self.session_id
                )
            ).all()
            rows = {
                b.id: b
                for b in session.scalars(
                    select(Booking).where(Booking.session_id == self.session_id)
                )
            }
        assert len(slots) == PLACES
        live = [b for b in rows.values() if b.status in LIVE_STATUSES]
        # no slot has two live bookings, and no more live bookings than places
        assert max(Counter(b.slot_id for b in live).values(), default=0) <= 1
        assert len(live) <= PLACES
        # a slot names nobody, or a live booking of that very slot (a no-show keeps his place)
        kept = (*LIVE_STATUSES, "no_show") if self.state == "over" else LIVE_STATUSES
        for slot_id, holder, _, _ in slots:
            if holder is not None:
                assert rows[holder].slot_id == slot_id
                assert rows[holder].status in kept, rows[holder].status
        # and every held or confirmed booking is named by its slot
        named = {holder for _, holder, _, _ in slots}
        assert all(b.id in named for b in rows.values() if b.status in ("held", "confirmed"))
        # nothing the model knows was lost or changed behind its back
        assert set(rows) == set(self.bookings)
        for b, m in self.bookings.items():
            want = "held" if m.status == "lapsed" else m.status
            assert rows[b].status == want, (m, rows[b].status)
        # places a booker could take now, per channel (free, or held past its time)
        moment = now()
        self.free = {
            c: sum(
                1
                for _, holder, channel, until in slots
                if channel == c and (holder is None or (until is not None and until < moment))
            )
            for c in CHANNELS
        }


def test_random_interleavings_keep_the_slot_pool_consistent(engine: Engine) -> None:
    run_state_machine_as_test(
        lambda: SlotPool(engine),
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


# --- real threads ---------------------------------------------------------------------------


@dataclass
class Race:
    """What each of the racing threads got."""

    booked: list[uuid.UUID] = field(default_factory=list)
    refused: list[DomainError] = field(default_factory=list)
    broke: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def race(engine: Engine, jobs: list[Callable[[Session], booking.BookingView]]) -> Race:
    """Start every job at once, each in its own thread and unit of work."""
    result = Race()
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[Session], booking.BookingView]) -> None:
        start.wait()
        try:
            with unit_of_work(engine) as session:
                made = job(session)
            with result.lock:
                result.booked.append(made.id)
        except DomainError as error:
            with result.lock:
                result.refused.append(error)
        except BaseException as error:  # reported by the test
            with result.lock:
                result.broke.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a booker hung"
    return result


def _race_session(engine: Engine, residents: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    with unit_of_work(engine) as session:
        sid = small_schedule(
            session,
            actor(session, "window_clerk"),
            places(session).center,
            quotas={"window": 100},
            slice_capacity=2,
        )
        return sid, [r.id for r in neighbours(session, residents)]


def test_concurrent_bookers_get_exactly_the_places_there_are_and_never_share_one(
    engine: Engine,
) -> None:
    sid, residents = _race_session(engine, THREADS)
    result = race(
        engine,
        [lambda s, r=r: book_for(s, actor(s, "window_clerk"), sid, r) for r in residents],
    )
    assert result.broke == []
    assert len(result.booked) == PLACES
    assert len(result.refused) == THREADS - PLACES
    assert all(isinstance(e, Conflict) for e in result.refused)
    with unit_of_work(engine) as session:
        rows = session.scalars(select(Booking).where(Booking.session_id == sid)).all()
        holders = dict(
            session.execute(select(Slot.id, Slot.booking_id).where(Slot.session_id == sid)).all()
        )
    assert {b.id for b in rows} == set(result.booked)
    assert len({b.slot_id for b in rows}) == PLACES
    assert len({b.resident_id for b in rows}) == PLACES
    assert {holders[b.slot_id] for b in rows} == set(result.booked)


def test_one_resident_booking_from_many_threads_gets_one_booking(engine: Engine) -> None:
    sid, [patient] = _race_session(engine, 1)
    # the same request retried with one key, and fresh requests without one
    result = race(
        engine,
        [lambda s: book_for(s, actor(s, "window_clerk"), sid, patient, key="retry-1")] * 8
        + [lambda s: book_for(s, actor(s, "window_clerk"), sid, patient)] * 4,
    )
    assert result.broke == []
    assert len(set(result.booked)) == 1
    assert all(isinstance(e, Conflict) for e in result.refused)
    with unit_of_work(engine) as session:
        assert (
            session.scalar(
                select(func.count()).where(
                    Booking.resident_id == patient, Booking.session_id == sid
                )
            )
            == 1
        )


def test_concurrent_lapsed_hold_takeovers_sell_the_place_once(engine: Engine) -> None:
    """Many bookers race for a place whose hold just lapsed: one wins, the hold expires once."""
    with unit_of_work(engine) as session:
        sid = small_schedule(
            session,
            actor(session, "window_clerk"),
            places(session).center,
            quotas={"window": 34, "kiosk": 33, "phone": 33},
        )
        slow, *others = neighbours(session, 9)
        held = book_for(session, actor(session, "window_clerk"), sid, slow.id, confirm=False)
        lapse(session, held.id)
    result = race(
        engine, [lambda s, r=r: book_for(s, actor(s, "window_clerk"), sid, r.id) for r in others]
    )
    assert result.broke == []
    assert len(result.booked) == 1
    assert len(result.refused) == len(others) - 1
    with unit_of_work(engine) as session:
        assert session.get(Booking, held.id).status == "expired"  # type: ignore[union-attr]
        [winner] = result.booked
        assert (
            session.scalar(
                select(Slot.booking_id).where(Slot.id == session.get(Booking, winner).slot_id)
            )
            == winner
        )  # type: ignore[union-attr]

"""Booking in the browser: the slot pool on a phone, the queue console and the hall display,
schedules and stop-clinic, and the booking page in English.

Each test arranges its schedule through the services as the demo window clerk (at the
township center where the demo resident lives and the demo township doctor works), with a
room and department of its own so the tests do not see each other's sessions.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine, select

from tests.e2e.support import AsRole, Login, NewPage
from tests.support import actor
from yigongti import booking, registry
from yigongti.booking.codes import PERIODS
from yigongti.booking.models import ClinicSession, Slot
from yigongti.db import unit_of_work
from yigongti.kernel import local, now

PHONE = {"width": 390, "height": 844}


def today() -> date:
    """Today in China time, as the services count days."""
    return local(now()).date()


@dataclass(frozen=True)
class Arranged:
    """A schedule made for one test, with its sessions through a week ahead."""

    schedule_id: uuid.UUID
    institution_id: uuid.UUID
    room: str
    name: str


def arrange_schedule(
    engine: Engine, *, department: str, room: str, name: str, **options: object
) -> Arranged:
    """A schedule of the clerk's center, every day and period, sessions from today to +7."""
    with unit_of_work(engine) as session:
        clerk = actor(session, "window_clerk")
        assert clerk.institution_id is not None
        center = registry.get_institution(session, clerk.institution_id)
        department_id = next(d.id for d in center.departments if d.code == department)
        new = booking.NewSchedule(
            institution_id=center.id,
            department_id=department_id,
            resource=str(options.pop("resource", "clinic")),
            room=room,
            fee_fen=int(options.pop("fee_fen", 1250)),  # type: ignore[call-overload]
            name=name,
            weekdays="1234567",
            periods=tuple(PERIODS),
            quotas={"online": 50, "window": 50},
            **options,  # type: ignore[arg-type]
        )
        schedule = booking.create_schedule(session, clerk, new)
        booking.open_sessions(session, schedule, today(), today() + timedelta(days=7))
        return Arranged(schedule.id, center.id, room, name)


def session_open_now(engine: Engine, schedule_id: uuid.UUID) -> uuid.UUID:
    """Today's session of the schedule that is open for a while yet.

    Late in the evening every session of the day is over; the test then moves the night
    session (and its slots) to start ten minutes ago, so check-in works at any hour.
    """
    moment = now()
    with unit_of_work(engine) as session:
        sessions = session.scalars(
            select(ClinicSession)
            .where(ClinicSession.schedule_id == schedule_id, ClinicSession.day == today())
            .order_by(ClinicSession.starts_at)
        ).all()
        for clinic in sessions:
            if clinic.ends_at > moment + timedelta(minutes=30):
                return clinic.id
        clinic = sessions[-1]
        shift = moment - timedelta(minutes=10) - clinic.starts_at
        clinic.starts_at += shift
        clinic.ends_at += shift
        clinic.referral_release_at += shift
        for slot in session.scalars(select(Slot).where(Slot.session_id == clinic.id)):
            slot.starts_at += shift
            slot.ends_at += shift
        return clinic.id


def session_of(engine: Engine, schedule_id: uuid.UUID, day: date, period: str) -> uuid.UUID:
    """The schedule's session on ``day`` in ``period``."""
    with unit_of_work(engine) as session:
        found = session.scalar(
            select(ClinicSession.id).where(
                ClinicSession.schedule_id == schedule_id,
                ClinicSession.day == day,
                ClinicSession.period == period,
            )
        )
        assert found is not None, f"no {period} session on {day}"
        return found


def choose(page: Page, field: Locator, option: str) -> None:
    """Pick ``option`` in a Quasar select."""
    field.click()
    page.locator(".q-menu .q-item").get_by_text(option, exact=True).click()


def search_pool(page: Page, department: str, first: date, last: date | None = None) -> None:
    """Search the slot pool of the booking page for a department and days."""
    form = page.get_by_test_id("pool-search")
    choose(page, form.get_by_test_id("pool-department"), department)
    form.get_by_test_id("pool-from").fill(first.isoformat())
    form.get_by_test_id("pool-to").fill((last or first).isoformat())
    form.get_by_test_id("pool-submit").click()
    # The results are redrawn: wait for the new list before touching an offer.
    expect(page.get_by_test_id("offer").first).to_contain_text(f"{first:%Y-%m-%d}")


def offer(page: Page, name: str, period: str) -> Locator:
    """The offer of the schedule ``name`` in a period (``上午``) among the results."""
    return page.get_by_test_id("offer").filter(has_text=name).filter(has_text=period).first


def no_sideways_scroll(page: Page, width: int = PHONE["width"]) -> None:
    """The page fits the phone's width."""
    page.wait_for_timeout(300)  # let the layout settle
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width


def test_resident_books_confirms_and_cancels_on_a_phone(
    as_role: AsRole, demo_engine: Engine
) -> None:
    arranged = arrange_schedule(
        demo_engine, department="02", room="E2E-全科1", name="试验全科门诊", fee_fen=1250
    )
    day = today() + timedelta(days=2)
    page = as_role("resident", **PHONE, path="/booking")
    search_pool(page, "全科医疗科", day)
    found = offer(page, arranged.name, "上午")
    expect(found.get_by_test_id("offer-fee")).to_have_text("¥12.50")
    expect(found).to_contain_text("余号")
    found.get_by_test_id("offer-book").click()

    dialog = page.get_by_test_id("book-dialog")
    expect(dialog.get_by_test_id("book-fee")).to_contain_text("¥12.50")
    expect(dialog.get_by_test_id("book-patient")).to_contain_text("（本人）")
    dialog.get_by_test_id("book-slices").get_by_text(re.compile("^08:15")).click()
    dialog.get_by_test_id("book-hold").click()
    expect(dialog.get_by_test_id("hold-expiry")).to_contain_text(re.compile(r"08:15.*请在"))
    no_sideways_scroll(page)
    dialog.get_by_test_id("book-confirm").click()

    mine = page.get_by_test_id("my-bookings")
    card = mine.get_by_test_id("booking-card").filter(has_text=arranged.name)
    expect(card.get_by_test_id("booking-status")).to_have_text("已预约")
    expect(card.get_by_test_id("booking-time")).to_contain_text(f"{day:%Y-%m-%d}")
    expect(card.get_by_test_id("booking-time")).to_contain_text("08:15")
    expect(card.get_by_test_id("booking-room")).to_have_text(f"诊室：{arranged.room}")
    expect(card.get_by_test_id("booking-number")).to_have_text(re.compile(r"^第 \d+ 号$"))
    expect(card.get_by_test_id("booking-code")).to_have_text(re.compile(r"^[0-9a-f-]{36}$"))
    no_sideways_scroll(page)

    card.get_by_test_id("booking-cancel").click()
    page.get_by_test_id("ask-yes").click()
    expect(card.get_by_test_id("booking-status")).to_have_text("已取消")
    expect(card.get_by_test_id("booking-cancel")).to_have_count(0)


def test_doctor_calls_the_checked_in_patient_and_the_hall_screen_shows_the_number(
    as_role: AsRole, new_page: NewPage, demo_engine: Engine
) -> None:
    with unit_of_work(demo_engine) as session:
        doctor = actor(session, "township_doctor").practitioner_id
    arranged = arrange_schedule(
        demo_engine,
        department="12",
        room="E2E-口腔3",
        name="试验口腔专家",
        resource="doctor",
        practitioner_id=doctor,
    )
    clinic = session_open_now(demo_engine, arranged.schedule_id)
    with unit_of_work(demo_engine) as session:
        ward = registry.wards_of(session, actor(session, "resident"))[0]
        booked = booking.book(
            session,
            actor(session, "window_clerk"),
            booking.BookingRequest(
                session_id=clinic, channel="window", resident_id=ward.id, confirm=True
            ),
        )

    page = as_role("township_doctor", **PHONE, path="/queue")
    checkin = page.get_by_test_id("checkin")
    checkin.get_by_test_id("checkin-id").fill(str(booked.id))
    checkin.get_by_test_id("checkin-submit").click()
    choose(page, page.get_by_test_id("queue-room"), arranged.room)
    waiting = page.get_by_test_id("queue-waiting").get_by_test_id("queue-entry")
    expect(waiting.filter(has_text=booked.resident_name)).to_have_count(1)

    # The guardian sees his ward's place in the queue.
    family = as_role("resident", **PHONE, path="/booking")
    family.get_by_test_id("tab-mine").click()
    ward_card = family.get_by_test_id("booking-card").filter(has_text=arranged.name)
    expect(ward_card.get_by_test_id("booking-status")).to_have_text("已签到")
    expect(ward_card.get_by_test_id("waiting-ahead")).to_have_text("前面还有 0 人候诊")

    page.get_by_test_id("call-next").click()
    called = page.get_by_test_id("queue-called").get_by_test_id("queue-entry")
    expect(called.get_by_test_id("entry-number")).to_have_text(f"{booked.number} 号")
    expect(called.get_by_test_id("entry-name")).to_have_text(booked.resident_name)
    expect(waiting).to_have_count(0)
    no_sideways_scroll(page)

    screen = new_page(1280, 720)  # the hall's screen: no login
    screen.goto(f"/display/{arranged.institution_id}/{quote(arranged.room, safe='')}")
    expect(screen.get_by_test_id("display-room")).to_have_text(f"诊室 {arranged.room}")
    expect(screen.get_by_test_id("display-number")).to_have_text(f"{booked.number} 号")
    expect(screen.get_by_test_id("display-name")).to_have_text(
        booking.mask_name(booked.resident_name)
    )
    assert booked.resident_name not in screen.get_by_test_id("display").inner_text()

    # Finished: the screen drops the number at its next refresh.
    called.get_by_test_id("queue-finish").click()
    expect(called).to_have_count(0)
    expect(screen.get_by_test_id("display-number")).to_have_count(0, timeout=10_000)


def test_clerk_creates_a_schedule_and_stops_a_session_and_the_resident_rebooks(
    as_role: AsRole, demo_engine: Engine
) -> None:
    name, room = "试验内科门诊", "E2E-内科5"
    page = as_role("window_clerk", **PHONE, path="/schedules")
    form = page.get_by_test_id("schedule-form")
    form.click()  # open the expansion
    choose(page, form.get_by_test_id("sf-department"), "内科")
    form.get_by_test_id("sf-name").fill(name)
    form.get_by_test_id("sf-room").fill(room)
    form.get_by_test_id("sf-fee").fill("8.5")
    form.get_by_test_id("sf-capacity").fill("2")
    form.get_by_test_id("sf-weekday-6").click()
    form.get_by_test_id("sf-weekday-7").click()
    form.get_by_test_id("sf-submit").click()
    schedule = page.get_by_test_id("schedule").filter(has_text=name)
    expect(schedule).to_contain_text("¥8.50")
    expect(schedule).to_contain_text("每天")
    expect(schedule).to_contain_text("每 15 分钟 2 个号")
    schedule.get_by_test_id("schedule-publish").click()
    expect(page.get_by_text(re.compile(r"已生成 \d+ 个出诊场次"))).to_be_visible()

    schedule_id = uuid.UUID(schedule.get_attribute("data-schedule") or "")
    day = today() + timedelta(days=2)
    stopped = session_of(demo_engine, schedule_id, day, "morning")
    with unit_of_work(demo_engine) as session:
        resident = actor(session, "resident")
        booking.book(
            session,
            resident,
            booking.BookingRequest(
                session_id=stopped,
                channel="online",
                resident_id=resident.resident_id,
                confirm=True,
            ),
        )

    page.get_by_test_id("sessions-from").fill(day.isoformat())
    sessions = page.get_by_test_id("sessions").get_by_test_id("session")
    expect(sessions.first).to_contain_text(f"{day:%Y-%m-%d}")  # the list from that day
    row = page.locator(f"[data-testid=session][data-session='{stopped}']")
    expect(row.get_by_test_id("session-state")).to_contain_text("已放号")
    row.get_by_test_id("session-stop").click()
    page.get_by_test_id("stop-reason").fill("医生外出培训")
    page.get_by_test_id("stop-submit").click()
    expect(page.get_by_test_id("stop-outcome")).to_have_text(
        "已停诊：结束 1 个预约，已通知 1 位居民"
    )
    expect(row.get_by_test_id("session-state")).to_contain_text("停诊")
    expect(row.get_by_test_id("session-stop")).to_have_count(0)

    desk = as_role("resident", **PHONE, path="/booking")
    notice = desk.get_by_test_id("notice").filter(has_text="医生外出培训")
    expect(notice.get_by_test_id("notice-text")).to_contain_text(f"{name}（{day:%Y-%m-%d} 上午）")
    notice.get_by_test_id("notice-rebook").click()
    expect(desk.get_by_test_id("moving")).to_contain_text(name)
    later = day + timedelta(days=1)
    search_pool(desk, "内科", later)
    target = offer(desk, name, "上午")
    expect(target.get_by_test_id("offer-book")).to_have_text(re.compile("改约到此场次"))
    target.get_by_test_id("offer-book").click()
    desk.get_by_test_id("book-dialog").get_by_test_id("book-move").click()

    cards = desk.get_by_test_id("my-bookings").get_by_test_id("booking-card").filter(has_text=name)
    moved = cards.filter(has_text=f"{later:%Y-%m-%d}")
    expect(moved.get_by_test_id("booking-status")).to_have_text("已预约")
    expect(moved.get_by_test_id("booking-fee")).to_have_text("¥8.50")
    was = cards.filter(has_text=f"{day:%Y-%m-%d}")
    expect(was.get_by_test_id("booking-status")).to_have_text("停诊")
    expect(desk.get_by_test_id("moving")).to_have_count(0)


def test_the_booking_page_switches_to_english(new_page: NewPage, login: Login) -> None:
    page = new_page(**PHONE)
    login(page, "resident")
    page.goto("/booking")
    expect(page.get_by_test_id("page-title")).to_have_text("预约挂号")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Book an appointment")
    expect(page.get_by_test_id("tab-find")).to_contain_text("Find an appointment")
    expect(page.get_by_test_id("tab-mine")).to_contain_text("My bookings")
    expect(page.get_by_test_id("pool-submit")).to_have_text(re.compile("Search"))
    expect(page.get_by_test_id("pool-search").get_by_text("Department")).to_be_visible()
    expect(page.get_by_test_id("offers-total")).to_have_text(re.compile(r"^\d+ clinic sessions$"))
    nav = page.get_by_test_id("nav")
    expect(nav.locator("[data-nav='/booking']")).to_have_count(1)


def test_staff_pages_refuse_a_resident_and_the_nav_offers_them_to_staff(as_role: AsRole) -> None:
    page = as_role("resident", path="/queue")
    expect(page.get_by_test_id("no-permission")).to_be_visible()
    expect(page.get_by_test_id("call-next")).to_have_count(0)
    page.goto("/schedules")
    expect(page.get_by_test_id("no-permission")).to_be_visible()
    expect(page.get_by_test_id("schedule-form")).to_have_count(0)
    clerk = as_role("window_clerk")
    nav = clerk.get_by_test_id("nav")
    for path in ("/booking", "/queue", "/schedules"):
        expect(nav.locator(f"[data-nav='{path}']")).to_have_count(1)
    expect(
        clerk.get_by_test_id("booking-links").locator("[data-link='/schedules']")
    ).to_be_visible()

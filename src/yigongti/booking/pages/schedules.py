"""The schedules page (``/schedules``): an institution's schedules, their sessions, stop-clinic."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yigongti import booking, registry
from yigongti.booking.codes import DEFAULT_QUOTAS, PERIODS, RESOURCES
from yigongti.booking.pages.common import (
    SEARCH_DAYS,
    TOUCH,
    day_label,
    parse_day,
    period_name,
    touch_button,
    weekday_names,
    weekdays_text,
)
from yigongti.kernel import Invalid, local, now
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext, error_text
from yigongti.web.ui.record import code_name, section, yuan
from yigongti.web.ui.resident_form import clear_errors, show_field_errors
from yigongti.web.ui.shell import enter, to_login

if TYPE_CHECKING:
    from yigongti.booking.models import Schedule


def referral_quotas(referral: int) -> dict[str, int]:
    """Channel quotas keeping ``referral`` percent for referrals, the rest as by default."""
    public = {c: p for c, p in DEFAULT_QUOTAS.items() if c != "referral"}
    rest, total = 100 - referral, sum(public.values())
    quotas = {c: rest * p // total for c, p in public.items()}
    quotas["online"] += rest - sum(quotas.values())
    return {**quotas, "referral": referral}


def yuan_to_fen(text: str | None) -> int | None:
    """A typed amount of yuan (``12.5``) as integer fen; ``None`` if it is not a number."""
    try:
        amount = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return int((amount * 100).quantize(Decimal(1)))


def _minute(text: str | None) -> int:
    """``HH:MM`` as minutes after midnight; -1 (refused by the service) if it is not a time."""
    try:
        hours, minutes = (int(part) for part in (text or "").split(":")[:2])
    except ValueError:
        return -1
    return hours * 60 + minutes


class ScheduleDesk:
    """Schedules of an institution, the form for a new one, its sessions and stop-clinic."""

    def __init__(self, context: PageContext) -> None:
        self.context = context
        self.stopping: uuid.UUID | None = None
        self.schedules: dict[str, str] = {}

    def build(self) -> None:
        """Draw the page; the institution is the user's, or chosen by a county-wide manager."""
        self.choice: ui.select | None = None
        institutions: dict[str, str] | None = None
        with self.context.work(inline=True) as work:
            found = booking.managed_institutions(work.session, work.actor)
            institutions = {str(i.id): i.name for i in found}
        if institutions is None:
            return
        self.only = uuid.UUID(next(iter(institutions))) if len(institutions) == 1 else None
        if self.only is None:
            own = str(self.context.actor.institution_id)
            self.choice = ui.select(
                institutions,
                label=t("机构"),
                value=own if own in institutions else None,
                with_input=True,
                on_change=lambda: self.load(),
            ).classes("w-full")
            self.choice.props("data-testid=schedule-institution")
        self.body = ui.column().classes("w-full gap-3")
        self._stop_dialog()
        self.load(inline=True)

    def _institution(self) -> uuid.UUID | None:
        if self.choice is None:
            return self.only
        return uuid.UUID(self.choice.value) if self.choice.value else None

    def load(self, *, inline: bool = False) -> None:
        """Schedules, the new-schedule form and the sessions of the chosen institution."""
        self.body.clear()
        institution_id = self._institution()
        if institution_id is None:
            with self.body:
                ui.label(t("请选择机构")).classes("text-grey-7")
            return
        loaded = False
        with self.body, self.context.work(inline=inline) as work:
            schedules = booking.managed_schedules(work.session, work.actor, institution_id)
            institution = registry.get_institution(work.session, institution_id)
            _, doctors = registry.list_practitioners(
                work.session, registry.PractitionerQuery(institution_id=institution_id, limit=500)
            )
            departments = {str(d.id): d.name for d in institution.departments}
            names = {str(d.id): d.name for d in doctors}
            self.schedules = {str(s.id): s.name for s in schedules}
            with section(t("本机构排班"), "event_note"):
                ui.label(institution.name).classes("text-grey-8")
                self._schedule_list(schedules, departments, names)
            self._form(institution_id, departments, names)
            with section(t("出诊场次"), "calendar_month"):
                self._sessions_filters()
                self.sessions_box = ui.column().classes("w-full gap-2")
                self.sessions_box.props("data-testid=sessions")
            loaded = True
        if loaded:
            self.draw_sessions()

    def _schedule_list(
        self,
        schedules: list[Schedule],
        departments: dict[str, str],
        doctors: dict[str, str],
    ) -> None:
        if not schedules:
            ui.label(t("暂无排班")).classes("text-grey-7").props("data-testid=no-schedules")
            return
        with ui.column().classes("w-full gap-2").props("data-testid=schedules"):
            for item in schedules:
                release = f"{item.release_minute // 60:02d}:{item.release_minute % 60:02d}"
                facts = [
                    departments.get(str(item.department_id), ""),
                    doctors.get(str(item.practitioner_id), "") if item.practitioner_id else "",
                    t("诊室：{room}").format(room=item.room),
                    yuan(item.fee_fen),
                ]
                rules = [
                    f"{weekdays_text(item.weekdays)} "
                    + t("、").join(period_name(p) for p in item.periods.split(",")),
                    t("每 {minutes} 分钟 {capacity} 个号").format(
                        minutes=item.slice_minutes, capacity=item.slice_capacity
                    ),
                    t("提前 {days} 天 {time} 放号").format(days=item.release_days, time=release),
                    t("转诊预留 {n}%").format(n=item.quotas.get("referral", 0)),
                ]
                card = ui.card().classes("w-full q-pa-sm gap-1").props("flat bordered")
                with card.props(f"data-testid=schedule data-schedule={item.id}"):
                    ui.label(f"{item.name} · {code_name(RESOURCES, item.resource)}").classes(
                        "text-subtitle1"
                    ).props("data-testid=schedule-name")
                    ui.label(" · ".join(filter(None, facts))).classes("text-body2 text-grey-8")
                    ui.label(" · ".join(rules)).classes("text-body2 text-grey-8")
                    if not item.active:
                        ui.label(t("已停用")).classes("text-negative")
                    sid, ahead = item.id, item.release_days
                    touch_button(
                        t("放号"),
                        "event_available",
                        lambda sid=sid, ahead=ahead: self.publish(sid, ahead),
                        "schedule-publish",
                    )

    def publish(self, schedule_id: uuid.UUID, days: int) -> None:
        """Make the schedule's sessions through its release days ahead."""
        with self.context.work() as work:
            made = booking.publish_sessions(work.session, work.actor, schedule_id, days)
            ui.notify(t("已生成 {n} 个出诊场次").format(n=made), type="positive")
        self.draw_sessions()

    # the new-schedule form

    def _form(
        self, institution_id: uuid.UUID, departments: dict[str, str], doctors: dict[str, str]
    ) -> None:
        referral = DEFAULT_QUOTAS["referral"]
        expansion = ui.expansion(t("新建排班"), icon="add_circle").classes("w-full")
        with expansion.props("data-testid=schedule-form"):
            with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 gap-x-4 gap-y-0"):
                department = ui.select(departments, label=t("就诊科室")).props(
                    "data-testid=sf-department"
                )
                resource = ui.select(
                    {code: code_name(RESOURCES, code) for code in RESOURCES},
                    label=t("号源类型"),
                    value="clinic",
                ).props("data-testid=sf-resource")
                doctor = ui.select(
                    doctors, label=t("医生（医生号必填）"), with_input=True, clearable=True
                ).props("data-testid=sf-doctor")
                name = ui.input(t("号别名称（选填）")).props("maxlength=60 data-testid=sf-name")
                room = ui.input(t("诊室")).props("maxlength=30 data-testid=sf-room")
                fee = ui.input(t("挂号费（元）")).props(
                    "inputmode=decimal maxlength=10 data-testid=sf-fee"
                )
                minutes = ui.number(t("每个时段（分钟）"), value=15, precision=0).props(
                    "data-testid=sf-slice"
                )
                capacity = ui.number(t("每个时段号源数"), value=4, precision=0).props(
                    "data-testid=sf-capacity"
                )
                days_ahead = ui.number(t("提前放号天数"), value=7, precision=0).props(
                    "data-testid=sf-release-days"
                )
                release = ui.input(t("放号时间"), value="08:00").props(
                    "type=time stack-label data-testid=sf-release-time"
                )
                share = ui.number(t("转诊预留比例（%）"), value=referral, precision=0).props(
                    "data-testid=sf-referral"
                )
            ui.label(t("出诊日")).classes("text-subtitle2 q-mt-sm")
            with ui.row().classes("gap-x-2 gap-y-0").props("data-testid=sf-weekdays"):
                checks = {
                    str(n): ui.checkbox(label, value=n <= 5).props(f"data-testid=sf-weekday-{n}")
                    for n, label in enumerate(weekday_names(), start=1)
                }
            ui.label(t("出诊时段")).classes("text-subtitle2")
            with ui.row().classes("gap-x-2 gap-y-0"):
                periods = {
                    code: ui.checkbox(period_name(code), value=code != "night").props(
                        f"data-testid=sf-period-{code}"
                    )
                    for code in PERIODS
                }
            preparation = ui.textarea(t("检查须知（选填）")).props(
                "maxlength=500 autogrow data-testid=sf-preparation"
            )
            preparation.classes("w-full")
            week_error = ui.label().classes("text-negative text-caption")
            fields: dict[str, ui.element] = {
                "department_id": department,
                "resource": resource,
                "practitioner_id": doctor,
                "room": room,
                "fee_fen": fee,
                "slice_minutes": minutes,
                "slice_capacity": capacity,
                "release_days": days_ahead,
                "release_minute": release,
                "quotas": share,
                "preparation": preparation,
            }

            def submit() -> None:
                clear_errors(fields)
                week_error.set_text("")
                if not department.value:
                    department.error = t("请选择科室")
                    return
                fen = yuan_to_fen(fee.value)
                if fen is None:
                    fee.error = t("请输入金额，如 12.50")
                    return
                new = booking.NewSchedule(
                    institution_id=institution_id,
                    department_id=uuid.UUID(department.value),
                    resource=resource.value,
                    room=room.value or "",
                    fee_fen=fen,
                    practitioner_id=uuid.UUID(doctor.value) if doctor.value else None,
                    name=(name.value or "").strip() or None,
                    slice_minutes=int(minutes.value or 0),
                    slice_capacity=int(capacity.value or 0),
                    weekdays="".join(n for n, box in checks.items() if box.value),
                    periods=tuple(code for code, box in periods.items() if box.value),
                    release_days=int(days_ahead.value or 0),
                    release_minute=_minute(release.value),
                    quotas=referral_quotas(int(share.value or 0)),
                    preparation=(preparation.value or "").strip() or None,
                )
                created = False
                try:
                    with self.context.work(passthrough=Invalid) as work:
                        made = booking.create_schedule(work.session, work.actor, new)
                        ui.notify(t("已创建排班：{name}").format(name=made.name), type="positive")
                        created = True
                except Invalid as exc:
                    # Weekdays and periods have no single input: their errors show below.
                    messages = [pick(e.zh, e.en) for e in exc.fields if e.field not in fields]
                    week_error.set_text(" ".join(messages))
                    if not show_field_errors(exc, fields) and not messages:
                        ui.notify(error_text(exc), type="negative", multi_line=True)
                if created:
                    self.load()

            touch_button(t("创建排班"), "add_circle", submit, "sf-submit")

    # sessions and stop-clinic

    def _sessions_filters(self) -> None:
        today = local(now()).date()
        with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 gap-x-4 gap-y-0"):
            self.sessions_from = ui.input(t("起始日期"), value=today.isoformat()).props(
                "type=date stack-label data-testid=sessions-from"
            )
            self.sessions_of = ui.select(self.schedules, label=t("排班"), clearable=True).props(
                "data-testid=sessions-schedule"
            )
        self.sessions_from.on_value_change(self.draw_sessions)
        self.sessions_of.on_value_change(self.draw_sessions)
        self.outcome = ui.label().classes("text-positive text-body1")
        self.outcome.props("data-testid=stop-outcome")

    def draw_sessions(self) -> None:
        """The institution's sessions of a week from the chosen day, with stop-clinic."""
        institution_id = self._institution()
        if institution_id is None:
            return
        self.sessions_box.clear()
        first = parse_day(self.sessions_from.value) or local(now()).date()
        query = booking.SlotQuery(
            institution_id=institution_id,
            day_from=first,
            day_to=first + timedelta(days=SEARCH_DAYS),
            channel="window",
            limit=100,
        )
        chosen = self.sessions_of.value
        with self.sessions_box, self.context.work() as work:
            offers = [
                o
                for o in booking.search_pool(work.session, query)
                if not chosen or str(o.schedule_id) == chosen
            ]
            if not offers:
                ui.label(t("该时间段无出诊场次")).classes("text-grey-7")
            for offer in offers:
                self._session(offer)

    def _session(self, offer: booking.Offer) -> None:
        card = ui.card().classes("w-full q-pa-sm gap-1").props("flat bordered")
        with card.props(f"data-testid=session data-session={offer.session_id}"):
            ui.label(
                f"{day_label(offer.day)} {period_name(offer.period)} · {offer.schedule_name}"
            ).classes("text-subtitle1")
            if offer.status == "stopped":
                state = t("停诊")
            elif offer.released:
                state = t("已放号")
            else:
                state = t("{time} 放号").format(time=f"{local(offer.release_at):%m-%d %H:%M}")
            ui.label(f"{t('诊室：{room}').format(room=offer.room)} · {state}").classes(
                "text-body2 text-grey-8"
            ).props("data-testid=session-state")
            if offer.status == "open":
                target = offer.session_id
                ui.button(
                    t("停诊"), icon="event_busy", on_click=lambda: self._ask_stop(target)
                ).props("outline color=negative data-testid=session-stop").style(TOUCH)

    def _stop_dialog(self) -> None:
        with (
            ui.dialog() as self.stop,
            ui.card().classes("w-full").style("max-width: 420px").props("data-testid=stop"),
        ):
            ui.label(t("停诊后该场次的预约将结束，并通知每位预约居民改约。")).classes("text-body1")
            self.reason = ui.input(t("停诊原因")).props("maxlength=200 data-testid=stop-reason")
            self.reason.classes("w-full")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(t("返回"), on_click=self.stop.close).props("flat").style(TOUCH)
                ui.button(t("确认停诊"), on_click=self._do_stop).props(
                    "unelevated color=negative data-testid=stop-submit"
                ).style(TOUCH)

    def _ask_stop(self, session_id: uuid.UUID) -> None:
        self.stopping = session_id
        self.reason.value = ""
        self.reason.error = None
        self.stop.open()

    def _do_stop(self) -> None:
        if self.stopping is None:
            return
        try:
            with self.context.work(passthrough=Invalid) as work:
                outcome = booking.stop_session(
                    work.session, work.actor, self.stopping, self.reason.value or ""
                )
                text = t("已停诊：结束 {bookings} 个预约，已通知 {residents} 位居民").format(
                    bookings=outcome.bookings_stopped, residents=outcome.residents_notified
                )
                self.outcome.set_text(text)
                ui.notify(text, type="positive")
                self.stop.close()
        except Invalid as exc:
            self.reason.error = error_text(exc)
            return
        self.draw_sessions()


def schedules_page(request: Request) -> RedirectResponse | None:
    """Schedules of the user's institution: create, publish sessions, stop a session."""
    context = enter(request, t("排班管理"))
    if context is None:
        return to_login()
    ScheduleDesk(context).build()
    return None

"""Pieces of a resident's record shown on several pages: card, household, conditions, visits.

They render what a service returned; they are sized for a 375-px phone first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING

from nicegui import ui
from sqlalchemy.orm import Session

from yigongti import clinical, registry
from yigongti.kernel import local
from yigongti.registry.codes import INSURANCE_TYPES, RELATIONS, SEXES, icd10
from yigongti.security import roles
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext

if TYPE_CHECKING:
    from yigongti.clinical.models import Condition


def code_name(table: dict[str, tuple[str, str]], code: str) -> str:
    """The display name of ``code`` in a (zh, en) code table, or the code itself."""
    names = table.get(code)
    return pick(*names) if names else code


def diagnosis_name(code: str) -> str:
    """An ICD-10 code with its name in the user's language."""
    names = icd10().get(code)
    return f"{pick(names['zh'], names['en'])} ({code})" if names else code


def yuan(fen: int) -> str:
    """Integer fen shown as yuan with two decimals (no float on the way)."""
    sign, fen = ("-" if fen < 0 else ""), abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def day(value: date) -> str:
    """A date as the UI shows it."""
    return f"{value:%Y-%m-%d}"


def age(years: int) -> str:
    """An age in full years."""
    return t("{years}岁").format(years=years)


def encounter_kinds() -> dict[str, str]:
    """Encounter kinds in the user's language."""
    return {"outpatient": t("门诊"), "emergency": t("急诊"), "inpatient": t("住院")}


def _field(label: str, value: str, testid: str | None = None) -> None:
    ui.label(label).classes("text-grey-7")
    shown = ui.label(value).classes("break-all")
    if testid:
        shown.props(f"data-testid={testid}")


def resident_card(
    context: PageContext, view: registry.ResidentView, *, reason: str | None = None
) -> None:
    """The resident's card; roles that may see full identifiers get a button for it (audited)."""
    box = ui.column().classes("w-full")

    def reveal() -> None:
        with context.work() as work:
            revealed = registry.get_resident(
                work.session, work.actor, view.id, reveal=True, reason=reason
            )
            draw(revealed)

    def draw(shown: registry.ResidentView) -> None:
        box.clear()
        with box, ui.card().classes("w-full").props("data-testid=resident-card"):
            with ui.row().classes("items-center no-wrap"):
                ui.icon("badge", color="primary", size="md")
                ui.label(shown.name).classes("text-h6").props("data-testid=resident-name")
                ui.label(f"{code_name(SEXES, shown.sex)} · {age(shown.age)}").classes("text-grey-8")
            with ui.grid(columns="auto 1fr").classes("w-full gap-x-4 gap-y-1"):
                _field(t("身份证号"), shown.id_number or t("无"), "id-number")
                _field(t("手机号"), shown.phone or t("无"), "phone")
                _field(t("出生日期"), day(shown.birth_date))
                _field(t("居住地"), f"{shown.town} {shown.residence_village}", "village")
                _field(t("户籍"), t("本地户籍") if shown.hukou_local else t("外地户籍"))
                _field(t("常住"), t("是") if shown.permanent else t("否"))
                _field(t("医保"), code_name(INSURANCE_TYPES, shown.insurance_type), "insurance")
                _field(t("与户主关系"), code_name(RELATIONS, shown.relation))
            if not shown.revealed and context.actor.can(roles.RESIDENT_REVEAL):
                ui.button(t("显示完整证件号和手机号"), icon="visibility", on_click=reveal).props(
                    "flat dense no-caps data-testid=reveal"
                )
            elif shown.revealed:
                ui.label(t("本次查看已记入审计日志")).classes("text-caption text-grey-7")

    draw(view)


def people_list(
    people: Iterable[registry.ResidentView],
    *,
    empty: str,
    testid: str,
    href: Callable[[registry.ResidentView], str] | None = None,
) -> None:
    """Residents as a compact list (masked identifiers), each linking to ``href(person)``."""
    people = list(people)
    if not people:
        ui.label(empty).classes("text-grey-7").props(f"data-testid={testid}-empty")
        return
    with ui.list().props(f"bordered separator data-testid={testid}").classes("w-full"):
        for person in people:
            item = ui.item()
            if href is not None:
                target = href(person)
                item.props("clickable").on("click", lambda p=target: ui.navigate.to(p))
            with item:
                with ui.item_section():
                    ui.item_label(
                        f"{person.name} · {code_name(SEXES, person.sex)} · {age(person.age)}"
                    ).props("data-testid=person-name")
                    ui.item_label(
                        f"{person.id_number or t('无身份证号')} · {person.residence_village}"
                    ).props("caption data-testid=masked-id")
                with ui.item_section().props("side"):
                    ui.label(code_name(RELATIONS, person.relation)).classes("text-caption")


def record_link(person: registry.ResidentView) -> str:
    """The address of a resident's record page."""
    return f"/residents/{person.id}"


def conditions_list(conditions: list[Condition]) -> None:
    """The problem list: diagnosis and onset."""
    if not conditions:
        ui.label(t("无慢病记录")).classes("text-grey-7")
        return
    with ui.list().props("dense separator data-testid=conditions").classes("w-full"):
        for condition in conditions:
            with ui.item(), ui.item_section():
                ui.item_label(diagnosis_name(condition.code))
                ui.item_label(f"{t('确诊日期')} {day(condition.onset_date)}").props("caption")


def encounters_list(
    session: Session, total: int, encounters: list[clinical.EncounterSummary]
) -> None:
    """Encounters at every institution of the county, newest first."""
    if not encounters:
        ui.label(t("无就诊记录")).classes("text-grey-7")
        return
    kinds = encounter_kinds()
    with ui.list().props("dense separator data-testid=encounters").classes("w-full"):
        for visit in encounters:
            institution = registry.get_institution(session, visit.institution_id)
            with ui.item():
                with ui.item_section():
                    ui.item_label(diagnosis_name(visit.diagnosis_code))
                    ui.item_label(
                        f"{local(visit.started_at):%Y-%m-%d} · "
                        f"{kinds.get(visit.kind, visit.kind)} · {institution.name}"
                    ).props("caption")
                with ui.item_section().props("side"):
                    ui.label(yuan(visit.total_fen)).classes("text-caption")
    if total > len(encounters):
        ui.label(
            t("共 {total} 次就诊，显示最近 {shown} 次").format(total=total, shown=len(encounters))
        )


def section(title: str, icon: str) -> ui.card:
    """A titled card that holds one part of a page."""
    card = ui.card().classes("w-full")
    with card, ui.row().classes("items-center no-wrap"):
        ui.icon(icon, color="primary")
        ui.label(title).classes("text-subtitle1 text-weight-medium")
    return card

"""The form to register a resident; the registry validates (ID number, phone, area) and says why.

A field error is shown under the field it concerns, in the user's language.
"""

from __future__ import annotations

import uuid
from datetime import date

from nicegui import ui

from yigongti import registry
from yigongti.kernel import Invalid
from yigongti.registry.codes import INSURANCE_TYPES, SEXES
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext, error_text
from yigongti.web.ui.record import code_name


def show_field_errors(exc: Invalid, fields: dict[str, ui.element]) -> bool:
    """Put each field error under its input; ``True`` if every error found its field."""
    placed = True
    for error in exc.fields:
        element = fields.get(error.field)
        if element is None or not hasattr(element, "error"):
            placed = False
            continue
        element.error = pick(error.zh, error.en)
    return placed


def clear_errors(fields: dict[str, ui.element]) -> None:
    """Remove the errors a previous attempt left under the inputs."""
    for element in fields.values():
        if hasattr(element, "error"):
            element.error = None


def _places(context: PageContext) -> tuple[dict[str, str], str | None]:
    """Towns of the county, and the town of the user's institution to start with."""
    with context.work() as work:
        towns = {str(town.id): town.name for town in registry.list_towns(work.session)}
        home = None
        if context.actor.institution_id is not None:
            institution = registry.get_institution(work.session, context.actor.institution_id)
            home = str(institution.town_id) if institution.town_id else None
        return towns, home
    return {}, None


def register_form(context: PageContext) -> None:
    """Register a resident; on success open his record."""
    towns, home_town = _places(context)
    with ui.card().classes("w-full").props("data-testid=register-form"):
        ui.label(t("登记居民")).classes("text-subtitle1 text-weight-medium")
        with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 gap-x-4 gap-y-0"):
            name = ui.input(t("姓名")).props("data-testid=reg-name maxlength=40")
            id_number = ui.input(t("身份证号")).props("data-testid=reg-id-number maxlength=18")
            town = ui.select(towns, label=t("乡镇（街道）"), value=home_town).props(
                "data-testid=reg-town"
            )
            village = ui.select({}, label=t("村（社区）")).props("data-testid=reg-village")
            phone = ui.input(t("手机号（选填）")).props("data-testid=reg-phone maxlength=11")
            insurance = ui.select(
                {code: code_name(INSURANCE_TYPES, code) for code in INSURANCE_TYPES},
                label=t("参保类型"),
                value="urban_rural",
            )
            sex = ui.select(
                {code: code_name(SEXES, code) for code in SEXES},
                label=t("性别（无身份证号时必填）"),
                clearable=True,
            )
            birth = ui.input(t("出生日期（无身份证号时必填）")).props("type=date stack-label")
            hukou = ui.switch(t("本地户籍"), value=True)
            permanent = ui.switch(t("常住人口"), value=True)
        fields: dict[str, ui.element] = {
            "name": name,
            "id_number": id_number,
            "residence_village_id": village,
            "phone": phone,
            "insurance_type": insurance,
            "sex": sex,
            "birth_date": birth,
        }

        def load_villages() -> None:
            village.set_options({})
            if not town.value:
                return
            with context.work() as work:
                villages = registry.list_villages(work.session, uuid.UUID(town.value))
                village.set_options({str(v.id): v.name for v in villages})

        def submit() -> None:
            clear_errors(fields)
            if not village.value:
                village.error = t("请选择村（社区）")
                return
            new = registry.NewResident(
                name=name.value or "",
                id_number=(id_number.value or "").strip() or None,
                residence_village_id=uuid.UUID(village.value),
                sex=sex.value or None,
                birth_date=date.fromisoformat(birth.value) if birth.value else None,
                phone=(phone.value or "").strip() or None,
                hukou_local=hukou.value,
                permanent=permanent.value,
                insurance_type=insurance.value,
            )
            created = _register(context, new, fields)
            if created is not None:
                ui.notify(t("已登记：{name}").format(name=created.name), type="positive")
                ui.navigate.to(f"/residents/{created.id}")

        town.on_value_change(load_villages)
        load_villages()
        ui.button(t("登记"), icon="person_add", on_click=submit).props(
            "unelevated data-testid=reg-submit"
        )


def _register(
    context: PageContext, new: registry.NewResident, fields: dict[str, ui.element]
) -> registry.ResidentView | None:
    """Call the registry; field errors go under their inputs, others pop up."""
    try:
        with context.work(passthrough=Invalid) as work:
            return registry.register_resident(work.session, work.actor, new)
    except Invalid as exc:
        if not show_field_errors(exc, fields):
            ui.notify(error_text(exc), type="negative", multi_line=True)
    return None

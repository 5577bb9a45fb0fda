"""The form to register an institution (bureau and system administrators)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from nicegui import ui

from yigongti import registry
from yigongti.kernel import Invalid
from yigongti.registry.codes import INSTITUTION_KINDS
from yigongti.web.i18n import pick, t
from yigongti.web.ui.context import PageContext, error_text
from yigongti.web.ui.resident_form import clear_errors, show_field_errors


def _choices(context: PageContext) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Towns, communities and possible parent institutions, by id."""
    with context.work() as work:
        towns = {str(town.id): town.name for town in registry.list_towns(work.session)}
        communities = {str(c.id): c.name for c in registry.list_communities(work.session)}
        # A parent is a county hospital (of township centers) or a center (of village clinics).
        parents: dict[str, str] = {}
        for kind in ("county_hospital", "township_center", "community_center"):
            _, rows = registry.list_institutions(
                work.session, registry.InstitutionQuery(kind=kind, limit=1000)
            )
            parents.update({str(i.id): i.name for i in rows})
        return towns, communities, parents
    return {}, {}, {}


def _optional(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def institution_form(context: PageContext, on_created: Callable[[], None]) -> None:
    """Register an institution; the registry checks its code, kind, place and community."""
    towns, communities, parents = _choices(context)
    with (
        ui.expansion(t("登记新机构"), icon="add_business")
        .classes("w-full")
        .props("data-testid=institution-form")
    ):
        with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 gap-x-4 gap-y-0"):
            code = ui.input(t("机构代码")).props("data-testid=inst-code maxlength=22")
            name = ui.input(t("机构名称")).props("data-testid=inst-name maxlength=80")
            kind = ui.select(
                {k: pick(zh, en) for k, (_, zh, en) in INSTITUTION_KINDS.items()},
                label=t("机构类型"),
            ).props("data-testid=inst-kind")
            county = ui.input(t("县级行政区划代码"), value=context.settings.county_code)
            town = ui.select(towns, label=t("所在乡镇（选填）"), clearable=True)
            village = ui.select({}, label=t("所在村（选填）"), clearable=True)
            community = ui.select(communities, label=t("所属医共体（选填）"), clearable=True)
            parent = ui.select(
                parents, label=t("上级机构（选填）"), clearable=True, with_input=True
            )
            ownership = ui.select(
                {"public": t("公立"), "private": t("民营")}, label=t("所有制"), value="public"
            )
        fields: dict[str, ui.element] = {
            "code": code,
            "name": name,
            "kind": kind,
            "county_code": county,
            "town_id": town,
            "village_id": village,
            "community_id": community,
            "parent_id": parent,
            "ownership": ownership,
        }

        def load_villages() -> None:
            village.set_options({})
            if town.value:
                with context.work() as work:
                    rows = registry.list_villages(work.session, uuid.UUID(town.value))
                    village.set_options({str(v.id): v.name for v in rows})

        def submit() -> None:
            clear_errors(fields)
            new = registry.NewInstitution(
                code=(code.value or "").strip().upper(),
                name=name.value or "",
                kind=kind.value or "",
                county_code=(county.value or "").strip(),
                town_id=_optional(town.value),
                village_id=_optional(village.value),
                community_id=_optional(community.value),
                parent_id=_optional(parent.value),
                ownership=ownership.value,
            )
            created = None
            try:
                with context.work(passthrough=Invalid) as work:
                    created = registry.create_institution(work.session, work.actor, new)
            except Invalid as exc:
                if not show_field_errors(exc, fields):
                    ui.notify(error_text(exc), type="negative", multi_line=True)
            # After the unit of work: the refresh reads in a transaction of its own.
            if created is not None:
                ui.notify(t("已登记：{name}").format(name=created.name), type="positive")
                on_created()

        town.on_value_change(load_villages)
        ui.button(t("登记"), icon="add", on_click=submit).props(
            "unelevated data-testid=inst-submit"
        )

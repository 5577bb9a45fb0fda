"""The bureau's dashboard in the browser: tiles with traffic lights, the drill-down from a tile
to an institution to the records behind its figure, the phone layout, and closing an alert.

The demo county is exported into the served data dir's lake and computed once for the module,
through the same functions the data center runs; the server reads that lake on every page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine

from tests.e2e.support import AsRole
from tests.support import actor, places
from yigongti import analytics
from yigongti.analytics.pages.common import figure
from yigongti.db import unit_of_work
from yigongti.security import system_actor

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def lake(demo_dir: Path, demo_engine: Engine) -> Iterator[Path]:
    """The demo's data center refreshed (export, compute, alerts) into the served lake, as the
    data-center page does it; the demo may have done so already, which changes nothing."""
    root = demo_dir / "lake"
    with unit_of_work(demo_engine) as session:
        county = places(session).center.county_code
        analytics.refresh_data_center(
            session, system_actor("e2e"), analytics.Lake(root), county_code=county
        )
    yield root


def no_sideways_scroll(page: Page, width: int = PHONE["width"]) -> None:
    """The page fits the phone's width."""
    page.wait_for_timeout(300)  # let the layout and the charts settle
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width


def drug_share_tile(engine: Engine, lake: Path) -> analytics.Tile:
    """The county's drug-share tile as the service computes it for the analyst."""
    with unit_of_work(engine) as session:
        tiles = analytics.headline(session, actor(session, "bureau_analyst"), lake)
    return next(t for t in tiles if t.indicator == "drug_share")


def test_the_analyst_goes_from_a_tile_to_an_institution_to_its_records(
    as_role: AsRole, lake: Path, demo_engine: Engine
) -> None:
    page = as_role("bureau_analyst", path="/dashboard")
    tiles = page.get_by_test_id("tile")
    expect(tiles.first).to_be_visible()
    assert tiles.count() >= 8
    lights = page.locator("[data-testid=tile-status][data-status]")
    shown = {lights.nth(i).get_attribute("data-status") for i in range(lights.count())}
    assert shown & {"green", "amber", "red"}, f"no traffic light among {shown}"
    expect(page.get_by_test_id("trend-chart")).to_be_visible()
    expect(page.get_by_test_id("ranking-chart")).to_be_visible()
    expect(page.get_by_test_id("flows-chart")).to_be_visible()

    tile = drug_share_tile(demo_engine, lake)
    drug = page.locator("[data-testid=tile][data-indicator=drug_share]")
    expect(drug.get_by_test_id("tile-value")).to_have_text(figure(tile.value, "%"))
    expect(drug.get_by_test_id("tile-status")).to_have_attribute("data-status", tile.status or "")
    drug.click()

    expect(page).to_have_url(re.compile(r"/dashboard/indicator/drug_share\?period="))
    expect(page.get_by_test_id("indicator-name")).to_have_text("药占比")
    expect(page.get_by_test_id("caliber")).to_contain_text("药品收入 ÷ 医疗收入")
    expect(page.get_by_test_id("caliber-source")).to_contain_text("国卫体改发")
    institutions = page.get_by_test_id("values-institution").get_by_test_id("unit-row")
    expect(institutions.first).to_be_visible()
    first = institutions.first
    name = first.locator(".q-item__label").first.inner_text()
    first.click()

    expect(page).to_have_url(re.compile(r"/dashboard/records\?.*grain=institution"))
    expect(page.get_by_test_id("records-unit")).to_contain_text(name)
    expect(page.get_by_test_id("records-total")).to_contain_text("药品收入")
    rows = page.get_by_test_id("records-table").locator("tbody tr")
    expect(rows.first).to_be_visible()
    page.get_by_test_id("records-side").get_by_text("分母").click()
    expect(page).to_have_url(re.compile(r"side=denominator"))
    expect(page.get_by_test_id("records-total")).to_contain_text("医疗收入")
    expect(page.get_by_test_id("records-table").locator("tbody tr").first).to_be_visible()


def test_the_dashboard_and_its_drill_down_fit_a_phone(as_role: AsRole, lake: Path) -> None:
    page = as_role("bureau_analyst", **PHONE, path="/dashboard")
    expect(page.get_by_test_id("tile").first).to_be_visible()
    expect(page.get_by_test_id("flows-chart")).to_be_visible()
    no_sideways_scroll(page)
    page.locator("[data-testid=tile][data-indicator=drug_share]").click()
    expect(page.get_by_test_id("unit-row").first).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_test_id("values-institution").get_by_test_id("unit-row").first.click()
    expect(page.get_by_test_id("records-table")).to_be_visible()
    no_sideways_scroll(page)


def test_the_bureau_home_shows_the_headline_tiles(as_role: AsRole, lake: Path) -> None:
    page = as_role("bureau_analyst", **PHONE)
    home = page.get_by_test_id("home-dashboard")
    expect(home.get_by_test_id("tile").first).to_be_visible()
    expect(home.get_by_test_id("not-computed")).to_have_count(0)
    no_sideways_scroll(page)
    home.get_by_test_id("to-dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def test_the_bureau_admin_closes_an_alert_with_a_note(as_role: AsRole, lake: Path) -> None:
    page = as_role("bureau_admin", **PHONE, path="/alerts")
    card = page.get_by_test_id("alert-card").first
    expect(card).to_be_visible()
    alert_id = card.get_attribute("data-alert")
    card.get_by_test_id("alert-close").click()
    dialog = page.get_by_test_id("close-dialog")
    dialog.get_by_test_id("close-submit").click()
    expect(dialog).to_contain_text("须填写说明")  # the service's message, under the field
    dialog.get_by_test_id("close-note").fill("已核实：住院结算延迟入账")
    dialog.get_by_test_id("close-submit").click()
    expect(page.locator(f"[data-alert='{alert_id}']")).to_have_count(0)
    page.get_by_test_id("alerts-status").get_by_text("已关闭").click()
    closed = page.locator(f"[data-alert='{alert_id}']")
    expect(closed.get_by_test_id("alert-note")).to_contain_text("已核实：住院结算延迟入账")
    no_sideways_scroll(page)


def choose(page: Page, field: Locator, option: str, typed: str | None = None) -> None:
    """Pick ``option`` in a Quasar select (typing ``typed`` first into one that filters)."""
    field.click()
    if typed:
        page.keyboard.type(typed)
    page.locator(".q-menu .q-item").get_by_text(option, exact=True).click()


def test_the_bureau_admin_pushes_a_finance_report_and_sees_what_became_of_it(
    as_role: AsRole, demo_engine: Engine
) -> None:
    with unit_of_work(demo_engine) as session:
        center = places(session).center
        center_id, center_name = center.id, center.name
    # A month the demo's own reports do not cover (one report per institution and month),
    # and new bytes on every run.
    assets = 1_000_000_000 + uuid.uuid4().int % 1_000_000
    header = "institution_id,month,assets_fen,liabilities_fen\n"
    good = f"{header}{center_id},2019-11,{assets},{assets // 3}\n"
    bad = f"{header}{center_id},2019-12,{assets},-5\n"
    page = as_role("bureau_admin", **PHONE, path="/data-center")
    form = page.get_by_test_id("push-form")
    choose(page, form.get_by_test_id("push-dataset"), "月度财务报表")
    choose(page, form.get_by_test_id("push-institution"), center_name, typed=center_name[-5:])
    upload = form.locator("[data-testid=push-file] input[type=file]")
    upload.set_input_files(
        files=[{"name": "finance-2019-11.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    result = page.get_by_test_id("push-result")
    expect(result.get_by_test_id("file-rows")).to_contain_text("入湖 1 行，问题 0 行")
    files = page.get_by_test_id("lake-files")
    expect(files.get_by_test_id("lake-file").first).to_contain_text("finance-2019-11.csv")
    expect(files.get_by_test_id("lake-file").first).to_contain_text("已入湖")

    upload.set_input_files(
        files=[{"name": "finance-2019-12.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    expect(result.get_by_test_id("file-rows")).to_contain_text("入湖 0 行，问题 1 行")
    expect(result).to_contain_text("第 2 行 · liabilities_fen")
    expect(files.get_by_test_id("lake-file").first).to_contain_text("已拒收")
    no_sideways_scroll(page)


def test_the_bureau_admin_checks_and_saves_a_new_target(as_role: AsRole, lake: Path) -> None:
    page = as_role("bureau_admin", **PHONE, path="/indicators")
    entry = page.locator("[data-testid=catalog-indicator][data-code=exam_lab_share]")
    entry.click()
    expect(entry.get_by_test_id("version")).to_have_count(1)  # the built-in one
    entry.get_by_test_id("indicator-edit").click()
    form = page.get_by_test_id("indicator-form")
    form.get_by_test_id("form-numerator").fill("exam_lab_revenue + no_such_measure")
    form.get_by_test_id("form-check").click()
    expect(form.get_by_test_id("check-problem").first).to_contain_text("no_such_measure")
    form.get_by_test_id("form-numerator").fill("exam_lab_revenue")
    form.get_by_test_id("form-check").click()
    expect(form.get_by_test_id("check-ok")).to_be_visible()
    form.get_by_test_id("form-save").click()
    expect(form).to_be_hidden()
    entry = page.locator("[data-testid=catalog-indicator][data-code=exam_lab_share]")
    entry.click()
    expect(entry.get_by_test_id("version")).to_have_count(2)
    expect(entry.get_by_test_id("version").last).to_contain_text("v2 · bureau-admin")
    no_sideways_scroll(page)


def test_the_it_admin_runs_the_export_and_compute_with_progress(
    as_role: AsRole, lake: Path
) -> None:
    page = as_role("system_admin", **PHONE, path="/data-center")
    panel = page.get_by_test_id("run-panel")
    panel.get_by_test_id("run-start").click()
    expect(panel.get_by_test_id("run-progress")).to_be_visible()
    expect(panel.get_by_test_id("run-outcome")).to_contain_text("导出", timeout=180_000)
    expect(panel.get_by_test_id("run-outcome")).to_contain_text("个指标值")
    expect(panel.get_by_test_id("run-start")).to_be_enabled()
    no_sideways_scroll(page)

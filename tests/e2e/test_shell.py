"""Login, the home page of every role, the phone layout, language and fonts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.support import MASKED_ID, Account, AsRole, Login, NewPage

# The element only this role's home page shows.
HOME_MARK = {
    "resident": "resident-card",
    "village_doctor": "my-institution",
    "township_doctor": "my-institution",
    "county_doctor": "my-institution",
    "center_reader": "my-institution",
    "bureau_analyst": "county-chart",
    "bureau_admin": "county-chart",
    "cdc_officer": "resident-search",
    "window_clerk": "register-form",
    "system_admin": "admin-links",
}


@pytest.mark.parametrize("role", list(HOME_MARK))
def test_each_role_lands_on_its_own_home_page(as_role: AsRole, role: str) -> None:
    page = as_role(role)  # logs in through the login page the first time a role is used
    expect(page.get_by_test_id(f"home-{role}")).to_be_visible()
    expect(page.get_by_test_id(HOME_MARK[role]).first).to_be_visible()
    expect(page.get_by_test_id("page-title")).to_have_text("首页")
    nav = page.get_by_test_id("nav")
    expect(nav.locator("[data-nav='/']")).to_be_visible()
    expect(nav.locator("[data-nav='/audit']")).to_have_count(
        1 if role in ("bureau_admin", "system_admin") else 0
    )
    expect(nav.locator("[data-nav='/residents']")).to_have_count(0 if role == "resident" else 1)


def test_resident_sees_his_card_on_a_phone_without_scrolling_sideways(as_role: AsRole) -> None:
    page = as_role("resident", 375, 812)
    card = page.get_by_test_id("resident-card")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("id-number")).to_have_text(MASKED_ID)
    expect(page.get_by_test_id("nav")).to_be_hidden()  # the drawer folds away on a phone
    page.wait_for_timeout(300)  # let the layout settle after the websocket connects
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375


def test_the_drawer_opens_from_the_menu_button_on_a_phone(as_role: AsRole) -> None:
    page = as_role("township_doctor", 375, 812)
    page.get_by_role("button", name="菜单").click()
    page.get_by_test_id("nav").locator("[data-nav='/institutions']").click()
    expect(page).to_have_url(re.compile(r"/institutions$"))


def test_wrong_password_is_refused_in_the_chosen_language(
    new_page: NewPage, accounts: dict[str, Account]
) -> None:
    page = new_page()
    page.goto("/login")
    page.get_by_test_id("username").fill(accounts["cdc_officer"].username)
    page.get_by_test_id("password").fill("not-the-password-1")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("用户名或密码错误")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("login-submit")).to_have_text("Log in")
    page.get_by_test_id("username").fill(accounts["cdc_officer"].username)
    page.get_by_test_id("password").fill("not-the-password-2")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong username or password")


def test_a_page_without_login_leads_to_the_login_page(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/residents")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_test_id("login-card")).to_be_visible()


def test_logout_ends_the_session(new_page: NewPage, login: Login) -> None:
    page = new_page()
    login(page, "village_doctor")
    page.get_by_test_id("account-menu").click()
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_language_switch_shows_english_and_is_kept(new_page: NewPage, login: Login) -> None:
    page = new_page()
    login(page, "township_doctor")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("page-title")).to_have_text("Home")
    nav = page.get_by_test_id("nav")
    expect(nav.locator("[data-nav='/residents']")).to_have_text(re.compile("Residents"))
    expect(page.get_by_text("Find a resident")).to_be_visible()
    page.goto("/institutions")
    expect(page.get_by_test_id("page-title")).to_have_text("Institutions")


def test_home_page_screenshot_shows_real_chinese_glyphs(as_role: AsRole, tmp_path: Path) -> None:
    page = as_role("bureau_analyst")
    expect(page.get_by_test_id("county-chart")).to_be_visible()
    shot = tmp_path / "home-bureau-analyst.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # A missing CJK font draws every character as the same box ("tofu").
    glyphs = page.evaluate(
        """() => {
            const font = getComputedStyle(document.body).fontFamily;
            const draw = (ch) => {
                const canvas = document.createElement('canvas');
                canvas.width = 48; canvas.height = 48;
                const ctx = canvas.getContext('2d');
                ctx.font = `40px ${font}`;
                ctx.fillStyle = '#000';
                ctx.fillText(ch, 4, 40);
                return Array.from(ctx.getImageData(0, 0, 48, 48).data);
            };
            const a = draw('医'), b = draw('共');
            return {
                differ: a.some((v, i) => v !== b[i]),
                inked: a.some((v) => v !== 0) && b.some((v) => v !== 0),
            };
        }"""
    )
    assert glyphs == {"differ": True, "inked": True}

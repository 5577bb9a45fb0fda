"""Resident search, records, registration, institutions and permissions in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.support import FULL_ID, MASKED_ID, AsRole, NewPage


def demo_resident_name(as_role: AsRole) -> str:
    """The name of the demo resident, read from his own card."""
    page = as_role("resident", 375, 812)
    return page.get_by_test_id("resident-name").inner_text()


def search(page: Page, term: str, reason: str | None = None) -> None:
    """Type a search term (and a reason) into the resident search and run it."""
    box = page.get_by_test_id("resident-search")
    box.get_by_test_id("search-query").fill(term)
    if reason is not None:
        box.get_by_test_id("search-reason").fill(reason)
    box.get_by_test_id("search-submit").click()


def test_township_doctor_finds_a_resident_with_a_masked_id_and_may_reveal_it(
    as_role: AsRole,
) -> None:
    name = demo_resident_name(as_role)
    page = as_role("township_doctor")
    search(page, name)
    hits = page.get_by_test_id("search-hits")
    expect(hits.get_by_test_id("masked-id").first).to_have_text(MASKED_ID)
    hits.get_by_text(name).first.click()
    card = page.get_by_test_id("resident-card")
    expect(card.get_by_test_id("id-number")).to_have_text(MASKED_ID)
    card.get_by_test_id("reveal").click()
    expect(card.get_by_test_id("id-number")).to_have_text(FULL_ID)
    expect(card.get_by_test_id("reveal")).to_have_count(0)


def test_bureau_analyst_must_state_a_reason_to_search(as_role: AsRole) -> None:
    page = as_role("bureau_analyst", path="/residents")
    search(page, "W")
    expect(page.get_by_text(re.compile("须填写事由"))).to_be_visible()
    expect(page.get_by_test_id("search-total")).to_have_count(0)
    search(page, "W", reason="慢病质控抽查")
    expect(page.get_by_test_id("search-total")).to_be_visible()
    masked = page.get_by_test_id("search-hits").get_by_test_id("masked-id")
    expect(masked.first).to_have_text(MASKED_ID)


def test_bureau_analyst_opening_a_record_is_asked_for_a_reason(
    as_role: AsRole,
) -> None:
    page = as_role("bureau_analyst", path="/residents")
    search(page, "W", reason="慢病质控抽查")
    page.get_by_test_id("search-hits").locator(".q-item").first.click()
    expect(page.get_by_test_id("resident-card")).to_be_visible()
    assert "reason=" in page.url
    page.goto(page.url.split("?")[0])
    expect(page.get_by_test_id("reason-required")).to_be_visible()
    expect(page.get_by_test_id("resident-card")).to_have_count(0)


def test_clerk_sees_the_id_number_error_next_to_the_field(as_role: AsRole) -> None:
    page = as_role("window_clerk")
    form = page.get_by_test_id("register-form")
    form.get_by_test_id("reg-name").fill("测试居民")
    form.get_by_test_id("reg-id-number").fill("330784199001011230")  # the check character is 1
    form.get_by_test_id("reg-village").click()
    page.locator(".q-menu .q-item").first.click()
    form.get_by_test_id("reg-submit").click()
    expect(form.locator(".q-field--error")).to_contain_text("居民身份证号校验位错误")


def test_a_role_without_permission_sees_a_clear_refusal(as_role: AsRole) -> None:
    page = as_role("resident")
    for path, title, content in (
        ("/audit", "审计日志", "audit-table"),
        ("/users", "用户管理", "users-table"),
    ):
        page.goto(path)
        expect(page.get_by_test_id("page-title")).to_have_text(title)
        refusal = page.get_by_test_id("no-permission")
        expect(refusal).to_contain_text("无此权限")
        expect(page.get_by_test_id(content)).to_have_count(0)


def test_bureau_admin_searches_the_audit_log(as_role: AsRole) -> None:
    page = as_role("bureau_admin", path="/audit")
    table = page.get_by_test_id("audit-table")
    expect(table.locator("tbody tr").first).to_be_visible()
    page.get_by_test_id("audit-actor").fill("bureau-admin")
    page.get_by_test_id("audit-submit").click()
    expect(table.locator("tbody tr").first).to_contain_text("bureau-admin")
    expect(page.get_by_test_id("audit-total")).to_contain_text("最新的在前")


def test_institution_tree_shows_details_and_referral_chain(as_role: AsRole) -> None:
    page = as_role("bureau_admin", path="/institutions")
    tree = page.get_by_test_id("institution-tree")
    expect(tree.get_by_text(re.compile("医共体$")).first).to_be_visible()
    tree.locator(".q-tree__node-header").nth(1).click()  # the first lead hospital
    details = page.get_by_test_id("institution-details")
    expect(details.get_by_test_id("institution-name")).to_be_visible()
    expect(details.get_by_test_id("referral-chain")).to_be_visible()
    expect(details.get_by_test_id("departments")).to_be_visible()
    expect(page.get_by_test_id("institution-form")).to_be_visible()


def test_an_account_made_by_the_admin_locks_after_repeated_wrong_passwords(
    as_role: AsRole, new_page: NewPage
) -> None:
    page = as_role("system_admin", path="/users")
    expect(page.get_by_test_id("users-table").get_by_text("township-doctor")).to_be_visible()
    form = page.get_by_test_id("user-form")
    form.click()  # open the expansion
    form.get_by_test_id("user-username").fill("e2e-lockout")
    form.get_by_test_id("user-name").fill("锁定测试")
    form.get_by_test_id("user-role").click()
    page.locator(".q-menu .q-item").get_by_text("乡镇医生").click()
    # The role's menu fades out: pick from the institution's menu, not the closing one.
    expect(page.locator(".q-menu")).to_have_count(0)
    form.get_by_test_id("user-institution").click()
    page.locator(".q-menu .q-item").first.click()
    expect(form.get_by_test_id("user-institution")).not_to_have_value("")
    form.get_by_test_id("user-password").fill("Lockout-test-2025")
    form.get_by_test_id("user-submit").click()
    # The server hashes the password at production Argon2 cost: on a loaded machine that
    # alone can take several seconds.
    expect(page.get_by_test_id("users-table").get_by_text("e2e-lockout")).to_be_visible(
        timeout=30_000
    )

    login = new_page()
    login.goto("/login")
    error, password = login.get_by_test_id("login-error"), login.get_by_test_id("password")
    login.get_by_test_id("username").fill("e2e-lockout")
    for attempt in [*(f"wrong-password-{n}" for n in range(5)), "Lockout-test-2025"]:
        password.fill(attempt)
        login.get_by_test_id("login-submit").click()
        expect(password).to_have_value("")  # a refused attempt empties the field
    # Locked after the fifth failure: even the right password is refused now.
    expect(error).to_have_text(re.compile("登录失败次数过多，账号已锁定至"))


def test_practitioners_and_family_doctor_teams_are_listed(as_role: AsRole) -> None:
    page = as_role("township_doctor", 375, 812, path="/practitioners")
    expect(page.get_by_test_id("practitioners").locator(".q-expansion-item").first).to_be_visible()
    expect(page.get_by_test_id("teams")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375

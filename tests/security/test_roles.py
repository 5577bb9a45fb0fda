"""The roles table: who may see, reveal, write and administer what."""

from __future__ import annotations

import pytest

from yigongti.kernel import Forbidden
from yigongti.security import ROLES, Actor, roles

ALL_PERMISSIONS = {
    roles.RESIDENT_READ,
    roles.RESIDENT_REVEAL,
    roles.RESIDENT_WRITE,
    roles.REGISTRY_WRITE,
    roles.AUDIT_READ,
    roles.USER_MANAGE,
    roles.AGGREGATE_READ,
    roles.BOOKING_BOOK,
    roles.BOOKING_REFER,
    roles.QUEUE_RUN,
    roles.SCHEDULE_MANAGE,
    roles.LAKE_LOAD,
    roles.LAKE_EXPORT,
    roles.INDICATOR_MANAGE,
    roles.ALERT_READ,
    roles.ALERT_CLOSE,
    roles.EMPI_LINK,
    roles.EMPI_REVIEW,
    roles.EMPI_MERGE,
    roles.BULK_IMPORT,
    roles.BULK_EXPORT,
    *(roles.channel(c) for c in ("online", "kiosk", "window", "phone", "external", "referral")),
}


def _holders(permission: str) -> set[str]:
    return {code for code, role in ROLES.items() if permission in role.permissions}


def test_the_twelve_roles_of_the_platform_exist_with_chinese_and_english_names() -> None:
    assert set(ROLES) == {
        "resident",
        "village_doctor",
        "township_doctor",
        "county_doctor",
        "center_reader",
        "bureau_analyst",
        "bureau_admin",
        "cdc_officer",
        "window_clerk",
        "system_admin",
        "booking_platform",
        "integration",
    }
    for code, role in ROLES.items():
        assert role.code == code
        assert role.zh and role.en
        assert role.permissions <= ALL_PERMISSIONS
        assert role.scope in {
            roles.SELF,
            roles.AREA,
            roles.COUNTY,
            roles.WITH_REASON,
            roles.NONE,
        }


def test_only_the_bureau_admin_changes_indicators_and_closes_alerts() -> None:
    assert _holders(roles.INDICATOR_MANAGE) == {"bureau_admin"}
    assert _holders(roles.ALERT_CLOSE) == {"bureau_admin"}
    assert _holders(roles.LAKE_LOAD) == {"bureau_admin", "system_admin"}


def test_every_role_but_the_booking_platform_may_read_residents_within_its_scope() -> None:
    assert _holders(roles.RESIDENT_READ) == set(ROLES) - {"booking_platform"}
    assert ROLES["booking_platform"].scope == roles.NONE


@pytest.mark.parametrize(
    ("channel", "holders"),
    [
        ("online", {"resident"}),
        ("external", {"booking_platform"}),
        ("kiosk", {"window_clerk"}),
        ("phone", {"window_clerk"}),
        (
            "window",
            {"village_doctor", "township_doctor", "county_doctor", "window_clerk", "integration"},
        ),
        ("referral", {"village_doctor", "township_doctor"}),
    ],
)
def test_each_booking_channel_is_open_to_the_roles_that_serve_it(
    channel: str, holders: set[str]
) -> None:
    assert _holders(roles.channel(channel)) == holders


def test_only_primary_care_doctors_book_referral_reserved_slots() -> None:
    assert _holders(roles.BOOKING_REFER) == {"village_doctor", "township_doctor"}


def test_schedules_are_managed_by_window_clerks_and_the_system_administrator() -> None:
    assert _holders(roles.SCHEDULE_MANAGE) == {"window_clerk", "system_admin"}


def test_shared_center_readers_and_bureau_staff_cannot_reveal_id_numbers() -> None:
    assert _holders(roles.RESIDENT_REVEAL) == {
        "resident",
        "village_doctor",
        "township_doctor",
        "county_doctor",
        "cdc_officer",
        "window_clerk",
        "integration",
    }


def test_only_the_system_administrator_manages_accounts() -> None:
    assert _holders(roles.USER_MANAGE) == {"system_admin"}


def test_the_audit_log_is_read_by_the_bureau_administrator_and_system_administrator() -> None:
    assert _holders(roles.AUDIT_READ) == {"bureau_admin", "system_admin"}


def test_only_administrators_change_the_registries() -> None:
    assert _holders(roles.REGISTRY_WRITE) == {"bureau_admin", "system_admin"}


def test_resident_records_are_registered_by_doctors_window_clerks_and_his_systems() -> None:
    assert _holders(roles.RESIDENT_WRITE) == {
        "village_doctor",
        "township_doctor",
        "county_doctor",
        "window_clerk",
        "integration",
    }


def test_institution_systems_link_records_and_move_data_in_bulk_and_are_machine_accounts() -> None:
    assert "integration" in _holders(roles.EMPI_LINK)
    assert "integration" in _holders(roles.BULK_IMPORT) & _holders(roles.BULK_EXPORT)
    assert not roles.ROLES["integration"].permissions & {roles.EMPI_REVIEW, roles.EMPI_MERGE}
    assert set(roles.MACHINE_ROLES) == {"integration"}


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("resident", roles.SELF),
        ("village_doctor", roles.AREA),
        ("township_doctor", roles.AREA),
        ("county_doctor", roles.AREA),
        ("center_reader", roles.AREA),
        ("window_clerk", roles.AREA),
        ("bureau_analyst", roles.WITH_REASON),
        ("bureau_admin", roles.WITH_REASON),
        ("cdc_officer", roles.COUNTY),
        ("system_admin", roles.COUNTY),
        ("integration", roles.AREA),
    ],
)
def test_each_role_sees_residents_in_its_own_scope(role: str, scope: str) -> None:
    assert ROLES[role].scope == scope


def test_a_missing_permission_is_refused_naming_the_role_in_both_languages() -> None:
    reader = Actor(user_id=None, username="reader", role="center_reader")
    with pytest.raises(Forbidden) as caught:
        reader.require(roles.RESIDENT_REVEAL)
    assert "共享中心阅片医生" in caught.value.zh
    assert "Shared-center reader" in caught.value.en
    assert "resident:reveal" in caught.value.en


def test_empi_linked_by_doctors_clerks_and_systems_reviewed_by_clerks_merged_by_admins() -> None:
    assert _holders(roles.EMPI_LINK) == {
        "integration",
        "village_doctor",
        "township_doctor",
        "county_doctor",
        "window_clerk",
        "system_admin",
    }
    assert _holders(roles.EMPI_REVIEW) == {"window_clerk", "system_admin"}
    assert _holders(roles.EMPI_MERGE) == {"system_admin"}

"""Roles, their permissions and the scope of records each may see.

The table is data: a role is a row here, not a branch in a service.
"""

from __future__ import annotations

from dataclasses import dataclass

# Permissions
RESIDENT_READ = "resident:read"  # records in the role's scope
RESIDENT_REVEAL = "resident:reveal"  # full ID number and phone, audited
RESIDENT_WRITE = "resident:write"
REGISTRY_WRITE = "registry:write"  # institutions, departments, practitioners, teams
AUDIT_READ = "audit:read"
USER_MANAGE = "user:manage"
AGGREGATE_READ = "aggregate:read"  # county-wide figures without personal data
BOOKING_BOOK = "booking:book"  # book for oneself, one's wards, or residents in scope
BOOKING_REFER = "booking:refer"  # book referral-reserved slots for up-referred patients
QUEUE_RUN = "queue:run"  # check-in and queue calling at the actor's institution
SCHEDULE_MANAGE = "schedule:manage"  # schedules, release and stop-clinic
LAKE_LOAD = "lake:load"  # push HIS files (visits, fees, finance, settlement) into the lake
LAKE_EXPORT = "lake:export"  # run the export of the operational database into the lake
INDICATOR_MANAGE = "indicator:manage"  # add or change indicators, measures and targets
ALERT_READ = "alert:read"  # indicator alerts of the actor's institution (or all, county-wide)
ALERT_CLOSE = "alert:close"  # close an alert with a note
EMPI_LINK = "empi:link"  # link an institution's incoming patient record to a resident
EMPI_REVIEW = "empi:review"  # decide the master patient index's review queue
EMPI_MERGE = "empi:merge"  # merge two residents found to be one person, and undo it
BULK_EXPORT = "bulk:export"  # FHIR $export of what the role's scope may see
BULK_IMPORT = "bulk:import"  # FHIR $import of NDJSON (each line through the resource's create)


def channel(code: str) -> str:
    """The permission to book through a booking channel (``online``, ``window``, ...)."""
    return f"channel:{code}"


# Scopes of resident records
SELF = "self"  # the resident and the wards he is guardian of
AREA = "area"  # the area the actor's institution serves
COUNTY = "county"  # every resident of the county
WITH_REASON = "with_reason"  # county-wide, each read with a recorded reason
NONE = "none"


@dataclass(frozen=True)
class Role:
    """A role: its Chinese and English names, permissions and record scope."""

    code: str
    zh: str
    en: str
    permissions: frozenset[str]
    scope: str


def _role(code: str, zh: str, en: str, scope: str, *permissions: str) -> Role:
    return Role(code, zh, en, frozenset(permissions), scope)


ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        _role(
            "resident",
            "居民",
            "Resident",
            SELF,
            RESIDENT_READ,
            RESIDENT_REVEAL,
            BOOKING_BOOK,
            channel("online"),
        ),
        _role(
            "village_doctor",
            "村医",
            "Village doctor",
            AREA,
            RESIDENT_READ,
            RESIDENT_REVEAL,
            RESIDENT_WRITE,
            BOOKING_BOOK,
            BOOKING_REFER,
            QUEUE_RUN,
            channel("referral"),
            channel("window"),
            ALERT_READ,
            EMPI_LINK,
            BULK_EXPORT,
        ),
        _role(
            "township_doctor",
            "乡镇医生",
            "Township doctor",
            AREA,
            RESIDENT_READ,
            RESIDENT_REVEAL,
            RESIDENT_WRITE,
            BOOKING_BOOK,
            BOOKING_REFER,
            QUEUE_RUN,
            channel("referral"),
            channel("window"),
            ALERT_READ,
            EMPI_LINK,
            BULK_EXPORT,
        ),
        _role(
            "county_doctor",
            "县级医生",
            "County doctor",
            AREA,
            RESIDENT_READ,
            RESIDENT_REVEAL,
            RESIDENT_WRITE,
            BOOKING_BOOK,
            QUEUE_RUN,
            channel("window"),
            ALERT_READ,
            EMPI_LINK,
        ),
        _role(
            "center_reader",
            "共享中心阅片医生",
            "Shared-center reader",
            AREA,
            RESIDENT_READ,
            QUEUE_RUN,
        ),
        _role(
            "bureau_analyst",
            "卫健局分析员",
            "Bureau analyst",
            WITH_REASON,
            RESIDENT_READ,
            AGGREGATE_READ,
            ALERT_READ,
        ),
        _role(
            "bureau_admin",
            "卫健局管理员",
            "Bureau administrator",
            WITH_REASON,
            RESIDENT_READ,
            AGGREGATE_READ,
            AUDIT_READ,
            REGISTRY_WRITE,
            INDICATOR_MANAGE,
            LAKE_LOAD,
            LAKE_EXPORT,
            ALERT_READ,
            ALERT_CLOSE,
            BULK_EXPORT,
        ),
        _role(
            "cdc_officer",
            "疾控人员",
            "CDC officer",
            COUNTY,
            RESIDENT_READ,
            RESIDENT_REVEAL,
            BULK_EXPORT,
        ),
        _role(
            "window_clerk",
            "窗口办事员",
            "Service-window clerk",
            AREA,
            RESIDENT_READ,
            RESIDENT_REVEAL,
            RESIDENT_WRITE,
            BOOKING_BOOK,
            QUEUE_RUN,
            SCHEDULE_MANAGE,
            BULK_IMPORT,
            channel("window"),
            channel("kiosk"),
            channel("phone"),
            EMPI_LINK,
            EMPI_REVIEW,
        ),
        _role(
            "system_admin",
            "系统管理员",
            "System administrator",
            COUNTY,
            RESIDENT_READ,
            REGISTRY_WRITE,
            AUDIT_READ,
            USER_MANAGE,
            SCHEDULE_MANAGE,
            LAKE_LOAD,
            LAKE_EXPORT,
            ALERT_READ,
            EMPI_LINK,
            EMPI_REVIEW,
            EMPI_MERGE,
            BULK_EXPORT,
            BULK_IMPORT,
        ),
        _role(
            "booking_platform",
            "外部预约平台",
            "External booking platform",
            NONE,
            BOOKING_BOOK,
            channel("external"),
        ),
        # An institution's own systems (HIS, LIS, PACS) calling the API with client
        # credentials: they read and write the records of the institution's area and patients,
        # see full ID numbers to match their own records (each reveal audited), link records in
        # the master index, move data in bulk, and book at the institution's registration
        # window on a patient's behalf.
        _role(
            "integration",
            "院内系统接口",
            "Institution system interface",
            AREA,
            RESIDENT_READ,
            RESIDENT_REVEAL,
            RESIDENT_WRITE,
            EMPI_LINK,
            BULK_IMPORT,
            BULK_EXPORT,
            BOOKING_BOOK,
            channel("window"),
        ),
    )
}

# Roles of machine accounts: they obtain tokens with OAuth2 client credentials.
MACHINE_ROLES = frozenset({"integration"})


def role_of(code: str) -> Role:
    """The role named ``code``; ``KeyError`` if there is none."""
    return ROLES[code]

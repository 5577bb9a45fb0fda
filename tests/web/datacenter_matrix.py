"""The data-center rows of the permission matrix: the lake, the catalog, alerts and reports.

They run after the dashboard's arrangement has exported and computed the test county into the
test application's lake, so readers get real answers. Ids of files and alerts that no one has
are enough to tell a permitted role (404) from a refused one (403).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from yigongti.analytics.catalog.model import builtin_catalog
from yigongti.security import ROLES

if TYPE_CHECKING:
    from tests.web.test_permission_matrix import Build, Call, Facts

A = "/api/v1"
NOBODY = str(uuid.UUID(int=7))
ADMINS = ("bureau_admin", "system_admin")  # lake:load and lake:export
BUREAU = ("bureau_analyst", "bureau_admin")  # aggregate:read
ALERT_READERS = (
    "village_doctor",
    "township_doctor",
    "county_doctor",
    "bureau_analyst",
    "bureau_admin",
    "system_admin",
)


def _statuses(ok: tuple[str, ...], status: int, default: int = 403) -> dict[str, int]:
    table = dict.fromkeys(ROLES, default)
    table.update(dict.fromkeys(ok, status))
    return table


def _call(path: str, **kw: object) -> Build:
    from tests.web.test_permission_matrix import Call

    return lambda f, role, n: Call(path, **kw)  # type: ignore[arg-type]


def _finance_push(f: Facts, role: str, n: int) -> Call:
    """One month of the center's finance report, a different month per role (no duplicate)."""
    from tests.web.test_permission_matrix import Call

    assert f.dashboard is not None
    csv = (
        "institution_id,month,assets_fen,liabilities_fen\n"
        f"{f.dashboard.institution},2023-{n + 1:02d},3200000000,960000000\n"
    )
    return Call(
        f"{A}/lake/finance/files",
        params={"institution_id": f.dashboard.institution, "filename": f"finance-{n}.csv"},
        content=csv.encode(),
        headers={"Content-Type": "text/csv"},
    )


def _report(kind: str) -> Build:
    from tests.web.test_permission_matrix import Call

    def build(f: Facts, role: str, n: int) -> Call:
        assert f.dashboard is not None
        month = f.dashboard.month
        period = month if kind == "monthly" else f"{month[:4]}Q{(int(month[5:]) - 1) // 3 + 1}"
        return Call(f"{A}/reports/{kind}", params={"period": period, "grain": "county"})

    return build


def _assessment(f: Facts, role: str, n: int) -> Call:
    from tests.web.test_permission_matrix import Call

    assert f.dashboard is not None
    return Call(f"{A}/reports/assessment", params={"year": f.dashboard.month[:4]})


def rows() -> list[tuple[str, str, Build, dict[str, int], int]]:
    """(method, route, build, expected status per role, anonymous status) of every row."""
    catalog = builtin_catalog()
    indicator = catalog.indicators["drug_share"].as_dict()
    indicator.pop("version")
    measure = catalog.measures["drug_revenue"].as_dict()
    measure.pop("version")
    return [
        ("POST", f"{A}/lake/{{dataset}}/files", _finance_push, _statuses(ADMINS, 201), 401),
        ("GET", f"{A}/lake/files", _call(f"{A}/lake/files"), _statuses(ADMINS, 200), 401),
        (
            "GET",
            f"{A}/lake/files/{{file_id}}",
            _call(f"{A}/lake/files/{NOBODY}"),
            _statuses(ADMINS, 404),
            401,
        ),
        ("POST", f"{A}/lake/export", _call(f"{A}/lake/export"), _statuses(ADMINS, 200), 401),
        ("GET", f"{A}/indicators", _call(f"{A}/indicators"), _statuses(BUREAU, 200), 401),
        (
            "GET",
            f"{A}/indicators/{{code}}",
            _call(f"{A}/indicators/drug_share"),
            _statuses(BUREAU, 200),
            401,
        ),
        (
            "POST",
            f"{A}/indicators/check",
            _call(f"{A}/indicators/check", json=indicator),
            _statuses(("bureau_admin",), 200),
            401,
        ),
        (
            "POST",
            f"{A}/measures/check",
            _call(f"{A}/measures/check", json=measure),
            _statuses(("bureau_admin",), 200),
            401,
        ),
        (
            "POST",
            f"{A}/indicators",
            _call(f"{A}/indicators", json=indicator),
            _statuses(("bureau_admin",), 201),
            401,
        ),
        (
            "POST",
            f"{A}/measures",
            _call(f"{A}/measures", json=measure),
            _statuses(("bureau_admin",), 201),
            401,
        ),
        (
            "POST",
            f"{A}/indicators/recompute",
            _call(f"{A}/indicators/recompute"),
            _statuses(ADMINS, 200),
            401,
        ),
        ("GET", f"{A}/alerts", _call(f"{A}/alerts"), _statuses(ALERT_READERS, 200), 401),
        (
            "GET",
            f"{A}/alerts/{{alert_id}}",
            _call(f"{A}/alerts/{NOBODY}"),
            _statuses(ALERT_READERS, 404),
            401,
        ),
        (
            "POST",
            f"{A}/alerts/{{alert_id}}/close",
            _call(f"{A}/alerts/{NOBODY}/close", json={"note": "已核实"}),
            _statuses(("bureau_admin",), 404),
            401,
        ),
        ("GET", f"{A}/reports/monthly", _report("monthly"), _statuses(BUREAU, 200), 401),
        ("GET", f"{A}/reports/quarterly", _report("quarterly"), _statuses(BUREAU, 200), 401),
        ("GET", f"{A}/reports/assessment", _assessment, _statuses(BUREAU, 200), 401),
    ]

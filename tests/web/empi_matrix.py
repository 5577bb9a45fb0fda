"""The master patient index's rows of the permission matrix.

Linking and matching need ``empi:link`` (doctors, the window clerk, the system administrator,
institution systems);
the review queue ``empi:review`` (window clerk, system administrator); merges ``empi:merge``
(system administrator). Decisions and merges of ids that do not exist answer 404 to those who
may act, so the matrix changes nothing it would have to undo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yigongti.security import ROLES

if TYPE_CHECKING:
    from tests.web.test_permission_matrix import Build, Call, Facts

E = "/api/v1/empi"
NOBODY = "00000000-0000-7000-8000-000000000000"
LINKERS = (
    "village_doctor",
    "township_doctor",
    "county_doctor",
    "window_clerk",
    "system_admin",
    "integration",
)
REVIEWERS = ("window_clerk", "system_admin")
MERGERS = ("system_admin",)
# Records are sent by the institution they come from (the center's here), or by a county-wide
# role (the system administrator); a backlog likewise.
SENDERS = ("township_doctor", "window_clerk", "system_admin")
BACKLOG_STARTERS = SENDERS


def _statuses(ok: tuple[str, ...], status: int, default: int = 403) -> dict[str, int]:
    table = dict.fromkeys(ROLES, default)
    table.update(dict.fromkeys(ok, status))
    return table


def _record(path: str) -> Build:
    def build(f: Facts, role: str, n: int) -> Call:
        from tests.web.test_permission_matrix import Call

        body = {
            "institution_id": str(f.center),
            "mrn": f"MATRIX{n:03d}",
            "name": f.home_name,
            "id_number": f.home_id_number,
        }
        return Call(path, json=body)

    return build


def _call(path: str, json: object = None) -> Build:
    def build(f: Facts, role: str, n: int) -> Call:
        from tests.web.test_permission_matrix import Call

        return Call(path.format(**vars(f)), json=json)

    return build


def _backlog(f: Facts, role: str, n: int) -> Call:
    from tests.web.test_permission_matrix import Call

    return Call(f"{E}/backlogs", json={"institution_id": str(f.center)})


def rows() -> list[tuple[str, str, Build, dict[str, int], int]]:
    """(method, route, build, expected status per role, anonymous status) of every row."""
    merge = {"survivor_id": NOBODY, "merged_id": NOBODY[:-1] + "1", "reason": "重复建档"}
    return [
        (
            "POST",
            f"{E}/records",
            _record(f"{E}/records"),
            _statuses(SENDERS, 200),
            401,
        ),
        ("POST", f"{E}/match", _record(f"{E}/match"), _statuses(LINKERS, 200), 401),
        ("GET", f"{E}/reviews", _call(f"{E}/reviews"), _statuses(REVIEWERS, 200), 401),
        (
            "POST",
            f"{E}/reviews/{{review_id}}/decision",
            _call(f"{E}/reviews/{NOBODY}/decision", {"same_as": None}),
            _statuses(REVIEWERS, 404),
            401,
        ),
        ("POST", f"{E}/merges", _call(f"{E}/merges", merge), _statuses(MERGERS, 404), 401),
        (
            "POST",
            f"{E}/merges/{{merge_id}}/undo",
            _call(f"{E}/merges/{NOBODY}/undo"),
            _statuses(MERGERS, 404),
            401,
        ),
        (
            "POST",
            f"{E}/backlogs",
            _backlog,
            _statuses(BACKLOG_STARTERS, 202),
            401,
        ),
        (
            "GET",
            f"{E}/backlogs/{{job_id}}",
            _call(f"{E}/backlogs/{NOBODY}"),
            _statuses(LINKERS, 404),
            401,
        ),
    ]

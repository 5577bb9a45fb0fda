"""Every role against every endpoint of the API: allowed, forbidden (403) or not found (404).

The matrix is a table, one row per (method, path) of the application. A new endpoint without
a row fails ``test_every_endpoint_has_a_row_in_the_matrix``, so nobody adds an endpoint without
stating who may call it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.conftest import Template
from tests.support import (
    actor,
    add_encounter,
    places,
    resident_where,
    user_of,
    username_of,
    visible_ids,
    wards,
)
from tests.web import analytics_matrix, booking_matrix, datacenter_matrix, empi_matrix
from tests.web.analytics_matrix import DashboardFacts
from tests.web.booking_matrix import BookingFacts
from yigongti.clinical.models import Encounter
from yigongti.db import unit_of_work
from yigongti.kernel import make_resident_id
from yigongti.registry.codes import department_catalog
from yigongti.registry.models import FamilyDoctorTeam, Institution, Practitioner, Resident
from yigongti.security.roles import MACHINE_ROLES, ROLES
from yigongti.settings import Settings
from yigongti.web.app import create_app

ANONYMOUS = "anonymous"
# The lead hospital's HIS (``integration``) writes and reveals in the lead's area, as its doctors.
WRITERS = ("village_doctor", "township_doctor", "county_doctor", "window_clerk", "integration")
AREA_ROLES = (
    "village_doctor",
    "township_doctor",
    "county_doctor",
    "center_reader",
    "window_clerk",
    "integration",
)
BUREAU = ("bureau_analyst", "bureau_admin")
ADMINS = ("bureau_admin", "system_admin")
REVEALERS = ("resident", *WRITERS, "cdc_officer")
REASON = "疾病监测数据核实"
NO_RECORDS = ("booking_platform",)  # books by ID card; reads no records


def _statuses(default: int, **by_group: tuple[tuple[str, ...], int]) -> dict[str, int]:
    table = dict.fromkeys(ROLES, default)
    for roles, status in by_group.values():
        table.update(dict.fromkeys(roles, status))
    return table


EVERYONE = _statuses(200)
HOME_READ = _statuses(200, bureau=(BUREAU + NO_RECORDS, 403))
HOME_REVEAL = _statuses(403, ok=(REVEALERS, 200))
STRANGER_READ = _statuses(
    404,
    county=(("cdc_officer", "system_admin"), 200),
    bureau=(BUREAU, 200),
    none=(NO_RECORDS, 403),
)
REASON_READ = _statuses(200, none=(NO_RECORDS, 403))
WARDS_WRITE = _statuses(403, ok=(WRITERS, 204))
RESIDENT_CREATE = _statuses(403, ok=(WRITERS, 201))
RESIDENT_CHANGE = _statuses(403, ok=(WRITERS, 200))
REGISTRY_CREATE = _statuses(403, ok=(ADMINS, 201))
USERS_READ = _statuses(403, ok=(("system_admin",), 200))
USERS_CREATE = _statuses(403, ok=(("system_admin",), 201))
AUDIT_READ = _statuses(403, ok=(ADMINS, 200))


@dataclass
class Facts:
    """Ids the requests of the matrix need, found in the test county."""

    home: uuid.UUID  # the demo resident: in every area role's scope
    stranger: uuid.UUID  # in no area role's scope
    home_encounter: uuid.UUID
    stranger_encounter: uuid.UUID
    town: uuid.UUID
    village: uuid.UUID
    community: uuid.UUID
    clinic: uuid.UUID
    center: uuid.UUID
    practitioner: uuid.UUID
    gp: uuid.UUID
    partner: uuid.UUID
    team: uuid.UUID
    resident_account: uuid.UUID
    free_departments: list[str]
    center_department: uuid.UUID
    home_id_number: str
    home_name: str
    wards_for: dict[str, uuid.UUID] = field(default_factory=dict)
    booking: BookingFacts | None = None
    dashboard: DashboardFacts | None = None


@dataclass(frozen=True)
class Call:
    """One request: what to send for a role."""

    path: str
    params: dict[str, object] | None = None
    json: object = None
    data: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None


Build = Callable[[Facts, str, int], Call]


@dataclass(frozen=True)
class Row:
    """A (method, path) of the API, how to call it, and what each role must get."""

    method: str
    route: str
    build: Build
    expect: dict[str, int]
    anonymous: int = 401


def _get(path: str, **params: object) -> Build:
    return lambda f, role, n: Call(path.format(**vars(f)), params or None)


def _resident_body(f: Facts, role: str, n: int) -> Call:
    number = make_resident_id("330784", date(1990, 1, 1 + n), 901 + 2 * n)
    return Call(
        "/api/v1/residents",
        json={"name": "陆明远", "id_number": number, "residence_village_id": str(f.village)},
    )


def _guardian_body(f: Facts, role: str, n: int) -> Call:
    ward = f.wards_for.get(role, f.stranger)
    return Call(
        f"/api/v1/residents/{ward}/guardians",
        json={"guardian_id": str(f.home), "relation": "other"},
    )


def _institution_body(f: Facts, role: str, n: int) -> Call:
    return Call(
        "/api/v1/institutions",
        json={
            "code": f"33078470MX{n:02d}",
            "name": "矩阵民营医院",
            "kind": "private_hospital",
            "county_code": "330784",
            "ownership": "private",
        },
    )


def _department_body(f: Facts, role: str, n: int) -> Call:
    code = f.free_departments[ADMINS.index(role)] if role in ADMINS else f.free_departments[0]
    return Call(f"/api/v1/institutions/{f.clinic}/departments", json={"code": code})


def _practitioner_body(f: Facts, role: str, n: int) -> Call:
    return Call(
        "/api/v1/practitioners",
        json={"name": "许文华", "sex": "female", "title": "nurse", "institution_id": str(f.center)},
    )


def _team_body(f: Facts, role: str, n: int) -> Call:
    return Call(
        "/api/v1/teams",
        json={
            "name": "矩阵团队",
            "institution_id": str(f.center),
            "gp_id": str(f.gp),
            "partner_id": str(f.partner),
        },
    )


def _user_body(f: Facts, role: str, n: int) -> Call:
    return Call(
        "/api/v1/users",
        json={
            "username": f"matrix-{n}",
            "password": "Matrix2025",
            "role": "village_doctor",
            "display_name": "矩阵用户",
            "institution_id": str(f.clinic),
        },
    )


def _login_body(passwords: Mapping[str, str]) -> Build:
    def build(f: Facts, role: str, n: int) -> Call:
        if role == ANONYMOUS:
            return Call("/api/v1/auth/token")
        if role in MACHINE_ROLES:  # machine accounts have the client credentials grant only
            return Call(
                "/api/v1/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": username_of(role),
                    "client_secret": passwords[role],
                },
            )
        return Call(
            "/api/v1/auth/token",
            data={"username": username_of(role), "password": passwords[role]},
        )

    return build


def matrix(passwords: Mapping[str, str]) -> list[Row]:
    """Every row of the matrix, the login first; ``passwords`` are the demo accounts'."""
    r = "/api/v1/residents"
    return [
        Row("POST", "/api/v1/auth/token", _login_body(passwords), EVERYONE, anonymous=422),
        Row("GET", "/healthz", _get("/healthz"), EVERYONE, anonymous=200),
        Row("GET", "/api/v1/me", _get("/api/v1/me"), EVERYONE),
        Row("GET", "/api/v1/me/wards", _get("/api/v1/me/wards"), EVERYONE),
        Row("GET", "/api/v1/users", _get("/api/v1/users"), USERS_READ),
        Row("POST", "/api/v1/users", _user_body, USERS_CREATE),
        Row(
            "PATCH",
            "/api/v1/users/{user_id}",
            lambda f, role, n: Call(f"/api/v1/users/{f.resident_account}", json={"active": True}),
            USERS_READ,
        ),
        Row("GET", "/api/v1/audit", _get("/api/v1/audit", action="read"), AUDIT_READ),
        Row("GET", "/api/v1/towns", _get("/api/v1/towns"), EVERYONE),
        Row(
            "GET",
            "/api/v1/towns/{town_id}/villages",
            _get("/api/v1/towns/{town}/villages"),
            EVERYONE,
        ),
        Row(
            "GET",
            "/api/v1/towns/{town_id}/institutions",
            _get("/api/v1/towns/{town}/institutions"),
            EVERYONE,
        ),
        Row("GET", "/api/v1/communities", _get("/api/v1/communities"), EVERYONE),
        Row(
            "GET",
            "/api/v1/communities/{community_id}",
            _get("/api/v1/communities/{community}"),
            EVERYONE,
        ),
        Row(
            "GET",
            "/api/v1/communities/{community_id}/members",
            _get("/api/v1/communities/{community}/members"),
            EVERYONE,
        ),
        Row("GET", "/api/v1/institutions", _get("/api/v1/institutions", tier="county"), EVERYONE),
        Row("POST", "/api/v1/institutions", _institution_body, REGISTRY_CREATE),
        Row(
            "GET",
            "/api/v1/institutions/{institution_id}",
            _get("/api/v1/institutions/{clinic}"),
            EVERYONE,
        ),
        Row(
            "GET",
            "/api/v1/institutions/{institution_id}/chain",
            _get("/api/v1/institutions/{clinic}/chain"),
            EVERYONE,
        ),
        Row(
            "GET",
            "/api/v1/institutions/{institution_id}/departments",
            _get("/api/v1/institutions/{clinic}/departments"),
            EVERYONE,
        ),
        Row(
            "POST",
            "/api/v1/institutions/{institution_id}/departments",
            _department_body,
            REGISTRY_CREATE,
        ),
        Row("GET", "/api/v1/practitioners", _get("/api/v1/practitioners", q="W"), EVERYONE),
        Row("POST", "/api/v1/practitioners", _practitioner_body, REGISTRY_CREATE),
        Row(
            "GET",
            "/api/v1/practitioners/{practitioner_id}",
            _get("/api/v1/practitioners/{practitioner}"),
            EVERYONE,
        ),
        Row("GET", "/api/v1/teams", _get("/api/v1/teams"), EVERYONE),
        Row("POST", "/api/v1/teams", _team_body, REGISTRY_CREATE),
        Row("GET", "/api/v1/teams/{team_id}", _get("/api/v1/teams/{team}"), EVERYONE),
        Row("GET", "/api/v1/residents", _get(r, q="1"), HOME_READ),
        Row("GET", "/api/v1/residents", _get(r, q="1", reason=REASON), REASON_READ),
        Row("POST", "/api/v1/residents", _resident_body, RESIDENT_CREATE),
        Row("GET", "/api/v1/residents/{resident_id}", _get(r + "/{home}"), HOME_READ),
        Row(
            "GET", "/api/v1/residents/{resident_id}", _get(r + "/{home}", reveal=True), HOME_REVEAL
        ),
        Row(
            "GET",
            "/api/v1/residents/{resident_id}",
            _get(r + "/{stranger}", reason=REASON),
            STRANGER_READ,
        ),
        Row(
            "PATCH",
            "/api/v1/residents/{resident_id}",
            lambda f, role, n: Call(f"{r}/{f.home}", json={"permanent": True}),
            RESIDENT_CHANGE,
        ),
        Row(
            "GET",
            "/api/v1/residents/{resident_id}/household",
            _get(r + "/{home}/household"),
            HOME_READ,
        ),
        Row(
            "GET",
            "/api/v1/residents/{resident_id}/household",
            _get(r + "/{stranger}/household", reason=REASON),
            STRANGER_READ,
        ),
        Row("POST", "/api/v1/residents/{resident_id}/guardians", _guardian_body, WARDS_WRITE),
        Row(
            "GET",
            "/api/v1/residents/{resident_id}/conditions",
            _get(r + "/{home}/conditions"),
            HOME_READ,
        ),
        Row(
            "GET",
            "/api/v1/residents/{resident_id}/conditions",
            _get(r + "/{stranger}/conditions", reason=REASON),
            STRANGER_READ,
        ),
        Row(
            "GET",
            "/api/v1/residents/{resident_id}/encounters",
            _get(r + "/{home}/encounters"),
            HOME_READ,
        ),
        Row(
            "GET",
            "/api/v1/residents/{resident_id}/encounters",
            _get(r + "/{stranger}/encounters", reason=REASON),
            STRANGER_READ,
        ),
        Row(
            "GET",
            "/api/v1/encounters/{encounter_id}/fees",
            _get("/api/v1/encounters/{home_encounter}/fees"),
            HOME_READ,
        ),
        Row(
            "GET",
            "/api/v1/encounters/{encounter_id}/fees",
            _get("/api/v1/encounters/{stranger_encounter}/fees", reason=REASON),
            STRANGER_READ,
        ),
        *(Row(*row) for row in booking_matrix.rows()),
        *(Row(*row) for row in analytics_matrix.rows()),
        *(Row(*row) for row in datacenter_matrix.rows()),
        *(Row(*row) for row in empi_matrix.rows()),
    ]


def _facts(engine: Engine) -> Facts:
    with unit_of_work(engine) as session:
        at = places(session)
        area_scopes = [visible_ids(session, actor(session, role)) for role in AREA_ROLES]
        seen_by_someone = set().union(
            *area_scopes, visible_ids(session, actor(session, "resident"))
        )
        stranger = resident_where(session, Resident.id.not_in(seen_by_someone))
        private = session.scalar(
            select(Institution.id).where(Institution.kind == "private_hospital").limit(1)
        )
        add_encounter(session, at.resident.id, at.clinic.id)
        add_encounter(session, stranger.id, private)
        encounter_of = {
            who: session.scalar(select(Encounter.id).where(Encounter.resident_id == who).limit(1))
            for who in (at.resident.id, stranger.id)
        }
        staff = {
            p.profession: p.id
            for p in session.scalars(
                select(Practitioner)
                .where(Practitioner.institution_id == at.center.id)
                .order_by(Practitioner.name.desc())
            )
        }
        have = {d.code for d in at.clinic.departments}
        facts = Facts(
            home=at.resident.id,
            stranger=stranger.id,
            home_encounter=encounter_of[at.resident.id],
            stranger_encounter=encounter_of[stranger.id],
            town=at.center.town_id,
            village=at.village.id,
            community=at.community.id,
            clinic=at.clinic.id,
            center=at.center.id,
            practitioner=staff["physician"],
            gp=staff["physician"],
            partner=staff.get("nurse") or staff["public_health"],
            team=session.scalar(select(FamilyDoctorTeam.id).order_by(FamilyDoctorTeam.name)),
            resident_account=user_of(session, "resident").id,
            free_departments=[c for c in department_catalog() if c not in have],
            center_department=at.center.departments[0].id,
            home_id_number=at.resident.id_number or "",
            home_name=at.resident.name,
        )
        facts.booking = booking_matrix.arrange(session, at.resident.id, at.center.id)
        taken = {at.resident.id} | wards(session, at.resident.id)
        for role, scope in zip(AREA_ROLES, area_scopes, strict=True):
            if role in WRITERS:
                ward = min(scope - taken)
                facts.wards_for[role] = ward
                taken.add(ward)
        return facts


def _send(client: TestClient, method: str, call: Call, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.request(
        method,
        call.path,
        params=call.params,
        json=call.json,
        data=call.data,
        content=call.content,
        headers={**headers, **(call.headers or {})},
    )


def test_every_endpoint_has_a_row_in_the_matrix() -> None:
    app = create_app(Settings(database_url="sqlite://", secret_key="x" * 32), with_ui=False)
    # The app's OpenAPI document is generated from its routes (included routers too).
    endpoints = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    covered = {(row.method, row.route) for row in matrix({})}
    assert endpoints - covered == set(), "endpoints without a row in the permission matrix"
    assert covered - endpoints == set(), "matrix rows for endpoints that do not exist"


def test_every_role_gets_what_the_rules_say_from_every_endpoint(
    client: TestClient, engine: Engine, template: Template
) -> None:
    facts = _facts(engine)
    facts.dashboard = analytics_matrix.arrange(engine, client.app.state.settings.lake_dir)
    login, *rows = matrix(template.passwords)
    headers: dict[str, dict[str, str]] = {ANONYMOUS: {}}
    wrong: list[str] = []

    def check(row: Row, role: str, n: int) -> httpx.Response:
        expected = row.anonymous if role == ANONYMOUS else row.expect[role]
        call = row.build(facts, role, n)
        answer = _send(client, row.method, call, headers.get(role, {}))
        if answer.status_code != expected:
            wrong.append(
                f"{role:15} {row.method:5} {call.path} {call.params or ''}: "
                f"expected {expected}, got {answer.status_code} {answer.text[:160]}"
            )
        return answer

    for n, role in enumerate([*ROLES, ANONYMOUS]):  # each role's one login
        answer = check(login, role, n)
        if answer.status_code == 200:
            headers[role] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert not wrong, "\n" + "\n".join(wrong)
    for row in rows:
        for n, role in enumerate([*ROLES, ANONYMOUS]):
            check(row, role, n)
    assert not wrong, "\n" + "\n".join(wrong)

"""The demo: an account for every role, placed where the role fits in the synthetic county."""

from __future__ import annotations

import json
import secrets
import string
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from yigongti.registry.models import (
    Department,
    Guardianship,
    Institution,
    MedicalCommunity,
    Practitioner,
    PractitionerDepartment,
    Resident,
)
from yigongti.security import ROLES, create_user, roles, system_actor
from yigongti.security.models import User


@dataclass(frozen=True)
class DemoAccount:
    """A demo login as written to ``demo-accounts.json``.

    A machine account (role ``integration``) logs in with OAuth2 client credentials: its
    username is the client id and its password the client secret, listed under those names too.
    """

    role: str
    username: str
    password: str

    def as_json(self) -> dict[str, str]:
        """The account as a row of ``demo-accounts.json``."""
        row = asdict(self)
        if self.role in roles.MACHINE_ROLES:
            row.update(client_id=self.username, client_secret=self.password)
        return row


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "ygt-" + "".join(secrets.choice(alphabet) for _ in range(8)) + str(secrets.randbelow(10))


def _guardian_with_clinic(session: Session) -> Resident:
    """A parent in a village with a clinic, so every role has someone to look at."""
    ward = aliased(Resident)
    query = (
        select(Resident)
        .join(Guardianship, Guardianship.guardian_id == Resident.id)
        .join(ward, ward.id == Guardianship.ward_id)
        .where(
            Resident.id_number.is_not(None),
            Resident.phone.is_not(None),
            exists().where(
                and_(
                    Institution.kind == "village_clinic",
                    Institution.village_id == Resident.residence_village_id,
                )
            ),
        )
        .order_by(Resident.id_number)
        .limit(1)
    )
    found = session.scalar(query)
    if found is None:
        raise RuntimeError("the county has no guardian living in a village with a clinic")
    return found


def _practitioner(
    session: Session,
    institution_id: object,
    profession: str = "physician",
    department_code: str | None = None,
) -> Practitioner | None:
    query = select(Practitioner).where(
        Practitioner.institution_id == institution_id, Practitioner.profession == profession
    )
    if department_code:
        query = (
            query.join(PractitionerDepartment)
            .join(Department)
            .where(Department.code == department_code)
        )
    return session.scalar(query.order_by(Practitioner.name).limit(1))


def _one(session: Session, kind: str) -> Institution:
    found = session.scalar(
        select(Institution).where(Institution.kind == kind).order_by(Institution.code)
    )
    if found is None:
        raise RuntimeError(f"the county has no institution of kind {kind}")
    return found


def create_demo_accounts(session: Session) -> list[DemoAccount]:
    """Create one account per role (skipping usernames that exist) and return their passwords."""
    resident = _guardian_with_clinic(session)
    clinic = session.scalar(
        select(Institution).where(
            Institution.kind == "village_clinic",
            Institution.village_id == resident.residence_village_id,
        )
    )
    assert clinic is not None and clinic.parent_id is not None
    center = session.get(Institution, clinic.parent_id)
    assert center is not None and center.community_id is not None
    community = session.get(MedicalCommunity, center.community_id)
    assert community is not None and community.lead_institution_id is not None
    lead = session.get(Institution, community.lead_institution_id)
    bureau, cdc = _one(session, "health_bureau"), _one(session, "cdc")
    places: dict[str, tuple[Institution | None, Practitioner | None]] = {
        "resident": (None, None),
        "village_doctor": (clinic, _practitioner(session, clinic.id)),
        "township_doctor": (center, _practitioner(session, center.id)),
        "county_doctor": (lead, _practitioner(session, lead.id, department_code="03")),
        "center_reader": (lead, _practitioner(session, lead.id, department_code="32")),
        "bureau_analyst": (bureau, None),
        "bureau_admin": (bureau, None),
        "cdc_officer": (cdc, None),
        "window_clerk": (center, None),
        "system_admin": (bureau, None),
        "booking_platform": (None, None),
        "integration": (lead, None),  # the lead hospital's HIS (client credentials)
    }
    actor = system_actor("demo")
    accounts = []
    for role in ROLES:
        institution, practitioner = places[role]
        username = role.replace("_", "-")
        if session.scalar(select(User.id).where(User.username == username)):
            continue
        password = _password()
        name = (
            resident.name
            if role == "resident"
            else practitioner.name
            if practitioner
            else f"{ROLES[role].zh}（演示）"
        )
        create_user(
            session,
            actor,
            username=username,
            password=password,
            role=role,
            display_name=name,
            institution_id=institution.id if institution else None,
            practitioner_id=practitioner.id if practitioner else None,
            resident_id=resident.id if role == "resident" else None,
        )
        accounts.append(DemoAccount(role, username, password))
    return accounts


def write_accounts(path: Path, accounts: list[DemoAccount]) -> None:
    """Write the accounts as a JSON list of ``{"role", "username", "password"}`` (with
    ``client_id`` and ``client_secret`` for machine accounts)."""
    rows = [a.as_json() for a in accounts]
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    path.chmod(0o600)


def read_accounts(path: Path) -> list[DemoAccount]:
    """The accounts a previous demo run wrote, or none."""
    if not path.exists():
        return []
    return [
        DemoAccount(row["role"], row["username"], row["password"])
        for row in json.loads(path.read_text())
    ]


def fill_data_center(session: Session, lake_dir: Path, year: int, seed: int = 1) -> str:
    """Push the county's finance reports and insurance settlement file into the lake as the
    institutions would, then refresh the data center; a line saying what was done.

    The pushes go through the same validation as any HIS file, and pushing the same bytes again
    (a second ``ygt demo``) is recognised and adds nothing.
    """
    import pyarrow.compute as pc

    from yigongti import analytics
    from yigongti.synth.finance import finance_reports, outside_stays, to_csv_bytes

    actor = system_actor("demo")
    lake = analytics.Lake(lake_dir)
    stays = outside_stays(session, year, seed)
    analytics.load_lake_file(
        session, actor, lake, dataset="outside_stays", filename=f"settlement-{year}.csv",
        data=to_csv_bytes(stays),
    )  # fmt: skip
    finance = finance_reports(session, year, seed)
    reporters = pc.unique(finance["institution_id"]).to_pylist()
    for institution in reporters:
        rows = finance.filter(pc.equal(finance["institution_id"], institution))
        analytics.load_lake_file(
            session, actor, lake, dataset="finance", filename=f"finance-{year}.csv",
            data=to_csv_bytes(rows), institution_id=uuid.UUID(institution),
        )  # fmt: skip
    done = analytics.refresh_data_center(session, actor, lake)
    return (
        f"data center: {done.export.rows:,} rows exported, {len(reporters)} finance reports and "
        f"{stays.num_rows:,} out-of-county stays pushed, {done.computed.rows:,} indicator values, "
        f"{done.alerts_opened} alerts opened"
    )

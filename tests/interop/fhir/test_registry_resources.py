"""FHIR Organization, Location, Practitioner, PractitionerRole and CareTeam over the registry."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.interop.fhir.conftest import Fhir, issue_paths
from tests.support import places
from yigongti.interop.fhir import systems
from yigongti.kernel import mask_phone
from yigongti.registry.models import (
    Department,
    FamilyDoctorTeam,
    Institution,
    MedicalCommunity,
    Practitioner,
)
from yigongti.security import AuditEvent

DIRECTORY_TYPES = ("Organization", "Location", "Practitioner", "PractitionerRole", "CareTeam")


def _valid(resource: dict) -> dict:
    """``resource``, after checking it against the R4B model of its type."""
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    getattr(module, kind).model_validate(resource)
    return resource


def _read(client: Fhir, path: str) -> dict:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return _valid(answer.json())


def _search(client: Fhir, path: str) -> dict:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    bundle = _valid(answer.json())
    for entry in bundle.get("entry", []):
        _valid(entry["resource"])
    return bundle


def _ids(bundle: dict, mode: str = "match") -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode}


def _part_of(organization: dict) -> str | None:
    return (organization.get("partOf") or {}).get("reference")


def _staff_with_department(session: Session, institution_id: uuid.UUID) -> Practitioner:
    found = session.scalar(
        select(Practitioner)
        .where(
            Practitioner.institution_id == institution_id,
            Practitioner.departments.any(),
            Practitioner.phone.is_not(None),
        )
        .order_by(Practitioner.name)
        .limit(1)
    )
    assert found is not None
    return found


def _team_of(session: Session, institution_id: uuid.UUID) -> FamilyDoctorTeam:
    found = session.scalar(
        select(FamilyDoctorTeam).where(FamilyDoctorTeam.institution_id == institution_id).limit(1)
    )
    assert found is not None, "the test county has no team at the demo center"
    return found


def test_a_village_clinic_chains_up_through_its_township_center_to_the_community(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        where = places(session)
    doctor = fhir("village_doctor")
    clinic = _read(doctor, f"Organization/{where.clinic.id}")
    assert clinic["identifier"][0] == {
        "use": "official",
        "system": systems.INSTITUTION_CODE,
        "value": where.clinic.code,
    }
    assert _part_of(clinic) == f"Organization/{where.center.id}"
    center = _read(doctor, f"Organization/{where.center.id}")
    assert _part_of(center) == f"Organization/{where.community.id}"
    community = _read(doctor, f"Organization/{where.community.id}")
    assert "partOf" not in community
    assert community["identifier"][0]["system"] == systems.COMMUNITY_CODE
    assert community["type"][0]["coding"][0]["code"] == systems.COMMUNITY_KIND
    lead = community["extension"][0]
    assert lead["url"] == systems.LEAD_INSTITUTION
    assert lead["valueReference"]["reference"] == f"Organization/{where.lead.id}"


def test_an_institution_carries_its_kind_tier_and_place(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        clinic = places(session).clinic
    organization = _read(fhir("resident"), f"Organization/{clinic.id}")
    codes = {c["system"]: c["code"] for t in organization["type"] for c in t["coding"]}
    assert codes[systems.INSTITUTION_KIND] == "village_clinic"
    assert codes[systems.TIER] == "village"
    assert organization["address"][0]["line"]
    assert organization["active"] is True


def test_organizations_are_found_by_identifier_of_either_system(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        where = places(session)
    client = fhir("county_doctor")
    by_code = _search(
        client, f"Organization?identifier={systems.INSTITUTION_CODE}|{where.center.code}"
    )
    assert _ids(by_code) == {str(where.center.id)}
    either = _search(client, f"Organization?identifier={where.community.code},{where.clinic.code}")
    assert _ids(either) == {str(where.community.id), str(where.clinic.id)}
    refused = client.get("Organization?identifier=urn:example|1")
    assert refused.status_code == 400 and issue_paths(refused) == ["identifier"]


def test_organizations_are_found_by_name_prefix_and_type(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        where = places(session)
        communities = session.scalar(select(func.count()).select_from(MedicalCommunity))
        county_tier = session.scalar(
            select(func.count()).select_from(Institution).where(Institution.tier == "county")
        )
    client = fhir("township_doctor")
    by_name = _search(client, f"Organization?name={where.center.name[:-1]}")
    assert str(where.center.id) in _ids(by_name)
    assert all(e["resource"]["name"].startswith(where.center.name[:-1]) for e in by_name["entry"])
    by_kind = _search(client, "Organization?type=medical_community&_count=50")
    assert by_kind["total"] == communities
    by_tier = _search(client, f"Organization?type={systems.TIER}|county&_count=100")
    assert by_tier["total"] == county_tier
    unknown = client.get("Organization?type=hospital")
    assert unknown.status_code == 400 and issue_paths(unknown) == ["type"]


def test_partof_lists_the_units_right_below_and_includes_the_one_above(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        where = places(session)
        clinics = set(
            session.scalars(select(Institution.id).where(Institution.parent_id == where.center.id))
        )
    bundle = _search(
        fhir("village_doctor"),
        f"Organization?partof=Organization/{where.center.id}&_include=Organization:partof"
        "&_count=100",
    )
    assert _ids(bundle) == {str(c) for c in clinics}
    assert _ids(bundle, "include") == {str(where.center.id)}
    members = _search(fhir("village_doctor"), f"Organization?partof={where.community.id}")
    assert str(where.center.id) in _ids(members) and str(where.lead.id) in _ids(members)
    assert str(where.clinic.id) not in _ids(members)


def test_active_false_finds_only_institutions_that_closed(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        clinic = places(session).clinic
        clinic.active = False
        session.commit()
    closed = _search(fhir("township_doctor"), "Organization?active=false")
    assert _ids(closed) == {str(clinic.id)}
    assert closed["entry"][0]["resource"]["active"] is False


def test_organization_search_pages_through_communities_and_institutions(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        everything = session.scalar(select(func.count()).select_from(Institution))
        everything += session.scalar(select(func.count()).select_from(MedicalCommunity))
    client = fhir("bureau_analyst")
    seen: list[str] = []
    path = "Organization?_count=7"
    while path:
        bundle = _search(client, path)
        assert bundle["total"] == everything
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        path = following[0].split("/fhir/", 1)[1] if following else ""
    assert len(seen) == len(set(seen)) == everything


def test_a_department_is_a_location_part_of_its_institutions_site(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        center = places(session).center
        department = session.scalars(
            select(Department).where(Department.institution_id == center.id)
        ).first()
        assert department is not None
    client = fhir("township_doctor")
    site = _read(client, f"Location/{center.id}")
    assert site["physicalType"]["coding"][0]["code"] == "si"
    assert site["managingOrganization"]["reference"] == f"Organization/{center.id}"
    room = _read(client, f"Location/{department.id}")
    assert room["partOf"]["reference"] == f"Location/{center.id}"
    assert room["type"][0]["coding"][0] == {
        "system": systems.DEPARTMENT,
        "code": department.code,
        "display": department.name,
    }


def test_locations_are_found_by_organization_partof_type_and_name(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        center = places(session).center
        departments = {
            d.id: d
            for d in session.scalars(
                select(Department).where(Department.institution_id == center.id)
            )
        }
    client = fhir("township_doctor")
    of_center = _search(
        client, f"Location?organization={center.id}&_include=Location:organization&_count=100"
    )
    assert _ids(of_center) == {str(center.id)} | {str(d) for d in departments}
    assert _ids(of_center, "include") == {str(center.id)}
    rooms = _search(client, f"Location?partof=Location/{center.id}&_include=Location:partof")
    assert _ids(rooms) == {str(d) for d in departments}
    assert _ids(rooms, "include") == {str(center.id)}
    one = next(iter(departments.values()))
    by_type = _search(
        client, f"Location?organization={center.id}&type={systems.DEPARTMENT}|{one.code}"
    )
    assert _ids(by_type) == {str(one.id)}
    sites = _search(client, f"Location?name={center.name}&type=township_center,community_center")
    assert str(center.id) in _ids(sites)
    assert all(e["resource"]["physicalType"]["coding"][0]["code"] == "si" for e in sites["entry"])


def test_a_practitioner_shows_his_title_and_a_masked_phone(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        staff = _staff_with_department(session, places(session).center.id)
    practitioner = _read(fhir("resident"), f"Practitioner/{staff.id}")
    assert practitioner["name"][0]["text"] == staff.name
    assert practitioner["qualification"][0]["code"]["coding"][0]["code"] == staff.title
    assert practitioner["telecom"][0]["value"] == mask_phone(staff.phone)


def test_a_registry_keeper_reveals_a_practitioners_phone_and_it_is_audited(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        staff = session.scalars(select(Practitioner).where(Practitioner.phone.is_not(None))).first()
        assert staff is not None
    path = f"Practitioner/{staff.id}"
    shown = fhir("bureau_admin").get(path, **{"X-Reveal": "true"}).json()
    assert shown["telecom"][0]["value"] == staff.phone
    doctor = fhir("township_doctor").get(path, **{"X-Reveal": "true"}).json()
    assert doctor["telecom"][0]["value"] != staff.phone
    with Session(engine) as session:
        reveals = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "reveal", AuditEvent.object_id == str(staff.id)
            )
        ).all()
        assert [e.actor_role for e in reveals] == ["bureau_admin"]


def test_practitioners_are_found_by_name_initials_gender_and_active(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        staff = _staff_with_department(session, places(session).center.id)
        staff.active = False
        session.commit()
    client = fhir("county_doctor")
    by_name = _search(client, f"Practitioner?name={staff.name}&gender={staff.sex}")
    assert str(staff.id) in _ids(by_name)
    by_initials = _search(client, f"Practitioner?name={staff.name_initials.lower()}&_count=200")
    assert str(staff.id) in _ids(by_initials)
    retired = _search(client, "Practitioner?active=false")
    assert _ids(retired) == {str(staff.id)}
    assert client.get("Practitioner?gender=other").status_code == 400
    assert client.get("Practitioner?active=yes").status_code == 400


def test_a_practitioner_role_includes_its_practitioner_and_organization(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        center = places(session).center
        staff = _staff_with_department(session, center.id)
        department = staff.departments[0]
    client = fhir("village_doctor")
    role = _read(client, f"PractitionerRole/{staff.id}")
    assert role["organization"]["reference"] == f"Organization/{center.id}"
    assert f"Location/{department.id}" in {loc["reference"] for loc in role["location"]}
    bundle = _search(
        client,
        f"PractitionerRole?practitioner=Practitioner/{staff.id}"
        "&_include=PractitionerRole:practitioner&_include=PractitionerRole:organization",
    )
    assert _ids(bundle) == {str(staff.id)}
    included = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"][1:]}
    assert included == {("Practitioner", str(staff.id)), ("Organization", str(center.id))}


def test_practitioner_roles_are_found_by_organization_specialty_and_location(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        center = places(session).center
        staff = _staff_with_department(session, center.id)
        department = staff.departments[0]
        at_center = session.scalar(
            select(func.count())
            .select_from(Practitioner)
            .where(Practitioner.institution_id == center.id)
        )
        in_department = set(
            session.scalars(
                select(Practitioner.id).where(
                    Practitioner.departments.any(Department.id == department.id)
                )
            )
        )
    client = fhir("township_doctor")
    assert _search(client, f"PractitionerRole?organization={center.id}")["total"] == at_center
    located = _search(client, f"PractitionerRole?location={department.id}&_count=200")
    assert _ids(located) == {str(p) for p in in_department}
    specialty = _search(
        client,
        f"PractitionerRole?organization={center.id}&specialty={systems.DEPARTMENT}|"
        f"{department.code}&_count=200",
    )
    assert _ids(specialty) == {str(p) for p in in_department}
    assert client.get("PractitionerRole?specialty=XX").status_code == 400


def test_a_family_doctor_team_is_a_care_team_of_its_members(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        center = places(session).center
        team = _team_of(session, center.id)
        members = {(m.practitioner_id, m.role) for m in team.members}
    care_team = _read(fhir("resident"), f"CareTeam/{team.id}")
    assert care_team["managingOrganization"][0]["reference"] == f"Organization/{center.id}"
    shown = {
        (uuid.UUID(p["member"]["reference"].split("/")[1]), p["role"][0]["coding"][0]["code"])
        for p in care_team["participant"]
    }
    assert shown == members
    assert care_team["participant"][0]["role"][0]["coding"][0]["code"] == "gp"


def test_care_teams_are_found_by_participant_organization_and_status(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        center = places(session).center
        team = _team_of(session, center.id)
        gp = team.leader_id
        teams = session.scalar(
            select(func.count())
            .select_from(FamilyDoctorTeam)
            .where(FamilyDoctorTeam.institution_id == center.id)
        )
    client = fhir("township_doctor")
    bundle = _search(
        client, f"CareTeam?participant=Practitioner/{gp}&_include=CareTeam:participant"
    )
    assert str(team.id) in _ids(bundle)
    assert str(gp) in _ids(bundle, "include")
    assert _search(client, f"CareTeam?organization={center.id}&status=active")["total"] == teams
    assert _search(client, "CareTeam?status=inactive")["total"] == 0
    refused = client.get("CareTeam?status=retired")
    assert refused.status_code == 400 and issue_paths(refused) == ["status"]


@pytest.mark.parametrize("kind", DIRECTORY_TYPES)
def test_a_missing_id_is_404_and_an_unknown_parameter_400(
    fhir: Callable[[str], Fhir], kind: str
) -> None:
    client = fhir("township_doctor")
    missing = client.get(f"{kind}/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["resourceType"] == "OperationOutcome"
    unknown = client.get(f"{kind}?colour=blue")
    assert unknown.status_code == 400 and issue_paths(unknown) == ["colour"]


def test_the_capability_statement_lists_the_directory_and_its_includes(client) -> None:
    resources = {r["type"]: r for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]}
    assert set(DIRECTORY_TYPES) <= set(resources)
    assert "PractitionerRole:organization" in resources["PractitionerRole"]["searchInclude"]
    assert {"read", "search-type"} <= {i["code"] for i in resources["Organization"]["interaction"]}
    assert "create" not in {i["code"] for i in resources["Location"]["interaction"]}


def test_the_directory_is_read_only_over_fhir(fhir: Callable[[str], Fhir]) -> None:
    answer = fhir("bureau_admin").post(
        "Organization", {"resourceType": "Organization", "name": "新"}
    )
    assert answer.status_code == 405
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_hl7_organization_types_find_providers_and_government(
    fhir: Callable[[str], Fhir], engine: Engine
) -> None:
    with Session(engine) as session:
        where = places(session)
    client = fhir("cdc_officer")
    government = _search(client, f"Organization?type={systems.HL7_ORGANIZATION_TYPE}|govt")
    assert _ids(government) == {str(where.bureau.id), str(where.cdc.id)}
    providers = _search(client, "Organization?type=prov&_count=200")
    assert str(where.community.id) in _ids(providers) and str(where.bureau.id) not in _ids(
        providers
    )

"""Practitioners with a title pyramid per tier, their departments, and "1+1+X" teams.

Every department gets at least one person who can work there (a physician; a technologist in
the laboratory; a public-health physician in preventive care) and every center one general
practitioner per team it forms, so encounters and teams always find someone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from yigongti.registry.codes import TITLES, department_catalog
from yigongti.registry.models import (
    FamilyDoctorTeam,
    Practitioner,
    PractitionerDepartment,
    TeamMember,
)
from yigongti.synth.identity import Phones
from yigongti.synth.ids import one_uuid7
from yigongti.synth.institutions import Network
from yigongti.synth.names import draw_surnames, full_names

# kind -> (fewest, most) practitioners; "member_hospital" is a county hospital that leads nothing
HEADCOUNT = {
    "county_hospital": (100, 150),
    "member_hospital": (60, 90),
    "private_hospital": (25, 35),
    "township_center": (15, 35),
    "community_center": (15, 35),
    "village_clinic": (1, 2),
    "cdc": (6, 10),
}
# staffing -> profession -> share of the posts beyond the required ones
PROFESSIONS = {
    "hospital": {"physician": 0.42, "nurse": 0.43, "technician": 0.1, "public_health": 0.05},
    "center": {"physician": 0.45, "nurse": 0.35, "technician": 0.1, "public_health": 0.1},
    "cdc": {"public_health": 0.7, "technician": 0.3},
}
# staffing -> profession -> title -> share: the title pyramid
PYRAMID = {
    "hospital": {
        "physician": {
            "chief_physician": 0.08,
            "associate_chief_physician": 0.17,
            "attending_physician": 0.35,
            "physician": 0.32,
            "assistant_physician": 0.08,
        },
        "nurse": {"chief_nurse": 0.02, "supervisor_nurse": 0.2, "senior_nurse": 0.38, "nurse": 0.4},
    },
    "center": {
        "physician": {
            "associate_chief_physician": 0.04,
            "attending_physician": 0.3,
            "physician": 0.4,
            "assistant_physician": 0.26,
        },
        "nurse": {"supervisor_nurse": 0.1, "senior_nurse": 0.4, "nurse": 0.5},
    },
}
SINGLE_TITLE = {"public_health": "public_health_physician", "technician": "technologist"}
FEMALE_SHARE = {"physician": 0.42, "nurse": 0.96, "technician": 0.5, "public_health": 0.55}
# Departments by who works there; imaging (32) has radiologists as well as technologists.
LABORATORY = ("30", "31")
TECHNICAL = ("30", "31", "32")
PREVENTIVE = "01"
GENERAL_PRACTICE = "02"
GP_SHARE_AT_CENTERS = 0.45  # of a center's other physicians
TEAMS_PER_CENTER = (3, 8)
SENIOR = {"chief_physician", "associate_chief_physician", "attending_physician"}
# Practitioners' phones come after every resident's, so the two never collide.
PHONE_COUNTER_START = 50_000_000


@dataclass(frozen=True)
class Staff:
    """Physicians grouped per department, for picking who saw a patient."""

    pool: np.ndarray  # practitioner ids (hex) grouped by department
    pool_start: np.ndarray  # per department: first position in ``pool``
    pool_size: np.ndarray  # per department: how many (0: nobody)
    practitioners: int
    teams: int


def _staffing(network: Network, index: int) -> tuple[str, str]:
    """(headcount kind, staffing) of institution ``index``."""
    kind = network.kinds[index]
    if kind == "county_hospital":
        leads = {members[0] for members in network.community_hospitals}
        return ("county_hospital" if index in leads else "member_hospital"), "hospital"
    if kind == "private_hospital":
        return kind, "hospital"
    if kind in ("township_center", "community_center"):
        return kind, "center"
    return kind, kind


def _posts(
    rng: np.random.Generator, staffing: str, codes: list[str], total: int, gps: int
) -> list[tuple[str, str]]:
    """(profession, department code) of each post: the required posts first."""
    if staffing == "village_clinic":
        return [("physician", GENERAL_PRACTICE)] * total
    posts = [
        (
            "public_health"
            if c == PREVENTIVE
            else "technician"
            if c in LABORATORY
            else "physician",
            c,
        )
        for c in codes
    ]
    posts += [("physician", GENERAL_PRACTICE)] * max(gps - 1, 0)
    if staffing == "center":
        posts.append(("nurse", GENERAL_PRACTICE))
    clinical = [c for c in codes if c not in TECHNICAL and c != PREVENTIVE] or codes
    shares = PROFESSIONS[staffing]
    names, p = list(shares), np.array(list(shares.values()))
    while len(posts) < total:
        profession = names[rng.choice(len(p), p=p / p.sum())]
        if profession == "technician":
            places = [c for c in codes if c in TECHNICAL] or codes
        elif profession == "public_health":
            places = [c for c in codes if c == PREVENTIVE] or codes
        elif staffing == "center" and profession == "physician":
            gp = rng.random() < GP_SHARE_AT_CENTERS
            places = [GENERAL_PRACTICE] if gp else clinical
        else:
            places = clinical
        posts.append((profession, places[int(rng.integers(len(places)))]))
    return posts


def _title(rng: np.random.Generator, staffing: str, profession: str) -> str:
    if staffing == "village_clinic":
        return "rural_doctor"
    pyramid = PYRAMID.get(staffing, PYRAMID["center"]).get(profession)
    if pyramid is None:
        return SINGLE_TITLE[profession]
    titles, p = list(pyramid), np.array(list(pyramid.values()))
    return titles[rng.choice(len(titles), p=p / p.sum())]


def _pools(
    network: Network, dept: np.ndarray, clinical: np.ndarray, hex_ids: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clinicians grouped per department; an empty department borrows another of its house."""
    order = np.flatnonzero(clinical)[np.argsort(dept[clinical], kind="stable")]
    size = np.bincount(dept[order], minlength=len(network.department_ids))
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    for d in np.flatnonzero(size == 0):
        row = network.department_of[network.department_institution[d]]
        staffed = [int(x) for x in row[row >= 0] if size[x] > 0]
        general = [x for x in staffed if network.department_codes[x] == GENERAL_PRACTICE]
        if staffed:
            pick = (general or staffed)[0]
            start[d], size[d] = start[pick], size[pick]
    return np.array(hex_ids)[order], start, size


def _teams(
    session: Session,
    rng: np.random.Generator,
    network: Network,
    rows: list[Practitioner],
    posts: list[tuple[int, str, str]],
    team_counts: dict[int, int],
    base_ms: int,
) -> int:
    """Teams at every center: a GP leader, a nurse or public-health doctor, 1-2 specialists."""
    by_inst: dict[int, list[int]] = {}
    for p, (inst, _, _) in enumerate(posts):
        by_inst.setdefault(inst, []).append(p)
    teams = 0
    for center in network.town_center.tolist():
        mine = by_inst[center]
        leaders = [p for p in mine if posts[p][1:] == ("physician", GENERAL_PRACTICE)]
        partners = [p for p in mine if posts[p][1] in ("nurse", "public_health")]
        lead = network.community_hospitals[int(network.community[center])][0]
        specialists = [
            p
            for p in by_inst[lead]
            if posts[p][1] == "physician"
            and rows[p].title in SENIOR
            and posts[p][2] not in (*TECHNICAL, GENERAL_PRACTICE, PREVENTIVE)
        ]
        for k in range(min(team_counts[center], len(leaders))):
            leader, partner = rows[leaders[k]], rows[partners[k % len(partners)]]
            chosen = rng.choice(specialists, size=int(rng.integers(1, 3)), replace=False)
            team = FamilyDoctorTeam(
                id=one_uuid7(rng, base_ms),
                name=f"{leader.name}家庭医生团队",
                institution_id=leader.institution_id,
                leader_id=leader.id,
            )
            team.members = [
                TeamMember(practitioner_id=leader.id, role="gp"),
                TeamMember(practitioner_id=partner.id, role=partner.profession),
                *(TeamMember(practitioner_id=rows[s].id, role="specialist") for s in chosen),
            ]
            session.add(team)
            teams += 1
    return teams


def build_staff(
    session: Session,
    rng: np.random.Generator,
    network: Network,
    phones: Phones,
    year: int,
    base_ms: int,
) -> Staff:
    """Create practitioners, their departments and the family-doctor teams (flushed)."""
    catalog = department_catalog()
    posts: list[tuple[int, str, str]] = []  # (institution, profession, department code)
    staffings: list[str] = []
    team_counts: dict[int, int] = {}
    for inst, kind in enumerate(network.kinds):
        if kind == "health_bureau":
            continue
        headcount, staffing = _staffing(network, inst)
        codes = [network.department_codes[d] for d in network.department_of[inst] if d >= 0]
        if staffing == "center":
            team_counts[inst] = int(rng.integers(TEAMS_PER_CENTER[0], TEAMS_PER_CENTER[1] + 1))
        low, high = HEADCOUNT[headcount]
        total = int(rng.integers(low, high + 1))
        for profession, code in _posts(rng, staffing, codes, total, team_counts.get(inst, 0)):
            posts.append((inst, profession, code))
            staffings.append(staffing)

    n = len(posts)
    professions = [p for _, p, _ in posts]
    female = rng.random(n) < np.array([FEMALE_SHARE[p] for p in professions])
    age = np.where(
        np.array(staffings) == "village_clinic", rng.uniform(40, 66, n), rng.uniform(24, 60, n)
    )
    names, initials = full_names(rng, draw_surnames(rng, n), ~female, (year - age).astype(int))
    numbers = phones.numbers(PHONE_COUNTER_START + np.arange(n))
    position = {code: p for p, code in enumerate(catalog)}
    rows: list[Practitioner] = []
    dept = np.empty(n, dtype=np.int64)
    for p, (inst, profession, code) in enumerate(posts):
        title = _title(rng, staffings[p], profession)
        dept[p] = network.department_of[inst, position[code]]
        rows.append(
            Practitioner(
                id=one_uuid7(rng, base_ms),
                name=names[p],
                name_initials=initials[p],
                sex="female" if female[p] else "male",
                profession=TITLES[title][0],
                title=title,
                specialty="全科医学" if code == GENERAL_PRACTICE else catalog[code]["zh"],
                institution_id=network.ids[inst],
                phone=numbers[p],
                active=True,
            )
        )
    session.add_all(rows)
    session.flush()
    session.add_all(
        PractitionerDepartment(practitioner_id=r.id, department_id=network.department_ids[d])
        for r, d in zip(rows, dept.tolist(), strict=True)
    )
    teams = _teams(session, rng, network, rows, posts, team_counts, base_ms)
    session.flush()
    clinical = np.isin(professions, ["physician", "public_health"])
    pool, start, size = _pools(network, dept, clinical, [r.id.hex for r in rows])
    return Staff(pool=pool, pool_start=start, pool_size=size, practitioners=n, teams=teams)

"""The county's institutions: bureau, CDC, three medical communities and their members.

Each community is led by a county hospital and holds 6-8 township or community centers; a
village clinic hangs under its town's center (``parent_id``) and belongs to the same community.
Two private hospitals stand outside every community.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from yigongti.registry.codes import INSTITUTION_KINDS, department_catalog
from yigongti.registry.models import Department, Institution, MedicalCommunity
from yigongti.synth.ids import one_uuid7
from yigongti.synth.places import Places

# The digit after the county code in an institution code, by kind.
KIND_DIGIT = {kind: str(n) for n, kind in enumerate(INSTITUTION_KINDS, start=1)}

PRIMARY_DEPARTMENTS = ("01", "02", "03", "05", "07", "12", "30", "32", "50")
ALL_DEPARTMENTS = tuple(department_catalog())

# (lead hospital, its extra county-level member or None, departments of that member)
COMMUNITIES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("人民医院", "妇幼保健院", ("01", "02", "05", "07", "12", "20", "30", "32")),
    ("中医院", None, ()),
    ("第二人民医院", "康复医院", ("02", "03", "04", "21", "30", "32", "50")),
)
PRIVATE = (
    ("康华医院", ("03", "04", "05", "10", "11", "12", "13", "20", "21", "30", "32", "50")),
    ("仁和医院", ("03", "04", "05", "10", "12", "13", "20", "21", "30", "32")),
)
CDC_DEPARTMENTS = ("01", "30")

# Share of villages (urban communities have none) with a clinic, so that about 60% of all
# villages and communities have one; township centers that run an inpatient ward (the model
# county reports 9).
CLINIC_SHARE = 0.75
TOWNSHIP_WARDS = 9


@dataclass(frozen=True)
class Network:
    """Institutions and departments as written, indexed for the stages that follow."""

    ids: list[uuid.UUID]
    kinds: list[str]
    community: np.ndarray  # community index, -1 outside every community
    has_ward: np.ndarray  # runs an inpatient ward
    town_center: np.ndarray  # per town: index of its center
    village_clinic: np.ndarray  # per village: index of its clinic, -1 if none
    community_ids: list[uuid.UUID]
    community_hospitals: list[list[int]]  # per community: county hospitals, lead first
    private: list[int]
    department_ids: list[uuid.UUID]
    department_codes: list[str]
    department_institution: np.ndarray  # institution index of each department
    department_of: np.ndarray  # (institution, catalog position) -> department index or -1


class _Builder:
    """Adds institutions and their departments to the session, keeping the indexes."""

    def __init__(self, session: Session, rng: np.random.Generator, county: str, ms: int) -> None:
        self.session, self.rng, self.county, self.ms = session, rng, county, ms
        self.rows: list[Institution] = []
        self.dept_rows: list[Department] = []
        self.sequence = dict.fromkeys(KIND_DIGIT, 0)

    def add(self, kind: str, name: str, departments: tuple[str, ...], **place: object) -> int:
        self.sequence[kind] += 1
        inst = Institution(
            id=one_uuid7(self.rng, self.ms),
            code=f"{self.county}{KIND_DIGIT[kind]}{self.sequence[kind]:04d}",
            name=name,
            kind=kind,
            tier=INSTITUTION_KINDS[kind][0],
            county_code=self.county,
            ownership="private" if kind == "private_hospital" else "public",
            active=True,
            **place,
        )
        self.session.add(inst)
        catalog = department_catalog()
        for code in departments:
            dept = Department(
                id=one_uuid7(self.rng, self.ms),
                institution_id=inst.id,
                code=code,
                name=catalog[code]["zh"],
            )
            self.dept_rows.append(dept)
            self.session.add(dept)
        self.rows.append(inst)
        return len(self.rows) - 1


def _assign_towns(rng: np.random.Generator, n_towns: int) -> np.ndarray:
    """Community of each town: a shuffled round robin, so each gets 6-8 towns of mixed kinds."""
    order = rng.permutation(n_towns)
    community = np.empty(n_towns, dtype=np.int32)
    community[order] = np.arange(n_towns) % len(COMMUNITIES)
    return community


def build_network(
    session: Session,
    rng: np.random.Generator,
    places: Places,
    county_code: str,
    county_name: str,
    base_ms: int,
) -> Network:
    """Create communities, institutions and departments in ``session`` (flushed)."""
    b = _Builder(session, rng, county_code, base_ms)
    short = county_name[:-1] if len(county_name) > 2 else county_name
    communities = []
    for n, (lead, _, _) in enumerate(COMMUNITIES, start=1):
        community = MedicalCommunity(
            id=one_uuid7(rng, base_ms),
            code=f"{county_code}YGT{n:02d}",
            name=f"{county_name}{lead}医共体",
            county_code=county_code,
        )
        session.add(community)
        communities.append(community)
    session.flush()

    b.add("health_bureau", f"{county_name}卫生健康局", ())
    b.add("cdc", f"{county_name}疾病预防控制中心", CDC_DEPARTMENTS)
    hospitals: list[list[int]] = []
    for community, (lead, extra, extra_depts) in zip(communities, COMMUNITIES, strict=True):
        members = [
            b.add(
                "county_hospital",
                f"{county_name}{lead}",
                ALL_DEPARTMENTS,
                community_id=community.id,
            )
        ]
        if extra:
            members.append(
                b.add(
                    "county_hospital",
                    f"{county_name}{extra}",
                    extra_depts,
                    community_id=community.id,
                )
            )
        hospitals.append(members)
    private = [b.add("private_hospital", f"{short}{name}", depts) for name, depts in PRIVATE]

    town_community = _assign_towns(rng, len(places.town_ids))
    centers = []
    for t, (town_id, town_name, kind) in enumerate(
        zip(places.town_ids, places.town_names, places.town_kinds, strict=True)
    ):
        center_kind = "community_center" if kind == "subdistrict" else "township_center"
        suffix = "社区卫生服务中心" if kind == "subdistrict" else "卫生院"
        centers.append(
            b.add(
                center_kind,
                f"{county_name}{town_name}{suffix}",
                PRIMARY_DEPARTMENTS,
                town_id=town_id,
                community_id=communities[town_community[t]].id,
            )
        )
    session.flush()  # centers exist before the clinics that name them as parent

    clinics = np.full(len(places.village_ids), -1, dtype=np.int32)
    for v, village_id in enumerate(places.village_ids):
        if places.village_is_community[v] or rng.random() >= CLINIC_SHARE:
            continue
        t = int(places.village_town[v])
        center = b.rows[centers[t]]
        clinics[v] = b.add(
            "village_clinic",
            f"{places.town_names[t]}{places.village_names[v]}卫生室",
            ("02",),
            town_id=places.town_ids[t],
            village_id=village_id,
            community_id=center.community_id,
            parent_id=center.id,
        )
    for community, members in zip(communities, hospitals, strict=True):
        community.lead_institution_id = b.rows[members[0]].id
    session.flush()

    n = len(b.rows)
    community_index = {c.id: i for i, c in enumerate(communities)}
    has_ward = np.array([r.kind in ("county_hospital", "private_hospital") for r in b.rows])
    rural = [c for c, kind in zip(centers, places.town_kinds, strict=True) if kind != "subdistrict"]
    has_ward[rng.choice(rural, size=min(TOWNSHIP_WARDS, len(rural)), replace=False)] = True

    inst_index = {r.id: i for i, r in enumerate(b.rows)}
    position = {code: p for p, code in enumerate(ALL_DEPARTMENTS)}
    department_of = np.full((n, len(ALL_DEPARTMENTS)), -1, dtype=np.int32)
    for d, dept in enumerate(b.dept_rows):
        department_of[inst_index[dept.institution_id], position[dept.code]] = d
    return Network(
        ids=[r.id for r in b.rows],
        kinds=[r.kind for r in b.rows],
        community=np.array(
            [community_index.get(r.community_id, -1) for r in b.rows], dtype=np.int32
        ),
        has_ward=has_ward,
        town_center=np.array(centers, dtype=np.int32),
        village_clinic=clinics,
        community_ids=[c.id for c in communities],
        community_hospitals=hospitals,
        private=private,
        department_ids=[d.id for d in b.dept_rows],
        department_codes=[d.code for d in b.dept_rows],
        department_institution=np.array(
            [inst_index[d.institution_id] for d in b.dept_rows], dtype=np.int32
        ),
        department_of=department_of,
    )

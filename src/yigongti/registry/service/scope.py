"""Which residents an actor may see: the scope rules of every role, in one place.

Domains that bring their own reasons to see a resident (a patient treated here, a referral
received) register a *patient source*; the scope is the union of the area and those sources.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session

from yigongti.db.bulk import among
from yigongti.kernel import DomainError, Forbidden, NotFound
from yigongti.registry.models import Guardianship, Institution, MedicalCommunity, Resident, Village
from yigongti.security import Actor, roles

PatientSource = Callable[[Actor], Select[tuple[uuid.UUID]] | None]
_patient_sources: list[PatientSource] = []
MIN_REASON = 4


def register_patient_source(source: PatientSource) -> None:
    """Let a domain widen an actor's scope with residents it serves (e.g. treated here)."""
    if source not in _patient_sources:
        _patient_sources.append(source)


def area_village_ids(session: Session, institution_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """The villages an institution serves, by tier.

    Village clinic: its village. Township or community center: its town. County-level member
    of a medical community: every town whose center belongs to that community. An institution
    outside any community (private hospital, CDC, bureau) has no area of its own.
    """
    inst = session.get(Institution, institution_id)
    if inst is None:
        return select(Village.id).where(false())
    if inst.kind == "village_clinic" and inst.village_id:
        return select(Village.id).where(Village.id == inst.village_id)
    if inst.tier == "township" and inst.town_id:
        return select(Village.id).where(Village.town_id == inst.town_id)
    if inst.tier == "county" and inst.community_id:
        towns = select(Institution.town_id).where(
            Institution.community_id == inst.community_id,
            Institution.tier == "township",
            Institution.town_id.is_not(None),
        )
        return select(Village.id).where(Village.town_id.in_(towns))
    return select(Village.id).where(false())


def resident_filter(
    session: Session, actor: Actor, reason: str | None = None
) -> ColumnElement[bool]:
    """A condition on ``Resident`` that keeps only those the actor may see.

    Bureau roles see records only with a stated reason (it is audited with every read).
    """
    actor.require(roles.RESIDENT_READ)
    scope = actor.role_def.scope
    if scope == roles.COUNTY:
        return true()
    if scope == roles.WITH_REASON:
        if not reason or len(reason.strip()) < MIN_REASON:
            raise Forbidden(
                en="Bureau roles see personal records only with a stated reason "
                f"(at least {MIN_REASON} characters); it is recorded in the audit log",
                zh=f"卫健局角色查看个人档案须填写事由（至少{MIN_REASON}个字），事由将记入审计日志",
            )
        return true()
    if scope == roles.SELF:
        if actor.resident_id is None:
            return false()
        wards = select(Guardianship.ward_id).where(Guardianship.guardian_id == actor.resident_id)
        return or_(Resident.id == actor.resident_id, Resident.id.in_(wards))
    if scope == roles.AREA and actor.institution_id is not None:
        clauses = [
            Resident.residence_village_id.in_(area_village_ids(session, actor.institution_id))
        ]
        for source in _patient_sources:
            ids = source(actor)
            if ids is not None:
                clauses.append(Resident.id.in_(ids))
        return or_(*clauses)
    return false()


def in_resident_scope(
    session: Session, actor: Actor, column: ColumnElement[uuid.UUID], reason: str | None = None
) -> ColumnElement[bool]:
    """A condition keeping rows whose resident column (e.g. ``Observation.resident_id``) names a
    resident the actor may see; for county-wide roles it costs nothing.
    """
    condition = resident_filter(session, actor, reason)
    if actor.role_def.scope in (roles.COUNTY, roles.WITH_REASON):
        return condition
    return column.in_(select(Resident.id).where(condition))


def visible_resident_ids(
    session: Session, actor: Actor, reason: str | None = None
) -> Select[tuple[uuid.UUID]]:
    """A subquery of the ids of every resident the actor may see (for other domains' filters)."""
    return select(Resident.id).where(resident_filter(session, actor, reason))


_IN_SCOPE = "registry_residents_in_scope"


@contextmanager
def residents_in_scope(
    session: Session, actor: Actor, resident_ids: Iterable[uuid.UUID], reason: str | None = None
) -> Iterator[None]:
    """Within the block, ``visible_resident_id`` (and ``visible_resident``) answer for these
    residents from one query.

    For batches (bulk import): the same scope rule, asked once for many residents instead of
    once per record. Only their ids are read: a check that needs no more than the id loads
    nothing. Residents outside the scope are looked up as usual (and not found).
    """
    wanted = set(resident_ids)
    found: set[uuid.UUID] = set()
    try:
        if wanted:
            condition = resident_filter(session, actor, reason)
            found = set(
                session.scalars(
                    select(Resident.id).where(among(session, Resident.id, wanted), condition)
                )
            )
    except DomainError:
        found = set()  # each record then meets the refusal on its own
    session.info[_IN_SCOPE] = ((actor, reason), found)
    try:
        yield
    finally:
        session.info.pop(_IN_SCOPE, None)


def _known_in_scope(
    session: Session, actor: Actor, resident_id: uuid.UUID, reason: str | None
) -> bool:
    """Whether the enclosing ``residents_in_scope`` found this resident in the actor's scope."""
    known = session.info.get(_IN_SCOPE)
    return known is not None and known[0] == (actor, reason) and resident_id in known[1]


def visible_resident_id(
    session: Session, actor: Actor, resident_id: uuid.UUID, reason: str | None = None
) -> uuid.UUID:
    """The resident's id, if the actor may see him; otherwise ``NotFound`` (as
    :func:`visible_resident`). Inside :func:`residents_in_scope` answered without a query."""
    if _known_in_scope(session, actor, resident_id, reason):
        return resident_id
    return visible_resident(session, actor, resident_id, reason).id


def visible_resident(
    session: Session,
    actor: Actor,
    resident_id: uuid.UUID,
    reason: str | None = None,
    *,
    lock: bool = False,
) -> Resident:
    """The resident, if the actor may see him; otherwise ``NotFound`` (no hint he exists).

    With ``lock``, his row is also held until commit (as :func:`lock_resident` does) in the
    same statement, so his own concurrent requests run one by one. Inside
    :func:`residents_in_scope` an unlocked look-up of a resident found in scope there is read
    by his id alone.
    """
    if not lock and _known_in_scope(session, actor, resident_id, reason):
        resident = session.get(Resident, resident_id)
        if resident is not None:
            return resident
    query = select(Resident).where(
        Resident.id == resident_id, resident_filter(session, actor, reason)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Resident)
    resident = session.scalar(query)
    if resident is None:
        raise NotFound(en="No such resident in your scope", zh="您的权限范围内无此居民")
    return resident


def community_of(session: Session, institution_id: uuid.UUID) -> MedicalCommunity | None:
    """The medical community an institution belongs to, if any."""
    inst = session.get(Institution, institution_id)
    return session.get(MedicalCommunity, inst.community_id) if inst and inst.community_id else None

"""Linking incoming records to residents: one record now (FHIR create, ``$match``), or an
institution's whole backlog in batches with progress.

A valid ID number of a resident links at once, unless the name or birth date conflicts badly:
then the number is not trusted and the record is scored without it, and at worst a clerk
decides. Otherwise the trained model scores the candidates blocking found: at or above the
link threshold the best links, from the review threshold a clerk decides, below it the record
becomes a new resident. A clerk's earlier decision on a re-sent record is never overridden.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yigongti import registry
from yigongti.db import unit_of_work
from yigongti.db.bulk import insert_rows
from yigongti.interop.empi.features import Features, Gazetteer
from yigongti.interop.empi.model import Score
from yigongti.interop.empi.models import LinkChange, Review, SourceRecord
from yigongti.interop.empi.service.records import (
    Candidate,
    LinkOutcome,
    PatientRecord,
    blocking_keys,
    checked_record,
    gazetteer,
    ranked,
    record_features,
    row_features,
    scored_candidates,
    without_id,
)
from yigongti.interop.empi.thresholds import Thresholds, id_conflict, valid_id_number
from yigongti.kernel import DomainError, Forbidden, Invalid, NotFound, invalid_field, now, uuid7
from yigongti.registry.models import Resident
from yigongti.security import Actor, audit, roles
from yigongti.settings import get_settings

HUMAN_METHODS = ("review", "manual")
BATCH = 200


def thresholds() -> Thresholds:
    """The configured thresholds (settings ``empi_link_threshold``, ``empi_review_threshold``)."""
    settings = get_settings()
    return Thresholds(link=settings.empi_link_threshold, review=settings.empi_review_threshold)


def link_record(session: Session, actor: Actor, record: PatientRecord) -> LinkOutcome:
    """Store an institution's record (re-sending an MRN updates it) and link it to a resident.

    An ID number that fails GB 11643 is refused (``Invalid`` naming the position) and nothing
    is written.
    """
    actor.require(roles.EMPI_LINK)
    _sends_for(actor, record.institution_id)
    record = checked_record(record, strict_id=True)
    registry.get_institution(session, record.institution_id)
    source = _upsert(session, record)
    return _link(session, actor, source, gazetteer(session))


def link_records(
    session: Session, actor: Actor, records: list[PatientRecord]
) -> list[LinkOutcome | DomainError]:
    """Many records at once (bulk import), each stored and linked as ``link_record`` would, in
    order: per record its outcome or the error that refused it, nothing written for a refused
    one.

    Blocking is one query per batch (``registry.CandidateIndex``); residents the batch
    registers are candidates of the records after them; the rows are written together at the
    end. Records re-sent under a medical-record number already held (or sent twice in the
    batch) update their source record: such a batch takes the single path, one record at a
    time.
    """
    actor.require(roles.EMPI_LINK)
    checked: list[PatientRecord | DomainError] = []
    for record in records:
        try:
            _sends_for(actor, record.institution_id)
            good = checked_record(record, strict_id=True)
            registry.get_institution(session, good.institution_id)
            checked.append(good)
        except DomainError as error:
            checked.append(error)
    if _resends(session, [c for c in checked if isinstance(c, PatientRecord)]):
        return [
            c if isinstance(c, DomainError) else _one_by_one(session, actor, c) for c in checked
        ]
    places = _Places(session, gazetteer(session))
    sources = {
        i: SourceRecord(id=uuid7(), **_fields(c))
        for i, c in enumerate(checked)
        if isinstance(c, PatientRecord)
    }
    features = {i: record_features(source, places.gazetteer) for i, source in sources.items()}
    # A record's keys without its ID number are among its keys with it: one set covers both.
    index = registry.CandidateIndex.of(session, [blocking_keys(f) for f in features.values()])
    names = {i: (t, v) for (t, v), i in places.by_name.items()}
    numbers = {s.id_number for s in sources.values() if valid_id_number(s.id_number)}
    taken = set(session.scalars(select(Resident.id_number).where(Resident.id_number.in_(numbers))))
    compared: dict[uuid.UUID, Features] = {}

    def candidates(wanted: Features, use_id: bool) -> Ranked:
        wanted = wanted if use_id else without_id(wanted)
        found = index.matching(blocking_keys(wanted))
        for row in found:
            if row.id not in compared:
                compared[row.id] = row_features(row, names)
        return ranked(wanted, [(row, compared[row.id]) for row in found])  # type: ignore[misc]

    out: list[LinkOutcome | DomainError] = list(checked)  # type: ignore[arg-type]
    residents: list[Resident] = []
    linked: list[SourceRecord] = []
    rows: list[object] = []
    for i, source in sources.items():
        decided = _decide(source, features[i], candidates)
        resident_id = decided.resident_id
        if decided.decision == "new":
            try:
                registrar, new = _new_resident(session, actor, source, places)
                with audit.provisional(session):
                    resident = registry.prepared_resident(session, registrar, new, taken)
            except Invalid as error:
                out[i] = _unregistrable(error)
                continue
            except DomainError as error:
                out[i] = error
                continue
            residents.append(resident)
            index.add(_candidate_row(resident))
            resident_id = resident.id
        linked.append(source)
        if decided.decision == "review":
            review = Review(id=uuid7(), source_record_id=source.id, status="open")
            _fill_review(review, source, decided.best, decided.method)
            rows.append(review)
            out[i] = _audit_review(session, actor, source, review, decided.best)
            continue
        assert resident_id is not None
        score = decided.score
        source.match_probability = score.probability if score else None
        source.match_weight = score.match_weight if score else None
        why = _why(decided.method, source.match_probability)
        rows.append(_link_change(actor, source, resident_id, decided.method, why))
        _audit_link(session, actor, source, decided.method, why)
        outcome = "new" if decided.method == "new" else "linked"
        out[i] = LinkOutcome(
            source.id, resident_id, outcome, decided.method, source.match_probability
        )
    insert_rows(session, residents)
    insert_rows(session, linked)
    insert_rows(session, rows)
    return out


def _resends(session: Session, records: list[PatientRecord]) -> bool:
    """Whether any record re-sends a medical-record number held already or twice in the batch."""
    keys = [(r.institution_id, r.mrn) for r in records if r.mrn is not None]
    if len(set(keys)) != len(keys):
        return True
    if not keys:
        return False
    held = session.execute(
        select(SourceRecord.institution_id, SourceRecord.mrn).where(
            SourceRecord.mrn.in_({m for _, m in keys})
        )
    )
    return bool(set(keys) & {(i, m) for i, m in held})


def _one_by_one(session: Session, actor: Actor, record: PatientRecord) -> LinkOutcome | DomainError:
    """``link_record`` in a savepoint: a refused record leaves nothing behind."""
    try:
        with session.begin_nested(), audit.provisional(session):
            return link_record(session, actor, record)
    except DomainError as error:
        return error


def _candidate_row(resident: Resident) -> registry.CandidateRow:
    return registry.CandidateRow(
        id=resident.id,
        name=resident.name,
        sex=resident.sex,
        birth_date=resident.birth_date,
        id_number=resident.id_number,
        phone=resident.phone,
        name_initials=resident.name_initials,
        residence_village_id=resident.residence_village_id,
    )


def stage_records(session: Session, actor: Actor, records: Iterable[PatientRecord]) -> int:
    """Store a backlog of records as sent, unlinked, for ``link_backlog``; returns how many.

    ID numbers are kept as typed, even when they fail GB 11643: the linker treats them as
    noisy data.
    """
    actor.require(roles.EMPI_LINK)
    count = 0
    for record in records:
        _sends_for(actor, record.institution_id)
        checked = checked_record(record, strict_id=False)
        registry.get_institution(session, checked.institution_id)
        _upsert(session, checked)
        count += 1
    audit.record(session, actor, "stage", "empi_source_record", detail=f"records={count}")
    return count


def _sends_for(actor: Actor, institution_id: uuid.UUID) -> None:
    """An institution's account sends that institution's records; county-wide roles any."""
    if actor.role_def.scope == roles.COUNTY:
        return
    if actor.institution_id is not None and institution_id != actor.institution_id:
        raise Forbidden(
            en="An institution's account sends its own institution's patient records only",
            zh="机构账号只能提交本机构的患者记录",
        )


def match_candidates(
    session: Session, actor: Actor, record: PatientRecord, *, limit: int = 10
) -> list[Candidate]:
    """The residents most likely to be the record's person, best first (FHIR ``$match``)."""
    actor.require(roles.EMPI_LINK)
    record = checked_record(record, strict_id=True)
    source = SourceRecord(**_fields(record))
    scored = scored_candidates(session, record_features(source, gazetteer(session)))
    found = [
        Candidate(r.id, s.probability, s.match_weight, s.agreements)
        for r, s in scored[: max(1, min(limit, 50))]
    ]
    for candidate in found:
        audit.record(
            session,
            actor,
            "match",
            "resident",
            candidate.resident_id,
            person_id=candidate.resident_id,
            detail=f"p={candidate.probability:.4f}",
        )
    return found


def identifiers_of(session: Session, resident_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """(institution, medical-record number) of every record linked to the resident."""
    rows = session.execute(
        select(SourceRecord.institution_id, SourceRecord.mrn)
        .where(SourceRecord.resident_id == resident_id, SourceRecord.mrn.is_not(None))
        .order_by(SourceRecord.received_at)
    )
    return [(i, m) for i, m in rows]


def resident_by_mrn(session: Session, institution_id: uuid.UUID, mrn: str) -> uuid.UUID | None:
    """The resident an institution's medical-record number is linked to, if any.

    No scope check or audit: the caller reads the resident through the registry, which does.
    """
    return session.scalar(
        select(SourceRecord.resident_id).where(
            SourceRecord.institution_id == institution_id, SourceRecord.mrn == mrn
        )
    )


@dataclass(frozen=True)
class BacklogReport:
    """What a backlog run did."""

    total: int
    linked: int
    review: int
    new: int


def link_backlog(
    engine: Engine,
    actor: Actor,
    institution_id: uuid.UUID,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> BacklogReport:
    """Link every waiting record of an institution, a batch per transaction.

    ``progress(done, total)`` is called after each batch; a failure keeps what earlier batches
    linked, and a new run continues with what is still waiting.
    """
    actor.require(roles.EMPI_LINK)
    waiting = (
        select(SourceRecord.id)
        .where(
            SourceRecord.institution_id == institution_id,
            SourceRecord.resident_id.is_(None),
            SourceRecord.link_method.is_(None),
            ~select(Review.id)
            .where(Review.source_record_id == SourceRecord.id, Review.status == "open")
            .exists(),
        )
        .order_by(SourceRecord.id)
    )
    with unit_of_work(engine) as session:
        ids = list(session.scalars(waiting))
    counts = {"linked": 0, "review": 0, "new": 0}
    progress(0, len(ids))
    for start in range(0, len(ids), BATCH):
        with unit_of_work(engine) as session:
            places = gazetteer(session)
            for source_id in ids[start : start + BATCH]:
                source = session.get(SourceRecord, source_id)
                assert source is not None
                outcome = _link(session, actor, source, places)
                counts[outcome.decision] += 1
        progress(min(start + BATCH, len(ids)), len(ids))
    return BacklogReport(len(ids), counts["linked"], counts["review"], counts["new"])


def waiting_count(session: Session, institution_id: uuid.UUID) -> int:
    """How many records of the institution wait for linkage."""
    return (
        session.scalar(
            select(func.count())
            .select_from(SourceRecord)
            .where(
                SourceRecord.institution_id == institution_id,
                SourceRecord.resident_id.is_(None),
                SourceRecord.link_method.is_(None),
            )
        )
        or 0
    )


def _fields(record: PatientRecord) -> dict[str, object]:
    return {
        "institution_id": record.institution_id,
        "mrn": record.mrn,
        "name": record.name,
        "sex": record.sex,
        "birth_date": record.birth_date,
        "id_number": record.id_number,
        "phone": record.phone,
        "address": record.address,
    }


def _upsert(session: Session, record: PatientRecord) -> SourceRecord:
    source = None
    if record.mrn is not None:
        source = session.scalar(
            select(SourceRecord).where(
                SourceRecord.institution_id == record.institution_id,
                SourceRecord.mrn == record.mrn,
            )
        )
    if source is None:
        source = SourceRecord(**_fields(record))
        session.add(source)
    else:
        for key, value in _fields(record).items():
            setattr(source, key, value)
        source.received_at = now()
    session.flush()
    return source


class _Person(Protocol):
    """A candidate as the decision reads him: a resident row or a batch's candidate row."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def id_number(self) -> str | None: ...


Ranked = list[tuple[_Person, Score]]


@dataclass(frozen=True)
class _Decision:
    """What to do with a record: link (``resident_id``), send to review, or register new."""

    decision: str  # linked | review | new
    method: str  # linked: id_number | probabilistic; review: its reason; new: new
    resident_id: uuid.UUID | None
    score: Score | None  # the score a link or a new resident is recorded with
    best: tuple[_Person, Score] | None


def _decide(
    source: SourceRecord, features: Features, candidates: Callable[[Features, bool], Ranked]
) -> _Decision:
    """The decision for a record, given its scored candidates (``candidates(features, use_id)``).

    Writes nothing: the single path and the batch path apply it each in their own way.
    """
    conflict = False
    with_id: Ranked | None = None
    if valid_id_number(source.id_number):
        with_id = candidates(features, True)
        held = next(((p, s) for p, s in with_id if p.id_number == source.id_number), None)
        if held is not None:
            if not id_conflict(held[1]):
                return _Decision("linked", "id_number", held[0].id, held[1], None)
            conflict = True
    scored = with_id if with_id is not None and not conflict else candidates(features, not conflict)
    best = scored[0] if scored else None
    decision = thresholds().decide(best[1].probability if best else None, conflict)
    if decision == "linked" and best is not None:
        return _Decision("linked", "probabilistic", best[0].id, best[1], best)
    if decision == "review" or not _registrable(source):
        return _Decision("review", "id_conflict" if conflict else "score", None, None, best)
    return _Decision("new", "new", None, best[1] if best else None, best)


def _link(session: Session, actor: Actor, source: SourceRecord, places: Gazetteer) -> LinkOutcome:
    if source.resident_id is not None and source.link_method in HUMAN_METHODS:
        return LinkOutcome(source.id, source.resident_id, "linked", source.link_method, None)
    decided = _decide(
        source,
        record_features(source, places),
        lambda features, use_id: scored_candidates(session, features, use_id=use_id),  # type: ignore[arg-type,return-value]
    )
    if decided.decision == "linked":
        assert decided.resident_id is not None
        return _set_link(session, actor, source, decided.resident_id, decided.method, decided.score)
    if decided.decision == "review":
        return _open_review(session, actor, source, decided.best, decided.method)
    resident_id = register_from(session, actor, source, places)
    return _set_link(session, actor, source, resident_id, "new", decided.score)


def set_link(
    session: Session,
    actor: Actor,
    source: SourceRecord,
    resident_id: uuid.UUID | None,
    method: str,
    why: str,
    merge_id: uuid.UUID | None = None,
) -> None:
    """Point a source record at a resident, with a link-history row and an audit entry."""
    session.add(_link_change(actor, source, resident_id, method, why, merge_id))
    session.flush()
    _audit_link(session, actor, source, method, why)


def _link_change(
    actor: Actor,
    source: SourceRecord,
    resident_id: uuid.UUID | None,
    method: str,
    why: str,
    merge_id: uuid.UUID | None = None,
) -> LinkChange:
    """The link-history row of pointing ``source`` at a resident (unsaved); the source points
    there now."""
    change = LinkChange(
        source_record_id=source.id,
        from_resident_id=source.resident_id,
        to_resident_id=resident_id,
        method=method,
        why=why[:200],
        merge_id=merge_id,
        changed_by=actor.username,
    )
    source.resident_id = resident_id
    source.link_method = method
    return change


def _audit_link(
    session: Session, actor: Actor, source: SourceRecord, method: str, why: str
) -> None:
    audit.record(
        session,
        actor,
        "link",
        "empi_source_record",
        source.id,
        person_id=source.resident_id,
        detail=f"method={method} why={why[:80]}",
    )


def _set_link(
    session: Session,
    actor: Actor,
    source: SourceRecord,
    resident_id: uuid.UUID,
    method: str,
    score: Score | None,
) -> LinkOutcome:
    probability = score.probability if score else None
    source.match_probability = probability
    source.match_weight = score.match_weight if score else None
    if source.resident_id != resident_id or source.link_method != method:
        set_link(session, actor, source, resident_id, method, _why(method, probability))
    else:  # a re-sent record that still points where it did: the update is audited all the same
        audit.record(
            session,
            actor,
            "update",
            "empi_source_record",
            source.id,
            person_id=resident_id,
            detail=f"method={method} unchanged",
        )
    decision = "new" if method == "new" else "linked"
    return LinkOutcome(source.id, resident_id, decision, method, probability)


def _why(method: str, probability: float | None) -> str:
    return "new resident" if method == "new" else f"{method} p={probability or 0:.4f}"


def _open_review(
    session: Session,
    actor: Actor,
    source: SourceRecord,
    best: tuple[_Person, Score] | None,
    reason: str,
) -> LinkOutcome:
    if source.resident_id is not None:
        set_link(session, actor, source, None, "review", f"sent to review ({reason})")
    source.link_method = None
    open_review = session.scalar(
        select(Review).where(Review.source_record_id == source.id, Review.status == "open")
    )
    if open_review is None:
        open_review = Review(source_record_id=source.id, status="open")
        session.add(open_review)
    _fill_review(open_review, source, best, reason)
    session.flush()
    return _audit_review(session, actor, source, open_review, best)


def _fill_review(
    review: Review, source: SourceRecord, best: tuple[_Person, Score] | None, reason: str
) -> None:
    review.candidate_id = best[0].id if best else None
    review.probability = best[1].probability if best else 0.0
    review.match_weight = best[1].match_weight if best else 0.0
    review.reason = reason if _registrable(source) else "incomplete"


def _audit_review(
    session: Session,
    actor: Actor,
    source: SourceRecord,
    review: Review,
    best: tuple[_Person, Score] | None,
) -> LinkOutcome:
    probability = review.probability
    audit.record(
        session,
        actor,
        "review",
        "empi_source_record",
        source.id,
        person_id=best[0].id if best else None,
        detail=f"reason={review.reason} p={probability:.4f}",
    )
    return LinkOutcome(source.id, None, "review", "probabilistic", probability)


def _registrable(source: SourceRecord) -> bool:
    has_id = valid_id_number(source.id_number)
    return has_id or (source.sex is not None and source.birth_date is not None)


def register_from(
    session: Session, actor: Actor, source: SourceRecord, places: Gazetteer
) -> uuid.UUID:
    """Register the record's person as a new resident through the registry's face.

    The village is the one the address names, else one of the sending institution's area.
    The index registers on the institution's behalf, so linking implies ``resident:write``.
    """
    registrar, new = _new_resident(session, actor, source, _Places(session, places))
    try:
        view = registry.register_resident(session, registrar, new)
    except Invalid as error:
        raise _unregistrable(error) from error
    return view.id


def _new_resident(
    session: Session, actor: Actor, source: SourceRecord, places: _Places
) -> tuple[Actor, registry.NewResident]:
    """Who registers the record's person (the actor, with ``resident:write``) and as what."""
    village_id = _village_of(session, actor, source, places)
    number = source.id_number if valid_id_number(source.id_number) else None
    phone = source.phone if source.phone and registry_phone(source.phone) else None
    registrar = replace(actor, extra_permissions=actor.extra_permissions | {roles.RESIDENT_WRITE})
    return registrar, registry.NewResident(
        name=source.name,
        id_number=number,
        residence_village_id=village_id,
        sex=None if number else source.sex,
        birth_date=None if number else source.birth_date,
        phone=phone,
    )


def _unregistrable(error: Invalid) -> Invalid:
    return invalid_field(
        error.fields[0].field if error.fields else "record",
        f"The record cannot become a new resident: {error.en}",
        f"该记录无法建立新居民档案：{error.zh}",
    )


def registry_phone(phone: str) -> bool:
    """Whether the registry accepts the phone (an 11-digit mobile number)."""
    return len(phone) == 11 and phone.isdigit() and phone[0] == "1" and phone[1] in "3456789"


class _Places:
    """The gazetteer, the county's villages by (town, village) name and each institution's
    area, asked once however many records are registered."""

    def __init__(self, session: Session, gazetteer: Gazetteer) -> None:
        self.session = session
        self.gazetteer = gazetteer
        self._by_name: dict[tuple[str, str], uuid.UUID] | None = None
        self._areas: dict[uuid.UUID, list[uuid.UUID]] = {}

    @property
    def by_name(self) -> dict[tuple[str, str], uuid.UUID]:
        """Every village's id by (town name, village name), in code order."""
        if self._by_name is None:
            self._by_name = {(t, v): i for t, v, i in registry.county_places(self.session)}
        return self._by_name

    def area(self, institution_id: uuid.UUID) -> list[uuid.UUID]:
        """The villages an institution serves."""
        if institution_id not in self._areas:
            self._areas[institution_id] = list(
                self.session.scalars(registry.area_village_ids(self.session, institution_id))
            )
        return self._areas[institution_id]


def _village_of(session: Session, actor: Actor, source: SourceRecord, places: _Places) -> uuid.UUID:
    town, village = places.gazetteer.place_of(source.address)
    by_name = places.by_name
    area = places.area(source.institution_id)
    named = by_name.get((town, village)) if village else None
    restricted = actor.role_def.scope == roles.AREA and area
    if named is not None and (not restricted or named in area):
        return named
    if area:
        institution = registry.get_institution(session, source.institution_id)
        return institution.village_id if institution.village_id in area else area[0]
    if named is not None:
        return named
    if by_name:
        return next(iter(by_name.values()))
    raise NotFound(
        en="The county has no villages to register a resident in", zh="本县尚无村（社区）"
    )

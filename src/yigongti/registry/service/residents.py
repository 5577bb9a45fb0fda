"""Use cases of the resident master index: search, read, register, update, household.

Every read of a person is audited; ID numbers and phones leave this module masked unless the
actor holds ``resident:reveal`` and asked for them, and that reveal is audited too.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from yigongti.db import page
from yigongti.kernel import (
    Conflict,
    DomainError,
    NotFound,
    age_on,
    invalid_field,
    mask_id_number,
    mask_phone,
    parse_resident_id,
    uuid7,
)
from yigongti.registry.codes import INSURANCE_TYPES, RELATIONS, SEXES
from yigongti.registry.models import Guardianship, Household, Resident, Village
from yigongti.registry.service.names import pinyin_initials
from yigongti.registry.service.scope import area_village_ids, resident_filter, visible_resident
from yigongti.security import Actor, audit, roles

PHONE = re.compile(r"^1[3-9]\d{9}$")
NAME = re.compile(r"^[\u4e00-\u9fff·]{2,20}$|^[A-Za-z][A-Za-z .'-]{1,39}$")
EHEALTH_CARD = re.compile(r"^[0-9A-F]{64}$")
MAX_PAGE = 100
# Identifier systems a resident can be looked up by (see ``resident_by_identifier``).
ID_NUMBER = "id_number"  # 居民身份证号 (GB 11643)
EHEALTH_CARD_NO = "ehealth_card"  # 电子健康卡号, 64 hex digits


@dataclass(frozen=True)
class ResidentView:
    """A resident as shown to an actor: identifiers masked unless revealed."""

    id: uuid.UUID
    name: str
    sex: str
    birth_date: date
    age: int
    id_number: str | None
    phone: str | None
    ehealth_card_no: str | None  # 电子健康卡号, masked like an ID number unless revealed
    revealed: bool
    household_id: uuid.UUID | None
    relation: str
    residence_village_id: uuid.UUID
    residence_village: str
    town: str
    hukou_local: bool
    permanent: bool
    insurance_type: str


def _view(resident: Resident, reveal: bool) -> ResidentView:
    village = resident.residence_village
    return ResidentView(
        id=resident.id,
        name=resident.name,
        sex=resident.sex,
        birth_date=resident.birth_date,
        age=age_on(resident.birth_date, date.today()),
        id_number=resident.id_number if reveal else mask_id_number(resident.id_number),
        phone=resident.phone if reveal else mask_phone(resident.phone),
        ehealth_card_no=(
            resident.ehealth_card_no if reveal else mask_id_number(resident.ehealth_card_no)
        ),
        revealed=reveal,
        household_id=resident.household_id,
        relation=resident.relation,
        residence_village_id=resident.residence_village_id,
        residence_village=village.name,
        town=village.town.name,
        hukou_local=resident.hukou_village_id is not None,
        permanent=resident.permanent,
        insurance_type=resident.insurance_type,
    )


def search_residents(
    session: Session,
    actor: Actor,
    q: str,
    *,
    reason: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, list[ResidentView]]:
    """Residents in the actor's scope whose name, pinyin initials, ID number or phone match.

    Digits search ID numbers (full number, or its last 4+ digits with a name) and phones;
    Latin letters search pinyin initials; Chinese characters search names by prefix.
    """
    term = q.strip().upper()
    if not term:
        raise invalid_field(
            "q",
            "Enter a name, pinyin initials, ID number or phone",
            "请输入姓名、拼音首字母、身份证号或手机号",
        )
    scope = resident_filter(session, actor, reason)
    match = _match(term)
    statement = select(Resident).where(scope, match).order_by(Resident.name, Resident.id)
    total, rows = page(session, statement, min(limit, MAX_PAGE), offset)
    audit.record(
        session,
        actor,
        "search",
        "resident",
        reason=reason,
        detail=f"q={mask_id_number(term) if term.isdigit() else term} hits={total}",
    )
    return total, [_view(r, False) for r in rows]


def _match(term: str):
    # autoescape: a '%' or '_' typed into the search box is a character, not a wildcard.
    if re.fullmatch(r"\d{17}[\dX]|\d{15}", term):
        return Resident.id_number == term
    if EHEALTH_CARD.match(term):
        return Resident.ehealth_card_no == term
    if term.isdigit() and len(term) == 11:
        return Resident.phone == term
    if term.isdigit():
        return or_(
            Resident.id_number.endswith(term, autoescape=True),
            Resident.phone.endswith(term, autoescape=True),
        )
    if term.isascii():
        return Resident.name_initials.startswith(term, autoescape=True)
    return Resident.name.startswith(q_name(term), autoescape=True)


def count_residents(session: Session, actor: Actor) -> int:
    """How many living residents the actor's scope holds; the whole county for aggregate readers.

    A count names nobody, so bureau roles need no reason for it and nothing is audited.
    """
    scope = true() if actor.can(roles.AGGREGATE_READ) else resident_filter(session, actor)
    query = select(func.count()).select_from(Resident).where(scope, Resident.deceased_on.is_(None))
    return session.scalar(query) or 0


def q_name(term: str) -> str:
    """A name term as stored (Chinese names are kept without spaces)."""
    return term.replace(" ", "")


def get_resident(
    session: Session,
    actor: Actor,
    resident_id: uuid.UUID,
    *,
    reveal: bool = False,
    reason: str | None = None,
) -> ResidentView:
    """One resident in the actor's scope; ``reveal`` shows the full ID number and phone."""
    resident = visible_resident(session, actor, resident_id, reason)
    if reveal:
        actor.require(roles.RESIDENT_REVEAL)
    audit.record(
        session,
        actor,
        "reveal" if reveal else "read",
        "resident",
        resident.id,
        person_id=resident.id,
        reason=reason,
    )
    return _view(resident, reveal)


def household_of(
    session: Session, actor: Actor, resident_id: uuid.UUID, *, reason: str | None = None
) -> list[ResidentView]:
    """The members of a resident's household that the actor may see."""
    resident = visible_resident(session, actor, resident_id, reason)
    if resident.household_id is None:
        members = [resident]
    else:
        members = session.scalars(
            select(Resident)
            .where(
                Resident.household_id == resident.household_id,
                resident_filter(session, actor, reason),
            )
            .order_by(Resident.birth_date)
        ).all()
    for member in members:
        audit.record(
            session, actor, "read", "resident", member.id, person_id=member.id, reason=reason
        )
    return [_view(m, False) for m in members]


def wards_of(session: Session, actor: Actor) -> list[ResidentView]:
    """The residents the acting resident is guardian of (for booking on their behalf)."""
    if actor.resident_id is None:
        return []
    wards = session.scalars(
        select(Resident)
        .join(Guardianship, Guardianship.ward_id == Resident.id)
        .where(Guardianship.guardian_id == actor.resident_id)
        .order_by(Resident.birth_date)
    ).all()
    for ward in wards:
        audit.record(session, actor, "read", "resident", ward.id, person_id=ward.id)
    return [_view(w, False) for w in wards]


@dataclass(frozen=True)
class NewResident:
    """What it takes to register a resident."""

    name: str
    id_number: str | None
    residence_village_id: uuid.UUID
    sex: str | None = None
    birth_date: date | None = None
    phone: str | None = None
    hukou_local: bool = True
    permanent: bool = True
    insurance_type: str = "urban_rural"
    household_id: uuid.UUID | None = None
    relation: str = "head"


def register_resident(session: Session, actor: Actor, new: NewResident) -> ResidentView:
    """Register a resident; sex and birth date come from the ID number when it is given."""
    actor.require(roles.RESIDENT_WRITE)
    new = _checked(session, actor, new)
    if new.id_number and session.scalar(
        select(Resident.id).where(Resident.id_number == new.id_number)
    ):
        raise Conflict(
            en="A resident with this ID number is already registered", zh="该身份证号的居民已登记"
        )
    resident = _resident_row(new)
    session.add(resident)
    session.flush()
    session.refresh(resident)
    audit.record(session, actor, "create", "resident", resident.id, person_id=resident.id)
    return _view(resident, False)


def prepared_resident(
    session: Session, actor: Actor, new: NewResident, taken: set[str]
) -> Resident:
    """A resident checked as ``register_resident`` checks him, not yet written (bulk paths).

    ``taken``: the ID numbers already registered among those the caller will register (it
    asked for them in one query); the new resident's number joins it. The row has its id, and
    its ``create`` audit entry is queued: the caller writes the row in the same transaction
    (``db.bulk.insert_rows``) or lets it roll back.
    """
    actor.require(roles.RESIDENT_WRITE)
    new = _checked(session, actor, new)
    if new.id_number and new.id_number in taken:
        raise Conflict(
            en="A resident with this ID number is already registered", zh="该身份证号的居民已登记"
        )
    if new.id_number:
        taken.add(new.id_number)
    resident = _resident_row(new)
    resident.id = uuid7()
    audit.record(session, actor, "create", "resident", resident.id, person_id=resident.id)
    return resident


def register_residents(
    session: Session, actor: Actor, news: list[NewResident]
) -> list[ResidentView | DomainError]:
    """Register many residents at once (bulk import): the checks of ``register_resident`` for
    each (villages and taken ID numbers looked up once), one insert for all that pass, one audit
    row each; per resident the view or the error that refused him (nothing written for him)."""
    actor.require(roles.RESIDENT_WRITE)
    # Held while checking: each village check then finds its row in the session.
    villages = list(
        session.scalars(
            select(Village).where(Village.id.in_({n.residence_village_id for n in news}))
        )
    )
    checked: list[NewResident | DomainError] = []
    for new in news:
        try:
            checked.append(_checked(session, actor, new))
        except DomainError as error:
            checked.append(error)
    numbers = {c.id_number for c in checked if isinstance(c, NewResident) and c.id_number}
    taken = set(session.scalars(select(Resident.id_number).where(Resident.id_number.in_(numbers))))
    rows: list[Resident | DomainError] = []
    for item in checked:
        if isinstance(item, NewResident) and item.id_number in taken:
            item = Conflict(
                en="A resident with this ID number is already registered",
                zh="该身份证号的居民已登记",
            )
        elif isinstance(item, NewResident) and item.id_number:
            taken.add(item.id_number)
        rows.append(item if isinstance(item, DomainError) else _resident_row(item))
    good = [r for r in rows if isinstance(r, Resident)]
    session.add_all(good)
    session.flush()
    for row in good:
        audit.record(session, actor, "create", "resident", row.id, person_id=row.id)
    del villages
    return [r if isinstance(r, DomainError) else _view(r, False) for r in rows]


def _resident_row(new: NewResident) -> Resident:
    return Resident(
        name=new.name,
        name_initials=pinyin_initials(new.name),
        sex=new.sex,
        birth_date=new.birth_date,
        id_number=new.id_number,
        phone=new.phone,
        household_id=new.household_id,
        relation=new.relation,
        residence_village_id=new.residence_village_id,
        hukou_village_id=new.residence_village_id if new.hukou_local else None,
        permanent=new.permanent,
        insurance_type=new.insurance_type,
    )


def _checked(session: Session, actor: Actor, new: NewResident) -> NewResident:
    name = q_name(new.name.strip())
    if not NAME.match(name):
        raise invalid_field(
            "name",
            "Name: 2-20 Chinese characters (or a Latin-script name)",
            "姓名须为2-20个汉字（或拉丁字母姓名）",
        )
    sex, birth = new.sex, new.birth_date
    if new.id_number:
        parsed = parse_resident_id(new.id_number)
        if sex and sex != parsed.sex:
            raise invalid_field(
                "sex",
                f"Sex does not match the ID number (it encodes {parsed.sex})",
                f"性别与身份证号不符（身份证号为{SEXES[parsed.sex][0]}）",
            )
        if birth and birth != parsed.birth_date:
            raise invalid_field(
                "birth_date",
                f"Birth date does not match the ID number ({parsed.birth_date})",
                f"出生日期与身份证号不符（{parsed.birth_date}）",
            )
        new = replace(new, id_number=parsed.number)
        sex, birth = parsed.sex, parsed.birth_date
    if sex not in SEXES:
        raise invalid_field(
            "sex",
            "Sex is 'male' or 'female' (required without an ID number)",
            "性别须为 male 或 female（无身份证号时必填）",
        )
    if birth is None or birth > date.today():
        raise invalid_field(
            "birth_date",
            "Birth date is required and not in the future",
            "出生日期必填且不能晚于今天",
        )
    if new.phone and not PHONE.match(new.phone):
        raise invalid_field(
            "phone",
            "Phone: 11-digit mobile number starting 13-19",
            "手机号须为以13-19开头的11位号码",
        )
    if new.insurance_type not in INSURANCE_TYPES:
        raise invalid_field(
            "insurance_type", f"Insurance type: one of {', '.join(INSURANCE_TYPES)}", "参保类型无效"
        )
    if new.relation not in RELATIONS:
        raise invalid_field(
            "relation", f"Relation: one of {', '.join(RELATIONS)}", "与户主关系无效"
        )
    _check_village(session, actor, new.residence_village_id)
    if new.household_id and session.get(Household, new.household_id) is None:
        raise invalid_field("household_id", "Unknown household", "户不存在")
    return replace(new, name=name, sex=sex, birth_date=birth)


def _check_village(session: Session, actor: Actor, village_id: uuid.UUID) -> None:
    if session.get(Village, village_id) is None:
        raise invalid_field("residence_village_id", "Unknown village", "村（社区）不存在")
    if actor.role_def.scope == roles.AREA and actor.institution_id is not None:
        area = session.scalars(area_village_ids(session, actor.institution_id)).all()
        if area and village_id not in area:
            raise invalid_field(
                "residence_village_id",
                "The village is outside your institution's area",
                "该村不在本机构服务范围内",
            )


@dataclass(frozen=True)
class ResidentChanges:
    """Fields a registration desk may change; ``None`` leaves a field as it is."""

    phone: str | None = None
    residence_village_id: uuid.UUID | None = None
    permanent: bool | None = None
    insurance_type: str | None = None


def update_resident(
    session: Session, actor: Actor, resident_id: uuid.UUID, changes: ResidentChanges
) -> ResidentView:
    """Change a resident's contact, address, residence status or insurance."""
    actor.require(roles.RESIDENT_WRITE)
    resident = visible_resident(session, actor, resident_id)
    if changes.phone is not None and not PHONE.match(changes.phone):
        raise invalid_field(
            "phone",
            "Phone: 11-digit mobile number starting 13-19",
            "手机号须为以13-19开头的11位号码",
        )
    if changes.insurance_type is not None and changes.insurance_type not in INSURANCE_TYPES:
        raise invalid_field(
            "insurance_type", f"Insurance type: one of {', '.join(INSURANCE_TYPES)}", "参保类型无效"
        )
    if changes.residence_village_id is not None:
        _check_village(session, actor, changes.residence_village_id)
    changed = [k for k, v in vars(changes).items() if v is not None]
    for key in changed:
        setattr(resident, key, getattr(changes, key))
    session.flush()
    session.refresh(resident)
    audit.record(
        session,
        actor,
        "update",
        "resident",
        resident.id,
        person_id=resident.id,
        detail="fields=" + ",".join(changed),
    )
    return _view(resident, False)


def add_guardian(
    session: Session, actor: Actor, guardian_id: uuid.UUID, ward_id: uuid.UUID, relation: str
) -> None:
    """Record that ``guardian`` may act for ``ward`` (e.g. a parent for a child)."""
    actor.require(roles.RESIDENT_WRITE)
    if guardian_id == ward_id:
        raise invalid_field(
            "ward_id", "A resident cannot be his own guardian", "不能为本人设置监护人"
        )
    if relation not in ("parent", "child", "spouse", "other"):
        raise invalid_field("relation", "Relation: parent, child, spouse or other", "监护关系无效")
    guardian = visible_resident(session, actor, guardian_id)
    ward = visible_resident(session, actor, ward_id)
    if session.get(Guardianship, (guardian.id, ward.id)):
        raise Conflict(en="This guardianship is already recorded", zh="该监护关系已登记")
    session.add(Guardianship(guardian_id=guardian.id, ward_id=ward.id, relation=relation))
    session.flush()
    # The guardianship is (guardian, ward): the guardian is the object, the ward the person.
    audit.record(
        session,
        actor,
        "create",
        "guardianship",
        guardian.id,
        person_id=ward.id,
        detail=f"relation={relation}",
    )


def identify_resident(session: Session, id_number: str, name: str) -> Resident:
    """The resident who holds ``id_number`` under ``name`` (real-name identification).

    For faces where the person shows his ID card (window, kiosk, phone, an external booking
    platform): the actor need not have him in scope, but must know both the number and the
    name. A malformed number is refused with the reason; no match is ``NotFound``.
    """
    number = parse_resident_id(id_number.strip().upper()).number
    found = session.scalar(select(Resident).where(Resident.id_number == number))
    if found is None or found.name != name.strip():
        raise NotFound(
            en="No resident with this ID number and name; register at a service window first",
            zh="未找到该身份证号和姓名对应的居民，请先到窗口登记建档",
        )
    return found


def resident_record(session: Session, resident_id: uuid.UUID) -> Resident:
    """The resident's row, without a scope check or audit.

    For services that have already decided the actor may act for this person (his own
    booking, a booking at the actor's clinic) and audit that use themselves.
    """
    found = session.get(Resident, resident_id)
    if found is None:
        raise NotFound(en="No such resident", zh="居民不存在")
    return found


def lock_resident(session: Session, resident_id: uuid.UUID) -> None:
    """Hold the resident's row until commit, so his own concurrent requests run one by one.

    PostgreSQL only: SQLite transactions (``BEGIN IMMEDIATE``) are serial already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Resident.id).where(Resident.id == resident_id).with_for_update())


def resident_by_identifier(session: Session, system: str, value: str) -> Resident:
    """The resident holding identifier ``value`` of ``system`` (``id_number`` or ``ehealth_card``).

    An exact lookup without a scope check or audit, like ``resident_record``: the caller checks
    the actor's scope (``visible_resident``) and audits. An unknown system or a malformed value
    is ``invalid_field("identifier")``; no holder is ``NotFound``.
    """
    term = value.strip().upper()
    if system == ID_NUMBER:
        where = Resident.id_number == parse_resident_id(term).number
    elif system == EHEALTH_CARD_NO:
        if not EHEALTH_CARD.match(term):
            raise invalid_field(
                "identifier",
                "An e-health card number is 64 hexadecimal digits",
                "电子健康卡号应为64位十六进制字符",
            )
        where = Resident.ehealth_card_no == term
    else:
        raise invalid_field(
            "identifier",
            f"Unknown identifier system {system!r}: use {ID_NUMBER} or {EHEALTH_CARD_NO}",
            f"未知的标识体系 {system!r}：应为 {ID_NUMBER} 或 {EHEALTH_CARD_NO}",
        )
    found = session.scalar(select(Resident).where(where))
    if found is None:
        raise NotFound(en="No resident holds this identifier", zh="未找到持有该标识的居民")
    return found

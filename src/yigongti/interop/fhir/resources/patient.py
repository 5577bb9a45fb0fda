"""Patient: a resident of the master index (居民主索引).

Identifiers: the resident ID number and e-health card number (masked unless the caller may
reveal them and asks with ``X-Reveal: true``, which is audited) and every institution's
medical-record number linked to him. A created Patient is an institution's record: the master
patient index links it to the resident it describes (200 with him), registers a new resident
(201), or holds it for a clerk's review (202). Name, sex and birth date follow the ID number
and do not change through FHIR; phone and residence do.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import date

from yigongti import registry
from yigongti.interop import empi
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import FhirError, Issue, from_domain, invalid
from yigongti.interop.fhir.resource import ResourceType, Stored, register
from yigongti.interop.fhir.search import DateRange, Query, SearchParam, Token
from yigongti.kernel import DomainError, Invalid, parse_resident_id

VILLAGE_EXTENSION = f"{systems.BASE}/StructureDefinition/residence-village"
# Two-character surnames (复姓) common enough to split a name correctly into family and given.
_COMPOUND_SURNAMES = {
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "司徒",
    "令狐",
    "夏侯",
    "端木",
    "独孤",
    "长孙",
    "宇文",
    "轩辕",
    "南宫",
    "西门",
    "呼延",
}
_SORTS = {"name": "name", "birthdate": "birth_date"}
# The registry's field names as the Patient's elements, for error paths.
_ELEMENTS = {
    "name": "name",
    "id_number": "identifier",
    "sex": "gender",
    "birth_date": "birthDate",
    "phone": "telecom",
    "residence_village_id": "address",
}


def human_name(text: str) -> dict:
    """A Chinese name as a FHIR HumanName: the text, and family/given split by surname."""
    surname_length = 2 if text[:2] in _COMPOUND_SURNAMES else 1
    if not text or text.isascii():
        return {"use": "official", "text": text}
    return {
        "use": "official",
        "text": text,
        "family": text[:surname_length],
        "given": [text[surname_length:]],
    }


def _name_text(name: dict) -> str:
    return name.get("text") or (name.get("family") or "") + "".join(name.get("given") or [])


@register
class PatientType(ResourceType):
    """Patient over ``registry`` (residents)."""

    name = "Patient"
    doc = "Residents of the county's master index; identifiers masked unless revealed."
    writable = True
    search_params = (
        SearchParam("_id", "token", "the resident's id"),
        SearchParam(
            "identifier",
            "token",
            f"{systems.ID_NUMBER}|<ID number>, {systems.EHEALTH_CARD}|<card number> or "
            f"{systems.MRN_PREFIX}<institution code>|<medical-record number>",
        ),
        SearchParam("name", "string", "name by prefix (汉字) or pinyin initials (Latin letters)"),
        SearchParam("gender", "token", "male | female"),
        SearchParam("birthdate", "date", "birth date (eq, ge, le, gt, lt)"),
        SearchParam("phone", "token", "mobile phone number, exact"),
    )
    sorts = ("name", "birthdate")

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The resident as a Patient."""
        view = registry.get_resident(
            ctx.session, ctx.actor, resource_id, reveal=ctx.reveal, reason=ctx.reason
        )
        return patient_of(view, _mrns(ctx, view.id))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Residents in scope by identifier, name, gender, birth date, phone."""
        total, views = registry.find_residents(
            ctx.session,
            ctx.actor,
            _resident_query(ctx, query),
            reveal=ctx.reveal,
            reason=ctx.reason,
            limit=query.count,
            offset=query.offset,
        )
        return total, [patient_of(v, _mrns(ctx, v.id)) for v in views]

    def create(self, ctx: Context, resource: dict) -> uuid.UUID | Stored:
        """Link the institution's record to its resident through the master patient index."""
        outcome = _domain(
            lambda: empi.link_record(ctx.session, ctx.actor, record_of(ctx, resource))
        )
        if outcome.decision == "new":
            return outcome.resident_id  # type: ignore[return-value]
        if outcome.decision == "linked":
            return Stored(outcome.resident_id, "existing")
        return _held(outcome)

    def create_many(self, ctx: Context, resources: list[dict]) -> list[uuid.UUID | FhirError]:
        """Bulk import: the Patients through the master patient index together, each as
        ``create`` would link it (``empi.link_records``: one blocking query for the batch).

        A linked or new record gives the resident's id; one held for review is reported on its
        line (status 202, informational) and maps to nobody until a clerk decides.
        """
        # Held for the batch: each record's village and town are then read from the session.
        _villages = registry.villages_with_towns(ctx.session, _village_ids(resources))
        records: list[empi.PatientRecord | FhirError] = []
        for resource in resources:
            try:
                records.append(record_of(ctx, resource))
            except FhirError as error:
                records.append(error)
        good = [r for r in records if isinstance(r, empi.PatientRecord)]
        outcomes = iter(empi.link_records(ctx.session, ctx.actor, good) if good else [])
        answers: list[uuid.UUID | FhirError] = []
        for record in records:
            if isinstance(record, FhirError):
                answers.append(record)
                continue
            outcome = next(outcomes)
            if isinstance(outcome, DomainError):
                answers.append(_as_fhir(outcome))
            elif outcome.decision == "review":
                held = _held(outcome)
                answers.append(
                    FhirError(
                        202, [Issue("informational", held.en, held.zh, severity="information")]
                    )
                )
            else:
                answers.append(outcome.resident_id)  # type: ignore[arg-type]
        return answers

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Change phone and residence; name, sex, birth date and ID number stay."""
        current = registry.get_resident(ctx.session, ctx.actor, resource_id, reason=ctx.reason)
        for element, given, held in (
            ("name", _the_name(resource), current.name),
            ("gender", _gender(resource), current.sex),
            ("birthDate", _birth_date(resource), current.birth_date),
        ):
            if given != held:
                raise invalid(
                    f"Patient.{element} cannot change through FHIR (it follows the ID number); "
                    "correct it at a registration desk",
                    f"Patient.{element} 不能通过 FHIR 修改（以身份证号为准），请到登记窗口更正",
                    f"Patient.{element}",
                )
        changes = registry.ResidentChanges(
            phone=_phone(resource),
            residence_village_id=_village(ctx, resource, default=current.residence_village_id),
        )
        _domain(lambda: registry.update_resident(ctx.session, ctx.actor, resource_id, changes))


def _held(outcome: empi.LinkOutcome) -> Stored:
    """A record the index holds for a clerk's review, as the create's answer."""
    return Stored(
        None,
        "held",
        f"The record resembles a resident but not surely (p={outcome.probability:.2f}); "
        f"it waits for a clerk's review (source record {outcome.source_record_id})",
        f"该记录与某居民相似但不能确定，已进入人工核对队列（来源记录 {outcome.source_record_id}）",
    )


def record_of(ctx: Context, resource: dict) -> empi.PatientRecord:
    """The Patient as the record the actor's institution sends to the master patient index."""
    if ctx.actor.institution_id is None:
        raise invalid(
            "A Patient is created by an institution's account (its HIS, LIS or a clerk)",
            "Patient 须由机构账号（HIS、LIS 或窗口）创建",
            "Patient",
        )
    own = registry.get_institution(ctx.session, ctx.actor.institution_id).code
    return empi.PatientRecord(
        institution_id=ctx.actor.institution_id,
        mrn=_mrn(resource, own),
        name=_the_name(resource),
        sex=_gender(resource),
        birth_date=_birth_date(resource),
        id_number=_id_number(resource),
        phone=_phone(resource),
        address=_address_text(ctx, resource),
    )


def patient_of(view: registry.ResidentView, mrns: list[tuple[str, str]] | None = None) -> dict:
    """A ``ResidentView`` as a FHIR Patient; ``mrns`` are (institution code, number) pairs."""
    patient: dict = {
        "resourceType": "Patient",
        "id": str(view.id),
        "active": True,
        "name": [human_name(view.name)],
        "gender": systems.GENDERS[view.sex],
        "birthDate": view.birth_date.isoformat(),
        "address": [
            {
                "use": "home",
                "text": f"{view.town}{view.residence_village}",
                "district": view.town,
                "line": [view.residence_village],
                "extension": [
                    {"url": VILLAGE_EXTENSION, "valueString": str(view.residence_village_id)}
                ],
            }
        ],
    }
    if view.id_number:
        patient["identifier"] = [
            {
                "use": "official",
                "system": systems.ID_NUMBER,
                "value": view.id_number,
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NI"}
                    ],
                    "text": "居民身份证号",
                },
            }
        ]
    if view.ehealth_card_no:
        patient.setdefault("identifier", []).append(
            {
                "use": "secondary",
                "system": systems.EHEALTH_CARD,
                "value": view.ehealth_card_no,
                "type": {"text": "电子健康卡号"},
            }
        )
    for code, number in mrns or []:
        patient.setdefault("identifier", []).append(
            {
                "use": "usual",
                "system": systems.mrn_system(code),
                "value": number,
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
            }
        )
    if view.phone:
        patient["telecom"] = [{"system": "phone", "value": view.phone, "use": "mobile"}]
    return patient


def _mrns(ctx: Context, resident_id: uuid.UUID) -> list[tuple[str, str]]:
    """(institution code, medical-record number) of the records linked to the resident."""
    codes: dict[uuid.UUID, str] = ctx.session.info.setdefault("fhir_institution_codes", {})
    found = []
    for institution_id, number in empi.identifiers_of(ctx.session, resident_id):
        if institution_id not in codes:
            codes[institution_id] = registry.get_institution(ctx.session, institution_id).code
        found.append((codes[institution_id], number))
    return found


def _resident_query(ctx: Context, query: Query) -> registry.ResidentQuery:
    ids = query.values("_id")
    identifier = query.token("identifier")
    by_system = _by_identifier(ctx, identifier) if identifier else {}
    gender = query.token("gender")
    born: DateRange | None = query.date("birthdate")
    phone = query.token("phone")
    return registry.ResidentQuery(
        ids=(
            tuple(_uuid_or_none(t.code) for t in ids if isinstance(t, Token))
            if ids
            else by_system.get("ids")
        ),
        id_number=by_system.get("id_number"),
        ehealth_card_no=by_system.get("ehealth_card_no"),
        name=query.string("name"),
        sex=_gender_code(gender.code) if gender else None,
        born_from=born.start.date() if born and born.start else None,
        born_to=_day_before(born.end) if born and born.end else None,
        phone=phone.code if phone else None,
        sort=tuple((_SORTS[k], d) for k, d in query.sort) or (("name", False),),
    )


def _uuid_or_none(text: str | None) -> uuid.UUID:
    try:
        return uuid.UUID(text or "")
    except ValueError:
        return uuid.UUID(int=0)  # matches nothing


def _day_before(instant) -> date:
    from datetime import timedelta

    return (instant - timedelta(microseconds=1)).date()


def _by_identifier(ctx: Context, token: Token) -> dict:
    """The resident filter an identifier token means, by its system."""
    value = token.code or ""
    if token.system is None or systems.is_id_number_system(token.system):
        return {"id_number": value}
    if token.system == systems.EHEALTH_CARD:
        return {"ehealth_card_no": value}
    if token.system.startswith(systems.MRN_PREFIX):
        code = token.system.removeprefix(systems.MRN_PREFIX)
        _, found = registry.find_institutions(
            ctx.session, registry.InstitutionFilter(codes=(code,)), limit=1, offset=0
        )
        holder = empi.resident_by_mrn(ctx.session, found[0].id, value) if found else None
        return {"ids": (holder or uuid.UUID(int=0),)}
    raise invalid(
        f"Patient identifier system '{token.system}' is not searchable; use {systems.ID_NUMBER}, "
        f"{systems.EHEALTH_CARD} or {systems.MRN_PREFIX}<institution code>",
        f"不支持按标识体系 '{token.system}' 检索",
        "identifier",
    )


def _gender_code(code: str | None) -> str:
    if code not in systems.GENDERS:
        raise invalid(
            f"gender must be male or female, not '{code}'",
            f"性别须为 male 或 female，而非 '{code}'",
            "gender",
        )
    return systems.GENDERS[code]


def _the_name(resource: dict) -> str:
    names = resource.get("name") or []
    official = [n for n in names if n.get("use") in (None, "official", "usual")]
    text = _name_text(official[0]) if official else ""
    if not text:
        raise invalid("Patient.name is required", "Patient.name 必填", "Patient.name")
    return text


def _gender(resource: dict) -> str | None:
    gender = resource.get("gender")
    if gender is None:
        return None
    if gender not in systems.GENDERS:
        raise invalid(
            f"Patient.gender '{gender}' is not accepted: the resident index records male or "
            "female (other/unknown cannot be registered)",
            f"Patient.gender 仅接受 male 或 female，而非 '{gender}'",
            "Patient.gender",
        )
    return systems.GENDERS[gender]


def _birth_date(resource: dict) -> date | None:
    text = resource.get("birthDate")
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(
            "Patient.birthDate must be a full date (YYYY-MM-DD)",
            "Patient.birthDate 须为完整日期（YYYY-MM-DD）",
            "Patient.birthDate",
        ) from None


def _id_number(resource: dict) -> str | None:
    found = None
    for index, identifier in enumerate(resource.get("identifier") or []):
        system = identifier.get("system")
        if not system:
            raise invalid(
                "Every Patient.identifier needs a system",
                "Patient.identifier 须有 system",
                f"Patient.identifier[{index}].system",
            )
        if systems.is_id_number_system(system):
            try:
                found = parse_resident_id(identifier.get("value") or "").number
            except Invalid as error:
                raise invalid(error.en, error.zh, f"Patient.identifier[{index}].value") from None
        elif not (system.startswith(systems.MRN_PREFIX) or system == systems.EHEALTH_CARD):
            raise invalid(
                f"Unknown identifier system '{system}'; see /fhir/metadata and docs/fhir.md",
                f"未知的标识体系 '{system}'",
                f"Patient.identifier[{index}].system",
            )
    return found


def _phone(resource: dict) -> str | None:
    for telecom in resource.get("telecom") or []:
        if telecom.get("system") == "phone":
            return telecom.get("value")
    return None


def _mrn(resource: dict, own_code: str) -> str | None:
    """The sending institution's own medical-record number among the identifiers."""
    for index, identifier in enumerate(resource.get("identifier") or []):
        system = identifier.get("system") or ""
        if system.startswith(systems.MRN_PREFIX):
            if system != systems.mrn_system(own_code):
                raise invalid(
                    "An institution sends its own medical-record numbers "
                    f"({systems.mrn_system(own_code)}), not '{system}'",
                    "机构只能提交本机构的病案号",
                    f"Patient.identifier[{index}].system",
                )
            return identifier.get("value") or None
    return None


def _address_text(ctx: Context, resource: dict) -> str | None:
    """The home address as text (town and village names are what the index reads)."""
    village_id = _village(ctx, resource, default=None)
    if village_id is not None:
        village = _domain(lambda: registry.get_village(ctx.session, village_id))
        return f"{village.town.name}{village.name}"
    for address in resource.get("address") or []:
        text = address.get("text") or "".join(
            [address.get("district") or "", *(address.get("line") or [])]
        )
        if text:
            return text
    return None


def _village_ids(resources: list[dict]) -> set[uuid.UUID]:
    """The residence villages the Patients name (those that are ids)."""
    found = set()
    for resource in resources:
        for address in resource.get("address") or []:
            for extension in address.get("extension") or []:
                if extension.get("url") == VILLAGE_EXTENSION:
                    with contextlib.suppress(ValueError):
                        found.add(uuid.UUID(extension.get("valueString") or ""))
    return found


def _village(ctx: Context, resource: dict, default: uuid.UUID | None) -> uuid.UUID | None:
    for address in resource.get("address") or []:
        for extension in address.get("extension") or []:
            if extension.get("url") == VILLAGE_EXTENSION:
                try:
                    return uuid.UUID(extension.get("valueString") or "")
                except ValueError:
                    raise invalid(
                        "The residence-village extension holds a village id",
                        "居住村扩展应为村（社区）id",
                        "Patient.address.extension",
                    ) from None
    return default


def _domain(call):
    """Run a registry call, placing its field errors on the Patient's elements."""
    try:
        return call()
    except Invalid as error:
        raise _as_fhir(error) from None


def _as_fhir(error: DomainError) -> FhirError:
    """A service's refusal as the Patient's error: a field error on its element."""
    if not isinstance(error, Invalid):
        return from_domain(error, "Patient")
    field = error.fields[0].field if error.fields else None
    return invalid(error.en, error.zh, f"Patient.{_ELEMENTS.get(field, field)}" if field else None)

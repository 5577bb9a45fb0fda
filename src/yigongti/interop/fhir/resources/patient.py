"""Patient: a resident of the master index (居民主索引).

Identifiers: the resident ID number (masked unless the caller may reveal it and asks with
``X-Reveal: true``, which is audited). Name, sex and birth date come from the ID number and
do not change through FHIR; phone and residence do.
"""

from __future__ import annotations

import uuid
from datetime import date

from yigongti import registry
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import FhirError, invalid
from yigongti.interop.fhir.resource import ResourceType, created_in_bulk, register
from yigongti.interop.fhir.search import DateRange, Query, SearchParam, Token
from yigongti.kernel import Invalid, parse_resident_id

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
        SearchParam("identifier", "token", f"{systems.ID_NUMBER}|<ID number>"),
        SearchParam("name", "string", "name by prefix (汉字) or pinyin initials (Latin letters)"),
        SearchParam("gender", "token", "male | female"),
        SearchParam("birthdate", "date", "birth date (eq, ge, le, gt, lt)"),
        SearchParam("phone", "token", "mobile phone number, exact"),
    )
    sorts = ("name", "birthdate")

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The resident as a Patient."""
        view = registry.get_resident(
            ctx.session, ctx.actor, resource_id, reveal=_reveal(ctx), reason=ctx.reason
        )
        return patient_of(view)

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Residents in scope by identifier, name, gender, birth date, phone."""
        total, views = registry.find_residents(
            ctx.session,
            ctx.actor,
            _resident_query(query),
            reveal=_reveal(ctx),
            reason=ctx.reason,
            limit=query.count,
            offset=query.offset,
        )
        return total, [patient_of(v) for v in views]

    def create(self, ctx: Context, resource: dict) -> uuid.UUID:
        """Register the resident the Patient describes."""
        new = _new_resident(ctx, resource)
        return _domain(lambda: registry.register_resident(ctx.session, ctx.actor, new)).id

    def create_many(self, ctx: Context, resources: list[dict]) -> list[uuid.UUID | FhirError]:
        """Register many residents in one go (bulk import); per Patient its id or its error."""
        return created_in_bulk(
            resources,
            lambda resource: _new_resident(ctx, resource),
            lambda news: registry.register_residents(ctx.session, ctx.actor, news),
            "Patient",
            _ELEMENTS,
        )

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


def _new_resident(ctx: Context, resource: dict) -> registry.NewResident:
    return registry.NewResident(
        name=_the_name(resource),
        id_number=_id_number(resource),
        residence_village_id=_village(ctx, resource),
        sex=_gender(resource),
        birth_date=_birth_date(resource),
        phone=_phone(resource),
    )


def patient_of(view: registry.ResidentView) -> dict:
    """A ``ResidentView`` as a FHIR Patient."""
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
    if view.phone:
        patient["telecom"] = [{"system": "phone", "value": view.phone, "use": "mobile"}]
    return patient


def _reveal(ctx: Context) -> bool:
    return ctx.reveal


def _resident_query(query: Query) -> registry.ResidentQuery:
    ids = query.values("_id")
    identifier = query.token("identifier")
    gender = query.token("gender")
    born: DateRange | None = query.date("birthdate")
    phone = query.token("phone")
    return registry.ResidentQuery(
        ids=tuple(_uuid_or_none(t.code) for t in ids if isinstance(t, Token)) if ids else None,
        id_number=_identifier_value(identifier) if identifier else None,
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


def _identifier_value(token: Token) -> str:
    if token.system is not None and not systems.is_id_number_system(token.system):
        raise invalid(
            f"Patient identifier system '{token.system}' is not searchable; "
            f"use {systems.ID_NUMBER}",
            f"不支持按标识体系 '{token.system}' 检索",
            "identifier",
        )
    return token.code or ""


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


def _village(ctx: Context, resource: dict, default: uuid.UUID | None = None) -> uuid.UUID:
    for address in resource.get("address") or []:
        for extension in address.get("extension") or []:
            if extension.get("url") == VILLAGE_EXTENSION:
                try:
                    return uuid.UUID(extension.get("valueString") or "")
                except ValueError:
                    break
    if default is not None:
        return default
    raise invalid(
        f"Patient.address needs the residence village (extension {VILLAGE_EXTENSION})",
        "Patient.address 须注明居住村（社区）",
        "Patient.address",
    )


def _domain(call):
    """Run a registry call, placing its field errors on the Patient's elements."""
    try:
        return call()
    except Invalid as error:
        field = error.fields[0].field if error.fields else None
        raise invalid(
            error.en, error.zh, f"Patient.{_ELEMENTS.get(field, field)}" if field else None
        ) from None

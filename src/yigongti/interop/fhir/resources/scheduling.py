"""What Schedule, Slot and Appointment share: codings, times and search values of booking."""

from __future__ import annotations

import uuid
from datetime import datetime

from yigongti.booking.codes import CHANNELS, RESOURCES
from yigongti.interop.fhir import systems
from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.search import Query, Token
from yigongti.kernel import local


def instant(moment: datetime) -> str:
    """A FHIR instant in China Standard Time (``2026-12-08T08:00:00+08:00``)."""
    return local(moment).isoformat(timespec="seconds")


def department_concept(code: str, name: str | None = None) -> dict:
    """The department (科室) as a CodeableConcept (serviceType)."""
    coding: dict = {"system": systems.DEPARTMENT, "code": code}
    if name:
        coding["display"] = name
    return {"coding": [coding], **({"text": name} if name else {})}


def resource_concept(resource: str) -> dict:
    """What is booked (a doctor, a department clinic, an exam) as a CodeableConcept."""
    zh, en = RESOURCES[resource]
    return {
        "coding": [{"system": systems.BOOKING_RESOURCE, "code": resource, "display": en}],
        "text": zh,
    }


def channel_extension(channel: str) -> dict:
    """The booking channel (预约渠道) as an extension."""
    return {"url": systems.CHANNEL_EXTENSION, "valueCode": channel}


def channel_of(resource: dict, expression: str) -> str | None:
    """The channel a resource's extension asks for, checked against the code system."""
    for index, extension in enumerate(resource.get("extension") or []):
        if extension.get("url") != systems.CHANNEL_EXTENSION:
            continue
        code = extension.get("valueCode")
        if code not in CHANNELS:
            raise invalid(
                f"{expression}: booking channel must be one of {', '.join(CHANNELS)}, not '{code}'",
                f"{expression}：预约渠道应为 {', '.join(CHANNELS)} 之一，而非 '{code}'",
                f"{expression.split('.')[0]}.extension[{index}]",
            )
        return code
    return None


def department_code(query: Query, name: str = "service-type") -> str | None:
    """The department code of a ``service-type`` token (system ours or absent)."""
    token = query.token(name)
    if token is None:
        return None
    if token.system not in (None, systems.DEPARTMENT):
        raise invalid(
            f"'{name}' takes department codes of {systems.DEPARTMENT}, not '{token.system}'",
            f"'{name}' 应为科室代码（{systems.DEPARTMENT}）",
            name,
        )
    return token.code


def ids_of(query: Query) -> tuple[uuid.UUID, ...] | None:
    """The ``_id`` values as UUIDs (an id that cannot be ours matches nothing)."""
    values = query.values("_id")
    if not values:
        return None
    found = []
    for token in values:
        try:
            found.append(uuid.UUID(token.code if isinstance(token, Token) else str(token)))
        except (ValueError, TypeError):
            continue
    return tuple(found)


def codes_of(query: Query, name: str, allowed: tuple[str, ...] | dict) -> tuple[str, ...] | None:
    """The codes given for a token parameter, each checked against ``allowed``."""
    values = query.values(name)
    if not values:
        return None
    codes = tuple(t.code or "" for t in values if isinstance(t, Token))
    wrong = [c for c in codes if c not in allowed]
    if wrong:
        raise invalid(
            f"'{name}' must be one of {', '.join(allowed)}, not '{wrong[0]}'",
            f"'{name}' 应为 {', '.join(allowed)} 之一，而非 '{wrong[0]}'",
            name,
        )
    return codes

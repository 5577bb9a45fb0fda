"""What the directory's resources share: ids, flags, codings, references, paging over two lists.

Organization, Location, Practitioner, PractitionerRole and CareTeam map the registry's
institutions, departments and staff; none of them is personal health data, so any logged-in
caller may search them, and none is written through FHIR (the registry pages keep them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.search import Query, Token

# A part of a result made of several lists: (limit, offset) -> (total, rows).
Part = Callable[[int, int], tuple[int, list]]


def ids_of(query: Query) -> tuple[uuid.UUID, ...] | None:
    """The ``_id`` values as UUIDs (ids that cannot be ours match nothing); None if not given."""
    tokens = query.values("_id")
    if not tokens:
        return None
    found = []
    for token in tokens:
        try:
            found.append(uuid.UUID(getattr(token, "code", None) or ""))
        except ValueError:
            continue
    return tuple(found)


def active_of(query: Query) -> bool | None:
    """The ``active`` flag asked for (``true`` or ``false``); None if not given."""
    token = query.token("active")
    if token is None:
        return None
    if token.code not in ("true", "false"):
        raise invalid(
            f"'active' is true or false, not '{token.code}'",
            f"'active' 须为 true 或 false，而非 '{token.code}'",
            "active",
        )
    return token.code == "true"


def codes_of(query: Query, name: str, bound: Mapping[str, Mapping[str, str]]) -> list[Token]:
    """The tokens of ``name``, each checked against the code systems ``bound`` to it.

    ``bound`` maps a system URI to its codes. A token without a system takes the first system
    that has its code. An unknown system or code is a 400 naming the parameter, so a typo
    never silently matches nothing.
    """
    checked = []
    for token in query.values(name):
        if not isinstance(token, Token):
            continue
        systems = [token.system] if token.system else [s for s in bound if token.code in bound[s]]
        system = systems[0] if systems else None
        if system not in bound or (token.code is not None and token.code not in bound[system]):
            raise invalid(
                f"'{name}': unknown code '{token.system or ''}|{token.code or ''}'; "
                f"systems: {', '.join(bound)}",
                f"检索参数 '{name}' 的代码 '{token.code}' 不在所绑定的代码系统中",
                name,
            )
        checked.append(Token(system, token.code))
    return checked


def coding(system: str, code: str, display: str | None = None) -> dict:
    """A FHIR Coding."""
    found = {"system": system, "code": code}
    return {**found, "display": display} if display else found


def concept(*codings: dict, text: str | None = None) -> dict:
    """A FHIR CodeableConcept of ``codings``."""
    found: dict = {"coding": list(codings)}
    return {**found, "text": text} if text else found


def reference(resource_type: str, resource_id: uuid.UUID, display: str | None = None) -> dict:
    """A FHIR Reference to ``resource_type/resource_id``."""
    found = {"reference": f"{resource_type}/{resource_id}"}
    return {**found, "display": display} if display else found


def paged_union(parts: list[Part], limit: int, offset: int) -> tuple[int, list]:
    """One page over several lists read one after the other, and their total."""
    total, rows = 0, []
    for part in parts:
        count, got = part(max(0, limit - len(rows)), max(0, offset - total))
        total += count
        rows += got
    return total, rows


def nothing(limit: int, offset: int) -> tuple[int, list]:
    """A part that matches nothing."""
    return 0, []

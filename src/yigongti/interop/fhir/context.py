"""What every FHIR interaction carries: the unit of work, the actor, the server's base URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from yigongti.security import Actor


@dataclass(frozen=True)
class Context:
    """The session, the acting user, the base URL of ``/fhir`` and a bureau user's reason."""

    session: Session
    actor: Actor
    base_url: str  # e.g. http://127.0.0.1:8000/fhir
    reason: str | None = None
    reveal: bool = False  # the caller asked for full identifiers (X-Reveal: true)
    idempotency_key: str | None = None  # a create's: Idempotency-Key or If-None-Exist identifier
    data_dir: Path | None = None  # the server's data dir (bulk data files live under it)

    def full_url(self, resource_type: str, resource_id: str) -> str:
        """The absolute URL of a resource."""
        return f"{self.base_url}/{resource_type}/{resource_id}"


def request_key(header: str | None, if_none_exist: str | None) -> str | None:
    """A create's idempotency key: the ``Idempotency-Key`` header, else the value of an
    ``identifier=[system|]value`` criterion of ``If-None-Exist``."""
    if header:
        return header.strip()
    for name, value in parse_qsl((if_none_exist or "").lstrip("?")):
        if name == "identifier" and value:
            return value.rpartition("|")[2] or None
    return None

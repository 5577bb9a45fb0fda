"""What every FHIR interaction carries: the unit of work, the actor, the server's base URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    data_dir: Path | None = None  # the server's data dir (bulk data files live under it)

    def full_url(self, resource_type: str, resource_id: str) -> str:
        """The absolute URL of a resource."""
        return f"{self.base_url}/{resource_type}/{resource_id}"

"""The FHIR API's version log: what a resource looked like after each FHIR create or update.

The domain tables stay the one store of truth; this log serves ``vread`` and ``_history`` for
changes made through FHIR. A record never written through FHIR is at version 1.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yigongti.db import Base, UTCDateTime


class ResourceVersion(Base):
    """One version of a resource as the FHIR API answered it after a write."""

    __tablename__ = "fhir_resource_versions"
    __table_args__ = (UniqueConstraint("resource_type", "resource_id", "version"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(8))  # POST | PUT
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[dict] = mapped_column(JSON)

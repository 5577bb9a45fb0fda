"""Bulk data tables: the jobs ($import, $export) and what each imported line became."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yigongti.db import Base, UTCDateTime, uuid_pk


class BulkJob(Base):
    """One asynchronous ``$import`` or ``$export`` request and its progress.

    ``heartbeat`` moves while the job's thread works; a ``running`` job whose heartbeat has
    stopped (the server died) is reported as failed by the status endpoint.
    """

    __tablename__ = "bulk_jobs"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(8))  # import | export
    owner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    owner_name: Mapped[str] = mapped_column(String(60))
    request: Mapped[str] = mapped_column(Text)  # the kick-off URL
    parameters: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # running | done | failed | cancelled
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    unit: Mapped[str] = mapped_column(String(12))  # lines | resources
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    manifest: Mapped[dict | None] = mapped_column(JSON)
    failure: Mapped[str | None] = mapped_column(Text)


class ImportedResource(Base):
    """A resource an import created: its source's (type, id) -> our id, with the content hash.

    ``source`` is the importing account's name unless the request names a source system, so
    two institutions' HIS may use the same local ids without colliding. A line without an
    ``id`` is keyed by its content hash.
    """

    __tablename__ = "bulk_imported_resources"
    __table_args__ = (
        UniqueConstraint("source", "resource_type", "source_id", name="uq_bulk_imported_source"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    source: Mapped[str] = mapped_column(String(200))
    resource_type: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(80))
    resource_id: Mapped[uuid.UUID] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[uuid.UUID] = mapped_column()
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)

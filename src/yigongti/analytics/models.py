"""Tables of the data center: the lake's file manifest and watermarks, the indicator catalog's
versions added by the bureau, and alerts.

The lake's rows live in Parquet files, not here; these tables record what was loaded, when and
by whom, so a re-run only adds what changed and a re-pushed file is recognised.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yigongti.db import Base, UTCDateTime, uuid_pk
from yigongti.kernel import now


class LakeFile(Base):
    """One file that reached the lake: an institution's pushed CSV or Parquet, or an export.

    A pushed file is identified by the SHA-256 of its bytes: pushing it again finds this row
    and adds nothing. A rejected file (every row bad, or unreadable) is recorded too, with its
    report, so the sender sees why.
    """

    __tablename__ = "lake_files"
    __table_args__ = (UniqueConstraint("dataset", "sha256", name="uq_lake_files_dataset_sha"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    dataset: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10))  # upload | export
    filename: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))
    loaded_by: Mapped[str] = mapped_column(String(60))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    status: Mapped[str] = mapped_column(String(10))  # loaded | rejected
    rows: Mapped[int] = mapped_column(Integer, default=0)  # rows written to the lake
    rejected_rows: Mapped[int] = mapped_column(Integer, default=0)
    # [{"line": 7, "column": "amount_fen", "reason_zh": ..., "reason_en": ...}, ...] (first 1000)
    report: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    months: Mapped[list[str]] = mapped_column(JSON, default=list)
    paths: Mapped[list[str]] = mapped_column(JSON, default=list)  # relative to the lake root


class LakeWatermark(Base):
    """What the last export wrote of one dataset and month, and the fingerprint it had.

    The next export recomputes each month's fingerprint (row count and change stamps) in the
    database and rewrites only the months whose fingerprint moved.
    """

    __tablename__ = "lake_watermarks"

    dataset: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer)
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class IndicatorVersion(Base):
    """One version of an indicator or measure definition saved by the bureau.

    The built-in catalog ships as data with the code; a saved version with the same code
    overrides it from ``valid_from`` on. Versions are never edited: a change is a new row.
    """

    __tablename__ = "indicator_versions"
    __table_args__ = (UniqueConstraint("kind", "code", "version", name="uq_indicator_versions"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(10))  # indicator | measure
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, object]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    saved_by: Mapped[str] = mapped_column(String(60))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Alert(Base):
    """A breach of an indicator's alert threshold by one unit in one period, until closed."""

    __tablename__ = "indicator_alerts"
    __table_args__ = (
        UniqueConstraint("indicator", "grain", "unit_id", "period", name="uq_alert_breach"),
        Index("ix_alerts_institution_status", "institution_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    indicator: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    grain: Mapped[str] = mapped_column(String(12))  # institution | community | county
    unit_id: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))
    period: Mapped[str] = mapped_column(String(8))  # 2026-03 | 2026Q1 | 2026
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)

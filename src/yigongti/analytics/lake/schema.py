"""The lake's datasets: their columns, types, meaning and partitioning, as data.

This table is the documented schema institutions' HIS push files against (docs/lake.md is
generated from it) and the list of columns an indicator formula may reference. No person is
named in the lake: residents appear as ``resident_key`` (the resident's record id, or for
pushed files the institution's own patient key), never by name, ID number or phone.

Layout on disk: ``<lake>/<dataset>/month=YYYY-MM/institution=<institution_id>/<file>.parquet``
(datasets without an institution column omit that level; the ``institutions`` dimension is one
file ``<lake>/institutions/institutions.parquet``). Months are Asia/Shanghai calendar months.
Files named ``export-*`` come from the operational database and are replaced month by month;
files named ``upload-<sha256>`` come from a pushed file and are never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One column of a dataset: name, Arrow type, meaning, and whether it may be empty."""

    name: str
    type: pa.DataType
    zh: str
    en: str
    required: bool = True
    choices: tuple[str, ...] = ()  # allowed values of a string column; empty = any
    non_negative: bool = False  # amounts and counts


@dataclass(frozen=True)
class Dataset:
    """A dataset of the lake: its columns and whether institutions may push it."""

    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    key: str  # the column that identifies a row (a re-pushed row with the same key is a duplicate)
    by_institution: bool = True  # partitioned by institution as well as by month
    uploadable: bool = True  # accepted from institutions' HIS as CSV or Parquet

    @property
    def names(self) -> tuple[str, ...]:
        """The column names in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``; ``KeyError`` if the dataset has none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema files of this dataset are written with."""
        return pa.schema([pa.field(c.name, c.type, nullable=not c.required) for c in self.columns])


VISIT_KINDS = ("outpatient", "emergency", "inpatient")
TIERS = ("county", "township", "village")
FEE_CATEGORIES = ("drug", "exam", "lab", "consumable", "service", "bed")
REFERRALS = ("up", "down")
MONTH = pa.string()  # "YYYY-MM", Asia/Shanghai
TS = pa.timestamp("us", tz="UTC")

_institution = Column("institution_id", pa.string(), "机构标识", "Institution id (UUID)")
_month = Column("month", MONTH, "月份（YYYY-MM）", "Month (YYYY-MM, Asia/Shanghai)")

INSTITUTIONS = Dataset(
    "institutions",
    "机构维表",
    "Institutions (dimension)",
    (
        _institution,
        Column("code", pa.string(), "机构代码", "Institution code"),
        Column("name", pa.string(), "机构名称", "Institution name"),
        Column("tier", pa.string(), "层级", "Tier", choices=TIERS),
        Column("kind", pa.string(), "机构类别", "Kind of institution"),
        Column("ownership", pa.string(), "所有制", "Ownership", choices=("public", "private")),
        Column("community_id", pa.string(), "医共体标识", "Medical community id", required=False),
        Column("community_name", pa.string(), "医共体名称", "Medical community", required=False),
    ),
    key="institution_id",
    by_institution=False,
    uploadable=False,
)

VISITS = Dataset(
    "visits",
    "就诊",
    "Visits",
    (
        Column("visit_id", pa.string(), "就诊标识", "Visit id"),
        _institution,
        _month,
        Column("resident_key", pa.string(), "居民键（不含身份信息）", "Resident key (no identity)"),
        Column("kind", pa.string(), "就诊类型", "Kind of visit", choices=VISIT_KINDS),
        Column("started_at", TS, "开始时间（UTC）", "Started at (UTC)"),
        Column("ended_at", TS, "结束时间（出院）", "Ended at (discharge)", required=False),
        Column("department", pa.string(), "科室", "Department", required=False),
        Column("diagnosis_code", pa.string(), "主要诊断（ICD-10）", "Main diagnosis (ICD-10)"),
        Column("total_fen", pa.int64(), "总费用（分）", "Total cost (fen)", non_negative=True),
        Column("referral", pa.string(), "转诊方向", "Referral", required=False, choices=REFERRALS),
        Column(
            "referred_from_id",
            pa.string(),
            "转出机构标识",
            "Referred from (institution id)",
            required=False,
        ),
    ),
    key="visit_id",
)

FEES = Dataset(
    "fees",
    "费用明细",
    "Fee lines",
    (
        Column("line_id", pa.string(), "费用明细标识", "Fee line id"),
        Column("visit_id", pa.string(), "就诊标识", "Visit id"),
        _institution,
        _month,
        Column("kind", pa.string(), "就诊类型", "Kind of visit", choices=VISIT_KINDS),
        Column("category", pa.string(), "费用类别", "Fee category", choices=FEE_CATEGORIES),
        Column("amount_fen", pa.int64(), "金额（分）", "Amount (fen)", non_negative=True),
    ),
    key="line_id",
)

FINANCE = Dataset(
    "finance",
    "月度财务报表",
    "Monthly finance report",
    (
        _institution,
        _month,
        Column("assets_fen", pa.int64(), "资产总额（分）", "Total assets (fen)", non_negative=True),
        Column(
            "liabilities_fen",
            pa.int64(),
            "负债总额（分）",
            "Total liabilities (fen)",
            non_negative=True,
        ),
    ),
    key="month",  # one report per institution and month; the institution is the partition
)

OUTSIDE_STAYS = Dataset(
    "outside_stays",
    "县外住院（医保结算）",
    "Out-of-county inpatient stays (insurance settlement)",
    (
        Column("settlement_id", pa.string(), "结算单号", "Settlement number"),
        _month,
        Column("resident_key", pa.string(), "居民键（不含身份信息）", "Resident key (no identity)"),
        Column("hospital_name", pa.string(), "就诊医院", "Hospital"),
        Column("hospital_region", pa.string(), "医院所在地区", "Hospital's region"),
        Column("admitted_on", pa.date32(), "入院日期", "Admitted on"),
        Column("discharged_on", pa.date32(), "出院日期", "Discharged on"),
        Column("amount_fen", pa.int64(), "总费用（分）", "Total cost (fen)", non_negative=True),
    ),
    key="settlement_id",
    by_institution=False,
)

BOOKINGS = Dataset(
    "bookings",
    "预约",
    "Bookings",
    (
        Column("booking_id", pa.string(), "预约标识", "Booking id"),
        _institution,
        _month,
        Column("day", pa.date32(), "就诊日期", "Day of the visit"),
        Column("channel", pa.string(), "预约渠道", "Channel"),
        Column("slot_channel", pa.string(), "号源渠道", "Slot's channel"),
        Column("status", pa.string(), "状态", "Status"),
        Column("on_time", pa.bool_(), "按时就诊", "On time", required=False),
        Column("checked_in_at", TS, "签到时间", "Checked in at", required=False),
        Column("called_at", TS, "叫号时间", "Called at", required=False),
        Column(
            "wait_seconds",
            pa.int64(),
            "签到至叫号（秒）",
            "Check-in to call (s)",
            required=False,
            non_negative=True,
        ),
    ),
    key="booking_id",
    uploadable=False,
)

DATASETS: dict[str, Dataset] = {
    d.name: d for d in (INSTITUTIONS, VISITS, FEES, FINANCE, OUTSIDE_STAYS, BOOKINGS)
}

"""The shape of computed indicator values, shared by the engines, reports, alerts and pages.

One row per indicator × unit × period: ``grain`` says what the unit is (an institution, a
medical community, the county) and ``period_kind`` what the period is (a month "2026-03", a
quarter "2026Q1", a year "2026"). ``value`` is numerator ÷ denominator × scale (or the
numerator alone when the indicator has no denominator); it is empty when the denominator is
zero. ``yoy`` and ``mom`` are relative growth in percent against the same period a year before
and against the period before (the previous month, quarter or year); empty when that period
has no value or a zero one.
"""

from __future__ import annotations

import pyarrow as pa

GRAINS = ("institution", "community", "county")
PERIOD_KINDS = ("month", "quarter", "year")

RESULTS = pa.schema(
    [
        pa.field("indicator", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("grain", pa.string(), nullable=False),
        pa.field("unit_id", pa.string(), nullable=False),  # institution/community id, county code
        pa.field("period_kind", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("numerator", pa.float64()),
        pa.field("denominator", pa.float64()),
        pa.field("value", pa.float64()),
        pa.field("yoy", pa.float64()),
        pa.field("mom", pa.float64()),
    ]
)


def period_of(month: str, kind: str) -> str:
    """The period of ``kind`` that the month ``YYYY-MM`` falls in."""
    year, m = month[:4], int(month[5:7])
    if kind == "month":
        return month
    if kind == "quarter":
        return f"{year}Q{(m - 1) // 3 + 1}"
    if kind == "year":
        return year
    raise ValueError(f"unknown period kind: {kind}")


def months_of(period: str) -> list[str]:
    """The months ``YYYY-MM`` a period (month, quarter or year) covers."""
    if len(period) == 7 and period[4] == "-":
        return [period]
    year = int(period[:4])
    if len(period) == 6 and period[4] == "Q":
        q = int(period[5])
        return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    if len(period) == 4:
        return [f"{year}-{m:02d}" for m in range(1, 13)]
    raise ValueError(f"not a period: {period!r}")

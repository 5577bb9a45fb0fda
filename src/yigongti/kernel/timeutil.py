"""Time: aware datetimes, stored in UTC, shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def local(moment: datetime) -> datetime:
    """``moment`` shown in China Standard Time."""
    return moment.astimezone(SHANGHAI)


def age_on(birth: date, day: date) -> int:
    """Full years of age on ``day`` for someone born on ``birth``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))

"""When visits happen: seasons, weekdays with the Monday peak, clinic hours in Asia/Shanghai.

Times are drawn as local seconds of the day and stored as UTC milliseconds (China has kept
UTC+8 all year since 1991).
"""

from __future__ import annotations

import numpy as np

UTC_OFFSET_S = 8 * 3600
DAY_S = 86_400

# Relative volume per month (January first): winter respiratory peak, Spring Festival dip.
SEASON = np.array([1.12, 0.86, 1.02, 0.98, 0.96, 0.95, 0.97, 0.96, 0.98, 0.96, 1.04, 1.10])

# kind -> weekday weights, Monday first
WEEKDAYS = {
    "outpatient": (1.38, 1.13, 1.06, 1.03, 1.0, 0.62, 0.47),
    "emergency": (1.04, 1.0, 1.0, 1.0, 1.02, 1.05, 1.06),
    "inpatient": (1.3, 1.15, 1.08, 1.04, 1.0, 0.6, 0.45),
}
# kind -> local hour -> weight: outpatient 08:00-17:00 with a morning peak
HOURS = {
    "outpatient": {8: 16, 9: 20, 10: 18, 11: 11, 13: 7, 14: 11, 15: 10, 16: 7},
    "emergency": {h: (3 if h < 7 else 8 if h < 20 else 6) for h in range(24)},
    "inpatient": {8: 14, 9: 18, 10: 16, 11: 10, 13: 6, 14: 10, 15: 10, 16: 8, 17: 4, 18: 4},
}
# Public holidays (month, day) with Sunday-like outpatient volume.
HOLIDAYS = ((1, 1), (5, 1), (5, 2), (5, 3), (10, 1), (10, 2), (10, 3), (10, 4), (10, 5))


def month_days(year: int, month: int) -> np.ndarray:
    """The days of a month as ``datetime64[D]``."""
    first = np.datetime64(f"{year}-{month:02d}-01", "D")
    following = np.datetime64(f"{year + month // 12}-{month % 12 + 1:02d}-01", "D")
    return np.arange(first, following)


def weekday(days: np.ndarray) -> np.ndarray:
    """0 for Monday ... 6 for Sunday (1970-01-01 was a Thursday)."""
    return (days.astype(np.int64) + 3) % 7


def _day_weights(days: np.ndarray, kind: str, month: int) -> np.ndarray:
    weights = np.take(WEEKDAYS[kind], weekday(days))
    if kind != "emergency":
        day_of_month = (days - days[0]).astype(np.int64) + 1
        for m, d in HOLIDAYS:
            if m == month:
                weights[day_of_month == d] = WEEKDAYS[kind][6]
    return weights / weights.sum()


def start_times(rng: np.random.Generator, kind: str, n: int, year: int, month: int) -> np.ndarray:
    """``n`` start instants (UTC epoch milliseconds) of ``kind`` visits in a month."""
    days = month_days(year, month)
    day = rng.choice(days, size=n, p=_day_weights(days, kind, month))
    return times_on(rng, kind, day.astype(np.int64))


def times_on(rng: np.random.Generator, kind: str, days: np.ndarray) -> np.ndarray:
    """Start instants (UTC epoch milliseconds) of ``kind`` visits in the hours of that kind on
    the given local days (days since the epoch)."""
    n = len(days)
    hours = HOURS[kind]
    p = np.array(list(hours.values()), dtype=float)
    hour = rng.choice(list(hours), size=n, p=p / p.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    local = days * DAY_S + seconds
    return (local - UTC_OFFSET_S) * 1000 + rng.integers(0, 1000, n)


def local_days(ms: np.ndarray) -> np.ndarray:
    """Local (Asia/Shanghai) days since the epoch of UTC instants in milliseconds."""
    return (ms // 1000 + UTC_OFFSET_S) // DAY_S


def end_times(
    rng: np.random.Generator, kind: str, start_ms: np.ndarray, stay_days: np.ndarray
) -> np.ndarray:
    """End instants: minutes after an outpatient start, hours after an emergency start, and
    a morning discharge ``stay_days`` after an admission."""
    n = len(start_ms)
    if kind == "outpatient":
        return start_ms + (3 + rng.lognormal(2.5, 0.6, n)).astype(np.int64) * 60_000
    if kind == "emergency":
        return start_ms + (20 + rng.lognormal(4.5, 0.7, n)).astype(np.int64) * 60_000
    local_day = local_days(start_ms)
    discharge_s = (local_day + stay_days) * DAY_S + rng.integers(9 * 3600, 11 * 3600, n)
    return (discharge_s - UTC_OFFSET_S) * 1000

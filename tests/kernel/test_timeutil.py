"""Time rules: aware UTC inside, China Standard Time when shown, full years of age."""

from __future__ import annotations

from datetime import UTC, date, datetime

from yigongti.kernel import age_on, local, now


def test_now_is_aware_and_utc() -> None:
    assert now().utcoffset() is not None
    assert now().utcoffset().total_seconds() == 0


def test_local_time_is_eight_hours_ahead_of_utc() -> None:
    shown = local(datetime(2025, 1, 1, 20, 0, tzinfo=UTC))
    assert (shown.year, shown.month, shown.day, shown.hour) == (2025, 1, 2, 4)


def test_age_turns_on_the_birthday_not_before() -> None:
    assert age_on(date(1960, 3, 15), date(2025, 3, 14)) == 64
    assert age_on(date(1960, 3, 15), date(2025, 3, 15)) == 65


def test_someone_born_on_february_29th_ages_on_march_1st_in_other_years() -> None:
    assert age_on(date(2000, 2, 29), date(2025, 2, 28)) == 24
    assert age_on(date(2000, 2, 29), date(2025, 3, 1)) == 25

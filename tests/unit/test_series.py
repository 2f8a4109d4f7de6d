from __future__ import annotations

from datetime import date

import pytest

from capital_app.domain.errors import InvalidInput
from capital_app.domain.series import Interval, series_dates


def test_monthly_points_clamp_to_month_end_and_end_with_the_end_date():
    points = series_dates(date(2025, 1, 31), date(2025, 5, 15), Interval.MONTH)
    assert points == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 15),
    ]


def test_weekly_and_daily_points():
    assert series_dates(date(2026, 1, 1), date(2026, 1, 15), Interval.WEEK) == [
        date(2026, 1, 1),
        date(2026, 1, 8),
        date(2026, 1, 15),
    ]
    assert len(series_dates(date(2026, 1, 1), date(2026, 1, 31), Interval.DAY)) == 31
    assert series_dates(date(2026, 1, 1), date(2026, 1, 1), Interval.DAY) == [date(2026, 1, 1)]


def test_bad_ranges_are_refused():
    with pytest.raises(InvalidInput, match="before start"):
        series_dates(date(2026, 2, 1), date(2026, 1, 1), Interval.DAY)
    with pytest.raises(InvalidInput, match="longer interval"):
        series_dates(date(2000, 1, 1), date(2026, 1, 1), Interval.DAY)

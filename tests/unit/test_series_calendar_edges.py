"""Series dates near the ends of the calendar stop cleanly instead of overflowing."""

from __future__ import annotations

from datetime import date

from capital_app.domain.series import Interval, series_dates


def test_series_dates_stop_at_the_end_of_the_calendar():
    assert series_dates(date(9999, 11, 15), date(9999, 12, 31), Interval.MONTH) == [
        date(9999, 11, 15),
        date(9999, 12, 15),
        date(9999, 12, 31),
    ]
    assert series_dates(date(9999, 12, 30), date(9999, 12, 31), Interval.DAY)[-1] == date(
        9999, 12, 31
    )

"""The dates of a WACC / total-capital series for charts."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum

from capital_app.domain.errors import InvalidInput

MAX_POINTS = 1000


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def series_dates(start: date, end: date, interval: Interval) -> list[date]:
    """start, start + 1 interval, … up to end; end itself is always the last point.

    Each point stands for the state at the end of that day.
    """
    if end < start:
        raise InvalidInput.one("endDate", "End date must not be before start date.")
    points: list[date] = []
    step = 0
    while True:
        try:
            if interval is Interval.MONTH:
                point = _add_months(start, step)
            else:
                point = start + timedelta(days=step * (7 if interval is Interval.WEEK else 1))
        except (OverflowError, ValueError):  # past 9999-12-31: certainly past `end`
            break
        if point > end:
            break
        points.append(point)
        if len(points) > MAX_POINTS:
            raise InvalidInput.one(
                "interval", f"That range has more than {MAX_POINTS} points; use a longer interval."
            )
        step += 1
    if points[-1] != end:
        points.append(end)
    return points

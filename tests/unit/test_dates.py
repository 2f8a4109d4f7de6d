"""Dates for people: one format each, in the viewer's zone, and what a picked day means."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from capital_app.domain.dates import (
    effective_instant,
    end_of_local_day,
    format_age,
    format_date,
    format_date_short,
    format_datetime,
    format_day,
    format_exact,
    format_relative,
    format_utc,
    local_today,
    parse_day,
    zone,
)
from capital_app.domain.errors import InvalidInput
from capital_app.domain.values import check_effective_date

NAIROBI = zone("Africa/Nairobi")
MOMENT = datetime(2026, 11, 27, 11, 5, 9, tzinfo=UTC)


def test_days_and_moments_in_the_viewers_zone_with_utc_for_the_tooltip():
    assert format_day(date(2026, 3, 1)) == "1 Mar 2026"
    assert format_date(MOMENT) == "27 Nov 2026"
    assert format_datetime(MOMENT, NAIROBI) == "27 Nov 2026, 14:05"
    assert format_datetime(MOMENT) == "27 Nov 2026, 11:05"
    assert format_utc(MOMENT) == "27 Nov 2026, 11:05:09 UTC"
    # Late evening UTC is already the next day in Nairobi.
    late = datetime(2026, 2, 28, 22, 30, tzinfo=UTC)
    assert format_date(late, NAIROBI) == "1 Mar 2026"


def test_short_dates_drop_the_year_only_within_the_current_year():
    assert format_date_short(datetime(2026, 3, 1, 9, tzinfo=UTC), UTC, MOMENT) == "1 Mar"
    assert format_date_short(datetime(2025, 3, 1, 9, tzinfo=UTC), UTC, MOMENT) == "1 Mar 2025"


def test_unknown_or_hostile_zones_fall_back_to_utc():
    assert zone("") is UTC
    assert zone(None) is UTC
    assert zone("Mars/Olympus") is UTC
    assert zone("../../etc/passwd") is UTC
    assert zone("x" * 500) is UTC
    assert str(zone("Europe/Berlin")) == "Europe/Berlin"


def test_relative_ages():
    assert format_relative(MOMENT, MOMENT + timedelta(seconds=10)) == "just now"
    assert format_relative(MOMENT, MOMENT - timedelta(seconds=5)) == "just now"  # clock skew
    assert format_relative(MOMENT, MOMENT + timedelta(minutes=5)) == "5 min ago"
    assert format_relative(MOMENT, MOMENT + timedelta(hours=2, minutes=10)) == "2 h ago"
    assert format_relative(MOMENT, MOMENT + timedelta(hours=30)) == "yesterday"
    assert format_relative(MOMENT, MOMENT + timedelta(days=3)) == "3 days ago"
    assert format_relative(MOMENT, MOMENT + timedelta(days=90)) == "on 27 Nov 2026"


def test_a_picked_day_means_now_today_and_the_end_of_an_earlier_day_locally():
    now = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)  # already 2 March in Nairobi
    assert local_today(NAIROBI, now) == date(2026, 3, 2)
    assert effective_instant(date(2026, 3, 2), NAIROBI, now) == now
    assert effective_instant(date(2026, 3, 1), NAIROBI, now) == datetime(
        2026, 3, 1, 20, 59, 59, tzinfo=UTC
    )
    assert end_of_local_day(date(2026, 1, 31), UTC) == datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    # A later day is in the future, and the ledger's own rule refuses it.
    tomorrow = effective_instant(date(2026, 3, 3), NAIROBI, now)
    assert tomorrow > now
    with pytest.raises(InvalidInput, match="cannot be in the future"):
        check_effective_date(tomorrow, now)


def test_parse_day_accepts_only_iso_days():
    assert parse_day("2026-03-01") == date(2026, 3, 1)
    assert parse_day(" 2026-03-01 ") == date(2026, 3, 1)
    assert parse_day("") is None
    assert parse_day("2026-02-30") is None
    assert parse_day("01/03/2026") is None


def test_ages_for_tables_and_exact_moments_for_tooltips():
    assert format_age(MOMENT, MOMENT + timedelta(hours=2)) == "2 h ago"
    assert format_age(MOMENT, MOMENT + timedelta(days=90), NAIROBI) == "27 Nov 2026"
    assert format_exact(MOMENT, NAIROBI) == "27 Nov 2026, 14:05 · 27 Nov 2026, 11:05:09 UTC"

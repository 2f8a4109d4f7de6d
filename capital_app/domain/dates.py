"""How dates and times are written for people, and what a picked day means.

One helper each, used everywhere: days as `27 Nov 2026`, moments as
`27 Nov 2026, 14:05` in the viewer's time zone (with the UTC moment for a
tooltip), and relative ages (`2 h ago`). Instants are stored and compared in UTC;
only what people read or pick is in their own zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_LAST_SECOND = time(23, 59, 59)


def zone(name: str | None) -> tzinfo:
    """The IANA zone a browser reported (e.g. 'Africa/Nairobi'); UTC if unknown or bogus."""
    if not name or len(name) > 64:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _day_text(day: date, *, with_year: bool = True) -> str:
    text = f"{day.day} {day.strftime('%b')}"
    return f"{text} {day.year}" if with_year else text


def format_day(day: date) -> str:
    """date(2026, 11, 27) → '27 Nov 2026'."""
    return _day_text(day)


def format_date(moment: datetime, tz: tzinfo = UTC) -> str:
    """The day of an instant in the viewer's zone: '27 Nov 2026'."""
    return _day_text(moment.astimezone(tz).date())


def format_date_short(moment: datetime, tz: tzinfo, now: datetime) -> str:
    """'1 Mar' within the current year (in the viewer's zone), else '1 Mar 2025'."""
    local = moment.astimezone(tz).date()
    return _day_text(local, with_year=local.year != now.astimezone(tz).year)


def format_datetime(moment: datetime, tz: tzinfo = UTC) -> str:
    """An instant in the viewer's zone: '27 Nov 2026, 14:05'."""
    local = moment.astimezone(tz)
    return f"{_day_text(local.date())}, {local:%H:%M}"


def format_utc(moment: datetime) -> str:
    """The exact instant for a tooltip: '27 Nov 2026, 11:05:09 UTC'."""
    utc = moment.astimezone(UTC)
    return f"{_day_text(utc.date())}, {utc:%H:%M:%S} UTC"


def format_relative(moment: datetime, now: datetime, tz: tzinfo = UTC) -> str:
    """How long ago, for people: 'just now', '5 min ago', '2 h ago', '3 days ago'.

    Beyond a month it gives the day instead ('on 27 Nov 2026'): ages in months
    or years read vaguely where a finance user wants a date.
    """
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        seconds = 0  # clocks of two machines differ a little: never "in 3 s"
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"{hours} h ago"
    days = round(seconds / 86400)
    if days == 1:
        return "yesterday"
    if days < 31:
        return f"{days} days ago"
    return f"on {format_date(moment, tz)}"


def format_age(moment: datetime, now: datetime, tz: tzinfo = UTC) -> str:
    """For a table column: '2 h ago', '3 days ago', or the day itself ('1 Mar 2026')."""
    return format_relative(moment, now, tz).removeprefix("on ")


def format_exact(moment: datetime, tz: tzinfo = UTC) -> str:
    """For a tooltip: '1 Mar 2026, 12:00 · 1 Mar 2026, 09:00:00 UTC'."""
    return f"{format_datetime(moment, tz)} · {format_utc(moment)}"


def local_today(tz: tzinfo, now: datetime) -> date:
    return now.astimezone(tz).date()


def end_of_local_day(day: date, tz: tzinfo) -> datetime:
    """The last second of `day` in the viewer's zone, as a UTC instant.

    What "as of 31 Jan" means to someone in Nairobi: everything in effect by the
    end of their 31 January.
    """
    return datetime.combine(day, _LAST_SECOND, tzinfo=tz).astimezone(UTC)


def effective_instant(day: date, tz: tzinfo, now: datetime) -> datetime:
    """The instant a change picked for `day` takes effect.

    Today means now (so it applies after everything already in effect today);
    an earlier day means the end of that day in the viewer's zone, so "as of
    that day" includes it; a later day lands in the future and the ledger's
    own rule refuses it.
    """
    if day == local_today(tz, now):
        return now.astimezone(UTC)
    if day > local_today(tz, now):
        return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    return end_of_local_day(day, tz)


def parse_day(text: str) -> date | None:
    """'2026-03-01' (what a date input sends) → date, or None when empty or malformed."""
    raw = (text or "").strip()
    if len(raw) != 10:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None

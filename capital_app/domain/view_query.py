"""What a page's URL says about its view: the moment, the filters and the page.

Issue 15, item 4 (shareable past views): the as-of / known-at choice, the history
filters and the keyset page live in the query string, e.g.
`/history?asOf=2025-03-31&knownAt=2025-04-02T10:00:00Z&tz=Africa/Nairobi&source=…`,
so a copied link opens exactly the same view. Pure: `parse_view_query` turns the
parameters into a `ViewQuery` (every value it could not use is dropped, with a
sentence saying so and what is shown instead), `format_view_query` writes one back
in one canonical form (defaults left out), and the two round-trip.

A moment is a day (its end, read in the view's zone, as the date inputs mean it) or
an exact instant (written in UTC with `Z`). A day depends on a zone, so a link that
holds a day also holds the zone it was picked in (`tz`): a colleague elsewhere sees
the same instants, hence the same numbers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, tzinfo
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from capital_app.domain.dates import end_of_local_day

AS_OF = "asOf"
KNOWN_AT = "knownAt"
ZONE = "tz"
SOURCE = "source"
ACTION = "action"
FROM = "from"
TO = "to"
ORDER = "order"
PAGE = "page"
CURSOR = "cursor"
RANGE = "range"  # the dashboard chart's span

# The moment parameters (every view page) and the history page's own, in URL order.
MOMENT_PARAMS = (AS_OF, KNOWN_AT, ZONE)
HISTORY_PARAMS = (SOURCE, ACTION, FROM, TO, ORDER, PAGE, CURSOR)

MAX_PAGE = 1_000_000
MAX_VALUE_LENGTH = 1_000  # a keyset cursor is ~100 characters; anything longer is not ours
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURSOR = re.compile(r"[A-Za-z0-9_-]+")
_SOURCE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")

Moment = date | datetime  # a day (its end in the view's zone) or an instant (aware)


@dataclass(frozen=True, slots=True)
class ViewQuery:
    """One view of a page as its URL holds it; the defaults are today / everything / page 1."""

    as_of: Moment | None = None
    known_at: Moment | None = None
    zone: str = ""  # the IANA zone the days are read in; "" is the viewer's own
    source: str = ""  # "" is every source
    action: str = ""  # "" is every action
    start: date | None = None  # effective from (a day)
    end: date | None = None  # effective to (a day)
    order: str = ""  # "" is the page's default order
    page: int = 1
    cursor: str = ""  # the keyset position of `page` (pages after the first)
    chart_range: str = ""  # the dashboard chart's span; "" is its default

    @property
    def has_days(self) -> bool:
        """Whether any value depends on the zone it is read in."""
        return any(
            v is not None and not isinstance(v, datetime)
            for v in (self.as_of, self.known_at, self.start, self.end)
        )


@dataclass(frozen=True, slots=True)
class ParsedView:
    view: ViewQuery
    problems: tuple[str, ...] = field(default=())


def _quoted(value: str) -> str:
    shown = value if len(value) <= 40 else value[:40] + "…"
    return f"“{shown}”"


def is_known_zone(name: str) -> bool:
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_day_text(text: str) -> date | None:
    """'2025-03-31' → date(2025, 3, 31); anything else (or an impossible day) → None."""
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_moment(text: str, tz: tzinfo = UTC) -> Moment | None:
    """A day ('2025-03-31') or an instant ('2025-04-02T10:00:00Z', an offset, or local to
    `tz` without one) → date / aware UTC datetime; None if it is neither."""
    text = text.strip()
    day = parse_day_text(text)
    if day is not None:
        return day
    if len(text) < 16 or "T" not in text.upper():
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def format_moment(moment: Moment) -> str:
    """The canonical text of a moment: '2025-03-31' or '2025-04-02T10:00:00Z'."""
    if isinstance(moment, datetime):
        text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
        return f"{text}Z"
    return moment.isoformat()


def moment_end(moment: Moment, tz: tzinfo) -> datetime:
    """The instant a moment stands for: an instant itself, a day its last second in `tz`."""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC)
    return end_of_local_day(moment, tz)


def _is_past(moment: Moment, tz: tzinfo, now: datetime) -> bool:
    """Before today (a day, in `tz`) or before now (an instant): a past view."""
    if isinstance(moment, datetime):
        return moment < now
    return moment < now.astimezone(tz).date()


class _Reader:
    """Reads one URL's parameters, noting a sentence for every value it drops."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params
        self.problems: list[str] = []

    def text(self, name: str) -> str:
        value = self.params.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def problem(self, sentence: str) -> None:
        self.problems.append(sentence)


def _moment(
    reader: _Reader, name: str, label: str, fallback: str, tz: tzinfo, now: datetime
) -> Moment | None:
    raw = reader.text(name)
    if not raw:
        return None
    moment = parse_moment(raw, tz) if len(raw) <= 64 else None
    if moment is None:
        reader.problem(
            f"This link's {label} {_quoted(raw)} is not a date (YYYY-MM-DD) or a moment "
            f"(e.g. 2025-04-02T10:00:00Z); showing {fallback}."
        )
        return None
    if not _is_past(moment, tz, now):
        if isinstance(moment, datetime) or moment > now.astimezone(tz).date():
            reader.problem(
                f"This link's {label} {_quoted(raw)} is in the future; showing {fallback}."
            )
        return None  # today (or later) is the present view
    return moment


def _day(reader: _Reader, name: str, label: str) -> date | None:
    raw = reader.text(name)
    if not raw:
        return None
    day = parse_day_text(raw)
    if day is None:
        reader.problem(
            f"This link's {label} {_quoted(raw)} is not a date (YYYY-MM-DD); showing every date."
        )
    return day


def parse_moment_params(
    params: Mapping[str, str], *, viewer_zone: str, now: datetime
) -> ParsedView:
    """Only the moment (asOf, knownAt, tz): what the source pages read."""
    return parse_view_query(params, viewer_zone=viewer_zone, now=now, history=False)


def parse_view_query(
    params: Mapping[str, str],
    *,
    viewer_zone: str,
    now: datetime,
    history: bool = True,
    actions: Collection[str] = (),
    orders: Collection[str] = (),
    ranges: Collection[str] = (),
) -> ParsedView:
    """The view a page's query parameters ask for, and why any value was not used.

    `viewer_zone`: the browser's zone (days are read in the link's `tz` if it names a
    known zone, else in this one); `now`: aware. `history`: also read the history
    page's filters, `actions` and `orders` being the values it knows. `ranges`: the
    dashboard chart's spans (read only when given).
    """
    reader = _Reader(params)
    zone_text = reader.text(ZONE)
    zone_name = ""
    if zone_text and zone_text != viewer_zone:
        if is_known_zone(zone_text):
            zone_name = zone_text
        else:
            reader.problem(
                f"This link's time zone {_quoted(zone_text)} is not known; "
                f"its dates are read in yours ({viewer_zone or 'UTC'})."
            )
    tz = ZoneInfo(zone_name or viewer_zone) if is_known_zone(zone_name or viewer_zone) else UTC
    as_of = _moment(reader, AS_OF, "as-of date", "today", tz, now)
    known_at = _moment(reader, KNOWN_AT, "as-known-at moment", "what is known now", tz, now)
    view = ViewQuery(as_of=as_of, known_at=known_at, zone=zone_name)
    if history:
        view = _history_filters(reader, view, actions, orders)
    if ranges:
        chart_range = reader.text(RANGE)
        if chart_range and chart_range not in ranges:
            reader.problem(
                f"This link's chart range {_quoted(chart_range)} is not one of "
                f"{', '.join(ranges)}; showing the default."
            )
            chart_range = ""
        view = replace(view, chart_range=chart_range)
    if not view.has_days and view.zone:
        view = replace(view, zone="")
    return ParsedView(view, tuple(reader.problems))


def _history_filters(
    reader: _Reader, view: ViewQuery, actions: Collection[str], orders: Collection[str]
) -> ViewQuery:
    source = reader.text(SOURCE)
    if source and (len(source) > 200 or _SOURCE_FORBIDDEN.search(source)):
        reader.problem("This link's source is not a source id; showing every source.")
        source = ""
    action = reader.text(ACTION)
    if action and action not in actions:
        known = ", ".join(sorted(actions))
        reader.problem(
            f"This link's action {_quoted(action)} is not one of {known}; showing every action."
        )
        action = ""
    start = _day(reader, FROM, "“effective from” date")
    end = _day(reader, TO, "“effective to” date")
    if start and end and start > end:
        reader.problem(
            f"This link's effective dates run backwards ({start.isoformat()} after "
            f"{end.isoformat()}); showing every date."
        )
        start = end = None
    order = reader.text(ORDER)
    if order and order not in orders:
        reader.problem(
            f"This link's order {_quoted(order)} is not known; showing the default order."
        )
        order = ""
    page, cursor = _page(reader)
    return replace(
        view, source=source, action=action, start=start, end=end, order=order,
        page=page, cursor=cursor,
    )  # fmt: skip


def _page(reader: _Reader) -> tuple[int, str]:
    raw_page, cursor = reader.text(PAGE), reader.text(CURSOR)
    if not raw_page and not cursor:
        return 1, ""
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) <= 7 else 0
    if not 1 <= page <= MAX_PAGE:
        reader.problem(
            f"This link's page {_quoted(raw_page)} is not a page number; showing the first page."
        )
        return 1, ""
    if page == 1:
        return 1, ""  # the first page needs no position
    if not cursor or len(cursor) > MAX_VALUE_LENGTH or not _CURSOR.fullmatch(cursor):
        reader.problem(
            f"This link's page {page} has no valid position (cursor); showing the first page."
        )
        return 1, ""
    return page, cursor


def format_view_query(view: ViewQuery) -> str:
    """The canonical query string of a view ('' for today / everything / page 1).

    Parameters in a fixed order, defaults left out; the zone only with a day.
    """
    pairs: list[tuple[str, str]] = []
    if view.as_of is not None:
        pairs.append((AS_OF, format_moment(view.as_of)))
    if view.known_at is not None:
        pairs.append((KNOWN_AT, format_moment(view.known_at)))
    if view.zone and view.has_days:
        pairs.append((ZONE, view.zone))
    if view.source:
        pairs.append((SOURCE, view.source))
    if view.action:
        pairs.append((ACTION, view.action))
    if view.start is not None:
        pairs.append((FROM, view.start.isoformat()))
    if view.end is not None:
        pairs.append((TO, view.end.isoformat()))
    if view.order:
        pairs.append((ORDER, view.order))
    if view.page > 1 and view.cursor:
        pairs.append((PAGE, str(view.page)))
        pairs.append((CURSOR, view.cursor))
    if view.chart_range:
        pairs.append((RANGE, view.chart_range))
    return "?" + urlencode(pairs, safe="/:") if pairs else ""

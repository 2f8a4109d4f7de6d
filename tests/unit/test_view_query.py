"""A page's URL and its view: parsed, written back, round-tripped; bad values named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capital_app.domain.dates import zone
from capital_app.domain.view_query import (
    ViewQuery,
    format_moment,
    format_view_query,
    moment_end,
    parse_moment,
    parse_moment_params,
    parse_view_query,
)

NOW = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)  # 03:30 in Nairobi, still 7 Dec in Los Angeles
ACTIONS = ("ADDED", "AMOUNT_CHANGED", "RATE_CHANGED", "REMOVED")
ORDERS = ("recorded_desc", "effective_desc", "effective")
RANGES = ("3M", "1Y", "All")
VIEWER = "Africa/Nairobi"
ZONES = ("Europe/London", "America/Los_Angeles", "Asia/Kolkata", "UTC")


def _params(query: str) -> dict[str, str]:
    """What the server receives: Reflex's router parses the query with parse_qsl."""
    return dict(parse_qsl(urlsplit(query).query))


def _parse(query: str, viewer: str = VIEWER):
    return parse_view_query(
        _params(query), viewer_zone=viewer, now=NOW, actions=ACTIONS, orders=ORDERS, ranges=RANGES
    )


def test_the_issue_example_is_read_exactly() -> None:
    parsed = _parse(
        "?asOf=2025-03-31&knownAt=2025-04-02T10:00:00Z&source=loan-1&action=AMOUNT_CHANGED"
        "&from=2025-01-01&to=2025-03-31&order=effective&page=3&cursor=WyJlZmZlY3RpdmUiXQ"
    )
    assert parsed.problems == ()
    assert parsed.view == ViewQuery(
        as_of=date(2025, 3, 31),
        known_at=datetime(2025, 4, 2, 10, tzinfo=UTC),
        source="loan-1",
        action="AMOUNT_CHANGED",
        start=date(2025, 1, 1),
        end=date(2025, 3, 31),
        order="effective",
        page=3,
        cursor="WyJlZmZlY3RpdmUiXQ",
    )


def test_no_parameters_is_today_everything_first_page() -> None:
    assert _parse("") == _parse("?") == parse_view_query({}, viewer_zone=VIEWER, now=NOW)
    assert _parse("").view == ViewQuery() and _parse("").problems == ()
    assert format_view_query(ViewQuery()) == ""


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("?asOf=notadate", "as-of date “notadate” is not a date (YYYY-MM-DD)"),
        ("?asOf=2025-02-30", "as-of date “2025-02-30” is not a date"),
        ("?asOf=2027-01-01", "as-of date “2027-01-01” is in the future; showing today."),
        ("?knownAt=2099-01-01T00:00:00Z", "is in the future; showing what is known now."),
        ("?knownAt=yesterday", "as-known-at moment “yesterday” is not a date"),
        ("?tz=Mars/Olympus", "time zone “Mars/Olympus” is not known"),
        ("?action=STOLEN", "action “STOLEN” is not one of"),
        ("?from=2025-13-01", "“effective from” date “2025-13-01” is not a date"),
        ("?from=2025-03-01&to=2025-02-01", "effective dates run backwards"),
        ("?order=random", "order “random” is not known"),
        ("?page=-2&cursor=abc", "page “-2” is not a page number"),
        ("?page=3", "page 3 has no valid position (cursor)"),
        ("?page=3&cursor=not%20a%20cursor", "page 3 has no valid position"),
        ("?source=%00evil", "source is not a source id"),
        ("?range=5Y", "chart range “5Y” is not one of 3M, 1Y, All"),
    ],
)
def test_a_bad_value_is_dropped_with_a_sentence_saying_what_shows_instead(
    query: str, problem: str
) -> None:
    parsed = _parse(query)
    assert len(parsed.problems) == 1, parsed.problems
    assert problem in parsed.problems[0]
    assert parsed.problems[0].startswith("This link's ")
    assert parsed.view.zone == ""
    # The sane view: everything the bad value would have narrowed is the default.
    bad = {k for k, _ in parse_qsl(urlsplit(query).query)}
    for name in bad - {"tz"}:
        default = ViewQuery()
        attribute = {
            "asOf": "as_of", "knownAt": "known_at", "from": "start", "to": "end",
            "page": "page", "cursor": "cursor", "action": "action", "order": "order",
            "source": "source", "range": "chart_range",
        }[name]  # fmt: skip
        assert getattr(parsed.view, attribute) == getattr(default, attribute), name


def test_several_bad_values_each_get_their_own_sentence_and_good_ones_stay() -> None:
    parsed = _parse("?asOf=nope&knownAt=2025-01-02&action=X&order=effective")
    assert len(parsed.problems) == 2
    assert parsed.view == ViewQuery(known_at=date(2025, 1, 2), order="effective")


def test_today_is_the_present_view_without_a_complaint() -> None:
    today = NOW.astimezone(zone(VIEWER)).date()  # 8 Dec in Nairobi
    parsed = _parse(f"?asOf={today.isoformat()}")
    assert parsed.view == ViewQuery() and parsed.problems == ()
    # In Los Angeles it is still 7 Dec: the 8th is in the future there.
    la = _parse(f"?asOf={today.isoformat()}&tz=America/Los_Angeles")
    assert la.view == ViewQuery() and "in the future" in la.problems[0]


def test_a_day_is_read_in_the_links_zone_so_everyone_sees_the_same_instant() -> None:
    parsed = _parse("?asOf=2025-03-31&tz=America/Los_Angeles", viewer="Europe/London")
    assert parsed.view.zone == "America/Los_Angeles"
    end = moment_end(parsed.view.as_of, zone(parsed.view.zone))  # type: ignore[arg-type]
    assert end == datetime(2025, 4, 1, 6, 59, 59, tzinfo=UTC)  # 23:59:59 PDT
    # The viewer's own zone is not repeated in the view (their links write it again).
    same = _parse("?asOf=2025-03-31&tz=Europe/London", viewer="Europe/London")
    assert same.view.zone == "" and same.problems == ()
    # A zone without a day means nothing and is dropped.
    assert _parse("?knownAt=2025-04-02T10:00:00Z&tz=Asia/Kolkata").view.zone == ""


def test_an_instant_without_an_offset_is_read_in_the_links_zone() -> None:
    parsed = _parse("?knownAt=2025-04-02T10:00:00&tz=Asia/Kolkata&asOf=2025-03-01")
    assert parsed.view.known_at == datetime(2025, 4, 2, 4, 30, tzinfo=UTC)
    assert parse_moment("2025-04-02T13:00:00+03:00") == datetime(2025, 4, 2, 10, tzinfo=UTC)
    assert parse_moment("2025-04-02") == date(2025, 4, 2)
    assert parse_moment("20250402") is None and parse_moment("") is None


def test_the_moment_only_reading_ignores_history_filters() -> None:
    parsed = parse_moment_params(
        _params("?asOf=2025-03-31&action=STOLEN&page=x"), viewer_zone=VIEWER, now=NOW
    )
    assert parsed.view == ViewQuery(as_of=date(2025, 3, 31)) and parsed.problems == ()


def test_the_written_form_is_canonical_and_readable() -> None:
    view = ViewQuery(
        as_of=date(2025, 3, 31),
        known_at=datetime(2025, 4, 2, 10, tzinfo=UTC),
        zone="Africa/Nairobi",
        source="src 1+2/é",
        page=2,
        cursor="abc_-",
    )
    text = format_view_query(view)
    assert text.startswith("?asOf=2025-03-31&knownAt=2025-04-02T10:00:00Z&tz=Africa/Nairobi&")
    assert "source=src+1%2B2/%C3%A9" in text
    assert text.endswith("&page=2&cursor=abc_-")
    # A first page carries no position; a zone without a day is not written.
    assert format_view_query(ViewQuery(page=1, cursor="abc")) == ""
    assert format_view_query(ViewQuery(zone="UTC")) == ""


# --- round trip --------------------------------------------------------------------

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2026, 12, 6))
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2026, 12, 7), timezones=st.just(UTC)
)
moments = st.none() | days | instants
texts = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s)


@st.composite
def views(draw) -> ViewQuery:
    start, end = draw(st.none() | days), draw(st.none() | days)
    if start and end and start > end:
        start, end = end, start
    page = draw(st.integers(1, 5000))
    view = ViewQuery(
        as_of=draw(moments),
        known_at=draw(moments),
        zone=draw(st.sampled_from(("", *ZONES))),
        source=draw(st.just("") | texts),
        action=draw(st.sampled_from(("", *ACTIONS))),
        start=start,
        end=end,
        order=draw(st.sampled_from(("", *ORDERS))),
        page=page,
        cursor=draw(st.from_regex(r"[A-Za-z0-9_-]{1,120}", fullmatch=True)) if page > 1 else "",
        chart_range=draw(st.sampled_from(("", *RANGES))),
    )
    return view if view.has_days else ViewQuery(**{**_fields(view), "zone": ""})


def _fields(view: ViewQuery) -> dict[str, object]:
    return {name: getattr(view, name) for name in ViewQuery.__dataclass_fields__}


@given(views(), st.sampled_from(("Africa/Nairobi", "Pacific/Kiritimati", "Etc/GMT+12")))
def test_format_then_parse_gives_the_same_view_back(view: ViewQuery, viewer: str) -> None:
    parsed = _parse(format_view_query(view), viewer=viewer)
    assert parsed.problems == ()
    assert parsed.view == view


@given(views())
def test_the_written_form_is_a_fixed_point(view: ViewQuery) -> None:
    text = format_view_query(view)
    assert format_view_query(_parse(text).view) == text


@given(instants)
def test_an_instant_survives_its_text(moment: datetime) -> None:
    assert parse_moment(format_moment(moment)) == moment


@given(st.dictionaries(st.sampled_from(("asOf", "knownAt", "tz", "source", "action", "from",
                                        "to", "order", "page", "cursor", "range", "other")),
                       st.text(max_size=80)))  # fmt: skip
def test_any_parameters_give_a_usable_view_never_an_error(params: dict[str, str]) -> None:
    parsed = parse_view_query(
        params, viewer_zone=VIEWER, now=NOW, actions=ACTIONS, orders=ORDERS, ranges=RANGES
    )
    view = parsed.view
    tz = zone(view.zone or VIEWER)
    for moment in (view.as_of, view.known_at):
        if moment is not None:
            assert moment_end(moment, tz) < NOW + timedelta(days=1)
    assert view.action in ("", *ACTIONS) and view.order in ("", *ORDERS)
    assert view.chart_range in ("", *RANGES)
    assert (view.page == 1) == (view.cursor == "")
    # What it shows can be written down and read back as itself.
    again = _parse(format_view_query(view))
    assert again.view == view and again.problems == ()

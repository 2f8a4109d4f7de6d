"""Read-only questions about the capital history, each in one read-only transaction.

`as_of` (effective time) and `known_at` (recording time) default to now; when
both are now, answers come straight from the projection.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import api_key_repository as api_keys
from capital_app.db import history_repository as history
from capital_app.db import rate_repository
from capital_app.db import snapshot_repository as snapshot
from capital_app.db import user_repository as users
from capital_app.db.history_repository import HistoryFilter
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.currencies import BucketSums, RateBook, ReportingSummary
from capital_app.domain.events import HistoryEntry, SourceState
from capital_app.domain.series import Interval, series_dates
from capital_app.domain.values import Action, check_source_id, end_of_day
from capital_app.domain.views import ActiveSource, HistoryPage, SeriesPoint
from capital_app.domain.wacc import WaccSummary
from capital_app.service import reporting
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.errors import InvalidInput, NotFound
from capital_app.service.history_stream import open_history_stream

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class WaccAnswer:
    as_of: datetime
    known_at: datetime
    summary: WaccSummary  # in the reporting currency (see `reporting`)
    # After-tax WACC, the reporting currency and any missing FX rate (migration 0013).
    reporting: ReportingSummary | None = None


def moments(as_of: datetime | None, known_at: datetime | None) -> tuple[datetime, datetime, bool]:
    """(as_of, known_at, is_current): is_current when the answer is simply 'now'."""
    now = datetime.now(UTC)
    as_of = as_of or now
    known_at = known_at or now
    return as_of, known_at, as_of >= now and known_at >= now


def list_history(
    actor: Actor,
    *,
    source_id: str | None = None,
    action: Action | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    order: str = "effective",
    cursor: str | None = None,
    limit: int = 100,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> HistoryPage:
    """One page of the organization's history, with the cursor of the next page.

    Filtering by a source that is not the caller's organization's is NotFound,
    not an empty page, so a mistyped id is noticed.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput.one("limit", f"Limit must be between 1 and {MAX_PAGE}.")
    if order not in history.ORDERS:
        raise InvalidInput.one("order", "Unknown order.")
    flt = _history_filter(source_id, action, start, end, as_of, known_at)
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        _check_readable(conn, actor, flt)
        entries, next_cursor = history.list_history(
            conn, actor.organization_id, flt, order=order, cursor=cursor, limit=limit
        )
    return HistoryPage(entries=entries, next_cursor=next_cursor)


def stream_history(
    actor: Actor,
    *,
    source_id: str | None = None,
    action: Action | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> Iterator[HistoryEntry]:
    """Every matching entry in (effective date, sequence) order, however many.

    For readers that take the history as one array (the browser prototype's client
    never pages). Access and the source filter are checked now, so a refusal comes
    before the first entry; the entries then come a page at a time, all as of this
    moment's revision, without holding a connection between pages (history_stream).
    """
    flt = _history_filter(source_id, action, start, end, as_of, known_at)
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        _check_readable(conn, actor, flt)
    return open_history_stream(actor, flt)


def _history_filter(
    source_id: str | None,
    action: Action | None,
    start: datetime | None,
    end: datetime | None,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> HistoryFilter:
    """`as_of` (effective time) keeps entries effective by then; `known_at` (recording
    time, the database's `created_at`) keeps those recorded by then: the history as it
    was believed at `known_at`, the same question GET /api/wacc?knownAt= answers."""
    if source_id is not None:
        check_source_id(source_id)
    if as_of is not None:
        end = as_of if end is None else min(end, as_of)
    return HistoryFilter(
        source_id=source_id, action=action, start=start, end=end, recorded_until=known_at
    )


def _check_readable(conn: Connection, actor: Actor, flt: HistoryFilter) -> None:
    """The caller may read, and a source filter names one of its organization's sources
    (NotFound rather than an empty answer, so a mistyped id is noticed)."""
    authorize(conn, actor, Permission.READ)
    if flt.source_id is not None and (
        history.get_source(conn, actor.organization_id, flt.source_id) is None
    ):
        raise NotFound("No capital source with this id exists in your organization.")


def count_history(
    actor: Actor,
    *,
    source_id: str | None = None,
    action: Action | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    flt = HistoryFilter(source_id=source_id, action=action, start=start, end=end)
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        return history.count_history(conn, actor.organization_id, flt)


def source_history(
    actor: Actor,
    source_id: str,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> list[HistoryEntry]:
    """Every entry of one source, in fold order; NotFound outside the caller's organization."""
    flt = _history_filter(source_id, None, None, None, as_of, known_at)
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        _check_readable(conn, actor, flt)
        entries, _ = history.list_history(conn, actor.organization_id, flt)
        return entries


def get_source(actor: Actor, source_id: str) -> SourceState:
    """The current terms of one source (active or removed)."""
    check_source_id(source_id)
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        state = history.get_source(conn, actor.organization_id, source_id)
    if state is None:
        raise NotFound("No capital source with this id exists in your organization.")
    return state


def _active_sources(
    actor: Actor, as_of: datetime, known_at: datetime, current: bool
) -> list[ActiveSource]:
    return _active_sources_and_book(actor, as_of, known_at, current)[0]


def _active_sources_and_book(
    actor: Actor, as_of: datetime, known_at: datetime, current: bool
) -> tuple[list[ActiveSource], RateBook]:
    with tenant_transaction(actor.organization_id, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        if current:
            sources = history.current_sources(conn, actor.organization_id)
        else:
            sources = history.sources_as_of(conn, actor.organization_id, as_of, known_at)
        book = reporting.read_book(conn, actor.organization_id)
    return sorted_sources(sources), book


def sorted_sources(sources: list[ActiveSource]) -> list[ActiveSource]:
    """Largest first, then by name and id (every answer listing active sources)."""
    return sorted(sources, key=lambda s: (-s.available_cents, s.name.lower(), s.source_id))


def active_sources(
    actor: Actor, as_of: datetime | None = None, known_at: datetime | None = None
) -> list[ActiveSource]:
    return _active_sources(actor, *moments(as_of, known_at))


def _known_now(conn: Connection, org: UUID, known_at: datetime | None) -> bool:
    """Whether `known_at` sees everything recorded (then the snapshot answers)."""
    if known_at is None:
        return True
    latest = snapshot.latest_recorded_at(conn, org)
    return latest is None or known_at >= latest


def _end_of_day(moment: datetime) -> date | None:
    """The UTC day `moment` ends, if it is an end of day (a date-only asOf)."""
    utc = moment.astimezone(UTC)
    return utc.date() if utc.timetz() == time.max.replace(tzinfo=UTC) else None


def wacc(
    actor: Actor, as_of: datetime | None = None, known_at: datetime | None = None
) -> WaccAnswer:
    """WACC as of `as_of`, as known at `known_at`: now from the projection; at the end of
    a past day, as known now, from the snapshot; else by probing history per source."""
    asked_known_at = known_at
    # Decide "is this now?" once: re-deciding later would see a later now and take the
    # as-of path (one probe per source) for what the projection answers directly.
    as_of, known_at, current = moments(as_of, known_at)
    day = None if current else _end_of_day(as_of)
    if day is not None:
        org = actor.organization_id
        with tenant_transaction(org, read_only=True, snapshot=True) as conn:
            authorize(conn, actor, Permission.READ)
            if _known_now(conn, org, asked_known_at):
                buckets = snapshot.bucket_sums_at(conn, org, [day])[day]
                book = reporting.read_book(conn, org)
                found = reporting.of_buckets(
                    book, buckets, day, reporting.rates_known(asked_known_at)
                )
                return WaccAnswer(as_of, known_at, found.summary, found)
    sources, book = _active_sources_and_book(actor, as_of, known_at, current)
    rates_known = reporting.rates_known(asked_known_at)
    found = reporting.of_sources(book, sources, reporting.utc_day(as_of), rates_known)
    return WaccAnswer(as_of, known_at, found.summary, found)


class _SeriesCache:
    """Series as known now, keyed by the organization's revision.

    Every write transaction bumps the revision, so an answer stored under revision R
    stays exact until the next write. The revision is read before the series in the
    same transaction, so what is stored under R is never older than R.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], list[SeriesPoint]] = OrderedDict()
        self._asked: OrderedDict[tuple[Any, ...], None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> list[SeriesPoint] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], points: list[SeriesPoint]) -> None:
        with self._lock:
            self._items[key] = points
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            asked = (key[0], *key[2:])  # the series without its version
            self._asked[asked] = None
            self._asked.move_to_end(asked)
            while len(self._asked) > self.size:
                self._asked.popitem(last=False)

    def asked_before(self, org: UUID, start: date, end: date, interval: Interval) -> bool:
        """Whether this series was computed lately, under any version: a guess (the async
        read sends the series query along with the version when it was not)."""
        with self._lock:
            return (org, start, end, interval) in self._asked


_series_cache = _SeriesCache()
series_cache = _series_cache  # the async hot read (service/hot_reads.py) shares it


def wacc_series(
    actor: Actor,
    start: date,
    end: date,
    interval: Interval = Interval.MONTH,
    known_at: datetime | None = None,
) -> list[SeriesPoint]:
    """Total capital and WACC at the end of each point's day, for charts.

    As known now (no `known_at`), answers are cached per organization revision: a
    chart re-requested before anyone writes costs one index probe, not one per
    source, point and term.
    """
    dates = series_dates(start, end, interval)
    moments = [end_of_day(d) for d in dates]
    known = known_at or datetime.now(UTC)
    org = actor.organization_id
    with tenant_transaction(org, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        key = None
        if known_at is None:
            # Rates are append-only: their counts say whether a cached series is stale.
            version = (
                history.current_revision(conn, org),
                rate_repository.rates_version(conn, org),
            )
            key = series_key(org, version, start, end, interval)
            cached = _series_cache.get(key)
            if cached is not None:
                return list(cached)
        book = reporting.read_book(conn, org)
        if _known_now(conn, org, known_at):
            # As known now: the running sums of the snapshot, one scan for every point.
            by_day = snapshot.bucket_sums_at(conn, org, dates)
        else:
            sums = history.series_bucket_sums(conn, org, moments, known)
            by_day = {d: sums.get(m, []) for d, m in zip(dates, moments, strict=True)}
    points = series_points(book, by_day, dates, known_at)
    if key is not None:
        _series_cache.put(key, points)
    return list(points)


def series_key(
    org: UUID, version: tuple[int, tuple[int, int]], start: date, end: date, interval: Interval
) -> tuple[Any, ...]:
    """The cache key of a series as known now: (revision, rates_version) is its version."""
    return (org, version, start, end, interval)


def series_points(
    book: RateBook,
    by_day: dict[date, list[BucketSums]],
    dates: list[date],
    known_at: datetime | None,
) -> list[SeriesPoint]:
    """Each day's sums converted with the rate book (the async hot read shares it)."""
    points = []
    for day in dates:
        found = reporting.of_buckets(
            book, by_day.get(day, []), day, reporting.rates_known(known_at)
        )
        summary = found.summary
        points.append(
            SeriesPoint(
                date=day,
                total_cents=summary.total_cents,
                wacc=summary.wacc,
                source_count=summary.source_count,
                after_tax_wacc=found.after_tax_wacc,
                after_tax_note=found.after_tax_note,
                missing_rates=found.missing_rates,
                reporting_currency=found.reporting_currency,
            )
        )
    return points


def changes_since(actor: Actor, revision: int, limit: int = 1000) -> tuple[list[HistoryEntry], int]:
    """Entries written after `revision` and the organization's current revision.

    Revisions follow commit order, so a reader that remembers the revision it
    last saw never skips an entry, however late its transaction committed.
    """
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        current = history.current_revision(conn, actor.organization_id)
        entries = history.entries_since_revision(conn, actor.organization_id, revision, limit)
    return entries, current


def current_revision(actor: Actor) -> int:
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        return history.current_revision(conn, actor.organization_id)


def user_names(actor: Actor) -> dict[str, str]:
    """createdBy value → the user's display name, for 'who did what'."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        names = users.user_names(conn, actor.organization_id)
        keys = api_keys.key_names(conn, actor.organization_id)
    names.update({f"api-key:{key_id}": f"API key “{name}”" for key_id, name in keys.items()})
    return names

"""What people look at, each answer read in one read-only snapshot.

A page shows several numbers that must agree with each other (the total, the
WACC, the rows they come from, the latest changes): reading them in one
REPEATABLE READ transaction means a write committing meanwhile is either in all
of them or in none. Each answer also carries the
organization's revision it was read at, so a live page knows what it has seen.

`as_of` (effective time) and `known_at` (recording time) default to now; a past
view gives the organization exactly as it was (see domain/fold.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import history_repository as history
from capital_app.db import report_repository as reports
from capital_app.db import user_repository as users
from capital_app.db.history_repository import HistoryFilter
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.currencies import Holding, Kind, RateBook, ReportingSummary, buckets_of
from capital_app.domain.events import HistoryEntry, SourceState
from capital_app.domain.values import Action, check_source_id
from capital_app.domain.views import ActiveSource
from capital_app.domain.wacc import WaccSummary
from capital_app.service import reporting
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.errors import InvalidInput, NotFound

RECENT_ACTIVITY = 10
COMPARE_DAYS = 30
MAX_HISTORY_PAGE = 500


@dataclass(frozen=True, slots=True)
class Moment:
    """The (as of, as known at) a report was read for; `current` when both are now."""

    as_of: datetime
    known_at: datetime
    current: bool

    @classmethod
    def of(cls, as_of: datetime | None, known_at: datetime | None) -> Moment:
        now = datetime.now(UTC)
        as_of = min(as_of or now, now)
        known_at = min(known_at or now, now)
        return cls(as_of, known_at, as_of >= now and known_at >= now)


def _rates_known(moment: Moment) -> datetime:
    """Rates as known at the view's moment; now: every rate this snapshot sees."""
    return reporting.rates_known(None if moment.current else moment.known_at)


def _active_sources(conn: Connection, actor: Actor, moment: Moment) -> list[ActiveSource]:
    org = actor.organization_id
    if moment.current:
        return history.current_sources(conn, org)
    return history.sources_as_of(conn, org, moment.as_of, moment.known_at)


def _summary_at(
    conn: Connection,
    actor: Actor,
    book: RateBook,
    at: datetime,
    known_at: datetime,
    rates_known: datetime,
) -> ReportingSummary:
    buckets = history.series_bucket_sums(conn, actor.organization_id, [at], known_at).get(at, [])
    return reporting.of_buckets(book, buckets, reporting.utc_day(at), rates_known)


@dataclass(frozen=True, slots=True)
class DashboardSummary:
    moment: Moment
    sources: list[ActiveSource]  # largest amount first
    summary: WaccSummary  # in the reporting currency
    earlier: WaccSummary  # COMPARE_DAYS before `moment.as_of`, as known at the same time
    recent: list[HistoryEntry]  # newest recorded first
    names: dict[str, str]  # createdBy → display name
    history_starts: datetime | None
    revision: int
    # After-tax WACC, reporting currency, missing FX rates (migration 0013).
    reporting: ReportingSummary | None = None
    earlier_reporting: ReportingSummary | None = None
    currencies: dict[str, str] = field(default_factory=dict)  # of the `recent` entries' sources


def _currencies_of(conn: Connection, org: UUID, entries: list[HistoryEntry]) -> dict[str, str]:
    """Source id → its currency, for the sources these entries are of (a page's amounts
    are written in each source's own currency; other sources are not read)."""
    terms = history.source_terms(conn, org, (e.source_id for e in entries))
    return {source_id: currency for source_id, (currency, _) in terms.items()}


def dashboard_summary(
    actor: Actor,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    *,
    recent: int = RECENT_ACTIVITY,
    compare_days: int = COMPARE_DAYS,
) -> DashboardSummary:
    """Active sources, WACC now and `compare_days` earlier, and the latest entries."""
    moment = Moment.of(as_of, known_at)
    org = actor.organization_id
    with tenant_transaction(org, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        revision = history.current_revision(conn, org)
        sources = _active_sources(conn, actor, moment)
        book = reporting.read_book(conn, org)
        earlier = _summary_at(
            conn,
            actor,
            book,
            moment.as_of - timedelta(days=compare_days),
            moment.known_at,
            _rates_known(moment),
        )
        latest, _ = history.list_history(
            conn,
            org,
            HistoryFilter(end=moment.as_of, recorded_until=moment.known_at),
            order="recorded_desc",
            limit=recent,
        )
        names = users.user_names(conn, org)
        currencies = _currencies_of(conn, org, latest)
        starts = reports.first_effective_date(conn, org, moment.known_at)
    sources.sort(key=lambda s: (-s.available_cents, s.name.lower(), s.source_id))
    now = reporting.of_sources(book, sources, reporting.utc_day(moment.as_of), _rates_known(moment))
    return DashboardSummary(
        moment,
        sources,
        now.summary,
        earlier.summary,
        latest,
        names,
        starts,
        revision,
        now,
        earlier,
        currencies,
    )


@dataclass(frozen=True, slots=True)
class SourceOption:
    source_id: str
    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class HistoryView:
    moment: Moment
    entries: list[HistoryEntry]
    next_cursor: str | None
    names: dict[str, str]
    total: int | None  # only when asked for (counting a large history costs a scan)
    sources: list[SourceOption] | None  # only when asked for: what the filter offers
    revision: int
    currencies: dict[str, str] = field(default_factory=dict)  # of the page's entries' sources


def history_view(
    actor: Actor,
    *,
    source_id: str | None = None,
    action: Action | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    order: str = "recorded_desc",
    cursor: str | None = None,
    limit: int = 50,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    with_total: bool = False,
    with_sources: bool = False,
) -> HistoryView:
    """One keyset page of the audit trail as seen from `as_of` / `known_at`."""
    if not 1 <= limit <= MAX_HISTORY_PAGE:
        raise InvalidInput.one("limit", f"Limit must be between 1 and {MAX_HISTORY_PAGE}.")
    if order not in history.ORDERS:
        raise InvalidInput.one("order", "Unknown order.")
    if source_id is not None:
        check_source_id(source_id)
    moment = Moment.of(as_of, known_at)
    org = actor.organization_id
    flt = HistoryFilter(
        source_id=source_id,
        action=action,
        start=start,
        end=min(end, moment.as_of) if end else (None if moment.current else moment.as_of),
        recorded_until=None if moment.current else moment.known_at,
    )
    with tenant_transaction(org, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        revision = history.current_revision(conn, org)
        entries, next_cursor = history.list_history(
            conn, org, flt, order=order, cursor=cursor, limit=limit
        )
        names = users.user_names(conn, org)
        total = history.count_history(conn, org, flt) if with_total else None
        options = None
        if with_sources:
            options = sorted(
                (
                    SourceOption(s.source_id, s.name, s.active)
                    for s in history.all_sources(conn, org)
                ),
                key=lambda o: (o.name.lower(), o.source_id),
            )
        currencies = _currencies_of(conn, org, entries)
    return HistoryView(moment, entries, next_cursor, names, total, options, revision, currencies)


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One source as a list shows it, as of the view's moment."""

    source_id: str
    name: str
    available_cents: int
    annual_rate: Decimal
    active: bool
    added_date: datetime
    last_changed_date: datetime
    removed_date: datetime | None
    sequence: int
    currency: str | None = None  # the source's own (amounts are its minor units)
    kind: Kind = Kind.DEBT


def _line_of_state(state: SourceState, terms: dict[str, tuple[str, Kind]]) -> SourceLine:
    currency, kind = terms.get(state.source_id, (None, Kind.DEBT))
    return SourceLine(
        currency=currency,
        kind=kind,
        source_id=state.source_id,
        name=state.name,
        available_cents=state.available_cents,
        annual_rate=state.annual_rate,
        active=state.active,
        added_date=state.added_date,
        last_changed_date=state.last_effective_date,
        removed_date=state.removed_date,
        sequence=state.sequence,
    )


def _line_of_active(source: ActiveSource) -> SourceLine:
    return SourceLine(
        currency=source.currency,
        kind=source.kind,
        source_id=source.source_id,
        name=source.name,
        available_cents=source.available_cents,
        annual_rate=source.annual_rate,
        active=True,
        added_date=source.added_date,
        last_changed_date=source.last_changed_date,
        removed_date=None,
        sequence=source.sequence,
    )


def _reporting_of_lines(
    book: RateBook, lines: Iterable[SourceLine], moment: Moment
) -> ReportingSummary:
    """The active lines' total in the reporting currency, at the rate of the view's day."""
    holdings = [
        Holding(s.currency or book.reporting_currency, s.kind, s.available_cents, s.annual_rate)
        for s in lines
        if s.active
    ]
    return reporting.of_buckets(
        book, buckets_of(holdings), reporting.utc_day(moment.as_of), _rates_known(moment)
    )


@dataclass(frozen=True, slots=True)
class SourceList:
    moment: Moment
    sources: list[SourceLine]  # active first, then by name
    total_cents: int  # of the active ones, in the reporting currency (0 if a rate is missing)
    revision: int
    reporting: ReportingSummary | None = None  # missing FX rates, each currency's factor


def source_list(
    actor: Actor, as_of: datetime | None = None, known_at: datetime | None = None
) -> SourceList:
    """Every source: now, with removed ones too; in a past view, those active then."""
    moment = Moment.of(as_of, known_at)
    org = actor.organization_id
    with tenant_transaction(org, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        revision = history.current_revision(conn, org)
        if moment.current:
            terms = history.source_terms(conn, org)
            lines = [_line_of_state(s, terms) for s in history.all_sources(conn, org)]
        else:
            lines = [_line_of_active(s) for s in _active_sources(conn, actor, moment)]
        book = reporting.read_book(conn, org)
    lines.sort(key=lambda s: (not s.active, s.name.lower(), s.source_id))
    found = _reporting_of_lines(book, lines, moment)
    return SourceList(moment, lines, found.summary.total_cents, revision, found)


@dataclass(frozen=True, slots=True)
class SourceDetail:
    moment: Moment
    current: SourceState  # as stored now: what an edit starts from
    line: SourceLine | None  # as of the view's moment; None if not active then
    entries: list[HistoryEntry]  # as known at the view's moment, newest effective first
    names: dict[str, str]
    total_cents: int  # of all active sources at the view's moment (for the share), reporting
    revision: int
    reporting: ReportingSummary | None = None  # missing FX rates, each currency's factor
    currency: str | None = None  # the source's own (its amounts are in it)


def source_detail(
    actor: Actor,
    source_id: str,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> SourceDetail:
    check_source_id(source_id)
    moment = Moment.of(as_of, known_at)
    org = actor.organization_id
    with tenant_transaction(org, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        revision = history.current_revision(conn, org)
        current = history.get_source(conn, org, source_id)
        if current is None:
            raise NotFound("No capital source with this id exists in your organization.")
        active = _active_sources(conn, actor, moment)
        flt = HistoryFilter(
            source_id=source_id,
            end=None if moment.current else moment.as_of,
            recorded_until=None if moment.current else moment.known_at,
        )
        entries, _ = history.list_history(conn, org, flt, order="effective_desc")
        names = users.user_names(conn, org)
        book = reporting.read_book(conn, org)
        terms = history.source_terms(conn, org, [source_id])
    line: SourceLine | None
    if moment.current:
        line = _line_of_state(current, terms)
    else:
        found = next((s for s in active if s.source_id == source_id), None)
        line = _line_of_active(found) if found else None
    summary = _reporting_of_lines(book, (_line_of_active(s) for s in active), moment)
    own = terms.get(source_id, (None, Kind.DEBT))[0]
    return SourceDetail(
        moment, current, line, entries, names, summary.summary.total_cents, revision, summary, own
    )

"""The cheap, frequent reads, answered on the event loop in one database round trip.

Each is the same question as its history_queries.py twin, with the same answer and
the same refusals in the same order (the caller's standing first, then a source
that is not the organization's, then the rows): the tenant setting, the standing
(the user's row and latest sign-out, or the API key's standing) and the query go
out as one pipeline (db/async_reads.py) in one READ ONLY transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from capital_app.db import api_key_repository as api_keys
from capital_app.db import history_repository as history
from capital_app.db import rate_repository as rates
from capital_app.db import session_repository as sessions
from capital_app.db import snapshot_repository as snapshot
from capital_app.db import user_repository as users
from capital_app.db.async_reads import Statement, statement, tenant_read, tenant_snapshot_read
from capital_app.domain.currencies import RateBook
from capital_app.domain.errors import InvalidInput
from capital_app.domain.events import HistoryEntry
from capital_app.domain.series import Interval, series_dates
from capital_app.domain.values import Action
from capital_app.domain.views import ActiveSource, HistoryPage, SeriesPoint
from capital_app.service import history_queries as queries
from capital_app.service import reporting
from capital_app.service.actor import Actor, Permission, check_api_key, check_user
from capital_app.service.errors import NotFound
from capital_app.service.history_queries import (
    MAX_PAGE,
    WaccAnswer,
    _history_filter,
    sorted_sources,
)

_NO_SOURCE = "No capital source with this id exists in your organization."


def _standing_statements(actor: Actor) -> list[Statement]:
    org = actor.organization_id
    if actor.api_key_id is not None:
        params = {"org": org, "id": actor.api_key_id}
        return [statement(api_keys.KEY_STANDING_SQL, params, mapping=True)]
    if actor.issued_at is not None:
        params = sessions.latest_sign_out_params(org, actor.user_id)
        return [statement(sessions.USER_AND_SIGN_OUT_SQL, params, mapping=True)]
    return [statement(users.GET_USER_SQL, {"org": org, "id": actor.user_id}, mapping=True)]


def _check_standing(actor: Actor, results: list[list[Any]], permission: Permission) -> int:
    """Refuse as `authorize` would; returns how many results the standing used."""
    if actor.api_key_id is not None:
        rows = results[0]
        check_api_key(api_keys.standing_from_row(rows[0]) if rows else None, permission)
        return 1
    rows = results[0]
    user = users.user_from_row(rows[0]) if rows else None
    signed_out = None
    if actor.issued_at is not None and rows:
        value = rows[0]["signed_out_at"]
        signed_out = value.astimezone(UTC) if value else None
    check_user(actor, user, signed_out, permission)
    return 1


async def _read(actor: Actor, queries: list[Statement]) -> list[list[Any]]:
    """The standing checked, then the queries' rows (all read in one round trip)."""
    standing = _standing_statements(actor)
    results = await tenant_read(actor.organization_id, [*standing, *queries])
    used = _check_standing(actor, results, Permission.READ)
    return results[used:]


async def list_history(
    actor: Actor,
    *,
    source_id: str | None = None,
    action: Action | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> HistoryPage:
    """history_queries.list_history (order "effective"), in one round trip."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput.one("limit", f"Limit must be between 1 and {MAX_PAGE}.")
    flt = _history_filter(source_id, action, start, end, as_of, known_at)
    org = actor.organization_id
    try:
        sql, params = history.list_history_statement(org, flt, cursor=cursor, limit=limit)
    except InvalidInput:
        # A bad cursor: the sync path refuses it after the standing (401/403 first).
        await _read(actor, [])
        raise
    queries = [statement(sql, params)]
    if flt.source_id is not None:
        source = {"org": org, "source_id": flt.source_id}
        queries.insert(0, statement(history.GET_SOURCE_SQL, source))
    results = await _read(actor, queries)
    if flt.source_id is not None and not results.pop(0):
        raise NotFound(_NO_SOURCE)
    entries, next_cursor = history.page_of(
        history.entries_from_rows(results[0]), "effective", limit
    )
    return HistoryPage(entries=entries, next_cursor=next_cursor)


async def source_history(
    actor: Actor,
    source_id: str,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> list[HistoryEntry]:
    """history_queries.source_history, in one round trip."""
    flt = _history_filter(source_id, None, None, None, as_of, known_at)
    org = actor.organization_id
    sql, params = history.list_history_statement(org, flt)
    source = statement(history.GET_SOURCE_SQL, {"org": org, "source_id": source_id})
    found, rows = await _read(actor, [source, statement(sql, params)])
    if not found:
        raise NotFound(_NO_SOURCE)
    return history.entries_from_rows(rows)


async def current_sources(actor: Actor) -> list[ActiveSource]:
    """The sources active now, as known now (the projection), largest first."""
    query = statement(history.CURRENT_SOURCES_SQL, {"org": actor.organization_id}, mapping=True)
    (rows,) = await _read(actor, [query])
    return sorted_sources(history.current_sources_from_rows(rows))


async def current_wacc(actor: Actor, moment: datetime) -> WaccAnswer:
    """WACC now, as known now; `moment` is the now the caller decided was current.

    The sources and the rate book (reporting currency, FX and tax rates) are read in the
    same transaction and round trip, then converted as history_queries.wacc does."""
    org = {"org": actor.organization_id}
    sources_rows, currency_rows, fx_rows, tax_rows = await _read(
        actor,
        [
            statement(history.CURRENT_SOURCES_SQL, org, mapping=True),
            statement(rates.REPORTING_CURRENCY_SQL, org),
            statement(rates.FX_RATES_SQL, org),
            statement(rates.TAX_RATES_SQL, org),
        ],
    )
    sources = sorted_sources(history.current_sources_from_rows(sources_rows))
    book = RateBook(
        str(currency_rows[0][0]), rates.fx_from_rows(fx_rows), rates.tax_from_rows(tax_rows)
    )
    found = reporting.of_sources(book, sources, reporting.utc_day(moment), moment)
    return WaccAnswer(moment, moment, found.summary, found)


async def wacc_series(
    actor: Actor, start: date, end: date, interval: Interval = Interval.MONTH
) -> list[SeriesPoint]:
    """history_queries.wacc_series as known now, sharing its revision-keyed cache, in one
    REPEATABLE READ transaction: the standing and the series' version first; on a cache
    miss the rate book and the snapshot's sums next. A series not asked for lately (a
    likely miss) sends all of it in the first round trip."""
    dates = series_dates(start, end, interval)
    org = actor.organization_id
    standing = _standing_statements(actor)
    version = statement(snapshot.SERIES_VERSION_SQL, {"org": org})
    computing = [
        statement(rates.REPORTING_CURRENCY_SQL, {"org": org}),
        statement(rates.FX_RATES_SQL, {"org": org}),
        statement(rates.TAX_RATES_SQL, {"org": org}),
        statement(snapshot.BUCKET_SUMS_AT_SQL, snapshot.bucket_sums_params(org, dates)),
    ]
    at_once = not queries.series_cache.asked_before(org, start, end, interval)
    key: tuple[Any, ...] = ()
    cached: list[SeriesPoint] | None = None

    def then(results: list[list[Any]]) -> list[Statement]:
        nonlocal key, cached
        used = _check_standing(actor, results, Permission.READ)
        revision, fx_count, tax_count = results[used][0]
        key = queries.series_key(
            org, (int(revision or 0), (int(fx_count), int(tax_count))), start, end, interval
        )
        cached = queries.series_cache.get(key)
        return [] if cached is not None or at_once else computing

    first, second = await tenant_snapshot_read(
        org, [*standing, version, *(computing if at_once else [])], then
    )
    if cached is not None:
        return list(cached)
    currency_rows, fx_rows, tax_rows, sums_rows = first[-4:] if at_once else second
    book = RateBook(
        str(currency_rows[0][0]), rates.fx_from_rows(fx_rows), rates.tax_from_rows(tax_rows)
    )
    by_day = snapshot.bucket_sums_from_rows(sums_rows, dates)
    points = queries.series_points(book, by_day, dates, None)
    queries.series_cache.put(key, points)
    return list(points)

"""Totals and WACC in the reporting currency, for every read that shows them.

Sources keep their own currency; a read converts at the rate in force on the day it
is about, as known at its `known_at` (domain/currencies.py has the rule). The rate
book is read in the same transaction as the sums, so both are of one moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import rate_repository as rates
from capital_app.domain.currencies import (
    BucketSums,
    Holding,
    RateBook,
    ReportingSummary,
    buckets_of,
    reporting_summary,
)
from capital_app.domain.views import ActiveSource

# "As known now": every rate the transaction sees (a clock read before it began could
# leave out one that committed just then, while the answer is cached as including it).
NOW_AND_LATER = datetime.max.replace(tzinfo=UTC)


def rates_known(known_at: datetime | None) -> datetime:
    return known_at if known_at is not None else NOW_AND_LATER


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def holdings_of(sources: Iterable[ActiveSource], reporting: str) -> list[Holding]:
    """Active sources as the conversion sees them (no currency: the organization's)."""
    return [
        Holding(s.currency or reporting, s.kind, s.available_cents, s.annual_rate) for s in sources
    ]


def of_sources(
    book: RateBook, sources: Iterable[ActiveSource], day: date, known_at: datetime
) -> ReportingSummary:
    """The reporting summary of these active sources on `day`, as known at `known_at`."""
    buckets = buckets_of(holdings_of(sources, book.reporting_currency))
    return reporting_summary(buckets, book, day, known_at)


def of_buckets(
    book: RateBook, buckets: Iterable[BucketSums], day: date, known_at: datetime
) -> ReportingSummary:
    return reporting_summary(buckets, book, day, known_at)


def read_book(conn: Connection, org: UUID) -> RateBook:
    """The organization's reporting currency and rates, in the caller's transaction."""
    return rates.rate_book(conn, org)

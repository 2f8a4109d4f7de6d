"""Active sources as of a moment, as known at a moment: the SQL answers what the fold does.

The statement (`history_repository._SOURCES_AS_OF`) probes two terms per source and
takes the last change and the sequence from shortcuts: the later of the two terms'
dates, and the projection's `latest_sequence` when everything recorded is known.
These tests pin each field of each row to its definition:

- terms, name, added date and last change: the domain fold of the entries in effect
  at `as_of` and recorded by `known_at`;
- sequence: the source's highest sequence recorded by `known_at` (what a client sends
  as `expectedSequence`), whatever the as-of date.

Histories are random with backdated changes, removals and entries sharing a recording
moment (one transaction), written in several transactions, some in bulk mode; the
recording moments themselves (exact ties), the moments just before them, and now are
asked as `known_at`.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capital_app.db import history_repository as history
from capital_app.db import import_export_repository as transfer
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain.events import HistoryEntry
from capital_app.domain.fold import fold
from capital_app.domain.values import Action
from capital_app.service import history_queries as queries
from tests.db.test_wacc_snapshot import BASE, SPAN_HOURS, entry, histories
from tests.support.factories import make_tenant

MICROSECOND = timedelta(microseconds=1)
Row = tuple[str, int, object, datetime, datetime, int]


def write(org: UUID, entries: list[HistoryEntry], bulk: bool = False) -> None:
    """One transaction (one recording moment): row by row, or as one bulk statement."""
    with tenant_transaction(org) as conn:
        history.claim_transaction_revision(conn, org)
        if bulk:
            transfer.enable_bulk_insert(conn)
            transfer.insert_entries(conn, org, entries, recorded_by=None, import_id=None)
        else:
            for one in entries:
                transfer.insert_entries(conn, org, [one], recorded_by=None, import_id=None)


def stored_entries(org: UUID) -> list[HistoryEntry]:
    with tenant_transaction(org, read_only=True) as conn:
        return history.all_entries(conn, org)


def answered(org: UUID, as_of: datetime, known_at: datetime) -> dict[str, Row]:
    with tenant_transaction(org, read_only=True) as conn:
        sources = history.sources_as_of(conn, org, as_of, known_at)
    rows = {
        s.source_id: (
            s.name,
            s.available_cents,
            s.annual_rate,
            s.added_date,
            s.last_changed_date,
            s.sequence,
        )
        for s in sources
    }
    assert len(rows) == len(sources)
    return rows


def expected(entries: list[HistoryEntry], as_of: datetime, known_at: datetime) -> dict[str, Row]:
    """The definition: the fold for the terms and dates, the latest known for the sequence."""
    known = [e for e in entries if e.created_at is not None and e.created_at <= known_at]
    return {
        source_id: (
            s.name,
            s.available_cents,
            s.annual_rate,
            s.added_date,
            s.last_effective_date,
            max(e.sequence for e in known if e.source_id == source_id),
        )
        for source_id, s in fold(entries, as_of=as_of, known_at=known_at).items()
        if s.active
    }


def known_ats(entries: list[HistoryEntry]) -> list[datetime]:
    """Every recording moment (ties: `<=` must include it), just before each, and later."""
    recorded = sorted({e.created_at for e in entries if e.created_at is not None})
    return [
        *recorded,
        *(moment - MICROSECOND for moment in recorded),
        recorded[-1] + timedelta(days=1),
    ]


@st.composite
def recorded_histories(draw: st.DrawFn) -> list[tuple[list[HistoryEntry], bool]]:
    """The snapshot tests' histories, recorded in one to three transactions (each row by
    row or in bulk): later transactions backdate changes under earlier ones."""
    before, statement = draw(histories())
    ordered = before + statement  # each source's entries in sequence order
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(ordered) - 1)), max_size=2))))
    bounds = [0, *(c for c in cuts if c < len(ordered)), len(ordered)]
    return [(ordered[a:b], draw(st.booleans())) for a, b in itertools.pairwise(bounds) if b > a]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    transactions=recorded_histories(),
    hours=st.lists(st.integers(-5, SPAN_HOURS + 40), min_size=2, max_size=5),
)
def test_as_of_rows_equal_the_fold_at_every_known_moment(
    database_url: str, transactions: list[tuple[list[HistoryEntry], bool]], hours: list[int]
) -> None:
    org = make_tenant("As-of property").org_id
    for entries, bulk in transactions:
        write(org, entries, bulk)
    entries = stored_entries(org)
    # Whole hours land exactly on effective dates (`<=` ties); a minute later, between.
    moments = [BASE + timedelta(hours=h, minutes=m) for h in hours for m in (0, 1)]
    for as_of in moments:
        for known_at in known_ats(entries):
            assert answered(org, as_of, known_at) == expected(entries, as_of, known_at), (
                as_of,
                known_at,
            )


def test_a_past_known_at_sees_the_terms_dates_and_sequence_of_then(database_url: str) -> None:
    tenant = make_tenant("As-of past known")
    org = tenant.org_id
    write(
        org,
        [
            entry("loan", 1, Action.ADDED, 0, 1000),
            entry("loan", 2, Action.AMOUNT_CHANGED, 48, 2000),
        ],
    )
    write(org, [entry("loan", 3, Action.AMOUNT_CHANGED, 72, 3000)])
    entries = stored_entries(org)
    first, second = sorted({e.created_at for e in entries if e.created_at is not None})
    as_of = BASE + timedelta(hours=100)

    (then,) = answered(org, as_of, first).values()
    assert then[1] == 2000 and then[4] == BASE + timedelta(hours=48) and then[5] == 2
    assert answered(org, as_of, second - MICROSECOND) == answered(org, as_of, first)
    (now,) = answered(org, as_of, second).values()
    assert now[1] == 3000 and now[4] == BASE + timedelta(hours=72) and now[5] == 3
    assert answered(org, as_of, first - MICROSECOND) == {}  # nothing recorded yet
    # The service, asked without knownAt, answers as known now.
    (service,) = queries.active_sources(tenant.actor(), as_of=as_of)
    assert (service.available_cents, service.sequence) == (3000, 3)


def test_a_removed_source_is_listed_until_its_removal_is_in_effect_and_known(
    database_url: str,
) -> None:
    org = make_tenant("As-of removal").org_id
    write(
        org,
        [
            entry("gone", 1, Action.ADDED, 0, 1000),
            entry("gone", 2, Action.RATE_CHANGED, 24, 2000),
            entry("stays", 1, Action.ADDED, 0, 500),
        ],
    )
    write(org, [entry("gone", 3, Action.REMOVED, 96, 2000)])
    entries = stored_entries(org)
    before_removal, removal = sorted({e.created_at for e in entries if e.created_at is not None})
    later = removal + timedelta(days=1)

    assert set(answered(org, BASE + timedelta(hours=120), later)) == {"stays"}
    assert set(answered(org, BASE + timedelta(hours=96), later)) == {"stays"}  # effective then
    listed = answered(org, BASE + timedelta(hours=95), later)["gone"]
    # In effect: the rate change of hour 24 (the removal is not yet); the sequence is
    # the latest known, the removal's.
    assert listed[4] == BASE + timedelta(hours=24) and listed[5] == 3
    # Before the removal was recorded, the source is active at any date, sequence 2.
    unknown = answered(org, BASE + timedelta(hours=500), before_removal)["gone"]
    assert unknown[4] == BASE + timedelta(hours=24) and unknown[5] == 2
    for as_of in (BASE + timedelta(hours=h) for h in (0, 24, 95, 96, 500)):
        for known_at in known_ats(entries):
            assert answered(org, as_of, known_at) == expected(entries, as_of, known_at)


def test_a_backdated_correction_changes_the_past_it_should_and_no_more(
    database_url: str,
) -> None:
    org = make_tenant("As-of backdated").org_id
    write(
        org,
        [
            entry("loan", 1, Action.ADDED, 0, 1000),
            entry("loan", 2, Action.AMOUNT_CHANGED, 240, 2000),
        ],
    )
    # Recorded later: the rate had changed at hour 120, and the amount at hour 48.
    write(
        org,
        [
            entry("loan", 3, Action.RATE_CHANGED, 120, 3500),
            entry("loan", 4, Action.AMOUNT_CHANGED, 48, 4000),
        ],
    )
    entries = stored_entries(org)
    first, _ = sorted({e.created_at for e in entries if e.created_at is not None})
    later = max(e.created_at for e in entries if e.created_at) + timedelta(days=1)

    def at(hours: int, known_at: datetime = later) -> Row:
        return answered(org, BASE + timedelta(hours=hours), known_at)["loan"]

    rate_added, rate_corrected = Decimal(1000 % 997) / 1000, Decimal(3500 % 997) / 1000
    assert at(300)[1:3] == (2000, rate_corrected) and at(300)[4] == BASE + timedelta(hours=240)
    assert at(150)[1:3] == (4000, rate_corrected) and at(150)[4] == BASE + timedelta(hours=120)
    assert at(60)[1:3] == (4000, rate_added) and at(60)[4] == BASE + timedelta(hours=48)
    assert at(47)[1:3] == (1000, rate_added) and at(47)[4] == BASE
    assert {at(h)[5] for h in (47, 60, 150, 300)} == {4}
    # As known before the corrections: the amount of hour 240 only, sequence 2.
    assert at(150, first)[1:3] == (1000, rate_added) and at(150, first)[5] == 2
    assert at(300, first)[1:3] == (2000, rate_added)

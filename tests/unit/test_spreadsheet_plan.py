"""Rows checked together and against stored sources: the ledger's rules, every problem."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from capital_app.domain.events import HistoryEntry
from capital_app.domain.fold import fold
from capital_app.domain.spreadsheet_plan import plan_sheet
from capital_app.domain.spreadsheet_rows import SheetTable, guess_mapping, read_rows
from capital_app.domain.values import Action

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
HEADER = ("Source", "Action", "Amount", "Rate", "Effective date", "Notes")


def plan(*rows: tuple[str, ...], stored: list[HistoryEntry] = ()):  # type: ignore[assignment]
    table = SheetTable(HEADER, [(i + 2, r) for i, r in enumerate(rows)])
    read = read_rows(table, guess_mapping(HEADER), NOW)
    states = fold(stored)
    asked: list[str] = []

    def history(source_id: str) -> list[HistoryEntry]:
        asked.append(source_id)
        return [e for e in stored if e.source_id == source_id]

    ids = itertools.count(1)
    result = plan_sheet(read, states.values(), history, lambda: f"id-{next(ids)}")
    return result, asked


def entry(seq: int, action: Action, day: str, cents: int, rate: str, **kw: object) -> HistoryEntry:
    return HistoryEntry(
        id=f"s{seq}",
        source_id="stored",
        sequence=seq,
        action=action,
        effective_date=datetime.fromisoformat(day).replace(tzinfo=UTC),
        name="KCB loan",
        annual_rate=Decimal(rate),
        available_cents=cents,
        **kw,  # type: ignore[arg-type]
    )


STORED = [
    entry(1, Action.ADDED, "2025-01-01", 100000, "0.10"),
    entry(2, Action.RATE_CHANGED, "2025-06-01", 100000, "0.12", previous_rate=Decimal("0.10")),
]


def problems(result) -> list[tuple[int | None, str | None]]:
    return [(p.index, p.field) for p in result.problems]


def test_adds_and_changes_in_the_file_become_entries_in_order() -> None:
    result, _ = plan(
        ("Equity", "add", "5,000.00", "10", "2025-01-01", "opened"),
        ("equity", "change amount", "6,000.00", "", "2025-02-01", ""),
        ("EQUITY", "change rate", "", "11.5", "2025-03-01", ""),
        ("Equity", "remove", "", "", "2025-04-01", ""),
        ("Equity", "add", "1,000.00", "9", "2025-05-01", "again"),
    )
    assert not result.problems
    first, second = result.sources.values()
    assert [e.action for e in first] == [
        Action.ADDED,
        Action.AMOUNT_CHANGED,
        Action.RATE_CHANGED,
        Action.REMOVED,
    ]
    assert [e.sequence for e in first] == [1, 2, 3, 4]
    assert first[1].previous_amount == 500000 and first[1].annual_rate == Decimal("0.1")
    assert first[2].previous_rate == Decimal("0.1") and first[2].available_cents == 600000
    assert all(e.name == "Equity" for e in first)  # the name as added
    assert [e.action for e in second] == [Action.ADDED]
    assert sorted(result.positions.values()) == [2, 3, 4, 5, 6]
    states = list(result.final.values())
    assert not states[0].active and states[1].active


def test_changes_of_a_stored_source_follow_its_sequence() -> None:
    result, asked = plan(
        ("kcb LOAN", "change amount", "2,000.00", "", "2025-07-01", ""),
        stored=STORED,
    )
    assert not result.problems and asked == []  # not backdated: the history is not read
    (new,) = result.sources["stored"]
    assert (new.sequence, new.previous_amount, new.annual_rate) == (3, 100000, Decimal("0.12"))
    assert result.final["stored"].available_cents == 200000


def test_a_backdated_change_uses_the_terms_of_its_date() -> None:
    result, asked = plan(
        ("KCB loan", "change amount", "3,000.00", "", "2025-03-01", ""),
        stored=STORED,
    )
    assert not result.problems and asked == ["stored"]
    (new,) = result.sources["stored"]
    assert new.annual_rate == Decimal("0.10")  # the rate on 1 Mar, before June's change
    final = result.final["stored"]
    assert (final.available_cents, final.annual_rate) == (300000, Decimal("0.12"))
    assert final == fold([*STORED, new])["stored"]


def test_every_kind_of_problem_with_its_row() -> None:
    result, _ = plan(
        ("KCB loan", "add", "1,000.00", "10", "2025-01-01", ""),  # 2: already active (stored)
        ("Nope", "change rate", "", "9", "2025-01-01", ""),  # 3: unknown
        ("Later", "remove", "", "", "2025-01-01", ""),  # 4: added only by a later row
        ("Later", "add", "1.00", "1", "2025-01-01", ""),  # 5: fine
        ("Later", "add", "1.00", "1", "2025-01-01", ""),  # 6: repeats row 5
        ("Later", "add", "2.00", "1", "2025-01-01", ""),  # 7: already active (row 5)
        ("KCB loan", "change rate", "", "12", "2025-07-01", ""),  # 8: no change
        ("KCB loan", "change amount", "5.00", "", "2024-01-01", ""),  # 9: before it was added
        ("KCB loan", "remove", "", "", "2025-05-01", ""),  # 10: before June's change
        ("Later", "remove", "", "", "2025-02-01", ""),  # 11: fine
        ("Later", "change rate", "", "3", "2025-03-01", ""),  # 12: removed
        stored=STORED,
    )
    assert problems(result) == [
        (2, "source"),
        (3, "source"),
        (4, "source"),
        (6, None),
        (7, "source"),
        (8, "rate"),
        (9, "effectiveDate"),
        (10, None),
        (12, "source"),
    ]
    messages = {p.index: p.message for p in result.problems}
    assert "already has it" in messages[2]
    assert "no earlier row adds it" in messages[3]
    assert "row 5 adds it, after this row" in messages[4]
    assert "repeats row 5" in messages[6]
    assert "row 5 already adds it" in messages[7]
    assert "already 12.00 %" in messages[8]
    assert "before the source was added" in messages[9]
    assert "removal cannot take effect before it" in messages[10]
    assert "was removed on 1 Feb 2025 by row 11" in messages[12]


def test_rows_of_a_source_whose_add_has_a_problem_are_not_second_guessed() -> None:
    result, _ = plan(
        ("New", "add", "-1", "10", "2025-01-01", ""),
        ("New", "change rate", "", "11", "2025-02-01", ""),
        ("New", "change rate", "", "abc", "2025-02-01", ""),
    )
    assert problems(result) == [(2, "amount"), (4, "rate")]


def test_a_removed_stored_source_can_be_added_again_under_its_name() -> None:
    removed = [*STORED, entry(3, Action.REMOVED, "2025-08-01", 100000, "0.12")]
    result, _ = plan(("KCB loan", "add", "10.00", "5", "2025-09-01", ""), stored=removed)
    assert not result.problems
    (new_id,) = [sid for sid in result.sources if sid != "stored"]
    assert result.final[new_id].active
    result, _ = plan(("KCB loan", "change rate", "", "5", "2025-09-01", ""), stored=removed)
    assert "was removed on 1 Aug 2025" in result.problems[0].message


def test_a_failed_change_does_not_hide_later_rows_of_its_source() -> None:
    result, _ = plan(
        ("Typo", "change rate", "", "abc", "2025-02-01", ""),
        ("Typo", "change rate", "", "11", "2025-03-01", ""),
    )
    assert problems(result) == [(2, "rate"), (3, "source")]

"""History entries in words: who did what, previous → new, effective when, how long ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from capital_app.domain.dates import zone
from capital_app.domain.describe import (
    author_name,
    change_of,
    conflict_message,
    story_of,
)
from capital_app.domain.events import HistoryEntry
from capital_app.domain.values import Action

NOW = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
NAMES = {"u-jane": "Jane", "u-mary": "Mary"}


def _entry(action: Action, **changes) -> HistoryEntry:
    values = {
        "id": "e1",
        "source_id": "s1",
        "sequence": 2,
        "action": action,
        "effective_date": datetime(2026, 3, 1, 9, tzinfo=UTC),
        "name": "KCB term loan",
        "annual_rate": Decimal("0.1325"),
        "available_cents": 250_000_000_00,
        "created_at": NOW - timedelta(hours=2),
        "created_by": "u-jane",
    }
    values.update(changes)
    return HistoryEntry(**values)


def test_rate_change_reads_like_the_ui_brief():
    entry = _entry(Action.RATE_CHANGED, previous_rate=Decimal("0.14"))
    story = story_of(entry, NAMES, NOW, UTC)
    assert story.sentence == (
        "Jane changed KCB term loan rate 14.00 % → 13.25 % · effective 1 Mar · 2 h ago"
    )
    assert story.after == "13.25 %"
    assert story.recorded_exact == "1 Mar 2026, 09:00:00 UTC"


def test_every_action_in_words():
    added = story_of(_entry(Action.ADDED, sequence=1), NAMES, NOW, UTC)
    assert added.sentence == (
        "Jane added KCB term loan KES 250,000,000.00 at 13.25 % · effective 1 Mar · 2 h ago"
    )
    amount = story_of(
        _entry(Action.AMOUNT_CHANGED, previous_amount=300_000_000_00), NAMES, NOW, UTC
    )
    assert "amount KES 300,000,000.00 → KES 250,000,000.00" in amount.sentence
    removed = story_of(_entry(Action.REMOVED, sequence=3), NAMES, NOW, UTC)
    assert removed.sentence == "Jane removed KCB term loan · effective 1 Mar · 2 h ago"


def test_effective_day_is_the_viewers_day():
    late = _entry(
        Action.RATE_CHANGED,
        previous_rate=Decimal("0.14"),
        effective_date=datetime(2026, 2, 28, 22, 0, tzinfo=UTC),
    )
    assert "effective 1 Mar" in story_of(late, NAMES, NOW, zone("Africa/Nairobi")).sentence
    assert "effective 28 Feb" in story_of(late, NAMES, NOW, UTC).sentence


def test_authors_unknown_users_and_imported_names():
    assert author_name("u-mary", NAMES) == "Mary"
    assert author_name("jane@prototype", NAMES) == "jane@prototype"
    assert author_name(None, NAMES) == "Someone"


def test_changes_show_previous_and_new_values():
    change = change_of(_entry(Action.RATE_CHANGED, previous_rate=Decimal("0.14")))
    assert (change.what, change.before, change.after) == ("rate", "14.00 %", "13.25 %")
    removed = change_of(_entry(Action.REMOVED))
    assert (removed.before, removed.after) == ("KES 250,000,000.00 at 13.25 %", "removed")


def test_conflict_messages_say_who_changed_what_and_that_current_values_show():
    rate = _entry(
        Action.RATE_CHANGED,
        annual_rate=Decimal("0.135"),
        previous_rate=Decimal("0.14"),
        created_by="u-mary",
        created_at=NOW - timedelta(seconds=3),
    )
    assert conflict_message(rate, "rate", NAMES, NOW, UTC) == (
        "Not saved: Mary changed this rate to 13.50 % a moment ago. Current values are shown."
    )
    assert conflict_message(rate, "amount", NAMES, NOW, UTC).startswith(
        "Not saved: Mary changed the rate of KCB term loan to 13.50 % a moment ago."
    )
    removed = _entry(Action.REMOVED, created_by="u-mary", created_at=NOW - timedelta(minutes=5))
    assert conflict_message(removed, "rate", NAMES, NOW, UTC) == (
        "Not saved: Mary removed KCB term loan 5 min ago. Current values are shown."
    )
    assert "someone else" in conflict_message(None, "rate", NAMES, NOW, UTC)

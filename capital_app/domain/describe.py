"""History entries told in words: who did what, the previous → new value, when.

Pure text for people (activity feeds, audit rows, conflict messages), built only
from the one formatting helper of each kind (money, rate, dates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from capital_app.domain.dates import (
    format_date_short,
    format_datetime,
    format_relative,
    format_utc,
)
from capital_app.domain.events import HistoryEntry
from capital_app.domain.money import format_money, format_rate
from capital_app.domain.values import Action

ACTION_LABELS: dict[Action, str] = {
    Action.ADDED: "Added",
    Action.AMOUNT_CHANGED: "Amount changed",
    Action.RATE_CHANGED: "Rate changed",
    Action.REMOVED: "Removed",
}


def author_name(created_by: str | None, names: Mapping[str, str]) -> str:
    """The display name behind `createdBy` (a user id, or an imported author as written)."""
    if not created_by:
        return "Someone"
    return names.get(created_by, created_by)


def provenance_of(entry: HistoryEntry, tz: tzinfo) -> str:
    """For an imported entry, what its file said of it: "Imported · originally recorded
    1 Mar 2025, 09:14 by “cfo@example.co.ke”"; empty for entries recorded here.

    The file's author is quoted as written, never looked up among the users: a file
    can claim anything, so it must not read like one of this organization's people.
    """
    if entry.import_id is None:
        return ""
    text = "Imported"
    if entry.original_created_at is not None:
        text += f" · originally recorded {format_datetime(entry.original_created_at, tz)}"
    if entry.original_created_by:
        text += f" by “{entry.original_created_by}”"
    return text


@dataclass(frozen=True, slots=True)
class Change:
    """What an entry did to its source: `before` is empty when nothing came before."""

    what: str  # "rate", "amount", "terms", "status"
    before: str
    after: str


def change_of(entry: HistoryEntry, currency: str = "KES") -> Change:
    """The previous → new value of one entry."""
    if entry.action is Action.RATE_CHANGED:
        return Change("rate", format_rate(entry.previous_rate), format_rate(entry.annual_rate))
    if entry.action is Action.AMOUNT_CHANGED:
        before = format_money(entry.previous_amount, currency) if entry.previous_amount else ""
        return Change("amount", before, format_money(entry.available_cents, currency))
    terms = f"{format_money(entry.available_cents, currency)} at {format_rate(entry.annual_rate)}"
    if entry.action is Action.ADDED:
        return Change("terms", "", terms)
    return Change("status", terms, "removed")


@dataclass(frozen=True, slots=True)
class EntryStory:
    """One entry as a sentence in parts, so a page can emphasize the new value.

    `sentence` is the whole: "Jane changed KCB term loan rate 14.00 % → 13.25 %
    · effective 1 Mar · 2 h ago".
    """

    who: str
    verb: str  # "added", "changed", "removed"
    subject: str  # "KCB term loan rate"
    before: str
    after: str
    effective: str  # "effective 1 Mar"
    ago: str  # "2 h ago"
    recorded_exact: str  # "1 Mar 2026, 09:14:07 UTC" (for a tooltip)

    @property
    def sentence(self) -> str:
        change = f"{self.before} → {self.after}" if self.before else self.after
        head = f"{self.who} {self.verb} {self.subject}"
        if change and self.verb != "removed":
            head = f"{head} {change}"
        return f"{head} · {self.effective} · {self.ago}"


def story_of(
    entry: HistoryEntry,
    names: Mapping[str, str],
    now: datetime,
    tz: tzinfo,
    currency: str = "KES",
) -> EntryStory:
    change = change_of(entry, currency)
    recorded = entry.created_at or entry.effective_date
    if entry.action is Action.ADDED:
        verb, subject = "added", entry.name
    elif entry.action is Action.REMOVED:
        verb, subject = "removed", entry.name
    else:
        verb, subject = "changed", f"{entry.name} {change.what}"
    return EntryStory(
        who=author_name(entry.created_by, names),
        verb=verb,
        subject=subject,
        before=change.before if entry.action is not Action.REMOVED else "",
        after=change.after if entry.action is not Action.REMOVED else "",
        effective=f"effective {format_date_short(entry.effective_date, tz, now)}",
        ago=format_relative(recorded, now, tz),
        recorded_exact=format_utc(recorded),
    )


def conflict_message(
    latest: HistoryEntry | None,
    editing: str,
    names: Mapping[str, str],
    now: datetime,
    tz: tzinfo,
    currency: str = "KES",
) -> str:
    """Why an edit was refused because someone else changed the source first.

    `editing` is what the refused edit changed ("rate", "amount", "status"):
    "Not saved: Mary changed this rate to 13.50 % a moment ago. Current values
    are shown."
    """
    tail = "Current values are shown."
    if latest is None:
        return f"Not saved: someone else changed this source a moment ago. {tail}"
    who = author_name(latest.created_by, names)
    recorded = latest.created_at or now
    ago = format_relative(recorded, now, tz)
    ago = "a moment ago" if ago == "just now" else ago
    if latest.action is Action.RATE_CHANGED:
        subject = "this rate" if editing == "rate" else f"the rate of {latest.name}"
        what = f"changed {subject} to {format_rate(latest.annual_rate)}"
    elif latest.action is Action.AMOUNT_CHANGED:
        subject = "this amount" if editing == "amount" else f"the amount of {latest.name}"
        what = f"changed {subject} to {format_money(latest.available_cents, currency)}"
    elif latest.action is Action.REMOVED:
        what = f"removed {latest.name}"
    else:
        what = f"added {latest.name}"
    return f"Not saved: {who} {what} {ago}. {tail}"

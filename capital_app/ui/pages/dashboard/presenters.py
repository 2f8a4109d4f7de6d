"""What the dashboard shows, as plain data: pure functions, no Reflex, unit-tested.

The state (state.py) holds what they return; a live push (live.py) calls the
same functions once per variant and sends the result to every session of it.
Rows carry their sort keys and their amount in cents, so the browser sorts them
and computes each row's share of capital itself: a change to one source then
travels as that one row, not as the whole list with every share re-computed.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from capital_app.domain.currencies import (
    ReportingSummary,
    convert_exact,
    minor_units,
    round_minor,
)
from capital_app.domain.dates import format_age, format_exact
from capital_app.domain.describe import story_of
from capital_app.domain.events import HistoryEntry
from capital_app.domain.money import (
    format_basis_points,
    format_money,
    format_money_short,
    format_rate,
)
from capital_app.domain.series import Interval
from capital_app.domain.views import ActiveSource, SeriesPoint
from capital_app.domain.wacc import WaccSummary
from capital_app.ui.navigation import source_href
from capital_app.ui.state import PendingEdit, unconfirmed_additions, unconfirmed_change

RANGES = ("3M", "1Y", "All")
SORT_KEYS = ("name", "amount", "rate", "share", "changed")


@dataclass
class SourceRow:
    """One row of the active sources table (keyed by `source_id`; "" while pending)."""

    source_id: str = ""
    name: str = ""
    amount: str = ""
    rate: str = ""
    last_change: str = ""
    last_change_exact: str = ""
    pending: bool = False
    pending_label: str = ""
    removing: bool = False
    href: str = ""
    # Sort keys and the share's numerator, for the browser (decimal strings: exact).
    cents: str = "0"
    rate_key: str = "0"
    changed_key: str = ""
    name_key: str = ""
    # A live patch that takes the source off the list.
    gone: bool = False
    # Filled in by the browser (rows_js): the share of capital, as text and bar width.
    share: str = ""
    share_width: str = ""


@dataclass
class ActivityRow:
    key: str = ""  # the entry's id
    who: str = ""
    verb: str = ""
    subject: str = ""
    before: str = ""
    after: str = ""
    effective: str = ""
    ago: str = ""
    exact: str = ""
    href: str = ""


@dataclass(frozen=True, slots=True)
class Kpis:
    total: str
    total_exact: str
    total_note: str
    wacc: str
    wacc_note: str
    count: str
    count_note: str
    delta: str
    delta_tone: str  # up | down | flat
    delta_note: str
    # Migration 0013: after-tax WACC beside WACC, and what keeps a total from being known.
    after_tax: str = "—"
    after_tax_note: str = ""
    problem: str = ""  # e.g. "no USD→KES rate on or before 3 Mar 2025" ("" when none)


def _sentence(messages: tuple[str, ...]) -> str:
    text = "; ".join(messages)
    return text[:1].upper() + text[1:] + "." if text else ""


def kpis_of(
    now: WaccSummary,
    then: WaccSummary,
    currency: str,
    reporting: ReportingSummary | None = None,
    earlier: ReportingSummary | None = None,
) -> Kpis:
    """The cards: total capital, WACC (and after tax), active sources, WACC change over
    30 days. A missing FX rate shows as the problem it is, never as a zero."""
    after_tax, after_tax_note = "—", "Needs a corporate tax rate (Rates page)"
    if reporting is not None:
        after_tax = format_rate(reporting.after_tax_wacc)
        if reporting.after_tax_wacc is not None:
            after_tax_note = "Debt's cost less tax"
        elif reporting.after_tax_note and reporting.complete:
            after_tax_note = _sentence((reporting.after_tax_note,))
        elif not reporting.complete:
            after_tax_note = "Needs every FX rate"
        else:
            after_tax_note = "No active sources"
    if reporting is not None and not reporting.complete:
        problem = _sentence(reporting.missing_rates)
        return Kpis(
            total="—",
            total_exact="",
            total_note="Unknown: an FX rate is missing",
            wacc="—",
            wacc_note="Unknown: an FX rate is missing",
            count=str(now.source_count),
            count_note="",
            delta="—",
            delta_tone="flat",
            delta_note="Needs every FX rate",
            after_tax=after_tax,
            after_tax_note=after_tax_note,
            problem=problem,
        )
    then_known = earlier is None or earlier.complete
    delta_cents = now.total_cents - then.total_cents
    if not then_known:
        total_note = "30 days ago unknown: an FX rate is missing"
    elif delta_cents == 0:
        total_note = "No change over 30 days"
    else:
        arrow = "▲" if delta_cents > 0 else "▼"
        total_note = f"{arrow} {format_money_short(abs(delta_cents), currency)} over 30 days"
    change = now.source_count - then.source_count
    if not then_known:
        delta, tone, delta_note = "—", "flat", _sentence(earlier.missing_rates if earlier else ())
    elif now.wacc is None or then.wacc is None:
        delta, tone, delta_note = "—", "flat", "Needs active sources now and 30 days ago"
    else:
        moved = now.wacc - then.wacc
        delta = format_basis_points(moved)
        tone = "up" if moved > 0 else "down" if moved < 0 else "flat"
        delta_note = f"From {format_rate(then.wacc)} 30 days ago"
    return Kpis(
        total=format_money_short(now.total_cents, currency),
        total_exact=format_money(now.total_cents, currency),
        total_note=total_note,
        wacc=format_rate(now.wacc),
        wacc_note="Weighted by amount" if now.wacc is not None else "No active sources",
        count=str(now.source_count),
        count_note=f"{change:+d} since 30 days ago" if change else "Same as 30 days ago",
        delta=delta,
        delta_tone=tone,
        delta_note=delta_note,
        after_tax=after_tax,
        after_tax_note=after_tax_note,
    )


def source_row(
    s: ActiveSource,
    currency: str,
    now: datetime,
    tz: tzinfo,
    pending: PendingEdit | None = None,
    factors: Mapping[str, Decimal] | None = None,
) -> SourceRow:
    """One row; its amount in the source's own currency, its share (`cents`) in the
    reporting currency's minor units, converted exactly when the rate is known."""
    own = s.currency or currency
    share_cents = s.available_cents
    if own != currency:
        # The browser sorts and shares in integers (BigInt): whole reporting minor units.
        factor = (factors or {}).get(own)
        share_cents = round_minor(convert_exact(s.available_cents, factor)) if factor else 0
    return SourceRow(
        source_id=s.source_id,
        name=s.name,
        amount=(pending and pending.amount_text) or format_money(s.available_cents, own),
        rate=(pending and pending.rate_text) or format_rate(s.annual_rate),
        last_change=format_age(s.last_changed_date, now, tz),
        last_change_exact=format_exact(s.last_changed_date, tz),
        pending=pending is not None,
        pending_label=pending.label if pending else "",
        removing=bool(pending and pending.kind == "remove"),
        href=source_href(s.source_id),
        cents=str(share_cents),
        rate_key=str(s.annual_rate),
        changed_key=s.last_changed_date.isoformat(),
        name_key=s.name.lower(),
    )


def gone_row(source_id: str) -> SourceRow:
    return SourceRow(source_id=source_id, gone=True)


def source_rows(
    sources: list[ActiveSource],
    pending: list[PendingEdit],
    currency: str,
    now: datetime,
    tz: tzinfo,
    factors: Mapping[str, Decimal] | None = None,
) -> list[SourceRow]:
    """Rows of the loaded sources with pending edits merged in (additions first)."""
    rows = [
        SourceRow(
            name=p.name,
            amount=p.amount_text,
            rate=p.rate_text,
            pending=True,
            pending_label=p.label,
            name_key=p.name.lower(),
        )
        for p in unconfirmed_additions(pending, {s.name.lower() for s in sources})
    ]
    for s in sources:
        rows.append(
            source_row(
                s,
                currency,
                now,
                tz,
                unconfirmed_change(pending, s.source_id, s.sequence),
                factors,
            )
        )
    return rows


def changed_rows(old: list[SourceRow], new: list[SourceRow]) -> list[SourceRow]:
    """What turns `old` into `new`, by source id: changed or added rows, and `gone` rows."""
    before = {r.source_id: r for r in old}
    after = {r.source_id: r for r in new}
    patch = [r for sid, r in after.items() if before.get(sid) != r]
    patch += [gone_row(sid) for sid in before if sid not in after]
    return patch


def chunk_of(source_id: str, chunks: int) -> int:
    """Which base chunk a source's row lives in (stable across loads, workers and restarts)."""
    return zlib.crc32(source_id.encode()) % chunks


def split_rows(rows: list[SourceRow], chunks: int) -> tuple[list[SourceRow], ...]:
    """The rows in `chunks` lists by `chunk_of` (pending rows, id "", keep their order)."""
    parts: list[list[SourceRow]] = [[] for _ in range(chunks)]
    for row in rows:
        parts[chunk_of(row.source_id, chunks)].append(row)
    return tuple(parts)


def fold_patches(
    base: tuple[list[SourceRow], ...], patches: list[SourceRow | None]
) -> tuple[tuple[list[SourceRow], ...], list[SourceRow | None]]:
    """Fold the patches of ONE chunk into it, freeing their slots (all slots are in use).

    The chunk holding the most patched sources (for its size) is chosen, so one
    fold frees as many slots as it can for the fewest bytes: that chunk (about
    1/len(base) of the list) travels again, never the whole list.
    """
    chunks = len(base)
    counts = [0] * chunks
    for p in patches:
        if p is not None:
            counts[chunk_of(p.source_id, chunks)] += 1
    best = max(range(chunks), key=lambda j: (counts[j] / (len(base[j]) + 1), -j))
    mine: list[SourceRow | None] = [
        p for p in patches if p is not None and chunk_of(p.source_id, chunks) == best
    ]
    folded = list(base)
    folded[best] = apply_rows(base[best], mine)
    left = [None if p is not None and chunk_of(p.source_id, chunks) == best else p for p in patches]
    return tuple(folded), left


def join_rows(base: tuple[list[SourceRow], ...] | list[list[SourceRow]]) -> list[SourceRow]:
    return [row for chunk in base for row in chunk]


def apply_rows(base: list[SourceRow], patches: list[SourceRow | None]) -> list[SourceRow]:
    """The rows a browser shows from a base and its patches (the same rule as in rows_js)."""
    rows = {r.source_id: r for r in base}
    for p in patches:
        if p is None:
            continue
        if p.gone:
            rows.pop(p.source_id, None)
        else:
            rows[p.source_id] = p
    return list(rows.values())


def share_text(cents: int, total: int) -> str:
    """'12.3 %' (what the browser computes from the row's cents and the total)."""
    if total <= 0:
        return "0.0 %"
    tenths = (cents * 1000 * 2 + total) // (2 * total)  # half up, in integers
    return f"{tenths // 10}.{tenths % 10} %"


def sorted_rows(rows: list[SourceRow], key: str, descending: bool) -> list[SourceRow]:
    """The browser's order (pending additions first), for tests and server-side checks."""
    from decimal import Decimal

    def value(r: SourceRow) -> Any:  # one kind per key: str, Decimal or int
        if key == "name":
            return r.name_key
        if key == "rate":
            return Decimal(r.rate_key)
        if key == "changed":
            return r.changed_key
        return int(r.cents)

    pending = [r for r in rows if not r.source_id]
    rest = sorted((r for r in rows if r.source_id), key=lambda r: (r.name_key, r.source_id))
    rest.sort(key=value, reverse=descending)  # stable: ties keep name, then id, ascending
    return pending + rest


def activity_rows(
    entries: list[HistoryEntry],
    names: dict[str, str],
    now: datetime,
    tz: tzinfo,
    currency: str,
    currencies: Mapping[str, str] | None = None,
) -> list[ActivityRow]:
    """`currencies`: each source's own (amounts are written in it); default `currency`."""
    rows = []
    for entry in entries:
        own = (currencies or {}).get(entry.source_id, currency)
        story = story_of(entry, names, now, tz, own)
        rows.append(
            ActivityRow(
                key=entry.id,
                who=story.who,
                verb=story.verb,
                subject=story.subject,
                before=story.before,
                after=story.after,
                effective=story.effective,
                ago=story.ago,
                exact=story.recorded_exact,
                href=source_href(entry.source_id),
            )
        )
    return rows


def chart_window(range_key: str, end: date, starts: date | None) -> tuple[date, Interval]:
    if range_key == "3M":
        return end - timedelta(days=91), Interval.WEEK
    if range_key == "1Y":
        return end - timedelta(days=365), Interval.WEEK
    start = min(starts or end, end)
    interval = Interval.MONTH if (end - start).days > 3 * 365 else Interval.WEEK
    return start, interval


def long_span(start: date, end: date, interval: Interval) -> bool:
    return interval is Interval.MONTH or (end - start).days > 200


def chart_point(point: SeriesPoint, currency: str, long: bool) -> dict[str, object]:
    """Plot coordinates as integers (whole units, basis points); exact text for tooltips."""
    label = point.date.strftime("%b %Y") if long else f"{point.date.day} {point.date:%b}"
    if point.missing_rates:  # a gap in the line, with the reason: never a zero
        return {
            "label": label,
            "total": None,
            "wacc_bp": None,
            "total_text": _sentence(point.missing_rates),
            "wacc_text": "—",
            "day": f"{point.date.day} {point.date:%b %Y}",
        }
    shown: dict[str, object] = {
        "label": label,
        "total": point.total_cents // 10 ** minor_units(currency),
        "wacc_bp": _basis_points(point.wacc),
        "total_text": format_money(point.total_cents, currency),
        "wacc_text": format_rate(point.wacc),
        "day": f"{point.date.day} {point.date:%b %Y}",
    }
    if point.after_tax_wacc is not None:  # only where a tax rate is in force: a gap before
        shown["after_tax_bp"] = _basis_points(point.after_tax_wacc)
        shown["after_tax_text"] = format_rate(point.after_tax_wacc)
    return shown


def _basis_points(rate: Decimal | None) -> int | None:
    """The chart's plot coordinate; the tooltip shows the exact rate beside it."""
    return int((rate * 10000).to_integral_value()) if rate is not None else None


@functools.lru_cache(maxsize=16_384)
def _chart_point_once(point: SeriesPoint, currency: str, long: bool) -> dict[str, object]:
    return chart_point(point, currency, long)


def chart_points(points: list[SeriesPoint], currency: str, long: bool) -> list[dict[str, object]]:
    """Formatted points; a point already formatted (same date and values) is reused.

    A push re-reads the whole window but usually only its last days differ: the
    other ~360 points come from the cache (no code mutates a formatted point).
    """
    return [_chart_point_once(p, currency, long) for p in points]


def split_chart(
    points: list[dict[str, object]], head_shown: list[dict[str, object]], tail_size: int
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(head, tail): the head stays what the browser has when only the tail changed."""
    cut = max(0, len(points) - tail_size)
    if len(head_shown) <= cut and points[: len(head_shown)] == head_shown and head_shown:
        return head_shown, points[len(head_shown) :]
    return points[:cut], points[cut:]


def ring_rows(slots: tuple[ActivityRow | None, ...], seq: int) -> list[ActivityRow]:
    """The rows pushed since the base, newest first: the last `seq` written, ring order.

    Row j (0 = the first after the base) sits in slot j % len(slots); the browser
    reads the same way (activity.shown_js).
    """
    size = len(slots)
    picked = (slots[(seq - 1 - p) % size] for p in range(min(size, seq)))
    return [r for r in picked if r is not None]


def activity_update(
    base: list[ActivityRow],
    slots: tuple[ActivityRow | None, ...],
    seq: int,
    rows: list[ActivityRow],
) -> tuple[list[ActivityRow], tuple[ActivityRow | None, ...], int]:
    """(base, slots, seq): `rows` as the newest rows written into ring slots over the base.

    The browser shows `(ring_rows(slots, seq) + base)[:len(rows)]`; each new row
    takes the next slot (one row per change travels, however many came before).
    When that would not be `rows` (by entry), or a burst has more new rows than
    slots, the whole list becomes the new base (seq 0).
    """
    new = ring_rows(slots, seq)
    shown = [r.key for r in (new + base)[: len(rows)]]
    known = {r.key for r in new + base}
    fresh = [r for r in rows if r.key not in known]
    candidate = [r.key for r in (fresh + new + base)[: len(rows)]]
    if (
        len(fresh) <= len(slots)
        and candidate == [r.key for r in rows]
        and (fresh or candidate == shown)
    ):
        out = list(slots)
        for i, row in enumerate(reversed(fresh)):  # the oldest new row first
            out[(seq + i) % len(out)] = row
        return base, tuple(out), seq + len(fresh)
    return rows, slots, 0


def shown_activity(
    base: list[ActivityRow], slots: tuple[ActivityRow | None, ...], seq: int, limit: int
) -> list[ActivityRow]:
    return (ring_rows(slots, seq) + base)[:limit]

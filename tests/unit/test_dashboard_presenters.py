"""The dashboard's presenters and its live deltas, without Reflex running.

A change to one source must travel as that source's row (in a patch slot keyed
by source id), the KPIs and the revision — never the whole list — and the
browser's merge of base + patches must give what a fresh load gives.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from capital_app.domain.views import ActiveSource
from capital_app.domain.wacc import WaccSummary
from capital_app.ui.pages.dashboard import presenters as present
from capital_app.ui.pages.dashboard.live import _delta, _slots
from capital_app.ui.pages.dashboard.state import (
    ACTIVITY_VARS,
    BASE_CHUNKS,
    BASE_VARS,
    PATCH_SLOTS,
    LiveView,
    targets_of,
)
from capital_app.ui.state import PendingEdit

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _sources(n: int) -> list[ActiveSource]:
    return [
        ActiveSource(
            source_id=f"s{i:04d}",
            name=f"Loan {i}",
            annual_rate=Decimal("0.1") + Decimal(i) / 10000,
            available_cents=1_000_000_00 + i * 100,
            sequence=1,
            added_date=NOW - timedelta(days=30),
            last_changed_date=NOW - timedelta(days=i % 20),
        )
        for i in range(n)
    ]


def _view(sources: list[ActiveSource], previous: LiveView | None, revision: int) -> LiveView:
    rows = present.source_rows(sources, [], "KES", NOW, UTC)
    epoch, base, patches = _slots(previous, rows)
    total = sum(s.available_cents for s in sources)
    summary = WaccSummary(total_cents=total, wacc=Decimal("0.1"), source_count=len(sources))
    return LiveView(
        revision=revision,
        epoch=epoch,
        base=base,
        patches=patches,
        kpis=present.kpis_of(summary, summary, "KES"),
        total_cents=str(total),
        activity=[],
        activity_slots=(None,) * len(ACTIVITY_VARS),
        activity_seq=0,
        chart_head=[],
        chart_tail=[],
        chart_status="ready",
        chart_problem="",
        sources=sources,
        summary=summary,
        history_starts=None,
        targets=targets_of(sources),
    )


def _by_id(rows: list[present.SourceRow]) -> list[present.SourceRow]:
    """Rows in source id order (the browser sorts; the base's chunks are in hash order)."""
    return sorted(rows, key=lambda r: r.source_id)


def _size(delta: dict) -> int:
    return len(json.dumps({"delta": delta, "events": []}, separators=(",", ":")))


def test_a_one_source_change_is_one_row_whatever_the_number_of_sources() -> None:
    for n in (10, 200, 1000):
        sources = _sources(n)
        first = _view(sources, None, 1)
        changed = list(sources)
        changed[n // 2] = replace(changed[n // 2], available_cents=7_000_000_00, sequence=2)
        second = _view(changed, first, 2)
        delta = _delta(first, second, full=False)
        fields = next(iter(delta.values()))
        assert not [k for k in fields if k.startswith("rows_base_")]
        patches = [k for k, v in fields.items() if k.startswith("patch_")]
        assert len(patches) == 1
        assert fields[patches[0]]["source_id"] == f"s{n // 2:04d}"
        assert _size(delta) < 2048, (n, _size(delta))
        assert _by_id(second.rows()) == _by_id(present.source_rows(changed, [], "KES", NOW, UTC))


def test_full_slots_fold_into_one_chunk_never_the_whole_list() -> None:
    """However many distinct sources changed, a one-source change sends one row
    (plus, once the slots are full, one base chunk: about 1/BASE_CHUNKS of the list)."""
    n = 400
    sources = _sources(n)
    view = _view(sources, None, 1)
    folds = 0
    for i in range(3 * PATCH_SLOTS):
        sources = list(sources)
        sources[i] = replace(sources[i], available_cents=5_00 + i, sequence=2)
        before = view
        view = _view(sources, before, 2 + i)
        assert _by_id(view.rows()) == _by_id(present.source_rows(sources, [], "KES", NOW, UTC))
        assert view.epoch == before.epoch == 0
        fields = next(iter(_delta(before, view, full=False).values()))
        chunks = [k for k in fields if k.startswith("rows_base_")]
        rows_sent = sum(len(fields[k]) for k in chunks)
        rows_sent += sum(1 for k, v in fields.items() if k.startswith("patch_") and v)
        if i < PATCH_SLOTS:
            assert not chunks and rows_sent == 1, i  # a free slot: the row alone
        else:
            assert len(chunks) <= 1, (i, chunks)
            folds += bool(chunks)
            assert rows_sent <= 1 + 3 * n // BASE_CHUNKS, (i, rows_sent)
        assert [v["source_id"] for k, v in fields.items() if k.startswith("patch_") and v] == [
            f"s{i:04d}"
        ]
    assert 0 < folds < 2 * PATCH_SLOTS


def test_the_same_source_changed_twice_reuses_its_slot_and_removal_is_a_gone_row() -> None:
    sources = _sources(5)
    first = _view(sources, None, 1)
    once = _view([replace(sources[0], available_cents=1), *sources[1:]], first, 2)
    twice = _view([replace(sources[0], available_cents=2), *sources[1:]], once, 3)
    assert sum(p is not None for p in twice.patches) == 1
    removed = _view(sources[1:], twice, 4)
    gone = [p for p in removed.patches if p is not None and p.gone]
    assert [g.source_id for g in gone] == ["s0000"]
    assert _by_id(removed.rows()) == _by_id(present.source_rows(sources[1:], [], "KES", NOW, UTC))


def test_a_member_without_the_base_gets_everything() -> None:
    sources = _sources(20)
    first = _view(sources, None, 1)
    second = _view(sources[:-1], first, 2)
    fields = next(iter(_delta(first, second, full=True).values()))
    assert sum(len(fields[name + "_rx_state_"]) for name in BASE_VARS) == 20
    assert all(f"patch_{i}_rx_state_" in fields for i in range(PATCH_SLOTS))
    assert "kpi_total_rx_state_" in fields


def test_share_and_order_match_the_browser_rules() -> None:
    assert present.share_text(1, 3) == "33.3 %"
    assert present.share_text(1, 8) == "12.5 %"  # 12.5 exactly: one decimal, half up
    assert present.share_text(1, 16) == "6.3 %"
    assert present.share_text(5, 0) == "0.0 %"
    rows = present.source_rows(_sources(4), [], "KES", NOW, UTC)
    by_amount = present.sorted_rows(rows, "amount", True)
    assert [r.source_id for r in by_amount] == ["s0003", "s0002", "s0001", "s0000"]
    tied = [replace(r, cents="5") for r in rows]
    assert [r.name for r in present.sorted_rows(tied, "amount", True)] == [
        "Loan 0",
        "Loan 1",
        "Loan 2",
        "Loan 3",
    ]


def test_pending_edits_show_in_the_rows() -> None:
    sources = _sources(2)
    pending = [
        PendingEdit("k1", "add", "", "New loan", 1, amount_text="KES 1.00", rate_text="1.00 %"),
        PendingEdit("k2", "amount", "s0001", "Loan 1", 2, amount_text="KES 9.00"),
    ]
    rows = present.source_rows(sources, pending, "KES", NOW, UTC)
    assert rows[0].name == "New loan" and rows[0].pending and rows[0].source_id == ""
    changed = next(r for r in rows if r.source_id == "s0001")
    assert changed.pending and changed.amount == "KES 9.00" and changed.pending_label == "Saving…"


def test_the_chart_head_stays_when_only_the_tail_changed() -> None:
    points = [{"label": str(i), "total": i} for i in range(10)]
    head, tail = present.split_chart(points, [], 2)
    assert len(head) == 8 and len(tail) == 2
    moved = [*points[:-1], {"label": "9", "total": 99}]
    head2, tail2 = present.split_chart(moved, head, 2)
    assert head2 is head and tail2 == moved[8:]
    earlier = [{"label": "0", "total": -1}, *points[1:]]
    head3, _ = present.split_chart(earlier, head, 2)
    assert head3 is not head and head3[0]["total"] == -1


def _entries(keys: list[str]) -> list[present.ActivityRow]:
    return [present.ActivityRow(key=k, subject=k) for k in keys]


def test_new_activity_takes_the_next_ring_slot_however_many_came_before() -> None:
    size = 10
    base = _entries([str(i) for i in range(10, 0, -1)])
    slots: tuple[present.ActivityRow | None, ...] = (None,) * size
    seq = 0
    for n in range(11, 11 + 3 * size):
        rows = _entries([str(i) for i in range(n, n - 10, -1)])
        before = slots
        base2, slots, seq = present.activity_update(base, slots, seq, rows)
        assert base2 is base and seq == n - 10
        assert sum(a is not b for a, b in zip(before, slots, strict=True)) == 1  # one row
        assert present.shown_activity(base, slots, seq, 10) == rows
    # A burst of more new rows than slots (an import), or a list that is not the
    # old one with rows on top: the whole list becomes the base.
    n = 11 + 3 * size + size + 1
    rows = _entries([str(i) for i in range(n, n - 10, -1)])
    base3, slots3, seq3 = present.activity_update(
        base, slots, seq, _entries([str(i) for i in range(n, n - size - 1, -1)])
    )
    assert seq3 == 0 and present.shown_activity(base3, slots3, seq3, 10) == rows
    reordered = [rows[1], rows[0], *rows[2:]]
    base4, _, seq4 = present.activity_update(base3, slots3, seq3, reordered)
    assert base4 == reordered and seq4 == 0

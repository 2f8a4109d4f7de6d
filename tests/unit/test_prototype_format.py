"""Reading the prototype's export: strict, exact, every problem reported with its entry."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capital_app.domain.events import HistoryEntry
from capital_app.domain.export_format import json_chunks
from capital_app.domain.prototype_format import (
    KNOWN_FIELDS,
    ImportProblem,
    PrototypeHistory,
    parse_export,
)
from capital_app.domain.values import Action
from tests.support.prototype import (
    FIXTURES,
    dumps,
    independent_state,
    js_noise,
    load,
    parse_iso,
    random_history,
)

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def parse(entries: list[dict] | str, noise: dict[int, str] | None = None) -> PrototypeHistory:
    text = entries if isinstance(entries, str) else dumps(entries, noise)
    return parse_export([text.encode()], NOW)


def problems_at(history: PrototypeHistory) -> list[tuple[int | None, str | None]]:
    return [(p.index, p.field) for p in history.problems]


def added(**overrides: object) -> dict:
    entry = {
        "id": "hist_1",
        "effectiveDate": "2024-01-22T09:00:00.000Z",
        "sourceId": "src_1",
        "name": "KCB term loan",
        "annualRate": Decimal("0.1325"),
        "availableCents": 250_000_000,
        "action": "ADDED",
        "createdAt": "2024-01-22T09:04:13.000Z",
    }
    entry.update(overrides)
    return entry


def change(n: int, action: str, **overrides: object) -> dict:
    entry = added(
        id=f"hist_{n}",
        action=action,
        effectiveDate=f"2024-02-{n:02d}T09:00:00.000Z",
        createdAt=f"2024-02-{n:02d}T10:00:00.000Z",
    )
    entry.update(overrides)
    return entry


# --- the sample exports -----------------------------------------------------------


@pytest.mark.parametrize("name", ["demo-export.json", "large-export.json"])
def test_the_sample_exports_read_without_problems(name: str) -> None:
    raw = load(name)
    history = parse_export([(FIXTURES / name).read_bytes()], NOW)
    assert history.problems == []
    assert history.entries_in_file == history.entry_count == len(raw)
    assert {a.value: n for a, n in history.action_counts().items()} == Counter(
        e["action"] for e in raw
    )
    expected = independent_state(raw)
    assert set(history.final) == set(expected)
    for source_id, state in history.final.items():
        assert (state.name, state.available_cents, state.annual_rate, state.active) == (
            expected[source_id]["name"],
            expected[source_id]["cents"],
            expected[source_id]["rate"],
            expected[source_id]["active"],
        )


def test_the_large_sample_keeps_ids_dates_and_creators() -> None:
    raw = load("large-export.json")
    history = parse_export([(FIXTURES / "large-export.json").read_bytes()], NOW)
    by_id = {e.id: e for e in history.entries()}
    for entry in raw[:500]:
        mine = by_id[entry["id"]]
        assert mine.source_id == entry["sourceId"]
        assert mine.effective_date == parse_iso(entry["effectiveDate"])
        assert mine.original_created_at == parse_iso(entry["createdAt"])
        assert mine.original_created_by == entry.get("createdBy")
        assert mine.notes == entry.get("notes")


# --- numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "rate"),
    [
        ("0.021400000000000002", "0.0214"),
        ("0.10070000000000001", "0.1007"),
        ("0.28140000000000004", "0.2814"),
        ("0.13249999999999998", "0.1325"),
        ("0.1234560004", "0.123456"),  # 4e-10 away: noise
        ("0.1325", "0.1325"),
        ("1", "1"),
        ("0", "0"),
        ("-0.0", "0"),
        ("1.325e-1", "0.1325"),
    ],
)
def test_javascript_float_noise_snaps_to_six_places(written: str, rate: str) -> None:
    history = parse([added()], noise={0: written})
    assert history.problems == []
    [entry] = history.entries()
    assert entry.annual_rate == Decimal(rate)
    assert str(entry.annual_rate) == str(Decimal(rate).quantize(Decimal("0.000001")))


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("0.1234567", "more than 6 decimal places"),
        ("0.123456002", "more than 6 decimal places"),  # 2e-9 away: real precision
        ("13.25", "above 100 %"),
        ("-0.01", "between 0% and 100%"),
        ("1.5", "above 100 %"),
        ("150", "between 0% and 100%"),
        ('"0.1325"', "must be a number"),
        ("true", "must be a number"),
        ("NaN", "not NaN"),
    ],
)
def test_rates_that_are_not_six_place_fractions_are_refused(written: str, message: str) -> None:
    history = parse([added()], noise={0: written})
    assert problems_at(history) == [(0, "annualRate")]
    assert message in history.problems[0].message


@pytest.mark.parametrize("cents", [Decimal("250000000.0"), Decimal("2.5E+8")])
def test_whole_cents_written_with_a_fraction_part_are_the_same_number(cents: Decimal) -> None:
    history = parse([added(availableCents=cents)])
    assert history.problems == []
    assert next(history.entries()).available_cents == 250_000_000


@pytest.mark.parametrize(
    ("cents", "message"),
    [
        (Decimal("2500.5"), "whole number of cents"),
        ("2500", "whole number of cents"),
        (True, "whole number of cents"),
        (0, "at least 0.01"),
        (10**15 + 1, "at most"),
    ],
)
def test_amounts_must_be_whole_cents_in_range(cents: object, message: str) -> None:
    history = parse([added(availableCents=cents)])
    assert problems_at(history) == [(0, "availableCents")]
    assert message in history.problems[0].message


# --- fields ----------------------------------------------------------------------------


def test_absent_optional_keys_are_filled_from_the_history() -> None:
    entries = [
        added(),
        change(3, "AMOUNT_CHANGED", availableCents=300_000_000),
        change(4, "RATE_CHANGED", annualRate=Decimal("0.14"), availableCents=300_000_000),
        change(5, "REMOVED", annualRate=Decimal("0.14"), availableCents=300_000_000),
    ]
    history = parse(entries)
    assert history.problems == []
    _first, amount, rate, removal = history.sources["src_1"]
    assert amount.previous_amount == 250_000_000 and amount.previous_rate is None
    assert rate.previous_rate == Decimal("0.1325") and rate.previous_amount is None
    assert (removal.previous_rate, removal.previous_amount) == (None, None)
    assert all(e.notes is None and e.original_created_by is None for e in history.entries())
    assert not history.final["src_1"].active


def test_null_is_the_same_as_absent() -> None:
    entry = added(previousRate=None, previousAmount=None, notes=None, createdBy=None)
    entry["sequence"] = None
    assert parse([entry]).problems == []


def test_unknown_fields_are_reported_not_dropped() -> None:
    history = parse([added(currency="USD"), change(3, "AMOUNT_CHANGED", _pending=True)])
    assert problems_at(history) == [(0, "currency"), (1, "_pending")]
    assert "would be lost" in history.problems[0].message


def test_a_field_written_twice_is_reported() -> None:
    text = dumps([added()]).replace('"action": "ADDED"', '"action": "ADDED", "action": "ADDED"')
    assert problems_at(parse(text)) == [(0, "action")]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": 12}, "id"),
        ({"sourceId": None}, "sourceId"),
        ({"action": "RENAMED"}, "action"),
        ({"name": "  "}, "name"),
        ({"name": None}, "name"),
        ({"notes": "x" * 2001}, "notes"),
        ({"createdBy": 7}, "createdBy"),
        ({"effectiveDate": "22/01/2024"}, "effectiveDate"),
        ({"effectiveDate": "2024-01-22T09:00:00"}, "effectiveDate"),  # no offset
        ({"effectiveDate": "2999-01-01T00:00:00Z"}, "effectiveDate"),
        ({"effectiveDate": "1899-12-31T00:00:00Z"}, "effectiveDate"),
        ({"createdAt": None}, "createdAt"),
        ({"createdAt": "2999-01-01T00:00:00Z"}, "createdAt"),
        ({"sequence": 0}, "sequence"),
        ({"previousRate": Decimal("0.1")}, "previousRate"),
    ],
)
def test_each_bad_field_is_named(overrides: dict, field: str) -> None:
    history = parse([added(**overrides)])
    assert (0, field) in problems_at(history)


@pytest.mark.parametrize(
    "effective",
    ["2024-01-22T09:00:00Z", "2024-01-22T12:00:00+03:00", "2024-01-22T09:00:00.000000Z"],
)
def test_dates_with_and_without_milliseconds_or_with_an_offset(effective: str) -> None:
    history = parse([added(effectiveDate=effective)])
    assert history.problems == []
    assert next(history.entries()).effective_date == datetime(2024, 1, 22, 9, tzinfo=UTC)


def test_a_bare_date_means_the_start_of_that_day() -> None:
    history = parse([added(effectiveDate="2024-01-22")])
    assert next(history.entries()).effective_date == datetime(2024, 1, 22, tzinfo=UTC)


def test_names_and_notes_are_trimmed_and_unicode_kept() -> None:
    history = parse([added(name="  Banque Überbrückung ✓ ", notes=" 季度调整 — ok\n ")])
    [entry] = history.entries()
    assert (entry.name, entry.notes) == ("Banque Überbrückung ✓", "季度调整 — ok")


# --- the whole history -------------------------------------------------------------------


def test_entries_in_any_order_give_the_same_history() -> None:
    entries = random_history(random.Random(3), sources=3, changes=30)
    shuffled = entries[:]
    random.Random(4).shuffle(shuffled)
    assert parse(entries).problems == []
    assert parse(shuffled).sources == parse(entries).sources


def test_sequences_follow_recording_order_not_file_order() -> None:
    entries = [
        change(
            5,
            "AMOUNT_CHANGED",
            availableCents=3,
            previousAmount=2,
            createdAt="2024-03-01T00:00:00Z",
        ),
        added(),
        change(4, "AMOUNT_CHANGED", availableCents=2, previousAmount=250_000_000),
    ]
    history = parse(entries)
    assert history.problems == []
    assert [(e.id, e.sequence) for e in history.sources["src_1"]] == [
        ("hist_1", 1),
        ("hist_4", 2),
        ("hist_5", 3),
    ]


def test_a_backdated_correction_is_checked_against_what_was_known_then() -> None:
    # recorded 10 Feb: amount 2 from 5 Feb; recorded 11 Feb: rate change back on 3 Feb
    entries = [
        added(),
        change(5, "AMOUNT_CHANGED", availableCents=2, createdAt="2024-02-10T00:00:00Z"),
        change(
            3,
            "RATE_CHANGED",
            annualRate=Decimal("0.2"),
            previousRate=Decimal("0.1325"),
            availableCents=250_000_000,  # the amount in effect on 3 Feb
            createdAt="2024-02-11T00:00:00Z",
        ),
    ]
    history = parse(entries)
    assert history.problems == []
    final = history.final["src_1"]
    assert (final.available_cents, final.annual_rate) == (2, Decimal("0.2"))


def test_every_problem_is_reported_not_just_the_first() -> None:
    entries = load("large-export.json")[:400]
    entries[30]["annualRate"] = Decimal("0.1234567")
    entries[90]["availableCents"] = Decimal("12.5")
    entries[140]["bogus"] = 1
    entries[200]["effectiveDate"] = "2999-01-01T00:00:00Z"
    entries.append({"id": "x"})
    history = parse(entries)
    indexes = {p.index for p in history.problems}
    assert {30, 90, 140, 200, 400} <= indexes
    assert all(p.message for p in history.problems)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([change(3, "AMOUNT_CHANGED", availableCents=2)], [(0, "action")]),  # no ADDED
        ([added(), added(id="hist_2")], [(1, "action")]),
        (
            [
                added(createdAt="2024-03-01T00:00:00Z"),
                change(3, "AMOUNT_CHANGED", availableCents=2),
            ],
            [(1, "createdAt")],
        ),
        (
            [
                added(),
                change(3, "REMOVED"),
                change(4, "AMOUNT_CHANGED", availableCents=2),
            ],
            [(2, "action")],
        ),
        (
            [
                added(),
                change(3, "AMOUNT_CHANGED", effectiveDate="2024-01-01T00:00:00Z", availableCents=2),
            ],
            [(1, "effectiveDate")],
        ),
        (
            [
                added(),
                change(5, "AMOUNT_CHANGED", availableCents=2, createdAt="2024-02-05T10:00:00Z"),
                change(6, "REMOVED", effectiveDate="2024-02-04T00:00:00Z", availableCents=2),
            ],
            [(2, "effectiveDate")],
        ),
        (
            [added(), change(3, "AMOUNT_CHANGED", availableCents=2, previousAmount=9)],
            [(1, "previousAmount")],
        ),
        (
            [
                added(),
                change(3, "RATE_CHANGED", annualRate=Decimal("0.2"), previousRate=Decimal("0.1")),
            ],
            [(1, "previousRate")],
        ),
        (
            [added(), change(3, "AMOUNT_CHANGED", availableCents=2, annualRate=Decimal("0.2"))],
            [(1, "annualRate")],
        ),
        (
            [added(), change(3, "RATE_CHANGED", annualRate=Decimal("0.2"), availableCents=7)],
            [(1, "availableCents")],
        ),
        ([added(), change(3, "REMOVED", availableCents=7)], [(1, "availableCents")]),
        ([added(), change(3, "AMOUNT_CHANGED", availableCents=2, name="KCB Loan")], [(1, "name")]),
        (
            [added(), added(id="hist_2", sourceId="src_2", name="kcb TERM loan")],
            [(1, "name")],
        ),
        ([added(), added(notes="different")], [(1, "id")]),
    ],
    ids=[
        "no-added",
        "added-twice",
        "recorded-before-added",
        "after-removed",
        "before-added-date",
        "removal-before-a-change",
        "previous-amount",
        "previous-rate",
        "carried-rate",
        "carried-amount",
        "removal-terms",
        "renamed",
        "active-name-clash",
        "same-id-different-entry",
    ],
)
def test_history_problems_are_reported_with_their_entry(
    entries: list[dict], expected: list
) -> None:
    history = parse(entries)
    assert problems_at(history) == expected
    assert all(p.entry_id for p in history.problems if p.index is not None)


def test_an_exact_repeat_is_skipped_not_an_error() -> None:
    history = parse([added(), change(3, "AMOUNT_CHANGED", availableCents=2), added()])
    assert history.problems == []
    assert (history.entries_in_file, history.entry_count, history.repeated) == (3, 2, 1)


def test_an_entry_that_changes_nothing_is_kept_as_recorded() -> None:
    history = parse([added(), change(3, "AMOUNT_CHANGED", availableCents=250_000_000)])
    assert history.problems == []
    assert history.entry_count == 2


def test_a_removed_source_frees_its_name() -> None:
    entries = [
        added(),
        change(3, "REMOVED"),
        added(id="hist_9", sourceId="src_2", createdAt="2024-03-01T00:00:00Z"),
    ]
    assert parse(entries).problems == []


def test_given_sequences_are_used_and_checked() -> None:
    entries = [
        added(sequence=1, createdAt="2024-02-09T00:00:00Z"),
        change(3, "AMOUNT_CHANGED", availableCents=2, sequence=2),  # recorded "earlier"
    ]
    history = parse(entries)
    assert history.problems == []
    assert [e.sequence for e in history.sources["src_1"]] == [1, 2]
    gap = parse([added(sequence=1), change(3, "AMOUNT_CHANGED", availableCents=2, sequence=3)])
    assert problems_at(gap) == [(1, "sequence")]
    mixed = parse([added(sequence=1), change(3, "AMOUNT_CHANGED", availableCents=2)])
    assert problems_at(mixed) == [(1, "sequence")]


# --- the file as a whole ----------------------------------------------------------------


def test_an_object_with_entries_is_read_like_a_list() -> None:
    text = json.dumps({"entries": json.loads(dumps([added()]))})
    assert parse(text).entry_count == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [(None, None)]),
        ("  ", [(None, None)]),
        ('"hello"', [(None, None)]),
        ("{}", [(None, "entries")]),
        ('{"entries": [], "currency": "USD"}', [(None, "currency")]),
        ('{"entries": [], "entries": []}', [(None, "entries")]),
        ("[1]", [(0, None)]),
        ("[]", []),
    ],
)
def test_the_file_shape(text: str, expected: list) -> None:
    assert problems_at(parse(text)) == expected


def test_a_truncated_file_reports_what_it_read_and_where_it_stopped() -> None:
    text = dumps([added(), change(3, "AMOUNT_CHANGED", availableCents=Decimal("2.5"))])[:-40]
    history = parse(text)
    assert problems_at(history)[0] == (None, None)
    assert (
        "ends before" in history.problems[0].message or "valid JSON" in history.problems[0].message
    )


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), sources=st.integers(1, 4), changes=st.integers(0, 40))
def test_any_consistent_history_reads_cleanly_in_any_order(
    seed: int, sources: int, changes: int
) -> None:
    rng = random.Random(seed)
    entries = random_history(rng, sources=sources, changes=changes)
    noise = {i: js_noise(e["annualRate"]) for i, e in enumerate(entries) if rng.random() < 0.3}
    order = list(range(len(entries)))
    rng.shuffle(order)
    history = parse([entries[i] for i in order], {order.index(i): t for i, t in noise.items()})
    assert history.problems == []
    expected = independent_state(entries)
    for source_id, state in history.final.items():
        want = expected[source_id]
        assert (state.available_cents, state.annual_rate, state.active) == (
            want["cents"],
            want["rate"],
            want["active"],
        )
    as_of = parse_iso(entries[len(entries) // 2]["effectiveDate"])
    expected_then = independent_state(entries, as_of)
    from capital_app.domain.fold import fold

    for source_id, state in fold(history.entries(), as_of=as_of).items():
        assert (state.available_cents, state.annual_rate) == (
            expected_then[source_id]["cents"],
            expected_then[source_id]["rate"],
        )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), changes=st.integers(0, 30))
def test_the_export_format_reads_back_as_the_same_entries(seed: int, changes: int) -> None:
    entries = random_history(random.Random(seed), sources=3, changes=changes)
    first = parse(entries)
    text = "".join(json_chunks(first.entries()))
    again = parse_export([text.encode()], NOW)
    assert again.problems == []
    assert again.sources == first.sources
    assert "".join(json_chunks(again.entries())) == text


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), pick=st.integers(0, 10**6))
def test_tampering_with_a_previous_value_is_caught_at_that_entry(seed: int, pick: int) -> None:
    rng = random.Random(seed)
    entries = random_history(rng, sources=2, changes=20)
    changed = [
        i for i, e in enumerate(entries) if e["action"] in ("AMOUNT_CHANGED", "RATE_CHANGED")
    ]
    if not changed:
        return
    index = changed[pick % len(changed)]
    tampered = copy.deepcopy(entries)
    entry = tampered[index]
    if entry["action"] == "AMOUNT_CHANGED":
        entry["previousAmount"] = (entry.get("previousAmount") or 0) + 10**13
    else:
        entry["previousRate"] = Decimal("1.000000") if entry["annualRate"] != 1 else Decimal(0)
        before = parse(entries).sources[entry["sourceId"]]
        rate_before = next(e.previous_rate for e in before if e.id == entry["id"])
        if rate_before == entry["previousRate"]:
            return
    history = parse(tampered)
    assert (
        index,
        "previousAmount" if entry["action"] == "AMOUNT_CHANGED" else "previousRate",
    ) in problems_at(history)


def test_problem_list_is_sorted_by_entry() -> None:
    history = parse([added(bogus=1), {"id": 3}, added(id="h", sourceId="s2", name=7)])
    indexes = [p.index for p in history.problems]
    assert indexes == sorted(indexes, key=lambda i: -1 if i is None else i)
    assert isinstance(history.problems[0], ImportProblem)


def test_entries_are_history_entries_with_sequences_from_one() -> None:
    history = parse(random_history(random.Random(11), sources=3, changes=25))
    for entries in history.sources.values():
        assert all(isinstance(e, HistoryEntry) for e in entries)
        assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].action is Action.ADDED
        assert all(
            e.original_created_at and e.original_created_at <= NOW + timedelta(0) for e in entries
        )


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["ADDED", "REMOVED", "2024-01-22T09:00:00Z", "2024-01-22", "src_1"])
)
json_values = st.recursive(
    json_scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from([*KNOWN_FIELDS, "extra"]), json_values, max_size=14)
        | json_values,
        max_size=6,
    )
)
def test_any_json_at_all_gives_problems_never_a_crash(entries: list[object]) -> None:
    def text(value: object) -> str:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, list):
            return "[" + ", ".join(text(v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{json.dumps(k)}: {text(v)}" for k, v in value.items()) + "}"
        return json.dumps(value)

    history = parse_export([text(entries).encode()], NOW)
    assert history.entries_in_file == len(entries)
    for problem in history.problems:
        assert problem.message and (problem.index is None or 0 <= problem.index < len(entries))
    if not history.problems:
        assert history.entry_count + history.repeated == len(entries)


def test_invisible_and_text_direction_names_are_reported_not_rewritten() -> None:
    history = parse(
        [
            added(name="\u200b\u200b"),
            added(id="hist_2", sourceId="src_2", name="Loan \u202etxt.exe"),
        ]
    )
    assert [p.field for p in history.problems] == ["name", "name"]
    assert "U+200B" in history.problems[0].message
    assert "U+202E" in history.problems[1].message

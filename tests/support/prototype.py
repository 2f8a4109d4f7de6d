"""Prototype exports for tests, built and folded here, independently of capital_app.

`random_history` plays the prototype: it records changes one after another
(sometimes backdated), computing each entry's previous and carried-along
values from the entries recorded before it. `independent_state` and
`independent_wacc` fold the raw JSON entries the simple way, so tests can
compare the importer's answers with numbers that did not come from it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BASE = datetime(2023, 1, 2, 9, tzinfo=UTC)


def load(name: str) -> list[dict]:
    """A fixture file as raw JSON entries, numbers as Decimal."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def dumps(entries: list[dict], noise: dict[int, str] | None = None) -> str:
    """JSON text with numbers written as given; `noise` replaces index → annualRate text."""
    parts = []
    for index, entry in enumerate(entries):
        fields = []
        for key, value in entry.items():
            if key == "annualRate" and noise and index in noise:
                text = noise[index]
            elif isinstance(value, Decimal | int) and not isinstance(value, bool):
                text = str(value)
            else:
                text = json.dumps(value, ensure_ascii=False)
            fields.append(f"{json.dumps(key)}: {text}")
        parts.append("{" + ", ".join(fields) + "}")
    return "[" + ",\n".join(parts) + "]"


def js_noise(rate: Decimal) -> str:
    """How JavaScript might print the rate: 0.0214 → '0.021400000000000002'."""
    text = f"{rate:f}"
    if "." not in text:
        text += ".0"
    return text + "0" * (17 - len(text.split(".")[1])) + "2"


@dataclass
class _Source:
    source_id: str
    name: str
    added: datetime
    removed: bool = False
    last_effective: datetime | None = None


def _terms_at(entries: list[dict], source_id: str, moment: datetime) -> tuple[int, Decimal]:
    """Amount and rate of a source at `moment` from the entries recorded so far."""
    mine = [
        (parse_iso(e["effectiveDate"]), position, e)
        for position, e in enumerate(entries)
        if e["sourceId"] == source_id and parse_iso(e["effectiveDate"]) <= moment
    ]
    mine.sort(key=lambda item: (item[0], item[1]))
    cents = rate = None
    for _, _, e in mine:
        if e["action"] in ("ADDED", "AMOUNT_CHANGED"):
            cents = e["availableCents"]
        if e["action"] in ("ADDED", "RATE_CHANGED"):
            rate = e["annualRate"]
    assert cents is not None and rate is not None
    return cents, rate


def random_history(
    rng: random.Random, sources: int = 3, changes: int = 12, backdate: float = 0.25
) -> list[dict]:
    """A consistent prototype history in recording order (optional keys often absent)."""
    entries: list[dict] = []
    live: list[_Source] = []
    clock = BASE
    names = rng.sample(["Alpha loan", "Beta line", "Gamma equity", "Delta notes", "Eps bond"], 3)

    def stamp() -> datetime:
        nonlocal clock
        clock += timedelta(hours=rng.randint(1, 72), milliseconds=rng.randint(0, 999))
        return clock

    for n in range(sources):
        when = stamp()
        source = _Source(f"src_{n}_{rng.randint(10000, 99999)}", f"{names[n % 3]} {n}", when)
        source.last_effective = when
        live.append(source)
        entries.append(
            {
                "id": f"hist_{len(entries)}_{rng.randint(10000, 99999)}",
                "effectiveDate": iso(when),
                "sourceId": source.source_id,
                "name": source.name,
                "annualRate": Decimal(rng.randint(0, 999_999)).scaleb(-6),
                "availableCents": rng.randint(1, 10**12),
                "action": "ADDED",
                "createdAt": iso(when + timedelta(minutes=1)),
            }
        )
    for _ in range(changes):
        open_sources = [s for s in live if not s.removed]
        if not open_sources:
            break
        source = rng.choice(open_sources)
        recorded = stamp()
        assert source.last_effective is not None
        action = rng.choice(["AMOUNT_CHANGED"] * 4 + ["RATE_CHANGED"] * 3 + ["REMOVED"])
        if action != "REMOVED" and rng.random() < backdate:
            span = (source.last_effective - source.added).total_seconds()
            effective = source.added + timedelta(seconds=int(rng.uniform(0, span)))
        else:
            effective = max(source.last_effective, recorded - timedelta(hours=1))
        cents, rate = _terms_at(entries, source.source_id, effective)
        entry: dict = {
            "id": f"hist_{len(entries)}_{rng.randint(10000, 99999)}",
            "effectiveDate": iso(effective),
            "sourceId": source.source_id,
            "name": source.name,
            "action": action,
            "annualRate": rate,
            "availableCents": cents,
        }
        if action == "AMOUNT_CHANGED":
            if rng.random() < 0.5:
                entry["previousAmount"] = cents
            entry["availableCents"] = rng.randint(1, 10**12)
        elif action == "RATE_CHANGED":
            if rng.random() < 0.5:
                entry["previousRate"] = rate
            entry["annualRate"] = Decimal(rng.randint(0, 999_999)).scaleb(-6)
        else:
            source.removed = True
        if rng.random() < 0.3:
            entry["notes"] = rng.choice(["drawdown", "repriced ✓", "Überbrückung", "季度"])
        if rng.random() < 0.5:
            entry["createdBy"] = rng.choice(["demo-user", "cfo@example.co.ke"])
        entry["createdAt"] = iso(recorded)
        source.last_effective = max(source.last_effective, effective)
        entries.append(entry)
    return entries


# --- an independent fold of raw entries ---------------------------------------------

RATE_PLACES = Decimal("0.000001")


def _rate(value: Decimal | int) -> Decimal:
    return Decimal(value).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)


def _recording_order(entries: list[dict]) -> list[dict]:
    rank = {"ADDED": 0, "AMOUNT_CHANGED": 1, "RATE_CHANGED": 1, "REMOVED": 2}
    indexed = list(enumerate(entries))
    indexed.sort(
        key=lambda item: (
            parse_iso(item[1]["createdAt"]),
            rank[item[1]["action"]],
            parse_iso(item[1]["effectiveDate"]),
            item[0],
        )
    )
    return [entry for _, entry in indexed]


def independent_state(
    entries: list[dict], as_of: datetime | None = None
) -> dict[str, dict[str, object]]:
    """source id → {name, cents, rate, active} as of a date (None: after everything)."""
    sequence: dict[str, int] = {}
    keyed = []
    for entry in _recording_order(entries):
        sequence[entry["sourceId"]] = sequence.get(entry["sourceId"], 0) + 1
        keyed.append((parse_iso(entry["effectiveDate"]), sequence[entry["sourceId"]], entry))
    keyed.sort(key=lambda item: (item[0], item[1]))
    states: dict[str, dict[str, object]] = {}
    for effective, _, entry in keyed:
        if as_of is not None and effective > as_of:
            continue
        sid = entry["sourceId"]
        if entry["action"] == "ADDED":
            states[sid] = {
                "name": entry["name"],
                "cents": entry["availableCents"],
                "rate": _rate(entry["annualRate"]),
                "active": True,
            }
        elif entry["action"] == "AMOUNT_CHANGED":
            states[sid]["cents"] = entry["availableCents"]
        elif entry["action"] == "RATE_CHANGED":
            states[sid]["rate"] = _rate(entry["annualRate"])
        else:
            states[sid]["active"] = False
    return states


def independent_wacc(
    entries: list[dict], as_of: datetime | None = None
) -> tuple[int, Decimal | None]:
    """(total cents, WACC to 10 places) of the active sources as of a date."""
    active = [s for s in independent_state(entries, as_of).values() if s["active"]]
    total = sum(int(s["cents"]) for s in active)  # type: ignore[call-overload]
    if not total:
        return 0, None
    with localcontext() as ctx:
        ctx.prec = 60
        weighted = sum(Decimal(s["cents"]) * s["rate"] for s in active)  # type: ignore[operator]
        return total, (weighted / total).quantize(Decimal("1e-10"), rounding=ROUND_HALF_EVEN)

"""Generate a browser-prototype export of any size, shaped like tests/fixtures/large-export.json.

Like the prototype's own data: entries in recording order, ids `hist_<ms>_<5 chars>`,
rates written by JavaScript (so 214 × 0.0001 appears as 0.021400000000000002),
optional keys absent rather than null, some unicode notes, createdBy absent,
'demo-user' or an email, a quarter of the sources removed near the end.
Floats are used here on purpose: they are how the prototype wrote its numbers.

    python benchmarks/prototype_export.py OUT.json --entries 100000 --sources 333
"""

from __future__ import annotations

import argparse
import json
import random
import string
from datetime import UTC, datetime
from pathlib import Path

NOTES = [
    "drawdown",
    "partial repayment",
    "repriced",
    "Überbrückung — ok ✓",
    "réévaluation",
    "季度调整",
]
CREATORS = [None, None, "demo-user", "cfo@example.co.ke"]
NAMES = [
    "KCB term loan",
    "Equity Bank credit line",
    "Founder equity",
    "DFC senior debt",
    "Angel round notes",
    "Family office bridge",
    "Kiva pool",
    "Vendor financing",
]
START = datetime(2015, 1, 5, 9, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _id(prefix: str, moment: datetime, rng: random.Random) -> str:
    suffix = "".join(rng.choices(string.ascii_lowercase + string.digits, k=5))
    return f"{prefix}_{int(moment.timestamp() * 1000)}_{suffix}"


def _rate(basis_points: int) -> float:
    return basis_points * 0.0001  # JavaScript's arithmetic, noise included


def generate(entries: int, sources: int, seed: int = 7, end: datetime | None = None) -> list[dict]:
    """`entries` entries over `sources` sources, in the order the prototype recorded them."""
    rng = random.Random(seed)
    end = end or datetime(2025, 8, 24, 9, tzinfo=UTC)
    step = (end - START) / entries
    removed = set(rng.sample(range(sources), sources // 4))
    state: dict[int, dict] = {}
    out: list[dict] = []
    added_by = {s: int(s * entries / sources * 0.02) for s in range(sources)}  # early adds
    removal_at = {s: entries - 1 - (sources - i) * 3 for i, s in enumerate(sorted(removed))}
    pending = sorted(range(sources), key=lambda s: added_by[s])
    # Kept as they change (a scan of every source per entry made a million take hours):
    # `live` in the order sources were added, `overdue` the live ones past their removal.
    live: list[int] = []
    removals = sorted((at, s) for s, at in removal_at.items())
    overdue: set[int] = set()
    for k in range(entries):
        while removals and removals[0][0] <= k:
            overdue.add(removals.pop(0)[1])
        effective = START + step * k
        created = effective + step * rng.uniform(0.05, 0.9)  # recorded before the next one
        entry: dict = {}
        if pending and added_by[pending[0]] <= k:
            s = pending.pop(0)
            bp = rng.randint(100, 3000)
            state[s] = {
                "id": _id("src", effective, rng),
                "name": f"{rng.choice(NAMES)} {s}",
                "bp": bp,
                "cents": rng.randint(10_000_000, 50_000_000) * 1000,
            }
            live.append(s)
            st = state[s]
            entry = {
                "id": _id("hist", effective, rng),
                "effectiveDate": _iso(effective),
                "sourceId": st["id"],
                "name": st["name"],
                "annualRate": _rate(bp),
                "availableCents": st["cents"],
                "action": "ADDED",
            }
        else:
            due = [s for s in live if s in overdue] if overdue else []
            s = due[0] if due else rng.choice(live)
            st = state[s]
            entry = {
                "id": _id("hist", effective, rng),
                "effectiveDate": _iso(effective),
                "sourceId": st["id"],
                "name": st["name"],
            }
            if due:
                entry.update(
                    action="REMOVED", annualRate=_rate(st["bp"]), availableCents=st["cents"]
                )
                st["gone"] = True
                live.remove(s)
                overdue.discard(s)
            elif rng.random() < 0.67:
                new = max(1000, st["cents"] + rng.randint(-5_000_000, 5_000_000) * 100)
                entry.update(
                    action="AMOUNT_CHANGED",
                    previousAmount=st["cents"],
                    annualRate=_rate(st["bp"]),
                    availableCents=new,
                )
                st["cents"] = new
            else:
                new = min(9999, max(1, st["bp"] + rng.choice([-1, 1]) * rng.randint(1, 400)))
                entry.update(
                    action="RATE_CHANGED",
                    previousRate=_rate(st["bp"]),
                    annualRate=_rate(new),
                    availableCents=st["cents"],
                )
                st["bp"] = new
        if rng.random() < 0.2:
            entry["notes"] = rng.choice(NOTES)
        entry["createdAt"] = _iso(created)
        creator = rng.choice(CREATORS)
        if creator:
            entry["createdBy"] = creator
        out.append(entry)
    return out


def write(path: Path, entries: int, sources: int, seed: int = 7) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        json.dump(generate(entries, sources, seed), out, ensure_ascii=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=333)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write(args.out, args.entries, args.sources, args.seed)


if __name__ == "__main__":
    main()

"""Checks that an imported prototype history is stored as an independent fold says."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from capital_app.domain.values import Action
from capital_app.service import history_queries as queries
from tests.support.factories import Tenant
from tests.support.prototype import independent_state, parse_iso


def assert_stored_as_folded(tenant: Tenant, raw: list[dict]) -> None:
    """Counts per action and each source's final state equal the raw file's fold."""
    actor = tenant.actor("VIEWER")
    counts = Counter(e["action"] for e in raw)
    for action in Action:
        assert queries.count_history(actor, action=action) == counts.get(action.value, 0)
    for source_id, want in independent_state(raw).items():
        state = queries.get_source(actor, source_id)
        assert (state.name, state.available_cents, state.annual_rate, state.active) == (
            want["name"],
            want["cents"],
            want["rate"],
            want["active"],
        )


def probe_moments(raw: list[dict], now: datetime) -> list[datetime]:
    """Moments worth asking WACC at: the first and last effective dates, points in
    between (one just before an effective date), two removals, and `now`."""
    dates = sorted({parse_iso(e["effectiveDate"]) for e in raw})
    moments = [dates[0], dates[len(dates) // 3], dates[len(dates) // 2] - timedelta(seconds=1)]
    moments += [dates[-1], now]
    moments += [parse_iso(e["effectiveDate"]) for e in raw if e["action"] == "REMOVED"][:2]
    return moments

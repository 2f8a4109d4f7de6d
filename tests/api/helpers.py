"""Helpers shared by the API tests: arranging data and proving nothing changed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from capital_app.service import history_commands as commands
from capital_app.service import history_queries as queries
from capital_app.service import users
from tests.support.factories import Tenant

PROBLEM = "application/problem+json"


def day(days_ago: float) -> str:
    """An ISO date-time `days_ago` days back (always in the past)."""
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def snapshot(tenant: Tenant) -> dict[str, Any]:
    """Everything an organization has stored: its full history, sources and users."""
    actor = tenant.actor("ADMIN")
    entries = []
    cursor = None
    while True:
        page = queries.list_history(actor, cursor=cursor, limit=1000)
        entries.extend(page.entries)
        cursor = page.next_cursor
        if cursor is None:
            break
    return {
        "history": entries,
        "active": queries.active_sources(actor),
        "users": users.list_users(actor),
    }


def assert_problem(answer: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """A problem+json answer with `status`; for 422, every named field is in `errors`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    body = answer.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    if status == 422:
        reported = {e["field"] for e in body["errors"]}
        for field in fields:
            assert field in reported, (field, body["errors"])
    text = answer.text.lower()
    assert "traceback" not in text and "select " not in text and "insert " not in text
    return body


@dataclass
class Seeded:
    """A small history: KCB (added, rate change), Equity (added, amount change), Kiva removed."""

    kcb: str
    equity: str
    kiva: str


def seed_history(tenant: Tenant) -> Seeded:
    actor = tenant.actor("EDITOR")
    now = datetime.now(UTC)
    kcb = commands.add_source(
        actor,
        name=f"KCB term loan {secrets.token_hex(2)}",
        annual_rate=Decimal("0.14"),
        available_cents=25_000_000_000,
        effective_date=now - timedelta(days=300),
    ).source_id
    equity = commands.add_source(
        actor,
        name="Equity Bank revolving credit",
        annual_rate=Decimal("0.155"),
        available_cents=8_000_000_000,
        effective_date=now - timedelta(days=200),
    ).source_id
    kiva = commands.add_source(
        actor,
        name="Kiva pool",
        annual_rate=Decimal("0"),
        available_cents=500_000_000,
        effective_date=now - timedelta(days=150),
    ).source_id
    commands.update_rate(
        actor,
        source_id=kcb,
        annual_rate=Decimal("0.1325"),
        effective_date=now - timedelta(days=100),
        notes="repriced",
    )
    commands.update_amount(
        actor,
        source_id=equity,
        available_cents=12_000_000_000,
        effective_date=now - timedelta(days=50),
        notes="drawdown",
    )
    commands.remove_source(
        actor, source_id=kiva, effective_date=now - timedelta(days=20), notes="closed"
    )
    return Seeded(kcb=kcb, equity=equity, kiva=kiva)

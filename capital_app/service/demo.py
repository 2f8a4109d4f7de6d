"""The demo organization `make run` starts with: three users and a year and a half of history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from capital_app.domain.accounts import OrganizationRecord
from capital_app.service import history_commands as commands
from capital_app.service.actor import Actor
from capital_app.service.errors import NotFound
from capital_app.service.organizations import create_organization, find_organization
from capital_app.service.users import provision_user

DEMO_ORGANIZATION = "Demo Treasury Ltd"

# Published on purpose: these accounts exist only in a demo organization.
DEMO_USERS = (
    ("admin@demo.capital-ledger.test", "Amina Wanjiru", "ADMIN", "demo-admin-2026"),
    ("editor@demo.capital-ledger.test", "Brian Otieno", "EDITOR", "demo-editor-2026"),
    ("viewer@demo.capital-ledger.test", "Carol Njeri", "VIEWER", "demo-viewer-2026"),
)


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)


# (source, action, effective day, value, notes); amounts in cents, rates as fractions.
DEMO_HISTORY: tuple[tuple[str, str, str, object, str | None], ...] = (
    ("Founder equity", "add", "2025-01-02", (15_000_000_000, Decimal("0.22")), "cost of equity"),
    ("KCB term loan", "add", "2025-01-15", (25_000_000_000, Decimal("0.14")), None),
    ("Equity Bank revolving credit", "add", "2025-02-01", (8_000_000_000, Decimal("0.155")), None),
    ("Angel round notes", "add", "2025-04-10", (4_000_000_000, Decimal("0.18")), None),
    ("Equity Bank revolving credit", "amount", "2025-06-15", 12_000_000_000, "drawdown"),
    ("Kiva zero-interest pool", "add", "2025-08-01", (500_000_000, Decimal("0")), None),
    ("KCB term loan", "rate", "2025-09-01", Decimal("0.1325"), "repriced after CBK rate move"),
    ("IFC green bond", "add", "2025-11-01", (30_000_000_000, Decimal("0.0975")), None),
    ("Angel round notes", "remove", "2026-02-28", None, "converted to equity"),
    ("KCB term loan", "amount", "2026-03-01", 23_000_000_000, "partial repayment"),
    ("IFC green bond", "rate", "2026-05-01", Decimal("0.101"), "coupon reset"),
    ("Equity Bank revolving credit", "amount", "2026-06-30", 9_500_000_000, "repayment"),
    ("Kiva zero-interest pool", "amount", "2026-09-15", 750_000_000, "top-up"),
)


@dataclass(frozen=True, slots=True)
class DemoSeed:
    organization: OrganizationRecord
    created: bool
    users: tuple[tuple[str, str, str, str], ...] = DEMO_USERS


def seed_demo() -> DemoSeed:
    """Create the demo organization unless it exists (a second run changes nothing)."""
    try:
        return DemoSeed(find_organization(DEMO_ORGANIZATION), created=False)
    except NotFound:
        pass
    org = create_organization(DEMO_ORGANIZATION, "KES")
    users = {
        role: provision_user(org.id, email=email, name=name, role=role, password=password)
        for email, name, role, password in DEMO_USERS
    }
    editor = Actor(users["EDITOR"].id, org.id)
    source_ids: dict[str, str] = {}
    for source, action, day, value, notes in DEMO_HISTORY:
        when = _at(day)
        if action == "add":
            assert isinstance(value, tuple)
            cents, rate = value
            result = commands.add_source(
                editor,
                name=source,
                annual_rate=rate,
                available_cents=cents,
                effective_date=when,
                notes=notes,
            )
            source_ids[source] = result.source_id
        elif action == "amount":
            commands.update_amount(
                editor,
                source_id=source_ids[source],
                available_cents=value,
                effective_date=when,
                notes=notes,
            )
        elif action == "rate":
            commands.update_rate(
                editor,
                source_id=source_ids[source],
                annual_rate=value,
                effective_date=when,
                notes=notes,
            )
        else:
            commands.remove_source(
                editor, source_id=source_ids[source], effective_date=when, notes=notes
            )
    return DemoSeed(org, created=True)

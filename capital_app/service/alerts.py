"""Alerts: EDITORs and ADMINs set thresholds; every write checks them in its own transaction.

Managing rules (`create_rule`, `deactivate_rule`) needs an EDITOR or ADMIN (or a key
with the write scope); reading rules and the log needs only read access. Each rule
change is in the audit log, committed with it.

Evaluation is part of the write: a command or an import calls `watch` after it has
locked the organization's revision counter (so nobody else writes meanwhile) and
before it appends, then `settle` after it has appended. `settle` reads the same
figures again, asks the domain which rules the change made cross
(domain/alerts.py: triggered on crossing, re-armed when the condition stops holding)
and appends them to the alert log — in the same transaction, so an alert exists if
and only if its change does. The log row is also the webhook outbox entry of the
`alert.triggered` event (service/webhooks.py reads it beside the history), and
the live push of the change's revision carries it to open sessions.

An organization without active rules pays one indexed lookup per write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection

from capital_app.db import alert_repository as repo
from capital_app.db import history_repository as history
from capital_app.db.unit_of_work import tenant_transaction
from capital_app.domain import alerts as rules
from capital_app.domain.alerts import AlertRule, Cause, Figures, TriggeredAlert
from capital_app.domain.errors import InvalidInput
from capital_app.service import reporting
from capital_app.service.actor import Actor, Permission, authorize
from capital_app.service.audit import AuditAction, record_audit
from capital_app.service.errors import NotFound

MAX_ACTIVE_RULES = 50
MAX_PAGE = 200
# "As known now" for reads inside the write transaction: its own entries included.
_KNOWN_NOW = datetime.max.replace(tzinfo=UTC)


def create_rule(
    actor: Actor,
    *,
    kind: object,
    threshold_rate: object = None,
    threshold_basis_points: object = None,
    window_days: object = None,
    threshold_cents: object = None,
) -> AlertRule:
    with tenant_transaction(actor.organization_id) as conn:
        user = authorize(conn, actor, Permission.MANAGE_ALERTS)  # who, before what
        terms = rules.check_rule(
            kind,
            threshold_rate=threshold_rate,
            threshold_basis_points=threshold_basis_points,
            window_days=window_days,
            threshold_cents=threshold_cents,
        )
        active = repo.list_rules(conn, actor.organization_id, active_only=True)
        if len(active) >= MAX_ACTIVE_RULES:
            raise InvalidInput.one(
                "kind",
                f"An organization can have at most {MAX_ACTIVE_RULES} active alert rules;"
                " deactivate one first.",
            )
        rule = repo.insert_rule(conn, actor.organization_id, uuid.uuid4(), terms, user.id)
        record_audit(
            conn,
            AuditAction.ALERT_RULE_CREATED,
            organization_id=actor.organization_id,
            actor_user_id=user.id,
            actor_email=user.email,
            details=_audit_details(rule),
        )
    return rule


def deactivate_rule(actor: Actor, rule_id: UUID) -> AlertRule:
    """Stop a rule (it stays listed, inactive, with who and when). Deactivating an
    inactive rule changes nothing and answers it as it is."""
    with tenant_transaction(actor.organization_id) as conn:
        user = authorize(conn, actor, Permission.MANAGE_ALERTS)
        rule = repo.get_rule(conn, actor.organization_id, rule_id, lock=True)
        if rule is None:
            raise NotFound("No alert rule with this id exists in your organization.")
        if not rule.active:
            return rule
        repo.deactivate_rule(conn, actor.organization_id, rule_id, user.id)
        record_audit(
            conn,
            AuditAction.ALERT_RULE_DEACTIVATED,
            organization_id=actor.organization_id,
            actor_user_id=user.id,
            actor_email=user.email,
            details=_audit_details(rule),
        )
        fresh = repo.get_rule(conn, actor.organization_id, rule_id)
    assert fresh is not None
    return fresh


def _audit_details(rule: AlertRule) -> dict[str, object]:
    return {
        "ruleId": str(rule.id),
        "kind": rule.kind.value,
        "threshold": str(rule.terms.threshold),
        "windowDays": rule.terms.window_days,
        "rule": rules.describe(rule.terms),
    }


@dataclass(frozen=True, slots=True)
class AlertsOverview:
    """The Alerts page: every rule, the latest alerts, and the revision they were read at."""

    rules: list[AlertRule]
    alerts: list[TriggeredAlert]
    revision: int


def overview(actor: Actor, limit: int = 100) -> AlertsOverview:
    with tenant_transaction(actor.organization_id, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        org = actor.organization_id
        revision = history.current_revision(conn, org)
        return AlertsOverview(
            repo.list_rules(conn, org),
            repo.list_alerts(conn, org, limit=max(1, min(limit, MAX_PAGE))),
            revision,
        )


@dataclass(frozen=True, slots=True)
class AlertNews:
    """Alerts of revisions after a session's baseline, oldest first, and the revision read at."""

    alerts: list[TriggeredAlert]
    revision: int


LIVE_NEWS = 20  # a burst beyond this is summed up by the banner, not listed


def news(actor: Actor, after_revision: int) -> AlertNews:
    """What a live session has not been told yet (the live push's one read per worker)."""
    with tenant_transaction(actor.organization_id, read_only=True, snapshot=True) as conn:
        authorize(conn, actor, Permission.READ)
        org = actor.organization_id
        revision = history.current_revision(conn, org)
        found = repo.list_alerts(conn, org, limit=LIVE_NEWS, after_revision=after_revision)
    return AlertNews(list(reversed(found)), revision)


def list_rules(actor: Actor) -> list[AlertRule]:
    """Every rule of the organization, active first (oldest first within each)."""
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        return repo.list_rules(conn, actor.organization_id)


def list_alerts(
    actor: Actor,
    *,
    limit: int = 50,
    before: UUID | None = None,
    after_revision: int | None = None,
) -> list[TriggeredAlert]:
    """The alert log, newest first; `before`: the page after this alert (its id);
    `after_revision`: only alerts of changes after that revision."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput.one("limit", f"Limit must be a whole number from 1 to {MAX_PAGE}.")
    with tenant_transaction(actor.organization_id, read_only=True) as conn:
        authorize(conn, actor, Permission.READ)
        keyset = None
        if before is not None:
            previous = repo.get_alert(conn, actor.organization_id, before)
            if previous is None:
                raise InvalidInput.one(
                    "before", "No alert with this id exists in your organization."
                )
            keyset = (previous.triggered_at, previous.id)
        return repo.list_alerts(
            conn, actor.organization_id, limit=limit, before=keyset, after_revision=after_revision
        )


# --- inside a write's transaction -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Watch:
    """What a write read before changing anything: the active rules and the figures."""

    rules: list[AlertRule]
    before: Figures
    at: datetime


def figures(conn: Connection, org: UUID, windows: list[int], at: datetime) -> Figures:
    """Total and WACC now (the projection, as the dashboard shows them) and the WACC
    `d` days before `at` for each window, as known now (this transaction included).

    In the reporting currency, each currency converted at the rate in force on the
    day (service/reporting.py, as every read does): a rule never compares a sum of
    mixed currencies. Where a rate is missing the figure is unknown (None) and no
    rule holds on it."""
    book = reporting.read_book(conn, org)
    now = reporting.of_sources(
        book, history.current_sources(conn, org), reporting.utc_day(at), _KNOWN_NOW
    )
    points = {d: at - timedelta(days=d) for d in windows}
    sums = (
        history.series_bucket_sums(conn, org, list(points.values()), _KNOWN_NOW) if points else {}
    )
    wacc_then: dict[int, Decimal | None] = {}
    for days, point in points.items():
        then = reporting.of_buckets(book, sums.get(point, []), reporting.utc_day(point), _KNOWN_NOW)
        wacc_then[days] = then.summary.wacc if then.complete else None
    if not now.complete:
        return Figures(None, None, wacc_then)
    return Figures(now.summary.total_cents, now.summary.wacc, wacc_then)


def _known(total_cents: int | None) -> int:
    # A rule holds only on known figures (domain/alerts.py: measure), so a crossing's
    # total is known: every WACC needs a total, and total_below the total itself.
    assert total_cents is not None
    return total_cents


def watch(conn: Connection, org: UUID) -> Watch | None:
    """Before a write appends (holding the revision lock): None when nothing is watched."""
    return _watching(conn, org, repo.list_rules(conn, org, active_only=True))


def claim_and_watch(conn: Connection, org: UUID) -> tuple[int, Watch | None]:
    """A command's first statement: lock the revision counter and read the active rules
    together (one round trip), then the figures before the change if any rule is active."""
    revision, active = repo.claim_revision_with_rules(conn, org)
    return revision, _watching(conn, org, active)


def _watching(conn: Connection, org: UUID, active: list[AlertRule]) -> Watch | None:
    if not active:
        return None
    at = datetime.now(UTC)
    return Watch(active, figures(conn, org, rules.windows(active), at), at)


def settle(
    conn: Connection, org: UUID, watched: Watch | None, cause: Cause
) -> list[TriggeredAlert]:
    """After the write appended: log every rule it made cross (same transaction)."""
    if watched is None:
        return []
    after = figures(conn, org, rules.windows(watched.rules), watched.at)
    crossed = rules.crossings(watched.rules, watched.before, after)
    if not crossed:
        return []
    repo.announce(conn, org, cause.revision, len(crossed))  # sent at commit, with the change
    return repo.insert_alerts(
        conn,
        [
            TriggeredAlert(
                id=uuid.uuid4(),
                organization_id=org,
                rule_id=crossing.rule.id,
                terms=crossing.rule.terms,
                triggered_at=watched.at,  # the database stamps the transaction's time
                revision=cause.revision,
                event_id=rules.event_id(cause.last_entry_id, crossing.rule.id),
                value_before=crossing.value_before,
                value_after=crossing.value_after,
                total_cents=_known(after.total_cents),
                wacc=after.wacc,
                entry_id=cause.entry_id,
                source_id=cause.source_id,
                sequence=cause.sequence,
                import_id=cause.import_id,
            )
            for crossing in crossed
        ],
    )


def settle_import(
    conn: Connection, org: UUID, watched: Watch | None, revision: int, import_id: UUID
) -> list[TriggeredAlert]:
    """`settle` for an import: one revision, many entries; the cause is the import."""
    if watched is None:
        return []
    last = repo.last_entry_id(conn, org, revision)
    if last is None:  # nothing new was written: nothing can have crossed
        return []
    return settle(conn, org, watched, Cause(revision, last, import_id=import_id))

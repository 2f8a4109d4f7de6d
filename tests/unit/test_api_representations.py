"""What the API writes matches the response models it documents in OpenAPI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import orjson

from capital_app.api import exact_json, representations, schemas
from capital_app.domain.accounts import UserRecord
from capital_app.domain.events import HistoryEntry
from capital_app.domain.values import Action, Role
from capital_app.domain.views import ActiveSource, SeriesPoint
from capital_app.domain.wacc import WaccSummary
from capital_app.service.history_commands import CommandResult
from capital_app.service.history_queries import WaccAnswer

NOW = datetime(2026, 3, 2, 9, 14, 7, 123456, tzinfo=UTC)


def _entry(**changes) -> HistoryEntry:
    fields = {
        "id": "hist_1737000000000_k3j9x",
        "source_id": "src_1737000000000_a81bz",
        "sequence": 3,
        "action": Action.RATE_CHANGED,
        "effective_date": datetime(2026, 3, 1, tzinfo=UTC),
        "name": "KCB term loan",
        "annual_rate": Decimal("0.132500"),
        "available_cents": 250_000_000,
        "previous_rate": Decimal("0.140000"),
        "notes": "repriced",
        "created_at": NOW,
        "created_by": "legacy-user",
        "organization_id": uuid4(),
    }
    fields.update(changes)
    return HistoryEntry(**fields)


def _wire(body):
    """As a client receives it: through the exact encoder and a JSON parser."""
    return orjson.loads(exact_json.dumps(body))


def test_entry_matches_its_model_and_the_contract_example():
    body = _wire(representations.entry_body(_entry()))
    schemas.HistoryEntryOut.model_validate(body)
    assert body["annualRate"] == 0.1325 and body["previousRate"] == 0.14
    assert body["effectiveDate"] == "2026-03-01T00:00:00Z"
    assert body["createdAt"] == "2026-03-02T09:14:07.123456Z"
    assert body["previousAmount"] is None


def test_command_result_matches_its_model():
    result = CommandResult("src_1", _entry(source_id="src_1"))
    schemas.CommandResponse.model_validate(_wire(representations.command_body(result)))


def test_reads_match_their_models():
    source = ActiveSource("s", "Loan", Decimal("0.1"), 5, 2, NOW, NOW)
    schemas.ActiveSourceOut.model_validate(_wire(representations.active_source_body(source)))
    answer = WaccAnswer(NOW, NOW, WaccSummary(0, None, 0))
    schemas.WaccOut.model_validate(_wire(representations.wacc_body(answer)))
    point = SeriesPoint(date(2026, 3, 1), 5, Decimal("0.1"), 1)
    schemas.SeriesPointOut.model_validate(_wire(representations.series_point_body(point)))


def test_users_match_their_models_and_never_carry_the_hash():
    user = UserRecord(uuid4(), uuid4(), "a@b.test", "A", Role.ADMIN, True, "$2b$secret", NOW)
    user_body = _wire(representations.user_body(user))
    schemas.UserOut.model_validate(user_body)
    schemas.MeOut.model_validate(_wire(representations.me_body(user)))
    assert "$2b$secret" not in str(user_body)


def test_alert_rules_and_alerts_match_their_models():
    from capital_app.domain.alerts import AlertKind, AlertRule, RuleTerms, TriggeredAlert

    kinds = [
        RuleTerms(AlertKind.WACC_ABOVE, Decimal("0.125000")),
        RuleTerms(AlertKind.WACC_CHANGE, Decimal(50), 30),
        RuleTerms(AlertKind.TOTAL_BELOW, Decimal(100_000_00)),
    ]
    for terms in kinds:
        rule = AlertRule(uuid4(), terms, created_by=uuid4(), created_at=NOW)
        body = _wire(representations.alert_rule_body(rule))
        schemas.AlertRuleOut.model_validate(body)
        alert = TriggeredAlert(
            id=uuid4(),
            organization_id=uuid4(),
            rule_id=rule.id,
            terms=terms,
            triggered_at=NOW,
            revision=7,
            event_id="e.alert.r",
            value_before=None,
            value_after=Decimal("0.13"),
            total_cents=5,
            wacc=Decimal("0.13"),
            entry_id="e",
            source_id="s",
            sequence=2,
        )
        schemas.AlertOut.model_validate(_wire(representations.alert_body(alert)))
    above = _wire(representations.alert_rule_body(AlertRule(uuid4(), kinds[0], created_at=NOW)))
    assert above["thresholdRate"] == Decimal("0.125") and above["thresholdCents"] is None

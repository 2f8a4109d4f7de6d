"""`alert.triggered` goes through the webhook outbox: after the change that caused it,
signed like every message, only to endpoints that asked for it (a real receiver on
loopback, the delivery code run in this process)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from standardwebhooks.webhooks import Webhook

from capital_app.service import alerts, webhooks
from capital_app.service import history_commands as commands
from capital_app.settings import get_settings
from tests.support.factories import Tenant, add_source, days_ago
from tests.support.webhook_receiver import start_receiver


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("CAPITAL_WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("CAPITAL_WEBHOOKS_ALLOW_HTTP", "1")
    get_settings.cache_clear()
    r = start_receiver()
    yield r
    r.stop()
    monkeypatch.undo()
    get_settings.cache_clear()


def rate(tenant: Tenant, source_id: str, value: str):
    return commands.update_rate(
        tenant.actor(), source_id=source_id, annual_rate=Decimal(value), effective_date=days_ago(0)
    )


def bodies(receiver, path: str) -> list[dict]:
    return [json.loads(r.body) for r in receiver.at(path)]


def test_an_alert_is_delivered_right_after_its_change_and_signed(tenant, receiver):
    source = add_source(tenant.actor(), cents=100_000_00, rate="0.10")
    rule = alerts.create_rule(tenant.actor(), kind="wacc_above", threshold_rate=Decimal("0.12"))
    created = webhooks.create_endpoint(tenant.actor("ADMIN"), url=f"{receiver.base_url}/all")
    assert "alert.triggered" in created.endpoint.event_types  # the default: every type
    crossed = rate(tenant, source, "0.13")
    rate(tenant, source, "0.14")  # still above: a change, no alert
    sent = webhooks.deliver_endpoint(tenant.org_id, created.endpoint.id)
    assert sent == 3
    got = receiver.at("/all")
    verified = [Webhook(created.secret).verify(r.body, r.headers) for r in got]
    assert [b["type"] for b in verified] == [
        "source.rate_changed",
        "alert.triggered",
        "source.rate_changed",
    ]
    alert = verified[1]["data"]
    [stored] = alerts.list_alerts(tenant.actor())
    assert alert == {
        "organizationId": str(tenant.org_id),
        "alertId": str(stored.id),
        "ruleId": str(rule.id),
        "kind": "wacc_above",
        "thresholdRate": "0.12",
        "rule": "WACC above 12 %",
        "valueBefore": "0.1",
        "valueAfter": "0.13",
        "totalCents": 100_000_00,
        "wacc": "0.13",
        "triggeredAt": stored.triggered_at.isoformat(),
        "revision": crossed.entry.revision,
        "entryId": crossed.entry.id,
        "sourceId": source,
        "sequence": crossed.entry.sequence,
        "importId": None,
    }
    assert verified[0]["data"]["revision"] == alert["revision"]
    listed = webhooks.list_deliveries(tenant.actor("ADMIN"), created.endpoint.id)
    assert sorted(d.event_type for d in listed) == sorted(b["type"] for b in verified)
    assert all(d.status == "delivered" for d in listed)
    assert webhooks.deliver_endpoint(tenant.org_id, created.endpoint.id) == 0  # caught up


def test_a_resent_alert_is_the_same_message(tenant, receiver):
    source = add_source(tenant.actor(), rate="0.10")
    alerts.create_rule(tenant.actor(), kind="wacc_above", threshold_rate=Decimal("0.12"))
    created = webhooks.create_endpoint(
        tenant.actor("ADMIN"), url=f"{receiver.base_url}/resend", event_types=["alert.triggered"]
    )
    rate(tenant, source, "0.2")
    assert webhooks.deliver_endpoint(tenant.org_id, created.endpoint.id) == 1
    [delivery] = webhooks.list_deliveries(tenant.actor("ADMIN"), created.endpoint.id)
    webhooks.resend(tenant.actor("ADMIN"), created.endpoint.id, delivery.id)
    webhooks.deliver_endpoint(tenant.org_id, created.endpoint.id)
    first, again = receiver.at("/resend")
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert json.loads(first.body)["data"] == json.loads(again.body)["data"]


def test_endpoints_get_only_the_types_they_asked_for(tenant, receiver):
    source = add_source(tenant.actor(), rate="0.10")
    alerts.create_rule(tenant.actor(), kind="wacc_above", threshold_rate=Decimal("0.12"))
    changes = webhooks.create_endpoint(
        tenant.actor("ADMIN"),
        url=f"{receiver.base_url}/changes",
        event_types=["source.rate_changed"],
    )
    only_alerts = webhooks.create_endpoint(
        tenant.actor("ADMIN"), url=f"{receiver.base_url}/alerts", event_types=["alert.triggered"]
    )
    rate(tenant, source, "0.13")
    rate(tenant, source, "0.11")
    rate(tenant, source, "0.15")
    for endpoint in (changes, only_alerts):
        webhooks.deliver_endpoint(tenant.org_id, endpoint.endpoint.id)
    assert [b["type"] for b in bodies(receiver, "/changes")] == ["source.rate_changed"] * 3
    assert [b["type"] for b in bodies(receiver, "/alerts")] == ["alert.triggered"] * 2


def test_an_endpoint_starts_after_the_alerts_already_triggered(tenant, receiver):
    source = add_source(tenant.actor(), rate="0.10")
    alerts.create_rule(tenant.actor(), kind="wacc_above", threshold_rate=Decimal("0.12"))
    rate(tenant, source, "0.13")  # change and alert before the endpoint exists
    created = webhooks.create_endpoint(tenant.actor("ADMIN"), url=f"{receiver.base_url}/late")
    assert webhooks.deliver_endpoint(tenant.org_id, created.endpoint.id) == 0
    rate(tenant, source, "0.11")
    assert webhooks.deliver_endpoint(tenant.org_id, created.endpoint.id) == 1
    assert [b["type"] for b in bodies(receiver, "/late")] == ["source.rate_changed"]


def test_another_organizations_alerts_never_reach_our_endpoint(tenant, other_tenant, receiver):
    theirs = add_source(other_tenant.actor(), rate="0.10")
    alerts.create_rule(other_tenant.actor(), kind="wacc_above", threshold_rate=Decimal("0.12"))
    ours = webhooks.create_endpoint(tenant.actor("ADMIN"), url=f"{receiver.base_url}/ours")
    rate(other_tenant, theirs, "0.5")
    add_source(tenant.actor(), rate="0.10")
    webhooks.deliver_endpoint(tenant.org_id, ours.endpoint.id)
    assert [b["type"] for b in bodies(receiver, "/ours")] == ["source.added"]

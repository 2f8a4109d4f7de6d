"""/api/alerts/rules and /api/alerts over the real server: roles, problems, the log."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_problem, day
from tests.support.factories import add_source

RULE_FIELDS = {
    "id",
    "kind",
    "thresholdRate",
    "thresholdBasisPoints",
    "windowDays",
    "thresholdCents",
    "description",
    "active",
    "createdBy",
    "createdAt",
    "deactivatedAt",
    "deactivatedBy",
}
ALERT_FIELDS = {
    "id",
    "ruleId",
    "kind",
    "thresholdRate",
    "thresholdBasisPoints",
    "windowDays",
    "thresholdCents",
    "description",
    "triggeredAt",
    "revision",
    "entryId",
    "sourceId",
    "sequence",
    "importId",
    "valueBefore",
    "valueAfter",
    "totalCents",
    "wacc",
}


def set_rule(client, **body):
    answer = client.post("/api/alerts/rules", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def change_rate(client, source_id: str, rate: float):
    answer = client.post(
        "/api/capital-history/update-rate",
        json={"sourceId": source_id, "annualRate": rate, "effectiveDate": day(0)},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_editor_sets_each_kind_and_everyone_reads_them(api, tenant):
    editor = api.as_user(tenant.editor)
    above = set_rule(editor, kind="wacc_above", thresholdRate=0.125)
    moved = set_rule(editor, kind="wacc_change", thresholdBasisPoints=50, windowDays=30)
    floor = set_rule(api.as_user(tenant.admin), kind="total_below", thresholdCents=100_000_000_00)
    assert set(above) == RULE_FIELDS and above["active"] is True
    assert above["thresholdRate"] == 0.125 and above["description"] == "WACC above 12.5 %"
    assert (moved["thresholdBasisPoints"], moved["windowDays"]) == (50, 30)
    assert floor["thresholdCents"] == 100_000_000_00 and floor["thresholdRate"] is None
    listed = api.as_user(tenant.viewer).get("/api/alerts/rules")
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()] == [above["id"], moved["id"], floor["id"]]


def test_a_viewer_may_not_set_or_deactivate_rules(api, tenant):
    rule = set_rule(api.as_user(tenant.editor), kind="wacc_above", thresholdRate=0.2)
    viewer = api.as_user(tenant.viewer)
    body = assert_problem(
        viewer.post("/api/alerts/rules", json={"kind": "wacc_above", "thresholdRate": 0.1}), 403
    )
    assert "editor or administrator" in body["detail"]
    assert_problem(viewer.delete(f"/api/alerts/rules/{rule['id']}"), 403)


def test_without_a_token_401(api):
    assert_problem(api.client().get("/api/alerts"), 401)
    assert_problem(api.client().get("/api/alerts/rules"), 401)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "wacc_below", "thresholdRate": 0.1}, ["kind"]),
        ({"kind": "wacc_above"}, ["thresholdRate"]),
        ({"kind": "wacc_above", "thresholdRate": 0}, ["thresholdRate"]),
        ({"kind": "wacc_above", "thresholdRate": 1.5}, ["thresholdRate"]),
        ({"kind": "wacc_above", "thresholdRate": "0.1"}, ["thresholdRate"]),
        ({"kind": "wacc_above", "thresholdRate": 0.1, "thresholdCents": 5}, ["thresholdCents"]),
        ({"kind": "wacc_change", "thresholdBasisPoints": 50}, ["windowDays"]),
        (
            {"kind": "wacc_change", "thresholdBasisPoints": 2.5, "windowDays": 0},
            [
                "thresholdBasisPoints",
                "windowDays",
            ],
        ),
        ({"kind": "total_below", "thresholdCents": 10.5}, ["thresholdCents"]),
        ({"kind": "total_below", "thresholdCents": 100, "colour": "red"}, ["colour"]),
    ],
)
def test_bad_rules_get_a_problem_naming_the_field_and_nothing_is_stored(api, tenant, body, fields):
    editor = api.as_user(tenant.editor)
    assert_problem(editor.post("/api/alerts/rules", json=body), 422, *fields)
    assert editor.get("/api/alerts/rules").json() == []


def test_a_crossing_change_is_in_the_log_with_its_revision(api, tenant, other_tenant):
    editor = api.as_user(tenant.editor)
    source = add_source(tenant.actor(), cents=100_000_00, rate="0.1")
    rule = set_rule(editor, kind="wacc_above", thresholdRate=0.12)
    first = change_rate(editor, source, 0.13)
    change_rate(editor, source, 0.14)  # still above: no second alert
    answer = api.as_user(tenant.viewer).get("/api/alerts")
    assert answer.status_code == 200, answer.text
    [alert] = answer.json()
    assert set(alert) == ALERT_FIELDS
    assert alert["ruleId"] == rule["id"] and alert["entryId"] == first["entry"]["id"]
    assert (alert["valueBefore"], alert["valueAfter"], alert["wacc"]) == (0.1, 0.13, 0.13)
    assert alert["totalCents"] == 100_000_00 and alert["sourceId"] == source
    assert api.as_user(other_tenant.viewer).get("/api/alerts").json() == []  # not theirs
    assert api.as_user(other_tenant.viewer).get("/api/alerts/rules").json() == []


def test_the_log_pages_newest_first(api, tenant):
    editor = api.as_user(tenant.editor)
    source = add_source(tenant.actor(), rate="0.1")
    set_rule(editor, kind="wacc_above", thresholdRate=0.12)
    for _ in range(3):
        change_rate(editor, source, 0.13)
        change_rate(editor, source, 0.11)
    every = editor.get("/api/alerts").json()
    assert len(every) == 3
    assert [a["revision"] for a in every] == sorted((a["revision"] for a in every), reverse=True)
    first = editor.get("/api/alerts", params={"limit": 2}).json()
    rest = editor.get("/api/alerts", params={"limit": 2, "before": first[-1]["id"]}).json()
    assert [a["id"] for a in first + rest] == [a["id"] for a in every]
    later = editor.get("/api/alerts", params={"afterRevision": every[1]["revision"]}).json()
    assert [a["id"] for a in later] == [every[0]["id"]]
    assert_problem(editor.get("/api/alerts", params={"limit": 0}), 422, "limit")
    assert_problem(editor.get("/api/alerts", params={"before": "not-a-uuid"}), 422, "before")


def test_deactivating_keeps_the_rule_and_stops_it(api, tenant):
    editor = api.as_user(tenant.editor)
    source = add_source(tenant.actor(), rate="0.1")
    rule = set_rule(editor, kind="wacc_above", thresholdRate=0.12)
    answer = api.as_user(tenant.admin).delete(f"/api/alerts/rules/{rule['id']}")
    assert answer.status_code == 200, answer.text
    off = answer.json()
    assert off["active"] is False and off["deactivatedBy"] == str(tenant.admin.id)
    again = editor.delete(f"/api/alerts/rules/{rule['id']}")
    assert again.status_code == 200 and again.json()["deactivatedAt"] == off["deactivatedAt"]
    change_rate(editor, source, 0.2)
    assert editor.get("/api/alerts").json() == []
    assert editor.get("/api/alerts/rules").json()[0]["active"] is False


def test_another_organizations_rule_is_not_found(api, tenant, other_tenant):
    rule = set_rule(api.as_user(tenant.editor), kind="wacc_above", thresholdRate=0.12)
    other = api.as_user(other_tenant.admin)
    assert_problem(other.delete(f"/api/alerts/rules/{rule['id']}"), 404)
    assert_problem(other.delete("/api/alerts/rules/not-a-uuid"), 422)
    assert api.as_user(tenant.viewer).get("/api/alerts/rules").json()[0]["active"] is True

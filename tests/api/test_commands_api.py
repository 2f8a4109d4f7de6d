"""The four commands: success, and each rule of API.md failing as documented."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import assert_problem, day, seed_history, snapshot
from tests.support.factories import add_source

ADD = "/api/capital-history/add-source"


def _add_body(**changes):
    body = {
        "source": {"name": "KCB term loan", "annualRate": 0.1325, "availableCents": 250000000},
        "effectiveDate": "2026-03-01",
        "notes": "signed",
    }
    for key, value in changes.items():
        if key in ("name", "annualRate", "availableCents"):
            body["source"][key] = value
        else:
            body[key] = value
    return body


def test_add_source(api, tenant):
    answer = api.as_user(tenant.editor).post(ADD, json=_add_body(name="  KCB term loan  "))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == {"sourceId", "entry"}
    entry = body["entry"]
    assert entry["sourceId"] == body["sourceId"]
    assert answer.headers["location"] == f"/api/capital-history/{body['sourceId']}"
    assert entry["name"] == "KCB term loan"
    assert entry["action"] == "ADDED" and entry["sequence"] == 1
    assert entry["effectiveDate"] == "2026-03-01T00:00:00Z"
    assert entry["notes"] == "signed"
    assert entry["createdBy"] == str(tenant.editor.id)
    assert '"annualRate":0.1325' in answer.text
    stored = snapshot(tenant)["history"]
    assert [e.id for e in stored] == [entry["id"]]


def test_admin_may_write_too(api, tenant):
    assert api.as_user(tenant.admin).post(ADD, json=_add_body()).status_code == 201


def test_name_limits(api, tenant):
    client = api.as_user(tenant.editor)
    assert client.post(ADD, json=_add_body(name="n" * 200)).status_code == 201
    assert_problem(client.post(ADD, json=_add_body(name="n" * 201)), 422, "source.name")
    assert_problem(client.post(ADD, json=_add_body(name="   ")), 422, "source.name")
    assert_problem(client.post(ADD, json=_add_body(name="")), 422, "source.name")


def test_active_name_is_unique_ignoring_case(api, tenant):
    client = api.as_user(tenant.editor)
    first = client.post(ADD, json=_add_body(name="Equity Bank")).json()
    assert_problem(client.post(ADD, json=_add_body(name="EQUITY bank")), 409)
    removed = client.post(
        "/api/capital-history/remove-source",
        json={"sourceId": first["sourceId"], "effectiveDate": day(0.01)},
    )
    assert removed.status_code == 201
    assert client.post(ADD, json=_add_body(name="equity bank")).status_code == 201


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"annualRate": -0.01}, "source.annualRate"),
        ({"annualRate": 1.000001}, "source.annualRate"),
        ({"annualRate": 0.1234567}, "source.annualRate"),
        ({"annualRate": "0.1"}, "source.annualRate"),
        ({"annualRate": True}, "source.annualRate"),
        ({"annualRate": None}, "source.annualRate"),
        ({"availableCents": 0}, "source.availableCents"),
        ({"availableCents": -5}, "source.availableCents"),
        ({"availableCents": 10**15 + 1}, "source.availableCents"),
        ({"availableCents": 1.5}, "source.availableCents"),
        ({"availableCents": 100.0}, "source.availableCents"),
        ({"availableCents": 2.5e8}, "source.availableCents"),
        ({"availableCents": "100"}, "source.availableCents"),
        ({"availableCents": True}, "source.availableCents"),
        ({"effectiveDate": day(-2)}, "effectiveDate"),
        ({"effectiveDate": "2999-01-01"}, "effectiveDate"),
        ({"effectiveDate": "1899-12-31"}, "effectiveDate"),
        ({"effectiveDate": "March 1st"}, "effectiveDate"),
        ({"effectiveDate": "2026-03-01T09:00:00"}, "effectiveDate"),
        ({"effectiveDate": 20260301}, "effectiveDate"),
        ({"notes": "n" * 2001}, "notes"),
        ({"notes": 5}, "notes"),
        ({"colour": "red"}, "colour"),
        ({"name": "x", "annualRate": 0.1, "availableCents": 1, "extra": 1}, "source.extra"),
    ],
)
def test_add_source_rules(api, tenant, changes, field):
    body = _add_body(**{k: v for k, v in changes.items() if k != "extra"})
    if "extra" in changes:
        body["source"]["extra"] = 1
    assert_problem(api.as_user(tenant.editor).post(ADD, json=body), 422, field)
    assert snapshot(tenant)["history"] == []


def test_every_bad_field_is_reported_at_once(api, tenant):
    body = {"source": {"name": "", "annualRate": 2, "availableCents": 0.5}, "notes": 1}
    problem = assert_problem(
        api.as_user(tenant.editor).post(ADD, json=body),
        422,
        "source.name",
        "source.annualRate",
        "source.availableCents",
        "effectiveDate",
        "notes",
    )
    assert all(e["message"] for e in problem["errors"])


def test_rate_and_amount_bounds_are_accepted(api, tenant):
    client = api.as_user(tenant.editor)
    for n, (rate, cents) in enumerate([(0, 1), (1, 10**15), (0.000001, 123)]):
        answer = client.post(
            ADD, json=_add_body(name=f"Bound {n}", annualRate=rate, availableCents=cents)
        )
        assert answer.status_code == 201, answer.text


def _change(client, path, body):
    return client.post(f"/api/capital-history/{path}", json=body)


def test_update_amount(api, tenant):
    source = add_source(tenant.actor(), cents=100_00, days=30)
    answer = _change(
        api.as_user(tenant.editor),
        "update-amount",
        {"sourceId": source, "availableCents": 250_00, "effectiveDate": day(1), "notes": "top-up"},
    )
    assert answer.status_code == 201, answer.text
    entry = answer.json()["entry"]
    assert entry["action"] == "AMOUNT_CHANGED" and entry["sequence"] == 2
    assert entry["availableCents"] == 250_00 and entry["previousAmount"] == 100_00
    assert entry["previousRate"] is None


def test_update_rate(api, tenant):
    source = add_source(tenant.actor(), rate="0.14", days=30)
    answer = _change(
        api.as_user(tenant.editor),
        "update-rate",
        {"sourceId": source, "annualRate": 0.1325, "effectiveDate": day(1)},
    )
    assert answer.status_code == 201, answer.text
    assert '"annualRate":0.1325' in answer.text and '"previousRate":0.14' in answer.text


@pytest.mark.parametrize("path", ["remove-source", "remove"])
def test_remove_source_and_its_alias(api, tenant, path):
    source = add_source(tenant.actor(), days=30)
    answer = _change(
        api.as_user(tenant.editor), path, {"sourceId": source, "effectiveDate": day(1)}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["entry"]["action"] == "REMOVED"


def test_an_update_that_changes_nothing_is_422(api, tenant):
    source = add_source(tenant.actor(), cents=100_00, rate="0.1", days=30)
    client = api.as_user(tenant.editor)
    body = {"sourceId": source, "availableCents": 100_00, "effectiveDate": day(1)}
    assert_problem(_change(client, "update-amount", body), 422, "availableCents")
    body = {"sourceId": source, "annualRate": 0.1, "effectiveDate": day(1)}
    assert_problem(_change(client, "update-rate", body), 422, "annualRate")


def test_changes_to_a_removed_source_are_409(api, tenant):
    seeded = seed_history(tenant)
    client = api.as_user(tenant.editor)
    before = snapshot(tenant)
    for path, extra in (
        ("update-amount", {"availableCents": 1}),
        ("update-rate", {"annualRate": 0.5}),
        ("remove-source", {}),
    ):
        for when in (day(30), day(5), day(0.001)):  # before, on and after the removal
            body = {"sourceId": seeded.kiva, "effectiveDate": when, **extra}
            assert_problem(_change(client, path, body), 409)
    assert snapshot(tenant) == before


def test_a_change_before_the_source_was_added_is_422(api, tenant):
    source = add_source(tenant.actor(), days=10)
    body = {"sourceId": source, "availableCents": 5, "effectiveDate": day(11)}
    assert_problem(_change(api.as_user(tenant.editor), "update-amount", body), 422, "effectiveDate")


def test_a_removal_before_a_recorded_change_is_409(api, tenant):
    source = add_source(tenant.actor(), days=10)
    client = api.as_user(tenant.editor)
    change = {"sourceId": source, "availableCents": 5, "effectiveDate": day(2)}
    assert _change(client, "update-amount", change).status_code == 201
    removal = {"sourceId": source, "effectiveDate": day(5)}
    assert_problem(_change(client, "remove-source", removal), 409)


def test_future_effective_date_is_422_for_changes(api, tenant):
    source = add_source(tenant.actor(), days=10)
    body = {"sourceId": source, "annualRate": 0.3, "effectiveDate": day(-1)}
    assert_problem(_change(api.as_user(tenant.editor), "update-rate", body), 422, "effectiveDate")


def test_stale_expected_sequence_is_409_with_the_latest_entry(api, tenant):
    source = add_source(tenant.actor(), cents=100_00, days=30)
    client = api.as_user(tenant.editor)
    first = _change(
        client,
        "update-amount",
        {
            "sourceId": source,
            "availableCents": 200_00,
            "effectiveDate": day(2),
            "expectedSequence": 1,
        },
    )
    assert first.status_code == 201
    latest = first.json()["entry"]
    for path, extra in (
        ("update-amount", {"availableCents": 300_00}),
        ("update-rate", {"annualRate": 0.2}),
        ("remove-source", {}),
    ):
        body = {"sourceId": source, "effectiveDate": day(1), "expectedSequence": 1, **extra}
        problem = assert_problem(_change(client, path, body), 409)
        assert problem["latestEntry"] == latest
        assert problem["expectedSequence"] == 1 and problem["currentSequence"] == 2
    ok = {"sourceId": source, "annualRate": 0.2, "effectiveDate": day(1), "expectedSequence": 2}
    assert _change(client, "update-rate", ok).status_code == 201


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True])
def test_expected_sequence_must_be_a_positive_integer(api, tenant, value):
    source = add_source(tenant.actor(), days=3)
    body = {
        "sourceId": source,
        "annualRate": 0.3,
        "effectiveDate": day(1),
        "expectedSequence": value,
    }
    assert_problem(
        _change(api.as_user(tenant.editor), "update-rate", body), 422, "expectedSequence"
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("update-amount", {"availableCents": 5, "effectiveDate": "2026-01-01"}, "sourceId"),
        ("update-amount", {"sourceId": "s", "effectiveDate": "2026-01-01"}, "availableCents"),
        ("update-rate", {"sourceId": "s", "annualRate": 0.1}, "effectiveDate"),
        ("remove-source", {"sourceId": "s", "effectiveDate": "2026-01-01", "why": 1}, "why"),
        ("remove", {"sourceId": "", "effectiveDate": "2026-01-01"}, "sourceId"),
        (
            "update-rate",
            {"source_id": "s", "annualRate": 0.1, "effectiveDate": day(1)},
            "source_id",
        ),
    ],
)
def test_change_shapes_are_checked(api, tenant, path, body, field):
    assert_problem(_change(api.as_user(tenant.editor), path, body), 422, field)


@pytest.mark.parametrize("path", ["update-amount", "update-rate", "remove-source", "remove"])
def test_unknown_source_is_404(api, tenant, path):
    body = {"sourceId": "src_1737000000000_a81bz", "effectiveDate": day(1)}
    body.update(
        {"update-amount": {"availableCents": 5}, "update-rate": {"annualRate": 0.3}}.get(path, {})
    )
    assert_problem(_change(api.as_user(tenant.editor), path, body), 404)


def test_bodies_over_one_mebibyte_are_413(api, tenant):
    seed_history(tenant)
    before = snapshot(tenant)
    body = json.dumps(_add_body(notes="x" * (1024 * 1024))).encode()
    answer = api.as_user(tenant.editor).post(
        ADD, content=body, headers={"content-type": "application/json"}
    )
    assert_problem(answer, 413)
    assert snapshot(tenant) == before


def test_a_body_just_under_the_limit_is_read(api, tenant):
    body = _add_body(notes="x" * 2000)
    padded = json.dumps(body) + " " * (1024 * 1024 - len(json.dumps(body)) - 10)
    answer = api.as_user(tenant.editor).post(
        ADD, content=padded.encode(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 201, answer.text

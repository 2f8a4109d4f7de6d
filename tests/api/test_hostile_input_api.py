"""Hostile input gets a documented 4xx and leaves every stored row as it was."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import assert_problem, day, seed_history, snapshot

ADD = "/api/capital-history/add-source"
JSON = {"content-type": "application/json"}


def _add(name='"Loan"', rate="0.1", cents="100", notes='"n"', extra=""):
    """A raw add-source body: values are spliced in as JSON text."""
    return (
        f'{{"source": {{"name": {name}, "annualRate": {rate}, "availableCents": {cents}}},'
        f' "effectiveDate": "{day(1)}", "notes": {notes}{extra}}}'
    ).encode()


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


HOSTILE_BODIES = {
    "10 kB name": (_add(name=json.dumps("n" * 10_000)), 422, "source.name"),
    "NUL in name": (_add(name='"Loan\\u0000"'), 422, "source.name"),
    "NUL in notes": (_add(notes='"a\\u0000b"'), 422, "notes"),
    "raw NUL byte in name": (_add(name='"Lo\x00an"'), 422, "body"),
    "lone surrogate in name": (_add(name='"Loan \\ud800"'), 422, "source.name"),
    "lone surrogate in notes": (_add(notes='"\\udfff"'), 422, "notes"),
    "invalid UTF-8": (
        _add(name=b'"Lo\xff\xfean"'.decode("latin-1")).replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe"),
        422,
        "body",
    ),
    "huge cents": (_add(cents="1" + "0" * 30), 422, "source.availableCents"),
    "cents past int64": (_add(cents=str(2**64)), 422, "source.availableCents"),
    "5000-digit cents": (_add(cents="9" * 5000), 422, "body"),
    "exponent cents": (_add(cents="1e400"), 422, "source.availableCents"),
    "negative exponent rate": (_add(rate="1e-400"), 422, "source.annualRate"),
    "huge rate": (_add(rate="9" * 400), 422, "source.annualRate"),
    "float cents": (_add(cents="2500.75"), 422, "source.availableCents"),
    "float-looking whole cents": (_add(cents="2.5e8"), 422, "source.availableCents"),
    "NaN rate": (_add(rate="NaN"), 422, "body"),
    "Infinity cents": (_add(cents="Infinity"), 422, "body"),
    "string cents": (_add(cents='"100"'), 422, "source.availableCents"),
    "boolean cents": (_add(cents="true"), 422, "source.availableCents"),
    "null name": (_add(name="null"), 422, "source.name"),
    "object as name": (_add(name='{"a": [1, 2, {"b": null}]}'), 422, "source.name"),
    "array as rate": (_add(rate="[0.1]"), 422, "source.annualRate"),
    "nested junk field": (_add(extra=', "junk": {"a": {"b": {"c": [[[[]]]]}}}'), 422, "junk"),
    "prototype pollution": (_add(extra=', "__proto__": {"admin": true}'), 422, "__proto__"),
    "deep nesting": (_deep(100_000), 422, "body"),
    "top-level array": (b"[]", 422, "body"),
    "top-level null": (b"null", 422, "body"),
    "top-level string": (b'"add"', 422, "body"),
    "empty body": (b"", 422, "body"),
    "truncated JSON": (_add()[:-5], 422, "body"),
    "two documents": (_add() + _add(), 422, "body"),
    "trailing comma": (_add(extra=","), 422, "body"),
}


@pytest.mark.parametrize("case", list(HOSTILE_BODIES))
def test_hostile_bodies_are_refused_and_nothing_changes(api, tenant, case):
    seed_history(tenant)
    before = snapshot(tenant)
    body, status, field = HOSTILE_BODIES[case]
    answer = api.as_user(tenant.editor).post(ADD, content=body, headers=JSON)
    assert_problem(answer, status, field)
    assert snapshot(tenant) == before


@pytest.mark.parametrize("path", ["update-amount", "update-rate", "remove-source"])
@pytest.mark.parametrize(
    "source_id",
    [
        "' OR '1'='1",
        "x'; DROP TABLE capital_history; --",
        "src\u0000id",
        "%00",
        "../../etc/passwd",
        "💰" * 30,
    ],
)
def test_hostile_source_ids_find_nothing(api, tenant, path, source_id):
    seed_history(tenant)
    before = snapshot(tenant)
    body = {"sourceId": source_id, "effectiveDate": day(1), "availableCents": 5, "annualRate": 0.5}
    body = {
        k: v
        for k, v in body.items()
        if not (
            (k == "availableCents" and path != "update-amount")
            or (k == "annualRate" and path != "update-rate")
        )
    }
    answer = api.as_user(tenant.editor).post(f"/api/capital-history/{path}", json=body)
    assert answer.status_code in (404, 422), answer.text
    assert_problem(answer, answer.status_code)
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    "params",
    [
        {"sourceId": "' OR 1=1 --"},
        {"sourceId": "x\u0000"},
        {"action": "ADDED' OR '1'='1"},
        {"startDate": "2026-01-01'; DROP TABLE capital_history; --"},
        {"cursor": "' UNION SELECT * FROM app_user --"},
        {"limit": "1; DELETE FROM capital_history"},
        {"limit": str(10**100)},
        {"endDate": "9" * 5000},
    ],
)
def test_hostile_query_parameters_are_refused(api, tenant, params):
    seed_history(tenant)
    before = snapshot(tenant)
    answer = api.as_user(tenant.viewer).get("/api/capital-history", params=params)
    assert answer.status_code in (404, 422), answer.text
    assert_problem(answer, answer.status_code)
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    "name",
    [
        "Robert'); DROP TABLE capital_history;--",
        'Quote " and backslash \\ and %s %% {} $1',
        "Mkopo 💰 wa benki 🇰🇪",
        "名前 — ünïcödé",
        "💰" * 200,
    ],
)
def test_unusual_but_valid_names_are_stored_verbatim(api, tenant, name):
    seed_history(tenant)
    before = snapshot(tenant)
    client = api.as_user(tenant.editor)
    answer = client.post(
        ADD,
        json={
            "source": {"name": name, "annualRate": 0.1, "availableCents": 5},
            "effectiveDate": day(1),
        },
    )
    assert answer.status_code == 201, answer.text
    source_id = answer.json()["sourceId"]
    stored = client.get(f"/api/capital-history/{source_id}").json()
    assert stored[0]["name"] == name
    after = snapshot(tenant)
    assert [e for e in after["history"] if e.source_id != source_id] == before["history"]
    assert len(after["history"]) == len(before["history"]) + 1


def test_two_mebibyte_bodies_are_413_declared_or_chunked(api, tenant):
    seed_history(tenant)
    before = snapshot(tenant)
    big = _add(notes=json.dumps("x" * (2 * 1024 * 1024)))
    client = api.as_user(tenant.editor)
    assert_problem(client.post(ADD, content=big, headers=JSON), 413)

    def chunks():
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    assert_problem(client.post(ADD, content=chunks(), headers=JSON), 413)
    assert_problem(client.post("/api/users", content=big, headers=JSON), 413)
    assert_problem(api.client().post("/api/auth/token", content=big, headers=JSON), 413)
    assert snapshot(tenant) == before


def test_odd_methods_paths_and_keys_get_problems(api, tenant):
    client = api.as_user(tenant.editor)
    not_allowed = client.delete("/api/capital-history")
    assert_problem(not_allowed, 405)
    assert not_allowed.headers["allow"] == "GET"
    assert client.put(f"/api/users/{tenant.viewer.id}").headers["allow"] == "PATCH"
    assert_problem(client.get("/api/no-such-thing"), 404)
    assert_problem(client.post("/api/capital-history/a/b", json={}), 404)
    assert client.post("/api/capital-history/x", json={}).headers["allow"] == "GET"
    for key in ("k" * 201, "has space", "tab\tkey", "ключ".encode()):
        answer = client.post(ADD, content=_add(), headers={**JSON, "Idempotency-Key": key})
        assert_problem(answer, 422, "Idempotency-Key")
    assert snapshot(tenant)["history"] == []


def test_the_raw_body_builder_makes_a_valid_body(api, tenant):
    """Guards the cases above: each differs from an accepted body only where it says."""
    answer = api.as_user(tenant.editor).post(ADD, content=_add(), headers=JSON)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        (ADD, "source.name", {"source": {"name": "\u200b\u200b", "annualRate": 0.1,
                                         "availableCents": 5}, "effectiveDate": "2026-01-01"}),
        (ADD, "source.name", {"source": {"name": "Loan \u202etxt.exe", "annualRate": 0.1,
                                         "availableCents": 5}, "effectiveDate": "2026-01-01"}),
        (ADD, "notes", {"source": {"name": "Fine", "annualRate": 0.1, "availableCents": 5},
                        "effectiveDate": "2026-01-01", "notes": "see \u2066attached\u2069"}),
        ("/api/users", "name", {"email": "zw@example.test", "name": "\ufeffAnn",
                                "role": "VIEWER", "password": "long enough password 1"}),
    ],
)  # fmt: skip
def test_invisible_and_text_direction_characters_are_refused(api, tenant, path, field, body):
    before = snapshot(tenant)
    answer = api.as_user(tenant.admin).post(path, json=body)
    problem = assert_problem(answer, 422, field)
    assert "invisible or text-direction" in json.dumps(problem["errors"])
    assert snapshot(tenant) == before

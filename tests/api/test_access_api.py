"""Who may do what: tenant isolation, roles, and sign-in required everywhere but health."""

from __future__ import annotations

import pytest

from capital_app.api.app import create_api_app
from tests.api.helpers import assert_problem, day, seed_history, snapshot

OPERATIONS = [
    (method.upper(), path)
    for path, item in create_api_app().openapi()["paths"].items()
    for method in item
]
PUBLIC = {("POST", "/api/auth/token"), ("GET", "/api/health")}


@pytest.mark.parametrize(("method", "path"), [op for op in OPERATIONS if op not in PUBLIC])
def test_every_endpoint_but_sign_in_and_health_needs_a_token(api, method, path):
    url = path.replace("{sourceId}", "src_x").replace(
        "{id}", "00000000-0000-0000-0000-000000000000"
    )
    answer = api.client().request(method, url, json={})
    assert_problem(answer, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")


def _source_writes(source_id):
    return [
        (
            "POST",
            "/api/capital-history/update-amount",
            {"sourceId": source_id, "availableCents": 7, "effectiveDate": day(1)},
        ),
        (
            "POST",
            "/api/capital-history/update-rate",
            {"sourceId": source_id, "annualRate": 0.5, "effectiveDate": day(1)},
        ),
        (
            "POST",
            "/api/capital-history/remove-source",
            {"sourceId": source_id, "effectiveDate": day(1)},
        ),
        ("POST", "/api/capital-history/remove", {"sourceId": source_id, "effectiveDate": day(1)}),
    ]


def _foreign_source_calls(source_ids):
    """Every read and write an integrator can aim at a source id."""
    calls = []
    for source_id in source_ids:
        calls += [
            ("GET", f"/api/capital-history/{source_id}", None),
            ("GET", f"/api/capital-history?sourceId={source_id}", None),
            *_source_writes(source_id),
        ]
    return calls


def test_another_organizations_sources_are_404_and_unchanged(api, tenant, other_tenant):
    seeded = seed_history(tenant)
    before = snapshot(tenant)
    ids = [seeded.kcb, seeded.equity, seeded.kiva]
    for role_user in (other_tenant.admin, other_tenant.editor, other_tenant.viewer):
        client = api.as_user(role_user)
        for method, url, body in _foreign_source_calls(ids):
            answer = client.request(method, url, json=body)
            expected = 403 if role_user is other_tenant.viewer and method == "POST" else 404
            assert_problem(answer, expected)
    assert snapshot(tenant) == before


def test_another_organizations_data_never_shows(api, tenant, other_tenant):
    seed_history(tenant)
    client = api.as_user(other_tenant.admin)
    assert client.get("/api/capital-history").json() == []
    assert client.get("/api/capital-sources/active").json() == []
    assert client.get("/api/capital-sources/active", params={"asOf": day(120)}).json() == []
    assert client.get("/api/wacc").json()["wacc"] is None
    assert all(p["totalCents"] == 0 for p in client.get("/api/wacc/series").json())
    listed = {u["id"] for u in client.get("/api/users").json()}
    assert listed == {
        str(u.id) for u in (other_tenant.admin, other_tenant.editor, other_tenant.viewer)
    }


def test_same_names_in_two_organizations_do_not_clash(api, tenant, other_tenant):
    body = {
        "source": {"name": "Shared name", "annualRate": 0.1, "availableCents": 5},
        "effectiveDate": day(1),
    }
    assert (
        api.as_user(tenant.editor).post("/api/capital-history/add-source", json=body).status_code
        == 201
    )
    assert (
        api.as_user(other_tenant.editor)
        .post("/api/capital-history/add-source", json=body)
        .status_code
        == 201
    )


def _writes(source_id, user_id):
    return [
        (
            "POST",
            "/api/capital-history/add-source",
            {
                "source": {"name": "Viewer's loan", "annualRate": 0.1, "availableCents": 5},
                "effectiveDate": day(1),
            },
        ),
        *_source_writes(source_id),
        (
            "POST",
            "/api/users",
            {"email": "v@example.test", "name": "V", "role": "ADMIN", "password": "long enough!"},
        ),
        ("PATCH", f"/api/users/{user_id}", {"role": "ADMIN"}),
    ]


def test_viewer_gets_403_on_every_write(api, tenant):
    seeded = seed_history(tenant)
    before = snapshot(tenant)
    client = api.as_user(tenant.viewer)
    for method, url, body in _writes(seeded.kcb, tenant.viewer.id):
        assert_problem(client.request(method, url, json=body), 403)
    assert snapshot(tenant) == before


def test_editor_gets_403_on_user_management(api, tenant):
    before = snapshot(tenant)
    client = api.as_user(tenant.editor)
    assert_problem(client.get("/api/users"), 403)
    for method, url, body in _writes("unused", tenant.editor.id)[-2:]:
        assert_problem(client.request(method, url, json=body), 403)
    assert snapshot(tenant) == before


def test_viewer_reads_everything(api, tenant):
    seeded = seed_history(tenant)
    client = api.as_user(tenant.viewer)
    for url in (
        "/api/me",
        "/api/capital-history",
        f"/api/capital-history/{seeded.kcb}",
        "/api/capital-sources/active",
        "/api/wacc",
        "/api/wacc/series",
    ):
        assert client.get(url).status_code == 200, url

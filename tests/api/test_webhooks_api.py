"""Webhooks over a real server and a real worker, delivering to a local receiver.

The API server and the worker (`python -m capital_app worker`) run as subprocesses
with private addresses and plain http allowed (the receiver is on loopback), short
backoff and a short retry window, so retries and the failing state happen in seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from capital_app.service import audit
from tests.api.helpers import assert_problem
from tests.support.api_server import start_api_server
from tests.support.factories import add_source
from tests.support.webhook_receiver import start_receiver

RETRY_WINDOW = 4.0
WEBHOOK_ENV = {
    "CAPITAL_WEBHOOKS_ALLOW_PRIVATE": "1",
    "CAPITAL_WEBHOOKS_ALLOW_HTTP": "1",
    "CAPITAL_WEBHOOKS_BACKOFF_BASE_SECONDS": "0.1",
    "CAPITAL_WEBHOOKS_BACKOFF_MAX_SECONDS": "0.4",
    "CAPITAL_WEBHOOKS_RETRY_WINDOW_SECONDS": str(RETRY_WINDOW),
    "CAPITAL_WEBHOOKS_POLL_SECONDS": "0.2",
    "CAPITAL_WEBHOOKS_TIMEOUT_SECONDS": "1",
}


@pytest.fixture(scope="module")
def hooks_server(database_url):
    server = start_api_server(WEBHOOK_ENV)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker(database_url):
    log = tempfile.NamedTemporaryFile(prefix="capital-worker-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "capital_app", "worker"],
        env={**os.environ, **WEBHOOK_ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    print(Path(log.name).read_text(errors="replace")[-4000:])


@pytest.fixture(scope="module")
def receiver():
    r = start_receiver()
    yield r
    r.stop()


@pytest.fixture
def hooks(hooks_server):
    from tests.api.conftest import Api

    session = Api(hooks_server)
    yield session
    session.close()


def register(hooks, tenant, url, **extra):
    answer = hooks.as_user(tenant.admin).post("/api/webhooks", json={"url": url, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def payloads(received):
    return [json.loads(r.body) for r in received]


def deliveries(hooks, tenant, endpoint_id):
    answer = hooks.as_user(tenant.admin).get(f"/api/webhooks/{endpoint_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_changes_arrive_signed_in_order_and_the_standard_verifier_accepts_them(
    hooks, tenant, worker, receiver
):
    add_source(tenant.actor("EDITOR"), name="Before the endpoint")  # never sent
    created = register(hooks, tenant, f"{receiver.base_url}/signed")
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["status"] == "active"
    listed = hooks.as_user(tenant.admin).get("/api/webhooks").json()
    assert [e["id"] for e in listed] == [created["id"]] and secret not in str(listed)
    ids = [add_source(tenant.actor("EDITOR"), name=f"Loan {n}") for n in range(5)]
    receiver.wait_for(lambda: len(receiver.at("/signed")) >= 5)
    time.sleep(0.5)
    got = receiver.at("/signed")
    assert len(got) == 5
    verifier = Webhook(secret)
    bodies = [verifier.verify(r.body, r.headers) for r in got]
    assert [b["data"]["sourceId"] for b in bodies] == ids
    assert [b["type"] for b in bodies] == ["source.added"] * 5
    revisions = [b["data"]["revision"] for b in bodies]
    assert revisions == sorted(revisions) and len(set(revisions)) == 5
    assert all(b["data"]["organizationId"] == str(tenant.org_id) for b in bodies)
    with pytest.raises(WebhookVerificationError):  # another secret does not verify
        Webhook("whsec_" + "A" * 43 + "=").verify(got[0].body, got[0].headers)
    tampered = got[0].body.replace(b"Loan 0", b"Loan X")
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, got[0].headers)
    log = wait_until(
        lambda: (
            (d := deliveries(hooks, tenant, created["id"]))
            and all(x["status"] == "delivered" for x in d)
            and len(d) == 5
            and d
        )
    )
    assert all(x["attempts"] == 1 and x["responseCode"] == 200 for x in log)
    assert all(x["latencyMs"] is not None for x in log)
    assert {f"msg_{x['id'].replace('-', '')}" for x in log} == {
        r.headers["webhook-id"] for r in got
    }
    actions = [e.action for e in audit.list_audit_events(tenant.actor("ADMIN"), limit=50)]
    assert "webhook.created" in actions


@pytest.mark.parametrize(
    ("path", "first_answer", "delay"),
    [("/fails-500", 500, 0.0), ("/redirects", 302, 0.0), ("/times-out", 200, 2.0)],
)
def test_a_failed_attempt_is_logged_and_retried_and_order_is_kept(
    hooks, tenant, worker, receiver, path, first_answer, delay
):
    receiver.behaviour[path] = lambda n: (first_answer, delay) if n <= 2 else (204, 0.0)
    created = register(hooks, tenant, f"{receiver.base_url}{path}")
    first = add_source(tenant.actor("EDITOR"), name="First")
    second = add_source(tenant.actor("EDITOR"), name="Second")
    receiver.wait_for(  # two failed attempts of the first, then both delivered
        lambda: (
            len(receiver.at(path)) >= 4 and sum(r.answered == 204 for r in receiver.at(path)) >= 2
        )
    )
    got = receiver.at(path)
    assert [r.answered for r in got[:2]] == [first_answer, first_answer]
    delivered = [json.loads(r.body)["data"]["sourceId"] for r in got if r.answered == 204]
    assert delivered == [first, second]  # the second waited for the first
    assert all(json.loads(r.body)["data"]["sourceId"] == first for r in got[:3])
    log = wait_until(
        lambda: (
            (d := deliveries(hooks, tenant, created["id"]))
            and len(d) == 2
            and all(x["status"] == "delivered" for x in d)
            and d
        )
    )
    by_entry = sorted(log, key=lambda x: x["revision"])
    assert by_entry[0]["attempts"] == 3 and by_entry[1]["attempts"] == 1
    assert by_entry[0]["responseCode"] == 204


def test_after_the_retry_window_the_endpoint_is_failing_and_enabling_resumes(
    hooks, tenant, worker, receiver
):
    receiver.behaviour["/down"] = lambda n: (500, 0.0)
    created = register(hooks, tenant, f"{receiver.base_url}/down")
    source = add_source(tenant.actor("EDITOR"), name="Never arrives")
    admin = hooks.as_user(tenant.admin)
    failing = wait_until(
        lambda: (
            (e := admin.get(f"/api/webhooks/{created['id']}").json())["status"] == "failing" and e
        ),
        timeout=RETRY_WINDOW + 20,
    )
    assert failing["failingSince"] is not None
    log = deliveries(hooks, tenant, created["id"])
    assert len(log) == 1 and log[0]["status"] == "failed" and log[0]["attempts"] >= 3
    assert log[0]["responseCode"] == 500
    attempts = len(receiver.at("/down"))
    time.sleep(1.0)
    assert len(receiver.at("/down")) == attempts  # failing: nothing more is sent
    receiver.behaviour["/down"] = lambda n: (200, 0.0)
    enabled = admin.patch(f"/api/webhooks/{created['id']}", json={"disabled": False})
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"
    receiver.wait_for(lambda: any(r.answered == 200 for r in receiver.at("/down")))
    ok = [r for r in receiver.at("/down") if r.answered == 200]
    assert json.loads(ok[0].body)["data"]["sourceId"] == source


def test_resend_sends_the_same_message_again(hooks, tenant, worker, receiver):
    created = register(hooks, tenant, f"{receiver.base_url}/resend")
    add_source(tenant.actor("EDITOR"), name="Again")
    receiver.wait_for(lambda: len(receiver.at("/resend")) == 1)
    log = wait_until(
        lambda: (
            (d := deliveries(hooks, tenant, created["id"])) and d[0]["status"] == "delivered" and d
        )
    )
    answer = hooks.as_user(tenant.admin).post(
        f"/api/webhooks/{created['id']}/deliveries/{log[0]['id']}/resend"
    )
    assert answer.status_code == 202, answer.text
    receiver.wait_for(lambda: len(receiver.at("/resend")) == 2)
    one, two = receiver.at("/resend")
    assert one.headers["webhook-id"] == two.headers["webhook-id"]
    assert json.loads(one.body)["data"] == json.loads(two.body)["data"]
    again = wait_until(
        lambda: (d := deliveries(hooks, tenant, created["id"]))[0]["attempts"] == 2 and d
    )
    assert again[0]["status"] == "delivered" and not again[0]["resendRequested"]


def test_one_organizations_changes_never_reach_anothers_endpoint(
    hooks, tenant, other_tenant, worker, receiver
):
    mine = register(hooks, tenant, f"{receiver.base_url}/org-a")
    theirs = register(hooks, other_tenant, f"{receiver.base_url}/org-b")
    a = add_source(tenant.actor("EDITOR"), name="A only")
    b = add_source(other_tenant.actor("EDITOR"), name="B only")
    receiver.wait_for(lambda: receiver.at("/org-a") and receiver.at("/org-b"))
    time.sleep(0.5)
    assert [p["data"]["sourceId"] for p in payloads(receiver.at("/org-a"))] == [a]
    assert [p["data"]["sourceId"] for p in payloads(receiver.at("/org-b"))] == [b]
    other = hooks.as_user(other_tenant.admin)
    assert_problem(other.get(f"/api/webhooks/{mine['id']}"), 404)
    assert_problem(other.delete(f"/api/webhooks/{mine['id']}"), 404)
    assert [e["id"] for e in other.get("/api/webhooks").json()] == [theirs["id"]]


def test_only_an_admin_manages_webhooks(hooks, tenant):
    for user in (tenant.viewer, tenant.editor):
        client = hooks.as_user(user)
        assert_problem(client.get("/api/webhooks"), 403)
        assert_problem(client.post("/api/webhooks", json={"url": "https://example.com/"}), 403)
    assert_problem(hooks.client().get("/api/webhooks"), 401)


def test_an_admin_deletes_an_endpoint_and_it_is_audited(hooks, tenant, receiver):
    created = register(hooks, tenant, f"{receiver.base_url}/deleted")
    admin = hooks.as_user(tenant.admin)
    assert admin.delete(f"/api/webhooks/{created['id']}").status_code == 204
    assert_problem(admin.get(f"/api/webhooks/{created['id']}"), 404)
    actions = [e.action for e in audit.list_audit_events(tenant.actor("ADMIN"), limit=50)]
    assert "webhook.deleted" in actions


def test_bad_endpoints_are_refused_with_problem_json(hooks, tenant):
    admin = hooks.as_user(tenant.admin)
    for body in (
        {"url": "ftp://example.com/x"},
        {"url": "not a url"},
        {"url": "https://user:pw@example.com/"},
        {"url": "https://example.com/", "eventTypes": ["source.exploded"]},
        {"url": "https://example.com/", "eventTypes": []},
    ):
        assert_problem(admin.post("/api/webhooks", json=body), 422)


@pytest.fixture(scope="module")
def strict_server(database_url):
    server = start_api_server(
        {"CAPITAL_WEBHOOKS_ALLOW_PRIVATE": "", "CAPITAL_WEBHOOKS_ALLOW_HTTP": ""}
    )
    yield server
    server.stop()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
    ],
)
def test_private_and_loopback_receivers_are_refused_unless_allowed(strict_server, tenant, url):
    from tests.api.conftest import Api

    session = Api(strict_server)
    try:
        answer = session.as_user(tenant.admin).post("/api/webhooks", json={"url": url})
        body = assert_problem(answer, 422, "url")
        assert "public" in json.dumps(body)
        plain = session.as_user(tenant.admin).post(
            "/api/webhooks", json={"url": "http://example.com/hook"}
        )
        assert_problem(plain, 422, "url")
    finally:
        session.close()


def test_delivery_checks_the_address_again(tenant, worker, receiver, monkeypatch):
    """A receiver that was public at registration and now resolves to loopback: the
    worker (private addresses refused) does not send to it."""
    from capital_app.service import webhooks
    from capital_app.settings import Settings, get_settings

    base = get_settings()
    monkeypatch.setattr(
        webhooks,
        "get_settings",
        lambda: Settings(
            **{**base.__dict__, "webhooks_allow_private": False, "webhooks_allow_http": True}
        ),
    )
    with pytest.raises(webhooks.UnsafeReceiver):
        webhooks.checked_address(f"{receiver.base_url}/x")

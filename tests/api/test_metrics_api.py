"""/metrics from a real two-worker Granian server (prometheus-client multiprocess mode):
after a scripted workload, a scrape answered by either worker shows every worker's
counts; only the metrics token or an ADMIN may read it."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from capital_app.service import api_keys
from tests.api.helpers import assert_problem
from tests.support.api_server import ApiServer, start_api_server
from tests.support.factories import PASSWORD, Tenant, add_source, make_tenant
from tests.support.prototype import FIXTURES

METRICS_TOKEN = "metrics-" + secrets.token_urlsafe(24)
READS = 40
WRONG_PASSWORDS = 3  # then the account is throttled (limit 3 below)


@pytest.fixture(scope="module")
def metrics_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="capital-metrics-test-") as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def server(database_url: str, metrics_dir: Path) -> Iterator[ApiServer]:
    server = start_api_server(
        {
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "CAPITAL_METRICS_TOKEN": METRICS_TOKEN,
            "CAPITAL_LOG_FORMAT": "json",
            "CAPITAL_LOGIN_MAX_FAILURES_PER_ACCOUNT": str(WRONG_PASSWORDS),
        },
        workers=2,
    )
    yield server
    server.stop()


def sign_in(base_url: str, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/auth/token", json={"email": email, "password": password}, timeout=30
    )


def token_of(base_url: str, email: str) -> str:
    answer = sign_in(base_url, email, PASSWORD)
    assert answer.status_code == 200, answer.text
    return answer.json()["accessToken"]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(scraped: dict, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in scraped.items() if n == name and wanted <= ls)


def scrape(base_url: str, token: str | None = METRICS_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"} if token else {}
    return httpx.get(f"{base_url}/metrics", headers=headers, timeout=30)


@dataclass(frozen=True)
class Workload:
    tenant: Tenant
    tokens: dict[str, str]  # by role, taken before the admin's sign-ins are throttled
    import_bytes: int
    imported: int
    export_bytes: int


@pytest.fixture(scope="module")
def workload(server: ApiServer) -> Workload:
    """READS source reads, one unknown source, WRONG_PASSWORDS + 1 refused sign-ins (the
    last one throttled), one import of the demo export, one export."""
    tenant = make_tenant("Metrics")
    add_source(tenant.actor("EDITOR"), "Seed loan")
    tokens = {
        role: token_of(server.base_url, user.email)
        for role, user in (
            ("VIEWER", tenant.viewer),
            ("EDITOR", tenant.editor),
            ("ADMIN", tenant.admin),
        )
    }
    viewer, editor = tokens["VIEWER"], tokens["EDITOR"]

    def read(_: int) -> int:
        # A new connection each time, so both workers get some of them.
        answer = httpx.get(
            f"{server.base_url}/api/capital-sources/active",
            headers={"Authorization": f"Bearer {viewer}", "Connection": "close"},
            timeout=30,
        )
        return answer.status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(read, range(READS))) == {200}
    missing = httpx.get(
        f"{server.base_url}/api/capital-history/src_does_not_exist",
        headers={"Authorization": f"Bearer {viewer}"},
        timeout=30,
    )
    assert missing.status_code == 404
    for _ in range(WRONG_PASSWORDS):
        assert sign_in(server.base_url, tenant.admin.email, "wrong " + PASSWORD).status_code == 401
    assert sign_in(server.base_url, tenant.admin.email, "wrong " + PASSWORD).status_code == 429
    body = (FIXTURES / "demo-export.json").read_bytes()
    imported = httpx.post(
        f"{server.base_url}/api/capital-history/import",
        content=body,
        headers={"Authorization": f"Bearer {editor}", "Content-Type": "application/json"},
        timeout=120,
    )
    assert imported.status_code == 200, imported.text
    exported = httpx.get(
        f"{server.base_url}/api/capital-history/export",
        headers={"Authorization": f"Bearer {editor}"},
        timeout=120,
    )
    assert exported.status_code == 200
    return Workload(tenant, tokens, len(body), imported.json()["imported"], len(exported.content))


def test_a_scrape_of_either_worker_counts_every_worker(
    server: ApiServer, workload: Workload, metrics_dir: Path
) -> None:
    body_size, imported, export_size = (
        workload.import_bytes,
        workload.imported,
        workload.export_bytes,
    )
    # Both workers served some of the reads (the JSON request lines carry their pid).
    lines = [orjson.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    read_pids = {
        line["pid"]
        for line in lines
        if line.get("logger") == "capital_app.request"
        and line.get("route") == "/api/capital-sources/active"
    }
    assert len(read_pids) == 2, read_pids
    for _ in range(6):  # new connections: answered by one worker or the other
        answer = scrape(server.base_url)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/plain")
        got = samples(answer.text)
        reads = dict(route="/api/capital-sources/active", method="GET", status="200")
        assert value(got, "capital_http_requests_total", **reads) == READS
        assert value(got, "capital_http_request_duration_seconds_count", **reads) == READS
        assert (
            value(
                got,
                "capital_http_requests_total",
                route="/api/capital-history/{sourceId}",
                status="404",
            )
            == 1
        )
        assert (
            value(
                got,
                "capital_http_problems_total",
                type="urn:capital-ledger:problem:not-found",
                status="404",
            )
            >= 1
        )
        assert value(got, "capital_sign_in_failures_total", reason="wrong password") == (
            WRONG_PASSWORDS
        )
        assert value(got, "capital_sign_in_throttled_total") == 1
        assert value(got, "capital_transfer_duration_seconds_count", kind="import") == 1
        assert value(got, "capital_transfer_size_bytes_sum", kind="import") == body_size
        assert value(got, "capital_transfer_entries_total", kind="import") == imported
        assert value(got, "capital_transfer_duration_seconds_count", kind="export") == 1
        assert value(got, "capital_transfer_size_bytes_sum", kind="export") == export_size
        assert value(got, "capital_db_statement_duration_seconds_count", statement="SELECT") > 0
        # No raw path, id or email in any label.
        labels = {v for (_n, ls) in got for _k, v in ls}
        assert not any("src_does_not_exist" in v or "@" in v for v in labels)
    # Multiprocess mode: the values live in files of this run's folder.
    assert list(metrics_dir.glob("counter_*.db"))


def test_only_the_metrics_token_or_an_admin_may_read_the_metrics(
    server: ApiServer, workload: Workload
) -> None:
    base, tokens = server.base_url, workload.tokens
    assert_problem(scrape(base, token=None), 401)
    assert_problem(scrape(base, token="not-the-token"), 401)
    assert_problem(scrape(base, token=tokens["VIEWER"]), 403)
    assert_problem(scrape(base, token=tokens["EDITOR"]), 403)
    assert scrape(base, token=tokens["ADMIN"]).status_code == 200
    assert scrape(base).status_code == 200
    admin = workload.tenant.actor("ADMIN")
    read_key = api_keys.create_key(admin, name="reader", scopes=["read"]).secret
    admin_key = api_keys.create_key(admin, name="ops", scopes=["admin"]).secret
    assert_problem(scrape(base, token=read_key), 403)
    assert scrape(base, token=admin_key).status_code == 200


def test_metrics_off_means_no_endpoint(database_url: str) -> None:
    server = start_api_server({"CAPITAL_METRICS": "off"})
    try:
        assert_problem(scrape(server.base_url), 404)
    finally:
        server.stop()

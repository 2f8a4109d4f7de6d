"""Sign-in throttling holds under concurrency (real server, parallel requests).

Before: failures were counted before the bcrypt check and recorded after it, so
40 parallel wrong passwords were all evaluated although the account allows 5.
Now each attempt is reserved (recorded as a failure) atomically before the check.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psycopg

from capital_app.settings import get_settings
from tests.api.conftest import Api
from tests.support.factories import PASSWORD, Tenant

PARALLEL = 40


def test_parallel_wrong_passwords_evaluate_at_most_the_limit(
    api: Api, tenant: Tenant, database_url: str
) -> None:
    address = api.fresh_address()
    clients = [api.client(address) for _ in range(PARALLEL)]

    def attempt(n: int) -> int:
        body = {"email": tenant.editor.email, "password": f"wrong password {n}"}
        return clients[n].post("/api/auth/token", json=body, timeout=120).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = Counter(pool.map(attempt, range(PARALLEL)))
    limit = get_settings().login_max_failures_per_account
    assert answers[401] <= limit, answers
    assert answers[401] + answers[429] == PARALLEL, answers
    with psycopg.connect(database_url) as conn:
        reasons = Counter(
            reason
            for (reason,) in conn.execute(
                "SELECT reason FROM auth_event WHERE client_address = %s", (address,)
            )
        )
    assert reasons["wrong password"] == answers[401] <= limit, reasons
    assert reasons["checking"] == 0  # every reserved attempt was settled
    # The right password from elsewhere is throttled too: the account is locked for now.
    other = api.client(api.fresh_address())
    locked = other.post(
        "/api/auth/token", json={"email": tenant.editor.email, "password": PASSWORD}
    )
    assert locked.status_code == 429

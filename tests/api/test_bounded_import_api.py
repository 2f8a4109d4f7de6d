"""One import request cannot exhaust a worker (issue 17): a body of empty entries
`[{},{},…]` has millions of problems; the answer keeps the first few and counts the
rest, and the worker's memory stays bounded, up to the 64 MiB body limit."""

from __future__ import annotations

import httpx
import psutil
import pytest

from capital_app.service.history_import import MAX_PROBLEMS_REPORTED
from tests.api.conftest import Api
from tests.support.factories import Tenant

MIB = 1 << 20


def _empty_entries(size: int) -> bytes:
    count = (size - 2) // 3
    return b"[" + b",".join([b"{}"] * count) + b"]"


def _rss(api: Api) -> int:
    process = psutil.Process(api.server.process.pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


def _import(api: Api, tenant: Tenant, body: bytes, *, dry_run: bool) -> httpx.Response:
    client = api.as_user(tenant.editor)
    return client.post(
        "/api/capital-history/import",
        params={"dryRun": "true"} if dry_run else {},
        content=body,
        headers={"content-type": "application/json"},
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("size", "dry_run"),
    [(MIB, False), (MIB, True), (64 * MIB - 4096, False)],
    ids=["1MiB", "1MiB-dry-run", "near-64MiB"],
)
def test_a_body_of_empty_entries_is_answered_briefly_in_bounded_memory(
    api: Api, tenant: Tenant, size: int, dry_run: bool
) -> None:
    body = _empty_entries(size)
    entries = (len(body) - 1) // 3
    before = _rss(api)
    answer = _import(api, tenant, body, dry_run=dry_run)
    growth = _rss(api) - before

    assert answer.status_code == (200 if dry_run else 422), answer.text[:500]
    assert len(answer.content) < MIB
    report = answer.json()
    assert report["entriesInFile"] == entries
    assert len(report["errors"]) == MAX_PROBLEMS_REPORTED
    assert [e["index"] for e in report["errors"]][:3] == [0, 0, 0]  # the first ones, in order
    # Every problem is counted, by field: each empty entry misses the same required fields.
    counts = report["errorCounts"]
    assert counts["sourceId"] == entries
    assert counts["id"] == entries
    assert report["errorsTotal"] == sum(counts.values())
    assert report["errorsTotal"] > 5 * entries
    assert report["errorsTruncated"] is True
    assert growth < 300 * MIB, f"the worker grew by {growth / MIB:.0f} MiB"

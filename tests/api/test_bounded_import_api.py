"""One import request cannot exhaust a worker (issue 17): a body of empty entries
`[{},{},…]` has millions of problems, one of 4,000-character unknown field names near
the 64 MiB body limit has huge ones of ever new kinds; the answer keeps the first few
(texts clipped) and counts the rest, and the worker's memory stays bounded.

(A 64 MiB body of `{}` — 22 million entries — is bounded too, but takes its parser
longer than the import's 600 s body deadline on a loaded 2-core machine.)"""

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


def _long_unknown_fields(size: int) -> bytes:
    """Entries of one unknown field each, its name 4,000 characters and every name
    different: each problem's text would be huge, and the kinds would never end."""
    pad = "k" * 4000
    entries, total, i = [], 2, 0
    while True:
        entry = f'{{"{i:08d}{pad}":0}}'.encode()
        if total + len(entry) + 1 > size:
            break
        entries.append(entry)
        total += len(entry) + 1
        i += 1
    return b"[" + b",".join(entries) + b"]"


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
    ("build", "size", "dry_run"),
    [
        (_empty_entries, MIB, False),
        (_empty_entries, MIB, True),
        (_long_unknown_fields, 64 * MIB - 4096, False),
    ],
    ids=["1MiB-empty", "1MiB-empty-dry-run", "near-64MiB-long-unknown-fields"],
)
def test_a_hostile_body_is_answered_briefly_in_bounded_memory(
    api: Api, tenant: Tenant, build, size: int, dry_run: bool
) -> None:
    body = build(size)
    entries = body.count(b"}")
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
    assert len(counts) <= 65  # at most 64 kinds, then "other"
    assert all(len(e["message"]) <= 1000 and len(e["field"]) <= 100 for e in report["errors"])
    assert growth < 300 * MIB, f"the worker grew by {growth / MIB:.0f} MiB"

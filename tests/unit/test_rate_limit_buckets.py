"""The token bucket's arithmetic: burst, refill, Retry-After and the headers."""

from __future__ import annotations

import uuid

import pytest

from capital_app.service import rate_limits
from capital_app.service.rate_limits import MemoryBuckets, Policy


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(rate_limits.time, "monotonic", lambda: now[0])
    return now


def test_a_bucket_gives_its_burst_then_refills_at_its_rate(clock):
    policy = Policy(burst=3, per_second=0.5)  # 30 a minute
    buckets = MemoryBuckets()
    taken = [buckets.take("k", policy) for _ in range(4)]
    assert [a.allowed for a in taken] == [True, True, True, False]
    assert [a.remaining for a in taken] == [2, 1, 0, 0]
    assert taken[3].retry_after == 2  # one token every 2 s
    assert taken[2].reset_seconds == 6  # three tokens to refill
    assert taken[3].headers() == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "6",
    }
    clock[0] += 1.0  # half a token: still refused, one second to wait
    refused = buckets.take("k", policy)
    assert not refused.allowed and refused.retry_after == 1
    clock[0] += 1.0
    assert buckets.take("k", policy).allowed
    clock[0] += 3600  # never more than the burst
    assert buckets.take("k", policy).remaining == 2


def test_buckets_are_apart(clock):
    policy = Policy(burst=1, per_second=0.01)
    buckets = MemoryBuckets()
    assert buckets.take("key:a", policy).allowed
    assert not buckets.take("key:a", policy).allowed
    assert buckets.take("key:b", policy).allowed
    assert buckets.take("user:a", policy).allowed


def test_full_buckets_are_forgotten_when_there_are_too_many(clock, monkeypatch):
    monkeypatch.setattr(rate_limits, "MEMORY_BUCKETS_MAX", 10)
    policy = Policy(burst=2, per_second=1.0)
    buckets = MemoryBuckets()
    for _ in range(25):
        buckets.take(str(uuid.uuid4()), policy)
        clock[0] += 0.5
    assert len(buckets._buckets) <= 10

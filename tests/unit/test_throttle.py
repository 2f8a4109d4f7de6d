from __future__ import annotations

from datetime import UTC, datetime, timedelta

from capital_app.auth.throttle import retry_after_seconds

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def test_allowed_below_the_limit():
    failures = [NOW - timedelta(minutes=m) for m in (4, 3, 2, 1)]
    assert retry_after_seconds(failures, 5, WINDOW, NOW) is None


def test_blocked_until_the_oldest_counted_failure_leaves_the_window():
    failures = [NOW - timedelta(minutes=m) for m in (10, 4, 3, 2, 1)]
    assert retry_after_seconds(failures, 5, WINDOW, NOW) == 5 * 60


def test_old_failures_do_not_count():
    failures = [NOW - timedelta(minutes=m) for m in (20, 16, 3, 2, 1)]
    assert retry_after_seconds(failures, 5, WINDOW, NOW) is None

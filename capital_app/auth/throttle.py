"""When repeated failed sign-ins lock an account or a client address out for a while."""

from __future__ import annotations

from datetime import datetime, timedelta


def retry_after_seconds(
    failures: list[datetime], max_failures: int, window: timedelta, now: datetime
) -> int | None:
    """Seconds until another attempt is allowed, or None when it is allowed now.

    `failures` are the failed attempts inside the window (oldest first). Once
    `max_failures` are inside it, the next attempt waits until the oldest of the
    last `max_failures` leaves the window.
    """
    recent = [f for f in failures if f > now - window]
    if len(recent) < max_failures:
        return None
    blocking = recent[-max_failures]
    wait = (blocking + window - now).total_seconds()
    return max(1, int(wait + 0.999))

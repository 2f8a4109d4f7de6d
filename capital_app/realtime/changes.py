"""What the NOTIFY trigger says, and what subscribers are told.

A notification is a wake-up call, not the data: readers pull what is new since
the revision they last saw (`service.history_queries.changes_since`). So merging
several notifications keeps only the latest revision; nothing is lost by it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from uuid import UUID

logger = logging.getLogger(__name__)

CHANNEL = "capital_history"


@dataclass(frozen=True, slots=True)
class OrganizationChange:
    """The organization has data after some revision a subscriber may not have read.

    `revision` is the organization's latest known revision (never "+1": a reader
    compares it with its own and reads the gap). `resync` means notifications may
    have been lost (the listener (re)connected): re-read everything since your
    own revision; `revision` is then None unless a real notification was merged
    in. `organization_id` is None only in a resync sent to a subscriber of every
    organization. `entries` counts the entries announced since the last delivery.
    """

    organization_id: UUID | None
    revision: int | None
    entries: int = 0
    resync: bool = False
    # Alerts committed with the announced revisions (service/alerts.py announces them).
    alerts: int = 0
    # time.monotonic() when this worker got the (first merged) notification: the start
    # of the push latency metric (PostgreSQL sends a NOTIFY at its commit).
    noticed_at: float | None = field(default=None, compare=False)

    def merged(self, newer: OrganizationChange) -> OrganizationChange:
        """Both changes as one: the highest revision, a resync if either was one."""
        revisions = [r for r in (self.revision, newer.revision) if r is not None]
        return replace(
            self,
            organization_id=self.organization_id
            if self.organization_id == newer.organization_id
            else None,
            revision=max(revisions) if revisions else None,
            entries=self.entries + newer.entries,
            alerts=self.alerts + newer.alerts,
            resync=self.resync or newer.resync,
            noticed_at=min(
                (t for t in (self.noticed_at, newer.noticed_at) if t is not None), default=None
            ),
        )


def parse_notification(payload: str) -> OrganizationChange | None:
    """The trigger's JSON payload as a change; None (logged) when it is malformed."""
    try:
        data = json.loads(payload)
        organization_id = UUID(str(data["organizationId"]))
        revision = int(data["revision"])
        alerts = int(data.get("alerts") or 0)  # an alert announcement (service/alerts.py)
        entries = int(data.get("entries") or 0) if alerts else int(data.get("entries") or 1)
        change = OrganizationChange(organization_id, revision, entries=entries, alerts=alerts)
    except (ValueError, TypeError, KeyError) as error:
        logger.warning("Ignoring a malformed %s notification: %s", CHANNEL, error)
        return None
    if change.revision is None or change.revision < 1:
        logger.warning("Ignoring a %s notification without a revision", CHANNEL)
        return None
    return change

"""The change feed reads the history in commit order: (revision, source, sequence).

`GET /api/events` pages through an organization's entries by
(revision, source_id, sequence), resuming after an event id; one revision can hold a
whole import's entries. This index answers each page with one range scan in that
order, however large a revision is (the 0001 index on (organization_id, revision)
would sort every entry of the revisions it reaches).

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX capital_history_feed_idx"
        " ON capital_history (organization_id, revision, source_id, sequence)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX capital_history_feed_idx")

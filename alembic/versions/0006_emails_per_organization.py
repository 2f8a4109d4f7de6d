"""Emails unique per organization, not across organizations.

A global unique email let one organization's ADMIN learn which addresses other
organizations use (409 against 201) and squat an address before its owner got an
account. Now an address is unique inside its organization only; signing in tries
the password on every account with the address and, when it fits accounts in
several organizations, asks which one (listing only those whose password it fits).

Sign-in still finds accounts by email alone (`app.login_email`); a plain index
keeps that lookup one probe. A login transaction may now also read the names of
the organizations those accounts belong to (to offer the choice).

The downgrade puts the global unique index back, and fails with a clear message
while any address is used in more than one organization.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOGIN_EMAIL = "(SELECT nullif(current_setting('app.login_email', true), ''))"

UPGRADE = f"""
DROP INDEX app_user_email_key;
CREATE UNIQUE INDEX app_user_org_email_key ON app_user (organization_id, email);
CREATE INDEX app_user_email_idx ON app_user (email);
CREATE POLICY organization_login ON organization FOR SELECT
    USING (id IN (SELECT organization_id FROM app_user WHERE email = {LOGIN_EMAIL}));
"""

DOWNGRADE = """
DO $$
DECLARE shared text;
BEGIN
    SELECT email INTO shared FROM app_user GROUP BY email HAVING count(*) > 1 LIMIT 1;
    IF shared IS NOT NULL THEN
        RAISE EXCEPTION 'cannot downgrade below 0006: the email % belongs to users in more than one organization; rename or remove all but one first', shared;
    END IF;
END $$;
DROP POLICY organization_login ON organization;
DROP INDEX app_user_email_idx;
DROP INDEX app_user_org_email_key;
CREATE UNIQUE INDEX app_user_email_key ON app_user (email);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

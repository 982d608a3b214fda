"""the approval policy: two approvals or an admin's, reminders, expiry, withdrawal; the firm's
own dispute deadline

A refund request keeps the rule it was opened under (``approval_rule``) and its first approver
while it waits for a second; a request of either flow records when it was raised again
(``reminded_at``, so the reminder goes once across restarts); a dispute's thread records when the
firm's own date was announced. A withdrawn or expired response no longer blocks a new draft.

Revision ID: 0012
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LIVE = "state NOT IN ('rejected', 'failed', 'submitted')"
NEW_LIVE = "state NOT IN ('rejected', 'failed', 'submitted', 'withdrawn', 'expired')"


def _live_index(where: str) -> None:
    with op.batch_alter_table("dispute_responses", schema=None) as batch_op:
        batch_op.drop_index("uq_dispute_responses_live")
        batch_op.create_index(
            "uq_dispute_responses_live",
            ["dispute_id"],
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def upgrade() -> None:
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_rule", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("first_approver_username", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("first_approver_slack_id", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("dispute_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("dispute_threads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("margin_reminded_at", UTCDateTime(timezone=True), nullable=True)
        )
    _live_index(NEW_LIVE)


def downgrade() -> None:
    _live_index(OLD_LIVE)
    with op.batch_alter_table("dispute_threads", schema=None) as batch_op:
        batch_op.drop_column("margin_reminded_at")
    with op.batch_alter_table("dispute_responses", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("first_approver_slack_id")
        batch_op.drop_column("first_approver_username")
        batch_op.drop_column("approval_rule")

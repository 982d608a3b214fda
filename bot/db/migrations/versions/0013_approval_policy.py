"""the approval policy, the firm's own dispute deadline, accepting a dispute with four eyes

Two approvals or an admin's, reminders, expiry and withdrawal; accepting a dispute is a third
use of the approvals machine.

A refund request keeps the rule it was opened under (``approval_rule``) and its first approver
while it waits for a second; a request of either flow records when it was raised again
(``reminded_at``, so the reminder goes once across restarts); a dispute's thread records when the
firm's own date was announced. A withdrawn or expired response no longer blocks a new draft,
nor a withdrawn or expired refund request a new request. Accepting a dispute at or over the
threshold is a request of its own (``dispute_acceptances``), decided like the others.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LIVE = "state NOT IN ('rejected', 'failed', 'submitted')"
NEW_LIVE = "state NOT IN ('rejected', 'failed', 'submitted', 'withdrawn', 'expired')"
LIVE_ACCEPTANCE = "state NOT IN ('rejected', 'failed', 'accepted', 'withdrawn', 'expired')"
# A withdrawn or expired refund request no longer holds its payment: the firm may ask again.
OLD_LIVE_REFUND = "state NOT IN ('rejected', 'failed')"
NEW_LIVE_REFUND = "state NOT IN ('rejected', 'failed', 'withdrawn', 'expired')"


def _live_index(where: str, table: str = "dispute_responses") -> None:
    name, column = {
        "dispute_responses": ("uq_dispute_responses_live", "dispute_id"),
        "refund_requests": ("uq_refund_requests_live_transaction", "transaction_id"),
    }[table]
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(name)
        batch_op.create_index(
            name,
            [column],
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
    _live_index(NEW_LIVE_REFUND, "refund_requests")
    op.create_table(
        "dispute_acceptances",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("dispute_id", sa.String(length=100), nullable=False),
        sa.Column(
            "amount_minor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("approval_rule", sa.String(length=16), nullable=True),
        sa.Column("requester_username", sa.String(length=32), nullable=False),
        sa.Column("requester_slack_id", sa.String(length=32), nullable=False),
        sa.Column("decided_by_username", sa.String(length=32), nullable=True),
        sa.Column("decided_by_slack_id", sa.String(length=32), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("message_channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_acceptances")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_dispute_acceptances_idempotency_key")),
    )
    op.create_index(
        op.f("ix_dispute_acceptances_dispute_id"), "dispute_acceptances", ["dispute_id"]
    )
    op.create_index(
        "uq_dispute_acceptances_live",
        "dispute_acceptances",
        ["dispute_id"],
        unique=True,
        sqlite_where=sa.text(LIVE_ACCEPTANCE),
        postgresql_where=sa.text(LIVE_ACCEPTANCE),
    )


def downgrade() -> None:
    op.drop_table("dispute_acceptances")
    _live_index(OLD_LIVE)
    _live_index(OLD_LIVE_REFUND, "refund_requests")
    with op.batch_alter_table("dispute_threads", schema=None) as batch_op:
        batch_op.drop_column("margin_reminded_at")
    with op.batch_alter_table("dispute_responses", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("first_approver_slack_id")
        batch_op.drop_column("first_approver_username")
        batch_op.drop_column("approval_rule")

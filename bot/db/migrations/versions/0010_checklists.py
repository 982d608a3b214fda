"""checklists people tick, and trust kept apart from operating in the sandbox

``checklists`` / ``checklist_steps``: the bookkeeping after a refund and the cover of a debit on
trust, each step with who ticked it and when. The sandbox pays trust and operating out in
separate withdrawals (``account``), takes a fee per payment and per dispute from operating
(``fee_minor``; ``fee_withdrawal_id`` says which withdrawal took it).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import BigId, UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ObjectId = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "checklists",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("transaction_id", sa.String(length=100), nullable=False),
        sa.Column("account", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", BigId, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("matter_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("version", BigId, nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("uq_checklists_kind_subject", "checklists", ["kind", "subject_id"], unique=True)
    op.create_index("ix_checklists_open", "checklists", ["closed_at", "opened_at"])
    op.create_table(
        "checklist_steps",
        sa.Column("checklist_id", sa.String(length=32), primary_key=True),
        sa.Column("step", sa.String(length=20), primary_key=True),
        sa.Column("position", BigId, nullable=False),
        sa.Column("done_by_username", sa.String(length=32), nullable=True),
        sa.Column("done_by_slack_id", sa.String(length=32), nullable=True),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("sandbox_withdrawals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("account", sa.String(length=16), nullable=False, server_default="operating")
        )
        batch_op.add_column(
            sa.Column("fees_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("sandbox_transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("fee_withdrawal_id", ObjectId, nullable=True))
    with op.batch_alter_table("sandbox_disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("fee_withdrawal_id", ObjectId, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sandbox_disputes", schema=None) as batch_op:
        batch_op.drop_column("fee_withdrawal_id")
        batch_op.drop_column("fee_minor")
    with op.batch_alter_table("sandbox_transactions", schema=None) as batch_op:
        batch_op.drop_column("fee_withdrawal_id")
        batch_op.drop_column("fee_minor")
    with op.batch_alter_table("sandbox_withdrawals", schema=None) as batch_op:
        batch_op.drop_column("fees_minor")
        batch_op.drop_column("account")
    op.drop_index("ix_checklists_open", table_name="checklists")
    op.drop_index("uq_checklists_kind_subject", table_name="checklists")
    op.drop_table("checklists")
    op.drop_table("checklist_steps")

"""dispute threads: the stage the thread last showed, and when its deadline was set

A processor with stages (Payrix's cycles) can move a case to a new stage without changing its
status or reply-by date: the thread must still be told. A new stage or reply-by date asks for a
new answer, so its reminders start again, and a response to the earlier stage does not silence
them: ``deadline_set_at`` says since when a response counts.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dispute_threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("deadline_set_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dispute_threads", schema=None) as batch_op:
        batch_op.drop_column("deadline_set_at")
        batch_op.drop_column("stage")

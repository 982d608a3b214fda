"""dispute responses: a submitted response no longer blocks the next one

A processor may take more evidence after a response (Payrix keeps a case ``actionable``), so
only a response still waiting for a decision or being submitted keeps a dispute busy.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "state NOT IN ('rejected', 'failed')"
AFTER = "state NOT IN ('rejected', 'failed', 'submitted')"


def _live(where: str) -> None:
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
    _live(AFTER)


def downgrade() -> None:
    _live(BEFORE)

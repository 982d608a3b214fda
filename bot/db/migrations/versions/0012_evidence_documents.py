"""dispute documents: the files of a dispute response, kept with the draft, and the sandbox's copy

A response carries documents (PDF, PNG, JPG) downloaded from Slack once and kept in the database
with the draft, with the id the processor gave each once uploaded, so a retry or a crash between
the upload and the submission uploads nothing twice. The sandbox processor keeps what it was sent.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.base import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OBJECT_ID = sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "dispute_documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("response_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("slack_file_id", sa.String(length=32), nullable=True),
        sa.Column("processor_id", sa.String(length=255), nullable=True),
        sa.Column("uploaded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_documents")),
    )
    with op.batch_alter_table("dispute_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispute_documents_response_id"), ["response_id"], unique=False
        )
        batch_op.create_index(
            "uq_dispute_documents_position", ["response_id", "position"], unique=True
        )
    op.create_table(
        "sandbox_dispute_documents",
        sa.Column("id", OBJECT_ID, nullable=False),
        sa.Column("dispute_id", OBJECT_ID, nullable=False),
        sa.Column("upload_key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_dispute_documents")),
        sa.UniqueConstraint("upload_key", name=op.f("uq_sandbox_dispute_documents_upload_key")),
    )
    with op.batch_alter_table("sandbox_dispute_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_dispute_documents_dispute_id"), ["dispute_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("sandbox_dispute_documents")
    op.drop_table("dispute_documents")

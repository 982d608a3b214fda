"""The bot's own tables: portal users, audit log, matters, refund requests and the job queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId


class PortalUser(Base):
    __tablename__ = "portal_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """One attempt, allowed or not. Append-only: no code path updates or deletes a row, and on
    PostgreSQL a trigger (see the migration) refuses both."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_username: Mapped[str | None] = mapped_column(String(32), index=True)
    actor_slack_id: Mapped[str | None] = mapped_column(String(32))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str | None] = mapped_column(String(20))
    target_id: Mapped[str | None] = mapped_column(String(80), index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Matter(Base):
    __tablename__ = "matters"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class MatterMember(Base):
    __tablename__ = "matter_members"
    __table_args__ = (Index("uq_matter_members_matter_email", "matter_id", "email", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    matter_id: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(320))


class SlackDirectoryEntry(Base):
    """Cache of users.lookupByEmail answers (None when Slack had nobody with the address)."""

    __tablename__ = "slack_directory"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    looked_up_at: Mapped[datetime]


class RefundRequest(Base):
    """A refund's persisted state machine; see services/refunds.py for the transitions."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        # At most one live request per transaction: a second submission is refused by the database.
        Index(
            "uq_refund_requests_live_transaction",
            "transaction_id",
            unique=True,
            sqlite_where=text("state NOT IN ('rejected', 'failed')"),
            postgresql_where=text("state NOT IN ('rejected', 'failed')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(80), index=True)
    amount_minor: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    account: Mapped[str] = mapped_column(String(16))
    matter_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    requester_username: Mapped[str] = mapped_column(String(32))
    requester_slack_id: Mapped[str] = mapped_column(String(32))
    decided_by_username: Mapped[str | None] = mapped_column(String(32))
    decided_by_slack_id: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    processor_refund_id: Mapped[str | None] = mapped_column(String(80))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    approval_channel: Mapped[str | None] = mapped_column(String(32))
    approval_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Job(Base):
    """Work recorded before Slack is acknowledged, so a restart finishes what a crash left.

    ``key`` deduplicates: enqueueing the same key twice is a no-op, which is what makes a Slack
    retry or a double click harmless. A running job whose lease expired is taken over.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_ready", "state", "run_after"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

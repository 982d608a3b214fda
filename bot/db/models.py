"""The bot's own tables: portal users, audit log, matters, refund requests and the job queue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, LargeBinary, String, Text, text
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


def one_live(name: str, column: str, ended: tuple[str, ...]) -> Index:
    """At most one live request per ``column``: a unique index over the rows whose state has
    not ended, so a second request is refused by the database, whichever process makes it."""
    where = text("state NOT IN (" + ", ".join(f"'{state}'" for state in ended) + ")")
    return Index(name, column, unique=True, sqlite_where=where, postgresql_where=where)


class Asked:
    """The columns every four-eyes request has (services/approvals.py): who asked, who decided
    and when, why it was refused or failed, and the key that carries it out once."""

    requester_username: Mapped[str] = mapped_column(String(32))
    requester_slack_id: Mapped[str] = mapped_column(String(32))
    decided_by_username: Mapped[str | None] = mapped_column(String(32))
    decided_by_slack_id: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    reminded_at: Mapped[datetime | None]  # raised again while undecided (once)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RefundRequest(Asked, Base):
    """A refund's persisted state machine; see services/refunds.py for the transitions."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        # At most one live request per transaction: a second submission is refused by the database.
        one_live(
            "uq_refund_requests_live_transaction",
            "transaction_id",
            ("rejected", "failed", "withdrawn", "expired"),
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
    processor_refund_id: Mapped[str | None] = mapped_column(String(80))
    approval_channel: Mapped[str | None] = mapped_column(String(32))
    approval_ts: Mapped[str | None] = mapped_column(String(32))
    approval_rule: Mapped[str | None] = mapped_column(String(16))  # bot.policy.Rule; None: one
    first_approver_username: Mapped[str | None] = mapped_column(String(32))
    first_approver_slack_id: Mapped[str | None] = mapped_column(String(32))


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


class ProcessorEventRow(Base):
    """Every processor event seen, by push or pull: the primary key is what deduplicates them."""

    __tablename__ = "processor_events"

    backend: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class EventCursor(Base):
    """Where the poller stopped reading the processor's event feed."""

    __tablename__ = "event_cursors"

    backend: Mapped[str] = mapped_column(String(16), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """A Slack message owed: stored with the event that causes it, delivered by the worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_ready", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class DisputeThread(Base):
    """The bot's view of a dispute: where it was announced, and which reminders went out."""

    __tablename__ = "dispute_threads"

    dispute_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(100))
    matter_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    respond_by: Mapped[datetime] = mapped_column(index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    reminded_72h_at: Mapped[datetime | None]
    reminded_24h_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    stage: Mapped[str | None] = mapped_column(String(40))  # the stage the thread last showed
    deadline_set_at: Mapped[datetime | None]  # since when a response answers this deadline
    margin_reminded_at: Mapped[datetime | None]  # the firm's own date announced in the thread
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# One response waiting per dispute; a submitted one leaves room for more evidence when the


class DisputeResponse(Asked, Base):
    """A drafted dispute response: drafted -> approved | rejected -> submitting -> submitted | failed."""

    __tablename__ = "dispute_responses"
    __table_args__ = (
        one_live(
            "uq_dispute_responses_live",
            "dispute_id",
            ("rejected", "failed", "submitted", "withdrawn", "expired"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dispute_id: Mapped[str] = mapped_column(String(100), index=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    draft_channel: Mapped[str | None] = mapped_column(String(32))
    draft_ts: Mapped[str | None] = mapped_column(String(32))


class DisputeAcceptance(Asked, Base):
    """Accepting a dispute that needs a second pair of eyes (bot/policy.py): requested ->
    approved | rejected | withdrawn | expired; approved -> submitting -> accepted | failed."""

    __tablename__ = "dispute_acceptances"
    __table_args__ = (
        one_live(
            "uq_dispute_acceptances_live",
            "dispute_id",
            ("rejected", "failed", "accepted", "withdrawn", "expired"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dispute_id: Mapped[str] = mapped_column(String(100), index=True)
    amount_minor: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16))
    approval_rule: Mapped[str | None] = mapped_column(String(16))
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))


class DisputeDocument(Base):
    """A document of a dispute response, downloaded from Slack once and kept here with the draft
    (the database, not a directory: every process of the bot shares it, and a draft and its
    documents are written in one transaction). Its size is bounded by the processor's limits
    (8 MB a response at most). ``processor_id`` is set once the processor has it, so a retry
    or a crash between the upload and the submission uploads nothing twice."""

    __tablename__ = "dispute_documents"
    __table_args__ = (
        Index("uq_dispute_documents_position", "response_id", "position", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    response_id: Mapped[str] = mapped_column(String(32), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    slack_file_id: Mapped[str | None] = mapped_column(String(32))
    processor_id: Mapped[str | None] = mapped_column(String(255))
    uploaded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class HistoryColumns(Base):
    """The history columns a portal user chose to see; a user with no row sees the defaults."""

    __tablename__ = "history_columns"

    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    columns: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class SlackDelivery(Base):
    """Each Slack request acted on, by its event_id or trigger_id: a retry or replay is a no-op."""

    __tablename__ = "slack_deliveries"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class DailyDigestRow(Base):
    """A daily settlement digest owed: one row per day of the firm's calendar it is posted on.
    The primary key is the claim: of processes (or a restart) that find it due, the one whose
    insert made the row owes the message, in the outbox, in the same transaction."""

    __tablename__ = "daily_digests"

    day: Mapped[date] = mapped_column(primary_key=True)  # the firm's day it is posted on
    reports: Mapped[date]  # the business day it reports
    claimed_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Checklist(Base):
    """Bookkeeping people tick in a thread: after a refund, or to cover a debit on trust. One per
    subject (a refund request, a dispute, a return); its steps are ``checklist_steps``."""

    __tablename__ = "checklists"
    __table_args__ = (
        Index("uq_checklists_kind_subject", "kind", "subject_id", unique=True),
        Index("ix_checklists_open", "closed_at", "opened_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(100))
    transaction_id: Mapped[str] = mapped_column(String(100))
    account: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    matter_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(BigId, default=0)  # bumped by every tick: its update key
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


class ChecklistStep(Base):
    """A step as it stands: who ticked it and when (None: not done). Every tick and untick is
    in the audit log too."""

    __tablename__ = "checklist_steps"

    checklist_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    step: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(BigId)
    done_by_username: Mapped[str | None] = mapped_column(String(32))
    done_by_slack_id: Mapped[str | None] = mapped_column(String(32))
    done_at: Mapped[datetime | None]

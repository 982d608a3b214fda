"""The sandbox processor's own tables (prefix ``sandbox_``), kept in the bot's database.

A refund is a row of ``sandbox_transactions`` too (kind ``refund``, ``original_id`` = the payment),
so history, search and paging treat it like any other transaction. Amounts are integer minor units.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base

# Ids compare byte by byte on PostgreSQL as on SQLite, so "the start of an id" is an index range.
ObjectId = String(32).with_variant(String(32, collation="C"), "postgresql")


class SandboxTransaction(Base):
    """A payment (sale or authorization) or a refund of one."""

    __tablename__ = "sandbox_transactions"
    __table_args__ = (
        # Every listing order, with and without a kind filter, and for each search field: a
        # seek to the cursor and a walk in order, never a sort of all matches.
        Index("ix_sandbox_transactions_created", "created_at", "id"),
        Index("ix_sandbox_transactions_amount", "amount_minor", "id"),
        Index("ix_sandbox_transactions_kind_created", "kind", "created_at", "id"),
        Index("ix_sandbox_transactions_kind_amount", "kind", "amount_minor", "id"),
        Index("ix_sandbox_transactions_matter_created", "matter_key", "created_at", "id"),
        Index("ix_sandbox_transactions_matter_amount", "matter_key", "amount_minor", "id"),
        Index("ix_sandbox_transactions_customer_created", "customer_key", "created_at", "id"),
        Index("ix_sandbox_transactions_customer_amount", "customer_key", "amount_minor", "id"),
        Index("ix_sandbox_transactions_last4_created", "last4", "created_at", "id"),
        Index("ix_sandbox_transactions_last4_amount", "last4", "amount_minor", "id"),
        Index("ix_sandbox_transactions_amount_created", "amount_minor", "created_at", "id"),
        # Settlement and balance read only what has not been withdrawn yet, from the index alone.
        Index(
            "ix_sandbox_transactions_unwithdrawn", "withdrawal_id", "status", "kind", "amount_minor"
        ),
        # Daily totals (reports, the dashboard) sum a date range of one kind from the index alone.
        Index(
            "ix_sandbox_transactions_kind_day_totals",
            "kind",
            "created_at",
            "status",
            "amount_minor",
        ),
    )

    id: Mapped[str] = mapped_column(ObjectId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(8))
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    account: Mapped[str] = mapped_column(String(16))
    matter_id: Mapped[str | None] = mapped_column(String(64))
    matter_key: Mapped[str | None] = mapped_column(String(64))  # casefolded matter_id, for search
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_key: Mapped[str | None] = mapped_column(String(200))  # casefolded, for search
    description: Mapped[str | None] = mapped_column(Text)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    original_id: Mapped[str | None] = mapped_column(ObjectId, index=True)
    refund_id: Mapped[str | None] = mapped_column(ObjectId)  # set once, by compare-and-set
    return_code: Mapped[str | None] = mapped_column(String(4))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_metadata: Mapped[dict[str, str] | None] = mapped_column(JSON)
    settles_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    withdrawal_id: Mapped[str | None] = mapped_column(ObjectId)
    # The processing fee of a payment, always operating's (never taken from trust), and the
    # operating withdrawal that took it.
    fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    fee_withdrawal_id: Mapped[str | None] = mapped_column(ObjectId)
    created_at: Mapped[datetime]


class SandboxCustomer(Base):
    """Each customer name once, so a search for part of a name scans this, not every payment."""

    __tablename__ = "sandbox_customers"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # casefolded name
    name: Mapped[str] = mapped_column(String(200))


class SandboxDispute(Base):
    __tablename__ = "sandbox_disputes"
    __table_args__ = (
        Index("ix_sandbox_disputes_respond_by", "respond_by", "id"),
        Index("ix_sandbox_disputes_status_respond_by", "status", "respond_by", "id"),
    )

    id: Mapped[str] = mapped_column(ObjectId, primary_key=True)
    # One dispute per payment, as at the card networks: a second one is refused by the database.
    transaction_id: Mapped[str] = mapped_column(ObjectId, unique=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    network_reason_code: Mapped[str] = mapped_column(String(16))
    respond_by: Mapped[datetime]
    matter_id: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[dict[str, str] | None] = mapped_column(JSON)
    evidence_key: Mapped[str | None] = mapped_column(String(255))
    evidence_submitted_at: Mapped[datetime | None]
    accept_key: Mapped[str | None] = mapped_column(String(255))
    closed_at: Mapped[datetime | None]
    # The dispute fee, always operating's, and the operating withdrawal that took it.
    fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    fee_withdrawal_id: Mapped[str | None] = mapped_column(ObjectId)
    created_at: Mapped[datetime]


class SandboxDisputeDocument(Base):
    """A file uploaded to the sandbox as dispute evidence; the key makes a repeated upload
    return the first one, as Stripe's idempotency keys and Payrix's request tokens do."""

    __tablename__ = "sandbox_dispute_documents"

    id: Mapped[str] = mapped_column(ObjectId, primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ObjectId, index=True)
    upload_key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime]


class SandboxReturn(Base):
    """An ACH payment sent back by the customer's bank, with its NACHA return code."""

    __tablename__ = "sandbox_returns"
    __table_args__ = (Index("ix_sandbox_returns_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(ObjectId, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ObjectId, unique=True)
    code: Mapped[str] = mapped_column(String(4))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    matter_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class SandboxWithdrawal(Base):
    """A settlement batch paid out to one of the firm's bank accounts (trust or operating,
    never both); its transactions point back to it. ``fees_minor``: the fees an operating
    withdrawal took (a trust one takes none)."""

    __tablename__ = "sandbox_withdrawals"
    __table_args__ = (Index("ix_sandbox_withdrawals_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(ObjectId, primary_key=True)
    account: Mapped[str] = mapped_column(String(16), server_default=text("'operating'"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    fees_minor: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    arrives_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class SandboxEvent(Base):
    """The processor's event feed. ``seq`` comes from ``sandbox_counters`` inside the writing
    transaction, so sequence order is commit order and a reader's cursor never skips a row."""

    __tablename__ = "sandbox_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(ObjectId, unique=True)
    type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(ObjectId, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class SandboxCounter(Base):
    __tablename__ = "sandbox_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)

"""What the sandbox's writers share: ids, refund rows, the event log, dispute compare-and-set."""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import add_business_days
from bot.domain import (
    Account,
    Dispute,
    DisputeStatus,
    EventType,
    MethodType,
    PaymentKind,
    RefundStatus,
    TransactionStatus,
)
from bot.errors import ProcessorError
from bot.processors.sandbox.models import SandboxCounter, SandboxDispute, SandboxEvent
from bot.processors.sandbox.rows import columns_of, to_dispute

CURRENCY = "USD"  # the sandbox merchant account settles in dollars only
ATTEMPTS = 5  # compare-and-set retries before a write gives up as busy
EVENT_COUNTER = "events"
ID_ALPHABET = string.digits + string.ascii_lowercase
PAYMENT_KINDS = (PaymentKind.SALE.value, PaymentKind.AUTHORIZATION.value)
OPEN_DISPUTES = (DisputeStatus.NEEDS_RESPONSE.value, DisputeStatus.UNDER_REVIEW.value)


def make_id(rng: random.Random, prefix: str) -> str:
    """``txn_`` + 20 characters of [0-9a-z], like a real processor; reproducible from a seeded rng."""
    return f"{prefix}_{''.join(rng.choices(ID_ALPHABET, k=20))}"


def new_rng(seed: int | str | None, role: str) -> random.Random:
    """A seeded generator per role, so two seeded objects never draw the same ids."""
    return random.SystemRandom() if seed is None else random.Random(f"{role}:{seed}")


def rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


@dataclass(frozen=True)
class NewEvent:
    type: EventType
    object_id: str
    created_at: datetime
    data: dict[str, Any]


async def append_events(
    session: AsyncSession, rng: random.Random, events: Sequence[NewEvent]
) -> None:
    """Record events; call it last in a unit of work.

    The counter row stays locked until commit, so events get their sequence numbers in commit
    order and a reader that has seen ``seq`` N can never later find an uncommitted N-1 appear.
    Taking the lock last keeps every unit of work acquiring locks in the same order.
    """
    if not events:
        return
    last = await _advance_counter(session, EVENT_COUNTER, len(events))
    first = last - len(events) + 1
    rows = [
        {
            "seq": first + offset,
            "id": make_id(rng, "evt"),
            "type": event.type.value,
            "object_id": event.object_id,
            "data": event.data,
            "created_at": event.created_at,
        }
        for offset, event in enumerate(events)
    ]
    await session.execute(insert(cast(Table, SandboxEvent.__table__)), rows)


async def _advance_counter(session: AsyncSession, name: str, by: int) -> int:
    for _ in range(ATTEMPTS):
        result = await session.execute(
            sql_update(SandboxCounter)
            .where(SandboxCounter.name == name)
            .values(value=SandboxCounter.value + by)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            value = await session.scalar(
                select(SandboxCounter.value).where(SandboxCounter.name == name)
            )
            return int(value or 0)
        try:  # the first event ever: create the row (a concurrent creator makes us update instead)
            async with session.begin_nested():
                await session.execute(insert(SandboxCounter).values(name=name, value=by))
            return by
        except IntegrityError:
            continue
    raise ProcessorError("the sandbox event log is busy; try again", retryable=True)


Reads = tuple[tuple[str, str], ...]


def _reads(spec: str) -> Reads:
    """``"key key=column"``: what an event's data holds, and from which column of its row."""
    return tuple(
        (key, column or key) for key, _, column in (s.partition("=") for s in spec.split())
    )


PAYMENT_DATA = _reads(
    "transaction_id=id kind status amount_minor currency method account matter_id"
)
REFUND_DATA = _reads(
    "refund_id=id transaction_id=original_id status amount_minor currency matter_id settled_at"
)
DISPUTE_DATA = _reads(
    "dispute_id=id transaction_id status reason network_reason_code respond_by amount_minor currency matter_id"
)
RETURN_DATA = _reads("return_id=id transaction_id code amount_minor currency matter_id")
WITHDRAWAL_DATA = _reads("withdrawal_id=id account status amount_minor currency arrives_at")


def _event(
    type_: EventType, row: Mapping[str, Any], at: datetime, reads: Reads, **extra: Any
) -> NewEvent:
    """The event of a row: its data as ``reads`` says, a time as ISO text, then ``extra``."""
    data = {
        key: value.isoformat() if isinstance(value := row[column], datetime) else value
        for key, column in reads
    }
    return NewEvent(type_, row["id"], at, data | extra)


def payment_event(row: Mapping[str, Any]) -> NewEvent:
    return _event(EventType.PAYMENT_CREATED, row, row["created_at"], PAYMENT_DATA)


def refund_event(row: Mapping[str, Any], at: datetime) -> NewEvent:
    return _event(EventType.REFUND_UPDATED, row, at, REFUND_DATA)


def dispute_event(type_: EventType, row: Mapping[str, Any], at: datetime) -> NewEvent:
    return _event(type_, row, at, DISPUTE_DATA)


def return_event(row: Mapping[str, Any]) -> NewEvent:
    return _event(EventType.RETURN_CREATED, row, row["created_at"], RETURN_DATA)


def withdrawal_event(row: Mapping[str, Any], transaction_count: int) -> NewEvent:
    return _event(
        EventType.WITHDRAWAL_PAID,
        row,
        row["created_at"],
        WITHDRAWAL_DATA,
        transaction_count=transaction_count,
    )


def refund_settles_at(created_at: datetime, method: str) -> datetime:
    """Card refunds settle the next business day, ACH refunds the one after."""
    return add_business_days(created_at, 1 if method == MethodType.CARD.value else 2)


def refund_row(
    refund_id: str,
    original: Mapping[str, Any],
    created_at: datetime,
    *,
    idempotency_key: str | None,
    metadata: Mapping[str, str] | None,
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "kind": PaymentKind.REFUND.value,
        "status": RefundStatus.PENDING.value,
        "amount_minor": original["amount_minor"],
        "currency": original["currency"],
        "method": original["method"],
        "brand": original["brand"],
        "last4": original["last4"],
        "account": original["account"],
        "matter_id": original["matter_id"],
        "matter_key": original["matter_key"],
        "customer_name": original["customer_name"],
        "customer_key": original["customer_key"],
        "description": f"Refund of {original['id']}",
        "items": original["items"],
        "original_id": original["id"],
        "refund_id": None,
        "return_code": None,
        "idempotency_key": idempotency_key,
        "request_metadata": dict(metadata) if metadata is not None else None,
        "settles_at": refund_settles_at(created_at, original["method"]),
        "settled_at": None,
        "withdrawal_id": None,
        "created_at": created_at,
    }


async def move_dispute(
    session: AsyncSession,
    rng: random.Random,
    now: datetime,
    row: SandboxDispute,
    expected: Sequence[DisputeStatus],
    changes: Mapping[str, Any],
) -> Dispute | None:
    """Compare-and-set a dispute out of one of ``expected`` and commit it with its event.

    None means someone else moved it first (the session is rolled back; read again).
    """
    result = await session.execute(
        sql_update(SandboxDispute)
        .where(
            SandboxDispute.id == row.id,
            SandboxDispute.status.in_([status.value for status in expected]),
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        await session.rollback()
        return None
    moved = columns_of(row) | dict(changes)
    await append_events(session, rng, [dispute_event(EventType.DISPUTE_UPDATED, moved, now)])
    await session.commit()
    return to_dispute(SandboxDispute(**moved))


# Visa dispute conditions the sandbox raises; the code is what the network sends.
DISPUTE_REASONS: dict[str, str] = {
    "10.4": "Other Fraud \N{EN DASH} Card-Absent Environment",
    "12.5": "Incorrect Amount",
    "12.6.1": "Duplicate Processing",
    "13.1": "Merchandise/Services Not Received",
    "13.3": "Not as Described or Defective Merchandise/Services",
    "13.6": "Credit Not Processed",
    "13.7": "Cancelled Merchandise/Services",
}
REASON_ALIASES: dict[str, str] = {
    "fraud": "10.4",
    "fraudulent": "10.4",
    "incorrect_amount": "12.5",
    "duplicate": "12.6.1",
    "not_received": "13.1",
    "product_not_received": "13.1",
    "services_not_received": "13.1",
    "not_as_described": "13.3",
    "product_unacceptable": "13.3",
    "credit_not_processed": "13.6",
    "cancelled": "13.7",
    "canceled": "13.7",
}
DEFAULT_NETWORK_CODE = "10.4"
RESPONSE_WINDOW = timedelta(days=10)


def payment_row(
    transaction_id: str,
    *,
    kind: PaymentKind,
    status: TransactionStatus,
    amount_minor: int,
    method: MethodType,
    brand: str | None,
    last4: str,
    account: Account,
    matter_id: str | None,
    customer_name: str | None,
    description: str | None,
    items: list[dict[str, Any]],
    created_at: datetime,
) -> dict[str, Any]:
    return {
        "id": transaction_id,
        "kind": kind.value,
        "status": status.value,
        "amount_minor": amount_minor,
        "currency": CURRENCY,
        "method": method.value,
        "brand": brand,
        "last4": last4,
        "account": account.value,
        "matter_id": matter_id,
        "matter_key": matter_id.casefold() if matter_id else None,
        "customer_name": customer_name,
        "customer_key": customer_name.casefold() if customer_name else None,
        "description": description,
        "items": items,
        "original_id": None,
        "refund_id": None,
        "return_code": None,
        "idempotency_key": None,
        "request_metadata": None,
        "settles_at": None,
        "settled_at": None,
        "withdrawal_id": None,
        "created_at": created_at,
    }

"""The Payrix event feed, polled: what changed since the cursor, oldest first, as ProcessorEvents.

Payrix alerts (``POST /webhooks/payrix``) are a hint; the bot reads changes itself from four
feeds, each in the order of a timestamp Payrix keeps, so polling stays the safety net:

- ``txns`` by ``modified``: a payment made, a refund moving, an eCheck returned;
- ``chargebackStatuses`` by ``created``: Payrix's own history of each chargeback's status;
- ``chargebacks`` by ``modified``: a new cycle or reply-by date, which Payrix records without a
  chargebackStatus (the event id names the cycle and date, so each change is announced once);
- ``disbursements`` by ``modified``: a payout processed (a withdrawal paid) or returned.

The cursor holds each feed's position (time, then id), so records sharing a timestamp are neither
skipped nor read twice, and a feed is read no further than the earliest point another feed's full
page reached: the merged order stays oldest first. Event ids are derived from Payrix ids and the
state they announce (``t1_txn_….returned``, or a chargebackStatus's own id), so a record read
again yields the same ids and the bot's store keeps each event once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain import (
    Dispute,
    EventBatch,
    EventType,
    PaymentKind,
    ProcessorEvent,
    TransactionStatus,
    WithdrawalStatus,
)
from bot.processors.payrix import mapping
from bot.processors.payrix.client import eq, greater, sort
from bot.processors.payrix.codes import RETURNED
from bot.processors.payrix.cursors import Position, decode_feed, encode_feed
from bot.processors.payrix.fields import Fields
from bot.processors.payrix.models import (
    Chargeback,
    ChargebackStatus,
    Disbursement,
    EntityReturn,
    Record,
    Txn,
    parse,
)

if TYPE_CHECKING:
    from bot.processors.payrix.gateway import PayrixGateway

log = logging.getLogger("paybot.payrix")

ROUNDS = 5  # reads that found only records without events, before answering with none
PAGES = 10  # pages of one feed read past records already consumed at the same instant
OVERLAP = timedelta(seconds=1)  # Payrix's "greater" is compared loosely: read a little back


@dataclass(frozen=True)
class Feed:
    name: str
    resource: str
    field: str
    model: type[Record]
    scope: str | None  # the field naming the owner: ``merchant``, ``entity`` or none
    expand: tuple[str, ...] = ()


FEEDS = (
    Feed("t", "txns", "modified", Txn, scope="merchant", expand=("payment",)),
    Feed("s", "chargebackStatuses", "created", ChargebackStatus, scope=None),
    Feed("c", "chargebacks", "modified", Chargeback, scope="merchant"),
    Feed("d", "disbursements", "modified", Disbursement, scope="entity"),
)


@dataclass(frozen=True)
class Seen:
    position: Position
    order: int
    feed: Feed
    record: Any


def _key(feed: Feed, record: Record) -> datetime | None:
    value = getattr(record, feed.field, None)
    return value if isinstance(value, datetime) else record.created or record.modified


async def _read(
    gateway: PayrixGateway, feed: Feed, order: int, after: Position, limit: int
) -> tuple[list[Seen], Position | None]:
    """Unread records of one feed, and how far its last full page reached (None: read to the end)."""
    terms = [greater(feed.field, (after.at - OVERLAP).strftime("%Y-%m-%d %H:%M:%S"))]
    owner = await _owner(gateway, feed)
    if feed.scope is not None:
        if owner is None:
            return [], None
        terms.append(eq(feed.scope, owner))
    terms += [sort(feed.field, "asc"), sort("id", "asc")]
    for page in range(1, PAGES + 1):
        listing = await gateway.client.fetch(
            feed.resource, terms, page=page, limit=limit, expand=feed.expand
        )
        seen = []
        for raw in listing.records:
            record = parse(feed.model, raw, feed.resource)
            at = _key(feed, record)
            if at is None:
                log.warning("payrix %s %s has no %s; skipped", feed.resource, record.id, feed.field)
                continue
            if feed.scope is not None and getattr(record, feed.scope, None) not in (None, owner):
                continue
            seen.append(Seen(Position(at, record.id), order, feed, record))
        reach = max((s.position for s in seen), default=None)
        fresh = [s for s in seen if s.position > after]
        if not listing.has_more:
            return fresh, None
        if fresh:
            return fresh, reach
    return [], after


async def _owner(gateway: PayrixGateway, feed: Feed) -> str | None:
    if feed.scope == "merchant":
        return gateway.merchant_id
    if feed.scope == "entity":
        return await gateway.entity()
    return None


async def feed_end(gateway: PayrixGateway) -> str | None:
    """Each feed's newest record (one request of one record per feed, newest first), as the
    cursor ``read_feed`` would reach by reading every page; None when every feed is empty."""
    start = Position(gateway.now() - gateway.first_poll_lookback)
    positions: dict[str, Position] = {}
    for feed in FEEDS:
        positions[feed.name] = start
        owner = await _owner(gateway, feed)
        if feed.scope is not None and owner is None:
            continue
        terms = [eq(feed.scope, owner)] if feed.scope is not None else []
        terms += [sort(feed.field, "desc"), sort("id", "desc")]
        listing = await gateway.client.fetch(feed.resource, terms, page=1, limit=1)
        for raw in listing.records:
            record = parse(feed.model, raw, feed.resource)
            at = _key(feed, record)
            if at is not None:
                positions[feed.name] = max(start, Position(at, record.id))
    if all(position == start for position in positions.values()):
        return None
    return encode_feed(positions)


async def read_feed(gateway: PayrixGateway, cursor: str | None, limit: int) -> EventBatch:
    limit = max(1, min(limit, 100))
    positions = decode_feed(cursor) if cursor else {}
    start = Position(gateway.now() - gateway.first_poll_lookback)
    for feed in FEEDS:
        positions.setdefault(feed.name, start)
    events: list[ProcessorEvent] = []
    moved = False
    for _ in range(ROUNDS):
        consumed, exhausted = await _next(gateway, positions, limit - len(events))
        for seen in consumed:
            positions[seen.feed.name] = max(positions[seen.feed.name], seen.position)
        moved = moved or bool(consumed)
        events += await _events(gateway, consumed)
        if events or exhausted or len(events) >= limit:
            break
    if not moved:
        return EventBatch((), cursor)
    unique = {e.id: e for e in reversed(events)}  # two feeds may tell one event: the first stays
    return EventBatch(tuple(e for e in events if unique.get(e.id) is e), encode_feed(positions))


async def _next(
    gateway: PayrixGateway, positions: dict[str, Position], limit: int
) -> tuple[list[Seen], bool]:
    """The next records of all feeds merged, oldest first, up to the earliest partial reach."""
    found: list[Seen] = []
    horizon: Position | None = None
    for order, feed in enumerate(FEEDS):
        fresh, reach = await _read(gateway, feed, order, positions[feed.name], max(limit, 1))
        found += fresh
        if reach is not None:
            horizon = reach if horizon is None else min(horizon, reach)
    found.sort(key=lambda s: (s.position.at, s.order, s.position.id))
    if horizon is not None:
        found = [s for s in found if s.position <= horizon]
    return found[: max(limit, 1)], horizon is None


async def _events(gateway: PayrixGateway, consumed: Sequence[Seen]) -> list[ProcessorEvent]:
    return await record_events(gateway, [s.record for s in consumed])


async def record_events(gateway: PayrixGateway, records: Sequence[Record]) -> list[ProcessorEvent]:
    """Each record's events, in the order the records were read (oldest first): the one reading
    of Payrix records the poller and the alerts share."""
    statuses = [r for r in records if isinstance(r, ChargebackStatus)]
    changed = {r.id: r for r in records if isinstance(r, Chargeback)}
    chargebacks = await gateway.chargebacks([*(s.chargeback or "" for s in statuses), *changed])
    cycles = {cb.id: cb.cycle for cb in chargebacks}
    disputes = {d.id: d for d in await gateway.disputes_for(chargebacks)} if chargebacks else {}
    returned = [r.id for r in records if isinstance(r, Txn) and r.status == RETURNED]
    codes = await gateway.returns_of(returned) if returned else {}
    payouts = [
        r.id
        for r in records
        if isinstance(r, Disbursement)
        and mapping.disbursement_status(r) is WithdrawalStatus.RETURNED
    ]
    payout_codes = await gateway.payout_returns(payouts) if payouts else {}
    events: list[ProcessorEvent] = []
    for record in records:
        if isinstance(record, Txn):
            events += txn_events(record, gateway.fields, codes.get(record.id))
        elif isinstance(record, ChargebackStatus):
            dispute = disputes.get(record.chargeback or "")
            if dispute is not None:  # None: another merchant's (an API key may see several)
                events.append(dispute_event(record, cycles.get(dispute.id), dispute))
        elif isinstance(record, Chargeback) and record.id in disputes:
            events += chargeback_events(record, disputes[record.id])
        elif isinstance(record, Disbursement):
            events += payout_events(record, payout_codes.get(record.id))
    return events


def chargeback_events(cb: Chargeback, dispute: Dispute) -> list[ProcessorEvent]:
    """A chargeback read by ``modified``: its creation (the same id the status feed gives it, so
    it is stored once) and its current cycle and reply-by date, under an id naming both, so a
    new cycle or a moved deadline is one new event and a re-read is none."""
    data = dispute_data(dispute, cb.status, cb.cycle)
    at = cb.modified or dispute.created_at
    created = ProcessorEvent(
        id=f"{cb.id}.created",
        type=EventType.DISPUTE_CREATED,
        object_id=cb.id,
        created_at=dispute.created_at,
        data=data,
    )
    return [
        *([created] if (cb.status or "").strip() == "open" else []),
        ProcessorEvent(
            id=f"{cb.id}.cycle.{cb.cycle or 'none'}.{cb.reply or 'none'}",
            type=EventType.DISPUTE_UPDATED,
            object_id=cb.id,
            created_at=at,
            data=data,
        ),
    ]


def payout_events(
    disbursement: Disbursement, returned: EntityReturn | None
) -> list[ProcessorEvent]:
    """A payout paid, and a payout the bank sent back (announced like an ACH return)."""
    withdrawal = mapping.to_payout(disbursement)
    data = {
        "withdrawal_id": disbursement.id,
        "status": withdrawal.status.value,
        "amount_minor": withdrawal.amount.minor,
        "currency": withdrawal.amount.currency,
        "arrives_at": _iso(withdrawal.arrives_at),
        "payrix_status": disbursement.status,
    }
    at = disbursement.modified or withdrawal.created_at
    if withdrawal.status is WithdrawalStatus.PAID:
        return [
            ProcessorEvent(
                f"{disbursement.id}.paid", EventType.WITHDRAWAL_PAID, disbursement.id, at, data
            )
        ]
    if withdrawal.status is WithdrawalStatus.RETURNED:
        returned_minor = disbursement.returnedAmount or withdrawal.amount.minor
        data |= {
            "returned_minor": returned_minor,
            "code": mapping.return_code_of(returned),
            "payrix_message": returned.message if returned else None,
        }
        return [
            ProcessorEvent(
                f"{disbursement.id}.returned",
                EventType.WITHDRAWAL_RETURNED,
                disbursement.id,
                at,
                data,
            )
        ]
    return []


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def txn_events(
    txn: Txn, fields: Fields, returned: EntityReturn | None = None
) -> list[ProcessorEvent]:
    """A payment made, a refund in each of its states, an eCheck returned (with its code)."""
    domain = mapping.to_transaction(txn, fields, entity_return=returned)
    base = {
        "amount_minor": domain.amount.minor,
        "currency": domain.amount.currency,
        "matter_id": domain.matter_id,
        "payrix_type": txn.type,
        "payrix_status": txn.status,
    }
    at = txn.modified or mapping.when(txn)
    if domain.kind is PaymentKind.REFUND:
        refund = mapping.to_refund(txn)
        return [
            ProcessorEvent(
                id=f"{txn.id}.{refund.status.value}",
                type=EventType.REFUND_UPDATED,
                object_id=txn.id,
                created_at=at,
                data={
                    **base,
                    "refund_id": txn.id,
                    "transaction_id": txn.fortxn,
                    "status": refund.status.value,
                    "settled_at": _iso(refund.settled_at),
                },
            )
        ]
    events = [
        ProcessorEvent(
            id=f"{txn.id}.created",
            type=EventType.PAYMENT_CREATED,
            object_id=txn.id,
            created_at=domain.created_at,
            data={
                **base,
                "transaction_id": txn.id,
                "kind": domain.kind.value,
                "status": domain.status.value,
                "method": domain.method.type.value,
                "account": domain.account.value,
            },
        )
    ]
    if domain.status is TransactionStatus.RETURNED:
        payment_return = mapping.to_return(txn, fields, returned)
        events.append(
            ProcessorEvent(
                id=f"{txn.id}.returned",
                type=EventType.RETURN_CREATED,
                object_id=txn.id,
                created_at=payment_return.created_at,
                data={
                    **base,
                    "return_id": payment_return.id,
                    "transaction_id": txn.id,
                    "code": payment_return.code,
                },
            )
        )
    return events


def dispute_event(status: ChargebackStatus, cycle: str | None, dispute: Dispute) -> ProcessorEvent:
    """A chargeback's first ``open`` is its creation (one id per chargeback, however often
    Payrix reopens it); every later status record is an update under Payrix's own id."""
    created = (status.status or "") == "open" and not status.chargebackMessage
    return ProcessorEvent(
        id=f"{dispute.id}.created" if created else status.id,
        type=EventType.DISPUTE_CREATED if created else EventType.DISPUTE_UPDATED,
        object_id=dispute.id,
        created_at=status.created or dispute.created_at,
        data={
            **dispute_data(dispute, status.status, cycle),
            "payrix_status_id": status.id,
            "chargeback_message": status.chargebackMessage,
        },
    )


def dispute_data(dispute: Dispute, status: str | None, cycle: str | None) -> dict[str, Any]:
    return {
        "dispute_id": dispute.id,
        "transaction_id": dispute.transaction_id,
        "status": dispute.status.value,
        "reason": dispute.reason,
        "network_reason_code": dispute.network_reason_code,
        "respond_by": _iso(dispute.respond_by),
        "amount_minor": dispute.amount.minor,
        "currency": dispute.amount.currency,
        "matter_id": dispute.matter_id,
        "payrix_status": status,
        "payrix_cycle": cycle,
    }

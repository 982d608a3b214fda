"""The sandbox processor as the bot sees it: the Gateway protocol over the ``sandbox_`` tables.

Also the record keeping the simulator shares: ids, the event log, keyset paging and the mapping
from rows to domain objects.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import random
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from bot import refusals
from bot.clock import Clock, add_business_days, utcnow
from bot.db.dml import LIKE_ESCAPE, like_escaped
from bot.db.engine import SessionFactory, engine_of
from bot.domain import (
    Account,
    Balance,
    DailyTotals,
    Dispute,
    DisputeEvidence,
    DisputeStatus,
    EventBatch,
    EventType,
    HistorySort,
    LineItem,
    MethodType,
    Money,
    Page,
    PaymentKind,
    PaymentMethod,
    PaymentReturn,
    ProcessorEvent,
    Refund,
    RefundStatus,
    Transaction,
    TransactionQuery,
    TransactionStatus,
    Withdrawal,
    WithdrawalStatus,
)
from bot.errors import ProcessorError
from bot.processors.sandbox.models import (
    SandboxCounter,
    SandboxCustomer,
    SandboxDispute,
    SandboxEvent,
    SandboxReturn,
    SandboxTransaction,
    SandboxWithdrawal,
)
from bot.processors.sandbox.totals import daily_totals

CURRENCY = "USD"  # the sandbox merchant account settles in dollars only
MAX_PAGE = 100
MAX_EVENTS = 1000
MAX_NAME_MATCHES = 50
ATTEMPTS = 5  # compare-and-set retries before a write gives up as busy
EVENT_COUNTER = "events"
UNSETTLED_STATUSES = (TransactionStatus.SUCCEEDED.value, TransactionStatus.PENDING.value)
ID_ALPHABET = string.digits + string.ascii_lowercase
PAYMENT_KINDS = (PaymentKind.SALE.value, PaymentKind.AUTHORIZATION.value)
OPEN_DISPUTES = (DisputeStatus.NEEDS_RESPONSE.value, DisputeStatus.UNDER_REVIEW.value)
# A refund would pay the customer twice: the dispute already is (or may become) their refund.
REFUND_BLOCKING_DISPUTES = (*OPEN_DISPUTES, DisputeStatus.LOST.value, DisputeStatus.ACCEPTED.value)

T = SandboxTransaction
M = TypeVar("M")


def make_id(rng: random.Random, prefix: str) -> str:
    """``txn_`` + 20 characters of [0-9a-z], like a real processor; reproducible from a seeded rng."""
    return f"{prefix}_{''.join(rng.choices(ID_ALPHABET, k=20))}"


def new_rng(seed: int | str | None, role: str) -> random.Random:
    """A seeded generator per role, so two seeded objects never draw the same ids."""
    return random.SystemRandom() if seed is None else random.Random(f"{role}:{seed}")


def rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


# ---------------------------------------------------------------------------------------------
# The event log


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


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def payment_event(row: Mapping[str, Any]) -> NewEvent:
    data = {
        "transaction_id": row["id"],
        "kind": row["kind"],
        "status": row["status"],
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "method": row["method"],
        "account": row["account"],
        "matter_id": row["matter_id"],
    }
    return NewEvent(EventType.PAYMENT_CREATED, row["id"], row["created_at"], data)


def refund_event(row: Mapping[str, Any], at: datetime) -> NewEvent:
    data = {
        "refund_id": row["id"],
        "transaction_id": row["original_id"],
        "status": row["status"],
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "matter_id": row["matter_id"],
        "settled_at": _when(row.get("settled_at")),
    }
    return NewEvent(EventType.REFUND_UPDATED, row["id"], at, data)


def dispute_event(type_: EventType, row: Mapping[str, Any], at: datetime) -> NewEvent:
    data = {
        "dispute_id": row["id"],
        "transaction_id": row["transaction_id"],
        "status": row["status"],
        "reason": row["reason"],
        "network_reason_code": row["network_reason_code"],
        "respond_by": _when(row["respond_by"]),
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "matter_id": row["matter_id"],
    }
    return NewEvent(type_, row["id"], at, data)


def return_event(row: Mapping[str, Any]) -> NewEvent:
    data = {
        "return_id": row["id"],
        "transaction_id": row["transaction_id"],
        "code": row["code"],
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "matter_id": row["matter_id"],
    }
    return NewEvent(EventType.RETURN_CREATED, row["id"], row["created_at"], data)


def withdrawal_event(row: Mapping[str, Any], transaction_count: int) -> NewEvent:
    data = {
        "withdrawal_id": row["id"],
        "status": row["status"],
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "arrives_at": _when(row["arrives_at"]),
        "transaction_count": transaction_count,
    }
    return NewEvent(EventType.WITHDRAWAL_PAID, row["id"], row["created_at"], data)


def columns_of(row: object) -> dict[str, Any]:
    """An ORM row as the plain dict the event builders read."""
    table = cast(Any, row).__table__
    return {column.key: getattr(row, column.key) for column in table.columns}


# ---------------------------------------------------------------------------------------------
# Rows to domain objects


def money(minor: int, currency: str) -> Money:
    return Money(int(minor), currency)


def to_refund(row: SandboxTransaction) -> Refund:
    return Refund(
        id=row.id,
        transaction_id=row.original_id or "",
        amount=money(row.amount_minor, row.currency),
        status=RefundStatus(row.status),
        created_at=row.created_at,
        settled_at=row.settled_at,
    )


def to_dispute(row: SandboxDispute) -> Dispute:
    return Dispute(
        id=row.id,
        transaction_id=row.transaction_id,
        amount=money(row.amount_minor, row.currency),
        status=DisputeStatus(row.status),
        reason=row.reason,
        network_reason_code=row.network_reason_code,
        respond_by=row.respond_by,
        created_at=row.created_at,
        matter_id=row.matter_id,
        evidence_submitted_at=row.evidence_submitted_at,
    )


def to_return(row: SandboxReturn) -> PaymentReturn:
    return PaymentReturn(
        id=row.id,
        transaction_id=row.transaction_id,
        code=row.code,
        amount=money(row.amount_minor, row.currency),
        created_at=row.created_at,
        matter_id=row.matter_id,
    )


def to_transaction(
    row: SandboxTransaction, refunds: Sequence[Refund] = (), disputes: Sequence[Dispute] = ()
) -> Transaction:
    return Transaction(
        id=row.id,
        kind=PaymentKind(row.kind),
        status=TransactionStatus(row.status),
        amount=money(row.amount_minor, row.currency),
        method=PaymentMethod(MethodType(row.method), row.last4, row.brand),
        created_at=row.created_at,
        matter_id=row.matter_id,
        account=Account(row.account),
        customer_name=row.customer_name,
        description=row.description,
        items=tuple(
            LineItem(item["description"], money(item["amount_minor"], row.currency))
            for item in row.items
        ),
        refunds=tuple(refunds),
        disputes=tuple(disputes),
        original_id=row.original_id,
        return_code=row.return_code,
    )


class Columns:
    """A Core row read as the model it came from (``row.amount_minor``), so the ``to_*`` mappers
    serve both: the hot lookup skips the ORM's identity map and instance loading (a third of its
    cost, bench/answers.py) and reads plain rows."""

    __slots__ = ("_mapping", "_table")

    def __init__(self, mapping: Mapping[Any, Any], table: Table) -> None:
        self._mapping = mapping
        self._table = table

    def __getattr__(self, name: str) -> Any:
        return self._mapping[self._table.c[name]]


TRANSACTIONS = cast(Table, T.__table__)
DISPUTES = cast(Table, SandboxDispute.__table__)
# A transaction with its refunds and its dispute, in one statement built once (see get_transaction).
LOOKUP = (
    select(TRANSACTIONS, DISPUTES)
    .select_from(TRANSACTIONS.outerjoin(DISPUTES, DISPUTES.c.transaction_id == TRANSACTIONS.c.id))
    .where(
        or_(
            TRANSACTIONS.c.id == bindparam("transaction_id"),
            TRANSACTIONS.c.original_id == bindparam("transaction_id"),
        )
    )
    .order_by(TRANSACTIONS.c.created_at, TRANSACTIONS.c.id)
)


async def load_transactions(
    session: AsyncSession, rows: Sequence[SandboxTransaction]
) -> list[Transaction]:
    """Domain transactions with their refunds and disputes: two queries for the whole page."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    refunds: dict[str, list[Refund]] = {}
    refund_rows = await session.scalars(  # only refunds have an original
        select(T).where(T.original_id.in_(ids)).order_by(T.created_at, T.id)
    )
    for refund in refund_rows:
        refunds.setdefault(refund.original_id or "", []).append(to_refund(refund))
    disputes: dict[str, list[Dispute]] = {}
    dispute_rows = await session.scalars(
        select(SandboxDispute)
        .where(SandboxDispute.transaction_id.in_(ids))
        .order_by(SandboxDispute.created_at, SandboxDispute.id)
    )
    for dispute in dispute_rows:
        disputes.setdefault(dispute.transaction_id, []).append(to_dispute(dispute))
    return [to_transaction(row, refunds.get(row.id, ()), disputes.get(row.id, ())) for row in rows]


# ---------------------------------------------------------------------------------------------
# Keyset paging


@dataclass(frozen=True)
class Keyset:
    """One listing order: a sort column, the id as tie-breaker, and a direction."""

    name: str  # written into cursors, so a cursor from another order is refused
    key: QueryableAttribute[Any]
    id: QueryableAttribute[str]
    descending: bool

    def key_of(self, row: object) -> Any:
        return getattr(row, self.key.key)


BAD_CURSOR = "That page link is no longer valid; start the list again."


def encode_cursor(keyset: Keyset, row: object, *, backward: bool) -> str:
    key = keyset.key_of(row)
    payload = {
        "o": keyset.name,
        "k": key.isoformat() if isinstance(key, datetime) else key,
        "i": getattr(row, keyset.id.key),
        "b": backward,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(keyset: Keyset, text: str) -> tuple[Any, str, bool]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(payload, dict) or payload.get("o") != keyset.name:
            raise ValueError("cursor from another listing")
        key, id_, backward = payload["k"], payload["i"], payload["b"]
        if isinstance(key, str):
            key = datetime.fromisoformat(key)
            if key.tzinfo is None:
                raise ValueError("naive time in cursor")
        elif not isinstance(key, int) or isinstance(key, bool):
            raise ValueError("bad key in cursor")
        if not isinstance(id_, str) or not isinstance(backward, bool):
            raise ValueError("bad cursor")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ProcessorError(BAD_CURSOR) from None
    return key, id_, backward


def _beyond(keyset: Keyset, key: Any, id_: str, descending: bool) -> ColumnElement[bool]:
    """Rows after (key, id) in the given direction; the leading range lets any planner seek."""
    if descending:
        return and_(
            keyset.key <= key, or_(keyset.key < key, and_(keyset.key == key, keyset.id < id_))
        )
    return and_(keyset.key >= key, or_(keyset.key > key, and_(keyset.key == key, keyset.id > id_)))


async def fetch_page(
    session: AsyncSession,
    stmt: Select[M],
    keyset: Keyset,
    cursor: str | None,
    limit: int,
    *,
    any_of: Sequence[ColumnElement[bool]] | None = None,
) -> tuple[list[M], str | None, str | None]:
    """A page after (next) or before (prev) the row a cursor names.

    Pages are anchored on a row, not an offset: rows arriving meanwhile never shift a page, and
    going back from page 2 gives exactly the rows page 1 showed. ``any_of`` runs one query per
    condition, each a seek on its own index, and merges them: an OR would make the database
    gather and sort every match.
    """
    limit = max(1, min(limit, MAX_PAGE))
    backward = False
    if cursor is not None:
        key, id_, backward = decode_cursor(keyset, cursor)
        stmt = stmt.where(_beyond(keyset, key, id_, keyset.descending != backward))
    descending = keyset.descending != backward
    order = (
        (keyset.key.desc(), keyset.id.desc()) if descending else (keyset.key.asc(), keyset.id.asc())
    )
    stmt = stmt.order_by(*order).limit(limit + 1)
    if any_of is None:
        rows = list((await session.scalars(stmt)).all())
    else:
        found: dict[str, M] = {}
        for condition in any_of:
            for row in await session.scalars(stmt.where(condition)):
                found[getattr(row, keyset.id.key)] = row
        rows = sorted(
            found.values(),
            key=lambda row: (keyset.key_of(row), getattr(row, keyset.id.key)),
            reverse=descending,
        )[: limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
    has_next = True if backward else more
    has_prev = more if backward else cursor is not None
    next_cursor = encode_cursor(keyset, rows[-1], backward=False) if rows and has_next else None
    prev_cursor = encode_cursor(keyset, rows[0], backward=True) if rows and has_prev else None
    return rows, next_cursor, prev_cursor


TRANSACTION_ORDERS = {
    HistorySort.NEWEST: Keyset("newest", T.created_at, T.id, descending=True),
    HistorySort.OLDEST: Keyset("oldest", T.created_at, T.id, descending=False),
    HistorySort.AMOUNT: Keyset("amount", T.amount_minor, T.id, descending=True),
}
DISPUTE_ORDER = Keyset("respond_by", SandboxDispute.respond_by, SandboxDispute.id, descending=False)
RETURN_ORDER = Keyset("returns", SandboxReturn.created_at, SandboxReturn.id, descending=True)
WITHDRAWAL_ORDER = Keyset(
    "withdrawals", SandboxWithdrawal.created_at, SandboxWithdrawal.id, descending=True
)


# ---------------------------------------------------------------------------------------------
# Search

_ID_START = re.compile(r"[a-z]{2,4}_[0-9a-z]*")
_AMOUNT = re.compile(r"\$?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?")


async def search_conditions(session: AsyncSession, text: str) -> list[ColumnElement[bool]] | None:
    """What a person typed in the history search box, as alternatives an index each answers.

    ``txn_4f`` is the start of an id; ``125.50`` an exact amount; four digits a card's or
    account's last four (or an amount); anything else a matter id (whole, any case) or part of
    a customer's name. None means no search; an empty list, a search nothing can match.
    """
    typed = text.strip()
    if not typed:
        return None
    folded = typed.casefold()
    if _ID_START.fullmatch(folded):
        if folded == "txn_":
            return [T.kind != PaymentKind.REFUND.value]
        if folded == "re_":
            return [T.kind == PaymentKind.REFUND.value]
        if len(folded.partition("_")[2]) == 1:  # one in 36 matches: walking in order finds a page
            return [T.id.like(f"{like_escaped(folded)}%", escape=LIKE_ESCAPE)]
        # Ids are [0-9a-z_], all below "~": every id with this start lies in [start, start~).
        return [and_(T.id >= folded, T.id < folded + "~")]
    conditions: list[ColumnElement[bool]] = [T.matter_key == folded]
    if _AMOUNT.fullmatch(typed):
        try:
            conditions.append(T.amount_minor == Money.parse(typed, CURRENCY).minor)
        except ValueError:
            pass
        if len(typed) == 4 and typed.isdigit():
            conditions.append(T.last4 == typed)
        return conditions
    # Part of a name: find the customers first (a small table), then seek each one's payments.
    pattern = f"%{like_escaped(folded)}%"
    keys = list(
        await session.scalars(
            select(SandboxCustomer.key)
            .where(SandboxCustomer.key.like(pattern, escape=LIKE_ESCAPE))
            .order_by(SandboxCustomer.key)
            .limit(MAX_NAME_MATCHES + 1)
        )
    )
    if len(keys) > MAX_NAME_MATCHES:  # so many customers match that a scan finds a page at once
        conditions.append(T.customer_key.like(pattern, escape=LIKE_ESCAPE))
    else:
        conditions.extend(T.customer_key == key for key in keys)
    return conditions


async def remember_customer(session: AsyncSession, name: str | None) -> None:
    """Keep the customer in the name index; call it after the unit of work's first write."""
    if not name:
        return
    key = name.casefold()
    if await session.get(SandboxCustomer, key) is not None:
        return
    try:
        async with session.begin_nested():
            await session.execute(insert(SandboxCustomer).values(key=key, name=name))
    except IntegrityError:
        pass  # a concurrent payment by the same customer added it


# ---------------------------------------------------------------------------------------------
# Refunds


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


def sandbox_refusal(original: SandboxTransaction, disputes: Iterable[SandboxDispute]) -> str | None:
    """Why this payment cannot be refunded, in the words the person asking should read."""
    tid = original.id
    if original.kind == PaymentKind.REFUND.value:
        return refusals.is_refund(tid)
    if original.refund_id is not None:
        return refusals.already_refunded(tid, f" ({original.refund_id})")
    status = original.status
    if status == TransactionStatus.AUTHORIZED.value:
        return refusals.never_captured(tid)
    if status == TransactionStatus.FAILED.value:
        return refusals.failed(tid)
    if status == TransactionStatus.RETURNED.value:
        return refusals.returned(tid, f" ({original.return_code})")
    if status == TransactionStatus.VOIDED.value:
        return refusals.voided(tid)
    if status != TransactionStatus.SUCCEEDED.value:
        return refusals.not_settled(f"still {status}", tid)
    for dispute in disputes:
        if dispute.status in REFUND_BLOCKING_DISPUTES:
            return refusals.disputed(tid, f" ({dispute.id}, {DisputeStatus(dispute.status).said})")
    return None


# ---------------------------------------------------------------------------------------------
# The gateway


class SandboxGateway:
    """The Gateway protocol, answered from the sandbox tables in the bot's own database."""

    name = "sandbox"

    def __init__(
        self, session_factory: SessionFactory, clock: Clock = utcnow, *, seed: int | None = None
    ) -> None:
        self._sessions = session_factory
        self._engine = engine_of(session_factory)
        self._clock = clock
        self._rng = new_rng(seed, "gateway")

    async def get_transaction(self, transaction_id: str) -> Transaction | None:
        """The payment, its refunds and its dispute in one statement on a plain connection:
        every lookup comes here."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(LOOKUP, {"transaction_id": transaction_id})).all()
        found: Columns | None = None
        refunds: list[Refund] = []
        disputes: list[Dispute] = []
        for row in rows:
            txn = Columns(row._mapping, TRANSACTIONS)
            if txn.id != transaction_id:
                refunds.append(to_refund(cast(T, txn)))
                continue
            found = txn
            if row._mapping[DISPUTES.c.id] is not None:
                disputes.append(to_dispute(cast(SandboxDispute, Columns(row._mapping, DISPUTES))))
        if found is None:
            return None
        return to_transaction(cast(T, found), refunds, disputes)

    async def list_transactions(self, query: TransactionQuery) -> Page[Transaction]:
        stmt = select(T)
        if query.kind is not None:
            stmt = stmt.where(T.kind == PaymentKind(query.kind).value)
        async with self._sessions() as session:
            any_of = await search_conditions(session, query.search or "")
            rows, next_cursor, prev_cursor = await fetch_page(
                session,
                stmt,
                TRANSACTION_ORDERS[HistorySort(query.sort)],
                query.cursor,
                query.limit,
                any_of=any_of,
            )
            items = await load_transactions(session, rows)
        return Page(tuple(items), next_cursor, prev_cursor)

    async def refund(
        self, transaction_id: str, *, idempotency_key: str, metadata: Mapping[str, str]
    ) -> Refund:
        """Insert, then claim the payment by compare-and-set; a loser re-reads and finds the winner.

        Two callers with the same key: the unique key refuses the second insert, which then
        returns the first caller's refund. Two with different keys: the payment's ``refund_id``
        is set once, so the second is refused as already refunded.
        """
        if not idempotency_key:
            raise ProcessorError("a refund needs an idempotency key")
        for _ in range(ATTEMPTS):
            async with self._sessions() as session:
                existing = await session.scalar(
                    select(T).where(T.idempotency_key == idempotency_key)
                )
                if existing is not None:
                    return self._replayed(existing, transaction_id, idempotency_key)
                original = await session.get(T, transaction_id)
                if original is None:
                    raise ProcessorError(f"There is no transaction {transaction_id} to refund.")
                disputes = await session.scalars(
                    select(SandboxDispute).where(SandboxDispute.transaction_id == original.id)
                )
                refusal = sandbox_refusal(original, disputes)
                if refusal is not None:
                    raise ProcessorError(refusal)
                row = refund_row(
                    make_id(self._rng, "re"),
                    columns_of(original),
                    self._clock(),
                    idempotency_key=idempotency_key,
                    metadata=metadata,
                )
                try:
                    await session.execute(insert(T).values(row))
                    claimed = await session.execute(
                        sql_update(T)
                        .where(
                            T.id == original.id,
                            T.refund_id.is_(None),
                            T.status == TransactionStatus.SUCCEEDED.value,
                        )
                        .values(refund_id=row["id"])
                        .execution_options(synchronize_session=False)
                    )
                    if rowcount(claimed) != 1:
                        await session.rollback()
                        continue
                    await append_events(session, self._rng, [refund_event(row, row["created_at"])])
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    continue
                return Refund(
                    id=row["id"],
                    transaction_id=original.id,
                    amount=money(row["amount_minor"], row["currency"]),
                    status=RefundStatus.PENDING,
                    created_at=row["created_at"],
                )
        raise ProcessorError("The sandbox is busy; try the refund again.", retryable=True)

    @staticmethod
    def _replayed(existing: SandboxTransaction, transaction_id: str, key: str) -> Refund:
        if existing.original_id != transaction_id:
            raise ProcessorError(
                f"Idempotency key {key!r} was already used to refund {existing.original_id}, "
                f"not {transaction_id}."
            )
        return to_refund(existing)

    async def get_refund(self, refund_id: str) -> Refund | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(T).where(T.id == refund_id, T.kind == PaymentKind.REFUND.value)
            )
        return None if row is None else to_refund(row)

    async def get_dispute(self, dispute_id: str) -> Dispute | None:
        async with self._sessions() as session:
            row = await session.get(SandboxDispute, dispute_id)
        return None if row is None else to_dispute(row)

    async def list_disputes(
        self, *, open_only: bool = False, limit: int = 10, cursor: str | None = None
    ) -> Page[Dispute]:
        """Soonest deadline first: the dispute that needs a response before the others."""
        stmt = select(SandboxDispute)
        if open_only:
            stmt = stmt.where(SandboxDispute.status.in_(OPEN_DISPUTES))
        async with self._sessions() as session:
            rows, next_cursor, prev_cursor = await fetch_page(
                session, stmt, DISPUTE_ORDER, cursor, limit
            )
        return Page(tuple(to_dispute(row) for row in rows), next_cursor, prev_cursor)

    async def submit_dispute_evidence(
        self, dispute_id: str, evidence: DisputeEvidence, *, idempotency_key: str
    ) -> Dispute:
        if not evidence.summary.strip():
            raise ProcessorError("Evidence needs at least a summary.")
        for _ in range(ATTEMPTS):
            async with self._sessions() as session:
                row = await session.get(SandboxDispute, dispute_id)
                if row is None:
                    raise ProcessorError(f"There is no dispute {dispute_id}.")
                if row.evidence_key == idempotency_key:
                    return to_dispute(row)
                now = self._clock()
                if row.status == DisputeStatus.UNDER_REVIEW.value:
                    raise ProcessorError(
                        f"Evidence for {row.id} was already submitted; the dispute is under review."
                    )
                if row.status != DisputeStatus.NEEDS_RESPONSE.value:
                    raise ProcessorError(
                        f"{row.id} is closed ({row.status}); it takes no evidence."
                    )
                if now > row.respond_by:
                    raise ProcessorError(
                        f"The deadline to respond to {row.id} passed on "
                        f"{row.respond_by:%Y-%m-%d %H:%M} UTC; it can no longer be contested."
                    )
                changes = {
                    "status": DisputeStatus.UNDER_REVIEW.value,
                    "evidence": dataclasses.asdict(evidence),
                    "evidence_key": idempotency_key,
                    "evidence_submitted_at": now,
                }
                moved = await self._move_dispute(session, row, changes)
                if moved is not None:
                    return moved
        raise ProcessorError("The sandbox is busy; try again.", retryable=True)

    async def accept_dispute(self, dispute_id: str, *, idempotency_key: str) -> Dispute:
        """Concede: the customer keeps the money. Accepting an accepted dispute is a no-op."""
        for _ in range(ATTEMPTS):
            async with self._sessions() as session:
                row = await session.get(SandboxDispute, dispute_id)
                if row is None:
                    raise ProcessorError(f"There is no dispute {dispute_id}.")
                if row.status == DisputeStatus.ACCEPTED.value:
                    return to_dispute(row)
                if row.status == DisputeStatus.UNDER_REVIEW.value:
                    raise ProcessorError(
                        f"Evidence for {row.id} is under review; it can no longer be accepted."
                    )
                if row.status != DisputeStatus.NEEDS_RESPONSE.value:
                    raise ProcessorError(f"{row.id} is already closed ({row.status}).")
                changes = {
                    "status": DisputeStatus.ACCEPTED.value,
                    "accept_key": idempotency_key,
                    "closed_at": self._clock(),
                }
                moved = await self._move_dispute(session, row, changes)
                if moved is not None:
                    return moved
        raise ProcessorError("The sandbox is busy; try again.", retryable=True)

    async def _move_dispute(
        self, session: AsyncSession, row: SandboxDispute, changes: Mapping[str, Any]
    ) -> Dispute | None:
        expected = (DisputeStatus.NEEDS_RESPONSE,)
        return await move_dispute(session, self._rng, self._clock(), row, expected, changes)

    async def list_returns(
        self, *, limit: int = 10, cursor: str | None = None
    ) -> Page[PaymentReturn]:
        async with self._sessions() as session:
            rows, next_cursor, prev_cursor = await fetch_page(
                session, select(SandboxReturn), RETURN_ORDER, cursor, limit
            )
        return Page(tuple(to_return(row) for row in rows), next_cursor, prev_cursor)

    async def list_withdrawals(
        self, *, limit: int = 10, cursor: str | None = None
    ) -> Page[Withdrawal]:
        async with self._sessions() as session:
            rows, next_cursor, prev_cursor = await fetch_page(
                session, select(SandboxWithdrawal), WITHDRAWAL_ORDER, cursor, limit
            )
            included: dict[str, list[str]] = {}
            if rows:
                members = await session.execute(
                    select(T.withdrawal_id, T.id)
                    .where(T.withdrawal_id.in_([row.id for row in rows]))
                    .order_by(T.created_at, T.id)
                )
                for withdrawal_id, transaction_id in members:
                    included.setdefault(withdrawal_id or "", []).append(transaction_id)
        return Page(
            tuple(to_withdrawal(row, included.get(row.id, ())) for row in rows),
            next_cursor,
            prev_cursor,
        )

    async def daily_totals(self, start: date, end: date) -> list[DailyTotals]:
        async with self._sessions() as session:
            return await daily_totals(session, start, end, CURRENCY)

    async def balance(self) -> Balance:
        """``available``: what has settled and not been withdrawn, net of settled refunds.
        ``pending``: what has moved but not settled, signed (a pending refund is negative).
        Their sum is what the next withdrawal pays."""
        async with self._sessions() as session:
            sums = await session.execute(
                select(T.kind, T.status, func.sum(T.amount_minor))
                .where(T.withdrawal_id.is_(None), T.status.in_(UNSETTLED_STATUSES))
                .group_by(T.kind, T.status)
            )
            totals = {(kind, status): int(total or 0) for kind, status, total in sums}
        succeeded, pending = TransactionStatus.SUCCEEDED.value, TransactionStatus.PENDING.value
        refund = PaymentKind.REFUND.value
        payments = sum(totals.get((kind, succeeded), 0) for kind in PAYMENT_KINDS)
        return Balance(
            available=Money(payments - totals.get((refund, succeeded), 0), CURRENCY),
            pending=Money(
                sum(totals.get((kind, pending), 0) for kind in PAYMENT_KINDS)
                - totals.get((refund, pending), 0),
                CURRENCY,
            ),
            next_withdrawal_at=next_withdrawal_at(self._clock()),
        )

    async def events(self, cursor: str | None, limit: int = 100) -> EventBatch:
        after = 0
        if cursor is not None:
            try:
                after = int(cursor)
            except ValueError:
                raise ProcessorError(f"{cursor!r} is not a cursor this event feed gave.") from None
        limit = max(1, min(limit, MAX_EVENTS))
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(SandboxEvent)
                    .where(SandboxEvent.seq > after)
                    .order_by(SandboxEvent.seq)
                    .limit(limit)
                )
            ).all()
        if not rows:
            return EventBatch((), cursor)
        events = tuple(
            ProcessorEvent(row.id, EventType(row.type), row.object_id, row.created_at, row.data)
            for row in rows
        )
        return EventBatch(events, str(rows[-1].seq))

    webhook_secret: str | None = None  # set from PAYBOT_WEBHOOK_SECRET by the factory

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> tuple[ProcessorEvent, ...]:
        from bot.processors.sandbox.webhooks import decode

        return decode(body, headers, self.webhook_secret, self._clock())

    async def receive_webhook(
        self, body: bytes, headers: Mapping[str, str], sender: str | None
    ) -> tuple[ProcessorEvent, ...]:
        return self.parse_webhook(body, headers)  # the signature alone decides

    async def close(self) -> None:
        """Nothing to release: the engine belongs to whoever made the session factory."""


def to_withdrawal(row: SandboxWithdrawal, transaction_ids: Sequence[str]) -> Withdrawal:
    return Withdrawal(
        id=row.id,
        amount=money(row.amount_minor, row.currency),
        status=WithdrawalStatus(row.status),
        created_at=row.created_at,
        arrives_at=row.arrives_at,
        transaction_ids=tuple(transaction_ids),
    )


def next_withdrawal_at(now: datetime) -> datetime:
    """The sandbox pays out at the start of each business day."""
    return add_business_days(now, 1).replace(hour=0, minute=0, second=0, microsecond=0)


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

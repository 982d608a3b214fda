"""The sandbox processor as the bot sees it: the Gateway protocol over the ``sandbox_`` tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, tzinfo
from typing import Any, cast

from sqlalchemy import Select, func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import refusals
from bot.clock import Clock, utcnow
from bot.db.engine import SessionFactory, engine_of
from bot.db.hot import HotRead
from bot.documents import (
    DocumentFile,
    SentDocument,
)
from bot.domain import (
    Balance,
    DailyTotals,
    Dispute,
    DisputeStatus,
    EventBatch,
    EventType,
    HistorySort,
    Page,
    PaymentKind,
    PaymentReturn,
    ProcessorEvent,
    Refund,
    RefundStatus,
    Transaction,
    TransactionQuery,
    TransactionStatus,
    Withdrawal,
)
from bot.errors import ProcessorError
from bot.evidence import DisputeEvidence
from bot.processors.sandbox import documents as _documents
from bot.processors.sandbox import settlement
from bot.processors.sandbox.models import (
    SandboxDispute,
    SandboxEvent,
    SandboxReturn,
    SandboxTransaction,
    SandboxWithdrawal,
)
from bot.processors.sandbox.paging import (
    DISPUTE_ORDER,
    RETURN_ORDER,
    TRANSACTION_ORDERS,
    WITHDRAWAL_ORDER,
    PageWindow,
    fetch_page,
)
from bot.processors.sandbox.records import (
    ATTEMPTS,
    CURRENCY,
    OPEN_DISPUTES,
    append_events,
    make_id,
    move_dispute,
    new_rng,
    refund_event,
    refund_row,
    rowcount,
)
from bot.processors.sandbox.rows import (
    DISPUTES,
    LOOKUP,
    TRANSACTIONS,
    Columns,
    columns_of,
    group_related,
    load_transactions,
    money,
    page_with_related,
    to_dispute,
    to_refund,
    to_return,
    to_transaction,
    to_withdrawal,
)
from bot.processors.sandbox.search import search_conditions
from bot.processors.sandbox.totals import daily_totals

MAX_EVENTS = 1000
# A refund would pay the customer twice: the dispute already is (or may become) their refund.
REFUND_BLOCKING_DISPUTES = (*OPEN_DISPUTES, DisputeStatus.LOST.value, DisputeStatus.ACCEPTED.value)

T = SandboxTransaction
LOOKUP_READ = HotRead(LOOKUP)  # compiled once per dialect, one driver call a lookup


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
    document_limits = _documents.LIMITS

    def __init__(
        self, session_factory: SessionFactory, clock: Clock = utcnow, *, seed: int | None = None
    ) -> None:
        self._sessions = session_factory
        self._engine = engine_of(session_factory)
        self._clock = clock
        self._rng = new_rng(seed, "gateway")

    async def get_transaction(self, transaction_id: str) -> Transaction | None:
        """The payment, its refunds and its dispute in one statement compiled once, sent in one
        driver call, on SQLite in place (db/hot.py): every lookup comes here."""
        rows = await LOOKUP_READ.all(self._engine, {"transaction_id": transaction_id})
        found: Columns | None = None
        refunds: list[Refund] = []
        disputes: list[Dispute] = []
        for row in rows:
            txn = Columns(row, TRANSACTIONS)
            if txn.id != transaction_id:
                refunds.append(to_refund(cast(T, txn)))
                continue
            found = txn
            if row[DISPUTES.c.id] is not None:
                disputes.append(to_dispute(cast(SandboxDispute, Columns(row, DISPUTES))))
        if found is None:
            return None
        return to_transaction(cast(T, found), refunds, disputes)

    async def list_transactions(self, query: TransactionQuery) -> Page[Transaction]:
        stmt = select(T)
        if query.kind is not None:
            stmt = stmt.where(T.kind == PaymentKind(query.kind).value)
        if not (query.search or "").strip():
            return await self._page_at_once(stmt, query)
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

    async def _page_at_once(self, stmt: Select[Any], query: TransactionQuery) -> Page[Transaction]:
        """An unsearched page with its refunds and disputes in one statement on a plain
        connection: the history's every page comes here (a search merges several seeks)."""
        window = PageWindow(TRANSACTION_ORDERS[HistorySort(query.sort)], query.cursor, query.limit)
        page = window.query(stmt).subquery("page")
        joined = page_with_related(page, window.keyset.key.key, window.descending)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(joined)).all()
        payments, refunds, disputes = group_related(page, rows)
        shown, next_cursor, prev_cursor = window.page(payments)
        items = [
            to_transaction(cast(T, row), refunds.get(row.id, ()), disputes.get(row.id, ()))
            for row in shown
        ]
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

    async def upload_dispute_document(
        self, dispute_id: str, document: DocumentFile, *, idempotency_key: str
    ) -> str:
        return await _documents.upload(
            self._sessions, self._rng, self._clock(), dispute_id, document, idempotency_key
        )

    async def submit_dispute_evidence(
        self,
        dispute_id: str,
        evidence: DisputeEvidence,
        *,
        idempotency_key: str,
        documents: Sequence[SentDocument] = (),
    ) -> Dispute:
        if not evidence.summary.strip():
            raise ProcessorError("Evidence needs at least a summary.")
        sent = await _documents.check_sent(self._sessions, dispute_id, documents)
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
                    "evidence": dataclasses.asdict(evidence) | {"documents": sent},
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

    async def daily_totals(self, start: date, end: date, zone: tzinfo) -> list[DailyTotals]:
        async with self._sessions() as session:
            return await daily_totals(session, start, end, CURRENCY, zone)

    async def balance(self) -> Balance:
        async with self._sessions() as session:
            return await settlement.balance(session, self._clock())

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

    async def feed_end(self) -> str | None:
        """The newest event's sequence number: one indexed read, however long the feed."""
        async with self._engine.connect() as connection:
            newest = await connection.scalar(select(func.max(SandboxEvent.seq)))
        return None if newest is None else str(newest)

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

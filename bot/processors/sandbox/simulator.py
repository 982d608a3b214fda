"""The sandbox processor acting on its own: customers pay and dispute, banks return ACH payments,
settlement pays out. The CLI, the demo and tests drive it; the bot only ever sees the gateway."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import domain
from bot.clock import Clock, utcnow
from bot.db.engine import SessionFactory
from bot.errors import NotFound, ProcessorError
from bot.nacha import describe_return, normalize_return_code
from bot.processors.sandbox import documents, seeding, settlement
from bot.processors.sandbox.fees import NO_FEES, Fees
from bot.processors.sandbox.models import (
    SandboxDispute,
    SandboxReturn,
    SandboxTransaction,
)
from bot.processors.sandbox.records import (
    ATTEMPTS,
    CURRENCY,
    DEFAULT_NETWORK_CODE,
    DISPUTE_REASONS,
    OPEN_DISPUTES,
    REASON_ALIASES,
    RESPONSE_WINDOW,
    append_events,
    dispute_event,
    make_id,
    move_dispute,
    new_rng,
    payment_event,
    payment_row,
    return_event,
    rowcount,
)
from bot.processors.sandbox.rows import (
    columns_of,
    money,
    to_dispute,
    to_return,
    to_transaction,
)
from bot.processors.sandbox.search import remember_customer
from bot.processors.sandbox.settlement import SettleResult as SettleResult

T = SandboxTransaction


def dispute_reason(reason: str | None, network_code: str | None) -> tuple[str, str]:
    """(network code, reason text) from either, both or neither."""
    if network_code is not None:
        code = network_code.strip()
        if code not in DISPUTE_REASONS:
            known = ", ".join(DISPUTE_REASONS)
            raise ProcessorError(
                f"{network_code!r} is not a dispute code the sandbox knows ({known})."
            )
        return code, (reason or "").strip() or DISPUTE_REASONS[code]
    if reason is None or not reason.strip():
        return DEFAULT_NETWORK_CODE, DISPUTE_REASONS[DEFAULT_NETWORK_CODE]
    alias = reason.strip().casefold().replace(" ", "_").replace("-", "_")
    found = REASON_ALIASES.get(alias) or next(
        (
            code
            for code, text in DISPUTE_REASONS.items()
            if text.casefold() == reason.strip().casefold()
        ),
        None,
    )
    if found is None:
        raise ProcessorError(
            f"{reason!r} is not a dispute reason the sandbox knows; use one of "
            f"{', '.join(sorted(REASON_ALIASES))} or give a network code."
        )
    return found, DISPUTE_REASONS[found]


class SandboxSimulator:
    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Clock = utcnow,
        *,
        seed: int | None = None,
        fees: Fees = NO_FEES,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._rng = new_rng(seed, "simulator")
        self._fees = fees

    async def charge(
        self,
        amount: domain.Money,
        method: domain.MethodType,
        kind: domain.PaymentKind,
        matter_id: str,
        account: domain.Account,
        brand: str | None,
        last4: str,
        customer_name: str,
        items: Sequence[domain.LineItem] | None = None,
        captured: bool = True,
        *,
        description: str | None = None,
        declined: bool = False,
    ) -> domain.Transaction:
        """A customer pays through the portal. ``declined`` makes the issuer say no (status
        failed); an authorization with ``captured=False`` stays ``authorized``."""
        method, kind, account = (
            domain.MethodType(method),
            domain.PaymentKind(kind),
            domain.Account(account),
        )
        if amount.currency.upper() != CURRENCY:
            raise ProcessorError(
                f"The sandbox account takes {CURRENCY} only, not {amount.currency}."
            )
        if amount.minor <= 0:
            raise ProcessorError("A payment must be for more than zero.")
        if kind is domain.PaymentKind.REFUND:
            raise ProcessorError("A refund is not charged; refund the payment instead.")
        if kind is domain.PaymentKind.SALE and not captured:
            raise ProcessorError(
                "A sale is captured when it is made; use an authorization to hold funds."
            )
        if not (len(last4) == 4 and last4.isdigit()):
            raise ProcessorError(
                "last4 must be exactly four digits; the full number never comes here."
            )
        lines = (
            list(items)
            if items
            else [domain.LineItem(description or f"Payment on {matter_id}", amount)]
        )
        total = sum(line.amount.minor for line in lines)
        if any(line.amount.currency.upper() != CURRENCY for line in lines) or total != amount.minor:
            raise ProcessorError(
                f"The payment items add up to {domain.Money(total, CURRENCY)}, not the payment's {amount}."
            )
        if declined:
            status = domain.TransactionStatus.FAILED
        elif not captured:
            status = domain.TransactionStatus.AUTHORIZED
        else:
            status = domain.TransactionStatus.SUCCEEDED
        row = payment_row(
            make_id(self._rng, "txn"),
            kind=kind,
            status=status,
            amount_minor=amount.minor,
            method=method,
            brand=(brand or "visa").lower() if method is domain.MethodType.CARD else brand,
            last4=last4,
            account=account,
            matter_id=matter_id,
            customer_name=customer_name,
            description=description or f"Payment on {matter_id}",
            items=[
                {"description": line.description, "amount_minor": line.amount.minor}
                for line in lines
            ],
            created_at=self._clock(),
        )
        if status is domain.TransactionStatus.SUCCEEDED:
            row["fee_minor"] = self._fees.payment_fee(amount.minor)
        async with self._sessions() as session:
            await session.execute(insert(T).values(row))
            await remember_customer(session, customer_name)
            await append_events(session, self._rng, [payment_event(row)])
            await session.commit()
        return to_transaction(T(**row))

    async def dispute(
        self, transaction_id: str, reason: str | None = None, network_code: str | None = None
    ) -> domain.Dispute:
        """The cardholder disputes a card payment with their bank."""
        code, reason_text = dispute_reason(reason, network_code)
        now = self._clock()
        async with self._sessions() as session:
            payment = await _payment(session, transaction_id)
            if payment.method != domain.MethodType.CARD.value:
                raise ProcessorError(
                    f"{payment.id} is an ACH payment: banks return those (see return_payment), "
                    "card networks dispute card payments."
                )
            if payment.status != domain.TransactionStatus.SUCCEEDED.value:
                raise ProcessorError(
                    f"{payment.id} is {payment.status}; only a settled card payment can be disputed."
                )
            row = {
                "id": make_id(self._rng, "dp"),
                "transaction_id": payment.id,
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "status": domain.DisputeStatus.NEEDS_RESPONSE.value,
                "reason": reason_text,
                "network_reason_code": code,
                "respond_by": now + RESPONSE_WINDOW,
                "matter_id": payment.matter_id,
                "evidence": None,
                "evidence_key": None,
                "evidence_submitted_at": None,
                "accept_key": None,
                "closed_at": None,
                "fee_minor": self._fees.dispute_fee(),
                "fee_withdrawal_id": None,
                "created_at": now,
            }
            try:
                await session.execute(insert(SandboxDispute).values(row))
                await append_events(
                    session, self._rng, [dispute_event(domain.EventType.DISPUTE_CREATED, row, now)]
                )
                await session.commit()
            except IntegrityError:
                await session.rollback()  # expires payment: use the id kept in the row
                raise ProcessorError(
                    f"{row['transaction_id']} has already been disputed."
                ) from None
        return to_dispute(SandboxDispute(**row))

    async def resolve_dispute(self, dispute_id: str, won: bool) -> domain.Dispute:
        """The network decides: won gives the money back to the firm, lost leaves it with the customer."""
        outcome = domain.DisputeStatus.WON if won else domain.DisputeStatus.LOST
        open_statuses = [domain.DisputeStatus(status) for status in OPEN_DISPUTES]
        for _ in range(ATTEMPTS):
            async with self._sessions() as session:
                row = await session.get(SandboxDispute, dispute_id)
                if row is None:
                    raise ProcessorError(f"There is no dispute {dispute_id}.")
                if row.status not in OPEN_DISPUTES:
                    raise ProcessorError(f"{row.id} is already closed ({row.status}).")
                now = self._clock()
                changes = {"status": outcome.value, "closed_at": now}
                moved = await move_dispute(session, self._rng, now, row, open_statuses, changes)
                if moved is not None:
                    return moved
        raise ProcessorError("The sandbox is busy; try again.", retryable=True)

    async def return_payment(self, transaction_id: str, code: str = "R01") -> domain.PaymentReturn:
        """The customer's bank sends an ACH payment back with a NACHA return code."""
        canonical = normalize_return_code(code)
        if canonical is None:
            raise ProcessorError(f"{code!r} is not a NACHA return code.")
        for _ in range(ATTEMPTS):
            async with self._sessions() as session:
                payment = await _payment(session, transaction_id)
                if payment.method != domain.MethodType.ACH.value:
                    raise ProcessorError(
                        f"{payment.id} is a card payment: only ACH payments are returned by a bank "
                        "(a cardholder disputes instead)."
                    )
                if payment.status == domain.TransactionStatus.RETURNED.value:
                    raise ProcessorError(
                        f"{payment.id} was already returned ({payment.return_code})."
                    )
                if payment.status != domain.TransactionStatus.SUCCEEDED.value:
                    raise ProcessorError(
                        f"{payment.id} is {payment.status}; only a settled ACH payment can be returned."
                    )
                now = self._clock()
                returned = await session.execute(
                    sql_update(T)
                    .where(T.id == payment.id, T.status == domain.TransactionStatus.SUCCEEDED.value)
                    .values(status=domain.TransactionStatus.RETURNED.value, return_code=canonical)
                    .execution_options(synchronize_session=False)
                )
                if rowcount(returned) != 1:
                    await session.rollback()
                    continue
                row = {
                    "id": make_id(self._rng, "rt"),
                    "transaction_id": payment.id,
                    "code": canonical,
                    "amount_minor": payment.amount_minor,
                    "currency": payment.currency,
                    "matter_id": payment.matter_id,
                    "created_at": now,
                }
                await session.execute(insert(SandboxReturn).values(row))
                await append_events(session, self._rng, [return_event(row)])
                await session.commit()
                return to_return(SandboxReturn(**row))
        raise ProcessorError("The sandbox is busy; try again.", retryable=True)

    async def settle(self) -> SettleResult:
        """The day's settlement (settlement.py): refunds settle, each account is paid out."""
        return await settlement.settle(self._sessions, self._rng, self._clock())

    async def show(self, transaction_id: str) -> dict[str, Any]:
        """The processor's own record of a transaction, as JSON: what support would see."""
        async with self._sessions() as session:
            row = await session.get(T, transaction_id)
            if row is None:
                raise NotFound(f"There is no transaction {transaction_id} in the sandbox.")
            refunds = (
                await session.scalars(
                    select(T)
                    .where(T.original_id == row.id, T.kind == domain.PaymentKind.REFUND.value)
                    .order_by(T.created_at, T.id)
                )
            ).all()
            disputes = (
                await session.scalars(
                    select(SandboxDispute)
                    .where(SandboxDispute.transaction_id == row.id)
                    .order_by(SandboxDispute.created_at)
                )
            ).all()
            returns = (
                await session.scalars(
                    select(SandboxReturn).where(SandboxReturn.transaction_id == row.id)
                )
            ).all()
        record = _record(row)
        record["refunds"] = [_record(refund) for refund in refunds]
        record["disputes"] = [
            _jsonable(columns_of(dispute))
            | {"documents": await documents.listed(self._sessions, dispute.id)}
            for dispute in disputes
        ]
        record["returns"] = [
            _jsonable(columns_of(rt)) | {"description": describe_return(rt.code)} for rt in returns
        ]
        return record

    async def seed(self, transactions: int, seed: int = 7) -> int:
        """Write ``transactions`` rows (payments and their refunds) spread over the 90 days before
        the clock's now, with disputes, ACH returns, withdrawals and the events of them all.

        The same seed and clock give the same data. Bulk inserts in batches: a hundred thousand
        rows take seconds, not minutes.
        """
        return await seeding.seed(self._sessions, self._clock(), transactions, seed)


async def _payment(session: AsyncSession, transaction_id: str) -> SandboxTransaction:
    row = await session.get(T, transaction_id)
    if row is None:
        raise ProcessorError(f"There is no transaction {transaction_id}.")
    if row.kind == domain.PaymentKind.REFUND.value:
        raise ProcessorError(f"{row.id} is a refund, not a payment.")
    return row


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in values.items()
    }


def _record(row: SandboxTransaction) -> dict[str, Any]:
    values = columns_of(row)
    values.pop("matter_key")
    values.pop("customer_key")
    values["metadata"] = values.pop("request_metadata")
    values["amount"] = str(money(row.amount_minor, row.currency))
    return _jsonable(values)

"""The sandbox's daily settlement: pending refunds settle, then one withdrawal per account pays
out what has settled there. Trust and operating are never paid out together, and every fee (per
payment, per dispute) is taken from operating, never from trust."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import add_business_days
from bot.db.engine import SessionFactory
from bot.domain import (
    Account,
    AccountBalance,
    Balance,
    Money,
    PaymentKind,
    Refund,
    RefundStatus,
    TransactionStatus,
    Withdrawal,
    WithdrawalStatus,
)
from bot.processors.sandbox.models import SandboxDispute, SandboxTransaction, SandboxWithdrawal
from bot.processors.sandbox.records import (
    CURRENCY,
    PAYMENT_KINDS,
    append_events,
    make_id,
    refund_event,
    withdrawal_event,
)
from bot.processors.sandbox.rows import columns_of, to_refund, to_withdrawal

T = SandboxTransaction
# A payment's fee is taken once it has settled, whatever became of it since (a return).
SETTLED_PAYMENTS = (TransactionStatus.SUCCEEDED.value, TransactionStatus.RETURNED.value)
UNSETTLED_STATUSES = (TransactionStatus.SUCCEEDED.value, TransactionStatus.PENDING.value)


@dataclass(frozen=True)
class SettleResult:
    refunds: tuple[Refund, ...]  # the refunds this settlement moved from pending to succeeded
    # One per account with something to pay out, trust first; an account left with nothing (or
    # only a net debit) has none.
    withdrawals: tuple[Withdrawal, ...] = ()

    @property
    def withdrawal(self) -> Withdrawal | None:
        """The only withdrawal, or the operating one when both accounts were paid out."""
        operating = [w for w in self.withdrawals if w.account is Account.OPERATING]
        found = operating or list(self.withdrawals)
        return found[0] if found else None

    def of(self, account: Account) -> Withdrawal | None:
        return next((w for w in self.withdrawals if w.account is account), None)


async def settle(sessions: SessionFactory, rng: random.Random, now: datetime) -> SettleResult:
    """The day's settlement: every pending refund settles, then one withdrawal per account
    pays out what has settled there and not been paid out yet. Trust's holds its payments
    only; operating's holds its payments, every refund (a refund comes out of operating,
    even for a trust payment) and every fee not taken yet (fees are operating's)."""
    async with sessions() as session:
        settled = (
            (
                await session.execute(
                    sql_update(T)
                    .where(
                        T.kind == PaymentKind.REFUND.value,
                        T.status == RefundStatus.PENDING.value,
                    )
                    .values(status=RefundStatus.SUCCEEDED.value, settled_at=now)
                    .returning(T)
                    .execution_options(synchronize_session=False)
                )
            )
            .scalars()
            .all()
        )
        refunds = sorted((to_refund(row) for row in settled), key=lambda r: (r.created_at, r.id))
        events = [refund_event(columns_of(row), now) for row in settled]
        withdrawals = []
        for account in (Account.TRUST, Account.OPERATING):
            withdrawal = await _withdraw(session, rng, now, account)
            if withdrawal is not None:
                withdrawals.append(withdrawal)
                events.append(
                    withdrawal_event(_withdrawal_row(withdrawal), len(withdrawal.transaction_ids))
                )
        await append_events(session, rng, events)
        await session.commit()
    return SettleResult(tuple(refunds), tuple(withdrawals))


async def _withdraw(
    session: AsyncSession, rng: random.Random, now: datetime, account: Account
) -> Withdrawal | None:
    withdrawal_id = make_id(rng, "wd")
    payments = T.kind.in_(PAYMENT_KINDS)
    if account is Account.TRUST:
        belongs = payments & (T.account == Account.TRUST.value)
    else:
        belongs = (T.kind == PaymentKind.REFUND.value) | (
            payments & (T.account == Account.OPERATING.value)
        )
    included = (
        await session.execute(
            sql_update(T)
            .where(
                T.withdrawal_id.is_(None),
                T.status == TransactionStatus.SUCCEEDED.value,
                belongs,
            )
            .values(withdrawal_id=withdrawal_id)
            .returning(T.id, T.kind, T.amount_minor, T.created_at)
            .execution_options(synchronize_session=False)
        )
    ).all()
    fees = 0
    if account is Account.OPERATING:
        fees = await _take_fees(session, withdrawal_id)
    net = sum(amount if kind in PAYMENT_KINDS else -amount for _, kind, amount, _ in included)
    net -= fees
    if not included or net <= 0:
        if included or fees:  # a net debit waits for payments to cover it
            await _give_back(session, withdrawal_id)
        return None
    row = {
        "id": withdrawal_id,
        "account": account.value,
        "amount_minor": net,
        "fees_minor": fees,
        "currency": CURRENCY,
        "status": WithdrawalStatus.PAID.value,
        "arrives_at": add_business_days(now, 1),
        "created_at": now,
    }
    await session.execute(insert(SandboxWithdrawal).values(row))
    ordered = sorted(included, key=lambda member: (member.created_at, member.id))
    return to_withdrawal(SandboxWithdrawal(**row), [member.id for member in ordered])


async def _take_fees(session: AsyncSession, withdrawal_id: str) -> int:
    """Claim every fee not taken yet (of settled payments of either account, and of
    disputes) for this operating withdrawal; their sum."""
    charged = (
        await session.execute(
            sql_update(T)
            .where(
                T.fee_minor.is_not(None),
                T.fee_withdrawal_id.is_(None),
                T.status.in_(SETTLED_PAYMENTS),
            )
            .values(fee_withdrawal_id=withdrawal_id)
            .returning(T.fee_minor)
            .execution_options(synchronize_session=False)
        )
    ).all()
    disputed = (
        await session.execute(
            sql_update(SandboxDispute)
            .where(
                SandboxDispute.fee_minor.is_not(None),
                SandboxDispute.fee_withdrawal_id.is_(None),
            )
            .values(fee_withdrawal_id=withdrawal_id)
            .returning(SandboxDispute.fee_minor)
            .execution_options(synchronize_session=False)
        )
    ).all()
    return sum(int(fee or 0) for (fee,) in (*charged, *disputed))


async def _give_back(session: AsyncSession, withdrawal_id: str) -> None:
    """Undo a withdrawal not made: its payments and fees wait for the next settlement."""
    for table, column in (
        (T, T.withdrawal_id),
        (T, T.fee_withdrawal_id),
        (SandboxDispute, SandboxDispute.fee_withdrawal_id),
    ):
        await session.execute(
            sql_update(table)
            .where(column == withdrawal_id)
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )


def _withdrawal_row(withdrawal: Withdrawal) -> dict[str, Any]:
    return {
        "id": withdrawal.id,
        "account": withdrawal.account.value if withdrawal.account else None,
        "fees_minor": withdrawal.fees.minor if withdrawal.fees else 0,
        "status": withdrawal.status.value,
        "amount_minor": withdrawal.amount.minor,
        "currency": withdrawal.amount.currency,
        "arrives_at": withdrawal.arrives_at,
        "created_at": withdrawal.created_at,
    }


async def balance(session: AsyncSession, now: datetime) -> Balance:
    """Per account, ``available``: what has settled and not been withdrawn, net of settled
    refunds and fees not yet taken (both operating's); ``pending``: what has moved but not
    settled, signed (a pending refund is negative). Their sum is what the account's next
    withdrawal pays; the totals are both accounts'."""
    sums = await session.execute(
        select(T.kind, T.status, T.account, func.sum(T.amount_minor))
        .where(T.withdrawal_id.is_(None), T.status.in_(UNSETTLED_STATUSES))
        .group_by(T.kind, T.status, T.account)
    )
    totals: dict[tuple[str, str], int] = {}
    for kind, status, account, total in sums:
        # A refund comes out of operating, even for a trust payment.
        side = Account.OPERATING.value if kind == PaymentKind.REFUND.value else account
        sign = -1 if kind == PaymentKind.REFUND.value else 1
        if kind in PAYMENT_KINDS or kind == PaymentKind.REFUND.value:
            key = (side, status)
            totals[key] = totals.get(key, 0) + sign * int(total or 0)
    payment_fees = await session.scalar(
        select(func.sum(T.fee_minor)).where(
            T.fee_minor.is_not(None),
            T.fee_withdrawal_id.is_(None),
            T.status.in_(SETTLED_PAYMENTS),
        )
    )
    dispute_fees = await session.scalar(
        select(func.sum(SandboxDispute.fee_minor)).where(
            SandboxDispute.fee_minor.is_not(None),
            SandboxDispute.fee_withdrawal_id.is_(None),
        )
    )
    fees = int(payment_fees or 0) + int(dispute_fees or 0)
    succeeded, pending = TransactionStatus.SUCCEEDED.value, TransactionStatus.PENDING.value
    accounts = tuple(
        AccountBalance(
            account=account,
            available=Money(
                totals.get((account.value, succeeded), 0)
                - (fees if account is Account.OPERATING else 0),
                CURRENCY,
            ),
            pending=Money(totals.get((account.value, pending), 0), CURRENCY),
            fees=Money(fees, CURRENCY) if account is Account.OPERATING and fees else None,
        )
        for account in (Account.OPERATING, Account.TRUST)
    )
    return Balance(
        available=Money(sum(a.available.minor for a in accounts), CURRENCY),
        pending=Money(sum(a.pending.minor for a in accounts), CURRENCY),
        next_withdrawal_at=next_withdrawal_at(now),
        accounts=accounts,
    )


def next_withdrawal_at(now: datetime) -> datetime:
    """The sandbox pays out at the start of each business day."""
    return add_business_days(now, 1).replace(hour=0, minute=0, second=0, microsecond=0)

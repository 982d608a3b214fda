"""The daily settlement digest: at PAYBOT_DAILY_DIGEST_AT on each business day of the firm's
calendar, the previous business day's figures per account, owed once to the notify channel.

Once a day across processes and restarts: a row of ``daily_digests`` keyed by the day is the
claim (its primary key refuses a second), and the outbox row is added in the same transaction,
so the process whose insert made the row owes the message and no other does. Checked on every
round of the worker, so a process started after the time posts that day's digest at once when
no other did (caught up once: only the day it starts on, never a backlog of days).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from bot.bookkeeping import ChecklistInfo
from bot.clock import UTC_CLOCK, FirmClock, day_start, is_business_day, subtract_business_days
from bot.db.dml import insert_or_ignore
from bot.db.engine import SessionFactory
from bot.db.models import DailyDigestRow
from bot.digests import AccountDay, DailyDigest, Figure, OpenItem, WithdrawalLine
from bot.domain import (
    Account,
    HistorySort,
    Page,
    PaymentKind,
    Transaction,
    TransactionQuery,
    TransactionStatus,
    Withdrawal,
)
from bot.ids import NoticeKind
from bot.processors.gateway import Gateway
from bot.services.checklists import Checklists
from bot.services.jobs import worker_name
from bot.services.owed import owe

T = TypeVar("T")
PAGE = 100
RETRY_AFTER = timedelta(minutes=1)
MAX_PAGES = 200  # 20,000 items of one kind looked through for one day: far past any firm's day
SALE_KINDS = (PaymentKind.SALE, PaymentKind.AUTHORIZATION)
SOLD = (TransactionStatus.SUCCEEDED, TransactionStatus.PENDING, TransactionStatus.RETURNED)


def business_day_before(today: date) -> date:
    return subtract_business_days(datetime.combine(today, time(), UTC), 1).date()


def withdrawal_account(withdrawal: Withdrawal) -> Account | None:
    """The account a withdrawal paid out of, when the processor says (None: it does not, and the
    digest lists the withdrawal apart rather than under either account)."""
    return withdrawal.account


def open_item(checklist: ChecklistInfo) -> OpenItem:
    """A line of the digest's "Still open": what is owed, and where its thread is."""
    done = sum(1 for step in checklist.steps if step.done)
    what = (
        f"Trust debit to cover: {checklist.kind.noun} of {checklist.amount}"
        if checklist.kind.trust_debit
        else f"Bookkeeping after a refund of {checklist.amount}"
    )
    return OpenItem(
        f"{what} on {checklist.transaction_id} ({done} of {len(checklist.steps)} done)",
        channel=checklist.channel,
        ts=checklist.message_ts or checklist.thread_ts,
    )


def refund_account(refund: Transaction) -> Account:
    """A refund is always paid out of operating, even for a trust payment (the portal's rule:
    trust money is never used to refund)."""
    return Account.OPERATING


class Digests:
    def __init__(
        self,
        sessions: SessionFactory,
        gateway: Gateway,
        firm: FirmClock = UTC_CLOCK,
        at: time | None = None,
        channel: str | None = None,
        checklists: Checklists | None = None,
    ) -> None:
        self._checklists = checklists
        self._sessions = sessions
        self._gateway = gateway
        self._firm = firm
        self._at = at
        self._channel = channel
        self._settled: date | None = None  # the day this process knows is claimed already
        self._not_before: datetime | None = None  # after a failure, not asked every round
        self._owner = worker_name()

    def due(self, now: datetime) -> date | None:
        """The firm's day whose digest is due at ``now`` (a business day, past the time)."""
        if self._at is None or not self._channel:
            return None
        local = now.astimezone(self._firm.zone)
        today = local.date()
        if today == self._settled or not is_business_day(today):
            return None
        return today if local.time().replace(tzinfo=None) >= self._at else None

    async def post_due(self) -> bool:
        """Owe today's digest if it is due and nobody claimed it; True when this call did."""
        now = self._firm.now()
        today = self.due(now)
        if today is None or (self._not_before is not None and now < self._not_before):
            return False
        async with self._sessions() as session:
            if await session.get(DailyDigestRow, today) is not None:
                self._settled = today
                return False
        try:
            digest = await self.build(today)
        except Exception:
            self._not_before = now + RETRY_AFTER
            raise  # the worker logs it and counts the failure
        self._not_before = None
        async with self._sessions.begin() as session:
            claimed = await insert_or_ignore(
                session,
                DailyDigestRow,
                {"day": today, "reports": digest.day, "claimed_by": self._owner, "created_at": now},
                ["day"],
            )
            if claimed:
                day = today.isoformat()
                payload = digest.to_payload()
                await owe(session, NoticeKind.DAILY_DIGEST, str(self._channel), day, now, **payload)
        self._settled = today
        return claimed

    async def build(self, today: date) -> DailyDigest:
        """The business day before ``today``, with the days after it that are not business days
        (a Monday's digest is Friday's and the weekend's): nothing falls between two digests."""
        day = business_day_before(today)
        start, end = day_start(day, self._firm.zone), day_start(today, self._firm.zone)
        accounts = {account: _Tally() for account in Account}
        currency: str | None = None
        for txn in await self._transactions(start, end, None):
            currency = currency or txn.amount.currency
            if txn.kind in SALE_KINDS and txn.status in SOLD:
                accounts[txn.account].sales = accounts[txn.account].sales.plus(txn.amount.minor)
        # Refunds on their own: not every processor lists them among all payments (Stripe).
        for txn in await self._transactions(start, end, PaymentKind.REFUND):
            currency = currency or txn.amount.currency
            if txn.kind is PaymentKind.REFUND and txn.status is not TransactionStatus.FAILED:
                tally = accounts[refund_account(txn)]
                tally.refunds = tally.refunds.plus(txn.amount.minor)
        payment_accounts: dict[str, Account] = {}
        for dispute in await self._within(self._gateway.list_disputes, start, end):
            tally = accounts[await self._account_of(dispute.transaction_id, payment_accounts)]
            tally.disputes = tally.disputes.plus(dispute.amount.minor)
        for payment_return in await self._within(self._gateway.list_returns, start, end):
            account = await self._account_of(payment_return.transaction_id, payment_accounts)
            accounts[account].returns = accounts[account].returns.plus(payment_return.amount.minor)
        unassigned: list[WithdrawalLine] = []
        for withdrawal in reversed(await self._within(self._gateway.list_withdrawals, start, end)):
            line = WithdrawalLine(withdrawal.id, withdrawal.amount, withdrawal.status.value)
            owner = withdrawal_account(withdrawal)
            (accounts[owner].withdrawals if owner else unassigned).append(line)
            if withdrawal.fees is not None:  # fees are operating's, never trust's
                tally = accounts[Account.OPERATING]
                tally.fees = (tally.fees or Figure()).plus(withdrawal.fees.minor)
        return DailyDigest(
            day=day,
            through=today - timedelta(days=1),
            zone=str(self._firm.zone),
            currency=currency or "USD",
            accounts=tuple(tally.done(account) for account, tally in accounts.items()),
            unassigned_withdrawals=tuple(unassigned),
            open_items=tuple(await self.open_items()),
        )

    async def open_items(self) -> list[OpenItem]:
        """Trust debits not yet covered first, then open bookkeeping checklists, each with
        where its thread is (the worker turns that into a link when it posts)."""
        if self._checklists is None:
            return []
        work = await self._checklists.open_work()
        return [open_item(c) for c in (*work.uncovered_trust_debits, *work.bookkeeping)]

    async def _account_of(self, transaction_id: str, known: dict[str, Account]) -> Account:
        """The account a payment was made into: a chargeback or return on a trust payment is
        taken from trust."""
        if transaction_id not in known:
            txn = await self._gateway.get_transaction(transaction_id)
            known[transaction_id] = txn.account if txn else Account.OPERATING
        return known[transaction_id]

    async def _transactions(
        self, start: datetime, end: datetime, kind: PaymentKind | None
    ) -> list[Transaction]:
        """Transactions (of ``kind``) made in [start, end), read newest first until older ones."""
        found: list[Transaction] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self._gateway.list_transactions(
                TransactionQuery(kind=kind, sort=HistorySort.NEWEST, limit=PAGE, cursor=cursor)
            )
            for txn in page.items:
                if txn.created_at < start:
                    return found
                if txn.created_at < end:
                    found.append(txn)
            cursor = page.next_cursor
            if not cursor:
                break
        return found

    @staticmethod
    async def _within(
        listing: Callable[..., Awaitable[Page[T]]], start: datetime, end: datetime
    ) -> list[T]:
        """Items of a listing created in [start, end), paged until a page has only older ones
        (the processors list newest first)."""
        found: list[T] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await listing(limit=PAGE, cursor=cursor)
            made = [getattr(item, "created_at") for item in page.items]  # noqa: B009
            found += [i for i, at in zip(page.items, made, strict=True) if start <= at < end]
            cursor = page.next_cursor
            if not cursor or (made and max(made) < start):
                break
        return found


class _Tally:
    def __init__(self) -> None:
        self.sales = Figure()
        self.refunds = Figure()
        self.disputes = Figure()
        self.returns = Figure()
        self.fees: Figure | None = None
        self.withdrawals: list[WithdrawalLine] = []

    def done(self, account: Account) -> AccountDay:
        return AccountDay(
            account,
            self.sales,
            self.refunds,
            self.disputes,
            self.returns,
            self.fees,
            tuple(self.withdrawals),
        )

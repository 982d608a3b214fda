"""The dashboard on App Home: volume, refunds in progress, disputes, returns and withdrawals.

What a panel holds depends on the viewer's role (the roles table decides): a viewer sees no refund
work, and only those who may decide refunds are shown where to approve them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import UTC_CLOCK, FirmClock, local_day
from bot.db.engine import SessionFactory
from bot.db.models import RefundRequest
from bot.domain import (
    DailyTotals,
    Money,
    PortalAccount,
    RefundRequestInfo,
    RefundState,
    Withdrawal,
)
from bot.overview import Dashboard, RefundWork, Volume
from bot.processors.gateway import Gateway
from bot.roles import Action
from bot.services.access import may
from bot.services.checklists import Checklists
from bot.services.listings import Listings
from bot.services.refunds import expected_by, info

PANEL_ROWS = 3
REFUND_ROWS = 5
CHECKLIST_ROWS = 5
AWAITING = (RefundState.REQUESTED, RefundState.AWAITING_SECOND)
AT_PROCESSOR = (RefundState.APPROVED, RefundState.SUBMITTING, RefundState.PENDING)
# Who sees a panel: the action its button leads to.
REFUNDS_PANEL = Action.REQUEST_REFUND
CHECKLISTS_PANEL = Action.TICK_CHECKLIST  # those who may tick them: staff and managers


def volume(days: list[DailyTotals], today: date, currency: str) -> Volume:
    """Payments today, since Monday and since the first of the month (days of the firm's clock)."""

    def since(start: date) -> list[DailyTotals]:
        return [d for d in days if start <= d.day <= today]

    periods = (
        since(today),
        since(today - timedelta(days=today.weekday())),
        since(today.replace(day=1)),
    )
    amounts = [Money(sum(d.payments_minor for d in period), currency) for period in periods]
    counts = [sum(d.payments for d in period) for period in periods]
    return Volume(
        today=amounts[0],
        week=amounts[1],
        month=amounts[2],
        today_count=counts[0],
        week_count=counts[1],
        month_count=counts[2],
    )


@dataclass(frozen=True)
class Home:
    """What the dashboard reads: the processor's figures, the refund work and the checklists
    kept here, in the firm's days (built positionally by services/container.py)."""

    _sessions: SessionFactory
    _gateway: Gateway
    _listings: Listings
    _checklists: Checklists
    _firm: FirmClock = UTC_CLOCK

    async def dashboard(self, actor: PortalAccount) -> Dashboard:
        now = self._firm.now()
        today = local_day(now, self._firm.zone)
        start = min(today.replace(day=1), today - timedelta(days=today.weekday()))
        days, disputes, returns, balance, withdrawals = await asyncio.gather(
            self._gateway.daily_totals(start, today + timedelta(days=1), self._firm.zone),
            self._listings.disputes(open_only=True, limit=PANEL_ROWS),
            self._listings.returns(limit=PANEL_ROWS),
            self._gateway.balance(),
            self._gateway.list_withdrawals(limit=4),  # enough for the latest of each account
        )
        refunds = await self.refund_work(actor) if may(actor, REFUNDS_PANEL) else None
        checklists, more = None, 0
        if may(actor, CHECKLISTS_PANEL):
            # The oldest few and how many there are: the board shows no more than that.
            work, counted = await asyncio.gather(
                self._checklists.open_work(limit=CHECKLIST_ROWS), self._checklists.open_count()
            )
            checklists = work.checklists
            more = max(0, counted - len(checklists))
        latest: dict[object, Withdrawal] = {}
        for withdrawal in withdrawals.items:
            if withdrawal.account is not None:
                latest.setdefault(withdrawal.account, withdrawal)
        return Dashboard(
            actor=actor,
            as_of=now.astimezone(self._firm.zone),  # on the firm's clock, as the board's days
            volume=volume(days, today, balance.available.currency),
            refunds=refunds,
            disputes=disputes.lines.items,
            more_disputes=disputes.lines.next_cursor is not None,
            returns=returns.items,
            balance=balance,
            latest_withdrawal=withdrawals.items[0] if withdrawals.items else None,
            can_report=may(actor, Action.REPORT),
            checklists=checklists,
            more_checklists=more,
            latest_withdrawals=tuple(latest.values()),
            overdue_refunds=await self.overdue_refunds(today) if refunds is not None else (),
        )

    async def overdue_refunds(self, today: date) -> tuple[RefundRequestInfo, ...]:
        """Refunds still pending at the processor after the bank day they were expected by."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(RefundRequest)
                    .where(RefundRequest.state == RefundState.PENDING.value)
                    .order_by(RefundRequest.created_at, RefundRequest.id)
                )
            ).all()
        late = []
        for row in rows:
            due = expected_by(row.created_at, self._firm.zone)
            if today > due:
                late.append(replace(info(row), expected_by=due))
        return tuple(late[:REFUND_ROWS])

    async def refund_work(self, actor: PortalAccount, rows: int = REFUND_ROWS) -> RefundWork:
        """Requests waiting for a manager and refunds at the processor, oldest first."""
        live = [state.value for state in (*AWAITING, *AT_PROCESSOR)]
        async with self._sessions() as session:
            counted = await session.execute(
                select(RefundRequest.state, func.count())
                .where(RefundRequest.state.in_(live))
                .group_by(RefundRequest.state)
            )
            counts: dict[str, int] = {state: int(count) for state, count in counted.all()}
            awaiting = await _oldest(session, AWAITING, rows)
            at_processor = await _oldest(session, AT_PROCESSOR, rows)
        return RefundWork(
            awaiting_approval=awaiting,
            awaiting_count=sum(counts.get(state.value, 0) for state in AWAITING),
            at_processor=at_processor,
            at_processor_count=sum(counts.get(state.value, 0) for state in AT_PROCESSOR),
            can_decide=may(actor, Action.DECIDE_REFUND),
        )


async def _oldest(
    session: AsyncSession, states: tuple[RefundState, ...], rows: int
) -> tuple[RefundRequestInfo, ...]:
    found = await session.scalars(
        select(RefundRequest)
        .where(RefundRequest.state.in_([state.value for state in states]))
        .order_by(RefundRequest.created_at, RefundRequest.id)
        .limit(rows)
    )
    return tuple(info(row) for row in found)

"""Bookkeeping people tick in a thread: after a refund (reverse the invoice payment; for a trust
payment also the Actionstep steps and the bank transfer) and to cover a debit on trust (a
chargeback or an ACH return on a trust payment, which the firm must cover from operating the
same business day).

Each tick and untick is a compare-and-set on its step, audited in the same transaction, and the
message is rendered again through the outbox. A checklist with every step done is closed. One
still open a set number of business days after it was opened is reminded once in its thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bookkeeping import ChecklistInfo, ChecklistKind, ChecklistStepInfo
from bot.clock import UTC_CLOCK, FirmClock, add_business_days, is_business_day, local_day
from bot.db.dml import insert_or_ignore
from bot.db.engine import SessionFactory
from bot.db.models import Checklist, ChecklistStep
from bot.domain import (
    Account,
    Money,
    PortalAccount,
    RefundRequestInfo,
    Source,
)
from bot.errors import PaybotError
from bot.ids import NoticeKind
from bot.pan import random_id
from bot.roles import Action, Role
from bot.services.access import RoleDenied, may
from bot.services.audit import AuditLog, AuditRecord, Outcome
from bot.services.owed import owe

# The steps of each checklist, in order; their wording is blocks/checklists.py's.
REFUND_STEPS = ("reverse_invoice",)
TRUST_REFUND_STEPS = ("reverse_invoice", "trust_payment", "firm_deposit", "bank_transfer")
TRUST_DEBIT_STEPS = ("cover_transfer", "cover_deposit", "reconcile")


class StaleChecklist(PaybotError):
    """A click on a checklist that is gone, closed, or an old copy of it."""


@dataclass(frozen=True)
class Tick:
    """What one click changed, as the person saw it: the steps they ticked and unticked (the
    checkboxes' selection against what their copy of the message showed)."""

    checklist_id: str
    ticked: frozenset[str]
    unticked: frozenset[str]
    message_ts: str | None = None


@dataclass(frozen=True)
class OpenWork:
    """What is left to do, for the dashboard and the daily digest: every open checklist
    (oldest first), and among them the debits on trust not yet covered."""

    checklists: tuple[ChecklistInfo, ...]

    @property
    def uncovered_trust_debits(self) -> tuple[ChecklistInfo, ...]:
        return tuple(c for c in self.checklists if c.kind.trust_debit)

    @property
    def bookkeeping(self) -> tuple[ChecklistInfo, ...]:
        return tuple(c for c in self.checklists if not c.kind.trust_debit)


def steps_for(kind: ChecklistKind, account: Account) -> tuple[str, ...]:
    if kind.trust_debit:
        return TRUST_DEBIT_STEPS
    return TRUST_REFUND_STEPS if account is Account.TRUST else REFUND_STEPS


def cover_by(opened_at: datetime, zone: tzinfo) -> date:
    """The business day a trust debit must be covered by: the day it was told, or the next
    business day when told on a weekend or a bank holiday."""
    day = local_day(opened_at, zone)
    return day if is_business_day(day) else local_day(add_business_days(opened_at, 1, zone), zone)


async def open_checklist(
    session: AsyncSession,
    *,
    kind: ChecklistKind,
    subject_id: str,
    transaction_id: str,
    account: Account,
    amount: Money,
    matter_id: str | None,
    now: datetime,
    channel: str | None = None,
    thread_ts: str | None = None,
) -> str:
    """The checklist of this subject, opened in the caller's transaction if it is not yet; its
    id. Opening the same subject twice is one checklist."""
    await insert_or_ignore(
        session,
        Checklist,
        {
            "id": random_id(),
            "kind": kind.value,
            "subject_id": subject_id,
            "transaction_id": transaction_id,
            "account": account.value,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "matter_id": matter_id,
            "channel": channel,
            "thread_ts": thread_ts,
            "version": 0,
            "opened_at": now,
        },
        ["kind", "subject_id"],
    )
    checklist_id = str(
        await session.scalar(
            select(Checklist.id).where(
                Checklist.kind == kind.value, Checklist.subject_id == subject_id
            )
        )
    )
    for position, step in enumerate(steps_for(kind, account)):
        await insert_or_ignore(
            session,
            ChecklistStep,
            {"checklist_id": checklist_id, "step": step, "position": position},
            ["checklist_id", "step"],
        )
    return checklist_id


class Checklists:
    def __init__(
        self,
        sessions: SessionFactory,
        audit: AuditLog,
        firm: FirmClock = UTC_CLOCK,
        remind_after: int = 2,
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._firm = firm
        self._remind_after = remind_after  # business days

    async def get(self, checklist_id: str) -> ChecklistInfo | None:
        async with self._sessions() as session:
            row = await session.get(Checklist, checklist_id)
            return await self._info(session, row) if row is not None else None

    async def for_refund(self, request: RefundRequestInfo) -> ChecklistInfo:
        """A settled refund's bookkeeping checklist, opened the first time it is asked for."""
        async with self._sessions.begin() as session:
            checklist_id = await open_checklist(
                session,
                kind=ChecklistKind.REFUND,
                subject_id=request.id,
                transaction_id=request.transaction_id,
                account=request.account,
                amount=request.amount,
                matter_id=request.matter_id,
                now=self._firm.now(),
                channel=request.approval_channel,
                thread_ts=request.approval_ts,
            )
        found = await self.get(checklist_id)
        assert found is not None
        return found

    async def open_trust_debit(
        self,
        kind: ChecklistKind,
        subject_id: str,
        transaction_id: str,
        amount: Money,
        matter_id: str | None,
        channel: str,
        thread_ts: str,
    ) -> None:
        """A debit on trust was announced (its message in ``thread_ts``): the cover checklist
        is owed in that thread, once."""
        now = self._firm.now()
        async with self._sessions.begin() as session:
            checklist_id = await open_checklist(
                session,
                kind=kind,
                subject_id=subject_id,
                transaction_id=transaction_id,
                account=Account.TRUST,
                amount=amount,
                matter_id=matter_id,
                now=now,
                channel=channel,
                thread_ts=thread_ts,
            )
            await owe(session, NoticeKind.TRUST_DEBIT_CHECKLIST, channel, checklist_id, now)

    async def set_message(self, checklist_id: str, channel: str, ts: str, thread_ts: str) -> None:
        """Where the checklist was posted: the message a tick renders again, and its thread."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Checklist)
                .where(Checklist.id == checklist_id, Checklist.message_ts.is_(None))
                .values(channel=channel, message_ts=ts, thread_ts=thread_ts)
            )

    async def tick(self, actor: PortalAccount, change: Tick, source: Source) -> ChecklistInfo:
        """Record what the click changed, each step by compare-and-set (two people ticking at
        once both count; a step already as asked is left alone), audited with it; close the
        checklist when every step is done; owe the message rendered again."""
        if not may(actor, Action.TICK_CHECKLIST):  # the gate said so; checked again here
            raise RoleDenied(Action.TICK_CHECKLIST, Role(actor.role))
        now = self._firm.now()
        async with self._sessions.begin() as session:
            row = await session.get(Checklist, change.checklist_id, with_for_update=True)
            if row is None:
                raise StaleChecklist(
                    "This checklist is no longer kept by Paybot; nothing was recorded."
                )
            if row.closed_at is not None:
                raise StaleChecklist(
                    f"This checklist was completed on {local_day(row.closed_at, self._firm.zone)}; "
                    "nothing was changed. Its thread shows who did each step."
                )
            if change.message_ts and row.message_ts and change.message_ts != row.message_ts:
                raise StaleChecklist(
                    "This is an old copy of the checklist; nothing was recorded. Tick the "
                    "checklist in the thread's latest message."
                )
            changed = await self._apply(session, row, actor, change, now, source)
            if not changed:
                return await self._info(session, row)
            left = await session.scalar(
                select(func.count())
                .select_from(ChecklistStep)
                .where(ChecklistStep.checklist_id == row.id, ChecklistStep.done_at.is_(None))
            )
            closing = not left
            version = await session.scalar(
                update(Checklist)
                .where(Checklist.id == row.id)
                .values(version=Checklist.version + 1, closed_at=now if closing else None)
                .returning(Checklist.version)
            )
            if closing:
                self._audit.add(session, self._record("close_checklist", actor, row, source, {}))
            await owe(
                session,
                NoticeKind.CHECKLIST_UPDATE,
                row.channel or "",
                row.id,
                now,
                str(version),
            )
            fresh = await session.get(Checklist, row.id, populate_existing=True)
            assert fresh is not None
            return await self._info(session, fresh)

    async def _apply(
        self,
        session: AsyncSession,
        row: Checklist,
        actor: PortalAccount,
        change: Tick,
        now: datetime,
        source: Source,
    ) -> int:
        known = set(steps_for(ChecklistKind(row.kind), Account(row.account)))
        done = {
            "done_at": now,
            "done_by_username": actor.username,
            "done_by_slack_id": actor.slack_user_id,
        }
        undone = dict.fromkeys(done)
        # A step moves only from the state the person saw: two people ticking at once do not
        # undo each other, and only the step a person changed is counted and audited.
        moves = [
            (change.ticked, ChecklistStep.done_at.is_(None), done, "tick_checklist"),
            (change.unticked, ChecklistStep.done_at.is_not(None), undone, "untick_checklist"),
        ]
        changed = 0
        for steps, unmoved, values, action in moves:
            for step in sorted(steps & known):
                moved = await session.execute(
                    update(ChecklistStep)
                    .where(
                        ChecklistStep.checklist_id == row.id, ChecklistStep.step == step, unmoved
                    )
                    .values(values)
                )
                if moved.rowcount:  # type: ignore[attr-defined]
                    changed += 1
                    self._audit.add(
                        session, self._record(action, actor, row, source, {"step": step})
                    )
        return changed

    @staticmethod
    def _record(
        action: str,
        actor: PortalAccount,
        row: Checklist,
        source: Source,
        after: dict[str, str],
    ) -> AuditRecord:
        return AuditRecord(
            action,
            Outcome.DONE,
            source,
            actor,
            target_type="checklist",
            target_id=row.id,
            after={
                "kind": row.kind,
                "subject_id": row.subject_id,
                "transaction_id": row.transaction_id,
                **after,
            },
        )

    async def remind(self) -> int:
        """Owe a reminder in the thread of each checklist still open ``remind_after`` business
        days after it was opened, once: ``reminded_at`` is set by compare-and-set in the
        transaction that owes it, so restarts and other processes do not repeat it."""
        now = self._firm.now()
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(Checklist).where(
                        Checklist.closed_at.is_(None),
                        Checklist.reminded_at.is_(None),
                        Checklist.message_ts.is_not(None),
                        # N business days are at least N calendar days: only those old enough
                        # are read on each round of the worker, not every open checklist.
                        Checklist.opened_at <= now - timedelta(days=self._remind_after),
                    )
                )
            ).all()
        due = [
            row
            for row in rows
            if add_business_days(row.opened_at, self._remind_after, self._firm.zone) <= now
        ]
        told = 0
        for row in due:
            async with self._sessions.begin() as session:
                moved = await session.execute(
                    update(Checklist)
                    .where(
                        Checklist.id == row.id,
                        Checklist.reminded_at.is_(None),
                        Checklist.closed_at.is_(None),
                    )
                    .values(reminded_at=now)
                )
                if moved.rowcount:  # type: ignore[attr-defined]
                    await owe(
                        session, NoticeKind.CHECKLIST_REMINDER, row.channel or "", row.id, now
                    )
                    told += 1
        return told

    async def open_count(self) -> int:
        async with self._sessions() as session:
            counted = await session.scalar(
                select(func.count()).select_from(Checklist).where(Checklist.closed_at.is_(None))
            )
        return int(counted or 0)

    async def open_work(self, limit: int | None = None) -> OpenWork:
        """Every open checklist, oldest first (the first ``limit``), as plain data."""
        query = (
            select(Checklist)
            .where(Checklist.closed_at.is_(None))
            .order_by(Checklist.opened_at, Checklist.id)
        )
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
            steps = await self._steps(session, [row.id for row in rows])
        return OpenWork(tuple(self._build(row, steps.get(row.id, ())) for row in rows))

    async def _info(self, session: AsyncSession, row: Checklist) -> ChecklistInfo:
        steps = await self._steps(session, [row.id])
        return self._build(row, steps.get(row.id, ()))

    @staticmethod
    async def _steps(
        session: AsyncSession, ids: Iterable[str]
    ) -> dict[str, tuple[ChecklistStepInfo, ...]]:
        wanted = list(ids)
        if not wanted:
            return {}
        rows = (
            await session.scalars(
                select(ChecklistStep)
                .where(ChecklistStep.checklist_id.in_(wanted))
                .order_by(ChecklistStep.checklist_id, ChecklistStep.position)
            )
        ).all()
        found: dict[str, list[ChecklistStepInfo]] = {}
        for step in rows:
            found.setdefault(step.checklist_id, []).append(
                ChecklistStepInfo(
                    step.step, step.done_by_username, step.done_by_slack_id, step.done_at
                )
            )
        return {key: tuple(value) for key, value in found.items()}

    def _build(self, row: Checklist, steps: tuple[ChecklistStepInfo, ...]) -> ChecklistInfo:
        kind = ChecklistKind(row.kind)
        return ChecklistInfo(
            id=row.id,
            kind=kind,
            subject_id=row.subject_id,
            transaction_id=row.transaction_id,
            account=Account(row.account),
            amount=Money(row.amount_minor, row.currency),
            matter_id=row.matter_id,
            steps=steps,
            opened_at=row.opened_at,
            version=row.version,
            closed_at=row.closed_at,
            reminded_at=row.reminded_at,
            channel=row.channel,
            message_ts=row.message_ts,
            thread_ts=row.thread_ts,
            due=cover_by(row.opened_at, self._firm.zone) if kind.trust_debit else None,
        )

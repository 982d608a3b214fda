"""A dispute's deadlines: the firm's own date for a response (PAYBOT_DISPUTE_MARGIN_DAYS
business days before the processor's) and the reminders that escalate towards the processor's
date, each sent once across restarts (its column in ``dispute_threads`` is claimed)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import UTC_CLOCK, FirmClock, local_day, margin_start
from bot.db.engine import SessionFactory
from bot.db.models import DisputeResponse, DisputeThread
from bot.domain import DisputeStatus, ResponseState
from bot.ids import NoticeKind
from bot.roles import Action
from bot.services import outbox
from bot.services.flow import active_people, roles_that_may
from bot.services.owed import owe

REMINDED = {
    "margin": DisputeThread.margin_reminded_at,
    "72h": DisputeThread.reminded_72h_at,
    "24h": DisputeThread.reminded_24h_at,
    "overdue": DisputeThread.overdue_at,
}


async def deciders(session: AsyncSession) -> list[str]:
    """The Slack users of the portal's active people who decide dispute responses."""
    roles = roles_that_may(Action.DECIDE_DISPUTE_RESPONSE)
    return [str(person.slack_user_id) for person in await active_people(session, roles)]


class Deadlines:
    def __init__(
        self,
        sessions: SessionFactory,
        notify_channel: str | None,
        firm: FirmClock = UTC_CLOCK,
        margin_days: int = 5,
    ) -> None:
        self._sessions = sessions
        self._channel = notify_channel
        self._firm = firm
        self._margin = margin_days

    def ask_by(self, respond_by: datetime) -> date:
        """The firm's own date for a response: PAYBOT_DISPUTE_MARGIN_DAYS business days before
        the processor's, on the firm's calendar."""
        return local_day(margin_start(respond_by, self._margin, self._firm.zone), self._firm.zone)

    async def remind(self) -> int:
        """The firm's own date (in the thread), 72 h and 24 h before the processor's date (the
        24 h one also by DM to the drafter of a waiting response and to the managers), and once
        it is missed (naming the managers): each once, across restarts, as its column is claimed
        by compare-and-set. Earlier reminders not yet sent when a later one is due are passed
        over: the later says more."""
        now, count = self._firm.now(), 0
        horizon = now + timedelta(days=2 * self._margin + 10, hours=72)
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(DisputeThread).where(
                        DisputeThread.status == DisputeStatus.NEEDS_RESPONSE.value,
                        DisputeThread.respond_by <= horizon,
                        DisputeThread.overdue_at.is_(None),
                    )
                )
            ).all()
        for row in rows:
            times = sorted(self._reminder_times(row.respond_by), key=lambda pair: pair[1])
            due = [(stage, at) for stage, at in times if at <= now]
            if not due or getattr(row, REMINDED[due[-1][0]].key) is not None:
                continue  # nothing due, or told already: no write every round
            if await self._submitted(row.dispute_id, since=row.deadline_set_at):
                continue
            stage, _ = due[-1]
            if await self._remind(row, stage, [s for s, _ in due[:-1]], now):
                count += 1
        return count

    def _reminder_times(self, respond_by: datetime) -> list[tuple[str, datetime]]:
        return [
            ("margin", margin_start(respond_by, self._margin, self._firm.zone)),
            ("72h", respond_by - timedelta(hours=72)),
            ("24h", respond_by - timedelta(hours=24)),
            ("overdue", respond_by),
        ]

    async def _remind(
        self, row: DisputeThread, stage: str, passed: list[str], now: datetime
    ) -> bool:
        async with self._sessions.begin() as session:
            claimed = await session.execute(
                update(DisputeThread)
                .where(DisputeThread.dispute_id == row.dispute_id, REMINDED[stage].is_(None))
                .values({REMINDED[stage].key: now})
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            for earlier in passed:
                await session.execute(
                    update(DisputeThread)
                    .where(DisputeThread.dispute_id == row.dispute_id, REMINDED[earlier].is_(None))
                    .values({REMINDED[earlier].key: now})
                )
            if not self._channel:
                return True
            # A deadline set again (a new stage or date) is reminded of again: its own keys.
            answer = f":{row.deadline_set_at:%Y%m%dT%H%M%S}" if row.deadline_set_at else ""
            payload: dict[str, object] = {"stage": stage}
            if stage == "margin":
                payload["ask_by"] = self.ask_by(row.respond_by).isoformat()
            managers = await deciders(session) if stage in ("24h", "overdue") else []
            if stage == "overdue":
                payload["managers"] = managers
            await outbox.add(
                session,
                key=f"reminder:{row.dispute_id}:{stage}{answer}",
                kind=NoticeKind.DISPUTE_REMINDER,
                channel=self._channel,
                object_id=row.dispute_id,
                payload=payload,
                now=now,
            )
            if stage == "24h":
                drafter = await session.scalar(
                    select(DisputeResponse.requester_slack_id).where(
                        DisputeResponse.dispute_id == row.dispute_id,
                        DisputeResponse.state == ResponseState.DRAFTED.value,
                    )
                )
                for user in dict.fromkeys([*([drafter] if drafter else []), *managers]):
                    await owe(
                        session,
                        NoticeKind.DISPUTE_DEADLINE_DM,
                        user,
                        row.dispute_id,
                        now,
                        f"{user}{answer}",
                        drafter=user == drafter,
                    )
        return True

    async def _submitted(self, dispute_id: str, since: datetime | None) -> bool:
        """A response approved for this deadline (made since it was set, when that is known)."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(DisputeResponse.id).where(
                    DisputeResponse.dispute_id == dispute_id,
                    DisputeResponse.created_at >= since if since is not None else true(),
                    DisputeResponse.state.in_(
                        [
                            ResponseState.APPROVED.value,
                            ResponseState.SUBMITTING.value,
                            ResponseState.SUBMITTED.value,
                        ]
                    ),
                )
            )
        return found is not None

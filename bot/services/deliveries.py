"""Recognising a Slack request seen before: Events API retries (X-Slack-Retry-Num) carry the same
event_id, and a repeated interaction payload carries the same trigger_id. Shared by every process
through the database, so a retry landing on another process is recognised too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.dml import insert_first_new
from bot.db.engine import SessionFactory
from bot.db.group_commit import GroupCommit
from bot.db.models import SlackDelivery

KEEP = timedelta(days=1)


class Deliveries:
    def __init__(
        self, sessions: SessionFactory, clock: Clock = utcnow, writes: GroupCommit | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._writes = writes or GroupCommit(sessions)

    async def first_time(self, key: str) -> bool:
        """Committed before it answers; the keys of concurrent requests go in one statement."""
        return await self._writes.run(
            _first_times, {"key": key[:200], "received_at": self._clock()}
        )

    async def release(self, key: str) -> None:
        """Forget a key whose work failed, so that Slack's retry of the delivery does it."""
        async with self._sessions.begin() as session:
            await session.execute(delete(SlackDelivery).where(SlackDelivery.key == key[:200]))

    async def forget_old(self) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(SlackDelivery).where(SlackDelivery.received_at < self._clock() - KEEP)
            )


async def _first_times(session: AsyncSession, rows: list[dict[str, Any]]) -> list[bool]:
    """Whether each row's key is new; a key twice in one group is new the first time only."""
    return await insert_first_new(session, SlackDelivery, rows, ["key"], "key")

"""Recognising a Slack request seen before: Events API retries (X-Slack-Retry-Num) carry the same
event_id, and a repeated interaction payload carries the same trigger_id. Shared by every process
through the database, so a retry landing on another process is recognised too."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from bot.clock import Clock, utcnow
from bot.db.dml import insert_or_ignore
from bot.db.engine import SessionFactory
from bot.db.models import SlackDelivery

KEEP = timedelta(days=1)


class Deliveries:
    def __init__(self, sessions: SessionFactory, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def first_time(self, key: str) -> bool:
        async with self._sessions.begin() as session:
            return await insert_or_ignore(
                session, SlackDelivery, {"key": key[:200], "received_at": self._clock()}, ["key"]
            )

    async def forget_old(self) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(SlackDelivery).where(SlackDelivery.received_at < self._clock() - KEEP)
            )

"""Processor events in, by push (webhooks) and pull (the poller), each kept once.

An event is stored with the notifications it causes in one transaction, and its id is the primary
key, so the webhook and the poller (and two processes) seeing the same event announce it once.
The poller's cursor moves in the same transaction as the events it read, so nothing is skipped
when the bot was down or crashed mid-way.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.dml import insert_or_ignore
from bot.db.engine import SessionFactory
from bot.db.models import EventCursor, ProcessorEventRow
from bot.domain import EventType, ProcessorEvent
from bot.processors.gateway import Gateway
from bot.services import outbox

# What each event type owes the notify channel.
ANNOUNCED = {
    EventType.DISPUTE_CREATED: "dispute.created",
    EventType.DISPUTE_UPDATED: "dispute.updated",
    EventType.RETURN_CREATED: "return.created",
}


class Events:
    def __init__(
        self,
        sessions: SessionFactory,
        gateway: Gateway,
        notify_channel: str | None,
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._channel = notify_channel
        self._clock = clock

    async def ingest(self, events: Iterable[ProcessorEvent], source: str) -> int:
        """Store what is new; the count of new events."""
        async with self._sessions.begin() as session:
            return await self._store(session, events, source)

    async def _store(
        self, session: AsyncSession, events: Iterable[ProcessorEvent], source: str
    ) -> int:
        now, new = self._clock(), 0
        backend = self._gateway.name
        for event in events:
            fresh = await insert_or_ignore(
                session,
                ProcessorEventRow,
                {
                    "backend": backend,
                    "event_id": event.id,
                    "type": event.type.value,
                    "object_id": event.object_id,
                    "source": source,
                    "occurred_at": event.created_at,
                    "received_at": now,
                    "data": dict(event.data),
                },
                ["backend", "event_id"],
            )
            if not fresh:
                continue
            new += 1
            kind = ANNOUNCED.get(event.type)
            if kind and self._channel:
                await outbox.add(
                    session,
                    key=f"event:{backend}:{event.id}",
                    kind=kind,
                    channel=self._channel,
                    object_id=event.object_id,
                    payload={"event_id": event.id, "data": dict(event.data)},
                    now=now,
                )
        return new

    async def poll(self, batch: int = 500) -> int:
        """Read the feed from the stored cursor until it has nothing new; the count of new events."""
        backend, total = self._gateway.name, 0
        while True:
            async with self._sessions() as session:
                row = await session.get(EventCursor, backend)
            cursor = row.cursor if row else None
            page = await self._gateway.events(cursor, batch)
            if not page.events or page.cursor == cursor:
                return total
            async with self._sessions.begin() as session:
                total += await self._store(session, page.events, "poll")
                if row is None:
                    await insert_or_ignore(
                        session,
                        EventCursor,
                        {"backend": backend, "cursor": page.cursor, "updated_at": self._clock()},
                        ["backend"],
                    )
                else:
                    await session.execute(
                        update(EventCursor)
                        .where(
                            EventCursor.backend == backend,
                            EventCursor.cursor.is_(None)
                            if cursor is None
                            else EventCursor.cursor == cursor,
                        )
                        .values(cursor=page.cursor, updated_at=self._clock())
                    )
            if len(page.events) < batch:
                return total

    async def start_at_end(self, batch: int = 1000) -> str | None:
        """On a bot's first start, begin reading the feed where it ends now: what happened before
        the bot existed (a processor account's history, seeded data) is not news to announce.
        Once a cursor is stored this does nothing, so downtime later is caught up, not skipped."""
        backend = self._gateway.name
        async with self._sessions() as session:
            row = await session.get(EventCursor, backend)
        if row is not None:
            return row.cursor
        cursor: str | None = None
        while True:
            page = await self._gateway.events(cursor, batch)
            if not page.events or page.cursor == cursor:
                break
            cursor = page.cursor
        async with self._sessions.begin() as session:
            await insert_or_ignore(
                session,
                EventCursor,
                {"backend": backend, "cursor": cursor, "updated_at": self._clock()},
                ["backend"],
            )
        return cursor

    async def seen(self, event_id: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(ProcessorEventRow.event_id).where(
                    ProcessorEventRow.backend == self._gateway.name,
                    ProcessorEventRow.event_id == event_id,
                )
            )
        return found is not None

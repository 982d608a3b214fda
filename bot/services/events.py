"""Processor events in, by push (webhooks) and pull (the poller), each kept once.

An event is stored with the notifications it causes in one transaction, and its id is the primary
key, so the webhook and the poller (and two processes) seeing the same event announce it once.
The poller's cursor moves in the same transaction as the events it read, so nothing is skipped
when the bot was down or crashed mid-way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.dml import insert_first_new, insert_or_ignore
from bot.db.engine import SessionFactory, wake_after_commit
from bot.db.group_commit import GroupCommit
from bot.db.models import EventCursor, ProcessorEventRow
from bot.domain import EventType, ProcessorEvent
from bot.ids import NoticeKind
from bot.processors.gateway import Gateway
from bot.services import outbox
from bot.usertext import clean, clean_all

# What each event type owes the notify channel.
ANNOUNCED = {
    EventType.DISPUTE_CREATED: NoticeKind.DISPUTE_CREATED,
    EventType.DISPUTE_UPDATED: NoticeKind.DISPUTE_UPDATED,
    EventType.RETURN_CREATED: NoticeKind.RETURN_CREATED,
    EventType.WITHDRAWAL_RETURNED: NoticeKind.WITHDRAWAL_RETURNED,
}


class Events:
    def __init__(
        self,
        sessions: SessionFactory,
        gateway: Gateway,
        notify_channel: str | None,
        clock: Clock = utcnow,
        writes: GroupCommit | None = None,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._channel = notify_channel
        self._clock = clock
        self._writes = writes or GroupCommit(sessions)

    async def ingest(self, events: Iterable[ProcessorEvent], source: str) -> int:
        """Store what is new; the count of new events. Committed before it returns, in one
        transaction with the webhooks arriving at the same time."""
        return await self._writes.run(self._store_groups, (tuple(events), source))

    async def _store(
        self, session: AsyncSession, events: Iterable[ProcessorEvent], source: str
    ) -> int:
        return (await self._store_groups(session, [(tuple(events), source)]))[0]

    async def _store_groups(
        self, session: AsyncSession, groups: list[tuple[tuple[ProcessorEvent, ...], str]]
    ) -> list[int]:
        """Every event of every group in one statement; the count of new events per group
        (an event in two groups is new in the first only)."""
        now, backend = self._clock(), self._gateway.name
        groups = [(tuple(_cleaned(e) for e in events), source) for events, source in groups]
        rows: list[dict[str, Any]] = [
            {
                "backend": backend,
                "event_id": event.id,
                "type": event.type.value,
                "object_id": event.object_id,
                "source": source,
                "occurred_at": event.created_at,
                "received_at": now,
                "data": dict(event.data),
            }
            for events, source in groups
            for event in events
        ]
        new = iter(
            await insert_first_new(
                session, ProcessorEventRow, rows, ["backend", "event_id"], "event_id"
            )
        )
        counts = []
        for events, _ in groups:
            count = 0
            for event in events:
                if next(new):
                    count += 1
                    await self._announce(session, event, now)
            counts.append(count)
        if any(counts):
            wake_after_commit(
                session
            )  # the worker's checks react to any new event, not only those told
        return counts

    async def _announce(self, session: AsyncSession, event: ProcessorEvent, now: datetime) -> None:
        """Owe the notify channel a message for a new event of an announced type."""
        kind = ANNOUNCED.get(event.type)
        if kind and self._channel:
            await outbox.add(
                session,
                key=f"event:{self._gateway.name}:{event.id}",
                kind=kind,
                channel=self._channel,
                object_id=event.object_id,
                payload={"event_id": event.id, "data": dict(event.data)},
                now=now,
            )

    async def poll(self, batch: int = 500) -> int:
        """Read the feed from the stored cursor until it has nothing new; the count of new events."""
        backend, total = self._gateway.name, 0
        while True:
            async with self._sessions() as session:
                row = await session.get(EventCursor, backend)
            cursor = row.cursor if row else None
            page = await self._gateway.events(cursor, batch)
            if page.cursor is None or page.cursor == cursor:
                return total  # nothing new (an adapter may move its cursor past events it skips)
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
            if not page.events or len(page.events) < batch:
                return total

    async def start_at_end(self) -> str | None:
        """On a bot's first start, begin reading the feed where it ends now: what happened before
        the bot existed (a processor account's history, seeded data) is not news to announce.
        Once a cursor is stored this does nothing, so downtime later is caught up, not skipped.
        The end is asked of the processor (its newest record), not found by paging through the
        feed: a first start costs the same on an empty account and on one of millions."""
        backend = self._gateway.name
        async with self._sessions() as session:
            row = await session.get(EventCursor, backend)
        if row is not None:
            return row.cursor
        cursor = await self._gateway.feed_end()
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


def _cleaned(event: ProcessorEvent) -> ProcessorEvent:
    """What the processor wrote, cleaned before it is stored or shown: its data, and its ids (a
    card number in one is masked; the columns hold 100 characters)."""
    return replace(
        event,
        id=clean(event.id)[:100],
        object_id=clean(event.object_id)[:100],
        data=clean_all(dict(event.data)),
    )

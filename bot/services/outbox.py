"""The notification outbox: Slack messages owed, stored in the same transaction as their cause.

Delivery claims rows with a lease (compare-and-set, SKIP LOCKED on PostgreSQL), so any number of
processes can deliver; a row whose deliverer died is taken over when its lease runs out. A row is
marked sent with the Slack ts, so a restart neither loses nor repeats it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.dml import insert_or_ignore
from bot.db.engine import SessionFactory, wake_after_commit
from bot.db.models import OutboxMessage
from bot.ids import NoticeKind
from bot.services import leases

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 15
TABLE = leases.Leased(OutboxMessage, PENDING, SENDING, DEAD, "next_attempt_at", MAX_ATTEMPTS)


@dataclass(frozen=True)
class OutboxItem:
    id: int
    key: str
    kind: str
    channel: str
    object_id: str
    payload: dict[str, Any]
    attempts: int
    thread_ts: str | None  # set when a digest parent was posted before a crash: reuse it


def item(row: OutboxMessage) -> OutboxItem:
    return OutboxItem(
        row.id,
        row.key,
        row.kind,
        row.channel,
        row.object_id,
        dict(row.payload),
        row.attempts,
        row.thread_ts,
    )


def add(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    channel: str,
    object_id: str,
    payload: dict[str, Any],
    now: datetime,
) -> Any:
    """Owe a message, in the caller's transaction; the same key twice is one message. The
    worker is woken once the transaction commits."""
    wake_after_commit(session)
    return insert_or_ignore(
        session,
        OutboxMessage,
        {
            "key": key,
            "kind": kind,
            "channel": channel,
            "object_id": object_id,
            "payload": payload,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
        ["key"],
    )


class Outbox:
    def __init__(
        self, sessions: SessionFactory, clock: Clock = utcnow, lease: timedelta = LEASE
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lease = lease

    async def add(self, **fields: Any) -> bool:
        async with self._sessions.begin() as session:
            return bool(await add(session, now=self._clock(), **fields))

    async def reply(self, channel: str, blocks: list[dict[str, Any]], text: str) -> None:
        """Owe a person the answer to their own click, rendered already (a list as it stood when
        they asked): delivered paced with everything else to that channel, and only once."""
        await self.add(
            key=f"{NoticeKind.REPLY}:{uuid.uuid4().hex}",
            kind=NoticeKind.REPLY,
            channel=channel,
            object_id=channel,
            payload={"blocks": blocks, "text": text},
        )

    async def claim(self, owner: str, limit: int = 500) -> list[OutboxItem]:
        now = self._clock()
        async with self._sessions.begin() as session:
            rows = await TABLE.claim(
                session, owner, now + self._lease, now, [OutboxMessage.id], limit
            )
        return [item(r) for r in rows]

    async def sent(self, ids: list[int], ts: str | None, thread_ts: str | None, owner: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.lease_owner == owner)
                .values(
                    state=SENT,
                    slack_ts=ts,
                    thread_ts=thread_ts,
                    sent_at=self._clock(),
                    lease_until=None,
                )
            )

    async def set_thread(self, ids: list[int], thread_ts: str) -> None:
        """Remember a posted digest parent, so a takeover after a crash posts into the same one."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(thread_ts=thread_ts)
            )

    async def retry(
        self, item: OutboxItem, owner: str, error: str, delay: timedelta | None = None
    ) -> None:
        async with self._sessions.begin() as session:
            await TABLE.retry(session, item.id, item.attempts, owner, error, self._clock(), delay)

    async def release(self, ids: list[int], owner: str) -> None:
        """Hand claimed rows back at shutdown, so another process takes them now, not after the lease."""
        if not ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.lease_owner == owner,
                    OutboxMessage.state == SENDING,
                )
                .values(
                    state=PENDING,
                    lease_owner=None,
                    lease_until=None,
                    attempts=OutboxMessage.attempts - 1,
                )
            )

    async def messages_of(self, ts: str) -> list[OutboxItem]:
        """The items posted together in one message (a digest chunk), to render it again."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.slack_ts == ts)
                    .order_by(OutboxMessage.id)
                )
            ).all()
        return [item(r) for r in rows]

    async def backlog(self) -> int:
        async with self._sessions() as session:
            return await TABLE.backlog(session)

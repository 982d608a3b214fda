"""The audit log: who did what to which target, when, from where, with what outcome.

Fields follow PCI DSS 10.2.2 (user, event type, date and time, success or failure, origination,
affected resource) plus the role and the state before and after. Append-only: this module offers
``record`` and ``entries`` and nothing that updates or deletes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.engine import SessionFactory
from bot.db.group_commit import GroupCommit
from bot.db.hot import HotInsert
from bot.db.models import AuditEntry
from bot.db.records import record
from bot.domain import AuditLine, AuditPage, PortalAccount, Source
from bot.usertext import clean, clean_all


class Outcome(StrEnum):
    DONE = "done"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditRecord:
    action: str
    outcome: Outcome
    source: Source
    actor: PortalAccount | None = None
    slack_user_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    reason: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class AuditLog:
    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Clock = utcnow,
        writes: GroupCommit | None = None,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._writes = writes or GroupCommit(session_factory)
        self._writes.insert_directly(_insert_rows, _INSERT)

    def add(self, session: AsyncSession, record: AuditRecord) -> None:
        """Stage a row in the caller's transaction, so it commits (or not) with the change."""
        session.add(AuditEntry(**self._row(record)))

    async def record(self, record: AuditRecord) -> None:
        """A record of its own (a lookup, a refusal), committed before this returns; written
        with those of concurrent requests in one statement, so a busy second costs one commit
        (on SQLite in place, on the event loop's thread: db/group_commit.py)."""
        await self._writes.run(_insert_rows, self._row(record))

    def _row(self, record: AuditRecord) -> dict[str, Any]:
        actor = record.actor
        return {
            "at": self._clock(),
            "actor_username": actor.username if actor else None,
            "actor_slack_id": (actor.slack_user_id if actor else None) or record.slack_user_id,
            "actor_role": actor.role if actor else None,
            "action": record.action,
            "target_type": record.target_type,
            "target_id": clean(record.target_id) if record.target_id else None,
            "outcome": record.outcome.value,
            "reason": clean(record.reason) if record.reason else None,
            "source": record.source.value,
            "before": clean_all(record.before),
            "after": clean_all(record.after),
        }

    async def entries(
        self, *, subject: str | None = None, limit: int = 10, before_id: int | None = None
    ) -> AuditPage:
        """Newest first; ``subject`` is a transaction id, another target id or a username."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
        subject = clean(subject).strip() if subject else None  # stored targets are masked too
        if subject:
            query = query.where(
                or_(AuditEntry.target_id == subject, AuditEntry.actor_username == subject)
            )
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        lines = tuple(_line(row) for row in rows[:limit])
        return AuditPage(lines, lines[-1].id if len(rows) > limit else None)


_INSERT = HotInsert(cast(Table, AuditEntry.__table__))


async def _insert_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> list[None]:
    await session.execute(insert(cast(Table, AuditEntry.__table__)), rows)
    return [None] * len(rows)


def _line(row: AuditEntry) -> AuditLine:
    return record(AuditLine, row)

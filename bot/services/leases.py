"""Leased work shared by the job queue and the outbox: claim, back off, give up.

A row is ready when it is waiting and due, or when it was claimed and its lease ran out (the
process holding it died). Claiming is a select of ready ids (SKIP LOCKED on PostgreSQL, so
processes do not queue behind each other) and then an update that checks readiness again, so two
processes can never both claim a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dml import dialect

MAX_BACKOFF = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """Exponential: 2, 4, 8 … seconds after each failed attempt, at most five minutes."""
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 9)))


@dataclass(frozen=True)
class Leased:
    """A table of leased work (jobs, the outbox): its states, its due column, its give-up."""

    model: Any
    waiting: str
    claimed: str
    dead: str
    due: str  # the column saying when a waiting row is due
    most: int  # attempts before a row is given up
    finished: str | None = None  # a column stamped when a row is given up

    def ready(self, now: datetime) -> ColumnElement[bool]:
        table = self.model
        return or_(
            and_(table.state == self.waiting, getattr(table, self.due) <= now),
            and_(table.state == self.claimed, table.lease_until < now),
        )

    async def claim(
        self,
        session: AsyncSession,
        owner: str,
        lease_until: datetime,
        now: datetime,
        order_by: list[Any],
        limit: int,
    ) -> list[Any]:
        """Claim up to ``limit`` ready rows; the claimed rows, as the model's objects."""
        table, condition = self.model, self.ready(now)
        pick = select(table.id).where(condition).order_by(*order_by).limit(limit)
        if dialect(session) == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = list((await session.scalars(pick)).all())
        if not ids:
            return []
        claimed = await session.execute(
            update(table)
            .where(table.id.in_(ids), condition)
            .values(
                attempts=table.attempts + 1,
                state=self.claimed,
                lease_owner=owner,
                lease_until=lease_until,
            )
            .returning(table)
        )
        return sorted(claimed.scalars().all(), key=lambda row: row.id)

    async def retry(
        self,
        session: AsyncSession,
        row_id: int,
        attempts: int,
        owner: str,
        error: str,
        now: datetime,
        delay: timedelta | None = None,
    ) -> None:
        """Back off (``backoff``) unless ``delay`` is given; give up after ``most`` attempts. A
        row whose lease passed to another owner is left alone."""
        gave_up = attempts >= self.most
        values: dict[str, Any] = {
            "state": self.dead if gave_up else self.waiting,
            self.due: now + (delay if delay is not None else backoff(attempts)),
            "last_error": error[:2000],
            "lease_until": None,
        }
        if self.finished:
            values[self.finished] = now if gave_up else None
        table = self.model
        await session.execute(
            update(table).where(table.id == row_id, table.lease_owner == owner).values(values)
        )

    async def backlog(self, session: AsyncSession) -> int:
        """Rows waiting or claimed."""
        table = self.model
        count = await session.scalar(
            select(func.count())
            .select_from(table)
            .where(table.state.in_((self.waiting, self.claimed)))
        )
        return int(count or 0)

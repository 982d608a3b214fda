"""Leased work shared by the job queue and the outbox: claim, back off, give up.

A row is ready when it is waiting and due, or when it was claimed and its lease ran out (the
process holding it died). Claiming is a select of ready ids (SKIP LOCKED on PostgreSQL, so
processes do not queue behind each other) and then an update that checks readiness again, so two
processes can never both claim a row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import Base
from bot.db.dml import dialect

MAX_BACKOFF = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """Exponential: 2, 4, 8 … seconds after each failed attempt, at most five minutes."""
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 9)))


def ready(model: Any, waiting: str, claimed: str, due: Any, now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(model.state == waiting, due <= now),
        and_(model.state == claimed, model.lease_until < now),
    )


async def claim(
    session: AsyncSession,
    model: type[Base],
    condition: ColumnElement[bool],
    order_by: list[Any],
    limit: int,
    values: dict[str, Any],
) -> list[Any]:
    """Claim up to ``limit`` ready rows; the claimed rows, as the model's objects."""
    table: Any = model
    pick = select(table.id).where(condition).order_by(*order_by).limit(limit)
    if dialect(session) == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list((await session.scalars(pick)).all())
    if not ids:
        return []
    claimed = await session.execute(
        update(model)
        .where(table.id.in_(ids), condition)
        .values(attempts=table.attempts + 1, **values)
        .returning(model)
    )
    return sorted(claimed.scalars().all(), key=lambda row: row.id)

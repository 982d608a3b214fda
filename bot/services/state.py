"""Compare-and-set state transitions: the one mechanism behind "exactly once" for refunds and
dispute responses. Only the caller whose UPDATE touched the row goes on; everyone else is told
what state the row is in now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import Base


async def compare_and_set(
    session: AsyncSession,
    model: type[Base],
    row_id: str,
    from_state: str,
    to_state: str,
    values: Mapping[str, Any] | None = None,
) -> bool:
    table = model.__table__
    result = await session.execute(
        update(model)
        .where(table.c.id == row_id, table.c.state == from_state)
        .values(state=to_state, **dict(values or {}))
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]

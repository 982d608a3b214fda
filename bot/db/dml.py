"""Statements both dialects need written their own way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import Base


def dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


async def insert_or_ignore(
    session: AsyncSession, model: type[Base], values: Mapping[str, Any], keys: Sequence[str]
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row is new. This is what deduplicates."""
    insert = pg_insert if dialect(session) == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]

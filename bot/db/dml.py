"""Statements both dialects need written their own way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table
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


async def insert_new(
    session: AsyncSession,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    returning: str,
) -> set[Any]:
    """Many rows in one INSERT … ON CONFLICT (keys) DO NOTHING RETURNING: the ``returning``
    column of the rows that were new. Given as a list of parameters, the statement is compiled
    once and SQLAlchemy sends the rows as multi-row VALUES pages."""
    if not rows:
        return set()
    insert = pg_insert if dialect(session) == "postgresql" else sqlite_insert
    table = cast(Table, model.__table__)
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(table.c[returning])
    )
    result = await session.execute(statement, [dict(row) for row in rows])
    return set(result.scalars())


async def insert_first_new(
    session: AsyncSession,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    key: str,
) -> list[bool]:
    """``insert_new`` for rows that may repeat a key among themselves (the writes of concurrent
    requests): the first row of each key is inserted; per row, whether it was new, which only
    the first of its key can be."""
    first: dict[Any, Mapping[str, Any]] = {}
    for row in rows:
        first.setdefault(row[key], row)
    fresh = await insert_new(session, model, list(first.values()), keys, key)
    answers = []
    for row in rows:
        answers.append(row[key] in fresh)
        fresh.discard(row[key])
    return answers


LIKE_ESCAPE = "\\"


def like_escaped(text: str) -> str:
    """Text for a LIKE pattern with its own `%`, `_` and `\\` taken literally (with
    ``escape=LIKE_ESCAPE``), so `/pay users %` matches a percent sign, not everyone."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

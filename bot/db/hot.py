"""The hot path's statements, compiled once per dialect and sent in one call to the driver: a
lookup's read (``HotRead``) and an audit row's INSERT (``HotInsert``).

Through SQLAlchemy's async adapters a statement costs several driver calls (cursor, execute,
fetch, close), each a hop to aiosqlite's thread or a step of asyncpg. Here a read is one:
asyncpg's ``fetch`` (one round trip) on a connection kept for the hot path (db/kept.py: taking
one from the pool cost four times the statement), or on SQLite one ``sqlite3`` call made in
place, on the event loop's thread (db/in_place.py, which says why). Values are converted with
the same per-column processors SQLAlchemy would apply, and the engine's ``before_cursor_execute``
listeners still see each statement (the statement log, tests/e2e/test_round_trips.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Insert, Select, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.in_place import InPlace
from bot.db.kept import Kept

# What a kept connection that was cut raises (db/kept.py drops it; the next use opens another).
_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError)


class _Compiled:
    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.names = list(compiled.positiontup or ())
        self.columns = list(statement.selected_columns)
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.columns
        ]
        # Only the columns that convert (dates, JSON) are visited per row: most (text, numbers)
        # have no processor. The processors themselves are most of a row's cost (~6 of 10 µs).
        self.converted = [(i, process) for i, process in enumerate(processors) if process]

    def mappings(self, rows: Iterable[Sequence[Any]]) -> list[dict[Any, Any]]:
        columns, converted = self.columns, self.converted
        mapped = []
        for row in rows:
            values = list(row)
            for i, process in converted:
                values[i] = process(values[i])
            mapped.append(dict(zip(columns, values, strict=True)))
        return mapped


class HotRead:
    """``statement`` takes plain bind values only (strings, numbers): none is converted."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    async def all(self, engine: AsyncEngine, values: Mapping[str, Any]) -> list[dict[Any, Any]]:
        """Each row as a mapping from the statement's columns to their values."""
        in_place = InPlace.of(engine)
        if in_place is not None:
            compiled, args = self._bound(engine.dialect, values)
            _announce(engine, compiled.sql, args)
            rows = in_place.read(compiled.sql, args)
            if rows is not None:
                return compiled.mappings(rows)
        kept = Kept.of(engine)
        if kept is not None:  # one round trip, no transaction begun for it
            compiled, args = self._bound(engine.dialect, values)
            for attempt in (1, 2):
                try:
                    async with kept.connection() as raw:
                        _announce(engine, compiled.sql, args)
                        return compiled.mappings(await raw.fetch(compiled.sql, *args))
                except _LOST:  # a kept connection cut meanwhile (dropped): once more, anew
                    if attempt == 2:
                        raise
        async with engine.connect() as connection:
            result = await connection.execute(self.statement, dict(values))
            return [dict(row._mapping) for row in result]

    def _bound(self, dialect: Dialect, values: Mapping[str, Any]) -> tuple[_Compiled, list[Any]]:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return compiled, [values[name] for name in compiled.names]


class HotInsert:
    """Rows of ``table`` inserted and committed in one driver call: in place on SQLite
    (``in_place``), in one transaction of asyncpg's own on a kept connection (db/kept.py) on
    PostgreSQL (``on_kept``). Each says False when it cannot (another driver; on SQLite, the write lock
    taken), and the caller writes the rows as it otherwise would. The statement is compiled once
    for each dialect and set of keys the rows have."""

    def __init__(self, table: Table) -> None:
        self.statement: Insert = insert(table)
        self._compiled: dict[tuple[str, tuple[str, ...]], _Bound] = {}

    def in_place(self, engine: AsyncEngine, rows: Sequence[Mapping[str, Any]]) -> bool:
        in_place = InPlace.of(engine)
        if in_place is None or not rows:
            return False
        sql, values = self._bound(engine.dialect, rows)
        if not in_place.write(sql, values):
            return False
        # Announced once made: an attempt that found the lock taken sent nothing.
        _announce(engine, sql, values)
        return True

    async def on_kept(self, engine: AsyncEngine, rows: Sequence[Mapping[str, Any]]) -> bool:
        """asyncpg: one prepared INSERT for all rows on a kept connection, in one round trip.
        asyncpg's ``executemany`` is atomic (all rows or none, committed when it returns, since
        asyncpg 0.22): the BEGIN and COMMIT an ORM session sends around it were two more round
        trips, a third of a lookup's database CPU on PostgreSQL (bench/answers.py)."""
        kept = Kept.of(engine)
        if kept is None or not rows:
            return False
        sql, values = self._bound(engine.dialect, rows)
        async with kept.connection() as raw:
            _announce(engine, sql, values)
            await raw.executemany(sql, values)
        return True

    def _bound(
        self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[str, list[list[Any]]]:
        keys = (dialect.name, tuple(rows[0]))
        found = self._compiled.get(keys)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(keys[1]))
            table = self.statement.table
            names = list(compiled.positiontup or ())
            processors = [
                table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
            ]
            found = self._compiled[keys] = _Bound(
                compiled.string,
                itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],)),
                [(i, process, process(None)) for i, process in enumerate(processors) if process],
            )
        bound = []
        for row in rows:
            values = list(found.values(row))
            for i, process, none in found.converted:
                value = values[i]
                values[i] = none if value is None else process(value)
            bound.append(values)
        return found.sql, bound


@dataclass(frozen=True)
class _Bound:
    sql: str
    values: Callable[[Mapping[str, Any]], Sequence[Any]]  # a row's values, in the binds' order
    # The binds that convert: where, how, and what None becomes (a JSON column's None is the
    # text `null`, encoded once here rather than for every audit row's empty before and after).
    converted: list[tuple[int, Callable[[Any], Any], Any]]


def _announce(engine: AsyncEngine, sql: str, args: Any) -> None:
    """The statement to the engine's ``before_cursor_execute`` listeners, as SQLAlchemy would
    (no connection object is at hand in place: they are given None)."""
    engine.sync_engine.dispatch.before_cursor_execute(None, None, sql, args, None, False)

"""Hot reads: a Core SELECT compiled once per dialect and sent in one call to the driver.

Through SQLAlchemy's async adapters a SELECT on aiosqlite costs five hops to the connection's
thread (cursor, execute, fetch, close, rollback), each a queue hand-off and an event-loop
wake-up: most of a lookup's CPU (bench/answers.py). Here aiosqlite's ``execute_fetchall`` makes
it one hop, and asyncpg's ``fetch`` one round trip; the rows are read with the same per-column
result processors SQLAlchemy would apply, and the engine's ``before_cursor_execute`` listeners
still see the statement (the statement log, tests/e2e/test_round_trips.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any] | None


class _Compiled:
    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.names = list(compiled.positiontup or ())
        self.columns = list(statement.selected_columns)
        self.processors: list[Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.columns
        ]


class HotRead:
    """``statement`` takes plain bind values only (strings, numbers): none is converted."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    async def all(
        self, connection: AsyncConnection, values: Mapping[str, Any]
    ) -> list[dict[Any, Any]]:
        """Each row as a mapping from the statement's columns to their values."""
        dialect = connection.dialect
        driver = dialect.driver
        if driver not in ("aiosqlite", "asyncpg"):
            result = await connection.execute(self.statement, dict(values))
            return [dict(row._mapping) for row in result]
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        args = [values[name] for name in compiled.names]
        sync = connection.sync_connection
        assert sync is not None
        sync.dispatch.before_cursor_execute(sync, None, compiled.sql, args, None, False)
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        if driver == "aiosqlite":
            rows = await raw.execute_fetchall(compiled.sql, args)
        else:
            rows = await raw.fetch(compiled.sql, *args)
        columns, processors = compiled.columns, compiled.processors
        return [
            {
                column: (process(value) if process is not None else value)
                for column, process, value in zip(columns, processors, row, strict=True)
            }
            for row in rows
        ]

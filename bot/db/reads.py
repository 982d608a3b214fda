"""Hot reads: a Core SELECT compiled once per dialect and sent in one call to the driver.

Through SQLAlchemy's async adapters a SELECT costs several driver calls (cursor, execute, fetch,
close), each a hop to aiosqlite's thread or a step of asyncpg. Here it is one: asyncpg's
``fetch`` (one round trip), or, on SQLite, one ``sqlite3`` call (below). The rows are read with
the same per-column result processors SQLAlchemy would apply, and the engine's
``before_cursor_execute`` listeners still see the statement (the statement log,
tests/e2e/test_round_trips.py).

On SQLite a hot read is made on the event loop's own thread, on a plain ``sqlite3`` connection
kept for them (``_Reader``), not through aiosqlite. An aiosqlite connection is a thread; under
load every hand-off to it and back is a fight for the GIL with the busy loop (the thread waits
for the GIL to start, again after each step SQLite takes without it, again to hand the rows
back): about seventy futex calls and twenty context switches per lookup, more CPU than
everything else the lookup does. The read itself, a primary-key seek in a WAL database, takes
20-50 microseconds; done in place it costs that and nothing more (bench/answers.py). It cannot
block the loop on a lock: in WAL mode readers never wait for writers. Writes stay on aiosqlite
(a writer may wait for the write lock). A SELECT outside a transaction sees every commit made
before it, as a pooled connection's would, and holds no read transaction open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Select, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db.engine import sqlite_pragmas as on_connect

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

    def mappings(self, rows: Iterable[Sequence[Any]]) -> list[dict[Any, Any]]:
        columns, processors = self.columns, self.processors
        return [
            {
                column: (process(value) if process is not None else value)
                for column, process, value in zip(columns, processors, row, strict=True)
            }
            for row in rows
        ]


class HotRead:
    """``statement`` takes plain bind values only (strings, numbers): none is converted."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    async def all(self, engine: AsyncEngine, values: Mapping[str, Any]) -> list[dict[Any, Any]]:
        """Each row as a mapping from the statement's columns to their values."""
        dialect = engine.dialect
        driver = dialect.driver
        reader = _Reader.of(engine) if driver == "aiosqlite" else None
        if reader is not None:
            compiled, args = self._bound(dialect, values)
            engine.sync_engine.dispatch.before_cursor_execute(
                None, None, compiled.sql, args, None, False
            )
            return compiled.mappings(reader.execute(compiled.sql, args).fetchall())
        async with engine.connect() as connection:
            if driver != "asyncpg":
                result = await connection.execute(self.statement, dict(values))
                return [dict(row._mapping) for row in result]
            return await self._fetch(connection, values)

    async def _fetch(
        self, connection: AsyncConnection, values: Mapping[str, Any]
    ) -> list[dict[Any, Any]]:
        """asyncpg: one round trip on a pooled connection (no transaction is begun for it)."""
        compiled, args = self._bound(connection.dialect, values)
        sync = connection.sync_connection
        assert sync is not None
        sync.dispatch.before_cursor_execute(sync, None, compiled.sql, args, None, False)
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        return compiled.mappings(await raw.fetch(compiled.sql, *args))

    def _bound(self, dialect: Dialect, values: Mapping[str, Any]) -> tuple[_Compiled, list[Any]]:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return compiled, [values[name] for name in compiled.names]


class _Reader:
    """The hot reads' connection of one SQLite engine: a plain ``sqlite3`` connection to the
    same file with the engine's pragmas, read on the event loop's own thread, closed when the
    engine is disposed. None for a database only a pooled connection can see (in memory)."""

    _engines: WeakKeyDictionary[Engine, sqlite3.Connection] = WeakKeyDictionary()

    @classmethod
    def of(cls, engine: AsyncEngine) -> sqlite3.Connection | None:
        sync = engine.sync_engine
        reader = cls._engines.get(sync)
        if reader is not None:
            return reader
        path = sync.url.database
        if not path or path == ":memory:" or sync.url.query.get("mode") == "memory":
            return None
        reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        on_connect(reader, None)
        cls._engines[sync] = reader

        def close(_: Engine) -> None:
            if cls._engines.get(sync) is reader:
                del cls._engines[sync]
            reader.close()

        event.listen(sync, "engine_disposed", close, once=True)
        return reader

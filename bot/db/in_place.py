"""SQLite statements made in place, on the event loop's own thread, when SQLite need not wait.

An aiosqlite connection is a thread. Under load every hand-off to it and back is a fight for the
GIL with the busy loop: the thread waits for the GIL to start, again after each step SQLite
takes without it, again to hand the rows back. Measured with ``strace -c`` and ``getrusage`` on
the bot answering twenty lookups at once: about seventy futex calls and twenty context switches
a lookup, more CPU than everything else the lookup did. The statements of the hot path themselves are short: a primary-key read takes
20-50 microseconds, an audit row's INSERT and COMMIT about 30 (WAL, ``synchronous=NORMAL``: a
commit appends to the WAL and does not sync). Made in place they cost that and nothing more.

The loop must never wait on SQLite, so this connection has no busy timeout: a statement that
would have to wait (a write while another connection holds the write lock; a read during the
rare recovery of the WAL index) fails at once, and the caller makes it through the pool
instead, on aiosqlite's thread, as every other statement is. Its commits never checkpoint the
WAL into the database file (``wal_autocheckpoint=0``: the worker checkpoints in the background,
db/engine.py), and it never holds a transaction across an await: BEGIN and COMMIT are one
synchronous step, so no other writer waits behind it for longer than that step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import sqlite_pragmas

# What SQLite answers instead of waiting, with no busy timeout (primary result codes).
_WOULD_WAIT = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class InPlace:
    """One per SQLite engine and file (``of``), closed when the engine is disposed."""

    _engines: WeakKeyDictionary[Engine, InPlace] = WeakKeyDictionary()

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        sqlite_pragmas(self._connection, None)
        self._connection.execute("PRAGMA busy_timeout=0")
        self._connection.execute("PRAGMA wal_autocheckpoint=0")

    @classmethod
    def of(cls, engine: AsyncEngine) -> InPlace | None:
        """None unless ``engine`` is aiosqlite on a file (a database in memory is seen only by
        the pool's connections)."""
        sync = engine.sync_engine
        found = cls._engines.get(sync)
        if found is not None:
            return found
        url = sync.url
        if url.get_driver_name() != "aiosqlite":
            return None
        if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
            return None
        made = cls._engines[sync] = cls(url.database)

        def close(_: Engine) -> None:
            if cls._engines.get(sync) is made:
                del cls._engines[sync]
            made._connection.close()

        event.listen(sync, "engine_disposed", close, once=True)
        return made

    def read(self, sql: str, args: Sequence[Any]) -> list[Any] | None:
        """The rows; None when SQLite would have to wait."""
        try:
            return self._connection.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if _would_wait(exc):
                return None
            raise

    def write(self, sql: str, rows: Sequence[Sequence[Any]]) -> bool:
        """The rows inserted and committed; False (nothing written) when another connection
        holds the write lock."""
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _would_wait(exc):
                return False
            raise
        try:
            self._connection.executemany(sql, rows)
            self._connection.execute("COMMIT")
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        return True


def _would_wait(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _WOULD_WAIT

"""The async engine and session factory, configured once per process."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        # Each SQLite connection is a thread, a file open and the pragmas: too dear to pay while
        # requests wait, and an overflow connection is opened for one checkout and closed after
        # it. Kept connections cost a parked thread each, so twice PostgreSQL's number are kept:
        # a burst of twenty lookups opened and closed ten connections each round otherwise, and
        # took twice as long (bench/answers.py).
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=2 * pool_size, max_overflow=pool_size
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_timeout=10
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work while one writer writes; busy_timeout makes writers queue, not fail.

    A commit that fills the WAL past ``wal_autocheckpoint`` pages copies it into the database
    file (and syncs it) before it returns, stalling every write queued behind it for tens of
    milliseconds; the bot's worker checkpoints in the background instead (``checkpoint``), so
    the raised threshold is only a backstop.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


async def checkpoint(sessions: SessionFactory) -> None:
    """On SQLite, copy what the WAL holds into the database file without waiting for (or
    holding up) readers and writers."""
    async with sessions() as session:
        await session.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))


def engine_of(sessions: SessionFactory) -> AsyncEngine:
    """The engine a session factory was made for: hot reads use a plain connection from it."""
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)

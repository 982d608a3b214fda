"""The async engine and session factory, configured once per process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolResetState

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        # Each SQLite connection is a thread, a file open and the pragmas: too dear to pay while
        # requests wait, and an overflow connection is opened for one checkout and closed after
        # it. Kept connections cost a parked thread each, so twice PostgreSQL's number are kept:
        # a burst of twenty lookups opened and closed ten connections each round otherwise, and
        # took twice as long (bench/answers.py).
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            pool_size=2 * pool_size,
            max_overflow=pool_size,
            pool_reset_on_return=None,  # _rollback_if_open instead: a hop only when needed
        )
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        event.listen(engine.sync_engine.pool, "reset", _rollback_if_open)
        return engine
    # A connection is pinged before use only after a quiet spell (_ping_if_idle): the pool's own
    # pre-ping costs three round trips (BEGIN, ping, ROLLBACK) before every statement.
    # Twice the pool kept, as on SQLite: twenty lookups at once opened and closed overflow
    # connections (a TLS attempt, a backend, the statements prepared again) for every request
    # past the tenth, three times the CPU of an answer (bench/answers.py --database postgresql).
    engine = create_async_engine(
        url, pool_size=2 * pool_size, max_overflow=pool_size, pool_timeout=10
    )
    event.listen(engine.sync_engine.pool, "checkin", _checked_in)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


IDLE_PING_SECONDS = 5.0


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["paybot_checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A connection unused for a while may have been cut (a database restart, a firewall's idle
    timeout): it is pinged, and a dead one replaced before anyone uses it, as pre-ping would.
    One in steady use is not: a failure on it is a disconnect SQLAlchemy recovers from."""
    since = record.info.get("paybot_checked_in")
    if since is not None and time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError("the connection was lost while idle") from exc


def _rollback_if_open(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """A connection given back to the pool with a transaction open is rolled back, as the pool
    would; one without (every read: SQLite begins only for a write) is not, which would cost a
    hop to aiosqlite's thread for nothing on each of them."""
    if state.terminate_only or state.transaction_was_reset or not state.asyncio_safe:
        return
    if dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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
    return async_sessionmaker(engine, expire_on_commit=False, info={_WAKEUP: Wakeup()})


_WAKEUP, _DUE = "paybot_wakeup", "paybot_wake_due"


def _nothing() -> None:
    return None


class Wakeup:
    """The worker's doorbell, shared by every session of one factory: rung after a commit that
    recorded work for it (``wake_after_commit``), never before, so the worker cannot look for
    the work before it is there, and never for a transaction that rolled back."""

    def __init__(self) -> None:
        self._ring: Callable[[], None] = _nothing

    def connect(self, ring: Callable[[], None]) -> None:
        self._ring = ring

    def __call__(self) -> None:
        self._ring()


def wakeup(sessions: SessionFactory) -> Wakeup:
    found = sessions.kw["info"][_WAKEUP]
    assert isinstance(found, Wakeup)
    return found


def wake_after_commit(session: AsyncSession) -> None:
    """Ring the worker once this session's transaction has committed."""
    session.sync_session.info[_DUE] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_DUE, False):
        ring = session.info.get(_WAKEUP)
        if ring is not None:
            ring()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_DUE, None)

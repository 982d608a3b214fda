"""A few asyncpg connections kept for the hot path's statements on PostgreSQL.

Taking a connection from SQLAlchemy's pool and giving it back costs more CPU than the statement
sent on it: 120 microseconds against 30 for a `SELECT 1` (an AsyncConnection made, the pool's
checkout and checkin run through a greenlet, its events and its reset). asyncpg's own pool is no
cheaper (it resets each connection it is given back, a round trip). The hot path's statements (a
lookup's read, the actor's read, the audit group's INSERT, db/hot.py) need none of that: each is
one driver call, or one transaction that ends before the connection is given back.

So a few connections are taken from the engine's pool once, made by it as every other one is
(its connect arguments and SQLAlchemy's codecs), and detached from it: the pool keeps its full
size, and these live until the engine closes (``close``, from the store) or is disposed (then
they are terminated). A connection that fails is dropped, and the next use opens another.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

# Connections kept per engine: a hot statement holds one for a round trip of a few hundred
# microseconds, so twenty requests at once wait their turn briefly rather than open more.
SIZE = 2


class Kept:
    """One per asyncpg engine (``of``)."""

    _engines: WeakKeyDictionary[Engine, Kept] = WeakKeyDictionary()

    def __init__(self, engine: AsyncEngine, size: int = SIZE) -> None:
        self._engine = engine
        self._loop = asyncio.get_running_loop()  # asyncpg connections serve the loop they met
        self._size = size
        self._idle: list[Any] = []  # asyncpg connections not in use
        self._open = 0  # connections made and not dropped, in use or idle
        self._waiting: deque[asyncio.Future[Any]] = deque()

    @classmethod
    def of(cls, engine: AsyncEngine) -> Kept | None:
        """None unless ``engine`` is asyncpg's, and used on the loop its kept connections were
        made on (an engine used under another loop takes the pool's way)."""
        sync = engine.sync_engine
        found = cls._engines.get(sync)
        if found is not None:
            return found if found._loop is asyncio.get_running_loop() else None
        if engine.dialect.driver != "asyncpg":
            return None
        made = cls._engines[sync] = cls(engine)

        def terminate(_: Engine) -> None:
            if cls._engines.get(sync) is made:
                del cls._engines[sync]
            made.terminate()

        event.listen(sync, "engine_disposed", terminate, once=True)
        return made

    @classmethod
    async def close(cls, engine: AsyncEngine) -> None:
        """Close ``engine``'s kept connections (before the engine is disposed)."""
        found = cls._engines.pop(engine.sync_engine, None)
        if found is not None:
            await found.close_all()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """An asyncpg connection to send statements on, outside any transaction; given back
        when done, or dropped if it failed or was left inside a transaction."""
        raw = await self._take()
        healthy = False
        try:
            yield raw
            healthy = not raw.is_closed() and not raw.is_in_transaction()
        finally:
            if healthy:
                self._give_back(raw)
            else:
                self._drop(raw)

    async def _take(self) -> Any:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._open < self._size:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._open -= 1
                    self._wake(None)
                    raise
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                raw = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._give_back(waiter.result())  # handed over as we were cancelled
                raise
            if raw is not None:
                return raw
            # None: a connection was dropped, so one may be opened (round again)

    async def _connect(self) -> Any:
        """A connection the engine's pool made, then detached from it: the pool counts it no
        more, and it is never given back to it."""
        connection = await self._engine.connect()
        pooled = await connection.get_raw_connection()
        raw = pooled.driver_connection
        pooled.detach()  # closing ``connection`` now would close the detached one: it is left
        return raw

    def _give_back(self, raw: Any) -> None:
        if not self._wake(raw):
            self._idle.append(raw)

    def _drop(self, raw: Any) -> None:
        self._open -= 1
        raw.terminate()
        self._wake(None)

    def _wake(self, raw: Any) -> bool:
        """Hand ``raw`` (or None: room to open one) to the first request still waiting."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(raw)
                return True
        return False

    async def close_all(self) -> None:
        idle, self._idle = self._idle, []
        for raw in idle:
            await raw.close()
        self._open -= len(idle)

    def terminate(self) -> None:
        """The engine was disposed: close what is idle at once (nothing to wait for)."""
        idle, self._idle = self._idle, []
        for raw in idle:
            raw.terminate()
        self._open -= len(idle)

"""Group commit: small independent writes from concurrent requests share one transaction.

SQLite lets one writer in at a time, and a commit costs about the same for one row as for fifty.
Twenty requests each committing their own audit row queue behind the write lock (sleeping in
SQLite's busy handler while they wait); handed here, they go out together: one statement per
kind of write and one commit for all. Each caller still returns only once its own write is
committed, so nothing is answered before it is stored.

Every item waits for the next turn of the event loop, even when nothing else is queued: the
requests whose work reaches its write in the same turn share the commit. On SQLite an audit
row's commit appends some 18 KB to the WAL (the row's page and its three indexes' pages): a row
committed alone cost 64 microseconds, and under the lookup load of bench/answers.py sharing the
turn's commit took a tenth of a lookup's CPU off (0.96 to 0.87 ms) and its p50 from 19 to 17 ms.

A batch that only inserts rows may be handed to the driver directly (``insert_directly``,
db/hot.py): on PostgreSQL the group in one atomic asyncpg call; on SQLite in place
(db/in_place.py), when the write lock is free. When it is not (another connection is writing),
the group waits a few milliseconds for it rather than going through the pool at once: a group written through the pool holds the lock
across its hops to aiosqlite's thread, so every row arriving meanwhile found the lock taken
too, and under the lookup load of bench/answers.py 44% of the rows went the slow way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import SessionFactory, engine_of
from bot.db.hot import HotInsert
from bot.db.in_place import InPlace

P = TypeVar("P")
R = TypeVar("R")
# Writes a list of items in the caller's transaction; one result per item, in order.
Batch = Callable[[AsyncSession, list[P]], Awaitable[Sequence[R]]]
_Pending = tuple[Batch[Any, Any], Any, "asyncio.Future[Any]"]
# How long a group waits for SQLite's write lock to write in place (seconds, one after another).
IN_PLACE_WAITS = (0.001, 0.002, 0.004, 0.008)


class GroupCommit:
    def __init__(self, sessions: SessionFactory, *, most: int = 200) -> None:
        self._sessions = sessions
        self._engine = engine_of(sessions)
        self._most = most  # items in one transaction at most
        self._queue: list[_Pending] = []
        self._flushing: asyncio.Task[None] | None = None
        self._direct: dict[Batch[Any, Any], HotInsert] = {}

    def insert_directly(self, batch: Batch[Any, None], rows: HotInsert) -> None:
        """``batch`` only inserts its items as rows with ``rows``' statement (each result is
        None): they are handed to the driver directly when they can be."""
        self._direct[batch] = rows

    async def run(self, batch: Batch[P, R], item: P) -> R:
        """Write ``item`` with ``batch``, in a transaction shared with the items queued around
        it; its result once committed. Should the shared transaction fail, each item is written
        again in a transaction of its own, so an item's error reaches its own caller only."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((batch, item, future))
        flushing = self._flushing
        if flushing is None or flushing.done() or flushing.get_loop() is not loop:
            self._flushing = loop.create_task(self._flush(), name="paybot-group-commit")
        return await future

    async def _flush(self) -> None:
        try:
            while self._queue:
                group = [pending for pending in self._queue[: self._most] if not pending[2].done()]
                del self._queue[: self._most]
                if group:
                    await self._commit(group)
        except BaseException:  # cancelled (shutdown): nobody waits for writes never made
            for _, _, future in self._queue:
                future.cancel()
            self._queue.clear()
            raise

    async def _commit(self, group: list[_Pending]) -> None:
        by_batch: dict[Batch[Any, Any], list[_Pending]] = {}
        for pending in group:
            by_batch.setdefault(pending[0], []).append(pending)
        if len(by_batch) == 1 and await self._written_by_the_driver(group):
            return
        try:
            async with self._sessions.begin() as session:
                results: list[tuple[_Pending, Any]] = []
                for batch, pendings in by_batch.items():
                    written = await batch(session, [item for _, item, _ in pendings])
                    results.extend(zip(pendings, written, strict=True))
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][2], error=exc)
            else:
                for pending in group:
                    await self._commit([pending])
            return
        except BaseException:
            for _, _, future in group:
                future.cancel()
            raise
        for (_, _, future), result in results:
            _settle(future, result=result)

    async def _written_by_the_driver(self, group: list[_Pending]) -> bool:
        """The group (of one batch that only inserts) written in one driver call: on
        PostgreSQL on a kept connection (db/kept.py); on SQLite in place, waiting a little for
        the write lock. False: the session's way, item by item if need be, writes it or says what is
        wrong."""
        rows = self._direct.get(group[0][0])
        if rows is None:
            return False
        items = [item for _, item, _ in group]
        try:
            if await rows.on_kept(self._engine, items):
                return self._settled(group)
            if InPlace.of(self._engine) is None:
                return False
            for wait in (0, *IN_PLACE_WAITS):
                if wait:
                    await asyncio.sleep(wait)
                if rows.in_place(self._engine, items):
                    return self._settled(group)
        except Exception:
            return False
        return False

    @staticmethod
    def _settled(group: list[_Pending]) -> bool:
        for _, _, future in group:
            _settle(future)
        return True


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():  # its caller was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

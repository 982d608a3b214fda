"""Group commit: small independent writes from concurrent requests share one transaction.

SQLite lets one writer in at a time, and a commit costs about the same for one row as for fifty.
Twenty requests each committing their own audit row queue behind the write lock (sleeping in
SQLite's busy handler while they wait); handed here, they go out together: one statement per
kind of write and one commit for all. Each caller still returns only once its own write is
committed, so nothing is answered before it is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import SessionFactory

P = TypeVar("P")
R = TypeVar("R")
# Writes a list of items in the caller's transaction; one result per item, in order.
Batch = Callable[[AsyncSession, list[P]], Awaitable[Sequence[R]]]
_Pending = tuple[Batch[Any, Any], Any, "asyncio.Future[Any]"]


class GroupCommit:
    def __init__(self, sessions: SessionFactory, *, most: int = 200) -> None:
        self._sessions = sessions
        self._most = most  # items in one transaction at most
        self._queue: list[_Pending] = []
        self._flushing: asyncio.Task[None] | None = None

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


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():  # its caller was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

"""Changes to portal users announced to every bot process on PostgreSQL (LISTEN/NOTIFY), so each
drops what it cached about them at once instead of reading them again on every request.

The announcement is sent in the changing transaction: PostgreSQL delivers it at commit (and
never for a rollback), to every listening connection, before the commit returns to the writer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.freshness import LISTENING_TTL_SECONDS, Freshness

log = logging.getLogger("paybot.changes")

CHANNEL = "paybot_portal_users"
_NOTIFY = select(text(f"pg_notify('{CHANNEL}', '')"))
RETRY_SECONDS = 1.0


async def announce(session: AsyncSession) -> None:
    """Tell every process, once this transaction commits, that portal users changed. On SQLite
    (one bot process) there is nobody to tell: the caller drops its own caches."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        await session.execute(_NOTIFY)


class Listener:
    """One connection of its own LISTENing; while it is up, the caches may be reused (``ttl``),
    and every notification drops them. Down, nothing is reused and it reconnects."""

    def __init__(self, engine: AsyncEngine, freshness: Freshness) -> None:
        self._engine = engine
        self._freshness = freshness
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._engine.dialect.name == "postgresql" and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._listen(), name="paybot-changes"
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _changed(self, *_: Any) -> None:
        self._freshness.forget()

    async def _listen(self) -> None:
        args, options = self._engine.dialect.create_connect_args(self._engine.url)
        for key in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            options.pop(key, None)
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(*args, **options)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _, ended=lost: ended.set())
                await connection.add_listener(CHANNEL, self._changed)
                self._freshness.forget()  # what changed while nobody listened
                self._freshness.ttl = LISTENING_TTL_SECONDS
                await lost.wait()
                log.warning("the change listener lost its connection; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("the change listener could not connect: %s", exc)
            finally:
                self._freshness.ttl = 0  # nobody would tell us of a change: reuse nothing
                self._freshness.forget()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(RETRY_SECONDS)

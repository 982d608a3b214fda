"""The asyncpg connections kept for the hot path (bot/db/kept.py): shared by more requests than
there are connections, replaced when one fails, never counted by the engine's pool, and closed
with the engine."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db.kept import SIZE, Kept
from tests.processes import postgres_database


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with postgres_database() as url:
        made = create_async_engine(url, pool_size=2, max_overflow=0, pool_timeout=2)
        try:
            yield made
        finally:
            await Kept.close(made)
            await made.dispose()


async def backend_pid(kept: Kept) -> int:
    async with kept.connection() as raw:
        return int(await raw.fetchval("SELECT pg_backend_pid()"))


async def test_many_requests_share_a_few_connections(engine: AsyncEngine) -> None:
    kept = Kept.of(engine)
    assert kept is not None and Kept.of(engine) is kept

    async def one(n: int) -> tuple[int, int]:
        async with kept.connection() as raw:
            await asyncio.sleep(0.01)  # each holds its connection across an await
            return int(await raw.fetchval("SELECT $1::int", n)), int(
                await raw.fetchval("SELECT pg_backend_pid()")
            )

    answers = await asyncio.gather(*(one(n) for n in range(40)))
    assert [n for n, _ in answers] == list(range(40))
    assert len({pid for _, pid in answers}) == SIZE, "the forty waited for the kept connections"


async def test_the_pool_keeps_its_full_size(engine: AsyncEngine) -> None:
    kept = Kept.of(engine)
    assert kept is not None
    await asyncio.gather(*(backend_pid(kept) for _ in range(10)))
    # pool_size=2, no overflow: both pooled connections are still there to be taken at once.
    async with engine.connect() as first, engine.connect() as second:
        assert await first.scalar(text("SELECT 1")) == await second.scalar(text("SELECT 1")) == 1


async def test_a_connection_that_failed_is_dropped_and_replaced(engine: AsyncEngine) -> None:
    kept = Kept.of(engine)
    assert kept is not None
    async with kept.connection() as raw:
        cut = int(await raw.fetchval("SELECT pg_backend_pid()"))
        raw.terminate()  # as if the server had cut it
    pids = set(await asyncio.gather(*(backend_pid(kept) for _ in range(SIZE * 3))))
    assert cut not in pids and len(pids) == SIZE, "replaced by a new one, the count kept"


async def test_a_connection_left_inside_a_transaction_is_not_given_to_another(
    engine: AsyncEngine,
) -> None:
    kept = Kept.of(engine)
    assert kept is not None
    async with kept.connection() as raw:
        await raw.execute("BEGIN")
        left = int(await raw.fetchval("SELECT pg_backend_pid()"))
    pids = {await backend_pid(kept) for _ in range(SIZE * 3)}
    assert left not in pids


async def test_a_request_cancelled_while_waiting_takes_nothing(engine: AsyncEngine) -> None:
    kept = Kept.of(engine)
    assert kept is not None
    release = asyncio.Event()

    async def hold() -> None:
        async with kept.connection():
            await release.wait()

    holders = [asyncio.ensure_future(hold()) for _ in range(SIZE)]
    await asyncio.sleep(0.1)
    waiting = asyncio.ensure_future(backend_pid(kept))
    await asyncio.sleep(0.05)
    waiting.cancel()
    release.set()
    await asyncio.gather(*holders)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert len({await backend_pid(kept) for _ in range(SIZE * 2)}) <= SIZE


async def test_closing_and_disposing_leave_nothing_open() -> None:
    async with postgres_database() as url:
        for closed_first in (True, False):
            engine = create_async_engine(url)
            kept = Kept.of(engine)
            assert kept is not None
            await asyncio.gather(*(backend_pid(kept) for _ in range(4)))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if closed_first:
                    await Kept.close(engine)
                await engine.dispose()  # unclosed ones are terminated then
                gc.collect()
            assert not [w for w in caught if "unclosed" in str(w.message)], caught
            assert Kept.of(create_async_engine("sqlite+aiosqlite://")) is None


async def test_an_engine_used_under_another_loop_takes_the_pools_way(engine: AsyncEngine) -> None:
    kept = Kept.of(engine)
    assert kept is not None

    def elsewhere() -> Kept | None:
        async def look() -> Kept | None:
            return Kept.of(engine)

        return asyncio.run(look())

    assert await asyncio.to_thread(elsewhere) is None
    assert Kept.of(engine) is kept

"""Webhook intake: signed sandbox events posted to `paybot serve`'s POST /webhooks/sandbox, one
event a request at a given concurrency; the time to each 2xx answer, and the time until all of
them are stored (rows in processor_events).

    .venv/bin/python bench/webhooks.py [--events 1000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import func, select
from support import (
    APPROVALS,
    NOTIFY,
    WEBHOOK_SECRET,
    WatchedSlack,
    copy_database,
    cpu_seconds,
    machine,
    paybot_server,
    percentile,
    run,
    seeded_database,
)

from bot.db.engine import create_engine, create_session_factory
from bot.db.models import ProcessorEventRow
from bot.domain import EventType, ProcessorEvent
from bot.processors.sandbox.models import SandboxTransaction
from bot.processors.sandbox.webhooks import encode

TRANSACTIONS = 100_000
WARM_UP = 100  # events posted (and stored) before the timed ones, as a running bot is warm


async def stored(url: str, prefix: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with create_session_factory(engine)() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(ProcessorEventRow)
                .where(ProcessorEventRow.event_id.startswith(prefix))
            )
    finally:
        await engine.dispose()
    return int(count or 0)


async def main(events: int, concurrency: int) -> dict[str, float]:
    print(f"Webhook intake: {machine()}")
    fake = WatchedSlack()
    await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="paybot-bench-") as name:
        folder = Path(name)
        url = copy_database(await seeded_database(TRANSACTIONS), folder)
        engine = create_engine(url, pool_size=1)
        async with create_session_factory(engine)() as session:
            ids = list(await session.scalars(select(SandboxTransaction.id).limit(events)))
        await engine.dispose()
        bot = paybot_server(url, fake.base_url, folder)
        prefix = f"evt_bench_{int(time.time())}_"
        now = datetime.now(UTC)
        posts = [
            encode(
                [
                    ProcessorEvent(
                        id=f"{prefix}{number:05d}",
                        type=EventType.PAYMENT_CREATED,
                        object_id=ids[number % len(ids)],
                        created_at=now,
                        data={"transaction_id": ids[number % len(ids)], "status": "succeeded"},
                    )
                ],
                WEBHOOK_SECRET,
                now,
            )
            for number in range(events + WARM_UP)
        ]
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        try:
            await bot.start()
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as http:

                async def post(queue: list[tuple[bytes, dict[str, str]]], timed: bool) -> None:
                    while queue:
                        body, headers = queue.pop()
                        started = time.perf_counter()
                        async with http.post(
                            f"{bot.url}/webhooks/sandbox", data=body, headers=headers
                        ) as answer:
                            await answer.read()
                        if timed:
                            latencies.append((time.perf_counter() - started) * 1000)
                        statuses[answer.status] = statuses.get(answer.status, 0) + 1

                warm = list(reversed(posts[:WARM_UP]))
                await asyncio.gather(*(post(warm, False) for _ in range(concurrency)))
                queue = list(reversed(posts[WARM_UP:]))
                used = cpu_seconds(bot.pid)
                started = time.perf_counter()
                await asyncio.gather(*(post(queue, True) for _ in range(concurrency)))
                answered = time.perf_counter() - started
                cpu = cpu_seconds(bot.pid) - used
                while (count := await stored(url, prefix)) < events + WARM_UP:
                    if time.perf_counter() - started > 120:
                        break
                    await asyncio.sleep(0.01)
                all_stored = time.perf_counter() - started
        finally:
            bot.stop()
            await fake.stop()
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    figures.update(
        p50=percentile(latencies, 0.5),
        p99=percentile(latencies, 0.99),
        max=max(latencies),
        answered_s=answered,
        stored_s=all_stored,
        stored=count - WARM_UP,
        ok=ok - WARM_UP,
        cpu_ms=cpu * 1000 / events,
    )
    print(
        f"  {events:,} events, one a POST, concurrency {concurrency}, after {WARM_UP} to warm "
        f"up: {ok - WARM_UP:,} answered 2xx (statuses {dict(sorted(statuses.items()))})"
    )
    print(
        f"  time to the 2xx answer: p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms "
        f"(target < 20 ms), max {figures['max']:.1f} ms; server CPU "
        f"{figures['cpu_ms']:.2f} ms a webhook"
    )
    print(
        f"  all answered in {answered:.2f} s ({events / answered:,.0f} a second); "
        f"{count - WARM_UP:,} stored in processor_events {all_stored:.2f} s after the first post"
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    arguments = parser.parse_args()
    run(main(arguments.events, arguments.concurrency))

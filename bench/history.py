"""How fast `/pay history` is on a million payments: seeds the sandbox in a temporary SQLite
database, then prints p50 / p99 of the first page, a page deep in, and searches, each measured
through the History service (gateway, keyset cursor, the page's refunds and disputes, columns).

    .venv/bin/python bench/history.py [--transactions 1000000] [--repeats 50] [--database FILE]

``--database`` keeps the seeded file for another run (seeding a million takes minutes); a file
that already holds transactions is used as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import HistorySort, PortalAccount, Source
from bot.overview import HistoryFilter
from bot.processors.sandbox import SandboxSimulator
from bot.processors.sandbox.models import SandboxTransaction
from bot.processors.sandbox.paging import TRANSACTION_ORDERS, encode_cursor
from bot.services.history import parse_history
from bot.store import Store, open_store

NOW = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)
CHUNK = 100_000  # seeded in chunks, so the plan held in memory stays small
ACTOR = PortalAccount("bench", "Bench", "bench@firm.com", "viewer", True, "UBENCH")
SEARCHES = (
    "MAT-1001",  # the busiest matter
    "MAT-1040",  # a quiet one
    "okafor",  # part of customers' names
    "4242",  # a card's last four
    "1,500.00",  # an exact amount (a common retainer)
    "txn_4f",  # the start of an id
    "sales MAT-1020 sort:amount",
    "refunds sort:oldest",
)


async def seed(store: Store, clock: ManualClock, transactions: int) -> None:
    simulator = SandboxSimulator(store.sessions, clock)
    done, number = 0, 0
    while done < transactions:
        number += 1
        started = time.perf_counter()
        done += await simulator.seed(min(CHUNK, transactions - done), seed=number)
        print(f"  seeded {done:>9,} ({time.perf_counter() - started:.1f}s for this chunk)")


async def deep_cursor(store: Store, offset: int) -> str:
    """The cursor a person reaches after paging ``offset`` rows in (found once, not timed)."""
    keyset = TRANSACTION_ORDERS[HistorySort.NEWEST]
    T = SandboxTransaction
    async with store.sessions() as session:
        row = await session.scalar(
            select(T).order_by(T.created_at.desc(), T.id.desc()).offset(offset).limit(1)
        )
    assert row is not None, "seed more transactions than the offset"
    return encode_cursor(keyset, row, backward=False)


async def timings(call: Callable[[], Awaitable[object]], repeats: int) -> tuple[float, float]:
    await call()  # warm the cache, as a running bot would have it
    spent = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    p99 = spent[min(len(spent) - 1, round(0.99 * (len(spent) - 1)))]
    return statistics.median(spent), p99


def report(name: str, p50: float, p99: float) -> None:
    print(f"  {name:<36} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")


async def main(transactions: int, repeats: int, database: Path | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{database or Path(folder) / 'bench.db'}"
        clock = ManualClock(NOW)
        store = await open_store(load_settings(database_url=url), clock=clock)
        try:
            async with store.sessions() as session:
                existing = int(await session.scalar(select(func.count(SandboxTransaction.id))) or 0)
            if existing:
                print(f"Using the {existing:,} transactions already in {url}\n")
                transactions = existing
            else:
                print(f"Seeding {transactions:,} sandbox transactions into {url}")
                started = time.perf_counter()
                await seed(store, clock, transactions)
                print(f"  done in {time.perf_counter() - started:.0f}s\n")
            history = store.services.history
            deep = await deep_cursor(store, transactions // 2)

            print(f"/pay history, {repeats} runs each (10 rows a page):")
            report(
                "first page", *await timings(lambda: history.page(ACTOR, HistoryFilter()), repeats)
            )
            report(
                f"page {transactions // 20:,} (row {transactions // 2:,})",
                *await timings(lambda: history.page(ACTOR, HistoryFilter(cursor=deep)), repeats),
            )
            for typed in SEARCHES:
                wanted = parse_history(typed)
                report(
                    f"search {typed!r}",
                    *await timings(lambda w=wanted: history.page(ACTOR, w), repeats),
                )
            page = await history.page(ACTOR, parse_history("MAT-1001"))
            following = HistoryFilter(search="MAT-1001", cursor=page.next_cursor)
            report(
                "search 'MAT-1001', page 2",
                *await timings(lambda: history.page(ACTOR, following), repeats),
            )

            print("\nAggregates (for the dashboard and reports):")
            manager = PortalAccount("m", "M", "m@firm.com", "manager", True, "UM")
            small = max(3, repeats // 10)
            report(
                "dashboard (App Home)",
                *await timings(lambda: store.services.home.dashboard(manager), small),
            )
            for period in ("30d", "90d"):
                wanted_period = store.services.reports.period(period)
                report(
                    f"report {period} (daily totals)",
                    *await timings(
                        lambda p=wanted_period: store.services.reports.build(
                            manager, p, Source.CLI
                        ),
                        small,
                    ),
                )
        finally:
            await store.close()
    print(f"\n(clock fixed at {NOW:%Y-%m-%d %H:%M} UTC; data spans {timedelta(days=90).days} days)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--database", type=Path, help="a SQLite file to keep (or reuse)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.transactions, arguments.repeats, arguments.database))

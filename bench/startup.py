"""Start-up: how long a first `paybot serve` takes to answer /healthz on an empty database and on
a sandbox of a million payments with their events, alternating, in one run. A first start on a
big database must cost no more than 0.5 s over one on an empty database: it finds the end of
the processor's event feed by the newest record (Gateway.feed_end), not by paging through it.

Timed from starting the process until GET /healthz first answers 200 (polled every 10 ms); the
empty database is created and migrated by that start, the big one was migrated when seeded.

    .venv/bin/python bench/startup.py [--transactions 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from support import WatchedSlack, copy_database, machine, paybot_server, run, seeded_database

TRANSACTIONS = 1_000_000
TARGET_S = 0.5


async def first_start(url: str, slack_url: str, folder: Path) -> float:
    """Seconds from exec to the first 200 of /healthz; the server is stopped afterwards."""
    server = paybot_server(url, slack_url, folder)
    started = time.perf_counter()
    try:
        await server.start(poll=0.01)
        return time.perf_counter() - started
    finally:
        server.stop()


async def main(transactions: int, repeats: int) -> dict[str, float]:
    print(f"Start-up: {machine()}")
    source = await seeded_database(transactions)
    with sqlite3.connect(source) as db:
        events = db.execute("SELECT count(*) FROM sandbox_events").fetchone()[0]
    fake = WatchedSlack()
    await fake.start()
    times: dict[str, list[float]] = {"empty": [], "big": []}
    try:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="paybot-bench-") as name:
                folder = Path(name)
                empty = f"sqlite+aiosqlite:///{folder / 'empty.db'}"
                times["empty"].append(await first_start(empty, fake.base_url, folder))
                big = copy_database(source, folder, "big.db")
                times["big"].append(await first_start(big, fake.base_url, folder))
                with sqlite3.connect(folder / "big.db") as db:
                    cursor = db.execute("SELECT cursor FROM event_cursors").fetchone()
                assert cursor is not None, "the first start stored no event cursor"
    finally:
        await fake.stop()
    empty_s, big_s = statistics.median(times["empty"]), statistics.median(times["big"])
    print(f"  first start, empty database: median {empty_s:.2f} s  ({_each(times['empty'])})")
    print(
        f"  first start, {transactions:,} payments and {events:,} events: median {big_s:.2f} s  "
        f"({_each(times['big'])})"
    )
    print(f"  difference {big_s - empty_s:+.2f} s (target ≤ {TARGET_S} s)")
    return {"empty_s": empty_s, "big_s": big_s, "extra_s": big_s - empty_s, "events": events}


def _each(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=TRANSACTIONS)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    run(main(arguments.transactions, arguments.repeats))

"""Answer latency: signed `/pay lookup <id>` requests against `paybot serve` on a sandbox of
100,000 payments, and the same load against the framework's floor (bench/floor.py), alternating
round by round in one run; and the bot's resident memory, idle and after the run.

A request is timed from sending it until the user sees the answer: the HTTP answer, or the
post to the response_url when the bot answers later.

``--database postgresql`` runs the bot on a database of its own on PostgreSQL at 127.0.0.1:5432
(created, seeded and dropped by the run; seeding takes about a minute per 100,000 payments).

    .venv/bin/python bench/answers.py [--requests 1000] [--concurrency 20] [--rounds 10]
        [--database sqlite|postgresql] [--transactions 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import select
from support import (
    APPROVALS,
    CHUNK,
    NOTIFY,
    NOW,
    Server,
    SignedCommand,
    WatchedSlack,
    copy_database,
    cpu_seconds,
    floor_server,
    machine,
    paybot_server,
    percentile,
    resident_mb,
    run,
    seeded_database,
    slash_command,
)

from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import Source
from bot.processors.sandbox import SandboxSimulator
from bot.processors.sandbox.models import SandboxTransaction
from bot.services.users import NewUser
from bot.store import open_store

TRANSACTIONS = 100_000
PEOPLE = 20  # portal users sending the commands (viewers and staff, as in a firm)
WRONG: list[str] = []  # the first few wrong answers, shown
WARM_UP = 40  # requests to each server before timing, as a running service would be warm
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# The targets of issue 22, as ratios to the floor measured in the same run.
TARGET_P50, TARGET_P99, TARGET_CPU, TARGET_MB = 2.0, 2.5, 2.5, 120


@asynccontextmanager
async def database(kind: str, folder: Path, transactions: int) -> AsyncIterator[str]:
    """The URL of a private sandbox of ``transactions`` payments: a copy of the cached SQLite
    file, or a PostgreSQL database made, seeded (as bench/support.py seeds) and dropped here."""
    if kind == "sqlite":
        yield copy_database(await seeded_database(transactions), folder)
        return
    name = f"paybot_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        clock = ManualClock(NOW)
        store = await open_store(load_settings(database_url=url), clock=clock)
        try:
            simulator = SandboxSimulator(store.sessions, clock)
            done, number = 0, 0
            while done < transactions:
                done += await simulator.seed(min(CHUNK, transactions - done), seed=1 + number)
                number += 1
                print(f"  seeded {done:>9,} of {transactions:,} on PostgreSQL")
        finally:
            await store.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass
class Results:
    name: str
    latencies: list[float] = field(default_factory=list)  # ms
    wrong: int = 0  # answers that were not the expected card (a refusal, an error, a timeout)
    late: int = 0  # answers that came by response_url after an empty HTTP answer
    cpu: float = 0.0  # seconds of the server's CPU during its timed rounds

    def line(self) -> str:
        values = self.latencies
        return (
            f"  {self.name:<8} p50 {percentile(values, 0.5):7.2f} ms   "
            f"p99 {percentile(values, 0.99):7.2f} ms   mean {statistics.fmean(values):7.2f} ms   "
            f"max {max(values):7.2f} ms   CPU {self.cpu_ms():5.2f} ms an answer   "
            f"({len(values)} answers, {self.wrong} wrong)"
        )

    def cpu_ms(self) -> float:
        return self.cpu * 1000 / max(1, len(self.latencies))


async def prepare(url: str, fake: WatchedSlack) -> tuple[list[str], list[str]]:
    """Portal users on the sandbox at ``url``, and the ids to look up."""
    store = await open_store(load_settings(database_url=url))
    try:
        people = []
        for number in range(PEOPLE):
            username = f"bench{number:02d}"
            slack_id = f"U0BENCH{number:02d}"
            role = "viewer" if number % 2 else "staff"
            fake.add_user(slack_id, username, username.title(), f"{username}@firm.com")
            await store.services.users.add(
                None,
                NewUser(username, username.title(), f"{username}@firm.com", role, slack_id),
                Source.CLI,
            )
            people.append(slack_id)
        async with store.sessions() as session:
            ids = list(await session.scalars(select(SandboxTransaction.id)))
    finally:
        await store.close()
    return people, ids


async def one(
    http: aiohttp.ClientSession, fake: WatchedSlack, server: Server, command: SignedCommand
) -> tuple[float, bool, bool]:
    """(milliseconds until seen, whether it was the lookup card, whether it came later)."""
    arrived = fake.expect_response(command.response_url)
    started = time.perf_counter()
    async with http.post(
        f"{server.url}/slack/events", data=command.body, headers=command.headers
    ) as answer:
        text = await answer.text()
        status = answer.status
    late = status == 200 and not text.strip()
    if late:
        try:
            await asyncio.wait_for(arrived.wait(), timeout=10)
        except TimeoutError:
            return (time.perf_counter() - started) * 1000, False, True
    spent = (time.perf_counter() - started) * 1000
    right = status == 200 and command.expect in text
    if not right and len(WRONG) < 5:
        WRONG.append(f"{server.name} {status} {text[:300]!r}")
    return spent, right, late


async def load(
    http: aiohttp.ClientSession,
    fake: WatchedSlack,
    server: Server,
    commands: list[SignedCommand],
    concurrency: int,
    results: Results | None,
) -> None:
    queue = list(reversed(commands))

    async def client() -> None:
        while queue:
            spent, right, late = await one(http, fake, server, queue.pop())
            if results is not None:
                results.latencies.append(spent)
                results.wrong += not right
                results.late += late

    await asyncio.gather(*(client() for _ in range(concurrency)))


def start_profiler(path: Path | None, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the bot during the timed rounds (collapsed stacks), when asked."""
    if path is None:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--rate", "500", "--format", "raw"]
    return subprocess.Popen([*command, "--nonblocking", "--gil", "-o", str(path)])  # noqa: S603


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)


async def main(
    requests: int,
    concurrency: int,
    rounds: int,
    profile: Path | None = None,
    kind: str = "sqlite",
    transactions: int = TRANSACTIONS,
) -> dict[str, float]:
    print(f"Answer latency on {kind}: {machine()}")
    figures: dict[str, float] = {}
    fake = WatchedSlack()
    await fake.start()
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    with tempfile.TemporaryDirectory(prefix="paybot-bench-") as name:
        folder = Path(name)
        async with database(kind, folder, transactions) as url:
            return await measure(url, folder, fake, requests, concurrency, rounds, profile, figures)


async def measure(
    url: str,
    folder: Path,
    fake: WatchedSlack,
    requests: int,
    concurrency: int,
    rounds: int,
    profile: Path | None,
    figures: dict[str, float],
) -> dict[str, float]:
    people, ids = await prepare(url, fake)
    bot = paybot_server(url, fake.base_url, folder)
    floor = floor_server(fake.base_url, folder)
    rng = random.Random(11)
    wanted = rng.sample(ids, requests)

    def commands(server: Server, batch: list[str]) -> list[SignedCommand]:
        return [
            slash_command(
                fake,
                people[i % len(people)],
                f"lookup {txn}",
                "static answer" if server is floor else f"Payment {txn}",
            )
            for i, txn in enumerate(batch)
        ]

    try:
        await bot.start()
        await floor.start()
        await asyncio.sleep(2)  # the worker's first rounds; then the bot is idle
        figures["idle_mb"] = resident_mb(bot.pid)
        figures["floor_idle_mb"] = resident_mb(floor.pid)
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as http:
            for server in (floor, bot):
                warm = rng.sample(ids, WARM_UP)
                await load(http, fake, server, commands(server, warm), concurrency, None)
            results = {s.name: Results(s.name) for s in (floor, bot)}
            per_round = requests // rounds
            print(
                f"  {requests:,} `/pay lookup <id>` each, concurrency {concurrency}, "
                f"{rounds} alternating rounds of {per_round}, sandbox of {len(ids):,} payments"
            )
            profiler = start_profiler(profile, bot.pid)
            for number in range(rounds):
                batch = wanted[number * per_round : (number + 1) * per_round]
                order = (floor, bot) if number % 2 == 0 else (bot, floor)
                for server in order:
                    used = cpu_seconds(server.pid)
                    await load(
                        http,
                        fake,
                        server,
                        commands(server, batch),
                        concurrency,
                        results[server.name],
                    )
                    results[server.name].cpu += cpu_seconds(server.pid) - used
            stop_profiler(profiler)
        figures["after_mb"] = resident_mb(bot.pid)
        figures["floor_after_mb"] = resident_mb(floor.pid)
    finally:
        bot.stop()
        floor.stop()
        await fake.stop()
    for result in results.values():
        print(result.line())
    for wrong in WRONG:
        print(f"  wrong: {wrong}")
    floor_values, bot_values = results["floor"].latencies, results["paybot"].latencies
    figures.update(
        floor_p50=percentile(floor_values, 0.5),
        floor_p99=percentile(floor_values, 0.99),
        bot_p50=percentile(bot_values, 0.5),
        bot_p99=percentile(bot_values, 0.99),
        bot_cpu_ms=results["paybot"].cpu_ms(),
        floor_cpu_ms=results["floor"].cpu_ms(),
        wrong=results["paybot"].wrong + results["floor"].wrong,
        late=results["paybot"].late,
    )
    figures["ratio_p50"] = figures["bot_p50"] / figures["floor_p50"]
    figures["ratio_p99"] = figures["bot_p99"] / figures["floor_p99"]
    figures["ratio_cpu"] = figures["bot_cpu_ms"] / figures["floor_cpu_ms"]
    print(
        f"  ratio paybot / floor: p50 {figures['ratio_p50']:.2f}x (target {TARGET_P50}x), "
        f"p99 {figures['ratio_p99']:.2f}x (target {TARGET_P99}x), "
        f"CPU an answer {figures['ratio_cpu']:.2f}x (target {TARGET_CPU}x)"
    )
    print(
        f"  resident memory (VmRSS) of paybot serve: idle {figures['idle_mb']:.0f} MB, "
        f"after the run {figures['after_mb']:.0f} MB (target < {TARGET_MB} MB); "
        f"floor {figures['floor_idle_mb']:.0f} / {figures['floor_after_mb']:.0f} MB"
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--profile", type=Path, help="write py-spy's samples of the bot here")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--transactions", type=int, default=TRANSACTIONS)
    arguments = parser.parse_args()
    run(
        main(
            arguments.requests,
            arguments.concurrency,
            arguments.rounds,
            arguments.profile,
            arguments.database,
            arguments.transactions,
        )
    )

"""The daily digest from real `paybot serve` processes on PostgreSQL, on a moved clock
(tests/shifted_clock.py): posted once at its time by two processes, and once on start by a
process restarted after a downtime that missed it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import Settings
from bot.db.models import DailyDigestRow
from bot.domain import Account, MethodType, Money, PaymentKind
from bot.processors.sandbox import SandboxSimulator
from bot.store import Store, open_store
from bot.workspace.slack_api import FakeSlack
from tests.conftest import APPROVALS, BOT_TOKEN, NOTIFY
from tests.processes import BotProcess, postgres_database

LAUNCHER = (str(Path(__file__).parents[1] / "shifted_clock.py"),)
# Tuesday 8 December 2026 in New York (EST, UTC-5); the digest at 09:00 reports Monday 7.
MONDAY_NOON = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
TUESDAY = "2026-12-08T{}-05:00"
HEADLINE = "Daily settlement for 2026-12-07"


class Digests:
    def __init__(self, fake: FakeSlack, store: Store, tmp_path: Path, url: str, api: str) -> None:
        self.fake, self.store, self.tmp_path, self.url, self.api = fake, store, tmp_path, url, api

    def process(self, clock_start: str) -> BotProcess:
        return BotProcess(
            self.url,
            self.api,
            self.tmp_path,
            {
                "TEST_CLOCK_START": TUESDAY.format(clock_start),
                "PAYBOT_DAILY_DIGEST_AT": "09:00",
                "PAYBOT_TIMEZONE": "America/New_York",
            },
            launcher=LAUNCHER,
        )

    def posted(self) -> list[str]:
        return [m.text for m in self.fake.messages(NOTIFY) if m.text.startswith(HEADLINE)]

    async def claims(self) -> int:
        async with self.store.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(DailyDigestRow)) or 0)

    async def seed_monday(self) -> None:
        sandbox = SandboxSimulator(self.store.sessions, ManualClock(MONDAY_NOON))
        for amount, account in (("123.00", Account.OPERATING), ("456.00", Account.TRUST)):
            await sandbox.charge(
                amount=Money.parse(amount),
                method=MethodType.CARD,
                kind=PaymentKind.SALE,
                matter_id="MAT-1",
                account=account,
                brand="visa",
                last4="4242",
                customer_name="Dana Client",
            )


@pytest.fixture
async def digests(tmp_path: Path) -> AsyncIterator[Digests]:
    try:
        async with postgres_database() as url:
            fake = FakeSlack(bot_token=BOT_TOKEN)
            api = await fake.start()
            fake.add_channel(APPROVALS, "payments-approvals")
            fake.add_channel(NOTIFY, "payments")
            settings = Settings(
                database_url=url, paybot_notify_channel=NOTIFY, paybot_approvals_channel=APPROVALS
            )
            store = await open_store(settings)
            try:
                yield Digests(fake, store, tmp_path, url, api)
            finally:
                await store.close()
                await fake.stop()
    except OSError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}")


async def test_two_processes_post_the_digest_once_at_its_time(digests: Digests) -> None:
    await digests.seed_monday()
    processes = [digests.process("08:59:40"), digests.process("08:59:40")]
    try:
        await asyncio.gather(*(p.start() for p in processes))
        assert digests.posted() == []  # both running before the time: nothing yet
        await digests.fake.wait_for(digests.posted, timeout=60, what="the digest")
        await asyncio.sleep(2)  # both workers have looked many times since (every 0.1 s)
        (text,) = digests.posted()
        assert "operating sales 123.00 USD" in text and "trust sales 456.00 USD" in text
        assert await digests.claims() == 1
        logs = "\n".join(p.logs() for p in processes)
        assert "Traceback" not in logs
    finally:
        for process in processes:
            process.kill()


async def test_a_restart_after_a_missed_digest_posts_it_once_on_start(digests: Digests) -> None:
    await digests.seed_monday()
    process = digests.process("08:59:00")
    try:
        await process.start()
        await asyncio.sleep(1)
        process.kill()  # down from 08:59 until 09:30: the time passes with nobody running
        assert digests.posted() == []
        process.extra["TEST_CLOCK_START"] = TUESDAY.format("09:30:00")
        await process.start()
        await digests.fake.wait_for(digests.posted, timeout=30, what="the missed digest")
        process.kill()
        process.extra["TEST_CLOCK_START"] = TUESDAY.format("09:45:00")
        await process.start()  # started again later the same day: already posted
        await asyncio.sleep(2)
        assert len(digests.posted()) == 1
        assert await digests.claims() == 1
    finally:
        process.kill()

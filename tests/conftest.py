"""Shared fixtures: a migrated database per test, and a whole running bot behind a fake Slack."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import Bot, create_bot
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.db.engine import SessionFactory, create_engine
from bot.db.migrate import upgrade_database
from bot.domain import Account, MethodType, Money, PaymentKind, Source, Transaction
from bot.processors.sandbox import SandboxSimulator
from bot.server import start_http
from bot.services.users import NewUser
from bot.store import Store, open_store
from bot.workspace.sender import SlackSender
from bot.workspace.slack_api import FakeSlack

BOT_TOKEN = "xoxb-test-0000000000-token"
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
WEBHOOK_SECRET = "sandbox-webhook-test-secret"
APPROVALS = "C0APPROVALS"
NOTIFY = "C0NOTIFY"
START = datetime(2026, 11, 16, 15, 0, tzinfo=UTC)  # a Monday afternoon


async def eventually(
    check: Callable[[], Awaitable[object]], *, timeout: float = 10.0, what: str = "condition"
) -> object:
    """Poll an async check until it is truthy: the bot answers Slack first and works after."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def opened_modal(fake: FakeSlack, user: str, what: str = "modal") -> dict[str, Any]:
    """The modal on top of ``user``'s stack once the bot has filled it: a modal that reads the
    processor opens with a loading state (no callback_id) and is updated when it answers."""
    found = await fake.wait_for(
        lambda: (m := fake.top_modal(user)) is not None and m.get("callback_id") and m,
        what=what,
    )
    assert isinstance(found, dict)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated by the real migrations, copied for each test (copying is ~1 ms)."""
    path = tmp_path_factory.mktemp("template") / "paybot.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade_database(engine)
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await engine.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: Path) -> str:
    target = tmp_path / "paybot.db"
    shutil.copyfile(migrated_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def store(database_url: str, clock: ManualClock) -> AsyncIterator[Store]:
    opened = await open_store(load_settings(database_url=database_url), clock=clock)
    yield opened
    await opened.close()


@pytest.fixture
def session_factory(store: Store) -> SessionFactory:
    return store.sessions


@dataclass
class Harness:
    """A running bot as Slack sees it: signed requests in, Web API calls recorded by the fake."""

    bot: Bot
    fake: FakeSlack
    slack: SlackSender
    store: Store
    sandbox: SandboxSimulator
    clock: ManualClock
    url: str

    async def user(self, username: str, role: str, slack_id: str | None = None) -> str:
        slack_id = slack_id or f"U{username.upper()}"
        self.fake.add_user(
            slack_id, name=username, real_name=username.title(), email=f"{username}@firm.com"
        )
        await self.store.services.users.add(
            None,
            NewUser(username, username.title(), f"{username}@firm.com", role, slack_id),
            Source.CLI,
        )
        return slack_id

    async def cycle(self) -> None:
        """One full round of background work, as the worker does it on its own every interval."""
        await self.bot.worker.run_periodic()
        await self.bot.worker.run_ready()
        await self.bot.worker.run_periodic()

    async def charge(self, amount: str = "125.50", **kwargs: object) -> Transaction:
        options: dict[str, object] = {
            "method": MethodType.CARD,
            "kind": PaymentKind.SALE,
            "matter_id": "MAT-1001",
            "account": Account.OPERATING,
            "brand": "visa",
            "last4": "4242",
            "customer_name": "Dana Client",
        }
        options.update(kwargs)
        return await self.sandbox.charge(amount=Money.parse(amount), **options)  # type: ignore[arg-type]


@pytest.fixture
def workspace_options() -> dict[str, Any]:
    """FakeSlack options of the harness's workspace; a test module overrides it (an
    Enterprise Grid workspace: ``{"enterprise_id": "E0PAYBOT"}``)."""
    return {}


def bot_settings(database_url: str, slack_url: str, **extra: Any) -> Settings:
    """What every test bot runs with: the fake Slack, its channels, a quick worker, no pacing;
    ``extra`` adds a harness's own (its processor, its limits)."""
    return Settings(
        slack_bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        slack_signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
        slack_api_url=slack_url,
        database_url=database_url,
        paybot_approvals_channel=APPROVALS,
        paybot_notify_channel=NOTIFY,
        paybot_worker_interval=0.05,
        paybot_sweep_interval=0.05,
        paybot_notify_pace=0,
        **extra,
    )


async def start_harness(
    stack: AsyncExitStack,
    database_url: str,
    clock: ManualClock,
    workspace_options: dict[str, Any] | None = None,
    **extra: Any,
) -> Harness:
    """A bot on the sandbox, answering signed requests on a port of its own, against a fake
    Slack with the two channels; ``extra`` settings on top of the harness's own. Everything it
    starts is stopped by ``stack``."""
    fake = FakeSlack(bot_token=BOT_TOKEN, **(workspace_options or {}))
    api_url = await fake.start()
    stack.push_async_callback(fake.stop)
    fake.add_channel(APPROVALS, "payments-approvals")
    fake.add_channel(NOTIFY, "payments")
    settings = bot_settings(
        database_url,
        api_url,
        **{
            "paybot_rate_limit_per_minute": 100_000,
            "paybot_webhook_secret": WEBHOOK_SECRET,
            # The sandbox answers in milliseconds; on a loaded machine a read can still pass
            # the default 0.7 s, and these tests read the answer in the ack (the Payrix
            # stand-in's tests keep the default and prove the response_url path).
            "paybot_answer_budget": 2.0,
            **extra,
        },
    )
    store = await open_store(settings, clock=clock)
    bot = await create_bot(settings, clock=clock, store=store)
    port = free_port()
    runner = await start_http(bot, "127.0.0.1", port)
    stack.push_async_callback(runner.cleanup)
    url = f"http://127.0.0.1:{port}"
    sender = SlackSender(url, SIGNING_SECRET, fake)
    stack.push_async_callback(sender.close)
    return Harness(bot, fake, sender, store, SandboxSimulator(store.sessions, clock), clock, url)


@asynccontextmanager
async def on_either_database(
    request: pytest.FixtureRequest, database_url: str
) -> AsyncIterator[tuple[AsyncExitStack, str]]:
    """For a fixture with ``params=["sqlite", "postgresql"]``: the SQLite database given, or a
    PostgreSQL one of its own; the stack stops what the test starts on it."""
    from tests.processes import postgres_database  # tests.processes imports this module

    async with AsyncExitStack() as stack:
        if request.param == "postgresql":
            database_url = await stack.enter_async_context(postgres_database())
        yield stack, database_url


@pytest.fixture(params=["sqlite", "postgresql"])
async def either_harness(
    request: pytest.FixtureRequest, database_url: str, clock: ManualClock
) -> AsyncIterator[Harness]:
    """The harness on SQLite, then on PostgreSQL."""
    async with on_either_database(request, database_url) as (stack, url):
        yield await start_harness(stack, url, clock)


@pytest.fixture
async def harness(
    database_url: str, clock: ManualClock, workspace_options: dict[str, Any]
) -> AsyncIterator[Harness]:
    async with AsyncExitStack() as stack:
        yield await start_harness(stack, database_url, clock, workspace_options)


class Captured(logging.Handler):
    """What Bolt and the one error path logged during a test."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.WARNING) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def logs() -> Iterator[Captured]:
    handler = Captured()
    watched = [logging.getLogger(name) for name in ("slack_bolt", "paybot.errors")]
    for logger in watched:
        logger.addHandler(handler)
    yield handler
    for logger in watched:
        logger.removeHandler(handler)
